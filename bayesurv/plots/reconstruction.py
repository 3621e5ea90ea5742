"""The reconstructed Kaplan-Meier curve over the cleaned clicks, with the numbers-at-risk table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from bayesurv.nonparametric import kaplan_meier


def plot_reconstruction(rec, *, title: str | None = None, raw=None):
    """Figure: reconstructed KM (step) over the clicks (points), NAR reported vs reconstructed.

    ``rec`` is a :class:`bayesurv.reconstruct.Reconstruction`; ``raw`` optionally the raw
    clicks (time, survival on the 0-1 scale) to show what cleaning moved.
    """
    km = kaplan_meier(rec.ipd["time"], rec.ipd["event"])
    fig, (ax, tab) = plt.subplots(2, 1, figsize=(7.5, 5.6), gridspec_kw={"height_ratios": [4, 1]})
    if raw is not None:
        ax.plot(raw["time"], raw["survival"], "x", ms=3, color="0.6", label="clicks as given")
    ax.plot(
        rec.curve.time, rec.curve.survival, "o", ms=2.5, color="tab:orange", label="clicks, cleaned"
    )
    ax.step(
        km["time"],
        km["survival"],
        where="post",
        color="tab:blue",
        lw=1.4,
        label="KM of reconstructed IPD",
    )
    cens = rec.ipd[rec.ipd["event"] == 0]["time"].to_numpy()
    if cens.size:
        idx = np.searchsorted(km["time"].to_numpy(), cens, side="right") - 1
        ax.plot(cens, km["survival"].to_numpy()[idx], "|", ms=5, color="tab:blue", alpha=0.6)
    acc = rec.report["km_vs_clicks"]
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("Survival probability")
    ax.set_title(
        title
        or f"Reconstruction ({rec.report['method']}): max |KM - clicks| = "
        f"{acc['max_abs_diff']:.3f}, mean = {acc['mean_abs_diff']:.4f}",
        fontsize=10,
    )
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    tab.set_axis_off()
    rows = rec.report["at_risk"]
    for r in rows:
        tab.text(r["time"], 0.65, str(r["reported"]), ha="center", fontsize=8)
        colour = "black" if r["reported"] == r["reconstructed"] else "tab:red"
        tab.text(r["time"], 0.15, str(r["reconstructed"]), ha="center", fontsize=8, color=colour)
    tab.text(
        0,
        1.05,
        "Numbers at risk: reported (top), reconstructed (bottom)",
        fontsize=8,
        transform=tab.transAxes,
    )
    ax.set_xlabel("Time")
    tab.set_xlim(ax.get_xlim())
    tab.set_ylim(0, 1)
    fig.tight_layout()
    return fig
