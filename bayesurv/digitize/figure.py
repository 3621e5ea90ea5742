"""Read a Kaplan-Meier figure into one step curve per arm: the whole digitizing pipeline.

text by OCR (:mod:`.ocr`) -> axes, ticks and calibration (:mod:`.axes`) -> legend, arm labels and
the mask of text (:mod:`.legend`) -> arms by colour or line style (:mod:`.arms`) -> step trace
and censor marks per arm (:mod:`.trace`, :mod:`.censor`) -> the numbers-at-risk table
(:mod:`.table`), its rows assigned to the arms and checked against their curves -> overlay
(:mod:`.overlay`). The output curves are ``time,survival`` tables with survival as a proportion
(a percent axis is divided by 100, cumulative incidence F is turned into S = 1 - F), the format
``bayesurv reconstruct`` reads.

Anything read can be given instead: the axis values (``x_range``/``y_range``: the first and
last tick's values), pixel calibration points, the number of arms, their colours, their names.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from bayesurv.digitize.arms import plot_box, separate_arms
from bayesurv.digitize.axes import Axes, Calibration, curves_start_low, read_axes
from bayesurv.digitize.censor import mark_ink
from bayesurv.digitize.frame import (
    AxisMap,
    Frame,
    calibrate,
    check_survival_range,
    find_frame,
)
from bayesurv.digitize.image import load_image
from bayesurv.digitize.legend import (
    LegendEntry,
    exclusion_mask,
    match_colors,
    printed_statistics,
    read_legend,
)
from bayesurv.digitize.overlay import draw_overlay
from bayesurv.digitize.table import RiskTable, check_against_curve, read_risk_table
from bayesurv.digitize.trace import trace_arm
from bayesurv.digitize.vector import is_pdf, refine_with_vector, vector_arms
from bayesurv.errors import InputError

MAX_HIDDEN = 0.6
"""Largest share of an arm's columns without a clean reading before the arm is refused."""


@dataclass
class Digitized:
    """What was read off a figure.

    Attributes
    ----------
    curves
        Arm name -> ``time,survival`` table (survival as a proportion), both corners of each drop.
    censor_marks
        ``arm,time,survival`` of every censor mark found.
    colors
        Arm name -> line colour (hex).
    frame
        The plot frame in pixels.
    overlay
        The figure with what was read drawn over it.
    report
        Axes, arms, table and warnings as plain data (JSON-ready).
    styles
        Arm name -> ``"solid"``, ``"dashed"`` or ``"dotted"``.
    axes
        The axes read (None when calibrated by pixel points only).
    table
        The numbers-at-risk table read under the plot (None when there is none).
    legend
        Legend entries and labels found.
    exclude
        Pixels kept out of the curves (text, legend samples).
    """

    curves: dict[str, pd.DataFrame]
    censor_marks: pd.DataFrame
    colors: dict[str, str]
    frame: Frame
    overlay: Image.Image
    report: dict = field(default_factory=dict)
    styles: dict[str, str] = field(default_factory=dict)
    axes: Axes | None = None
    table: RiskTable | None = None
    legend: list[LegendEntry] = field(default_factory=list)
    exclude: np.ndarray | None = None
    traces: dict = field(default_factory=dict)

    def at_risk(self, arm: str) -> pd.DataFrame | None:
        """``time,at_risk`` read for ``arm`` (None without a table row for it)."""
        return None if self.table is None else self.table.for_arm(arm)


