"""Forest plot of a hierarchical pool: observed and shrunken study intervals, the pooled diamond
and the prediction interval for a new trial, on the hazard-ratio scale (log axis)."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np


def forest(result, level: float = 0.95, title: str | None = None, ax=None):
    """Draw a forest plot of a :class:`~bayesurv.synthesis.pool.PoolResult`; return the Figure.

    Each study has two rows of marks: its observed HR and CI (open square, grey) and its shrunken
    posterior median and interval (filled circle, black). The pooled HR is a diamond; the
    prediction interval for a new trial is a bar under it.

    Examples
    --------
    >>> from bayesurv.synthesis.pool import pool
    >>> r = pool(([-0.97, -0.36], [0.28, 0.2], ["a", "b"]))
    >>> fig = forest(r)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()][:2]
    ['a', 'b']
    """
    tab = result.table(level)
    studies = tab[tab["kind"] == "study"]
    pooled = tab[tab["kind"] == "pooled"].iloc[0]
    pred = tab[tab["kind"] == "predictive"].iloc[0]
    n = len(studies)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 1.9 + 0.45 * (n + 3)))
    else:
        fig = ax.figure
    ys = np.arange(n)[::-1] + 3.0
    off = 0.15
    ax.errorbar(np.exp(studies["observed"]), ys + off,
                xerr=[np.exp(studies["observed"]) - np.exp(studies["observed_lower"]),
                      np.exp(studies["observed_upper"]) - np.exp(studies["observed"])],
                fmt="s", mfc="white", color="0.55", capsize=2, label="observed (reported CI)")
    ax.errorbar(np.exp(studies["median"]), ys - off,
                xerr=[np.exp(studies["median"]) - np.exp(studies["lower"]),
                      np.exp(studies["upper"]) - np.exp(studies["median"])],
                fmt="o", color="black", capsize=2, label="shrunken (posterior)")
    m, lo, hi = np.exp([pooled["median"], pooled["lower"], pooled["upper"]])
    ax.fill([lo, m, hi, m], [1.5, 1.8, 1.5, 1.2], color="tab:blue", label="pooled HR")
    plo, phi = np.exp([pred["lower"], pred["upper"]])
    ax.plot([plo, phi], [0.8, 0.8], color="tab:blue", lw=3, alpha=0.5,
            label="prediction interval (new trial)")
    ax.axvline(1.0, color="0.3", lw=0.8, ls="--")
    ax.set_xscale("log")
    lo_x, hi_x = ax.get_xlim()
    ticks = [t for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10) if lo_x <= t <= hi_x]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([*ys, 1.5, 0.8], [*studies["study"], "pooled", "new trial"])
    ax.set_xlabel(f"hazard ratio (median and {level:.0%} interval)")
    ax.set_ylim(0.3, n + 3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.6 / (n + 3)), ncol=2, fontsize="small",
              frameon=False)
    ax.set_title(title or f"{result.method} pool; tau prior {result.tau_prior.text}")
    fig.tight_layout()
    return fig
