"""Extrapolated survival and hazard per arm with credible bands, over the Kaplan-Meier of the
data, with the general-population curves of the same cohort; cure-fraction posteriors.

Each function takes either plain xarray arrays (draws with a ``time`` coordinate in model units
and an optional ``arm`` dim; every other dim, e.g. ``chain`` and ``draw``, is a sample dim) or a
result DataTree of :func:`bayesurv.survival.fit.fit` (its ``derived`` group,
:func:`bayesurv.survival.outputs.derived`), from which it reads::

    derived/survival, derived/hazard          (chain, draw, arm, time)
    derived/background_survival, background_hazard      (time)
    derived/cure_fraction                      (chain, draw, arm)
    observed_data/time, constant_data/time (event indicator), constant_data/arm
    derived attrs: time_scale (model units per year), follow_up (model units)

The x axis is in years (``time / time_scale``); hazards are drawn per year (``h * time_scale``)
on a log axis. Bands are equal-tailed (``ci``; by default the width in force,
:func:`bayesurv.intervals.width`) around the posterior median.
Every function returns the matplotlib Figure. The artists carry ids (``Artist.get_gid()``) so
that tests and callers can find them: ``median:ARM``, ``band:ARM``, ``km:ARM``, ``background``,
``follow-up``, ``cure:ARM``, ``prior`` (or ``prior:ARM``).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from bayesurv.errors import InputError
from bayesurv.evidence.ci import ci_label, levels
from bayesurv.intervals import interval, summary, width
from bayesurv.nonparametric import kaplan_meier

COLOURS = {"control": "#d62728", "experimental": "#1f5f99"}
#: the time scale assumed for plain arrays when none is given (months, as before)
DEFAULT_TIME_SCALE = 12.0


# --------------------------------------------------------------------------------------------
# reading the inputs
# --------------------------------------------------------------------------------------------
def _is_tree(obj) -> bool:
    return isinstance(obj, xr.DataTree)


def _derived(tree: xr.DataTree) -> xr.Dataset:
    if "derived" not in tree.children:
        raise InputError("the result has no 'derived' group; give a fitted long-term result.")
    return tree["derived"].to_dataset()


def _var(obj, name: str) -> xr.DataArray:
    if _is_tree(obj):
        ds = _derived(obj)
    elif isinstance(obj, xr.Dataset):
        ds = obj
    else:
        return obj
    if name not in ds:
        raise InputError(f"the result has no derived {name!r}; fit a model that computes it.")
    return ds[name]


def _optional(obj, name: str):
    if _is_tree(obj):
        ds = _derived(obj)
    elif isinstance(obj, xr.Dataset):
        ds = obj
    else:
        return None
    return ds[name] if name in ds else None


def _time_scale(obj, time_scale) -> float:
    if time_scale is not None:
        return float(time_scale)
    if _is_tree(obj) and "derived" in obj.children and "time_scale" in obj["derived"].attrs:
        return float(obj["derived"].attrs["time_scale"])
    return DEFAULT_TIME_SCALE


def _follow_up(obj, follow_up):
    if follow_up is not None:
        return follow_up
    if _is_tree(obj) and "derived" in obj.children:
        return obj["derived"].attrs.get("follow_up")
    return None


def _arms(da: xr.DataArray) -> list:
    return list(da["arm"].values) if "arm" in da.dims else [None]


def _colour(arm, k: int):
    return COLOURS.get(str(arm), f"C{k}")


def _label(arm) -> str:
    return "" if arm is None else str(arm)


def _bands(da: xr.DataArray, ci: float | None) -> xr.DataArray:
    """Lower, median and upper (:func:`bayesurv.intervals.interval`, equal-tailed) over every
    dim but arm and time, stacked on a ``quantile`` dim (0, 1, 2)."""
    c = width(ci)
    if "time" not in da.dims:
        raise InputError(f"{da.name or 'the curve'} has no 'time' dim; give draws over time.")
    sample = tuple(d for d in da.dims if d not in ("arm", "time"))
    probs = [(1 - c) / 2, 0.5, (1 + c) / 2]
    if not sample:  # one curve (e.g. a point estimate): no band
        return xr.concat([da] * 3, dim=pd.Index(probs, name="quantile"))
    with np.errstate(invalid="ignore"):  # inf - inf where a hazard is infinite (t = 0)
        q = interval(da.where(~np.isneginf(da)), c, dims=sample)
    return xr.concat([q["lower"], q["median"], q["upper"]], dim=pd.Index(probs, name="quantile"))


def _at(q: xr.DataArray, arm, k: int) -> np.ndarray:
    sel = q.isel(quantile=k)
    if arm is not None:
        sel = sel.sel(arm=arm)
    return np.asarray(sel.transpose("time").values, dtype=float)


def _ipd(tree: xr.DataTree, arms: list) -> pd.DataFrame | None:
    """time, event, arm of the observed patients in a result DataTree (None if absent)."""
    if "observed_data" not in tree.children or "constant_data" not in tree.children:
        return None
    obs, const = tree["observed_data"], tree["constant_data"]
    if "time" not in obs or "time" not in const:
        return None
    df = pd.DataFrame(
        {
            "time": np.asarray(obs["time"].values, float).ravel(),
            "event": np.asarray(const["time"].values, float).ravel(),
        }
    )
    if "arm" in const and arms != [None]:
        a = np.asarray(const["arm"].values).ravel()
        if np.issubdtype(a.dtype, np.integer):
            a = np.asarray(arms, dtype=object)[a]  # arm index -> label, reference first
        df["arm"] = a
    return df


def _km_frame(km, obj, arms: list) -> pd.DataFrame | None:
    if km is False or km is None and not _is_tree(obj):
        return None
    if km is None or km is True:
        return _ipd(obj, arms) if _is_tree(obj) else None
    df = pd.DataFrame(km)
    miss = [c for c in ("time", "event") if c not in df.columns]
    if miss:
        raise InputError(f"km: column {miss[0]!r} is missing; give time, event (and arm).")
    return df


def _curve(values, grid: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(time, value) of a background curve: a DataArray with its own time, or values on grid."""
    if isinstance(values, xr.DataArray) and "time" in values.dims:
        return (
            np.asarray(values["time"].values, float),
            np.asarray(values.squeeze(drop=True).values, float),
        )
    v = np.asarray(values, dtype=float).ravel()
    if v.size != grid.size:
        raise InputError(
            f"{name} has {v.size} values but the curve grid {grid.size}; give it on the same times."
        )
    return grid, v


