"""The axes of a Kaplan-Meier figure read from the picture: axis lines, ticks, labels, scale.

1. **Tick labels** (OCR words, :mod:`.ocr`): the x labels are the highest row of numbers that
   rise evenly from left to right (a numbers-at-risk row never rises); the y labels are a column
   of numbers that rise evenly upwards, left of the plot.
2. **Axis lines**: the long straight run of dark or grey ink nearest to each label row/column
   (open, boxed, grey or thin axes alike); the frame ends where the axis lines end.
3. **Tick marks**: the short stroke between (or just inside) the axis line and each label gives
   the label's position to a fraction of a pixel; without one, the label's centre.
4. **Calibration** per axis, ``value = a + b * pixel``, fitted to at least two labelled ticks and
   robust to a misread label: every pair of ticks proposes a line, the one most ticks agree with
   (within a fifth of the tick spacing) wins, then least squares over those. A label off that
   line is reported as misread and left out.
5. **Scale and kind**: a y axis labelled beyond 1.5 is in percent; one that ends below 100% (or
   1) is truncated; "incidence" (or "cumulative" without "survival") in the y title, or curves
   that start at the bottom of the plot, mean cumulative incidence F, read as S = 1 - F.

``--x-range/--y-range`` are overrides in axis values: the values of the first and last tick
found (or, with no ticks, of the axis line's ends).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from bayesurv.digitize.frame import AxisMap, Frame, grey_levels
from bayesurv.digitize.ocr import Word, line_text, text_lines
from bayesurv.errors import InputError

INK_GREY = 200
"""Grey level (0-255) below which a low-chroma pixel may belong to an axis line or tick."""
INK_CHROMA = 60
"""Largest channel spread of a pixel counted as axis ink."""
CUMULATIVE = re.compile(
    r"incidence|cumulative(?!\s+surviv)|probability of (?!surviv)|failure|proportion with",
    re.IGNORECASE,
)


@dataclass
class Tick:
    """One labelled tick: its value, where it is (column for x, row for y) and how it was found."""

    value: float
    px: float
    label: str
    found_by: str  # "tick mark" or "label centre"
    used: bool = True
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def as_dict(self) -> dict:
        return {
            "value": self.value,
            "px": round(self.px, 2),
            "label": self.label,
            "found_by": self.found_by,
            "used": self.used,
        }


@dataclass
class Calibration:
    """``value = intercept + slope * pixel`` for one axis, with the ticks behind it."""

    intercept: float
    slope: float
    ticks: list[Tick]
    residual_px: float = 0.0
    source: str = "tick labels"

    def to_data(self, px):
        return self.intercept + self.slope * np.asarray(px, dtype=float)

    def to_pixel(self, value):
        return (np.asarray(value, dtype=float) - self.intercept) / self.slope

    def axis_map(self) -> AxisMap:
        """The same line as a two-point :class:`AxisMap` (what the tracer takes)."""
        used = [t for t in self.ticks if t.used] or self.ticks
        if len(used) >= 2:
            p0, p1 = min(t.px for t in used), max(t.px for t in used)
        else:
            p0, p1 = 0.0, 100.0
        return AxisMap(p0, float(self.to_data(p0)), p1, float(self.to_data(p1)))

    @property
    def misread(self) -> list[Tick]:
        return [t for t in self.ticks if not t.used]


@dataclass
class Axes:
    """Everything read about the axes."""

    frame: Frame
    x: Calibration
    y: Calibration
    scale: str  # "percent" or "proportion"
    kind: str  # "survival" or "cumulative_incidence"
    truncated: bool
    x_title: str = ""
    y_title: str = ""
    x_line: tuple[float, float, float] | None = None  # row, first col, last col
    y_line: tuple[float, float, float] | None = None  # col, first row, last row
    label_words: list[Word] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def x_map(self) -> AxisMap:
        return self.x.axis_map()

    @property
    def y_map(self) -> AxisMap:
        return self.y.axis_map()

    @property
    def y_full(self) -> float:
        """1 on a proportion axis, 100 on a percent axis."""
        return 100.0 if self.scale == "percent" else 1.0

    def report(self) -> dict:
        return {
            "frame_px": self.frame.as_dict(),
            "x": {
                "ticks": [t.as_dict() for t in self.x.ticks],
                "value_per_px": self.x.slope,
                "value_at_px0": self.x.intercept,
                "residual_px": round(self.x.residual_px, 3),
                "source": self.x.source,
                "title": self.x_title,
                "range_in_frame": [
                    float(self.x.to_data(self.frame.left)),
                    float(self.x.to_data(self.frame.right)),
                ],
            },
            "y": {
                "ticks": [t.as_dict() for t in self.y.ticks],
                "value_per_px": self.y.slope,
                "value_at_px0": self.y.intercept,
                "residual_px": round(self.y.residual_px, 3),
                "source": self.y.source,
                "title": self.y_title,
                "range_in_frame": [
                    float(self.y.to_data(self.frame.bottom)),
                    float(self.y.to_data(self.frame.top)),
                ],
            },
            "scale": self.scale,
            "kind": self.kind,
            "truncated": self.truncated,
            "warnings": list(self.warnings),
        }


# --- tick labels -----------------------------------------------------------------------------


def _numbers(words: list[Word]) -> list[tuple[Word, float]]:
    out = []
    for w in words:
        v = w.number()
        if v is not None and w.height > 3:
            out.append((w, v))
    return out


def _evenly_rising(px: np.ndarray, values: np.ndarray) -> bool:
    """Values rise with the pixel, about linearly (one misread value allowed), in steps that
    are whole multiples of one tick step (as tick labels are; text such as "Median 12.3 mo
    (95% CI 10.0-18.2)" is not)."""
    return tick_score(px, values) > 0


def tick_score(px: np.ndarray, values: np.ndarray) -> int:
    """How many of the numbers fit one evenly stepped axis (0 when they do not)."""
    if px.size < 2:
        return 0
    order = np.argsort(px)
    v = values[order]
    rises = np.diff(v) > 0
    if px.size == 2:
        return 2 if rises.all() else 0
    if rises.mean() < 0.75:
        return 0
    fit = robust_line(px, values)
    if fit is None or fit[2].sum() < max(2, int(np.ceil(0.6 * px.size))):
        return 0
    good = np.sort(values[fit[2]])
    steps = np.diff(good)
    step = steps.min() if steps.size else 0.0
    if step <= 0:
        return 0
    multiples = steps / step
    if np.any(np.abs(multiples - np.round(multiples)) > 0.02):
        return 0
    return int(fit[2].sum())


def robust_line(px: np.ndarray, values: np.ndarray):
    """Line through the most (pixel, value) pairs: (intercept, slope, inlier mask) or None.

    Every pair of points proposes a line; a point agrees when its value is within a fifth of the
    median tick spacing of the line. The proposal with most agreeing points (then the smallest
    residual) is refitted by least squares on them.
    """
    px = np.asarray(px, float)
    values = np.asarray(values, float)
    n = px.size
    if n < 2:
        return None
    steps = np.diff(np.unique(values))
    spacing = float(np.median(steps)) if steps.size else 1.0
    tol = 0.2 * spacing if spacing > 0 else 1e-9
    best = None
    for i in range(n):
        for j in range(i + 1, n):
            if px[i] == px[j] or values[i] == values[j]:
                continue
            slope = (values[j] - values[i]) / (px[j] - px[i])
            intercept = values[i] - slope * px[i]
            resid = np.abs(intercept + slope * px - values)
            inl = resid <= tol
            key = (int(inl.sum()), -float(resid[inl].sum()))
            if best is None or key > best[0]:
                best = (key, inl)
    if best is None:
        return None
    inl = best[1]
    slope, intercept = np.polyfit(px[inl], values[inl], 1)
    resid = np.abs(intercept + slope * px - values)
    inl = resid <= tol
    if inl.sum() >= 2:
        slope, intercept = np.polyfit(px[inl], values[inl], 1)
    return float(intercept), float(slope), inl


def find_x_labels(words: list[Word]) -> list[tuple[Word, float]]:
    """The x tick labels: the highest row of numbers rising evenly left to right (>= 2)."""
    nums = [(w, v) for w, v in _numbers(words) if not w.vertical]
    rows: list[list[tuple[Word, float]]] = []
    for w, v in sorted(nums, key=lambda p: p[0].cy):
        for row in rows:
            if abs(np.median([r[0].cy for r in row]) - w.cy) <= 0.45 * w.height:
                row.append((w, v))
                break
        else:
            rows.append([(w, v)])
    candidates = []
    for row in rows:
        row = _one_per_column(row)
        px = np.array([w.cx for w, _ in row])
        vals = np.array([v for _, v in row])
        score = tick_score(px, vals) if len(row) >= 3 else 0
        if score:
            candidates.append((score, row))
    if not candidates:
        return []
    # The row that most numbers fit as evenly stepped ticks; of equals, the highest (the axis
    # labels are above the table).
    return max(candidates, key=lambda c: (c[0], -np.median([w.cy for w, _ in c[1]])))[1]


def _one_per_column(row):
    row = sorted(row, key=lambda p: p[0].cx)
    out = []
    for w, v in row:
        if out and w.left < out[-1][0].right - 0.3 * w.height:
            continue
        out.append((w, v))
    return out


def find_y_labels(
    words: list[Word], x_labels: list[tuple[Word, float]]
) -> list[tuple[Word, float]]:
    """The y tick labels: a column of numbers rising evenly upwards, above the x labels and at
    the left of them (right edges aligned; centres aligned for text turned along the axis)."""
    nums = _numbers(words)
    if x_labels:
        floor = min(w.top for w, _ in x_labels)
        first = min(w.cx for w, _ in x_labels)
        nums = [(w, v) for w, v in nums if w.cy < floor + 0.5 * w.height and w.left < first]
    best: list[tuple[Word, float]] = []
    for anchor, _ in nums:
        key = anchor.cx if anchor.vertical else anchor.right
        col = [
            (w, v)
            for w, v in nums
            if w.vertical == anchor.vertical
            and abs((w.cx if w.vertical else w.right) - key) <= 0.6 * max(w.height, anchor.height)
        ]
        if len(col) < 2:
            continue
        col = sorted(col, key=lambda p: p[0].cy)
        dedup = []
        for w, v in col:
            if dedup and abs(w.cy - dedup[-1][0].cy) < 0.5 * w.height:
                continue
            dedup.append((w, v))
        px = np.array([-w.cy for w, _ in dedup])
        vals = np.array([v for _, v in dedup])
        if _evenly_rising(px, vals) and (len(dedup), anchor.right) > (
            len(best),
            best[0][0].right if best else -1,
        ):
            best = dedup
    return best


# --- axis lines and tick marks ---------------------------------------------------------------


def _ink(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    grey, chroma = grey_levels(rgb)
    ink = (grey < INK_GREY) & (chroma < INK_CHROMA)
    darkness = np.where(ink, 255.0 - grey, 0.0)
    return ink, darkness


def _runs_through(mask_line: np.ndarray, at: int) -> tuple[int, int]:
    """First and last index of the run of True in a 1-D mask containing index ``at`` (allowing
    gaps of 2 pixels, as JPEG or a thin grey line leaves)."""
    n = mask_line.size
    if not (0 <= at < n):
        return at, at - 1
    lo = at
    gap = 0
    while lo > 0:
        if mask_line[lo - 1]:
            lo -= 1
            gap = 0
        elif gap < 2 and lo > 1 and mask_line[lo - 2]:
            lo -= 2
        else:
            break
    hi = at
    while hi < n - 1:
        if mask_line[hi + 1]:
            hi += 1
        elif gap < 2 and hi < n - 2 and mask_line[hi + 2]:
            hi += 2
        else:
            break
    return lo, hi


def _centroid_1d(darkness: np.ndarray, index: np.ndarray) -> float:
    w = darkness.sum()
    return float((darkness * index).sum() / w) if w > 0 else float(index.mean())


def find_x_axis_line(ink, darkness, lo_col: int, hi_col: int, below: int, above: int):
    """Row (sub-pixel), first and last column of the horizontal axis line: the line nearest
    above row ``below`` (the labels' top) whose ink covers 80% of [lo_col, hi_col]."""
    lo_col, hi_col = max(lo_col, 0), min(hi_col, ink.shape[1] - 1)
    if hi_col - lo_col < 10:
        return None
    share = ink[:, lo_col : hi_col + 1].mean(axis=1)
    for r in range(min(below, ink.shape[0] - 1), max(above, 0) - 1, -1):
        if share[r] >= 0.8:
            rows = [r]
            while rows[-1] - 1 >= 0 and share[rows[-1] - 1] >= 0.5:
                rows.append(rows[-1] - 1)
            rows = np.array(sorted(rows))
            if rows.size > 6:  # a filled block, not a line
                continue
            band = darkness[rows[0] - 1 : rows[-1] + 2, lo_col : hi_col + 1].sum(axis=1)
            row = _centroid_1d(band, np.arange(rows[0] - 1, rows[-1] + 2, dtype=float))
            along = ink[rows[0] : rows[-1] + 1].any(axis=0)
            first, last = _runs_through(along, (lo_col + hi_col) // 2)
            return row, float(first), float(last), rows
    return None


def find_y_axis_line(ink, darkness, lo_row: int, hi_row: int, left: int, right: int):
    """Column, first and last row of the vertical axis line nearest right of column ``left``."""
    # Columns searched left to right: the horizontal search on the transposed, flipped image.
    flipped_ink = ink.T[::-1]
    flipped_dark = darkness.T[::-1]
    n = ink.shape[1]
    found = find_x_axis_line(flipped_ink, flipped_dark, lo_row, hi_row, n - 1 - left, n - 1 - right)
    if found is None:
        return None
    col, first, last, cols = found
    return n - 1 - col, first, last, np.sort(n - 1 - cols)


def _tick_mark(darkness, ink, centre: float, half: float, edge: int, step: int, axis: str):
    """Sub-pixel position of a tick stroke near ``centre`` that starts at row (x axis) or
    column (y axis) ``edge``, next to the axis line, and runs away from it by ``step`` (+1/-1).

    Each position along the axis gets the length of the ink run that starts at the line; a tick
    is a narrow group (at most 4 pixels wide) of runs at least 2 pixels long.
    """
    depth = 12
    c0 = max(int(np.floor(centre - half)), 0)
    c1 = int(np.ceil(centre + half)) + 1
    if axis == "x":
        c1 = min(c1, ink.shape[1])
        idx = np.arange(edge, edge + step * depth, step)
        idx = idx[(idx >= 0) & (idx < ink.shape[0])]
        block, dark = ink[idx][:, c0:c1], darkness[idx][:, c0:c1]
    else:
        c1 = min(c1, ink.shape[0])
        idx = np.arange(edge, edge + step * depth, step)
        idx = idx[(idx >= 0) & (idx < ink.shape[1])]
        block, dark = ink[c0:c1][:, idx].T, darkness[c0:c1][:, idx].T
    if block.size == 0 or c1 <= c0:
        return None
    run = np.argmin(np.vstack([block, np.zeros((1, block.shape[1]), bool)]), axis=0)
    stroke = run >= max(2, 0.5 * run.max())
    if run.max() < 2 or stroke.sum() > 4:
        return None
    where = np.flatnonzero(stroke)
    groups = np.split(where, np.flatnonzero(np.diff(where) > 1) + 1)
    best = min(groups, key=lambda g: abs(g.mean() + c0 - centre))
    lo, hi = max(best[0] - 1, 0), min(best[-1] + 2, block.shape[1])
    length = int(run[best].max())
    weights = dark[:length, lo:hi].sum(axis=0)
    return c0 + _centroid_1d(weights, np.arange(lo, hi, dtype=float))


# --- the whole reading -----------------------------------------------------------------------


def read_axes(
    rgb: np.ndarray,
    words: list[Word],
    *,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    source: str = "figure",
) -> Axes:
    """Read the axes of ``rgb`` from its OCR ``words`` and its axis lines.

    Parameters
    ----------
    rgb
        The figure.
    words
        Every word read (:func:`bayesurv.digitize.ocr.read_words`, with the left strip read
        turned as well).
    x_range, y_range
        Overrides in axis values: the values at the first and last tick found (at the axis
        line's ends where no tick is found).

    Raises
    ------
    InputError
        An axis cannot be calibrated: the message names what was not found and the option that
        supplies it.
    """
    ink, darkness = _ink(rgb)
    height, width = ink.shape
    warnings: list[str] = []
    x_labels = find_x_labels(words)
    y_labels = find_y_labels(words, x_labels)

    # The axis lines, searched next to the labels (or anywhere, without labels).
    if x_labels:
        lab_top = int(min(w.top for w, _ in x_labels))
        lab_h = float(np.median([w.height for w, _ in x_labels]))
        lo_col = int(min(w.cx for w, _ in x_labels))
        hi_col = int(max(w.cx for w, _ in x_labels))
        x_line = find_x_axis_line(
            ink, darkness, lo_col, hi_col, lab_top - 1, int(lab_top - 4 * lab_h - 12)
        )
    else:
        x_line = None
    if y_labels:
        lab_right = int(max(w.right for w, _ in y_labels))
        lab_w = float(np.median([w.height for w, _ in y_labels]))
        lo_row = int(min(w.cy for w, _ in y_labels))
        hi_row = int(max(w.cy for w, _ in y_labels))
        y_line = find_y_axis_line(
            ink, darkness, lo_row, hi_row, lab_right + 1, int(lab_right + 4 * lab_w + 12)
        )
    else:
        y_line = None
    if x_line is None or y_line is None:
        # Without labels on an axis, its line is where dark axis lines meet at a corner.
        from bayesurv.digitize.frame import find_frame

        try:
            old = find_frame(rgb, source)
        except InputError:
            old = None
        if old is not None:
            if x_line is None:
                x_line = (old.bottom, old.left, old.right, np.array([int(round(old.bottom))]))
            if y_line is None:
                y_line = (old.left, old.top, old.bottom, np.array([int(round(old.left))]))

    x_ticks = _ticks(x_labels, "x", ink, darkness, x_line)
    y_ticks = _ticks(y_labels, "y", ink, darkness, y_line)

    # The frame: where the axis lines run (else where the ticks are).
    if x_line is not None:
        bottom, x_first, x_last = x_line[0], x_line[1], x_line[2]
    elif x_ticks:
        bottom = max(w.top for w, _ in x_labels) - 0.5 * lab_h
        x_first, x_last = min(t.px for t in x_ticks), max(t.px for t in x_ticks)
    else:
        bottom = x_first = x_last = None
    if y_line is not None:
        left, y_first, y_last = y_line[0], y_line[1], y_line[2]
    elif y_ticks:
        left = max(w.right for w, _ in y_labels) + 0.5 * lab_w
        y_first, y_last = min(t.px for t in y_ticks), max(t.px for t in y_ticks)
    else:
        left = y_first = y_last = None
    if left is None and x_first is not None:
        left = x_first
    if bottom is None and y_last is not None:
        bottom = y_last
    if left is None or bottom is None:
        raise InputError(
            f"{source}: no axes found (neither axis lines nor a row of x tick labels and a "
            "column of y tick labels); give --x-range MIN,MAX and --y-range MIN,MAX with --crop "
            "to the plot, or --x-calib and --y-calib."
        )
    right = x_last if x_last is not None else width - 1.0
    top = y_first if y_first is not None else 0.0
    # A boxed frame: a right line from the bottom axis up to the top, a top line along.
    boxed = _has_box_line(ink, int(round(right)), int(top), int(bottom), "y") and _has_box_line(
        ink, int(round(top)), int(left), int(right), "x"
    )
    if boxed:
        right = _line_centroid(darkness, right, int(top), int(bottom), "y")
        top = _line_centroid(darkness, top, int(left), int(right), "x")
    else:
        # A line's last pixel lies about half the line's width beyond its end point.
        right -= 0.5 * (len(x_line[3]) if x_line is not None else 0)
        top += 0.5 * (len(y_line[3]) if y_line is not None else 0)
    frame = Frame(float(left), float(right), float(top), float(bottom), boxed=bool(boxed))

    x_cal = _calibrate(x_ticks, x_range, (frame.left, frame.right), "x", source)
    y_cal = _calibrate(y_ticks, y_range, (frame.bottom, frame.top), "y", source)
    for cal, name in ((x_cal, "x"), (y_cal, "y")):
        for t in cal.misread:
            warnings.append(
                f"{name} tick label {t.label!r} at pixel {t.px:.0f} is off the line through "
                "the other ticks: taken as misread and left out."
            )
        if cal.source.startswith("--") and len(cal.ticks) >= 2:
            labels = ", ".join(t.label for t in cal.ticks)
            warnings.append(
                f"{cal.source.split()[0]} disagrees with the {name} tick labels read ({labels}); "
                "the option was used: check the overlay."
            )
        if cal.source == "tick labels" and sum(t.used for t in cal.ticks) == 2:
            warnings.append(f"the {name} axis rests on two labelled ticks only.")

    # Scale and kind.
    y_values = [t.value for t in y_cal.ticks if t.used]
    top_value = float(y_cal.to_data(frame.top))
    y_title, x_title = _titles(words, frame, x_labels, y_labels)
    percent = (max(y_values) if y_values else top_value) > 1.5 or "%" in y_title
    if y_range is not None:
        percent = y_range[1] > 1.5
    full = 100.0 if percent else 1.0
    truncated = top_value < 0.9 * full
    kind = "cumulative_incidence" if CUMULATIVE.search(y_title or "") else "survival"
    label_words = [w for w, _ in x_labels] + [w for w, _ in y_labels]
    return Axes(
        frame=frame,
        x=x_cal,
        y=y_cal,
        scale="percent" if percent else "proportion",
        kind=kind,
        truncated=bool(truncated),
        x_title=x_title,
        y_title=y_title,
        x_line=None if x_line is None else (x_line[0], x_line[1], x_line[2]),
        y_line=None if y_line is None else (y_line[0], y_line[1], y_line[2]),
        label_words=label_words,
        warnings=warnings,
    )


def _ticks(labels, axis: str, ink, darkness, line) -> list[Tick]:
    ticks = []
    for w, v in labels:
        centre = w.cx if axis == "x" else w.cy
        found = None
        if line is not None:
            _, _, _, band_idx = line
            lo, hi = int(band_idx.min()), int(band_idx.max())
            # Outside: below the x axis, left of the y axis; inside: the other way.
            sides = ((hi + 1, 1), (lo - 1, -1)) if axis == "x" else ((lo - 1, -1), (hi + 1, 1))
            half = 0.5 * (w.width if axis == "x" else w.height)
            for edge, step in sides:
                found = _tick_mark(darkness, ink, centre, half, edge, step, axis)
                if found is not None:
                    break
        if found is not None and abs(found - centre) <= 0.6 * (
            w.width if axis == "x" else w.height
        ):
            ticks.append(
                Tick(v, found, w.text, "tick mark", box=(w.left, w.top, w.right, w.bottom))
            )
        else:
            ticks.append(
                Tick(v, centre, w.text, "label centre", box=(w.left, w.top, w.right, w.bottom))
            )
    return ticks


def _calibrate(ticks, override, ends: tuple[float, float], axis: str, source: str) -> Calibration:
    """The axis line from the labelled ticks; ``override`` (axis values MIN,MAX) wins where it
    disagrees with them. An override that agrees with the labels, read either as the first and
    last tick's values or as the values at the frame's ends (within 1% of the range), keeps the
    labels' calibration."""
    option = "--x-range" if axis == "x" else "--y-range"
    fitted = None
    if len(ticks) >= 2:
        px = np.array([t.px for t in ticks])
        vals = np.array([t.value for t in ticks])
        fit = robust_line(px, vals)
        if fit is not None and fit[2].sum() >= 2:
            intercept, slope, inl = fit
            for t, ok in zip(ticks, inl, strict=True):
                t.used = bool(ok)
            resid = np.abs((vals[inl] - intercept) / slope - px[inl])
            fitted = Calibration(
                intercept, slope, ticks, float(resid.max(initial=0.0)), "tick labels"
            )
    if override is not None:
        lo, hi = override
        span = hi - lo
        if fitted is not None:
            used = [t for t in ticks if t.used]
            first = min(used, key=lambda t: t.value)
            last = max(used, key=lambda t: t.value)
            as_ticks = abs(first.value - lo) <= 0.01 * span and abs(last.value - hi) <= 0.01 * span
            at_ends = [float(fitted.to_data(e)) for e in ends]
            as_ends = abs(at_ends[0] - lo) <= 0.01 * span and abs(at_ends[1] - hi) <= 0.01 * span
            if as_ticks or as_ends:
                fitted.source = f"tick labels (agreeing with {option})"
                return fitted
        if len(ticks) >= 2:
            p0 = min(t.px for t in ticks) if axis == "x" else max(t.px for t in ticks)
            p1 = max(t.px for t in ticks) if axis == "x" else min(t.px for t in ticks)
            src = f"{option} at the first and last tick"
        else:
            p0, p1 = ends
            src = f"{option} at the axis line's ends"
        slope = (hi - lo) / (p1 - p0)
        return Calibration(lo - slope * p0, slope, ticks, 0.0, src)
    if fitted is None:
        what = "x (time)" if axis == "x" else "y (survival)"
        if len(ticks) < 2:
            raise InputError(
                f"{source}: fewer than two labelled ticks read on the {what} axis; give the "
                f"axis values with {option} MIN,MAX (the first and last tick's values)."
            )
        raise InputError(
            f"{source}: the {axis} tick labels do not lie on a line; give {option} MIN,MAX."
        )
    return fitted


def _has_box_line(ink, at: int, lo: int, hi: int, axis: str) -> bool:
    if hi - lo < 10:
        return False
    if axis == "y":
        cols = slice(max(at - 1, 0), at + 2)
        return bool(ink[lo:hi, cols].any(axis=1).mean() > 0.9)
    rows = slice(max(at - 1, 0), at + 2)
    return bool(ink[rows, lo:hi].any(axis=0).mean() > 0.9)


def _line_centroid(darkness, at: float, lo: int, hi: int, axis: str) -> float:
    """Sub-pixel position of a box line near ``at`` (column for "y", row for "x")."""
    a = max(int(round(at)) - 3, 0)
    lo, hi = lo + (hi - lo) // 4, hi - (hi - lo) // 4
    if axis == "y":
        block = darkness[lo:hi, a : int(round(at)) + 4].sum(axis=0)
    else:
        block = darkness[a : int(round(at)) + 4, lo:hi].sum(axis=1)
    if block.sum() <= 0:
        return float(at)
    return _centroid_1d(block, np.arange(a, a + block.size, dtype=float))


def _titles(words, frame: Frame, x_labels, y_labels) -> tuple[str, str]:
    """The y title (text left of the y labels, often turned) and x title (below the x labels)."""
    y_right = min((w.left for w, _ in y_labels), default=frame.left)
    label_ids = {id(w) for w, _ in x_labels} | {id(w) for w, _ in y_labels}
    y_words = [
        w
        for w in words
        if id(w) not in label_ids
        and w.right <= y_right + 2
        and frame.top - 5 <= w.cy <= frame.bottom + 5
        and w.number() is None
    ]
    vertical = sorted([w for w in y_words if w.vertical], key=lambda w: -w.cy)
    if vertical:
        y_title = " ".join(w.text for w in vertical)
    else:
        y_title = " ".join(line_text(line) for line in text_lines(y_words))
    x_bottom = max((w.bottom for w, _ in x_labels), default=frame.bottom)
    x_words = [
        w
        for w in words
        if not w.vertical
        and id(w) not in label_ids
        and x_bottom < w.top < x_bottom + 3 * max(w.height, 8)
        and frame.left - 10 <= w.cx <= frame.right + 10
    ]
    lines = text_lines(x_words)
    x_title = line_text(min(lines, key=lambda ln: ln[0].top)) if lines else ""
    return y_title, x_title


def curves_start_low(rgb, axes: Axes, exclude: np.ndarray | None = None) -> bool:
    """Curves (coloured or dark ink, not the axis, not text in ``exclude``) just after t = 0 sit
    at the bottom of the plot, not at S = 1: cumulative incidence."""
    frame, y_cal = axes.frame, axes.y
    full = axes.y_full
    grey, chroma = grey_levels(rgb)
    start = max(float(axes.x.to_pixel(0.0)), frame.left)
    c0 = int(np.ceil(start + 3))
    c1 = int(np.floor(start + 0.04 * frame.width)) + 1
    # From just above the top line (a curve at S = 1 may run along a boxed frame's top) to just
    # above the bottom axis.
    r0, r1 = max(int(np.floor(frame.top - 3)), 0), int(np.floor(frame.bottom - 3))
    if c1 <= c0 or r1 <= r0:
        return False
    block = (grey[r0:r1, c0:c1] < 160) | (chroma[r0:r1, c0:c1] > 80)
    if exclude is not None:
        block &= ~exclude[r0:r1, c0:c1]
    rows = np.flatnonzero(block.mean(axis=1) > 0.5)
    if rows.size == 0:
        return False
    one_row = float(y_cal.to_pixel(full)) - r0
    zero_row = float(y_cal.to_pixel(0.0)) - r0
    near_one = np.abs(rows - one_row) < 0.06 * frame.height
    near_zero = np.abs(rows - zero_row) < 0.06 * frame.height
    return bool(near_zero.any() and not near_one.any())
