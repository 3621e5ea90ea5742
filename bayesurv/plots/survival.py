"""Fitted survival and hazard curves over the Kaplan-Meier, with credible bands, and the
posterior predictive Kaplan-Meier check.

Each function takes a result (:func:`bayesurv.survival.fit.fit`), computes what it draws with
:mod:`bayesurv.survival.outputs` (and :mod:`bayesurv.intervals` for the bands) and returns a
matplotlib Figure; nothing is shown or saved here.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from bayesurv.intervals import interval, width
from bayesurv.nonparametric import kaplan_meier, step_value
from bayesurv.survival import outputs as O


def _km(t, d, grid):
    km = kaplan_meier(t, d)
    return step_value(km["time"], km["survival"], grid)


def _observed(result: xr.DataTree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fitted patients' times, event indicators and arm labels (ArviZ's censored layout:
    times in ``observed_data``, the indicator under the same name in ``constant_data``)."""
    return (
        result["observed_data"]["time"].values,
        result["constant_data"]["time"].values,
        result["constant_data"]["arm"].values.astype(str),
    )


def _arm_km(observed, label: str, labels, grid) -> np.ndarray:
    """The KM of one arm's patients (of every patient when the fit has one arm) on ``grid``."""
    t, d, arm = observed
    sel = arm == label if len(labels) > 1 else np.ones_like(t, bool)
    return _km(t[sel], d[sel], grid)


def _band(ax, grid, q: xr.Dataset, label: str, colour, **kwargs) -> None:
    """The ``lower``-``upper`` band of one arm, shaded in its line's colour."""
    ax.fill_between(
        grid,
        q["lower"].sel(arm=label),
        q["upper"].sel(arm=label),
        color=colour,
        alpha=0.2,
        lw=0,
        **kwargs,
    )


def plot_survival(
    result: xr.DataTree,
    *,
    horizon: float | None = None,
    ci: float | None = None,
    n_points: int = 200,
    ax=None,
):
    """Posterior median S(t) with a band per arm over the observed KM, to ``horizon``; dashed
    beyond the last observed time (extrapolation)."""
    F = O.fitted(result)
    observed = _observed(result)
    t_max = float(observed[0].max())
    grid = np.linspace(0.0, max(float(horizon or t_max), t_max), n_points)
    q = interval(O.survival(F, grid), ci)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    inside = grid <= t_max
    for lab in F.labels:
        med = q["median"].sel(arm=lab).values
        (line,) = ax.plot(grid[inside], med[inside], label=f"{lab} ({F.spec.hazard})")
        ax.plot(grid[~inside], med[~inside], ls="--", color=line.get_color())
        _band(ax, grid, q, lab, line.get_color())
        ax.step(
            grid[inside],
            _arm_km(observed, lab, F.labels, grid[inside]),
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
        title=f"{F.spec.hazard}: posterior median and {100 * width(ci):g}% band over the KM",
    )
    ax.legend(frameon=False)
    return fig


def plot_models(results: dict, *, horizon: float | None = None, n_points: int = 200):
    """Every fitted model's posterior median S(t) over the KM, one panel per arm (the TSD 14
    figure): solid within follow-up, dashed beyond it, to ``horizon`` (default: twice the
    follow-up)."""
    first = next(iter(results.values()))
    F0 = O.fitted(first)
    observed = _observed(first)
    t_max = float(observed[0].max())
    grid = np.linspace(0.0, float(horizon or 2 * t_max), n_points)
    inside = grid <= t_max
    fig, axes = plt.subplots(
        1, len(F0.labels), figsize=(5.5 * len(F0.labels), 4.2), squeeze=False, sharey=True
    )
    for ax, lab in zip(axes[0], F0.labels, strict=True):
        ax.step(
            grid[inside],
            _arm_km(observed, lab, F0.labels, grid[inside]),
            where="post",
            color="black",
            lw=1.4,
            label="Kaplan-Meier",
        )
        for name, result in results.items():
            med = O.survival(result, grid).sel(arm=lab).median(("chain", "draw")).values
            (line,) = ax.plot(grid[inside], med[inside], lw=1.1, label=name)
            ax.plot(grid[~inside], med[~inside], lw=1.1, ls="--", color=line.get_color())
        ax.axvline(t_max, color="grey", lw=0.5, ls=":")
        ax.set(xlabel="time", title=str(lab), ylim=(0, 1.02))
    axes[0][0].set_ylabel("survival (posterior median)")
    axes[0][-1].legend(frameon=False, fontsize=8)
    fig.suptitle("Fitted models over the Kaplan-Meier; dashed: extrapolation", fontsize=10)
    fig.tight_layout()
    return fig


