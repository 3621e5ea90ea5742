"""Lifetime outputs from posterior draws of S(t): mean survival, life-years gained, landmark
tables and survival on a model-cycle grid for cost-effectiveness models.

All functions take survival draws as an ``xarray.DataArray`` with a ``time`` coordinate in model
units (and any other dims: ``chain``, ``draw``, ``arm``) and ``time_scale`` = model units per year.
The formulas::

    mean survival (years)          L   = (1 / k) * integral_0^T S(t) dt      (k = time_scale)
    discounted (annual rate r)     L_r = (1 / k) * integral_0^T S(t) (1 + r)^(-t / k) dt
    life-years gained              LYG = L(experimental) - L(control), per posterior draw

``T`` is the horizon (the last time of the grid: a lifetime horizon when the model includes
general-population mortality). Discounting is continuous in time at the effective annual rate
``r`` (NICE's 3.5% is ``r = 0.035``), so a life-year lived in year 10 counts ``1.035^-10``. The
integrals use the trapezoid rule on the grid the caller gives; the models in
:mod:`bayesurv.survival.longterm` pass a grid fine enough that the rule's error is below 1e-4
life-years (tests compare with closed forms).

Examples
--------
>>> import numpy as np, xarray as xr
>>> t = np.linspace(0, 600, 6001)                     # months, 50 years
>>> s = xr.DataArray(np.exp(-t / 120), dims="time", coords={"time": t})   # mean 10 years
>>> round(float(mean_survival(s, time_scale=12)), 3)   # 10 * (1 - exp(-5))
9.933
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError

#: model cycles a cost-effectiveness model may use, in cycles per year
CYCLES = {"weekly": 365.25 / 7.0, "monthly": 12.0, "yearly": 1.0}  # = 1 / model units per year
#: landmark years of the lifetime table
LANDMARK_YEARS = (1, 2, 5, 10, 20)


def _check_rate(rate: float) -> float:
    r = float(rate)
    if not (np.isfinite(r) and 0 <= r < 1):
        raise InputError(
            f"the discount rate {rate!r} must be a proportion per year in [0, 1), e.g. 0.035."
        )
    return r


def mean_survival(surv: xr.DataArray, *, time_scale: float, discount: float = 0.0) -> xr.DataArray:
    """(Discounted) restricted mean survival to the grid's last time, in years."""
    r = _check_rate(discount)
    t = surv["time"].values.astype(float)
    if t.size < 2 or np.any(np.diff(t) <= 0):
        raise InputError("the survival grid must have increasing times; give at least two.")
    weight = (1.0 + r) ** (-t / time_scale)
    axis = surv.dims.index("time")
    vals = (
        np.trapezoid(
            surv.values * np.reshape(weight, [-1 if d == "time" else 1 for d in surv.dims]),
            t,
            axis=axis,
        )
        / time_scale
    )
    dims = [d for d in surv.dims if d != "time"]
    coords = {k: v for k, v in surv.coords.items() if k != "time" and set(v.dims) <= set(dims)}
    out = xr.DataArray(vals, dims=dims, coords=coords, name="mean_survival")
    out.attrs.update({"units": "years", "discount": r, "horizon": float(t[-1])})
    return out


def life_years_gained(
    surv: xr.DataArray, *, time_scale: float, discount: float = 0.0
) -> xr.DataArray:
    """Life-years gained by the second arm over the first (reference), per posterior draw."""
    if "arm" not in surv.dims or surv.sizes["arm"] != 2:
        raise InputError("life-years gained need two arms (a reference and a treatment).")
    m = mean_survival(surv, time_scale=time_scale, discount=discount)
    out = (m.isel(arm=1, drop=True) - m.isel(arm=0, drop=True)).rename("life_years_gained")
    out.attrs.update(m.attrs)
    return out


def _interval(da: xr.DataArray, ci: float = 0.95):
    lo, hi = (1 - ci) / 2, 1 - (1 - ci) / 2
    q = da.quantile([0.5, lo, hi], dim=("chain", "draw"))
    return q.sel(quantile=0.5), q.sel(quantile=lo), q.sel(quantile=hi)