def digitize(
    rgb: np.ndarray,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    *,
    n_arms: int | None = None,
    colors: list[tuple[int, int, int]] | None = None,
    names: list[str] | None = None,
    x_calib: tuple[tuple[float, float], tuple[float, float]] | None = None,
    y_calib: tuple[tuple[float, float], tuple[float, float]] | None = None,
    read_text: bool = True,
    source: str = "figure",
) -> Digitized:
    """Digitize the Kaplan-Meier curves (and the numbers-at-risk table) of a figure image.

    Parameters
    ----------
    rgb
        ``(height, width, 3)`` uint8 image (:func:`bayesurv.digitize.image.load_image`).
    x_range, y_range
        Axis values, overriding the tick labels read: the values of the first and last tick
        found on the axis (with no ticks found, of the axis line's ends).
    n_arms
        Number of arms (default: as many as the legend or the table names, else every curve
        colour found).
    colors
        The arms' line colours, in order (instead of ``n_arms``).
    names
        The arms' names, in the order of ``colors`` (or of the arms found).
    x_calib, y_calib
        Two ``(pixel, value)`` points per axis (column for x, row for y), instead of the axes
        read.
    read_text
        Read text by OCR (axes, legend, table); without it ``x_range``/``y_range`` are the
        frame's edges, as in earlier versions.
    source
        Name of the figure for messages.

    Raises
    ------
    InputError
        What could not be found, in one sentence naming the option that supplies it.

    Examples
    --------
    >>> result = digitize(load_image("km.png"))  # doctest: +SKIP
    >>> result.curves.keys(), result.at_risk("Placebo")  # doctest: +SKIP
    """
    _check_options(x_range, y_range, y_calib, n_arms, colors, names)
    words = []
    axes = None
    if read_text:
        from bayesurv.digitize.ocr import read_figure_text

        words = read_figure_text(rgb)
        try:
            axes = read_axes(rgb, words, x_range=x_range, y_range=y_range, source=source)
        except InputError:
            if x_calib is None or y_calib is None:
                raise
    if axes is not None:
        frame = axes.frame
        x_map, y_map = axes.x_map, axes.y_map
        if x_calib is not None or y_calib is not None:
            x_px, y_px = calibrate(frame, (0, 1), (0, 1), x_calib, y_calib)
            x_map = x_px if x_calib is not None else x_map
            y_map = y_px if y_calib is not None else y_map
            axes = _recalibrated(axes, x_map if x_calib else None, y_map if y_calib else None)
        rising = axes.kind == "cumulative_incidence"
    else:
        try:
            frame = find_frame(rgb, source)
        except InputError:
            if x_calib is None or y_calib is None:
                raise
            height, width = rgb.shape[:2]
            frame = Frame(0.0, width - 1.0, 0.0, height - 1.0, boxed=False)
        x_map, y_map = calibrate(frame, x_range, y_range, x_calib, y_calib)
        rising = False
    y_values = y_map.to_data([frame.top, frame.bottom])
    percent = float(np.max(y_values)) > 1.5 if axes is None else axes.scale == "percent"
    scale = 100.0 if percent else 1.0

    # Legend, labels and what is not a curve.
    table_top = _table_top(words, axes)
    legend = read_legend(rgb, words, frame, table_top=table_top) if words else []
    keep = axes.label_words if axes is not None else []
    exclude = exclusion_mask(rgb.shape[:2], words, frame, legend, keep=keep) if words else None
    if axes is not None and not rising and curves_start_low(rgb, axes, exclude):
        rising = True
        axes.kind = "cumulative_incidence"
        axes.warnings.append(
            "the curves start at the bottom of the plot: read as cumulative incidence "
            "(S = 1 - F); check the overlay."
        )
    named = [e for e in legend if e.color is not None]
    # The table is read before the curves: a table with more rows than the legend has entries
    # (a legend key too faint or too short to be found) says the legend's count is short.
    table = read_risk_table(rgb, words, axes) if axes is not None and words else None
    from_legend = False
    n_rows = len(table.rows) if table is not None else 0
    if n_arms is None and colors is None and len(named) >= 2 and n_rows <= len(named):
        n_arms, from_legend = len(named), True

    try:
        try:
            arms, traces = _read_curves(
                rgb, frame, x_map, y_map, exclude, n_arms, colors, rising, source
            )
        except InputError as exc:
            # The legend's count is a hint: with fewer curves found, take the curves found.
            if not from_legend or "asks for" not in str(exc):
                raise
            n_arms = None
            arms, traces = _read_curves(
                rgb, frame, x_map, y_map, exclude, n_arms, colors, rising, source
            )
    except InputError as exc:
        # Curves that rise are cumulative incidence even where the axis title does not say so.
        if rising or axes is None or "rises" not in str(exc):
            raise
        rising = True
        axes.kind = "cumulative_incidence"
        axes.warnings.append(
            "the curves rise from left to right: read as cumulative incidence (S = 1 - F)."
        )
        arms, traces = _read_curves(
            rgb, frame, x_map, y_map, exclude, n_arms, colors, rising, source
        )

    # Names: given, else legend/labels by colour and style, else the table's rows, else order.
    arm_names, named_by = _name_arms(arms, traces, names, named, table, frame, x_map, y_map)
    for arm, name in zip(arms, arm_names, strict=True):
        arm.name = name
    stats = printed_statistics(rgb, words, frame, table_top=table_top) if words else []
    printed = _printed_statistics(arms, legend, stats)

    curves: dict[str, pd.DataFrame] = {}
    marks: list[pd.DataFrame] = []
    arm_reports = []
    drawn = []
    warnings: list[str] = list(axes.warnings) if axes is not None else []
    for arm, trace in zip(arms, traces, strict=True):
        curve = trace.curve.assign(survival=trace.curve["survival"] / scale)
        curve = _clip_curve(curve)
        curves[arm.name] = curve
        marks.append(
            trace.censor.assign(arm=arm.name, survival=trace.censor["survival"] / scale)[
                ["arm", "time", "survival"]
            ]
        )
        drawn.append((arm.color, trace.pixels, trace.censor_pixels))
        stretches = getattr(trace, "hidden_stretches", None)
        arm_reports.append(
            {
                "arm": arm.name,
                "named_by": named_by.get(arm.name, "order"),
                "color": arm.hex,
                "style": arm.style,
                "points": int(len(curve)),
                "censor_marks": int(len(trace.censor)),
                "line_width_px": trace.line_width,
                "seen_share": round(1.0 - trace.hidden, 3),
                "read": trace.statement(),
                "hidden_share": round(trace.hidden, 3),
                "hidden_stretches": []
                if stretches is None
                else stretches.round(3).to_dict(orient="records"),
                "time_end": float(curve["time"].iloc[-1]),
                "survival_end": float(curve["survival"].iloc[-1]),
                **({"printed": printed[arm.name]} if arm.name in printed else {}),
            }
        )
        if trace.hidden > 0.3:
            warnings.append(f"{arm.name}: {trace.hidden:.0%} of the curve's columns were hidden.")

    if table is not None:
        from bayesurv.digitize.table import assign_rows

        assign_rows(table, [a.name for a in arms], [a.color for a in arms])
        for row in table.rows:
            if row.arm in curves:
                c = curves[row.arm]
                table.warnings += check_against_curve(
                    row, c["time"].to_numpy(), c["survival"].to_numpy()
                )
        warnings += table.warnings
        for rep in arm_reports:
            row = next((r for r in table.rows if r.arm == rep["arm"]), None)
            if row is None:
                rep["at_risk_cells"] = None
                continue
            rep["at_risk_cells"] = {
                "read": sum(c.status == "read" for c in row.cells),
                "uncertain": sum(c.status == "uncertain" for c in row.cells),
                "missing": sum(c.status == "missing" for c in row.cells),
                "row_label": row.label,
                "assigned_by": row.assigned_by,
            }

    if names is None and len(arms) >= 2 and all(named_by.get(a.name) is None for a in arms):
        warnings.append(_unnamed(arms, printed, table))
    censor_marks = (
        pd.concat(marks, ignore_index=True)
        if marks
        else pd.DataFrame({"arm": [], "time": [], "survival": []})
    )
    report = {
        "source": source,
        "image_px": [int(rgb.shape[1]), int(rgb.shape[0])],
        "frame_px": frame.as_dict(),
        "x_axis": {"px": [x_map.px0, x_map.px1], "value": [x_map.val0, x_map.val1]},
        "y_axis": {
            "px": [y_map.px0, y_map.px1],
            "value": [y_map.val0, y_map.val1],
            "unit": "percent" if percent else "proportion",
            "kind": "cumulative incidence (read as S = 1 - F)" if rising else "survival",
        },
        "axes": axes.report() if axes is not None else None,
        "legend": [
            {"name": e.name, "color": e.hex, "style": e.style, "kind": e.kind} for e in legend
        ],
        "arms": arm_reports,
        "at_risk_table": table.report() if table is not None else None,
        "warnings": warnings,
    }
    overlay = draw_overlay(
        rgb, frame, drawn, axes=axes, table=table, names=[a.name for a in arms], legend=legend
    )
    colors_by_arm = {arm.name: arm.hex for arm in arms}
    styles = {arm.name: arm.style for arm in arms}
    return Digitized(
        curves,
        censor_marks,
        colors_by_arm,
        frame,
        overlay,
        report,
        styles,
        axes,
        table,
        legend,
        exclude,
        {a.name: t for a, t in zip(arms, traces, strict=True)},
    )


