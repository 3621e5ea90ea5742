"""Separate the arms of a figure by the colour of their curves.

Inside the plot frame, background (white), light-grey grid lines and the axis lines are set aside.
Arm colours are either given or found as clusters: coloured pixels cluster by hue (which
anti-aliasing against white does not change), grey and black curves by grey level. A cluster
counts as a curve only if it spans a good part of the frame's width, so legend text and labels do
not become arms. Each pixel then goes to the nearest arm colour, if it is nearer to it than to the
background; the fringe of a dark curve, which looks like a lighter grey, stays with the dark curve.
Small blobs that a non-increasing curve cannot pass through (a legend's line sample) are dropped.
When one colour short of the arms asked for, one colour is split into a solid and a dashed curve
(:func:`split_by_style`), as in greyscale figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bayesurv.digitize.frame import Frame, grey_levels
from bayesurv.errors import InputError

WHITE = np.array([255.0, 255.0, 255.0])
MIN_CHROMA = 60
"""Channel spread (0-255) above which a pixel counts as coloured."""
MUTED_CHROMA = 30
"""Channel spread above which a pixel may belong to a muted colour (looked for second)."""
MIN_SPAN = 0.2
"""Share of the frame's width a colour must cover to count as a curve."""


@dataclass
class Arm:
    """One curve: its colour and the pixels drawn in it (a boolean mask of the whole image)."""

    name: str
    color: tuple[int, int, int]
    mask: np.ndarray
    style: str = "solid"
    bands: np.ndarray | None = None
    """Dashed confidence bands drawn in the arm's colour (kept out of ``mask``), if any."""

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.color)


def parse_colors(text: str) -> list[tuple[int, int, int]]:
    """Parse ``"#1f77b4,#d62728"`` (or matplotlib names such as ``black``, ``0.5``) into RGB."""
    from matplotlib.colors import to_rgb

    colors = []
    for part in str(text).split(","):
        try:
            rgb = to_rgb(part.strip())
        except ValueError:
            raise InputError(
                f"--colors: {part.strip()!r} is not a colour; give hex colours such as "
                "--colors '#1f77b4,#d62728'."
            ) from None
        colors.append(tuple(int(round(255 * c)) for c in rgb))
    if len(set(colors)) != len(colors):
        raise InputError("--colors repeats a colour; give each arm's colour once.")
    return colors


def plot_box(frame: Frame, shape: tuple[int, int], pad: int = 3) -> tuple[slice, slice]:
    """Row and column slices of the frame, widened by ``pad`` pixels."""
    top = max(int(np.floor(frame.top)) - pad, 0)
    bottom = min(int(np.ceil(frame.bottom)) + pad + 1, shape[0])
    left = max(int(np.floor(frame.left)) - pad, 0)
    right = min(int(np.ceil(frame.right)) + pad + 1, shape[1])
    return slice(top, bottom), slice(left, right)


def _background(rgb: np.ndarray, frame: Frame, box: tuple[slice, slice]) -> np.ndarray:
    """Pixels of the box that are background, grid lines or axis lines."""
    crop = rgb[box].astype(np.float32)
    grey, chroma = grey_levels(crop)
    back = (grey > 235) & (chroma < 25)
    light = (chroma < 30) & (grey >= 120) & ~back
    # Grid lines: rows/columns where light grey spans most of the frame.
    grid_rows = light.mean(axis=1) > 0.5
    grid_cols = light.mean(axis=0) > 0.5
    grid_rows = ndimage.binary_dilation(grid_rows, iterations=1)
    grid_cols = ndimage.binary_dilation(grid_cols, iterations=1)
    grid = light & (grid_rows[:, None] | grid_cols[None, :])
    # Axis lines (drawn over the curves by matplotlib): a band about each frame edge.
    rows = np.arange(box[0].start, box[0].stop, dtype=float)[:, None]
    cols = np.arange(box[1].start, box[1].stop, dtype=float)[None, :]
    spine = (np.abs(rows - frame.bottom) <= 1.2) | (np.abs(cols - frame.left) <= 1.2)
    if frame.boxed:
        spine = spine | (np.abs(rows - frame.top) <= 1.2) | (np.abs(cols - frame.right) <= 1.2)
    spine = spine & (chroma < 30)
    return back | grid | spine


