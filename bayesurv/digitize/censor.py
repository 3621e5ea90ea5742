"""Find censor marks ('|', '+', slanted '/' ticks) on a traced step curve.

A censor tick is a short stroke centred on the curve. Strokes of an arm's pixels (what survives
an opening by a line longer than the curve is thick: vertical for '|' and '+', rising to the
right at 45 and 60 degrees for '/') are either the vertical drops of the step curve or ticks.
A drop runs down from the level on its left to the level on its right; it never rises above
the first nor reaches below the second. A stroke that reaches clearly above the level on its
left or below the level on its right is therefore a tick (also where a tick sits on a drop, as
it does when a patient is censored at an event time). "Clearly" is more than 1.5 pixels past the
line's edge (half its thickness ``w`` from the level). A stroke that sticks out on *both* sides
of the line (above the level on its left and below the level on its right) needs only to clear
the line's one-pixel anti-aliased edge (more than 0.5 pixel past ``w / 2``): no drop does that,
since a drop reaches neither past its upper level nor past its lower one, while a tick on a
plateau sticks out by ``(h - w) / 2`` each way, only 2 rows for a 7-row tick on a 3-pixel line.

Ticks so dense that they touch make one run of columns. A run much wider than a single tick
holds several: ``n = round(width / w_1)`` marks spread evenly over it (once the run is at least
2.5 ``w_1`` wide), with ``w_1`` the median width of the runs that are no wider than 1.5 times
the narrowest common one (single ticks). In crowds where ticks overlap by more than their width
the count is still a lower bound.

Ticks drawn in another colour than their curve (JCO's black ticks on coloured curves) are not in
the arm's pixels: :func:`mark_ink` collects the plot's short strokes that belong to no arm, and
the tracer passes those near its curve (``extra``) to :func:`find_censor_marks`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage


def _line(length: int, angle: float) -> np.ndarray:
    """A one-pixel line ``length`` pixels tall at ``angle`` degrees from vertical."""
    size = max(length, 1)
    if angle == 0:
        return np.ones((size, 1), bool)
    width = max(int(round(size * np.tan(np.radians(abs(angle))))), 1)
    se = np.zeros((size, width), bool)
    rows = np.arange(size)
    cols = np.round(rows * (width - 1) / max(size - 1, 1)).astype(int)
    se[rows, cols if angle > 0 else width - 1 - cols] = True
    return se


def _shifted(mask: np.ndarray, dr: int, dc: int) -> np.ndarray:
    """``out[i, j] = mask[i + dr, j + dc]``, False outside the image."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    r0, r1 = max(0, -dr), min(h, h - dr)
    c0, c1 = max(0, -dc), min(w, w - dc)
    if r0 < r1 and c0 < c1:
        out[r0:r1, c0:c1] = mask[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
    return out


def _opening(mask: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """``ndimage.binary_opening(mask, structure)`` (origin at the centre, outside False), as
    the AND of the mask shifted to each pixel of the structure, then the OR of that shifted
    back: the same pixels, 6-9x faster for the few-pixel lines of :func:`strokes`."""
    ch, cw = structure.shape[0] // 2, structure.shape[1] // 2
    offsets = [(int(a) - ch, int(b) - cw) for a, b in zip(*np.nonzero(structure), strict=True)]
    eroded = np.ones_like(mask, dtype=bool)
    for dr, dc in offsets:
        eroded &= _shifted(mask, dr, dc)
    out = np.zeros_like(eroded)
    for dr, dc in offsets:
        out |= _shifted(eroded, -dr, -dc)
    return out


def strokes(mask: np.ndarray, line_width: float) -> np.ndarray:
    """Pixels of ``mask`` on straight strokes longer than the curve is thick: vertical, or
    rising to the right by 30 or 45 degrees from vertical ('/' ticks). Strokes falling to the
    right are not looked for: a falling staircase of small steps is one."""
    length = int(np.ceil(line_width)) + 4
    mask = np.asarray(mask, dtype=bool)
    out = _opening(mask, _line(length, 0))
    for angle in (-30.0, -45.0):
        out |= _opening(mask, _line(length, angle))
    return out


def find_censor_marks(
    mask: np.ndarray,
    level_at: Callable[[float], float],
    next_level_at: Callable[[float], float | None],
    line_width: float,
    extra: np.ndarray | None = None,
    symmetric: bool = False,
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
    extra
        Short strokes in another colour that may be this arm's ticks (same shape as ``mask``);
        those centred on the curve count.
    symmetric
        Count only strokes that reach both above and below the level they are centred on (for
        dashed curves, whose drops are dashes too).

    Returns
    -------
    marks
        ``(column, row)`` of each mark: its column centre and the curve's row there.
    tick_pixels
        Boolean mask of the arm's pixels that belong to marks (to keep them out of the trace).

    Examples
    --------
    >>> marks, ticks = find_censor_marks(mask, level_at, next_level_at, 2.0)  # doctest: +SKIP
    """
    tick_pixels = np.zeros_like(mask)
    found: list[tuple[int, int, bool, np.ndarray, float | None]] = []
    stroked = strokes(mask, line_width)
    if extra is not None:  # another colour's strokes need only be strokes, not outgrow the line
        stroked |= strokes(extra, 1.0)
    labels, n = ndimage.label(stroked, structure=np.ones((3, 3), bool))
    if n == 0:
        return [], tick_pixels
    margin = line_width / 2.0 + 1.5  # one side: clearly past the line's edge
    both = line_width / 2.0 + 1.0  # both sides: past the line's anti-aliased edge, with a
    # drop's anti-aliased end one row past a fractional level still inside
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        rows, cols = box
        piece = labels[box] == index
        c0, c1 = cols.start, cols.stop - 1
        upper = level_at(c0 - 1.0 - line_width)
        lower = next_level_at(c1 + 1.0 + line_width / 2.0)
        row_index = np.arange(rows.start, rows.stop)[:, None]
        own = mask[box] & piece
        if extra is not None and not own.any():
            # a tick in another colour: it crosses the curve's level (on a drop: either level)
            levels = [level_at(0.5 * (c0 + c1))] + ([lower] if lower is not None else [])
            for level in levels:
                if rows.start <= level - 1.0 and rows.stop - 1 >= level + 1.0:
                    found.append((c0, c1, level != levels[0], piece.sum(axis=0), lower))
                    break
            continue
        above = piece & (row_index < upper - margin)
        on_drop = False
        if not above.any() and lower is not None:
            # Below the level after the drop: a tick centred on that lower level.
            above = piece & (row_index > lower + margin)
            on_drop = True
        if not above.any():
            # a tick on a plateau sticks out on both sides of the line; a drop never does
            up = piece & (row_index < upper - both)
            down = piece & (row_index > (upper if lower is None else lower) + both)
            if up.any() and down.any():
                above, on_drop = up | down, False
        if not above.any():
            continue
        if symmetric:
            # dashes of a dashed curve's drop reach above a level misread by a pixel or two:
            # there a tick must also reach below the level it is centred on
            level = lower if on_drop else upper
            if (
                not (piece & (row_index > level + margin)).any()
                or not on_drop
                and not (piece & (row_index < level - margin)).any()
            ):
                continue
        tick_pixels[box] |= own
        above_cols = np.flatnonzero(above.any(axis=0))
        for run in np.split(above_cols, np.flatnonzero(np.diff(above_cols) > 1) + 1):
            weights = above[:, run].sum(axis=0)
            found.append((c0 + int(run[0]), c0 + int(run[-1]), on_drop, weights, lower))
    if not found:
        return [], tick_pixels
    # one tick seen by two openings (a '/' on a drop: the drop's stroke and the slant) gives two
    # overlapping runs of columns: one mark
    found.sort(key=lambda f: f[0])
    merged = [found[0]]
    for a, b, on_drop, weights, lower in found[1:]:
        a0, b0, drop0, w0, low0 = merged[-1]
        if a <= b0 + 1:
            span = np.zeros(max(b, b0) - a0 + 1)
            span[: b0 - a0 + 1] += w0
            span[a - a0 : b - a0 + 1] += weights
            merged[-1] = (
                a0,
                max(b, b0),
                drop0 or on_drop,
                span,
                low0 if low0 is not None else lower,
            )
        else:
            merged.append((a, b, on_drop, weights, lower))
    found = merged
    widths = np.array([b - a + 1 for a, b, *_ in found], dtype=float)
    tally = np.bincount(widths.astype(int))
    common = np.flatnonzero(tally >= 0.25 * tally.max())
    single = float(np.median(widths[widths <= 1.5 * common[0]])) if common.size else 1.0
    marks: list[tuple[float, float]] = []
    for a, b, on_drop, weights, lower in found:
        width = b - a + 1
        count = int(round(width / max(single, 1.0))) if width >= 2.5 * max(single, 1.0) else 1
        if count == 1:
            cols = [a + float(np.average(np.arange(b - a + 1), weights=weights))]
        else:  # a crowd of touching ticks: spread them over the run
            cols = list(a + (np.arange(count) + 0.5) * (b - a + 1) / count - 0.5)
        for col in cols:
            marks.append((col, lower if on_drop else level_at(col)))
    marks.sort()
    return marks, tick_pixels


def mark_ink(rgb: np.ndarray, box: tuple[slice, slice], arm_masks, exclude=None) -> np.ndarray:
    """Short strokes inside ``box`` that belong to no arm (ticks drawn in their own colour).

    Ink is any pixel darker or more coloured than the background (grey level below 200 or
    chroma above 60) outside every arm's mask (and ``exclude``); only its straight strokes (at
    least 5 pixels, see :func:`strokes`) no taller than 8% of the box (and no wider than 5%) are
    kept: grid lines, axis lines and drop-lines run on, and solid pale-grey patches (shaded
    confidence bands where they overlap) are dropped. Returns a whole-image mask.
    """
    crop = rgb[box].astype(np.float32)
    grey = crop.mean(axis=-1)
    chroma = crop.max(axis=-1) - crop.min(axis=-1)
    ink = (grey < 200) | (chroma > 60)
    for m in arm_masks:
        ink &= ~m[box]
    if exclude is not None:
        ink &= ~exclude[box]
    stroked = strokes(ink, 1.0)
    # ticks are short: grid lines, axis lines and drop-lines run on
    labels, _ = ndimage.label(stroked, structure=np.ones((3, 3), bool))
    height, width = stroked.shape
    # a solid patch of pale grey is where two shaded confidence bands overlap (bands_shaded:
    # 12 x 15 pixels of grey ~196, which a drop it touches turned into a crowd of 11 ticks);
    # ticks, even crowded ones, are drawn in dark or coloured ink
    solid = ndimage.binary_erosion(stroked, structure=np.ones((5, 5), bool))
    keep = [0]
    for index, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl[0].stop - sl[0].start <= max(12, 0.08 * height) and (
            sl[1].stop - sl[1].start <= max(12, 0.05 * width)
        ):
            piece = labels[sl] == index
            if solid[sl][piece].any() and (
                np.median(grey[sl][piece]) > 170 and np.median(chroma[sl][piece]) < 60
            ):
                continue
            keep.append(index)
    out = np.zeros(rgb.shape[:2], bool)
    out[box] = np.isin(labels, keep) & stroked
    return out