def _check_options(x_range, y_range, y_calib, n_arms, colors, names) -> None:
    if x_range is not None and x_range[0] >= x_range[1]:
        raise InputError(f"--x-range {x_range[0]:g},{x_range[1]:g} must rise; give MIN,MAX.")
    if y_range is not None:
        if y_range[0] >= y_range[1]:
            raise InputError(f"--y-range {y_range[0]:g},{y_range[1]:g} must rise; give MIN,MAX.")
        check_survival_range(y_range)
    if y_calib is not None:
        check_survival_range(tuple(sorted(v for _, v in y_calib)), "--y-calib")
    if n_arms is not None and n_arms < 1:
        raise InputError(f"--arms {n_arms} must be at least 1; give the number of curves.")
    if colors is not None and n_arms is not None and len(colors) != n_arms:
        raise InputError(
            f"--arms {n_arms} but --colors gives {len(colors)} colour(s); give one or the other."
        )
    if names is not None:
        if len(set(names)) != len(names):
            raise InputError("--names repeats a name; give each arm's name once.")
        if colors is not None and len(names) != len(colors):
            raise InputError(
                f"--names gives {len(names)} name(s) but --colors {len(colors)} colour(s); "
                "give one name per colour."
            )


def _recalibrated(axes: Axes, x_map: AxisMap | None, y_map: AxisMap | None) -> Axes:
    from dataclasses import replace

    def cal(m: AxisMap, old: Calibration) -> Calibration:
        slope = (m.val1 - m.val0) / (m.px1 - m.px0)
        return Calibration(m.val0 - slope * m.px0, slope, old.ticks, 0.0, "pixel points")

    return replace(
        axes,
        x=cal(x_map, axes.x) if x_map is not None else axes.x,
        y=cal(y_map, axes.y) if y_map is not None else axes.y,
    )


