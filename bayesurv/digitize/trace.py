"""Trace one arm's step curve, column by column, into (time, survival) points.

The model of the picture: a Kaplan-Meier curve is a right-continuous, non-increasing step function
drawn as horizontal runs (the plateaus) joined by vertical drops, about ``w`` pixels thick.

1. A horizontal opening (``w + 2`` pixels long) keeps the plateaus and drops the vertical strokes
   (drops, censor ticks). Each column holding exactly one plateau band gives one reading: the
   band's centre row. Columns with none (the curve is hidden under another arm or is dashed) or
   two (the corner of a big drop) give none, except that where events are so dense that the
   plateaus are shorter than the opening (a staircase), a column holding one short run of the
   arm's pixels gives its centre, and where censor marks crowd (a cloud of marks centred on the
   curve), a column whose pixels span no more than a mark gives their middle.
2. The readings are made non-increasing in survival by isotonic regression (pool adjacent
   violators), which removes the jitter of anti-aliasing without shifting the level.
3. Censor ticks are found (:mod:`bayesurv.digitize.censor`) and kept out of the curve.
4. Between two readings at different levels the curve drops. Across a gap the drop's time is the
   centre of its vertical stroke (the arm's remaining pixels between the two levels), or the gap's
   middle when the stroke is hidden; between adjacent columns it is their midpoint. Each drop is
   written as both corner points, (t, S_before) and (t, S_after).

A curve hidden at its start (under the axis line or the other arm) is taken to start at S = 1
(100%) when the axis reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.optimize import isotonic_regression

from bayesurv.digitize.arms import plot_box
from bayesurv.digitize.censor import find_censor_marks
from bayesurv.digitize.frame import AxisMap, Frame
from bayesurv.errors import InputError


@dataclass
class Trace:
    """One arm read off the figure.

    ``curve`` has columns ``time,survival`` (axis units) with both corners of every drop;
    ``censor`` has ``time,survival`` of each censor mark; ``pixels`` holds the same curve in image
    coordinates (column, row) for the overlay; ``hidden`` is the share of the curve's columns
    without a clean reading.
    """

    curve: pd.DataFrame
    censor: pd.DataFrame
    pixels: np.ndarray
    censor_pixels: np.ndarray
    line_width: float
    hidden: float


def _column_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every vertical run of True in ``mask``: (column, first row, last row)."""
    padded = np.zeros((mask.shape[1], mask.shape[0] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask.T
    step = np.diff(padded, axis=1)
    cols, starts = np.nonzero(step == 1)
    _, ends = np.nonzero(step == -1)
    return cols, starts, ends - 1


def line_width(mask: np.ndarray) -> float:
    """Typical thickness (pixels) of the curve, from the columns holding one run.

    The thinnest run length that is common (a quarter as common as the commonest): censor ticks
    and drops make longer runs, which can be the commonest where ticks are dense.
    """
    cols, starts, ends = _column_runs(mask)
    if cols.size == 0:
        return 2.0
    counts = np.bincount(cols, minlength=mask.shape[1])
    single = counts[cols] == 1
    lengths = (ends - starts + 1)[single]
    if not lengths.size:
        return 2.0
    tally = np.bincount(lengths)
    return float(np.flatnonzero(tally >= 0.25 * tally.max())[0])


def _readings(plateaus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns with exactly one plateau band, and the band's centre row."""
    cols, starts, ends = _column_runs(plateaus)
    counts = np.bincount(cols, minlength=plateaus.shape[1])
    single = counts[cols] == 1
    return cols[single].astype(float), 0.5 * (starts[single] + ends[single]).astype(float)


def _level_function(cols: np.ndarray, rows: np.ndarray, start_row: float):
    def level_at(col: float) -> float:
        i = np.searchsorted(cols, col, side="right") - 1
        return float(rows[i]) if i >= 0 else start_row

    def next_level_at(col: float) -> float | None:
        i = np.searchsorted(cols, col, side="left")
        return float(rows[i]) if i < cols.size else None

    return level_at, next_level_at


def _drop_column(residual: np.ndarray, a: float, b: float, y_a: float, y_b: float, w: float):
    """Centre column of the vertical stroke between columns a and b and rows y_a..y_b."""
    c0, c1 = int(np.floor(a)) + 1, int(np.ceil(b))
    r0, r1 = int(np.ceil(y_a + w / 2.0)), int(np.floor(y_b - w / 2.0)) + 1
    if c1 > c0 and r1 > r0:
        window = residual[r0:r1, c0:c1]
        if window.any():
            weights = window.sum(axis=0)
            return c0 + float(np.average(np.arange(c1 - c0), weights=weights))
    return None


def _mark_half_height(marks, ticks: np.ndarray) -> float:
    """Half the typical height (pixels) of the censor marks found (0 without marks)."""
    halves = []
    for col, _ in marks:
        rows = np.flatnonzero(ticks[:, int(round(col))])
        if rows.size:
            halves.append((rows.max() - rows.min() + 1) / 2.0)
    return float(np.median(halves)) if halves else 0.0


def _final_drop(residual, last_col: float, last_row: float, w: float, bottom: float):
    """(column, row) where a last drop (to zero, say), with no plateau after it, ends; or None.

    The drop's stroke is followed down from the last reading, as far as it runs unbroken.
    """
    c0, c1 = max(int(last_col - w), 0), int(last_col + 2 * w) + 1
    r0 = int(np.ceil(last_row + w / 2.0 + 1))
    tail = residual[r0:, c0:c1]
    if not tail.any():
        return None
    tail_rows = np.flatnonzero(tail.any(axis=1))
    breaks = np.flatnonzero(np.diff(tail_rows) > 1)
    stroke = tail_rows[: breaks[0] + 1] if breaks.size else tail_rows
    if stroke.size < w + 2 or stroke[0] > 1:
        return None
    end_row = r0 + stroke[-1] - w / 2.0
    if bottom - end_row < w + 1.5:  # it runs into the axis line: down to zero
        end_row = bottom
    at = c0 + float(np.average(np.flatnonzero(tail[stroke].any(axis=0))))
    return max(at, last_col), end_row


def trace_arm(mask: np.ndarray, frame: Frame, x_map: AxisMap, y_map: AxisMap) -> Trace:
    """Trace the step curve drawn in ``mask`` (boolean, whole image) into data coordinates.

    Examples
    --------
    >>> trace = trace_arm(arm.mask, frame, x_map, y_map)  # doctest: +SKIP
    >>> trace.curve.head(3)  # doctest: +SKIP
    """
    box = plot_box(frame, mask.shape)
    crop = mask[box]
    row0, col0 = box[0].start, box[1].start
    # Along the top and bottom axis lines only a sliver of the curve shows: not its thickness.
    inner = crop.copy()
    for edge in (frame.top - row0, frame.bottom - row0):
        inner[max(int(edge) - 4, 0) : int(edge) + 5] = False
    w = line_width(inner)
    opening = np.ones((1, int(round(w)) + 2), bool)
    plateaus = ndimage.binary_opening(crop, structure=opening)
    cols, rows = _readings(plateaus)
    if cols.size > 10:
        # A survival curve falls: one that mostly rises (cumulative incidence) is not read.
        rise = rows[: cols.size // 10].mean() - rows[-(cols.size // 10) :].mean()
        if rise > 0.05 * (frame.bottom - frame.top):
            raise InputError(
                "a curve in the figure rises from left to right; digitize reads falling survival "
                "curves, so give a survival (not cumulative incidence) figure."
            )
    if cols.size:
        rows = isotonic_regression(rows, increasing=True).x

    # Where the curve starts: S = 1 (or 100%) if the axis reaches it, else the axis top.
    y_top_value = float(y_map.to_data(frame.top))
    y_bottom_value = float(y_map.to_data(frame.bottom))
    full = 100.0 if max(y_top_value, y_bottom_value) > 1.5 else 1.0
    start_value = min(full, max(y_top_value, y_bottom_value))
    start_row = float(y_map.to_pixel(start_value)) - row0
    left = frame.left - col0

    marks: list[tuple[float, float]] = []
    ticks = np.zeros_like(crop)
    if cols.size:
        level_at, next_level_at = _level_function(cols, rows, start_row)
        marks, ticks = find_censor_marks(crop, level_at, next_level_at, w)
    residual = crop & ~plateaus & ~ticks

    # Where events are dense the plateaus are shorter than the opening and the curve is a
    # staircase: a column there holds one short run, whose centre is the curve's level. Where
    # censor marks crowd, they hide the curve in a cloud; the marks are centred on the curve, so
    # there the middle of all the arm's pixels in a column is the curve's level, as long as they
    # span no more than a mark.
    half_mark = _mark_half_height(marks, ticks)
    if half_mark > 0:
        top = np.argmax(crop, axis=0)
        bottom = crop.shape[0] - 1 - np.argmax(crop[::-1], axis=0)
        span = bottom - top + 1
        extra = crop.any(axis=0) & (span <= max(2 * w + 3, 2 * half_mark + w + 2))
        extra[cols.astype(int)] = False
        # ... but not in the stroke of a drop between two close readings: that stays a drop.
        for c in np.flatnonzero(extra):
            i = np.searchsorted(cols, c) - 1
            if 0 <= i < cols.size - 1 and cols[i + 1] - cols[i] <= 2 * w + 4:
                inside = top[c] >= rows[i] - w / 2 - 1 and bottom[c] <= rows[i + 1] + w / 2 + 1
                extra[c] = not inside
        new_cols = np.flatnonzero(extra)
        new_rows = 0.5 * (top[new_cols] + bottom[new_cols])
    else:
        raw_cols, raw_starts, raw_ends = _column_runs(crop)
        counts = np.bincount(raw_cols, minlength=crop.shape[1])
        short = (counts[raw_cols] == 1) & (raw_ends - raw_starts + 1 <= 2 * w + 3)
        extra = short & ~np.isin(raw_cols, cols.astype(int))
        new_cols, new_rows = raw_cols[extra], 0.5 * (raw_starts[extra] + raw_ends[extra])
    if new_cols.size:
        cols = np.r_[cols, new_cols.astype(float)]
        rows = np.r_[rows, new_rows]
        order = np.argsort(cols, kind="stable")
        cols, rows = cols[order], isotonic_regression(rows[order], increasing=True).x

    if cols.size == 0:
        empty = pd.DataFrame({"time": [], "survival": []})
        return Trace(empty, empty.copy(), np.zeros((0, 2)), np.zeros((0, 2)), w, 1.0)
    points: list[tuple[float, float]] = []
    first_col, first_row = cols[0], rows[0]
    if first_col - left > 3 and first_row - start_row > 1.5:
        drop = _drop_column(residual, left, first_col, start_row, first_row, w)
        at = first_col if drop is None else drop
        points += [(left, start_row), (at, start_row), (at, first_row)]
    else:
        points.append((left, first_row))
    points.append((first_col, first_row))
    for a, b, y_a, y_b in zip(cols[:-1], cols[1:], rows[:-1], rows[1:], strict=True):
        if y_b > y_a + 1e-6:
            drop = _drop_column(residual, a, b, y_a, y_b, w) if b - a > 1 else None
            at = 0.5 * (a + b) if drop is None else drop
            points += [(at, y_a), (at, y_b)]
        points.append((b, y_b))
    final = _final_drop(residual, cols[-1], rows[-1], w, frame.bottom - row0)
    if final is not None:
        points += [(final[0], rows[-1]), final]
    pix = np.array(points) + np.array([col0, row0])
    time = np.clip(x_map.to_data(pix[:, 0]), *sorted(x_map.to_data([frame.left, frame.right])))
    surv = np.clip(y_map.to_data(pix[:, 1]), *sorted((y_top_value, y_bottom_value)))
    curve = pd.DataFrame({"time": time, "survival": surv})
    repeated = (curve.diff().abs() < 1e-12).all(axis=1).to_numpy()
    curve = curve[~repeated].reset_index(drop=True)
    pix = pix[~repeated]
    mark_pix = np.array(marks, dtype=float).reshape(-1, 2) + np.array([col0, row0])
    censor = pd.DataFrame(
        {"time": x_map.to_data(mark_pix[:, 0]), "survival": y_map.to_data(mark_pix[:, 1])}
    )
    span = cols[-1] - max(cols[0], left) + 1
    hidden = float(1.0 - min(cols.size / max(span, 1.0), 1.0))
    return Trace(curve, censor, pix, mark_pix, w, hidden)