def _median_and_band(ax, t, lo, med, hi, arm, colour, pct: str, where=None) -> None:
    """One arm's posterior median line over its ``pct`` band (gids ``median:``/``band:``)."""
    ax.fill_between(
        t, lo, hi, where=where, color=colour, alpha=0.18, lw=0, gid=f"band:{_label(arm)}"
    )
    ax.plot(
        t,
        med,
        color=colour,
        lw=2,
        label=f"{_label(arm) or 'model'} (posterior median, {pct} band)",
        gid=f"median:{_label(arm)}",
    )


def _background_line(ax, time, values, time_scale: float) -> None:
    """The cohort's general-population curve (one for every arm), dashed grey."""
    ax.plot(
        time / time_scale,
        values,
        color="0.35",
        ls="--",
        lw=1.2,
        label="general population (same age and sex)",
        gid="background",
    )


def _new_axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _follow_up_line(ax, follow_up, time_scale: float, y_text: float, transform=None) -> None:
    if follow_up is None or not np.isfinite(float(follow_up)) or float(follow_up) <= 0:
        return
    x = float(follow_up) / time_scale
    ax.axvline(x, color="0.6", lw=0.8, ls=":", gid="follow-up")
    ax.text(
        x,
        y_text,
        " end of follow-up",
        fontsize=8,
        color="0.4",
        va="bottom",
        transform=transform or ax.get_xaxis_transform(),
    )