def landmark_table(
    surv: xr.DataArray,
    *,
    time_scale: float,
    years=LANDMARK_YEARS,
    mean: xr.DataArray | None = None,
    km: pd.DataFrame | None = None,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Posterior S at landmark years per arm (median and interval), with the Kaplan-Meier
    estimate beside it where the data reach that far, and a ``lifetime`` row of mean survival.

    ``surv``: draws (chain, draw, arm, time); values at the landmarks are interpolated linearly
    on the grid (pass a grid that contains them for exact values). ``km``: a table with columns
    ``arm, time, survival`` (e.g. :func:`km_at`).
    """
    t = surv["time"].values
    rows = []
    for y in years:
        x = y * time_scale
        if x > t[-1] + 1e-9:
            continue
        s = surv.interp(time=x)
        med, lo, hi = _interval(s, ci)
        for arm in surv["arm"].values:
            row = {
                "arm": str(arm),
                "landmark": f"{y:g} years",
                "years": float(y),
                "median": float(med.sel(arm=arm)),
                "lower": float(lo.sel(arm=arm)),
                "upper": float(hi.sel(arm=arm)),
                "km": np.nan,
            }
            if km is not None:
                hit = km[(km["arm"].astype(str) == str(arm)) & np.isclose(km["time"], x)]
                if len(hit):
                    row["km"] = float(hit["survival"].iloc[0])
            rows.append(row)
    if mean is not None:
        med, lo, hi = _interval(mean, ci)
        for arm in mean["arm"].values:
            rows.append(
                {
                    "arm": str(arm),
                    "landmark": f"lifetime (mean, {mean.attrs.get('mean_units', 'years')})",
                    "years": np.inf,
                    "median": float(med.sel(arm=arm)),
                    "lower": float(lo.sel(arm=arm)),
                    "upper": float(hi.sel(arm=arm)),
                    "km": np.nan,
                }
            )
    return pd.DataFrame(rows)


def km_at(time, event, arm, times) -> pd.DataFrame:
    """Kaplan-Meier S at ``times`` per arm (NaN beyond an arm's last observed time)."""
    from bayesurv.nonparametric import kaplan_meier, step_value

    time, event, arm = (np.asarray(x) for x in (time, event, arm))
    rows = []
    for a in dict.fromkeys(arm.tolist()):
        sel = arm == a
        km = kaplan_meier(time[sel], event[sel])
        last = time[sel].max()
        for x in np.atleast_1d(times):
            s = float(step_value(km["time"].to_numpy(), km["survival"].to_numpy(), x))
            rows.append({"arm": str(a), "time": float(x), "survival": s if x <= last else np.nan})
    return pd.DataFrame(rows)


def cycle_times(cycle: str, time_scale: float, horizon: float) -> np.ndarray:
    """Start times (model units) of the model cycles up to ``horizon`` (model units)."""
    if cycle not in CYCLES:
        raise InputError(f"unknown cycle {cycle!r}; choose one of {', '.join(CYCLES)}.")
    step = time_scale / CYCLES[cycle]
    return np.arange(0.0, horizon + 1e-9 * step, step)


def cycle_table(
    surv: xr.DataArray, *, cycle: str, time_scale: float, n_draws: int = 200, seed: int = 1
) -> pd.DataFrame:
    """Posterior draws of S(t) at the cycle times, as a tidy table for a cost-effectiveness model.

    ``surv`` must already be evaluated at the cycle times (``cycle_times``). Columns: ``arm,
    draw, cycle, years, survival``; ``draw`` numbers a random subset of ``n_draws`` posterior
    draws (the same draws in every arm, so that arm differences keep their correlation).
    """
    stacked = surv.stack(sample=("chain", "draw")).transpose("sample", "arm", "time")
    n = stacked.sizes["sample"]
    if n_draws < 1:
        raise InputError("the number of exported draws must be at least 1.")
    pick = np.sort(np.random.default_rng(seed).choice(n, size=min(n_draws, n), replace=False))
    vals = stacked.values[pick]  # (draws, arm, time)
    return tidy_cycles(vals, surv["arm"].values, surv["time"].values / time_scale)


def tidy_cycles(values: np.ndarray, arms, years) -> pd.DataFrame:
    """Draws of S at the cycles, ``values`` (draw, arm, cycle), as a tidy table: ``arm, draw``
    (numbered from 1), ``cycle`` (from 0), ``years``, ``survival``."""
    arms = [str(a) for a in arms]
    d, a, c = np.meshgrid(
        np.arange(values.shape[0]) + 1,
        np.arange(len(arms)),
        np.arange(values.shape[2]),
        indexing="ij",
    )
    return pd.DataFrame(
        {
            "arm": np.asarray(arms, dtype=object)[a.ravel()],
            "draw": d.ravel(),
            "cycle": c.ravel(),
            "years": np.asarray(years, float)[c.ravel()],
            "survival": values.ravel(),
        }
    )
