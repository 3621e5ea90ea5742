"""Kaplan-Meier estimate, its median and RMST, and a two-group Cox hazard ratio.

KM: S(t) = prod_{t_j <= t} (1 - d_j / n_j), with n_j the number still at risk just before t_j
(a patient censored at t_j is at risk at t_j). Median: the first time S(t) <= 0.5.
RMST(tau) = integral_0^tau S(t) dt of the right-continuous step function.
Cox: partial likelihood with Efron's handling of ties (R's coxph default), one binary covariate,
Newton-Raphson.

These are the summaries the reconstruction's accuracy report compares; the tests check them
against lifelines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def kaplan_meier(time, event) -> pd.DataFrame:
    """Kaplan-Meier table: one row per distinct time, plus a first row at time 0.

    Columns: ``time``, ``at_risk``, ``events``, ``censored``, ``survival``.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1])
    >>> km["survival"].round(3).tolist()
    [1.0, 0.75, 0.5, 0.0]
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    uniq, inv = np.unique(t, return_inverse=True)
    events = np.bincount(inv, weights=e, minlength=uniq.size)
    total = np.bincount(inv, minlength=uniq.size).astype(float)
    at_risk = t.size - np.concatenate([[0.0], np.cumsum(total)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1.0 - events / at_risk, 1.0)
    surv = np.cumprod(factor)
    out = pd.DataFrame(
        {
            "time": uniq,
            "at_risk": at_risk.astype(int),
            "events": events.astype(int),
            "censored": (total - events).astype(int),
            "survival": surv,
        }
    )
    if uniq.size == 0 or uniq[0] > 0:
        first = pd.DataFrame(
            {"time": [0.0], "at_risk": [t.size], "events": [0], "censored": [0], "survival": [1.0]}
        )
        out = pd.concat([first, out], ignore_index=True)
    return out


def step_value(times, values, at, *, left: bool = False) -> np.ndarray:
    """Evaluate a right-continuous step function (value ``values[k]`` on [times[k], times[k+1]))
    at ``at``; ``left=True`` gives the left limit. Before the first time the value is 1."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    at = np.asarray(at, dtype=float)
    idx = np.searchsorted(times, at, side="left" if left else "right") - 1
    return np.where(idx >= 0, values[np.clip(idx, 0, None)], 1.0)


def step_median(times, values) -> float:
    """First time at which the step function falls to 0.5 or below (NaN if it never does)."""
    values = np.asarray(values, dtype=float)
    hit = np.flatnonzero(values <= 0.5 + 1e-12)
    return float(np.asarray(times, dtype=float)[hit[0]]) if hit.size else float("nan")


def step_rmst(times, values, tau: float) -> float:
    """Area under a right-continuous step function from 0 to ``tau`` (value 1 before times[0])."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    knots = np.concatenate([[0.0], times[(times > 0) & (times < tau)], [tau]])
    knots = np.unique(knots)
    heights = step_value(times, values, knots[:-1])
    return float(np.sum(heights * np.diff(knots)))


def step_distance(t1, s1, t2, s2, *, upto: float) -> tuple[float, float]:
    """Sup and time-averaged absolute difference of two right-continuous step functions on
    [0, upto]. The sup is exact: both functions are compared at every jump of either, from both
    sides, so the maximum reported is the absolute maximum over the interval."""
    grid = np.unique(np.concatenate([[0.0], t1, t2, [upto]]))
    grid = grid[(grid >= 0) & (grid <= upto)]
    right = np.abs(step_value(t1, s1, grid) - step_value(t2, s2, grid))
    lft = np.abs(step_value(t1, s1, grid, left=True) - step_value(t2, s2, grid, left=True))
    sup = float(max(right.max(), lft[grid > 0].max(initial=0.0)))
    widths = np.diff(grid)
    mean = float(np.sum(right[:-1] * widths) / upto) if upto > 0 else float(right[0])
    return sup, mean


def km_summary(time, event, tau: float) -> dict[str, float]:
    """N, events, median and RMST(tau) of the Kaplan-Meier estimate."""
    km = kaplan_meier(time, event)
    return {
        "n": int(len(time)),
        "events": int(np.sum(event)),
        "median": step_median(km["time"], km["survival"]),
        "rmst": step_rmst(km["time"], km["survival"], tau),
    }


def cox_hazard_ratio(time, event, group) -> dict[str, float]:
    """Cox proportional-hazards HR of ``group == 1`` vs ``group == 0``, Efron's ties (as R's
    ``coxph`` and lifelines), by Newton-Raphson on the partial likelihood.

    Returns ``{"hr", "log_hr", "se", "lower", "upper"}`` with a 95% Wald interval.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    x = np.asarray(group, dtype=float)
    if not (np.any(x == 1) and np.any(x == 0)) or e.sum() == 0:
        raise ValueError("a Cox hazard ratio needs both groups and at least one event")
    order = np.argsort(-t, kind="stable")  # descending time: risk sets are cumulative sums
    t, e, x = t[order], e[order], x[order]
    _, first = np.unique(-t, return_index=True)
    ends = np.append(first[1:], t.size) - 1
    d = np.add.reduceat(e, first)
    dx = np.add.reduceat(e * x, first)
    keep = d > 0
    # Efron: the l-th of d tied events sees the risk set less l/d of the tied events' weight
    rep = np.repeat(np.flatnonzero(keep), d[keep])
    frac = np.concatenate([np.arange(k) / k for k in d[keep]])
    beta = 0.0
    for _ in range(100):
        w = np.exp(beta * x)
        s0 = np.cumsum(w)[ends]
        s1 = np.cumsum(w * x)[ends]
        s0d = np.add.reduceat(w * e, first)
        s1d = np.add.reduceat(w * x * e, first)
        m = (s1[rep] - frac * s1d[rep]) / (s0[rep] - frac * s0d[rep])
        score = dx[keep].sum() - m.sum()
        info = np.sum(m - m * m)  # binary covariate: second moment equals first
        step = score / info
        beta += step
        if abs(step) < 1e-10:
            break
    se = 1.0 / np.sqrt(info)
    return {
        "hr": float(np.exp(beta)),
        "log_hr": float(beta),
        "se": float(se),
        "lower": float(np.exp(beta - 1.959964 * se)),
        "upper": float(np.exp(beta + 1.959964 * se)),
    }