# --------------------------------------------------------------------------------------------
# survival
# --------------------------------------------------------------------------------------------
def _setup(obj, name: str, time_scale, follow_up, background, ax, ci):
    """What both curve plots start from: the draws of ``name``, time scale, follow-up, the
    population curve (``background_<name>`` from a result when not given), axes, the grid in
    model units and in years, the median and band, and the band's label."""
    da = _var(obj, name)
    ts = _time_scale(obj, time_scale)
    if background is None:
        background = _optional(obj, f"background_{name}")
    fig, ax = _new_axes(ax, (8, 4.8))
    grid = np.asarray(da["time"].values, dtype=float)
    return (
        da,
        ts,
        _follow_up(obj, follow_up),
        background,
        fig,
        ax,
        grid,
        grid / ts,
        _bands(da, ci),
        f"{100 * width(ci):g}%",
    )


def plot_extrapolation(
    surv,
    *,
    landmarks=None,
    background=None,
    time_scale: float | None = None,
    title: str = "",
    follow_up: float | None = None,
    km=None,
    ci: float | None = None,
    ax=None,
) -> Figure:
    """Extrapolated survival per arm: posterior median and ``ci`` band, over the data's KM.

    Parameters
    ----------
    surv : a result DataTree (see the module docstring), or survival draws (DataArray with a
        ``time`` coordinate in model units, optional ``arm``; other dims are sample dims).
    landmarks : DataFrame with ``arm, time, survival, lower, upper`` (published estimates) and
        optionally ``ci_level`` (each row's CI level; the legend names it).
    background : the cohort's general-population survival: values on the same time grid or a
        DataArray with its own ``time``; from the DataTree when not given.
    time_scale : model units per year (the x axis is in years); default the DataTree's, else 12.
    follow_up : end of follow-up (model units), drawn as a dotted vertical line; default the
        DataTree's ``follow_up``.
    km : IPD (``time, event``, optional ``arm``) to draw as Kaplan-Meier steps; default the
        DataTree's observed data; ``False`` for none.
    ci : width of the equal-tailed band.
    ax : draw into these axes (default a new figure).

    Examples
    --------
    >>> t = np.linspace(0, 120, 61)
    >>> draws = np.exp(-np.outer(np.linspace(0.01, 0.02, 40), t))
    >>> da = xr.DataArray(draws[None, :, None, :], dims=("chain", "draw", "arm", "time"),
    ...                   coords={"time": t, "arm": ["control"]})
    >>> fig = plot_extrapolation(da, time_scale=12, follow_up=60)
    >>> [ln.get_gid() for ln in fig.axes[0].lines]
    ['median:control', 'follow-up']
    """
    da, ts, fu, background, fig, ax, grid, t, q, pct = _setup(
        surv, "survival", time_scale, follow_up, background, ax, ci
    )
    arms = _arms(da)
    for k, arm in enumerate(arms):
        c = _colour(arm, k)
        _median_and_band(ax, t, *(_at(q, arm, j) for j in range(3)), arm, c, pct)
    ipd = _km_frame(km, surv, arms)
    if ipd is not None and len(ipd):
        one = arms[0] if len(arms) == 1 else None  # an IPD without arms: one pooled KM
        groups = ipd.groupby("arm", sort=False) if "arm" in ipd else [(one, ipd)]
        order = {str(a): k for k, a in enumerate(arms)}
        for arm, d in groups:
            k = order.get(str(arm), len(order))
            tab = kaplan_meier(d["time"].to_numpy(float), d["event"].to_numpy(float))
            lab = "Kaplan-Meier" if arm is None else f"{arm}: Kaplan-Meier"
            ax.step(
                tab["time"].to_numpy() / ts,
                tab["survival"].to_numpy(),
                where="post",
                color="k" if arm is None else _colour(arm, k),
                lw=1.0,
                alpha=0.9,
                label=lab,
                gid=f"km:{_label(arm)}",
            )
    if background is not None:
        if isinstance(background, xr.DataArray) and "arm" in background.dims:
            for k, arm in enumerate(background["arm"].values):
                tb, vb = _curve(background.sel(arm=arm), grid, "background")
                ax.plot(
                    tb / ts,
                    vb,
                    color=_colour(arm, k),
                    ls="--",
                    lw=1.0,
                    label=f"{arm}: general population",
                    gid=f"background:{arm}",
                )
        else:
            _background_line(ax, *_curve(background, grid, "background"), ts)
    if landmarks is not None and len(landmarks):
        for _, r in landmarks.iterrows():
            c = COLOURS.get(str(r["arm"]), "k")
            x = r["time"] / ts
            yerr = [[r["survival"] - r["lower"]], [r["upper"] - r["survival"]]]
            ax.errorbar(
                [x],
                [r["survival"]],
                yerr=yerr,
                fmt="o",
                color=c,
                mec="k",
                capsize=4,
                zorder=5,
                gid=f"landmark:{r['arm']}",
            )
        # the trial's own level, not the analysis's width: each row's ci_level (blank or no
        # column: 0.95), "CI (level per row)" when they differ (bayesurv.evidence.ci.ci_label)
        label = f"published KM estimate, {ci_label(levels(landmarks))}"
        ax.plot([], [], "o", color="0.5", mec="k", label=label)
    _follow_up_line(ax, fu, ts, 1.01, transform=ax.transData)
    ax.set_ylim(0, 1.05)
    ax.set_xlim(0, t.max())
    ax.set_xlabel("Years since randomization")
    ax.set_ylabel("Survival probability")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# hazard