def _table_top(words, axes: Axes | None) -> float | None:
    """Row where the numbers-at-risk table starts (the first row of numbers under the x
    labels), to keep the table out of the legend search."""
    if axes is None:
        return None
    floor = max((w.bottom for w in axes.label_words if not w.vertical), default=axes.frame.bottom)
    rows = sorted(
        w.top
        for w in words
        if w.top > floor and w.number() is not None and not w.vertical and w.cx > axes.frame.left
    )
    return rows[0] if rows else None


def _accepts(func, name: str) -> bool:
    return name in inspect.signature(func).parameters


def _read_curves(rgb, frame, x_map, y_map, exclude, n_arms, colors, rising, source):
    """Arms and their traces (the curve reader's part of the pipeline)."""
    if exclude is not None and _accepts(separate_arms, "exclude"):
        arms = separate_arms(
            rgb, frame, n_arms=n_arms, colors=colors, source=source, exclude=exclude
        )
    else:
        masked = rgb
        if exclude is not None:
            masked = rgb.copy()
            masked[exclude] = 255
        arms = separate_arms(masked, frame, n_arms=n_arms, colors=colors, source=source)
    # ticks in no arm's colour (black ticks on coloured curves) for the arm they sit on
    ink = mark_ink(rgb, plot_box(frame, rgb.shape[:2]), [a.mask for a in arms], exclude)
    traces = []
    for k, arm in enumerate(arms):
        others = np.zeros_like(arm.mask)
        for j, other in enumerate(arms):
            if j != k:
                others |= other.mask
        try:
            trace = trace_arm(
                arm.mask,
                frame,
                x_map,
                y_map,
                others=others,
                exclude=exclude,
                dashed=arm.style != "solid",
                rising=rising,
                marks_ink=ink,
            )
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None
        if trace.curve.empty or trace.hidden > MAX_HIDDEN:
            raise InputError(
                f"{source}: the curve in colour {arm.hex} could not be followed across the plot "
                f"({trace.hidden:.0%} of it unreadable); give each arm's line colour with --colors."
            )
        traces.append(trace)
    return arms, traces


