"""The panels of a multi-panel figure, in reading order (left to right, then top to bottom).

A panel is a plot whose left axis line meets its bottom axis line at a corner: long straight
runs of dark or grey ink (at least 15% of the image's height and width). Each panel's box runs
from the corner's frame out to the blank rows and columns between it and its neighbours (where
the page is blank nearest three quarters of the way down from one plot to the next, and a
third of the way across, so that a panel keeps its labels, title and numbers-at-risk table).
"""

from __future__ import annotations

import numpy as np

from bayesurv.digitize.frame import grey_levels, line_runs


def _plots(rgb: np.ndarray) -> list[tuple[float, float, float, float]]:
    grey, chroma = grey_levels(rgb)
    ink = (grey < 200) & (chroma < 60)
    height, width = ink.shape
    h_lines = line_runs(ink, max(30, int(0.15 * width)))
    v_lines = line_runs(ink.T, max(30, int(0.15 * height)))
    plots = []
    for v in v_lines:
        for h in h_lines:
            tol = max(6, int(0.02 * max(height, width)))
            if abs(h.start - v.hi) <= tol and abs(v.end - h.mid) <= tol:
                plots.append((float(v.mid), float(v.start), float(h.end), float(h.mid)))
    # One plot per corner: drop a corner inside another plot's frame (a boxed frame's far
    # corner, or a grid line meeting the axis).
    plots.sort(key=lambda p: (p[2] - p[0]) * (p[3] - p[1]), reverse=True)
    kept: list[tuple[float, float, float, float]] = []
    for p in plots:
        cx, cy = 0.5 * (p[0] + p[2]), 0.5 * (p[1] + p[3])
        if any(k[0] - 2 <= cx <= k[2] + 2 and k[1] - 2 <= cy <= k[3] + 2 for k in kept):
            continue
        kept.append(p)
    return kept


def _blank_between(profile: np.ndarray, a: int, b: int, share: float = 0.75) -> int:
    """A blank index in (a, b) nearest ``share`` of the way from a to b (else that point)."""
    target = a + share * (b - a)
    blank = np.flatnonzero(profile[a + 1 : b]) + a + 1
    if blank.size == 0:
        return int(round(target))
    return int(blank[np.argmin(np.abs(blank - target))])


def find_panels(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes ``(left, top, right, bottom)`` of every panel, in reading order.

    Examples
    --------
    >>> boxes = find_panels(rgb)  # doctest: +SKIP
    >>> panel = rgb[boxes[1][1] : boxes[1][3], boxes[1][0] : boxes[1][2]]  # doctest: +SKIP
    """
    height, width = rgb.shape[:2]
    plots = _plots(rgb)
    if len(plots) <= 1:
        return [(0, 0, width, height)]
    grey, _ = grey_levels(rgb)
    blank_rows = (grey > 245).all(axis=1)
    blank_cols = (grey > 245).all(axis=0)
    # Rows of panels: plots whose frames overlap vertically.
    plots.sort(key=lambda p: p[1])
    bands: list[list] = []
    for p in plots:
        if bands and p[1] < max(q[3] for q in bands[-1]):
            bands[-1].append(p)
        else:
            bands.append([p])
    boxes = []
    for i, band in enumerate(bands):
        band.sort(key=lambda p: p[0])
        top = (
            0
            if i == 0
            else _blank_between(
                blank_rows, int(max(q[3] for q in bands[i - 1])), int(min(q[1] for q in band))
            )
        )
        bottom = (
            height
            if i == len(bands) - 1
            else _blank_between(
                blank_rows, int(max(q[3] for q in band)), int(min(q[1] for q in bands[i + 1]))
            )
        )
        for j, p in enumerate(band):
            left = 0 if j == 0 else _blank_between(blank_cols, int(band[j - 1][2]), int(p[0]), 0.35)
            right = (
                width
                if j == len(band) - 1
                else _blank_between(blank_cols, int(p[2]), int(band[j + 1][0]), 0.35)
            )
            boxes.append((left, top, right, bottom))
    return boxes