# --------------------------------------------------------------------------------------------
def _positive(v: np.ndarray) -> np.ndarray:
    """Values a log axis can show; 0, negative and non-finite become gaps."""
    v = np.asarray(v, dtype=float).copy()
    v[~np.isfinite(v) | (v <= 0)] = np.nan
    return v


def plot_hazard_extrapolation(
    hazard,
    *,
    background=None,
    time_scale: float | None = None,
    follow_up: float | None = None,
    ci: float | None = None,
    title: str = "",
    ax=None,
) -> Figure:
    """Hazard per arm over time (per year, log axis): posterior median, ``ci`` band, and the
    cohort's general-population hazard.

    ``hazard``: a result DataTree (``derived/hazard``, ``derived/background_hazard``) or hazard
    draws per model unit (DataArray with ``time``, optional ``arm``). ``background``: the
    general-population hazard per model unit (values on the grid or a DataArray with ``time``).
    Values that are 0 or infinite (a Weibull hazard at t = 0) are left out.

    Examples
    --------
    >>> t = np.linspace(0, 10, 11)
    >>> da = xr.DataArray(np.full((1, 5, 11), 0.1), dims=("chain", "draw", "time"),
    ...                   coords={"time": t})
    >>> fig = plot_hazard_extrapolation(da, time_scale=1, background=0.01 * np.exp(0.1 * t))
    >>> fig.axes[0].get_yscale()
    'log'
    """
    da, ts, fu, background, fig, ax, grid, t, q, pct = _setup(
        hazard, "hazard", time_scale, follow_up, background, ax, ci
    )
    for k, arm in enumerate(_arms(da)):
        c = _colour(arm, k)
        lo, med, hi = (_positive(_at(q, arm, j) * ts) for j in range(3))
        _median_and_band(ax, t, lo, med, hi, arm, c, pct, where=np.isfinite(lo) & np.isfinite(hi))
    if background is not None:
        tb, vb = _curve(background, grid, "background")
        _background_line(ax, tb, _positive(vb * ts), ts)
    ax.set_yscale("log")
    _follow_up_line(ax, fu, ts, 1.0)
    ax.set_xlim(0, t.max())
    ax.set_xlabel("Years since randomization")
    ax.set_ylabel("Hazard (per year, log scale)")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best", frameon=False)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# cure fraction
