"""Draw what was read over the figure, for a person to check at a glance.

The figure is faded; the frame found is outlined in grey, each arm's traced curve is drawn in a
vivid colour of its own (magenta, cyan, orange, green, in arm order; arms that share a line colour
in the figure stay apart), and each censor mark read is circled in the same colour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from bayesurv.digitize.frame import Frame

PALETTE = [(230, 0, 230), (0, 190, 230), (255, 140, 0), (0, 170, 0), (120, 60, 220)]


def draw_overlay(
    rgb: np.ndarray,
    frame: Frame,
    traces: Sequence[tuple[tuple[int, int, int], np.ndarray, np.ndarray]],
) -> Image.Image:
    """Overlay image: ``traces`` holds (colour, curve pixels (col,row), censor pixels) per arm.

    Examples
    --------
    >>> image = draw_overlay(rgb, frame, [((31, 119, 180), pixels, marks)])  # doctest: +SKIP
    """
    faded = (255 - 0.35 * (255 - rgb.astype(np.float32))).astype(np.uint8)
    image = Image.fromarray(faded, "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle(
        [frame.left, frame.top, frame.right, frame.bottom], outline=(120, 120, 120), width=1
    )
    for k, (_, pixels, marks) in enumerate(traces):
        color = PALETTE[k % len(PALETTE)]
        if len(pixels) > 1:
            draw.line([(float(c), float(r)) for c, r in pixels], fill=color, width=2)
        for c, r in marks:
            draw.ellipse([c - 4, r - 4, c + 4, r + 4], outline=color, width=1)
    return image
