"""Emulated digitizer clicks and printed numbers-at-risk tables, from IPD with known truth.

Used to measure reconstruction against real trial data (the round trips in ``tests/`` and
``benchmarks/``) and to build the shipped example. Never a substitute for a published curve:
anything made here is labelled as emulated.

Click styles
------------
``corners``: a careful user clicks both corners of every visible step (before and after each
drop), plus the end of the curve; ``auto``: WebPlotDigitizer's automatic extraction, one point
per pixel column of the rendered curve and along each vertical drop, snapped to the pixel grid;
``sparse``: a hurried user clicks the lower corner of only some steps (``sparse_points``, at
most every other step).
Noise is Gaussian in both axes, in pixels of a ``width`` x ``height`` plot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayesurv.nonparametric import kaplan_meier

STYLES = ("corners", "auto", "sparse")


def emulate_clicks(
    time,
    event,
    *,
    style: str = "corners",
    noise_px: float = 1.0,
    width: int = 600,
    height: int = 400,
    x_max: float | None = None,
    sparse_points: int = 40,
    seed: int = 0,
) -> pd.DataFrame:
    """Digitizer-like clicks (``time``, ``survival``) of the KM of ``time``/``event``.

    Examples
    --------
    >>> clicks = emulate_clicks([1, 2, 3, 4], [1, 0, 1, 1], seed=1)
    >>> list(clicks.columns), len(clicks) > 4
    (['time', 'survival'], True)
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}")
    rng = np.random.default_rng(seed)
    km = kaplan_meier(time, event)
    t_end = float(np.max(time))
    x_max = float(x_max or t_end)
    jumps = km[km["events"] > 0]
    jt = jumps["time"].to_numpy()
    after = jumps["survival"].to_numpy()
    before = np.concatenate([[1.0], after[:-1]])
    if style == "corners":
        t = np.concatenate([[0.0], np.repeat(jt, 2), [t_end]])
        s = np.concatenate(
            [[1.0], np.column_stack([before, after]).ravel(), [after[-1] if after.size else 1.0]]
        )
    elif style == "sparse":
        k = min(sparse_points, jt.size // 2)  # sparse: at least every other step is skipped
        pick = np.sort(rng.choice(jt.size, size=k, replace=False)) if k else np.array([], int)
        t = np.concatenate([[0.0], jt[pick], [t_end]])
        s = np.concatenate([[1.0], after[pick], [after[-1] if after.size else 1.0]])
    else:  # auto: sample the rendered step function on the pixel grid
        px = np.arange(0, int(np.ceil(t_end / x_max * width)) + 1)
        gt = px * x_max / width
        idx = np.searchsorted(km["time"].to_numpy(), gt, side="right") - 1
        gs = km["survival"].to_numpy()[idx]
        vt, vs = [], []
        for tj, b, a in zip(jt, before, after, strict=True):
            rows = np.arange(np.ceil(a * height), np.floor(b * height) + 1) / height
            vt.append(np.full(rows.size, np.round(tj / x_max * width) * x_max / width))
            vs.append(rows)
        t = np.concatenate([gt, *vt]) if vt else gt
        s = np.concatenate([gs, *vs]) if vs else gs
        s = np.round(s * height) / height
    t = t + rng.normal(0, noise_px * x_max / width, t.size)
    s = s + rng.normal(0, noise_px / height, s.size)
    order = rng.permutation(t.size)  # digitizer exports are not guaranteed to be in order
    out = pd.DataFrame({"time": t[order], "survival": s[order]})
    return out


def at_risk_table(time, times) -> pd.DataFrame:
    """Numbers at risk (time >= t) at each of ``times``, as printed under a KM figure."""
    time = np.asarray(time, dtype=float)
    times = np.asarray(times, dtype=float)
    return pd.DataFrame({"time": times, "at_risk": [int(np.sum(time >= t)) for t in times]})


def _window_end(time, min_at_risk: int, min_fraction: float) -> float:
    t = np.sort(np.asarray(time, dtype=float))
    k = max(min_at_risk, int(np.ceil(min_fraction * t.size)))
    return float(t[-k]) if t.size >= k else float(t[-1])


def round_trip(
    time,
    event,
    group,
    *,
    nar_every: float,
    style: str = "corners",
    noise_px: float = 1.0,
    with_total_events: bool = True,
    method: str = "bayesurv",
    seed: int = 0,
    min_at_risk: int = 10,
    min_fraction: float = 0.10,
) -> dict:
    """Reconstruct each arm of real IPD from emulated clicks and a printed NAR table, and
    measure the result against the truth.

    Per arm: ``mean_abs`` (time-averaged |KM_rec - KM_true|) and ``max_abs`` (absolute
    maximum) over [0, t*], where t* is the last time with at least ``min_at_risk`` patients and
    ``min_fraction`` of the arm at risk in the truth (beyond it one event moves the curve by
    more than the targets allow, and x-noise of one pixel misplaces it), ``max_abs_full`` the
    absolute maximum over all follow-up, ``max_abs_25`` while a quarter of the arm is at risk,
    ``rmst_rel`` (relative error of RMST to t*), ``median_diff``, ``n`` and ``events`` (true,
    reconstructed). Across arms: ``log_hr_ratio`` = log(HR_rec / HR_true), Cox with Efron ties.
    """
    from bayesurv.nonparametric import cox_hazard_ratio, step_distance, step_median, step_rmst
    from bayesurv.reconstruct import reconstruct

    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    group = np.asarray(group, dtype=int)
    x_max = float(np.ceil(time.max() / nar_every) * nar_every)
    arms, rec_t, rec_e, rec_g = {}, [], [], []
    for g in (0, 1):
        t, e = time[group == g], event[group == g]
        clicks = emulate_clicks(
            t, e, style=style, noise_px=noise_px, x_max=x_max, seed=seed + 101 * g
        )
        nar = at_risk_table(t, np.arange(0.0, t.max(), nar_every))
        r = reconstruct(
            clicks,
            nar,
            total_events=int(e.sum()) if with_total_events else None,
            method=method,
        )
        km0, km1 = kaplan_meier(t, e), kaplan_meier(r.ipd["time"], r.ipd["event"])
        tstar = _window_end(t, min_at_risk, min_fraction)
        sup, mean = step_distance(
            km0["time"], km0["survival"], km1["time"], km1["survival"], upto=tstar
        )
        t25 = _window_end(t, min_at_risk, 0.25)
        sup25, _ = step_distance(
            km0["time"], km0["survival"], km1["time"], km1["survival"], upto=t25
        )
        sup_full, _ = step_distance(
            km0["time"], km0["survival"], km1["time"], km1["survival"], upto=float(t.max())
        )
        r0 = step_rmst(km0["time"], km0["survival"], tstar)
        r1 = step_rmst(km1["time"], km1["survival"], tstar)
        arms[g] = {
            "n": (int(t.size), int(len(r.ipd))),
            "events": (int(e.sum()), int(r.ipd["event"].sum())),
            "mean_abs": mean,
            "max_abs": sup,
            "max_abs_25": sup25,
            "max_abs_full": sup_full,
            "rmst_rel": r1 / r0 - 1.0,
            "median_diff": step_median(km1["time"], km1["survival"])
            - step_median(km0["time"], km0["survival"]),
            "warnings": r.report["warnings"],
        }
        rec_t.append(r.ipd["time"].to_numpy())
        rec_e.append(r.ipd["event"].to_numpy())
        rec_g.append(np.full(len(r.ipd), g))
    hr0 = cox_hazard_ratio(time, event, group)["hr"]
    hr1 = cox_hazard_ratio(np.concatenate(rec_t), np.concatenate(rec_e), np.concatenate(rec_g))[
        "hr"
    ]
    return {"arms": arms, "hr_true": hr0, "hr_rec": hr1, "log_hr_ratio": float(np.log(hr1 / hr0))}
