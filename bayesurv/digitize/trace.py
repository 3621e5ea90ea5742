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
   Before that, readings that cannot be one falling curve are set aside: the readings are cut
   into islands wherever they jump up, or jump down with no vertical stroke of ink (the arm's,
   another arm's, or masked text) to carry the drop; islands are then kept largest first as
   long as they fit a non-increasing curve with those already kept, and a small island only
   when a stroke joins it to its neighbours. Text, a legend, a blob in a frame corner or the
   far end of the frame do not become part of the curve (nor a drop to 0).
3. Censor ticks are found (:mod:`bayesurv.digitize.censor`) and kept out of the curve.
4. Where the arm is hidden under another arm (columns without a reading of its own whose
   rows between the levels before and after hold another arm's plateau), it is followed there:
   it lies under that arm, so the other arm's plateau rows are its readings, clipped between its
   own levels and kept non-increasing. These stretches are reported (``hidden_stretches``).
5. Between two readings at different levels the curve drops. Across a gap the drop's time is the
   centre of its vertical stroke (the arm's remaining pixels between the two levels), or the gap's
   middle when the stroke is hidden; between adjacent columns it is their midpoint. Each drop is
   written as both corner points, (t, S_before) and (t, S_after). A last drop (to 0, say) is
   kept only where its own stroke runs down from the last plateau.

Dashed and dotted arms are also read from their short runs (a dot gives one reading per column
it covers), and their gaps are held at the level before. A curve hidden at its start (under the
axis line or the other arm) is taken to start at S = 1 (100%) when the axis reaches it; the
curve starts at time 0 (not at a padded frame's edge) and never leaves [0, 1]. A rising curve
(cumulative incidence) is read upside down as S = 1 - F (``rising=True``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    without a reading of its own (``seen = 1 - hidden``); ``hidden_stretches`` lists the
    stretches of at least three line widths without one, as ``start,end`` (time) and ``why``
    (``"under another arm"`` where it was followed under another arm's ink, ``"masked"`` under
    text or a legend, ``"not drawn"`` otherwise); ``set_aside`` counts the readings that did not
    fit one falling curve (text, legend, a stray blob).
    """

    curve: pd.DataFrame
    censor: pd.DataFrame
    pixels: np.ndarray
    censor_pixels: np.ndarray
    line_width: float
    hidden: float
    hidden_stretches: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"start": [], "end": [], "why": []})
    )
    set_aside: int = 0

    @property
    def seen(self) -> float:
        return 1.0 - self.hidden

    def statement(self) -> str:
        """How much of this arm was read, in one sentence: the share seen, the hidden
        stretches (time, why) and what was set aside; e.g. ``"81% of the curve seen; hidden
        under another arm from 0 to 12.4; 14 readings set aside (text, a legend or a stray
        mark)"``."""
        parts = [f"{self.seen:.0%} of the curve seen"]
        for row in self.hidden_stretches.itertuples(index=False):
            parts.append(f"hidden {row.why} from {row.start:.3g} to {row.end:.3g}")
        if self.set_aside:
            parts.append(f"{self.set_aside} reading(s) set aside (text, a legend or a stray mark)")
        return "; ".join(parts)


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


def _readings(
    plateaus: np.ndarray, max_length: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Columns with exactly one plateau band (no longer than ``max_length``), and its centre."""
    cols, starts, ends = _column_runs(plateaus)
    counts = np.bincount(cols, minlength=plateaus.shape[1])
    single = counts[cols] == 1
    if max_length is not None:
        single &= ends - starts + 1 <= max_length
    return cols[single].astype(float), 0.5 * (starts[single] + ends[single]).astype(float)


def _corner_of_hidden_drop(
    crop: np.ndarray, other: np.ndarray, plateaus: np.ndarray, cols: np.ndarray, w: float
) -> np.ndarray:
    """Readings (True) that are the corner of a drop whose other end is hidden under another arm.

    A drop's corner columns hold both plateau bands, so they give no reading; where another arm
    is drawn over the drop's foot (or head), they hold one band, from which the arm's own stroke
    hangs down (or rises) into the other arm's pixels. Read as plateau, that corner pushes the
    drop to the far side of its stroke (1.5 pixels late on a 3-pixel line: four_arms, stage I
    at 4.0 years under stage II's drop at the same time, read at 4.03).
    """
    corner = np.zeros(cols.size, bool)
    height = crop.shape[0]
    for i, c in enumerate(cols.astype(int)):
        band = np.flatnonzero(plateaus[:, c])
        if not band.size:
            continue
        top, bottom = int(band[0]), int(band[-1])
        run_top, run_bottom = top, bottom
        while run_top > 0 and crop[run_top - 1, c]:
            run_top -= 1
        while run_bottom < height - 1 and crop[run_bottom + 1, c]:
            run_bottom += 1
        below, above = run_bottom - bottom, top - run_top
        lo, hi = run_bottom + 1, run_top - 1
        if below >= 2 and above <= 1 and lo < height and other[lo : lo + 2, c].any():
            corner[i] = True
        elif above >= 2 and below <= 1 and hi >= 0 and other[max(hi - 1, 0) : hi + 1, c].any():
            corner[i] = True
    return corner


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


def _final_drop(
    residual,
    last_col: float,
    last_row: float,
    w: float,
    bottom: float,
    gap: int = 1,
    right: float | None = None,
    plateau_from: float | None = None,
):
    """(column, row) where a last drop (to zero, say), with no plateau after it, ends; or None.

    The drop's stroke is followed down from the last reading, as far as it runs unbroken (by
    more than ``gap`` rows: a dashed curve's drop is dashed too); it
    must be at least ``w + 2`` pixels long unless it runs into the bottom axis (a short last
    drop to 0). A vertical line that also runs on above the curve (the frame's edge, a grid
    line) is no drop. On the frame's ``right`` edge (the curve runs to the axis' end) the drop
    is clipped by the frame: half a stroke with no plateau after it, so where the last plateau
    (read from column ``plateau_from``) runs to the edge two rows of it are
    enough, and it ends where its ink does (a drop of 2 events in 170 on a 358-pixel axis is
    3 pixels: Stata's ``sts graph`` to the last time).
    """
    c0, c1 = max(int(last_col - w), 0), int(last_col + 2 * w) + 1
    r0 = int(np.ceil(last_row + w / 2.0 + 1))
    tail = residual[r0:, c0:c1]
    if not tail.any():
        return None
    tail_rows = np.flatnonzero(tail.any(axis=1))
    breaks = np.flatnonzero(np.diff(tail_rows) > gap)
    stroke = tail_rows[: breaks[0] + 1] if breaks.size else tail_rows
    if stroke[0] > 1:
        return None
    end_row = r0 + stroke[-1] - w / 2.0
    to_axis = bottom - (r0 + stroke[-1]) < w + 2.5
    stroke_cols = np.flatnonzero(tail[stroke].any(axis=0)) + c0
    # on the edge, at the end of a plateau at least w + 2 columns long (just after a drop read,
    # a stroke there is that drop's cap, the line going on at its level)
    at_edge = (
        right is not None
        and plateau_from is not None
        and last_col >= right - w - 1.0
        and stroke_cols.max() >= right - 1.0
        and last_col - plateau_from >= w + 2.0
    )
    if at_edge:
        end_row = float(r0 + stroke[-1])
    if stroke.size < (2 if at_edge else w + 2) and not to_axis:
        return None
    above = residual[: max(int(last_row - 2 * w - 2), 0), stroke_cols.min() : stroke_cols.max() + 1]
    if above.shape[0] > 2 * w and above.any(axis=1).mean() > 0.5:
        return None
    if to_axis or bottom - end_row < w + 1.5:  # it runs into the axis line: down to zero
        end_row = bottom
    at = float(np.average(stroke_cols))
    return max(at, last_col), end_row


def _supported(ink: np.ndarray, a: float, b: float, y_a: float, y_b: float, w: float) -> bool:
    """Is there a vertical stroke of ink between rows y_a and y_b near columns a..b (at least
    half of the rows between the two plateaus hold ink in that window)?"""
    r0, r1 = int(np.ceil(y_a + w / 2.0 + 1)), int(np.floor(y_b - w / 2.0 - 1)) + 1
    if r1 <= r0:
        return True
    c0 = max(int(np.floor(a - w - 1)), 0)
    c1 = min(int(np.ceil(b + w + 1)) + 1, ink.shape[1])
    return bool(ink[r0:r1, c0:c1].any(axis=1).mean() >= 0.5)


def consistent_readings(
    cols: np.ndarray, rows: np.ndarray, ink: np.ndarray, w: float, width: int
) -> np.ndarray:
    """Which readings (column, row; rows grow downwards) belong to one falling curve.

    The readings are cut into islands at every jump up by more than ``3 w + 2`` pixels and at
    every jump down as large that no stroke of ``ink`` carries (:func:`_supported`). Islands are
    kept largest first while they fit a non-increasing curve with those kept (each kept island
    to the left lies above, each to the right below, within ``w + 2`` pixels); once one is kept,
    an island smaller than 2% of the plot's width is not (nothing joins it to the curve).
    Returns a boolean mask over the readings.
    """
    n = cols.size
    keep = np.zeros(n, bool)
    if n == 0:
        return keep
    big, tol = 3.0 * w + 2.0, w + 2.0
    dy = np.diff(rows)
    cut = dy < -big
    for k in np.flatnonzero(dy > big):
        cut[k] = not _supported(ink, cols[k], cols[k + 1], rows[k], rows[k + 1], w)
    edges = np.r_[0, np.flatnonzero(cut) + 1, n]
    islands = list(zip(edges[:-1], edges[1:], strict=True))
    top = [rows[s:e].min() for s, e in islands]
    bottom = [rows[s:e].max() for s, e in islands]
    small = max(5.0, 0.02 * width)
    accepted: list[int] = []
    for i in sorted(range(len(islands)), key=lambda i: -(islands[i][1] - islands[i][0])):
        s, e = islands[i]
        if accepted and e - s < small:
            continue  # cut off from the curve kept by a jump no stroke carries
        if all(
            (bottom[j] <= top[i] + tol) if j < i else (top[j] >= bottom[i] - tol) for j in accepted
        ):
            accepted.append(i)
    for i in accepted:
        s, e = islands[i]
        keep[s:e] = True
    return keep


def follow_under(
    cols: np.ndarray,
    rows: np.ndarray,
    under: np.ndarray,
    w: float,
    start: tuple[float, float],
    cover: np.ndarray | None = None,
    strokes: np.ndarray | None = None,
    own: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Readings where the arm is hidden under another arm's plateaus.

    Through each gap between two readings (and from ``start`` = (column, row) to the first),
    the arm either stayed at its level, hidden (under the frame's line at S = 1, say), or fell
    under another arm. Its own drop at the end of the gap tells which: the stroke (in
    ``strokes``, the arm's vertical ink) runs down from the level it left. Where that stroke
    starts at the level before the gap, it stayed; where it starts lower, or cannot be seen
    and the arm comes out from under another arm at about that arm's level, or the level
    before is blank somewhere in the gap (a hidden arm cannot be where the picture is blank;
    ``cover`` is any ink), it fell: column by column it is taken to follow
    the highest run of ``under`` (the other arms' plateau pixels) below its level, no lower
    than the level after the gap. Returns the new columns and rows.
    """
    if cover is None:
        cover = under
    all_c = np.r_[start[0], cols]
    all_r = np.r_[start[1], rows]
    out_c: list[int] = []
    out_r: list[float] = []
    half = w / 2.0 + 1.0
    height = under.shape[0]
    for a, b, y_a, y_b in zip(all_c[:-1], all_c[1:], all_r[:-1], all_r[1:], strict=True):
        c0, c1 = int(np.floor(a)) + 1, int(np.ceil(b))
        if c1 <= c0 or not under[:, c0:c1].any():
            continue
        stayed = None
        if strokes is not None and y_b > y_a + 2 * half:
            # the arm's drop into the reading after the gap: where does its stroke start?
            s0, s1 = max(c1 - int(np.ceil(w)) - 2, 0), min(c1 + 2, strokes.shape[1])
            r0, r1 = max(int(np.floor(y_a - half)), 0), int(np.floor(y_b - w / 2.0))
            column = strokes[r0:r1, s0:s1].any(axis=1)
            in_stroke = strokes[r0:r1, s0:s1].any(axis=0)
            if in_stroke.any() and own is not None:
                # where another arm's line crosses the stroke, or hides its foot, the stroke
                # goes on through that ink (and through the arm's own ink in the stroke's
                # columns: a corner shorter than the opening)
                across = (cover[r0:r1, s0:s1] | own[r0:r1, s0:s1])[:, in_stroke]
                column = column | across.any(axis=1)
            if column.size and column[-1]:
                run = np.flatnonzero(~column[::-1])
                top = r1 - (run[0] if run.size else column.size)
                stayed = top <= y_a + half
            else:
                # no stroke to see: an arm that comes out from under another at about the
                # other's level was under it
                edge = under[
                    max(int(y_b - 2 * w - 2), 0) : int(y_b + half) + 1, max(c1 - 3, 0) : c1
                ]
                if edge.any():
                    stayed = False
        level = y_a
        for c in range(c0, c1):
            r0 = max(int(np.floor(level - half)), 0)
            r1 = min(int(np.ceil(level + half)) + 1, height)
            if stayed or (stayed is None and cover[r0:r1, c].any()):
                if level > y_a:
                    out_c.append(c)
                    out_r.append(level)
                continue  # hidden where it was
            hi = min(int(np.ceil(y_b + half)) + 1, height)
            runs = np.flatnonzero(under[r0:hi, c])
            if runs.size == 0:
                continue
            first = np.split(runs, np.flatnonzero(np.diff(runs) > 1) + 1)[0]
            level = float(np.clip(r0 + 0.5 * (first[0] + first[-1]), y_a, y_b))
            out_c.append(c)
            out_r.append(level)
    return np.asarray(out_c, dtype=float), np.asarray(out_r, dtype=float)


def _stretches(missing_cols: np.ndarray, min_len: float) -> list[tuple[int, int]]:
    """Runs of consecutive columns (first, last) at least ``min_len`` long."""
    if missing_cols.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(missing_cols) > 1)
    starts = np.r_[missing_cols[0], missing_cols[breaks + 1]]
    ends = np.r_[missing_cols[breaks], missing_cols[-1]]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a + 1 >= min_len]


def trace_arm(
    mask: np.ndarray,
    frame: Frame,
    x_map: AxisMap,
    y_map: AxisMap,
    *,
    others: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
    dashed: bool = False,
    rising: bool = False,
    marks_ink: np.ndarray | None = None,
) -> Trace:
    """Trace the step curve drawn in ``mask`` (boolean, whole image) into data coordinates.

    Parameters
    ----------
    mask
        The arm's pixels.
    frame, x_map, y_map
        The plot frame and the pixel -> data maps (:mod:`bayesurv.digitize.frame`).
    others
        The other arms' pixels: where this arm is hidden under them it is followed there, and
        their strokes carry drops hidden under them.
    exclude
        Pixels that belong to no curve (text, legend, in-plot tables, drop-lines): left out of
        the arm, and counted as what may hide it.
    dashed
        The arm is drawn dashed or dotted: dots and dashes shorter than the opening are read
        too.
    rising
        The curve rises (cumulative incidence F): it is read upside down, as S = 1 - F.
    marks_ink
        Short strokes in no arm's colour (:func:`bayesurv.digitize.censor.mark_ink`): those
        centred on this curve are its censor marks (black ticks on coloured curves).

    Examples
    --------
    >>> trace = trace_arm(arm.mask, frame, x_map, y_map)  # doctest: +SKIP
    >>> trace.curve.head(3)  # doctest: +SKIP
    """
    if rising:
        return _trace_rising(mask, frame, x_map, y_map, others, exclude, dashed, marks_ink)
    box = plot_box(frame, mask.shape)
    crop = mask[box].copy()
    row0, col0 = box[0].start, box[1].start
    masked = exclude[box] if exclude is not None else np.zeros_like(crop)
    crop &= ~masked
    other = others[box] & ~crop if others is not None else np.zeros_like(crop)
    # Along the top and bottom axis lines only a sliver of the curve shows: not its thickness.
    inner = crop.copy()
    for edge in (frame.top - row0, frame.bottom - row0):
        inner[max(int(edge) - 4, 0) : int(edge) + 5] = False
    w = line_width(inner)
    opening = np.ones((1, int(round(w)) + 2), bool)
    plateaus = ndimage.binary_opening(crop, structure=opening)
    cols, rows = _readings(plateaus)
    if cols.size:
        corner = _corner_of_hidden_drop(crop, other, plateaus, cols, w)
        cols, rows = cols[~corner], rows[~corner]
    if dashed:
        # dots and short dashes are shorter than the opening: a column holding one short run
        # (no longer than a dot is thick, so not a drop's stroke) reads the curve's level
        short_c, short_r = _readings(crop, max_length=2.0 * w + 3.0)
        new = ~np.isin(short_c, cols)
        cols, rows = np.r_[cols, short_c[new]], np.r_[rows, short_r[new]]
        order = np.argsort(cols, kind="stable")
        cols, rows = cols[order], rows[order]
    ink = crop | other | masked
    width = int(round(frame.width))
    aside = 0
    if cols.size:
        keep = consistent_readings(cols, rows, ink, w, width)
        aside = int((~keep).sum())
        cols, rows = cols[keep], rows[keep]
    if cols.size > 10:
        # A survival curve falls: one that mostly rises (cumulative incidence) is not read.
        rise = rows[: cols.size // 10].mean() - rows[-(cols.size // 10) :].mean()
        if rise > 0.05 * (frame.bottom - frame.top):
            raise InputError(
                "a curve in the figure rises from left to right; it is read as survival only "
                "when it falls, so read it as cumulative incidence (S = 1 - F) or give a "
                "survival figure."
            )
    if cols.size:
        rows = isotonic_regression(rows, increasing=True).x

    # Where the curve starts: S = 1 (or 100%) if the axis reaches it, else the axis top; at
    # time 0, which a padded axis puts inside the frame.
    y_top_value = float(y_map.to_data(frame.top))
    y_bottom_value = float(y_map.to_data(frame.bottom))
    full = 100.0 if max(y_top_value, y_bottom_value) > 1.5 else 1.0
    start_value = min(full, max(y_top_value, y_bottom_value))
    start_row = float(y_map.to_pixel(start_value)) - row0
    x_lo, x_hi = sorted(float(v) for v in x_map.to_data([frame.left, frame.right]))
    left = frame.left - col0
    if x_lo < 0.0 < x_hi:
        left = float(x_map.to_pixel(0.0)) - col0
    if cols.size:
        inside = cols >= left - 1.0
        aside += int((~inside).sum())
        cols, rows = cols[inside], rows[inside]

    marks: list[tuple[float, float]] = []
    ticks = np.zeros_like(crop)
    if cols.size:
        level_at, next_level_at = _level_function(cols, rows, start_row)
        extra = marks_ink[box] & ~crop if marks_ink is not None else None
        marks, ticks = find_censor_marks(
            crop, level_at, next_level_at, w, extra=extra, symmetric=dashed
        )
    residual = crop & ~plateaus & ~ticks

    # Where events are dense the plateaus are shorter than the opening and the curve is a
    # staircase: a column there holds one short run, whose centre is the curve's level. Where
    # censor marks crowd, they hide the curve in a cloud; the marks are centred on the curve, so
    # there the middle of all the arm's pixels in a column is the curve's level, as long as they
    # span no more than a mark.
    if cols.size:
        new_cols, new_rows = _extra_readings(crop, cols, rows, marks, ticks, w)
        if new_cols.size:
            # extra readings are trusted only close to the curve already read
            c_all = np.r_[cols, new_cols.astype(float)]
            r_all = np.r_[rows, new_rows]
            order = np.argsort(c_all, kind="stable")
            c_all, r_all = c_all[order], r_all[order]
            keep = consistent_readings(c_all, r_all, ink, w, width)
            keep &= c_all >= left - 1.0
            aside += int((~keep).sum())
            cols, rows = c_all[keep], isotonic_regression(r_all[keep], increasing=True).x

    if cols.size == 0:
        empty = pd.DataFrame({"time": [], "survival": []})
        return Trace(empty, empty.copy(), np.zeros((0, 2)), np.zeros((0, 2)), w, 1.0)

    # Followed under the other arms where this one is hidden.
    own = cols.copy()
    under = ndimage.binary_opening(other, structure=opening)
    cover = other | masked
    for edge in (frame.top - row0, frame.bottom - row0):  # the frame's lines hide a curve too
        cover[max(int(np.floor(edge - 1.5)), 0) : int(np.ceil(edge + 1.5)) + 1] = True
    vertical = ndimage.binary_opening(crop & ~ticks, structure=np.ones((int(w) + 2, 1), bool))
    hid_c, hid_r = follow_under(
        cols, rows, under, w, (left, start_row), cover, vertical, own=crop & ~ticks
    )
    if hid_c.size:
        c_all = np.r_[cols, hid_c]
        r_all = np.r_[rows, hid_r]
        order = np.argsort(c_all, kind="stable")
        cols = c_all[order]
        rows = isotonic_regression(r_all[order], increasing=True).x

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
    gap = int(np.ceil(3 * w)) + 3 if dashed else 1
    final = _final_drop(
        residual,
        cols[-1],
        rows[-1],
        w,
        frame.bottom - row0,
        gap,
        right=frame.right - col0,
        plateau_from=float(cols[rows >= rows[-1] - 0.5][0]),
    )
    if final is not None:
        points += [(final[0], rows[-1]), final]
    pix = np.array(points) + np.array([col0, row0])
    time = np.clip(x_map.to_data(pix[:, 0]), max(x_lo, 0.0), x_hi)
    time[np.abs(time) < 1e-9 * (x_hi - x_lo)] = 0.0  # the start at 0, not 7e-15
    s_lo, s_hi = sorted((y_top_value, y_bottom_value))
    surv = np.clip(y_map.to_data(pix[:, 1]), max(s_lo, 0.0), min(s_hi, full))
    curve = pd.DataFrame({"time": time, "survival": surv})
    repeated = (curve.diff().abs() < 1e-12).all(axis=1).to_numpy()
    curve = curve[~repeated].reset_index(drop=True)
    pix = pix[~repeated]
    mark_pix = np.array(marks, dtype=float).reshape(-1, 2)
    mark_pix = mark_pix[(mark_pix[:, 0] >= left - 0.5) & (mark_pix[:, 0] <= cols[-1] + w + 1)]
    mark_pix = mark_pix + np.array([col0, row0])
    censor = pd.DataFrame(
        {
            "time": np.clip(x_map.to_data(mark_pix[:, 0]), max(x_lo, 0.0), x_hi),
            "survival": np.clip(y_map.to_data(mark_pix[:, 1]), max(s_lo, 0.0), min(s_hi, full)),
        }
    )
    first = int(np.ceil(max(left, 0.0)))
    last = int(own[-1])
    span = np.arange(first, last + 1)
    missing = np.setdiff1d(span, own.astype(int))
    hidden = float(missing.size / max(span.size, 1))
    rows_hidden = []
    followed = set(hid_c.astype(int).tolist())
    for a, b in _stretches(missing, 3.0 * w):
        run = np.arange(a, b + 1)
        if np.mean([c in followed for c in run]) >= 0.5:
            why = "under another arm"
        elif masked[:, a : b + 1].any(axis=0).mean() >= 0.5:
            why = "masked"
        else:
            why = "not drawn"
        t0, t1 = x_map.to_data([a + col0, b + col0])
        rows_hidden.append({"start": float(t0), "end": float(t1), "why": why})
    stretches = pd.DataFrame(rows_hidden, columns=["start", "end", "why"])
    return Trace(curve, censor, pix, mark_pix, w, hidden, stretches, aside)


def _extra_readings(crop, cols, rows, marks, ticks, w) -> tuple[np.ndarray, np.ndarray]:
    """Readings of a staircase (short runs) or of a cloud of censor marks (see trace_arm)."""
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
        return new_cols, 0.5 * (top[new_cols] + bottom[new_cols])
    raw_cols, raw_starts, raw_ends = _column_runs(crop)
    counts = np.bincount(raw_cols, minlength=crop.shape[1])
    short = (counts[raw_cols] == 1) & (raw_ends - raw_starts + 1 <= 2 * w + 3)
    extra = short & ~np.isin(raw_cols, cols.astype(int))
    return raw_cols[extra], 0.5 * (raw_starts[extra] + raw_ends[extra])


def _trace_rising(mask, frame, x_map, y_map, others, exclude, dashed, marks_ink) -> Trace:
    """Trace a rising curve F (cumulative incidence) as the falling S = 1 - F, upside down."""
    height = mask.shape[0]
    top = height - 1 - frame.bottom
    flipped = Frame(frame.left, frame.right, top, height - 1 - frame.top, frame.boxed)
    values = y_map.to_data([frame.top, frame.bottom])
    full = 100.0 if float(np.max(values)) > 1.5 else 1.0
    s_map = AxisMap(
        height - 1 - y_map.px0, full - y_map.val0, height - 1 - y_map.px1, full - y_map.val1
    )
    flip = None if others is None else others[::-1]
    flip_ex = None if exclude is None else exclude[::-1]
    flip_marks = None if marks_ink is None else marks_ink[::-1]
    trace = trace_arm(
        mask[::-1],
        flipped,
        x_map,
        s_map,
        others=flip,
        exclude=flip_ex,
        dashed=dashed,
        marks_ink=flip_marks,
    )
    for pixels in (trace.pixels, trace.censor_pixels):
        if len(pixels):
            pixels[:, 1] = height - 1 - pixels[:, 1]
    return trace
