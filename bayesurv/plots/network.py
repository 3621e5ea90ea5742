"""Network meta-analysis figures: the network (treatments on a circle, one line per direct
comparison, its width the number of trials, node size the patients or trials) and the league
table (every pairwise HR, row vs column, median and interval, coloured by P(HR < 1))."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from bayesurv.intervals import width


def network_plot(net, ax=None, title: str | None = None):
    """Draw the network of a :class:`~bayesurv.synthesis.network.Network`; return the Figure.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayesurv.synthesis.network import read_network
    >>> t = pd.DataFrame({"study": ["a", "b"], "treatment": ["x", "y"], "comparator": "c",
    ...                   "log_hr": [-0.2, -0.1], "se": [0.1, 0.2]})
    >>> fig = network_plot(read_network(t, reference="c"))
    >>> sorted(t.get_text() for t in fig.axes[0].texts)[:3]
    ['1', '1', 'c']
    """
    trts = net.treatments
    k = len(trts)
    ang = np.pi / 2 - 2 * np.pi * np.arange(k) / k
    pos = {t: (math.cos(a), math.sin(a)) for t, a in zip(trts, ang, strict=True)}
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 6.0))
    else:
        fig = ax.figure
    edges = net.edges()
    wmax = max(edges["n_studies"].max(), 1) if len(edges) else 1
    for e in edges.itertuples():
        (x0, y0), (x1, y1) = pos[e.treatment_a], pos[e.treatment_b]
        ax.plot(
            [x0, x1],
            [y0, y1],
            color="0.45",
            lw=1.5 + 5 * e.n_studies / wmax,
            zorder=1,
            solid_capstyle="round",
        )
        ax.text(
            (x0 + x1) / 2,
            (y0 + y1) / 2,
            str(e.n_studies),
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.7"},
            zorder=3,
        )
    size = net.patients()
    use_patients = size.sum() > 0
    if not use_patients:  # contrasts only: size by the number of trials holding the treatment
        size = np.array([sum(t in net.study_arms(s) for s in net.studies) for t in trts], float)
    else:
        size = size.to_numpy(float)
    smax = max(size.max(), 1.0)
    for t, sz in zip(trts, size, strict=True):
        x, y = pos[t]
        ax.scatter(
            [x],
            [y],
            s=300 + 1500 * sz / smax,
            color="tab:blue",
            alpha=0.85,
            zorder=2,
            edgecolor="white",
            linewidth=1.5,
        )
        ax.text(1.28 * x, 1.22 * y, t, ha="center", va="center", fontsize=10, zorder=4)
    ax.set_xlim(-1.7, 1.7)
    ax.set_ylim(-1.55, 1.55)
    ax.set_aspect("equal")
    ax.axis("off")
    what = "patients" if use_patients else "trials"
    ax.set_title(
        title
        or f"Network: {len(net.studies)} trials, {k} treatments (node size: {what}; line: trials)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def league_plot(result, level: float | None = None, title: str | None = None):
    """League table of an :class:`~bayesurv.synthesis.nma.NmaResult`: cell (row a, column b) is
    the HR of a vs b with its interval; the colour is P(HR(a vs b) < 1). Returns the Figure.
    ``level``: the intervals' width; default the width in force
    (:func:`bayesurv.intervals.ci_width`: the CLI's ``--ci``, a spec's ``ci``), 0.95 unless set.
    """
    level = width(level)
    t = result.treatments
    k = len(t)
    fig, ax = plt.subplots(figsize=(1.6 + 1.75 * k, 0.9 + 0.62 * k))
    cmap = plt.get_cmap("RdBu")
    for i, a in enumerate(t):
        for j, b in enumerate(t):
            if i == j:
                ax.add_patch(plt.Rectangle((j, k - 1 - i), 1, 1, color="0.88"))
                ax.text(
                    j + 0.5,
                    k - 0.5 - i,
                    a,
                    ha="center",
                    va="center",
                    fontsize=9,
                    weight="bold",
                    wrap=True,
                )
                continue
            d = result.effect(a, b)
            lo, hi = d.interval(level)
            p = float(d.cdf(0.0))
            ax.add_patch(plt.Rectangle((j, k - 1 - i), 1, 1, color=cmap(p), alpha=0.55))
            ax.text(
                j + 0.5,
                k - 0.5 - i,
                f"{math.exp(d.median()):.2f}\n({math.exp(lo):.2f}, {math.exp(hi):.2f})",
                ha="center",
                va="center",
                fontsize=8,
            )
    ax.set_xlim(0, k)
    ax.set_ylim(0, k)
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_title(
        title or f"HR of row vs column, median ({level:.0%} interval); blue: P(HR < 1) high",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