# --------------------------------------------------------------------------------------------
def _cure_draws(draws) -> dict:
    if isinstance(draws, Mapping) and not isinstance(draws, xr.Dataset | xr.DataTree):
        return {str(k): np.ravel(np.asarray(v, dtype=float)) for k, v in draws.items()}
    da = _var(draws, "cure_fraction")
    if "arm" not in da.dims:
        return {"": np.ravel(da.values.astype(float))}
    return {str(a): np.ravel(da.sel(arm=a).values.astype(float)) for a in da["arm"].values}


def plot_cure_fractions(
    draws,
    title: str = "",
    *,
    prior=None,
    ci: float | None = None,
    bins: int = 60,
    ax=None,
) -> Figure:
    """Posterior densities (histograms) of the cure fraction per arm, with the median and
    ``ci`` interval in the legend and an optional prior.

    ``draws``: ``{arm: draws}``, a DataArray ``cure_fraction`` (optional ``arm`` dim), or a
    result DataTree (``derived/cure_fraction``). ``prior``: prior draws (one array for every arm,
    or ``{arm: draws}``; drawn as a histogram outline) or a density function of the cure
    fraction (drawn as a curve).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_cure_fractions({"control": rng.beta(30, 70, 4000)})
    >>> [p.get_gid() for p in fig.axes[0].patches]
    ['cure:control']
    """
    post = _cure_draws(draws)
    fig, ax = _new_axes(ax, (6, 3.4))
    edges = np.linspace(0, 1, bins + 1)
    for k, (arm, x) in enumerate(post.items()):
        x = x[np.isfinite(x)]
        c = _colour(arm, k)
        dens, _ = np.histogram(x, bins=edges, density=True)
        q = summary(x, ci)
        lo, med, hi = q["lower"], q["median"], q["upper"]
        lab = f"{arm + ': ' if arm else ''}{med:.2f} ({lo:.2f}-{hi:.2f})"
        ax.stairs(dens, edges, fill=True, alpha=0.45, color=c, label=lab, gid=f"cure:{arm}")
    if prior is not None:
        if callable(prior):
            x = np.linspace(0.0005, 0.9995, 400)
            ax.plot(
                x,
                np.asarray(prior(x), dtype=float),
                color="0.3",
                ls="--",
                lw=1.2,
                label="prior",
                gid="prior",
            )
        elif isinstance(prior, Mapping):
            for k, (arm, x) in enumerate(prior.items()):
                x = np.ravel(np.asarray(x, dtype=float))
                dens, _ = np.histogram(x[np.isfinite(x)], bins=edges, density=True)
                ax.stairs(
                    dens,
                    edges,
                    fill=False,
                    color=_colour(arm, k),
                    ls="--",
                    lw=1.0,
                    label=f"{arm}: prior",
                    gid=f"prior:{arm}",
                )
        else:
            x = np.ravel(np.asarray(prior, dtype=float))
            dens, _ = np.histogram(x[np.isfinite(x)], bins=edges, density=True)
            ax.stairs(
                dens, edges, fill=False, color="0.3", ls="--", lw=1.0, label="prior", gid="prior"
            )
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"Cure fraction (legend: posterior median, {100 * width(ci):g}% interval)")
    ax.set_ylabel("Posterior density")
    ax.set_title(title, fontsize=11)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


__all__ = [
    "COLOURS",
    "figures",
    "plot_cure_fractions",
    "plot_extrapolation",
    "plot_hazard_extrapolation",
]


def figures(result: xr.DataTree) -> dict[str, Figure]:
    """A fit's figures by name: ``extrapolation`` (survival over the KM with the general
    population), ``hazard`` and, with a cure model, ``cure_fraction`` (the caller saves them)."""
    from bayesurv.survival.structure import ModelSpec

    spec = ModelSpec.from_json(result.attrs["spec"])
    what = f"{spec.hazard}, {spec.cure} cure"
    out = {
        "extrapolation": plot_extrapolation(result, title=f"Extrapolated survival ({what})"),
        "hazard": plot_hazard_extrapolation(result, title=f"Hazard ({what})"),
    }
    if "cure_fraction" in result["derived"]:
        out["cure_fraction"] = plot_cure_fractions(result, title="Cure fraction")
    return out
