"""Summaries of a survival result for people and files, built from the output functions of
:mod:`bayesurv.survival.outputs` (no formula lives here).

- :func:`summary`: the plain-Python summary (``bayesurv fit``'s JSON contract, the sections'
  tables): S(t) at times, RMST, medians, means, effects, cure fractions, life-years, landmark
  years beside the Kaplan-Meier, notes, diagnostics and provenance;
- :func:`km_table`: the Kaplan-Meier of a result's own patients at given times;
- :func:`cycle_table`: draws of S(t) at each model cycle, for a cost-effectiveness model.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.survival.outputs import curves, fitted, hazard_ratio, survival

#: landmark years of the summary's table against the Kaplan-Meier
LANDMARK_YEARS = (1, 2, 5, 10, 20)
#: model cycles of a cost-effectiveness model, in cycles per year
CYCLES = {"weekly": 365.25 / 7.0, "monthly": 12.0, "yearly": 1.0}


def _rows(da: xr.DataArray, ci, one_arm: bool) -> list[dict] | dict:
    from bayesurv.intervals import table

    df = table(da, ci)
    rows = [
        {k: (v if isinstance(v, str) else float(v)) for k, v in r.items()}
        for r in df.to_dict("records")
    ]
    if one_arm:
        rows = [{k: v for k, v in r.items() if k != "arm"} for r in rows]
    return (
        rows[0]
        if len(rows) == 1 and "time" not in rows[0] and (one_arm or "arm" not in rows[0])
        else rows
    )


def km_table(result, times) -> pd.DataFrame:
    """Kaplan-Meier S at ``times`` per arm of a result's patients (NaN beyond an arm's data)."""
    from bayesurv.nonparametric import kaplan_meier, step_value

    t = result["observed_data"]["time"].values
    d = result["constant_data"]["time"].values
    arm = result["constant_data"]["arm"].values.astype(str)
    rows = []
    for a in dict.fromkeys(arm.tolist()):
        km = kaplan_meier(t[arm == a], d[arm == a])
        for x in np.atleast_1d(times):
            s = float(step_value(km["time"].to_numpy(), km["survival"].to_numpy(), x))
            rows.append({"arm": a, "time": float(x), "km": s if x <= t[arm == a].max() else np.nan})
    return pd.DataFrame(rows)


def summary(result, times=None, ci: float | None = None) -> dict:
    """The plain-Python summary of a result (``bayesurv fit``'s JSON, the sections' tables):
    survival at ``times``, RMST, medians, means, effects, cure fractions, life-years, landmark
    years against the Kaplan-Meier, notes, diagnostics, provenance. Intervals: ``ci``."""
    from bayesurv.intervals import summary as one
    from bayesurv.intervals import width

    F = fitted(result)
    der = result["derived"]
    spec = F.spec
    one_arm = len(F.labels) == 1
    k = F.time_scale
    if times is None:
        times = json.loads(der.attrs.get("times", "[]")) or (
            [y * k for y in LANDMARK_YEARS if y * k <= F.horizon]
            if F.unit_known
            else list(np.linspace(0, F.follow_up, 6)[1:])
        )
    times = [float(x) for x in times]
    q = lambda name: {kk: v for kk, v in one(der[name], ci).items() if kk != "mean"}  # noqa: E731

    def row(arm, landmark, years, draws, km=np.nan) -> dict:
        r = one(draws, ci)
        return {
            "arm": arm,
            "landmark": landmark,
            "years": years,
            **{kk: r[kk] for kk in ("median", "lower", "upper")},
            "km": km,
        }

    out = {
        "family": spec.hazard,
        "effect": spec.effect or "none",
        "effect_on": spec.effect_on,
        "cure": spec.cure,
        "arms": F.labels,
        "time_unit": spec.time_unit or "time units",
        "follow_up": F.follow_up,
        "horizon": F.horizon,
        "ci": width(ci),
        "survival": _rows(survival(F, times), ci, one_arm) if times else [],
    }
    if F.unit_known and np.isfinite(F.horizon):
        out["horizon_years"] = F.horizon / k
    rm = der["rmst"]
    out["rmst"] = {"to": float(der.attrs["rmst_to"])}
    if one_arm:
        out["rmst"].update(q("rmst"))
    else:
        out["rmst"].update(arms=_rows(rm, ci, False), difference=q("rmst_diff"))
    out["median"] = _rows(der["median"], ci, False)
    if "mean_survival" in der:
        out["mean"] = _rows(der["mean_survival"], ci, False)
    for name in ("mean_survival_years", "mean_survival_discounted_years", "cure_fraction"):
        if name in der:
            out[name] = _rows(der[name], ci, one_arm)
    if not one_arm:
        out["hazard_ratio"] = _rows(hazard_ratio(F, times), ci, False) if times else []
        for name in (
            "hr",
            "time_ratio",
            "odds_ratio",
            "cure_diff",
            "life_years_gained",
            "life_years_gained_discounted",
        ):
            if name in der:
                out[name] = q(name)
    if F.unit_known and "time" in result.get("observed_data", xr.Dataset()):
        years = [y for y in LANDMARK_YEARS if y * k <= F.horizon + 1e-9]
        km = km_table(result, [y * k for y in years]).set_index(["arm", "time"])["km"]
        s = survival(F, [y * k for y in years])
        rows = [
            row(a, f"{y:g} years", float(y), s.sel(arm=a, time=y * k), km.get((a, y * k), np.nan))
            for y in years
            for a in F.labels
        ]
        if "mean_survival_years" in der:
            rows += [
                row(a, "lifetime (mean, years)", np.inf, der["mean_survival_years"].sel(arm=a))
                for a in F.labels
            ]
        out["landmarks"] = rows
    elif "mean_survival" in der:
        out["landmarks"] = [
            row(a, "lifetime (mean, time units)", np.inf, der["mean_survival"].sel(arm=a))
            for a in F.labels
        ]
    for note in ("mean_note", "median_note"):
        if note in der.attrs:
            out[note] = der.attrs[note]
    for key in ("notes", "priors", "diagnostics", "bayesurv_provenance"):
        if key in result.attrs:
            out[key.removeprefix("bayesurv_")] = json.loads(result.attrs[key])
    return out


def cycle_table(result, cycle: str, *, n_draws: int = 200, seed: int = 1) -> pd.DataFrame:
    """Posterior draws of S(t) at the start of each model cycle (weekly, monthly, yearly) to the
    horizon, for a cost-effectiveness model: columns ``arm, draw, cycle, years, survival``; the
    same draws in every arm, so arm differences keep their correlation. Needs the time unit."""
    from dataclasses import replace

    F = fitted(result)
    if cycle not in CYCLES:
        raise InputError(f"unknown cycle {cycle!r}; choose one of {', '.join(CYCLES)}.")
    if not F.unit_known:
        raise InputError("model cycles are calendar time; give the data's time unit (--time-unit).")
    if n_draws < 1:
        raise InputError("the number of exported draws must be at least 1.")
    step = F.time_scale / CYCLES[cycle]
    t = np.arange(0.0, F.horizon + 1e-9 * step, step)
    pick = np.sort(
        np.random.default_rng([seed, 11]).choice(
            F.n_draws, size=min(n_draws, F.n_draws), replace=False
        )
    )
    sub = replace(F, raw={kk: v[pick] for kk, v in F.raw.items()}, shape=(1, pick.size))
    s = np.exp(curves(sub, t)[0])  # (draws, arm, cycle)
    d, a, c = np.meshgrid(
        np.arange(pick.size) + 1, np.arange(len(F.labels)), np.arange(t.size), indexing="ij"
    )
    return pd.DataFrame(
        {
            "arm": np.asarray(F.labels, dtype=object)[a.ravel()],
            "draw": d.ravel(),
            "cycle": c.ravel(),
            "years": (t / F.time_scale)[c.ravel()],
            "survival": s.ravel(),
        }
    )