def _name_arms(arms, traces, names, named, table, frame, x_map, y_map):
    """Each arm's name and how it was found."""
    k = len(arms)
    if names is not None:
        if len(names) != k:
            raise InputError(
                f"--names gives {len(names)} name(s) but {k} curve(s) were found; give one "
                "name per curve (or --colors to pick the curves)."
            )
        return list(names), {n: "--names" for n in names}
    result: list[str | None] = [None] * k
    how: dict[str, str] = {}
    # Legend entries and coloured labels, by colour (and line style where colours tie).
    if named:
        pairs = []
        for i, arm in enumerate(arms):
            for j, e in enumerate(named):
                d = float(np.abs(np.subtract(arm.color, e.color, dtype=float)).sum())
                if e.style and arm.style:
                    d += 0.0 if (e.style == "solid") == (arm.style == "solid") else 60.0
                pairs.append((d, i, j))
        used = set()
        for d, i, j in sorted(pairs):
            if result[i] is not None or j in used or d > 200:
                continue
            result[i] = named[j].name
            used.add(j)
            how[named[j].name] = named[j].kind
    # The table's row labels, by the colour they are printed in, else by their fit.
    if table is not None and any(r is None for r in result):
        labels = [r for r in table.rows if r.label and r.label not in result]
        free = [i for i, r in enumerate(result) if r is None]
        if labels and len(labels) >= len(free):
            coloured = all(
                r.color is not None and max(r.color) - min(r.color) >= 60 for r in labels
            )
            if coloured:
                pairs = sorted(
                    (float(np.abs(np.subtract(arms[i].color, r.color, dtype=float)).sum()), i, j)
                    for i in free
                    for j, r in enumerate(labels)
                )
                taken = set()
                for _, i, j in pairs:
                    if result[i] is None and j not in taken:
                        result[i] = labels[j].label
                        taken.add(j)
                        how[labels[j].label] = "table row colour"
            else:
                order = _best_fit([traces[i] for i in free], labels, y_map, x_map, frame, len(free))
                for i, j in zip(free, order, strict=True):
                    result[i] = labels[j].label
                    how[labels[j].label] = "table row fit to the curve"
    # A name read short in the legend ("Grade" for "Grade III") is completed by the one table
    # row label whose first words are its words and names no other arm (by words: "Stage I"
    # is no start of "Stage IV").
    if table is not None:
        for i, name in enumerate(result):
            if name is None:
                continue
            longer = [
                r.label
                for r in table.rows
                if _starts_with_words(r.label, name)
                and len(r.label.split()) > len(name.split())
                and r.label not in result
            ]
            if len(longer) == 1 and not any(r.label == name for r in table.rows):
                how[longer[0]] = how.pop(name, "legend") + " + table row label"
                result[i] = longer[0]
    out = []
    for i, name in enumerate(result):
        name = name or f"arm{i + 1}"
        while name in out:
            name += "'"
        out.append(name)
    return out, how


def _printed_statistics(arms, legend: list[LegendEntry], stats) -> dict[str, str]:
    """Arm name -> the median (interval) printed for it: after its name in the legend or a
    label, or alone in the arm's colour (:func:`.legend.match_colors`)."""
    out = {
        e.name: e.statistic for e in legend if e.statistic and any(a.name == e.name for a in arms)
    }
    free = [a for a in arms if a.name not in out]
    if stats and free:
        match = match_colors([s.color for s in stats], [a.color for a in free])
        if match is not None:
            for s, j in zip(stats, match, strict=True):
                out[free[j].name] = s.text
    return out


def _unnamed(arms, printed: dict[str, str], table: RiskTable | None) -> str:
    """The warning for arms the figure names nowhere: what tells them apart, and the fix."""
    parts = []
    for a in arms:
        what = [f"line {a.hex}"]
        if a.name in printed:
            what.append(f"printed {printed[a.name]!r}")
        row = None if table is None else next((r for r in table.rows if r.arm == a.name), None)
        first = None if row is None else next((c for c in row.cells if c.at_risk is not None), None)
        if first is not None:
            what.append(f"{first.at_risk} at risk at {first.time:g}")
        parts.append(f"{a.name} ({', '.join(what)})")
    return (
        "no arm name was read (no legend, label in the plot or table row label): the arms are "
        f"called {'; '.join(parts)}; give their names, in this order (reconstruct --arms A,B; "
        "digitize --names A,B)"
    )


