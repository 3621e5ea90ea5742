"""Draw what was read over the figure, for a person to check at a glance.

The figure is faded. Drawn over it: the plot frame (grey), the axis lines found (dark blue),
each tick used for the calibration as a short blue stroke with the value read beside it (a
misread label crossed out in red), each arm's traced curve in a vivid colour of its own
(magenta, cyan, orange, green, violet, in arm order; arms that share a line colour in the figure
stay apart) with its censor marks circled, the legend entries boxed in their arm's colour, and
each number at risk redrawn where it was read, in its arm's colour (uncertain cells boxed in
red, missing ones as a red "?").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bayesurv.digitize.frame import Frame

PALETTE = [(230, 0, 230), (0, 190, 230), (255, 140, 0), (0, 170, 0), (120, 60, 220)]
AXIS = (20, 40, 160)
BAD = (220, 0, 0)


def _font(size: int):
    """Pillow's own TrueType face (Aileron, shipped in the wheel since Pillow 10.1) at ``size``
    pixels: no font search, and no matplotlib import (~0.5 s in a fresh process)."""
    return ImageFont.load_default(size=size)


def draw_overlay(
    rgb: np.ndarray,
    frame: Frame,
    traces: Sequence[tuple[tuple[int, int, int], np.ndarray, np.ndarray]],
    *,
    axes=None,
    table=None,
    names: Sequence[str] | None = None,
    legend=None,
) -> Image.Image:
    """Overlay image: ``traces`` holds (colour, curve pixels (col,row), censor pixels) per arm;
    ``axes`` (:class:`bayesurv.digitize.axes.Axes`), ``table``
    (:class:`bayesurv.digitize.table.RiskTable`), ``names`` (arm names in ``traces`` order) and
    ``legend`` entries are drawn where given.

    Examples
    --------
    >>> image = draw_overlay(rgb, frame, [((31, 119, 180), pixels, marks)])  # doctest: +SKIP
    """
    faded = (255 - 0.35 * (255 - rgb.astype(np.float32))).astype(np.uint8)
    image = Image.fromarray(faded, "RGB")
    draw = ImageDraw.Draw(image)
    size = max(9, int(round(0.022 * max(rgb.shape[:2]))))
    font = _font(size)
    draw.rectangle(
        [frame.left, frame.top, frame.right, frame.bottom], outline=(120, 120, 120), width=1
    )
    if axes is not None:
        if axes.x_line is not None:
            row, c0, c1 = axes.x_line
            draw.line([(c0, row), (c1, row)], fill=AXIS, width=2)
        if axes.y_line is not None:
            col, r0, r1 = axes.y_line
            draw.line([(col, r0), (col, r1)], fill=AXIS, width=2)
        for t in axes.x.ticks:
            color = AXIS if t.used else BAD
            draw.line([(t.px, frame.bottom), (t.px, frame.bottom + 8)], fill=color, width=2)
            draw.text((t.px + 2, frame.bottom + 9), f"{t.value:g}", fill=color, font=font)
            if not t.used:
                draw.line([t.box[:2], t.box[2:]], fill=BAD, width=2)
        for t in axes.y.ticks:
            color = AXIS if t.used else BAD
            draw.line([(frame.left - 8, t.px), (frame.left, t.px)], fill=color, width=2)
            draw.text((frame.left - 10, t.px), f"{t.value:g}", fill=color, font=font, anchor="rm")
            if not t.used:
                draw.line([t.box[:2], t.box[2:]], fill=BAD, width=2)
    index = {name: k for k, name in enumerate(names or [])}
    for k, (_, pixels, marks) in enumerate(traces):
        color = PALETTE[k % len(PALETTE)]
        if len(pixels) > 1:
            draw.line([(float(c), float(r)) for c, r in pixels], fill=color, width=2)
        for c, r in marks:
            draw.ellipse([c - 4, r - 4, c + 4, r + 4], outline=color, width=1)
    for e in legend or []:
        k = index.get(e.name)
        color = PALETTE[k % len(PALETTE)] if k is not None else (90, 90, 90)
        draw.rectangle(list(e.box), outline=color, width=1)
        if e.sample_box is not None:
            draw.rectangle(list(e.sample_box), outline=color, width=1)
    if table is not None:
        for row in table.rows:
            k = index.get(row.arm)
            color = PALETTE[k % len(PALETTE)] if k is not None else (90, 90, 90)
            for cell in row.cells:
                if cell.status == "missing":
                    draw.text((cell.col, cell.row), "?", fill=BAD, font=font, anchor="mm")
                    continue
                draw.text(
                    (cell.col, cell.row), str(cell.at_risk), fill=color, font=font, anchor="mm"
                )
                if cell.status == "uncertain":
                    draw.rectangle(list(cell.box), outline=BAD, width=1)
            if row.arm is not None:
                x0 = min(c.box[0] for c in row.cells if c.status != "missing")
                draw.text((x0 - 4, row.row_px), f"{row.arm} >", fill=color, font=font, anchor="rm")
    return image
