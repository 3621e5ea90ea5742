"""Forest plot of a hierarchical pool: observed and shrunken study intervals, the pooled diamond
and the prediction interval for a new trial, on the hazard-ratio scale (log axis)."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from bayesurv.intervals import width
from bayesurv.report_format import level_percent


def _hr_text(median: float, lower: float, upper: float) -> str:
    """A hazard ratio with its interval, as printed beside a forest plot's row."""
    return f"{median:.2f} ({lower:.2f}, {upper:.2f})"


def _beside(ax, y: float, text: str, **style) -> None:
    """Write ``text`` just right of the axes at height ``y`` (data units)."""
    ax.annotate(
        text, (1.01, y), xycoords=("axes fraction", "data"), va="center", fontsize=8, **style
    )


def forest(result, level: float | None = None, title: str | None = None, ax=None):
    """Draw a forest plot of a :class:`~bayesurv.synthesis.pool.PoolResult`; return the Figure.

    Each study has two rows of marks: its observed HR and CI (open square, grey) and its shrunken
    posterior median and interval (filled circle, black), with the numbers written on the right.
    The pooled HR is a diamond; the prediction interval for a new trial is a bar under it.
    ``level``: the intervals' width; default the width in force
    (:func:`bayesurv.intervals.ci_width`: the CLI's ``--ci``, a spec's ``ci``), 0.95 unless set.

    Examples
    --------
    >>> from bayesurv.synthesis.pool import pool
    >>> r = pool(([-0.97, -0.36], [0.28, 0.2], ["a", "b"]))
    >>> fig = forest(r)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()][:2]
    ['a', 'b']
    """
    level = width(level)
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
    ax.errorbar(
        np.exp(studies["observed"]),
        ys + off,
        xerr=[
            np.exp(studies["observed"]) - np.exp(studies["observed_lower"]),
            np.exp(studies["observed_upper"]) - np.exp(studies["observed"]),
        ],
        fmt="s",
        mfc="white",
        color="0.55",
        capsize=2,
        label=f"observed ({level_percent(level)} CI from its se)",  # PoolResult.table's y +- z se
    )
    ax.errorbar(
        np.exp(studies["median"]),
        ys - off,
        xerr=[
            np.exp(studies["median"]) - np.exp(studies["lower"]),
            np.exp(studies["upper"]) - np.exp(studies["median"]),
        ],
        fmt="o",
        color="black",
        capsize=2,
        label="shrunken (posterior)",
    )
    m, lo, hi = np.exp([pooled["median"], pooled["lower"], pooled["upper"]])
    ax.fill([lo, m, hi, m], [1.5, 1.8, 1.5, 1.2], color="tab:blue", label="pooled HR")
    plo, phi = np.exp([pred["lower"], pred["upper"]])
    ax.plot(
        [plo, phi],
        [0.8, 0.8],
        color="tab:blue",
        lw=3,
        alpha=0.5,
        label="prediction interval (new trial)",
    )
    ax.axvline(1.0, color="0.3", lw=0.8, ls="--")
    # the numbers a reader copies: observed HR (CI) per study, pooled and predicted
    for y, r in zip(ys, studies.itertuples(), strict=True):
        if np.isfinite(r.observed):
            obs = np.exp([r.observed, r.observed_lower, r.observed_upper])
            _beside(ax, y + off, _hr_text(*obs), color="0.4")
        _beside(ax, y - off, _hr_text(*np.exp([r.median, r.lower, r.upper])))
    _beside(ax, 1.5, _hr_text(m, lo, hi), weight="bold")
    _beside(ax, 0.8, f"({plo:.2f}, {phi:.2f})")
    ax.set_xscale("log")
    lo_x, hi_x = ax.get_xlim()
    ticks = [t for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10) if lo_x <= t <= hi_x]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([*ys, 1.5, 0.8], [*studies["study"], "pooled", "new trial"])
    ax.set_xlabel(f"hazard ratio (median and {level_percent(level)} interval)")
    ax.set_ylim(0.3, n + 3)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16 - 0.6 / (n + 3)),
        ncol=2,
        fontsize="small",
        frameon=False,
    )
    ax.set_title(title or f"{result.method} pool; tau prior {result.tau_prior.text}")
    fig.tight_layout()
    return fig


def nma_forest(
    result, reference: str | None = None, level: float | None = None, title: str | None = None
):
    """Forest plot of a network meta-analysis against one treatment: each other treatment's HR
    vs ``reference`` (default the network's), median and interval (black), a new trial's
    predictive interval (blue bar, random effects), and P(HR < 1) written beside it. ``level``
    as in :func:`forest` (default the width in force).

    Examples
    --------
    >>> import pandas as pd
    >>> from bayesurv.synthesis.nma import nma
    >>> t = pd.DataFrame({"study": ["a", "b"], "treatment": ["x", "y"], "comparator": "c",
    ...                   "log_hr": [-0.2, -0.1], "se": [0.1, 0.2]})
    >>> fig = nma_forest(nma(t, reference="c", effects="fixed", seed=1))
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['y', 'x']
    """
    level = width(level)
    ref = reference or result.network.reference
    others = [t for t in result.treatments if t != ref]
    n = len(others)
    fig, ax = plt.subplots(figsize=(7.5, 1.5 + 0.55 * n))
    ys = np.arange(n)[::-1]
    for y, t in zip(ys, others, strict=True):
        d = result.effect(t, ref)
        lo, hi = d.interval(level)
        if result.effects == "random":
            plo, phi = result.predictive(t, ref).interval(level)
            ax.plot(np.exp([plo, phi]), [y - 0.18] * 2, color="tab:blue", lw=3, alpha=0.45)
        m = np.exp(d.median())
        ax.errorbar(
            [m], [y], xerr=[[m - np.exp(lo)], [np.exp(hi) - m]], fmt="o", color="black", capsize=3
        )
        ax.annotate(
            f"{m:.2f} ({np.exp(lo):.2f}, {np.exp(hi):.2f})  P(HR<1) {d.cdf(0.0):.2f}",
            (1.01, y),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
        )
    ax.axvline(1.0, color="0.3", lw=0.8, ls="--")
    ax.set_xscale("log")
    lo_x, hi_x = ax.get_xlim()
    ticks = [t for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10) if lo_x <= t <= hi_x]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks(ys, others)
    ax.set_ylim(-0.8, n - 0.3)
    extra = "; blue: a new trial's prediction interval" if result.effects == "random" else ""
    ax.set_xlabel(f"hazard ratio vs {ref} (median and {level_percent(level)} interval{extra})")
    ax.set_title(
        title or f"{result.effects} effects network meta-analysis ({result.method})", fontsize=10
    )
    fig.tight_layout()
    return fig