def _starts_with_words(text: str, start: str) -> bool:
    """``text``'s first words are the words of ``start``."""
    words, first = text.split(), start.split()
    return bool(first) and words[: len(first)] == first


def _best_fit(traces, rows, y_map, x_map, frame, k) -> tuple[int, ...]:
    """The assignment of table rows to curves under which the table fits the curves best."""
    from itertools import permutations

    from bayesurv.nonparametric import step_value

    full = 100.0 if max(y_map.val0, y_map.val1) > 1.5 else 1.0
    best, best_cost = tuple(range(k)), np.inf
    for perm in permutations(range(len(rows)), k):
        cost = 0.0
        for trace, j in zip(traces, perm, strict=True):
            cells = [c for c in rows[j].cells if c.at_risk]
            t = trace.curve["time"].to_numpy()
            s = trace.curve["survival"].to_numpy() / full
            for a, b in zip(cells[:-1], cells[1:], strict=True):
                if b.time > t[-1]:
                    break
                s_a, s_b = step_value(t, s, [a.time, b.time])
                if s_a > 0:
                    fall = 1 - s_b / s_a
                    cost += max(0.0, fall - (1 - b.at_risk / a.at_risk))
                    # Censoring is usually small next to events: a table falling much faster
                    # than the curve fits worse too.
                    cost += 0.25 * max(0.0, (1 - b.at_risk / a.at_risk) - fall - 0.3)
        if cost < best_cost:
            best, best_cost = perm, cost
    return best


def _clip_curve(curve: pd.DataFrame) -> pd.DataFrame:
    """Times from 0 and survival within 0-1, as ``bayesurv reconstruct`` takes them."""
    return curve.assign(
        time=curve["time"].clip(lower=0.0), survival=curve["survival"].clip(0.0, 1.0)
    )


def digitize_file(
    path: str | Path,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    *,
    page: int | None = None,
    crop: tuple[int, int, int, int] | None = None,
    panel: int | None = None,
    **kwargs,
) -> Digitized:
    """:func:`digitize` a PNG, JPEG or PDF page (``page``, 1-based) read from ``path``;
    ``crop`` = (left, top, right, bottom) in pixels keeps only that box (pixel coordinates in
    ``x_calib``/``y_calib`` are then those of the cropped image); ``panel`` = K keeps the K-th
    plot of a multi-panel figure, in reading order (:func:`.panels.find_panels`)."""
    rgb = load_image(path, page=page)
    if crop is not None:
        left, top, right, bottom = (int(v) for v in crop)
        h, w = rgb.shape[:2]
        if not (0 <= left < right <= w and 0 <= top < bottom <= h):
            raise InputError(
                f"{path}: --crop {left},{top},{right},{bottom} is not a box inside the "
                f"{w}x{h}-pixel image; give LEFT,TOP,RIGHT,BOTTOM in pixels."
            )
        rgb = rgb[top:bottom, left:right]
    if panel is not None:
        from bayesurv.digitize.panels import find_panels

        boxes = find_panels(rgb)
        if not 1 <= panel <= len(boxes):
            raise InputError(
                f"{path}: --panel {panel} does not exist; {len(boxes)} panel(s) found, give one "
                f"from 1 to {len(boxes)} (or --crop LEFT,TOP,RIGHT,BOTTOM)."
            )
        left, top, right, bottom = boxes[panel - 1]
        rgb = rgb[top:bottom, left:right]
    vector = crop is None and panel is None and is_pdf(path)
    if vector and kwargs.get("colors") is None and kwargs.get("n_arms") is None:
        colors, count = vector_arms(path, page or 1)  # the curves' exact colours
        kwargs["colors"] = colors
        kwargs["n_arms"] = count if colors is None and count else None
    result = digitize(rgb, x_range, y_range, source=str(path), **kwargs)
    if vector:  # a vector PDF's curves are exact
        result = refine_with_vector(result, path, page or 1)
    return result
