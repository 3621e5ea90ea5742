"""Find censor marks ('|' or '+' ticks) on a traced step curve.

A censor tick is a short vertical stroke centred on the curve. Vertical strokes of an arm's pixels
(what survives a vertical opening longer than the line is thick) are either the vertical drops of
the step curve or ticks. A drop runs down from the level on its left to the level on its right; it
never rises above the first nor reaches below the second. A stroke that reaches clearly above the
level on its left or below the level on its right is therefore a tick (also where a tick sits on a
drop, as it does when a patient is censored at an event time). Ticks so
dense that they touch are read as one mark per run of touching columns, so counts in crowded
stretches are a lower bound.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage


def find_censor_marks(
    mask: np.ndarray,
    level_at: Callable[[float], float],
    next_level_at: Callable[[float], float | None],
    line_width: float,
) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Censor marks of one arm.

    Parameters
    ----------
    mask
        The arm's pixels (boolean, rows x columns).
    level_at
        Row of the traced curve at a column (the step curve before the marks are known).
    next_level_at
        Row of the first clean reading of the curve at or after a column (None past the end).
    line_width
        Thickness of the curve in pixels.

    Returns
    -------
    marks
        ``(column, row)`` of each mark: its column centre and the curve's row there.
    tick_pixels
        Boolean mask of the pixels that belong to marks (to keep them out of the trace).

    Examples
    --------
    >>> marks, ticks = find_censor_marks(mask, level_at, 2.0)  # doctest: +SKIP
    """
    tick_pixels = np.zeros_like(mask)
    marks: list[tuple[float, float]] = []
    length = int(np.ceil(line_width)) + 4
    strokes = ndimage.binary_opening(mask, structure=np.ones((length, 1), bool))
    labels, n = ndimage.label(strokes)
    if n == 0:
        return marks, tick_pixels
    margin = line_width / 2.0 + 1.5
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        rows, cols = box
        piece = labels[box] == index
        c0, c1 = cols.start, cols.stop - 1
        upper = level_at(c0 - 1.0 - line_width)
        lower = next_level_at(c1 + 1.0 + line_width / 2.0)
        row_index = np.arange(rows.start, rows.stop)[:, None]
        above = piece & (row_index < upper - margin)
        on_drop = False
        if not above.any() and lower is not None:
            # Below the level after the drop: a tick centred on that lower level.
            above = piece & (row_index > lower + margin)
            on_drop = True
        if not above.any():
            continue
        tick_pixels[box] |= piece
        above_cols = np.flatnonzero(above.any(axis=0))
        runs = np.split(above_cols, np.flatnonzero(np.diff(above_cols) > 1) + 1)
        for run in runs:
            weights = above[:, run].sum(axis=0)
            col = c0 + float(np.average(run, weights=weights))
            marks.append((col, lower if on_drop else level_at(col)))
    marks.sort()
    return marks, tick_pixels
