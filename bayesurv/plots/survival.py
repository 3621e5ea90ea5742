"""Fitted survival and hazard curves over the Kaplan-Meier, with credible bands and extrapolation.

Each function takes a fit result (DataTree from :func:`bayesurv.survival.ipdfit.fit`) and returns a
matplotlib Figure; nothing is shown or saved here.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from bayesurv.survival import quantities as Q
from bayesurv.survival.ipdfit import spec_of


def _band(da: xr.DataArray, ci: float):
    lo, hi = (1 - ci) / 2, 1 - (1 - ci) / 2
    q = da.quantile([lo, 0.5, hi], dim=("chain", "draw"))
    return q.isel(quantile=0).values, q.isel(quantile=1).values, q.isel(quantile=2).values


def plot_survival(
    result: xr.DataTree,
    *,
    horizon: float | None = None,
    ci: float = 0.95,
    n_points: int = 200,
    ax=None,
):
    """Posterior median S(t) with a ``ci`` band per arm over the observed KM, to ``horizon``.

    Beyond the last observed time the curve is dashed (extrapolation).
    """
    spec, labels = spec_of(result)
    post = result["posterior"].to_dataset()
    t_obs = result["observed_data"]["time"].values
    d_obs = result["constant_data"]["time"].values
    arm_obs = result["constant_data"]["arm"].values.astype(str)
    t_max = float(t_obs.max())
    horizon = float(horizon or t_max)
    grid = np.linspace(0.0, max(horizon, t_max), n_points)
    s = Q.survival(spec.fam, Q.arm_params(post, spec, labels), grid)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    for i, lab in enumerate(labels):
        lo, med, hi = _band(s.isel(arm=i), ci)
        inside = grid <= t_max
        (line,) = ax.plot(grid[inside], med[inside], label=f"{lab} ({spec.family})")
        ax.plot(grid[~inside], med[~inside], ls="--", color=line.get_color())
        ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        sel = arm_obs == lab if len(labels) > 1 else np.ones_like(t_obs, bool)
        ax.step(
            grid[inside],
            Q.kaplan_meier(t_obs[sel], d_obs[sel], grid[inside]),
            where="post",
            color=line.get_color(),
            lw=1,
            alpha=0.8,
        )
    ax.axvline(t_max, color="grey", lw=0.5, ls=":")
    ax.set(
        xlabel="time",
        ylabel="survival",
        ylim=(0, 1.02),
        title=f"{spec.family}: posterior median and {int(ci * 100)}% band over the KM",
    )
    ax.legend(frameon=False)
    return fig


def plot_hazard(
    result: xr.DataTree,
    *,
    horizon: float | None = None,
    ci: float = 0.95,
    n_points: int = 200,
    ax=None,
):
    """Posterior median h(t) with a ``ci`` band per arm, to ``horizon``."""
    spec, labels = spec_of(result)
    post = result["posterior"].to_dataset()
    t_max = float(result["observed_data"]["time"].values.max())
    grid = np.linspace(t_max / n_points, float(horizon or t_max), n_points)
    h = Q.hazard(spec.fam, Q.arm_params(post, spec, labels), grid)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    for i, lab in enumerate(labels):
        lo, med, hi = _band(h.isel(arm=i), ci)
        (line,) = ax.plot(grid, med, label=lab)
        ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    ax.set(xlabel="time", ylabel="hazard", title=f"{spec.family}: hazard")
    ax.legend(frameon=False)
    return fig


def plot_predictive_km(result: xr.DataTree, *, n_draws: int = 100, seed: int = 0, ax=None):
    """Observed KM against the 95% band of posterior predictive KMs (same censoring)."""
    spec, labels = spec_of(result)
    post = result["posterior"].to_dataset()
    t = result["observed_data"]["time"].values
    d = result["constant_data"]["time"].values
    arm = result["constant_data"]["arm"].values.astype(str)
    idx = np.array([labels.index(a) for a in arm])
    grid = np.linspace(0, t.max(), 100)
    entry = result["constant_data"]["entry"].values if "entry" in result["constant_data"] else None
    ppc = Q.predictive_km(
        post, spec, labels, t, d, idx, grid, n_draws=n_draws, seed=seed, entry=entry
    )
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    for i, lab in enumerate(labels):
        obs = ax.step(grid, ppc["observed"].isel(arm=i), where="post", label=f"KM {lab}")[0]
        ax.fill_between(
            grid,
            ppc["lower"].isel(arm=i),
            ppc["upper"].isel(arm=i),
            step="post",
            color=obs.get_color(),
            alpha=0.2,
            lw=0,
        )
    ax.set(
        xlabel="time",
        ylabel="survival",
        ylim=(0, 1.02),
        title=f"{spec.family}: observed KM and 95% posterior predictive band",
    )
    ax.legend(frameon=False)
    return fig
