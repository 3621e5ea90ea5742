"""Kaplan-Meier curves read straight from a vector PDF: path coordinates, not pixels.

A figure exported as PDF by R, matplotlib, SAS, Stata or a journal's typesetting keeps every
curve as a stroked path and every tick label as a text object. Read with pdfium
(``pypdfium2``), a page gives each path's points in page space (each object's matrix and those
of the forms it sits in applied) with its stroke colour, width and dash pattern, and each text
object's string and box. Then:

1. **Axes.** Numeric labels are matched to the short axis-parallel tick marks they are centred
   on (below for x, left of for y); a least-squares line through (tick position, label value)
   calibrates each axis, ``value = v0 + (p - p0)(v1 - v0)/(p1 - p0)``, exact to the PDF's
   coordinates. Without tick marks the labels' centres are used (and the report says so). A
   y axis labelled to 100 is a percent scale.
2. **Curves.** Stroked paths are grouped by (colour, dash pattern, width): a curve may come as
   one path or as many pieces. A group is a curve when its points, ordered by time and then by
   falling survival, never rise, cover at least 20% of the time axis and hold at least two
   levels; a group that always rises is cumulative incidence (read as S = 1 - F). Lines along
   the plot box, grid lines and legend samples (one flat segment) are not curves. Dashed
   groups in the colour of a solid curve that lie above and below it are its confidence bands.
3. **Censor marks.** Small strokes (``|``, ``+``, ``/``, ``x``; matplotlib draws them as form
   XObjects) on a curve are censor marks; a mark in another colour (black ticks on coloured
   curves) goes to the curve it sits on.
4. **Names.** A legend sample (a short flat stroke in a curve's style) with a text object to its
   right names that curve. A median printed after the name (``Pembrolizumab 10.4 mo
   (5.9-18.3)``) is cut off as in a raster legend (:func:`.legend.split_statistic`) and kept in
   the arm's report as ``printed``.

Precision: pdfium returns single-precision coordinates (about 1.5e-5 pt on a 400-pt page), so a
curve is exact to about 1e-6 of the axis range (1e-6 weeks on a 40-week axis drawn 446 pt wide).

Examples
--------
>>> reading = read_vector_pdf("figure.pdf")  # doctest: +SKIP
>>> reading.curves["Placebo"].head()  # time, survival  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayesurv.errors import InputError

#: a tick mark is an axis-parallel stroke at most this long (points)
TICK_MAX = 12.0
#: a censor mark fits in a box this large (points)
MARK_MAX = 14.0
_NUMBER = re.compile(r"^[+\-\u2212]?(\d+(\.\d*)?|\.\d+)\s*%?$")


@dataclass
class Stroke:
    """One stroked path in page space (points, y up): its points and how it is drawn."""

    points: np.ndarray
    color: tuple[int, int, int]
    width: float
    dash: tuple[float, ...]
    closed: bool = False

    @property
    def style(self) -> tuple:
        return (self.color, self.dash, round(self.width, 2))

    @property
    def box(self) -> tuple[float, float, float, float]:
        x, y = self.points[:, 0], self.points[:, 1]
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())


@dataclass
class Text:
    """One text object: its string and its box in page space (left, bottom, right, top)."""

    text: str
    box: tuple[float, float, float, float]
    vertical: bool = False
    color: tuple[int, int, int] = (0, 0, 0)

    @property
    def centre(self) -> tuple[float, float]:
        left, bottom, right, top = self.box
        return 0.5 * (left + right), 0.5 * (bottom + top)

    def number(self) -> float | None:
        text = self.text.strip().replace("\u2212", "-")
        if not _NUMBER.match(text):
            return None
        return float(text.rstrip("%").strip())


@dataclass
class Axis:
    """Linear map page coordinate -> data value, with the ticks it was fitted to."""

    slope: float
    intercept: float
    ticks: pd.DataFrame
    how: str

    def to_data(self, p):
        return self.intercept + self.slope * np.asarray(p, dtype=float)


@dataclass
class VectorReading:
    """What a vector PDF page holds: each curve's step points in data units and more.

    Attributes
    ----------
    curves
        Arm name -> ``time,survival`` (survival as a proportion; both corners of every drop,
        as drawn).
    censor_marks
        ``arm,time,survival`` of every censor mark.
    colors, styles
        Arm name -> stroke colour (hex) and ``"solid"``/``"dashed"``.
    bands
        Arm name -> ``time,lower,upper``-free list of band point tables (dashed confidence
        bands in the arm's colour), when drawn.
    x_axis, y_axis
        The calibrations.
    report
        Axes, curves and marks as plain data (JSON-ready).
    """

    curves: dict[str, pd.DataFrame]
    censor_marks: pd.DataFrame
    colors: dict[str, str]
    styles: dict[str, str]
    x_axis: Axis
    y_axis: Axis
    bands: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    report: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# the page's objects
# --------------------------------------------------------------------------------------------
def _compose(outer, inner):
    """Matrix product for PDF matrices (a, b, c, d, e, f): apply ``inner`` first."""
    a1, b1, c1, d1, e1, f1 = inner
    a2, b2, c2, d2, e2, f2 = outer
    return (
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    )


def _apply(m, x, y):
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _stroke(obj, matrix, raw) -> list[Stroke]:
    """The stroked subpaths of a path object (none if it is only filled)."""
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    raw.FPDFPath_GetDrawMode(obj, ctypes.byref(fill_mode), ctypes.byref(stroke))
    if not stroke.value:
        return []
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    raw.FPDFPageObj_GetStrokeColor(obj, r, g, b, a)
    width = ctypes.c_float()
    raw.FPDFPageObj_GetStrokeWidth(obj, ctypes.byref(width))
    n_dash = raw.FPDFPageObj_GetDashCount(obj)
    dash: tuple[float, ...] = ()
    if n_dash > 0:
        arr = (ctypes.c_float * n_dash)()
        raw.FPDFPageObj_GetDashArray(obj, arr, n_dash)
        dash = tuple(round(float(v), 2) for v in arr)
    scale = float(np.sqrt(abs(matrix[0] * matrix[3] - matrix[1] * matrix[2])))
    out, current, closed = [], [], False
    x, y = ctypes.c_float(), ctypes.c_float()
    for i in range(raw.FPDFPath_CountSegments(obj)):
        seg = raw.FPDFPath_GetPathSegment(obj, i)
        raw.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y))
        kind = raw.FPDFPathSegment_GetType(seg)
        point = _apply(matrix, x.value, y.value)
        if kind == raw.FPDF_SEGMENT_MOVETO and current:
            out.append((current, closed))
            current, closed = [], False
        current.append(point)
        closed = closed or bool(raw.FPDFPathSegment_GetClose(seg))
    if current:
        out.append((current, closed))
    color = (int(r.value), int(g.value), int(b.value))
    return [
        Stroke(np.array(pts, dtype=float), color, width.value * scale, dash, closed)
        for pts, closed in out
        if len(pts) >= 2
    ]


def _text(obj, textpage, raw) -> str:
    n = raw.FPDFTextObj_GetText(obj, textpage, None, 0)
    if n <= 0:
        return ""
    buf = ctypes.create_string_buffer(2 * n)
    raw.FPDFTextObj_GetText(obj, textpage, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)), n)
    return buf.raw.decode("utf-16-le", errors="ignore").split("\x00")[0]


def page_objects(path: str | Path, page: int = 1) -> tuple[list[Stroke], list[Text]]:
    """Every stroked path and text object of a PDF page, in page space (points, y up).

    Raises
    ------
    InputError
        The file is not a readable PDF or has no such page.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    path = Path(path)
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise InputError(
            f"{path}: not a readable PDF ({exc}); export the figure again or give a PNG."
        ) from None
    try:
        if not 1 <= page <= len(pdf):
            raise InputError(
                f"{path}: has {len(pdf)} page(s), so --page {page} does not exist; "
                f"give a page from 1 to {len(pdf)}."
            )
        pg = pdf[page - 1]
        textpage = pg.get_textpage()
        strokes: list[Stroke] = []
        texts: list[Text] = []
        forms: dict[int, tuple] = {-1: (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)}
        for obj in pg.get_objects(max_depth=8):
            parent = forms.get(obj.level - 1, forms[-1])
            matrix = _compose(parent, obj.get_matrix().get())
            if obj.type == raw.FPDF_PAGEOBJ_FORM:
                forms[obj.level] = matrix
            elif obj.type == raw.FPDF_PAGEOBJ_PATH:
                strokes += _stroke(obj.raw, matrix, raw)
            elif obj.type == raw.FPDF_PAGEOBJ_TEXT:
                text = _text(obj.raw, textpage.raw, raw).strip()
                if text:
                    left, bottom, right, top = obj.get_bounds()
                    corners = [
                        _apply(parent, px, py)
                        for px, py in ((left, bottom), (right, top), (left, top), (right, bottom))
                    ]
                    xs, ys = zip(*corners, strict=True)
                    a, b = matrix[0], matrix[1]
                    r, g, bl, al = (ctypes.c_uint() for _ in range(4))
                    raw.FPDFPageObj_GetFillColor(obj.raw, r, g, bl, al)
                    box = (min(xs), min(ys), max(xs), max(ys))
                    color = (int(r.value), int(g.value), int(bl.value))
                    texts.append(Text(text, box, abs(b) > abs(a), color))
        textpage.close()
        return strokes, texts
    finally:
        pdf.close()


# --------------------------------------------------------------------------------------------
# axes
# --------------------------------------------------------------------------------------------
def _ticks(strokes: list[Stroke], vertical: bool) -> list[tuple[float, float, float]]:
    """Short axis-parallel two-point strokes: (position along the axis, start, end across)."""
    out = []
    for s in strokes:
        if len(s.points) != 2:
            continue
        (x0, y0), (x1, y1) = s.points
        if vertical and abs(x0 - x1) < 1e-3 and 0 < abs(y1 - y0) <= TICK_MAX:
            out.append((0.5 * (x0 + x1), min(y0, y1), max(y0, y1)))
        if not vertical and abs(y0 - y1) < 1e-3 and 0 < abs(x1 - x0) <= TICK_MAX:
            out.append((0.5 * (y0 + y1), min(x0, x1), max(x0, x1)))
    return out


def _fit_axis(pairs: list[tuple[float, float]], how: str, name: str, source: str) -> Axis:
    pos = np.array([p for p, _ in pairs])
    val = np.array([v for _, v in pairs])
    if np.unique(val).size < 2:
        raise InputError(
            f"{source}: fewer than two labelled ticks on the {name} axis of the PDF; give the "
            "axis with --x-range/--y-range, or digitize the rendered page instead."
        )
    slope, intercept = np.polyfit(pos, val, 1)
    resid = val - (intercept + slope * pos)
    spread = float(np.ptp(val))
    if np.max(np.abs(resid)) > 1e-3 * spread:
        raise InputError(
            f"{source}: the {name} axis labels of the PDF do not lie on one linear scale "
            f"(off by up to {np.max(np.abs(resid)):.3g}); give the axis with --x-range/"
            "--y-range."
        )
    ticks = pd.DataFrame({"position_pt": pos, "value": val})
    return Axis(float(slope), float(intercept), ticks, how)


def calibrate_axes(
    strokes: list[Stroke], texts: list[Text], source: str = "figure"
) -> tuple[Axis, Axis]:
    """x and y axes from numeric labels and the tick marks they are centred on."""
    axes = []
    for name, vertical in (("time", True), ("survival", False)):
        # x labels are upright; y labels upright or turned along the axis (R's default)
        numbers = [
            (t, t.number())
            for t in texts
            if t.number() is not None and (not vertical or not t.vertical)
        ]
        ticks = _ticks(strokes, vertical)
        pairs, by_label = [], []
        for text, value in numbers:
            cx, cy = text.centre
            left, bottom, right, top = text.box
            height = (right - left) if text.vertical else (top - bottom)
            if vertical:  # x tick: a vertical stroke above the label, on its centre
                near = [
                    t
                    for t in ticks
                    if left - 1 <= t[0] <= right + 1 and 0 <= t[1] - top <= 3 * height
                ]
                best = min(near, key=lambda t: abs(t[0] - cx), default=None)
            else:  # y tick: a horizontal stroke right of the label, at its middle
                near = [
                    t
                    for t in ticks
                    if bottom - 1 <= t[0] <= top + 1 and 0 <= t[1] - right <= 3 * height
                ]
                best = min(near, key=lambda t: abs(t[0] - cy), default=None)
            if best is not None:
                pairs.append((best[0], value))
            by_label.append((cx if vertical else cy, value, cy if vertical else cx))
        if len({v for _, v in pairs}) >= 2:
            axes.append(_fit_axis(_one_row(pairs, by_label, vertical), "tick marks", name, source))
            continue
        # no tick marks: the labels of the longest row (x) or column (y), by their centres
        row = _aligned(by_label)
        axes.append(_fit_axis(row, "label centres", name, source))
    return axes[0], axes[1]


def _one_row(pairs, by_label, vertical):
    """Tick pairs, each position once (a label matched twice keeps its nearest)."""
    seen: dict[float, float] = {}
    for p, v in pairs:
        seen.setdefault(round(p, 3), v)
    return [(p, v) for p, v in seen.items()]


def _aligned(labels: list[tuple[float, float, float]]) -> list[tuple[float, float]]:
    """The labels sharing one line across the axis (x labels in a row, y labels in a column)."""
    if not labels:
        return []
    across = np.array([c for _, _, c in labels])
    best: list[tuple[float, float]] = []
    for c in np.unique(np.round(across, 0)):
        group = [(p, v) for p, v, a in labels if abs(a - c) <= 2.0]
        if len(group) > len(best):
            best = group
    return best


# --------------------------------------------------------------------------------------------
# curves and marks
# --------------------------------------------------------------------------------------------
def _hex(color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def _steps(points: np.ndarray) -> np.ndarray:
    """Points (time, survival) ordered along a non-increasing step curve, duplicates dropped."""
    order = np.lexsort((-points[:, 1], points[:, 0]))
    pts = points[order]
    keep = np.r_[True, np.any(np.abs(np.diff(pts, axis=0)) > 1e-9, axis=1)]
    return pts[keep]


def read_vector_pdf(
    path: str | Path,
    page: int = 1,
    *,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
) -> VectorReading:
    """Read the Kaplan-Meier curves of a vector PDF page from its path coordinates.

    Parameters
    ----------
    path, page
        The PDF and the page (1-based).
    x_range, y_range
        Not used for calibration (the tick labels are); a time axis read outside ``x_range`` or
        a survival axis outside ``y_range`` is refused, as a check.

    Raises
    ------
    InputError
        The page has no labelled axes or no stroked curve (it may be a scanned image inside a
        PDF: digitize the rendered page instead).
    """
    source = str(path)
    strokes, texts = page_objects(path, page)
    if not strokes:
        raise InputError(
            f"{source}: page {page} holds no stroked paths (an image in a PDF?); digitize the "
            "rendered page instead."
        )
    x_axis, y_axis = calibrate_axes(strokes, texts, source)
    percent = float(y_axis.ticks["value"].max()) > 1.5
    scale = 100.0 if percent else 1.0

    def to_data(points):
        return np.column_stack([x_axis.to_data(points[:, 0]), y_axis.to_data(points[:, 1])])

    t_ticks, s_ticks = x_axis.ticks["value"], y_axis.ticks["value"]
    t_lo, t_hi = float(t_ticks.min()), float(t_ticks.max())
    s_lo, s_hi = float(s_ticks.min()), float(s_ticks.max())
    t_span, s_span = t_hi - t_lo, s_hi - s_lo
    if x_range is not None and (t_lo < x_range[0] - 1e-9 or t_hi > x_range[1] + 1e-9):
        raise InputError(
            f"{source}: the PDF's time axis runs {t_lo:g}-{t_hi:g}, outside --x-range "
            f"{x_range[0]:g},{x_range[1]:g}; check the range (or leave it out)."
        )
    if y_range is not None and (s_lo < y_range[0] - 1e-9 or s_hi > y_range[1] + 1e-9):
        raise InputError(
            f"{source}: the PDF's survival axis runs {s_lo:g}-{s_hi:g}, outside --y-range "
            f"{y_range[0]:g},{y_range[1]:g}; check the range (or leave it out)."
        )

    # Group the strokes by style; small ones are tick or censor marks, labelled flat ones
    # legend samples.
    groups: dict[tuple, list[np.ndarray]] = {}
    small: list[Stroke] = []
    samples = _legend_samples(strokes, texts)
    for s in strokes:
        if id(s) in samples:
            continue
        data = to_data(s.points)
        left, bottom, right, top = s.box
        tiny = (right - left) <= MARK_MAX and (top - bottom) <= MARK_MAX and len(s.points) <= 5
        if tiny:
            small.append(s)
            continue
        # lines along the plot box and grid lines: one straight segment across the plot
        if len(s.points) == 2 and (
            abs(data[0, 0] - data[1, 0]) < 1e-9 or abs(data[0, 1] - data[1, 1]) < 1e-9
        ):
            flat = abs(data[0, 1] - data[1, 1]) < 1e-9
            length = abs(data[1, 0] - data[0, 0]) if flat else abs(data[1, 1] - data[0, 1])
            if length >= 0.5 * (t_span if flat else s_span):
                continue
        groups.setdefault(s.style, []).append(data)
    t_end = _axis_end(strokes, to_data, t_span) or t_hi + 0.05 * t_span
    candidates = []
    for style, pieces in groups.items():
        pts = np.concatenate(pieces)
        pts = pts[pts[:, 0] <= t_end + 1e-9 * t_span]
        inside = (
            (pts[:, 0] >= t_lo - 0.05 * t_span)
            & (pts[:, 0] <= t_hi + 0.05 * t_span)
            & (pts[:, 1] >= s_lo - 0.05 * s_span)
            & (pts[:, 1] <= s_hi + 0.05 * s_span)
        )
        pts = pts[inside]
        if pts.shape[0] < 3 or np.ptp(pts[:, 0]) < 0.2 * t_span:
            continue
        steps = _steps(pts)
        levels = np.unique(np.round(steps[:, 1], 9))
        if levels.size < 2:
            continue
        dy = np.diff(steps[:, 1])
        falls = bool(np.all(dy <= 1e-9 * s_span))
        rises_steps = _steps(np.column_stack([pts[:, 0], -pts[:, 1]]))
        rises = bool(np.all(np.diff(rises_steps[:, 1]) <= 1e-9 * s_span))
        if not (falls or rises):
            continue
        candidates.append((style, steps if falls else rises_steps * [1, -1], falls))
    if not candidates:
        raise InputError(
            f"{source}: no Kaplan-Meier curve among the PDF's paths of page {page} (none falls "
            "or rises as a step curve across the plot); digitize the rendered page instead."
        )
    # Dashed groups in the colour of a solid curve that are no step curve (an upper and a lower
    # band drawn alike) are its confidence bands; a dashed group that is one is an arm.
    curves_raw = candidates
    band_raw: dict[tuple, list[np.ndarray]] = {}
    for style in set(groups) - {c[0] for c in candidates}:
        host = next((c[0] for c in candidates if c[0][0] == style[0] and not c[0][1]), None)
        pts = np.concatenate(groups[style])
        # a band runs along the curve (a median drop-line is two segments)
        if host is not None and style[1] and len(pts) >= 10 and np.ptp(pts[:, 0]) > 0.5 * t_span:
            band_raw.setdefault(host, []).append(np.concatenate(groups[style]))
    rising = [not f for _, _, f in curves_raw]
    if any(rising) and not all(rising):
        raise InputError(
            f"{source}: some curves of the PDF fall and some rise; read survival and "
            "cumulative incidence figures separately."
        )
    names, printed = _legend_names(strokes, texts, [c[0] for c in curves_raw])
    curves: dict[str, pd.DataFrame] = {}
    colors: dict[str, str] = {}
    styles: dict[str, str] = {}
    bands: dict[str, list[pd.DataFrame]] = {}
    rows_report = []
    for k, (style, steps, falls) in enumerate(curves_raw):
        name = names.get(style) or f"arm{k + 1}"
        while name in curves:
            name += "'"
        surv = steps[:, 1] / scale
        if not falls:
            surv = 1.0 - surv
        time = steps[:, 0]
        curve = pd.DataFrame({"time": time, "survival": surv})
        curves[name] = curve
        colors[name] = _hex(style[0])
        styles[name] = "dashed" if style[1] else "solid"
        if style in band_raw:
            bands[name] = [
                pd.DataFrame({"time": b[:, 0], "survival": b[:, 1] / scale})
                for b in band_raw[style]
            ]
        rows_report.append(
            {
                "arm": name,
                "color": colors[name],
                "style": styles[name],
                "points": int(len(curve)),
                "time_end": float(time.max()),
                "survival_end": float(surv[-1]),
                "bands": len(bands.get(name, [])),
                **({"printed": printed[style]} if style in printed else {}),
            }
        )
    marks = _censor_marks(small, curves, colors, to_data, scale, not all(rising) or not rising)
    report = {
        "source": source,
        "page": page,
        "vector": True,
        "x_axis": {"ticks": x_axis.ticks.to_dict("list"), "from": x_axis.how},
        "y_axis": {
            "ticks": y_axis.ticks.to_dict("list"),
            "from": y_axis.how,
            "unit": "percent" if percent else "proportion",
        },
        "kind": "cumulative_incidence" if any(rising) else "survival",
        "arms": rows_report,
        "censor_marks": int(len(marks)),
        "precision": "single-precision page coordinates (pdfium)",
    }
    for row in rows_report:
        row["censor_marks"] = int((marks["arm"] == row["arm"]).sum())
    return VectorReading(curves, marks, colors, styles, x_axis, y_axis, bands, report)


def _axis_end(strokes, to_data, t_span) -> float | None:
    """Time at the right end of the bottom axis line (the lowest long horizontal stroke)."""
    lines = []
    for s in strokes:
        if len(s.points) != 2:
            continue
        d = to_data(s.points)
        if abs(d[0, 1] - d[1, 1]) < 1e-9 and abs(d[1, 0] - d[0, 0]) >= 0.5 * t_span:
            lines.append((d[0, 1], max(d[0, 0], d[1, 0])))
    return min(lines)[1] if lines else None


def _legend_samples(strokes, texts) -> dict[int, str]:
    """Short flat strokes with a word just right of them (a legend): id(stroke) -> the text."""
    out: dict[int, str] = {}
    for s in strokes:
        left, bottom, right, top = s.box
        if top - bottom > 1e-3 or not 5.0 <= right - left <= 60.0:
            continue
        y = 0.5 * (bottom + top)
        near = [
            t
            for t in texts
            if not t.vertical
            and t.box[1] - 2 <= y <= t.box[3] + 2
            and 0 <= t.box[0] - right <= 20.0
            and t.number() is None
        ]
        if near:
            first = min(near, key=lambda t: t.box[0] - right)
            out[id(s)] = _line_of(first, texts)
    return out


def _line_of(first: Text, texts: list[Text]) -> str:
    """``first`` and the words that follow it on the same line (a label split into words)."""
    line, current = first.text, first
    height = first.box[3] - first.box[1]
    while True:
        nxt = [
            t
            for t in texts
            if not t.vertical
            and t is not current
            and abs(t.centre[1] - current.centre[1]) <= 0.3 * height
            and -0.1 * height <= t.box[0] - current.box[2] <= 0.8 * height
        ]
        if not nxt:
            return line
        following = min(nxt, key=lambda t: t.box[0])
        gap = following.box[0] - current.box[2]
        line += (" " if gap > 0.3 * height else "") + following.text
        current = following


def _legend_names(strokes, texts, styles) -> tuple[dict[tuple, str], dict[tuple, str]]:
    """A legend sample in a curve's style names that curve; else a word printed in the colour
    of exactly one curve (labels beside the curves, a coloured table's row labels). A median
    printed after the name is cut off as in a raster legend (:func:`.legend.split_statistic`):
    returns ``(names, printed)``, style -> name and style -> the median (interval)."""
    from bayesurv.digitize.legend import split_statistic

    names: dict[tuple, str] = {}
    printed: dict[tuple, str] = {}
    samples = _legend_samples(strokes, texts)
    for s in strokes:
        if id(s) in samples and s.style in styles and s.style not in names:
            name, statistic = split_statistic(samples[id(s)])
            if name:
                names[s.style] = name
            if statistic:
                printed[s.style] = statistic
    colours = [st[0] for st in styles]
    for style in styles:
        if style in names or colours.count(style[0]) != 1 or max(style[0]) - min(style[0]) < 60:
            continue
        words = [
            t
            for t in texts
            if t.color == style[0] and t.number() is None and any(c.isalpha() for c in t.text)
        ]
        if words:  # the one nearest the top of the page (a label in the plot before the table)
            name, statistic = split_statistic(max(words, key=lambda t: t.box[3]).text)
            if name:
                names[style] = name
            if statistic and style not in printed:
                printed[style] = statistic
    return names, printed


def _censor_marks(small, curves, colors, to_data, scale, falls) -> pd.DataFrame:
    """Small strokes centred on a curve: censor marks (grouped, ``+`` is two strokes)."""
    if not small or not curves:
        return pd.DataFrame({"arm": [], "time": [], "survival": []})
    centres: dict[tuple, list[Stroke]] = {}
    for s in small:
        left, bottom, right, top = s.box
        key = (round(0.5 * (left + right), 2), round(0.5 * (bottom + top), 2))
        centres.setdefault(key, []).append(s)
    rows = []
    for (cx, cy), group in centres.items():
        s = group[0]
        t, y = to_data(np.array([[cx, cy]]))[0]
        surv = y / scale if falls else 1.0 - y / scale
        ys = to_data(np.concatenate([g.points for g in group]))[:, 1]
        height = max(0.5 * float(np.ptp(ys)) / scale, 1e-4)  # '+': its vertical stroke
        best, best_d = None, np.inf
        for name, curve in curves.items():
            times = curve["time"].to_numpy()
            if t < times.min() - 1e-9 or t > times.max() + 1e-9:
                continue
            # the curve's span at t (a mark on a drop sits anywhere on it)
            eps = 1e-6 * (times.max() - times.min())
            levels = curve["survival"].to_numpy()
            near = (times >= t - eps) & (times <= t + eps)
            i = np.searchsorted(times, t - eps, side="right") - 1
            span = np.r_[levels[max(i, 0)], levels[near]]
            d = max(span.min() - surv, surv - span.max(), 0.0)
            same = colors[name] == _hex(s.color)
            d = d if same else d + 1e-6  # a mark in the curve's own colour wins a tie
            if d < best_d:
                best, best_d = name, d
        if best is not None and best_d <= height:
            rows.append({"arm": best, "time": float(t), "survival": float(surv)})
    out = pd.DataFrame(rows, columns=["arm", "time", "survival"])
    return out.sort_values(["arm", "time"]).reset_index(drop=True)


def refine_with_vector(digitized, path: str | Path, page: int = 1):
    """Put a vector PDF's exact curves and censor marks in place of those read off its pixels.

    ``digitized`` is the page read as an image (:func:`bayesurv.digitize.digitize_file`: axes,
    table, names and overlay stay). Each arm read there takes the vector curve nearest its
    colour, as long as both readings agree (mean |dS| <= 0.02 over the arm's range) and there
    are as many vector curves as arms; otherwise the pixels' reading stays and the report says
    why. Returns ``digitized``, changed in place.
    """
    report = digitized.report
    try:
        reading = read_vector_pdf(path, page)
    except InputError as exc:
        report["curves_from"] = f"pixels (no vector curves: {exc})"
        return digitized
    names = list(digitized.curves)
    if len(reading.curves) != len(names):
        report["curves_from"] = (
            f"pixels ({len(reading.curves)} vector curve(s) for {len(names)} arm(s) read)"
        )
        return digitized

    def rgb(hexcode: str) -> np.ndarray:
        return np.array([int(hexcode[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)

    taken: set[str] = set()
    pairs: dict[str, str] = {}
    for name in names:
        options = [v for v in reading.curves if v not in taken]
        solid = digitized.styles.get(name, "solid") == "solid"

        def cost(v, name=name, solid=solid):
            colour = np.abs(rgb(reading.colors[v]) - rgb(digitized.colors[name])).sum()
            return colour + (0.0 if (reading.styles[v] == "solid") == solid else 60.0)

        best = min(options, key=cost)
        pairs[name] = best
        taken.add(best)
    for name, vname in pairs.items():
        raster, exact = digitized.curves[name], reading.curves[vname]
        t_max = float(min(raster["time"].max(), exact["time"].max()))
        grid = np.linspace(0.0, t_max, 500)

        def at(curve, grid=grid):
            i = np.clip(np.searchsorted(curve["time"].to_numpy(), grid, side="right") - 1, 0, None)
            return curve["survival"].to_numpy()[i]

        gap = float(np.abs(at(raster) - at(exact)).mean())
        if gap > 0.02:
            report["curves_from"] = (
                f"pixels (the vector curve {vname!r} differs from arm {name!r} as read by "
                f"{gap:.3f})"
            )
            return digitized
    marks = []
    for name, vname in pairs.items():
        digitized.curves[name] = reading.curves[vname].copy()
        m = reading.censor_marks[reading.censor_marks["arm"] == vname]
        marks.append(m.assign(arm=name))
    digitized.censor_marks = pd.concat(marks, ignore_index=True)[["arm", "time", "survival"]]
    report["curves_from"] = "vector paths of the PDF (exact to single precision)"
    report["vector"] = reading.report
    for row in report.get("arms", []):
        if row.get("arm") in pairs:
            row["censor_marks"] = int((digitized.censor_marks["arm"] == row["arm"]).sum())
            row["points"] = int(len(digitized.curves[row["arm"]]))
    return digitized


def is_pdf(path: str | Path) -> bool:
    """Does ``path`` hold a PDF (by its first bytes)?"""
    try:
        with Path(path).open("rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False


def vector_arms(path: str | Path, page: int = 1) -> tuple[list[tuple[int, int, int]] | None, int]:
    """The stroke colours of a vector PDF page's curves and their number, for reading the
    rendered page with the right colours: ``(None, 0)`` when it has none to read, ``(None, k)``
    when two curves share a colour (solid and dashed: the pixels' reader tells them apart by
    line style)."""
    try:
        reading = read_vector_pdf(path, page)
    except InputError:
        return None, 0
    colors = [tuple(int(h[i : i + 2], 16) for i in (1, 3, 5)) for h in reading.colors.values()]
    return (colors if len(set(colors)) == len(colors) else None), len(colors)
