"""Read a Kaplan-Meier figure into one step curve per arm: the whole digitizing pipeline.

frame (:mod:`.frame`) -> arms by colour (:mod:`.arms`) -> step trace and censor marks per arm
(:mod:`.trace`, :mod:`.censor`) -> overlay (:mod:`.overlay`). The output curves are
``time,survival`` tables with survival as a proportion (a percent axis is divided by 100), the
format ``bayesurv reconstruct`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from bayesurv.digitize.arms import separate_arms
from bayesurv.digitize.frame import (
    Frame,
    calibrate,
    check_survival_range,
    find_frame,
)
from bayesurv.digitize.image import load_image
from bayesurv.digitize.overlay import draw_overlay
from bayesurv.digitize.trace import trace_arm
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
    styles
        Arm name -> ``"solid"`` or ``"dashed"`` (told apart only when two arms share a colour).
    frame
        The plot frame in pixels.
    overlay
        The figure with what was read drawn over it.
    report
        Frame, calibration, arms and warnings as plain data (JSON-ready).
    """

    curves: dict[str, pd.DataFrame]
    censor_marks: pd.DataFrame
    colors: dict[str, str]
    frame: Frame
    overlay: Image.Image
    report: dict = field(default_factory=dict)
    styles: dict[str, str] = field(default_factory=dict)


def digitize(
    rgb: np.ndarray,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    *,
    n_arms: int | None = None,
    colors: list[tuple[int, int, int]] | None = None,
    x_calib: tuple[tuple[float, float], tuple[float, float]] | None = None,
    y_calib: tuple[tuple[float, float], tuple[float, float]] | None = None,
    source: str = "figure",
) -> Digitized:
    """Digitize the Kaplan-Meier curves of a figure image.

    Parameters
    ----------
    rgb
        ``(height, width, 3)`` uint8 image (:func:`bayesurv.digitize.image.load_image`).
    x_range, y_range
        Axis values at the frame's left/right and bottom/top edges.
    n_arms
        Number of arms to find by colour (default: every curve colour found).
    colors
        The arms' line colours, in order (instead of ``n_arms``).
    x_calib, y_calib
        Two ``(pixel, value)`` points per axis (column for x, row for y), instead of the ranges.
    source
        Name of the figure for messages.

    Raises
    ------
    InputError
        A range does not fit, or the frame or the curves cannot be found; the message says what
        to give instead.

    Examples
    --------
    >>> result = digitize(load_image("km.png"), (0, 60), (0, 1), n_arms=2)  # doctest: +SKIP
    >>> result.curves["arm1"].head()  # doctest: +SKIP
    """
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
    try:
        frame = find_frame(rgb, source)
    except InputError:
        if x_calib is None or y_calib is None:
            raise
        height, width = rgb.shape[:2]
        frame = Frame(0.0, width - 1.0, 0.0, height - 1.0, boxed=False)
    x_map, y_map = calibrate(frame, x_range, y_range, x_calib, y_calib)
    y_values = y_map.to_data([frame.top, frame.bottom])
    percent = float(np.max(y_values)) > 1.5
    scale = 100.0 if percent else 1.0
    arms = separate_arms(rgb, frame, n_arms=n_arms, colors=colors, source=source)

    curves: dict[str, pd.DataFrame] = {}
    marks: list[pd.DataFrame] = []
    arm_reports = []
    drawn = []
    warnings: list[str] = []
    for k, arm in enumerate(arms):
        try:
            trace = trace_arm(arm.mask, frame, x_map, y_map)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None
        # Arms told apart by line style come as a solid arm followed by its dashed partner.
        sibling = arms[k + 1] if k + 1 < len(arms) and arms[k + 1].style == "dashed" else None
        if arm.style == "solid" and sibling is not None and not trace.curve.empty:
            # Dashes touching the solid curve were taken for part of it: what lies off the
            # solid curve's traced path goes back to the dashed curve, and both are read again.
            path = _path_mask(arm.mask.shape, trace.pixels, trace.line_width)
            sibling.mask = sibling.mask | (arm.mask & ~path)
            arm.mask = arm.mask & path
            trace = trace_arm(arm.mask, frame, x_map, y_map)
        if trace.curve.empty or trace.hidden > MAX_HIDDEN:
            raise InputError(
                f"{source}: the curve in colour {arm.hex} could not be followed across the plot "
                f"({trace.hidden:.0%} of it unreadable); give each arm's line colour with --colors."
            )
        if trace.hidden > 0.3:
            warnings.append(f"{arm.name}: {trace.hidden:.0%} of the curve's columns were hidden.")
        curve = trace.curve.assign(survival=trace.curve["survival"] / scale)
        curves[arm.name] = curve
        marks.append(
            trace.censor.assign(arm=arm.name, survival=trace.censor["survival"] / scale)[
                ["arm", "time", "survival"]
            ]
        )
        drawn.append((arm.color, trace.pixels, trace.censor_pixels))
        arm_reports.append(
            {
                "arm": arm.name,
                "color": arm.hex,
                "style": arm.style,
                "points": int(len(curve)),
                "censor_marks": int(len(trace.censor)),
                "line_width_px": trace.line_width,
                "hidden_share": round(trace.hidden, 3),
                "time_end": float(curve["time"].iloc[-1]),
                "survival_end": float(curve["survival"].iloc[-1]),
            }
        )
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
        },
        "arms": arm_reports,
        "warnings": warnings,
    }
    overlay = draw_overlay(rgb, frame, drawn)
    colors_by_arm = {arm.name: arm.hex for arm in arms}
    styles = {arm.name: arm.style for arm in arms}
    return Digitized(curves, censor_marks, colors_by_arm, frame, overlay, report, styles)


def _path_mask(shape: tuple[int, int], pixels: np.ndarray, width: float) -> np.ndarray:
    """Pixels within about a line width of a traced path (image coordinates)."""
    from PIL import ImageDraw

    canvas = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(canvas).line(
        [(float(c), float(r)) for c, r in pixels], fill=255, width=int(np.ceil(width)) + 3
    )
    return np.asarray(canvas) > 0


def digitize_file(
    path: str | Path,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    *,
    page: int | None = None,
    crop: tuple[int, int, int, int] | None = None,
    **kwargs,
) -> Digitized:
    """:func:`digitize` a PNG, JPEG or PDF page (``page``, 1-based) read from ``path``;
    ``crop`` = (left, top, right, bottom) in pixels keeps only that box (pixel coordinates in
    ``x_calib``/``y_calib`` are then those of the cropped image)."""
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
    return digitize(rgb, x_range, y_range, source=str(path), **kwargs)
