"""Extrapolated survival per arm with credible bands, general-population survival, and the
published landmark estimates with their 95% CIs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

COLOURS = {"control": "#d62728", "experimental": "#1f5f99"}


def plot_extrapolation(
    surv: xr.DataArray,
    *,
    landmarks=None,
    background: np.ndarray | None = None,
    time_scale: float = 12.0,
    title: str = "",
    follow_up: float | None = None,
):
    """``surv`` has dims (chain, draw, arm, time) in model time units; the x axis is in years
    (``time / time_scale``). ``landmarks``: DataFrame with arm, time, survival, lower, upper."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    t = surv["time"].values / time_scale
    q = surv.quantile([0.025, 0.5, 0.975], dim=("chain", "draw"))
    for arm in surv["arm"].values:
        c = COLOURS.get(str(arm), None)
        lo, med, hi = (q.sel(arm=arm, quantile=p).values for p in (0.025, 0.5, 0.975))
        ax.fill_between(t, lo, hi, color=c, alpha=0.18, lw=0)
        ax.plot(t, med, color=c, lw=2, label=f"{arm} (posterior median, 95% band)")
    if background is not None:
        ax.plot(t, background, color="0.35", ls="--", lw=1.2, label="general population (same age and sex)")
    if landmarks is not None and len(landmarks):
        for _, r in landmarks.iterrows():
            c = COLOURS.get(str(r["arm"]), "k")
            x = r["time"] / time_scale
            ax.errorbar([x], [r["survival"]], yerr=[[r["survival"] - r["lower"]], [r["upper"] - r["survival"]]],
                        fmt="o", color=c, mec="k", capsize=4, zorder=5)
        ax.plot([], [], "o", color="0.5", mec="k", label="published KM estimate, 95% CI")
    if follow_up:
        ax.axvline(follow_up / time_scale, color="0.6", lw=0.8, ls=":")
        ax.text(follow_up / time_scale, 1.01, " end of follow-up", fontsize=8, color="0.4", va="bottom")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(0, t.max())
    ax.set_xlabel("Years since randomization")
    ax.set_ylabel("Survival probability")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    fig.tight_layout()
    return fig


def plot_cure_fractions(draws: dict[str, np.ndarray], title: str = ""):
    """Posterior densities (histograms) of the cure fraction per arm."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    bins = np.linspace(0, 1, 61)
    for arm, x in draws.items():
        ax.hist(np.ravel(x), bins=bins, density=True, alpha=0.5, color=COLOURS.get(arm), label=arm)
    ax.set_xlabel("Cure fraction")
    ax.set_ylabel("Posterior density")
    ax.set_title(title, fontsize=11)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