def plot_hazard(
    result: xr.DataTree,
    *,
    horizon: float | None = None,
    ci: float | None = None,
    n_points: int = 200,
    ax=None,
):
    """Posterior median h(t) with a band per arm, to ``horizon``."""
    F = O.fitted(result)
    t_max = float(result["observed_data"]["time"].values.max())
    grid = np.linspace(t_max / n_points, float(horizon or t_max), n_points)
    q = interval(O.hazard(F, grid), ci)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    for lab in F.labels:
        (line,) = ax.plot(grid, q["median"].sel(arm=lab), label=lab)
        _band(ax, grid, q, lab, line.get_color())
    ax.set(xlabel="time", ylabel="hazard", title=f"{F.spec.hazard}: hazard")
    ax.legend(frameon=False)
    return fig


def predictive_km(
    result: xr.DataTree, grid, *, n_draws: int = 200, seed: int = 0, ci: float | None = None
) -> xr.Dataset:
    """The observed KM per arm against the KMs of replicated data sets (the result's
    ``posterior_predictive`` times, each patient censored where the data censored them; an
    event at the arm's last follow-up): ``observed`` and ``median``/``lower``/``upper``."""
    t, d, arm = _observed(result)
    rep = result["posterior_predictive"]["time"].stack(sample=("chain", "draw"))
    rep = rep.transpose("sample", "patient").values
    pick = np.random.default_rng(seed).choice(
        rep.shape[0], size=min(n_draws, rep.shape[0]), replace=False
    )
    grid = np.asarray(grid, float)
    labels = list(dict.fromkeys(arm.tolist()))
    obs, reps = np.empty((len(labels), grid.size)), np.empty((pick.size, len(labels), grid.size))
    for a, lab in enumerate(labels):
        sel = arm == lab
        cens = np.where(d[sel] == 0, t[sel], t[sel].max())
        obs[a] = _km(t[sel], d[sel], grid)
        for j, k in enumerate(pick):
            tt = rep[k, sel]
            reps[j, a] = _km(np.minimum(tt, cens), (tt <= cens).astype(float), grid)
    da = xr.DataArray(reps, dims=("draw", "arm", "time"), coords={"arm": labels, "time": grid})
    q = interval(da, ci, dims=("draw",))
    return q.assign(observed=(("arm", "time"), obs))


def plot_predictive_km(result: xr.DataTree, *, n_draws: int = 100, seed: int = 0, ax=None):
    """Observed KM against the band of posterior predictive KMs (same censoring)."""
    grid = np.linspace(0, float(result["observed_data"]["time"].values.max()), 100)
    ppc = predictive_km(result, grid, n_draws=n_draws, seed=seed)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    for lab in ppc["arm"].values:
        line = ax.step(grid, ppc["observed"].sel(arm=lab), where="post", label=f"KM {lab}")[0]
        _band(ax, grid, ppc, lab, line.get_color(), step="post")
    spec = O.spec_of(result)
    ax.set(
        xlabel="time",
        ylabel="survival",
        ylim=(0, 1.02),
        title=f"{spec.hazard}: observed KM and {100 * width():g}% posterior predictive band",
    )
    ax.legend(frameon=False)
    return fig