def _hue(crop: np.ndarray) -> np.ndarray:
    """Hue in degrees (0-360) of float RGB pixels."""
    r, g, b = crop[..., 0], crop[..., 1], crop[..., 2]
    mx = crop.max(axis=-1)
    mn = crop.min(axis=-1)
    delta = np.where(mx - mn == 0, 1.0, mx - mn)
    hue = np.where(
        mx == r, ((g - b) / delta) % 6, np.where(mx == g, (b - r) / delta + 2, (r - g) / delta + 4)
    )
    return hue * 60.0


def _peaks(hist: np.ndarray, min_count: float, reach: int, circular: bool) -> list[int]:
    """Bins that are the largest within ``reach`` bins and hold at least ``min_count``."""
    mode = "wrap" if circular else "constant"
    local_max = ndimage.maximum_filter1d(hist, size=2 * reach + 1, mode=mode)
    peaks = np.flatnonzero((hist == local_max) & (hist >= min_count))
    # Plateaus give adjacent equal maxima; keep one per plateau.
    kept: list[int] = []
    for p in peaks:
        if not kept or p - kept[-1] > reach:
            kept.append(int(p))
    return kept


def find_colors(
    rgb: np.ndarray, frame: Frame, box: tuple[slice, slice] | None = None
) -> list[tuple[tuple[int, int, int], int]]:
    """Candidate curve colours inside the frame, each with its pixel count, largest first."""
    box = box or plot_box(frame, rgb.shape[:2])
    crop = rgb[box].astype(np.float32)
    free = ~_background(rgb, frame, box)
    grey, chroma = grey_levels(crop)
    width = crop.shape[1]
    min_count = max(20.0, 0.3 * MIN_SPAN * width)
    found: list[tuple[tuple[int, int, int], int]] = []

    def covers(sel: np.ndarray) -> bool:
        # A curve has horizontal runs (plateaus, dashes, dots) across the plot: censor ticks
        # drawn in their own colour (black ticks on coloured curves) are vertical strokes only.
        runs = ndimage.binary_opening(sel, structure=np.ones((1, 3), bool))
        if runs.any(axis=0).sum() < MIN_SPAN * width:
            return False
        return falls_once(sel, runs, width)

    # Coloured curves: hue clusters; muted colours (a dark teal or maroon in a JPEG, with a
    # channel spread of 30-60) only where no vivid colour of their hue is found.
    hue = _hue(crop)
    hues: list[float] = []
    for min_chroma in (MIN_CHROMA, MUTED_CHROMA):
        coloured = free & (chroma >= min_chroma)
        if coloured.sum() < min_count:
            continue
        hist = np.bincount((hue[coloured] // 5).astype(int) % 72, minlength=72).astype(float)
        smooth = ndimage.convolve1d(hist, [1.0, 2.0, 1.0], mode="wrap") / 4.0
        peaks = _peaks(smooth, max(min_count, 0.05 * smooth.max()), reach=3, circular=True)
        for p in peaks:
            centre = (p + 0.5) * 5.0
            if any(abs((centre - h + 180.0) % 360.0 - 180.0) <= 30.0 for h in hues):
                continue
            near = coloured & (np.abs((hue - centre + 180.0) % 360.0 - 180.0) <= 15.0)
            if not covers(near):
                continue
            # The line's own colour is its most saturated: shaded bands of the same hue are
            # paler and may hold far more pixels.
            strong = near & (chroma >= 0.85 * np.quantile(chroma[near], 0.99))
            color = tuple(int(round(v)) for v in np.median(crop[strong], axis=0))
            found.append((color, int(near.sum())))
            hues.append(centre)
    # Grey and black curves: grey-level clusters.
    # The anti-aliased fringe of a dark line is lighter grey: pixels next to a much darker one
    # are left out, so a black curve does not also count as a grey one.
    fringe = grey - ndimage.minimum_filter(grey, size=3) > 40
    greyish = free & (chroma < 30) & (grey < 170) & ~fringe
    if greyish.sum() >= min_count:
        hist = np.bincount((grey[greyish] // 8).astype(int), minlength=32).astype(float)
        peaks = _peaks(hist, max(min_count, 0.15 * hist.max()), reach=3, circular=False)
        for p in peaks:
            centre = (p + 0.5) * 8.0
            near = greyish & (np.abs(grey - centre) <= 14.0)
            if covers(near):
                level = int(round(float(np.median(grey[near]))))
                found.append(((level, level, level), int(near.sum())))
    found.sort(key=lambda item: -item[1])
    return found


def falls_once(pixels: np.ndarray, runs: np.ndarray, width: int) -> bool:
    """Can these pixels hold a curve: is any piece spanning 5% of the width more than a
    straight line (the rules of a table printed in the plot, or of a grid, are flat lines; a
    curve's long pieces hold its drops)? A curve in dots or dashes has no long piece and
    passes."""
    whole, _ = ndimage.label(pixels, structure=np.ones((3, 3), bool))
    heights = [
        sl[0].stop - sl[0].start
        for sl in ndimage.find_objects(whole)
        if sl is not None and sl[1].stop - sl[1].start >= 0.05 * width
    ]
    return not heights or max(heights) > 3


def _drop_small_blobs(mask: np.ndarray, tol: float = 3.0, grow: int = 5) -> np.ndarray:
    """Remove small blobs (a legend's line sample, stray text) that do not fit the curve.

    A blob is small when it holds under 10% of the pixels and spans under 15% of the width. A
    survival curve never rises, so a small blob is kept only where the large pieces to its left
    lie above it and those to its right lie below it.
    """
    if not mask.any():
        return mask
    grown = ndimage.binary_dilation(mask, structure=np.ones((grow, grow), bool))
    labels, n = ndimage.label(grown)
    if n <= 1:
        return mask
    labels = np.where(mask, labels, 0)
    sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, n + 1))
    slices = ndimage.find_objects(labels)
    width = mask.shape[1]
    total = sizes.sum()
    big = np.zeros(n + 1, bool)
    for i, (sl, size) in enumerate(zip(slices, sizes, strict=True), start=1):
        if sl is not None:
            big[i] = size >= 0.1 * total or (sl[1].stop - sl[1].start) >= 0.15 * width
    big_mask = big[labels]
    if not big_mask.any():
        return mask
    rows = np.arange(mask.shape[0])[:, None]
    top = np.where(big_mask, rows, mask.shape[0]).min(axis=0).astype(float)
    bottom = np.where(big_mask, rows, -1).max(axis=0).astype(float)
    present = big_mask.any(axis=0)
    # Lowest point of the large pieces up to each column, highest point from each column on.
    low_left = np.maximum.accumulate(np.where(present, bottom, -np.inf))
    high_right = np.minimum.accumulate(np.where(present, top, np.inf)[::-1])[::-1]
    keep = big.copy()
    for i, sl in enumerate(slices, start=1):
        if sl is None or big[i]:
            continue
        r0, r1 = sl[0].start, sl[0].stop - 1
        c0, c1 = sl[1].start, sl[1].stop - 1
        left_ok = c0 == 0 or low_left[c0 - 1] <= r1 + tol
        right_ok = c1 + 1 >= width or high_right[c1 + 1] >= r0 - tol
        keep[i] = left_ok and right_ok
    return mask & keep[labels]


def assign_pixels(
    rgb: np.ndarray, frame: Frame, colors: list[tuple[int, int, int]], clean: bool = True
) -> list[np.ndarray]:
    """Boolean mask (whole image) of the pixels of each colour in ``colors``.

    ``clean`` drops small blobs that do not fit a curve (:func:`_drop_small_blobs`).
    """
    box = plot_box(frame, rgb.shape[:2])
    crop = rgb[box].astype(np.float32)
    free = ~_background(rgb, frame, box)
    palette = np.array(colors, dtype=np.float32)
    dist = np.linalg.norm(crop[:, :, None, :] - palette[None, None, :, :], axis=-1)
    to_white = np.linalg.norm(crop - WHITE, axis=-1)
    nearest = dist.argmin(axis=-1)
    best = dist.min(axis=-1)
    contrast = np.linalg.norm(palette - WHITE, axis=-1)
    ok = free & (best < to_white) & (best < np.maximum(45.0, 0.45 * contrast[nearest]))
    # A coloured line's anti-aliased edge is a blend of its colour and the white behind it; a
    # grey pixel (the fringe of a black censor tick drawn over the line) is not, however near.
    # So a pixel keeps at least 40% of the chroma its blend would have, and, where it has some
    # colour, the hue: the pale fringe of a maroon line is no teal, however near in RGB.
    chroma = palette.max(axis=-1) - palette.min(axis=-1)
    pixel_chroma = crop.max(axis=-1) - crop.min(axis=-1)
    pixel_hue = _hue(crop)
    palette_hue = _hue(palette[None, :, :])[0]
    off_blend = np.zeros(crop.shape[:2], bool)
    for k, color in enumerate(palette):
        if chroma[k] < MUTED_CHROMA:
            continue
        direction = (WHITE - color) / max(contrast[k], 1e-9)
        along = np.clip((crop - color) @ direction, 0.0, contrast[k])
        expected = chroma[k] * (1.0 - along / contrast[k])
        turned = np.abs((pixel_hue - palette_hue[k] + 180.0) % 360.0 - 180.0) > 45.0
        off_blend |= (nearest == k) & (
            (pixel_chroma < 0.4 * expected) | (turned & (pixel_chroma >= 15))
        )
    ok &= ~off_blend
    masks = [ok & (nearest == k) for k in range(len(colors))]
    # The fringe of a darker curve blends towards white and can look like a lighter arm's
    # colour: where a lighter colour lies on the darker one's blend line, fringe pixels
    # touching the darker curve's core stay with the darker curve.
    for j, cj in enumerate(palette):
        direction = (WHITE - cj) / max(contrast[j], 1e-9)
        core_j = ok & (nearest == j) & (dist[..., j] < 0.25 * contrast[j])
        near_core = ndimage.binary_dilation(core_j, structure=np.ones((3, 3), bool), iterations=2)
        for i, ci in enumerate(palette):
            if i == j or contrast[i] >= contrast[j]:
                continue
            offset = ci - cj
            residual = np.linalg.norm(offset - np.dot(offset, direction) * direction)
            if residual < 30.0:
                moved = masks[i] & near_core
                masks[i] = masks[i] & ~moved
                masks[j] = masks[j] | moved
    full = []
    for mask in masks:
        whole = np.zeros(rgb.shape[:2], bool)
        whole[box] = _drop_small_blobs(mask) if clean else mask
        full.append(whole)
    return full


def line_style(mask: np.ndarray) -> str:
    """``"solid"``, ``"dashed"`` or ``"dotted"``: how one curve's pixels are drawn.

    After ticks of another colour are bridged (a closing along rows by 3 pixels), a solid curve
    lies in long pieces (at least 5% of the plot's width) that hold most of its pixels; a dashed
    or dotted one holds under a quarter there. Dotted: its pieces are at most twice as long as
    the line is thick.
    """
    if not mask.any():
        return "solid"
    closed = mask | ndimage.binary_closing(mask, structure=np.ones((1, 3), bool))
    labels, n = ndimage.label(closed, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel())[1:]
    slices = ndimage.find_objects(labels)
    extent = np.array([sl[1].stop - sl[1].start for sl in slices], dtype=float)
    span = max(int(closed.any(axis=0).sum()), 1)
    if sizes[extent >= 0.05 * span].sum() >= 0.25 * sizes.sum():
        return "solid"
    thick = np.array([sl[0].stop - sl[0].start for sl in slices], dtype=float)
    return "dotted" if np.median(extent) <= 2.0 * np.median(thick) + 1 else "dashed"


def split_bands(mask: np.ndarray, min_span: int) -> tuple[np.ndarray, np.ndarray] | None:
    """A curve drawn with dashed confidence bands in its own colour: ``(curve, bands)``, or None.

    The pixels split into a solid curve and dashed pieces (:func:`split_by_style`); they are
    bands when, in at least 40% of the stretches of 15 columns where both show, dashes lie both
    above and below the solid curve (a second arm in the same colour lies on one side, and the
    other arms and the marks hide parts of the bands).
    """
    split = split_by_style(mask, min_span)
    if split is None:
        return None
    solid, dashed = split
    rows = np.arange(mask.shape[0])[:, None]
    has = solid.any(axis=0)
    centre = np.where(has, (solid * rows).sum(axis=0) / np.maximum(solid.sum(axis=0), 1), np.nan)
    above = (dashed & (rows < centre[None, :] - 2)).any(axis=0)
    below = (dashed & (rows > centre[None, :] + 2)).any(axis=0)
    both, either = [], []
    for c in range(0, mask.shape[1] - 14, 15):
        sl = slice(c, c + 15)
        if has[sl].any() and (above[sl].any() or below[sl].any()):
            either.append(c)
            both.append(above[sl].any() and below[sl].any())
    if len(either) < 5 or np.mean(both) < 0.4:
        return None
    return solid, dashed


def split_by_style(mask: np.ndarray, min_span: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Split one colour's pixels into a solid and a dashed (or dotted) curve.

    A dashed curve falls apart into many short pieces of about the same size; a solid one stays in
    long pieces. Pieces longer than three times the median piece (and than 5% of the width) are
    the solid curve. Returns ``(solid, dashed)``, or None when there are not two such curves each
    spanning ``min_span`` columns. Where the two curves touch, the dashes there go with the solid
    curve and the dashed curve has a gap.
    """
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n < 10:
        return None
    slices = ndimage.find_objects(labels)
    extent = np.array(
        [max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) for sl in slices], dtype=float
    )
    long = extent > max(3.0 * np.median(extent), 0.05 * mask.shape[1])
    solid = np.r_[False, long][labels]
    dashed = mask & ~solid
    if min(solid.any(axis=0).sum(), dashed.any(axis=0).sum()) < min_span:
        return None
    return solid, dashed


def _style_arms(
    rgb: np.ndarray,
    split: tuple[np.ndarray, np.ndarray],
    color: tuple[int, int, int] | None = None,
) -> list[Arm]:
    """A solid and a dashed arm from :func:`split_by_style`, each cleaned of stray blobs."""
    # Dashes are apart by up to a few line widths: bridge them before cleaning.
    solid, dashed = _drop_small_blobs(split[0]), _drop_small_blobs(split[1], grow=11)
    arms = []
    for k, (mask, style) in enumerate(((solid, "solid"), (dashed, "dashed"))):
        shade = color or tuple(int(v) for v in np.median(rgb[mask], axis=0))
        arms.append(Arm(f"arm{k + 1}", shade, mask, style))
    return arms


def _grey_arms(
    rgb: np.ndarray,
    frame: Frame,
    greys: list[tuple[int, int, int]],
    n_arms: int | None,
    min_span: int,
) -> list[Arm] | None:
    """Arms of a greyscale figure: by grey level, else by line style.

    A coarse image shows one black line in several grey levels (wholly and partly covered
    pixels) that alternate along it; levels whose pixels touch (more than 5% of either's pixels
    next to the other's) are one line. Returns None when neither way gives ``n_arms`` arms
    (``None``: as many as there are lines).
    """
    masks = assign_pixels(rgb, frame, greys, clean=False)
    groups: list[list[int]] = []
    near = [ndimage.binary_dilation(m, structure=np.ones((3, 3), bool)) for m in masks]
    for i in range(len(greys)):
        for group in groups:
            if any(
                (masks[i] & near[j]).sum() > 0.05 * max(masks[i].sum(), 1)
                or (masks[j] & near[i]).sum() > 0.05 * max(masks[j].sum(), 1)
                for j in group
            ):
                group.append(i)
                break
        else:
            groups.append([i])
    unions = [np.logical_or.reduce([masks[i] for i in g]) for g in groups]
    order = np.argsort([-u.sum() for u in unions])
    if n_arms is None or len(groups) >= n_arms:
        return [
            Arm(f"arm{k + 1}", greys[groups[g][0]], _drop_small_blobs(unions[g]))
            for k, g in enumerate(order[: n_arms or len(order)])
        ]
    if len(groups) == n_arms - 1:
        for g in order:
            split = split_by_style(unions[g], min_span)
            if split is not None:
                others = [
                    Arm("", greys[groups[h][0]], _drop_small_blobs(unions[h]))
                    for h in order
                    if h != g
                ]
                arms = _style_arms(rgb, split) + others
                for k, arm in enumerate(arms):
                    arm.name = f"arm{k + 1}"
                return arms
    return None


def separate_arms(
    rgb: np.ndarray,
    frame: Frame,
    n_arms: int | None = None,
    colors: list[tuple[int, int, int]] | None = None,
    source: str = "figure",
    exclude: np.ndarray | None = None,
) -> list[Arm]:
    """Split the curves inside ``frame`` into arms by colour (or line style).

    Parameters
    ----------
    rgb
        The figure.
    frame
        The plot frame (:func:`bayesurv.digitize.frame.find_frame`).
    n_arms
        How many arms to find when ``colors`` is not given (default: every curve colour found).
    colors
        The arms' line colours, in the order the arms are to be named. Without them, arms are
        named by how many pixels they hold, most first; a solid arm comes before its dashed
        partner.
    exclude
        Pixels that belong to no curve (text, legend, in-plot tables, drop-lines; boolean, whole
        image): read as background.

    Raises
    ------
    InputError
        Fewer curve colours than ``n_arms`` are found, or a given colour has no curve.
    """
    if exclude is not None:
        rgb = rgb.copy()
        rgb[exclude] = 255
    if colors is None:
        found = find_colors(rgb, frame)
        min_span = int(MIN_SPAN * frame.width)
        greyscale = bool(found) and all(max(c) - min(c) < 30 for c, _ in found)
        if greyscale:
            arms = _grey_arms(rgb, frame, [c for c, _ in found], n_arms, min_span)
            if arms is not None:
                return arms
        if n_arms is not None and len(found) == n_arms - 1 and found:
            # One colour short: look for a solid and a dashed curve in the same colour.
            colors = [color for color, _ in found]
            masks = assign_pixels(rgb, frame, colors, clean=False)
            for k, mask in enumerate(masks):
                split = split_by_style(mask, min_span)
                if split is not None:
                    others = [
                        Arm("", color, _drop_small_blobs(m))
                        for j, (color, m) in enumerate(zip(colors, masks, strict=True))
                        if j != k
                    ]
                    arms = _style_arms(rgb, split, colors[k]) + others
                    for i, arm in enumerate(arms):
                        arm.name = f"arm{i + 1}"
                    return arms
        if n_arms is not None and len(found) < n_arms:
            raise InputError(
                f"{source}: found {len(found)} curve colour(s), and no solid/dashed pair, but "
                f"--arms asks for {n_arms}; give the line colours with --colors (e.g. --colors "
                "'#1f77b4,#d62728'), or crop the figure so that it shows fewer curves."
            )
        if not found:
            raise InputError(
                f"{source}: no curve found inside the plot frame; "
                "give the line colours with --colors."
            )
        colors = [color for color, _ in found[: n_arms or len(found)]]
    masks = assign_pixels(rgb, frame, colors)
    arms = []
    for k, (color, mask) in enumerate(zip(colors, masks, strict=True)):
        span = mask.any(axis=0).sum()
        if span < 0.05 * frame.width:
            hexcode = "#{:02x}{:02x}{:02x}".format(*color)
            raise InputError(
                f"{source}: no curve drawn in colour {hexcode} inside the plot frame; "
                "check --colors against the figure's line colours."
            )
        arm = Arm(f"arm{k + 1}", tuple(int(c) for c in color), mask, line_style(mask))
        bands = split_bands(mask, int(MIN_SPAN * frame.width))
        if bands is not None:
            arm.mask, arm.bands = _drop_small_blobs(bands[0]), bands[1]
            arm.style = "solid"
        arms.append(arm)
    return arms
