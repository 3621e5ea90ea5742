"""Kaplan-Meier figures with known truth, for round-trip tests and benchmarks.

:func:`render_km_figure` draws the Kaplan-Meier step curves of given individual patient data the way
a journal figure does (matplotlib, step-post, optional censor ticks, grid and legend) and saves it,
so that digitizing it can be compared with the exact curve (:func:`km_at`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bayesurv.nonparametric import kaplan_meier, step_value


def km_curve(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate: distinct event times and the survival just after each.

    Examples
    --------
    >>> km_curve([1, 2, 2, 3], [1, 1, 0, 1])
    (array([1., 2., 3.]), array([0.75, 0.5 , 0.  ]))
    """
    km = kaplan_meier(time, event)
    km = km[km["events"] > 0]
    return km["time"].to_numpy(float), km["survival"].to_numpy(float)


def km_at(time, event, grid) -> np.ndarray:
    """Right-continuous Kaplan-Meier survival at the times ``grid``."""
    km = kaplan_meier(time, event)
    return step_value(km["time"], km["survival"], grid)


def render_km_figure(
    path: str | Path,
    arms: Sequence[tuple[np.ndarray, np.ndarray]],
    x_range: tuple[float, float],
    y_range: tuple[float, float] = (0.0, 1.0),
    colors: Sequence[str] = ("#1f77b4", "#d62728", "#2ca02c"),
    linestyles: Sequence[str] = ("-", "-", "-"),
    linewidth: float = 1.5,
    censor_marker: str | None = None,
    censor_size: float = 7.0,
    grid: bool = False,
    legend: str | None = None,
    size: tuple[float, float] = (8.0, 6.0),
    dpi: int = 100,
    percent: bool = False,
) -> None:
    """Draw the Kaplan-Meier curves of ``arms`` (each ``(time, event)``) and save the figure.

    The axes limits are exactly ``x_range`` and ``y_range`` (the frame's extent), as
    ``bayesurv digitize --x-range/--y-range`` assumes. ``censor_marker`` ('|' or '+') draws a
    tick ``censor_size`` points tall at each censoring time; ``legend`` is a matplotlib legend
    location (e.g. ``"lower left"``).
    The file type follows the suffix (``.png``, ``.jpg``, ``.pdf``).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi)
    ax = fig.subplots()
    scale = 100.0 if percent else 1.0
    for k, (time, event) in enumerate(arms):
        time = np.asarray(time, dtype=float)
        event = np.asarray(event, dtype=bool)
        times, surv = km_curve(time, event)
        xs = np.r_[0.0, times, time.max()]
        ys = np.r_[1.0, surv, surv[-1] if surv.size else 1.0] * scale
        color = colors[k % len(colors)]
        ax.step(
            xs,
            ys,
            where="post",
            color=color,
            linestyle=linestyles[k % len(linestyles)],
            linewidth=linewidth,
            label=f"arm {k + 1}",
        )
        if censor_marker:
            cens = np.unique(time[~event])
            ax.plot(
                cens,
                km_at(time, event, cens) * scale,
                linestyle="none",
                marker=censor_marker,
                markersize=censor_size,
                markeredgewidth=1.0,
                color=color,
            )
    ax.set_xlim(*x_range)
    ax.set_ylim(*y_range)
    ax.set_xlabel("Time")
    ax.set_ylabel("Survival (%)" if percent else "Survival probability")
    if grid:
        ax.grid(True)
    if legend:
        ax.legend(loc=legend)
    kwargs = (
        {"pil_kwargs": {"quality": 90}} if str(path).lower().endswith((".jpg", ".jpeg")) else {}
    )
    fig.savefig(path, dpi=dpi, **kwargs)
