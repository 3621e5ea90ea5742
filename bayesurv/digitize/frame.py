"""Find the plot frame (the axis lines) and map pixels to data.

The frame is found from long dark, grey runs: the left and bottom axis lines are the longest
vertical and horizontal ones; the right and top lines are used when the axes are boxed, otherwise
the frame ends where the axis lines end. Each line's position is its darkness-weighted centroid,
so the calibration is sub-pixel. With the axis ranges as the frame's extent, a pixel ``p`` maps
linearly::

    value = v0 + (p - p0) * (v1 - v0) / (p1 - p0)

where ``(p0, v0)`` and ``(p1, v1)`` are the two frame edges (or two calibration points given by the
user). Pixel coordinates are array indices: column ``c`` and row ``r`` name the pixel's centre,
rows grow downwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bayesurv.errors import InputError

DARK_GREY = 110
"""Grey level (0-255) below which a low-chroma pixel may belong to an axis line."""
GREY_CHROMA = 50
"""Largest max-min channel spread of a pixel counted as grey."""
FAINT_GREY = 150
"""Grey level below which a low-chroma pixel may belong to the right or top box line. R's png
device draws its one-pixel box between two pixel rows (columns), as two lines of grey about 120;
only where an axis line lies over it (from the first to the last tick) is it darker."""


@dataclass(frozen=True)
class Frame:
    """The plot area in pixel coordinates (sub-pixel centroids of the axis lines)."""

    left: float
    right: float
    top: float
    bottom: float
    boxed: bool = True

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def as_dict(self) -> dict[str, float | bool]:
        return {
            "left": round(self.left, 2),
            "right": round(self.right, 2),
            "top": round(self.top, 2),
            "bottom": round(self.bottom, 2),
            "boxed": self.boxed,
        }


@dataclass(frozen=True)
class AxisMap:
    """Linear map between a pixel coordinate and a data value through two known points."""

    px0: float
    val0: float
    px1: float
    val1: float

    def to_data(self, px):
        """Data value(s) at pixel coordinate(s) ``px``."""
        return self.val0 + (np.asarray(px, dtype=float) - self.px0) * (
            (self.val1 - self.val0) / (self.px1 - self.px0)
        )

    def to_pixel(self, value):
        """Pixel coordinate(s) of data value(s) ``value``."""
        return self.px0 + (np.asarray(value, dtype=float) - self.val0) * (
            (self.px1 - self.px0) / (self.val1 - self.val0)
        )


def grey_levels(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (grey level, chroma) arrays of an RGB image, both float in 0-255.

    Computed channel by channel (a uint8 image's max - min in uint8, exact): the same float32
    numbers as the mean and range over the colour axis of the image cast to float32, about 13x
    faster (that strided reduction took a third of the non-OCR time on a 1,400 px figure)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        rgb = rgb.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    grey = r.astype(np.float32)
    grey += g
    grey += b
    grey /= np.float32(3.0)
    chroma = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    return grey, chroma.astype(np.float32)


def longest_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longest run of True along each row of a 2-D mask: (length, first, last) per row.

    Rows without any True get length 0 and first = last = -1.
    """
    n_rows = mask.shape[0]
    padded = np.zeros((n_rows, mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded, axis=1)
    rows_s, cols_s = np.nonzero(step == 1)
    _, cols_e = np.nonzero(step == -1)
    length = np.zeros(n_rows, dtype=int)
    first = np.full(n_rows, -1)
    last = np.full(n_rows, -1)
    if rows_s.size:
        lengths = cols_e - cols_s
        order = np.lexsort((lengths, rows_s))
        rows_o = rows_s[order]
        keep = np.r_[rows_o[1:] != rows_o[:-1], True]
        best = order[keep]
        length[rows_s[best]] = lengths[best]
        first[rows_s[best]] = cols_s[best]
        last[rows_s[best]] = cols_e[best] - 1
    return length, first, last


@dataclass(frozen=True)
class LineRun:
    lo: int  # first row (or column) of the line's cluster
    hi: int  # last row (or column)
    start: int  # where the run starts along the line
    end: int  # where it ends
    length: int

    @property
    def mid(self) -> float:
        return 0.5 * (self.lo + self.hi)


def line_runs(mask: np.ndarray, min_length: int) -> list[LineRun]:
    """Clusters of adjacent rows whose longest run is at least ``min_length``."""
    length, first, last = longest_runs(mask)
    rows = np.flatnonzero(length >= min_length)
    lines: list[LineRun] = []
    if rows.size == 0:
        return lines
    groups = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    for group in groups:
        best = group[np.argmax(length[group])]
        lines.append(
            LineRun(
                int(group[0]), int(group[-1]), int(first[best]), int(last[best]), int(length[best])
            )
        )
    return lines


def _centroid(darkness: np.ndarray, line: LineRun, span: tuple[int, int]) -> float:
    """Sub-pixel position of a line: median over its middle half of per-slice centroids."""
    a, b = span
    quarter = (b - a) // 4
    a, b = a + quarter, max(a + quarter + 1, b - quarter)
    lo = max(line.lo - 1, 0)
    hi = min(line.hi + 2, darkness.shape[0])
    block = darkness[lo:hi, a:b]
    weight = block.sum(axis=0)
    ok = weight > 0
    if not ok.any():
        return line.mid
    positions = np.arange(lo, hi, dtype=float)[:, None]
    centres = (block * positions).sum(axis=0)[ok] / weight[ok]
    return float(np.median(centres))


def find_frame(rgb: np.ndarray, source: str = "figure") -> Frame:
    """Find the plot frame from the axis lines of a figure.

    Parameters
    ----------
    rgb
        ``(height, width, 3)`` uint8 image.
    source
        Name of the figure for error messages.

    Raises
    ------
    InputError
        No pair of long dark axis lines (left and bottom, meeting at a corner) is found.

    Examples
    --------
    >>> frame = find_frame(rgb)  # doctest: +SKIP
    >>> frame.left, frame.bottom  # doctest: +SKIP
    (100.0, 539.0)
    """
    height, width = rgb.shape[:2]
    grey, chroma = grey_levels(rgb)
    dark = (grey < DARK_GREY) & (chroma < GREY_CHROMA)
    darkness = np.where(chroma < GREY_CHROMA, 255.0 - grey, 0.0)
    h_lines = line_runs(dark, max(40, int(0.2 * width)))
    v_lines = line_runs(dark.T, max(40, int(0.2 * height)))
    failure = InputError(
        f"{source}: no plot frame found (no long dark axis lines meeting at a corner); "
        "crop the image to the plot with its axis lines, or give --x-calib and --y-calib."
    )
    if not h_lines or not v_lines:
        raise failure
    longest_v = max(line.length for line in v_lines)
    longest_h = max(line.length for line in h_lines)
    left = min((ln for ln in v_lines if ln.length >= 0.6 * longest_v), key=lambda ln: ln.lo)
    bottom = max((ln for ln in h_lines if ln.length >= 0.6 * longest_h), key=lambda ln: ln.hi)
    # Tick marks stick out of the axis lines at the corners, so a line may run on past the
    # corner by a tick's length (about 2% of the figure at most).
    tol = max(6, int(0.02 * max(height, width)))
    meets = (left.lo - tol <= bottom.start <= left.hi + 6) and (
        bottom.lo - 6 <= left.end <= bottom.hi + tol
    )
    if not meets or bottom.length < 40 or left.length < 40:
        raise failure
    # The box's right and top lines may be fainter than the axis lines (see FAINT_GREY), and
    # the axis lines may end at their last tick short of the box: a right line runs from the
    # bottom axis up to at least the left axis' top end, a top line from the left axis to at
    # least the bottom axis' right end (and to the right line, where there is one).
    faint = (grey < FAINT_GREY) & (chroma < GREY_CHROMA)
    rights = [
        ln
        for ln in line_runs(faint.T, max(40, int(0.2 * height)))
        if ln.lo > left.hi + 0.2 * bottom.length
        and ln.start <= left.start + tol
        and abs(ln.end - left.end) <= tol
    ]
    right = max(rights, key=lambda ln: ln.hi) if rights else None
    tops = [
        ln
        for ln in line_runs(faint, max(40, int(0.2 * width)))
        if ln.hi < bottom.lo - 0.2 * left.length
        and abs(ln.start - bottom.start) <= tol
        and ln.end >= bottom.end - tol
        and (right is None or abs(ln.end - right.hi) <= tol)
    ]
    h_span = (bottom.start, bottom.end + 1)
    v_span = (left.start, left.end + 1)
    x_left = _centroid(darkness.T, left, v_span)
    y_bottom = _centroid(darkness, bottom, h_span)
    if right is not None:
        x_right = _centroid(darkness.T, right, v_span)
    else:
        x_right = float(bottom.end)
    if tops:
        y_top = _centroid(darkness, min(tops, key=lambda ln: ln.lo), h_span)
    else:
        y_top = float(left.start)
    if x_right - x_left < 40 or y_bottom - y_top < 40:
        raise failure
    return Frame(x_left, x_right, y_top, y_bottom, boxed=bool(rights and tops))


def parse_range(text: str, option: str) -> tuple[float, float]:
    """Parse ``"lo,hi"`` into two floats; the message names ``option`` when it does not parse."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not two numbers; give it as MIN,MAX, e.g. {option} 0,60."
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise InputError(
            f"{option} {text!r} does not fit: the minimum must be below the maximum; "
            "give the axis ends as MIN,MAX."
        )
    return lo, hi


def check_survival_range(y_range: tuple[float, float], option: str = "--y-range") -> None:
    """Survival axes run within 0-1 (proportion) or 0-100 (percent)."""
    lo, hi = y_range
    if lo < 0 or hi > 100:
        raise InputError(
            f"{option} {lo:g},{hi:g} does not fit a survival axis; give values within 0-1 "
            "(proportion) or 0-100 (percent)."
        )


def parse_calib(text: str, option: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """Parse ``"px1:val1,px2:val2"`` into two (pixel, value) points."""
    try:
        points = []
        for part in str(text).split(","):
            px, val = part.split(":")
            points.append((float(px), float(val)))
        (p1, v1), (p2, v2) = points
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not two PIXEL:VALUE points; give it as e.g. "
            f"{option} 102:0,688:60."
        ) from None
    if p1 == p2 or v1 == v2 or not all(map(math.isfinite, (p1, v1, p2, v2))):
        raise InputError(
            f"{option} {text!r} needs two different pixels with two different values; "
            "pick two labelled ticks far apart."
        )
    return (p1, v1), (p2, v2)


def calibrate(
    frame: Frame,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    x_calib: tuple[tuple[float, float], tuple[float, float]] | None = None,
    y_calib: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> tuple[AxisMap, AxisMap]:
    """Pixel -> data maps for x (columns) and y (rows).

    Calibration points, where given, win over the ranges; otherwise the ranges are the frame's
    extent (x from left to right, y from bottom to top).
    """
    if x_calib is not None:
        (p0, v0), (p1, v1) = x_calib
        x_map = AxisMap(p0, v0, p1, v1)
    elif x_range is not None:
        x_map = AxisMap(frame.left, x_range[0], frame.right, x_range[1])
    else:
        raise InputError("the time axis is not calibrated; give --x-range MIN,MAX or --x-calib.")
    if y_calib is not None:
        (p0, v0), (p1, v1) = y_calib
        y_map = AxisMap(p0, v0, p1, v1)
    elif y_range is not None:
        y_map = AxisMap(frame.bottom, y_range[0], frame.top, y_range[1])
    else:
        raise InputError(
            "the survival axis is not calibrated; give --y-range MIN,MAX or --y-calib."
        )
    return x_map, y_map
