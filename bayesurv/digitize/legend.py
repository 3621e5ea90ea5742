"""Arm names from the figure's text: legend entries, labels printed beside the curves, and what
must be kept out of the curves (text, legend samples).

A legend entry is a line of text with a short line sample just left of it: its colour is the
arm's line colour, and a sample broken into dashes (a gap of two pixels or more along it) marks
a dashed or dotted arm. A label printed inside the plot in a curve's colour (NEJM style) names
that curve. A median with its interval printed after a name (``Pembrolizumab 10.4 mo
(5.9-18.3)``, a colour-coded box of medians) is no part of the name: the name is the text
before it, and the line names an arm by its colour wherever it stands in the legend's search
region. A line that is only such a statistic (``10.4 mo (5.9-18.3)``) names nothing; it is
returned by :func:`printed_statistics`, with its colour, to say which arm it belongs to.

The exclusion mask covers every word in and around the plot and every legend sample, widened by
two pixels, so that the curve reader never takes text for a curve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bayesurv.digitize.frame import Frame, grey_levels
from bayesurv.digitize.ocr import Word, line_box, line_text, text_lines

HEADINGS = {"strata", "group", "groups", "arm", "arms", "treatment", "legend", "censored"}
"""Legend titles (survminer's ``Strata``) and SAS's ``Censored`` key, not arm names."""


@dataclass
class LegendEntry:
    """One arm named in the figure: text, colour (RGB), line style and where it was found."""

    name: str
    color: tuple[int, int, int] | None
    style: str  # "solid", "dashed" or "" (no sample)
    box: tuple[float, float, float, float]
    kind: str  # "legend" or "label"
    sample_box: tuple[float, float, float, float] | None = None
    statistic: str = ""  # a median (interval) printed after the name

    @property
    def hex(self) -> str | None:
        return None if self.color is None else "#{:02x}{:02x}{:02x}".format(*self.color)


INK_CHROMA = 60.0
"""Colour this far from grey (max - min of RGB) is ink, whatever its grey level."""
PALE_CHROMA = 25.0
"""A pastel key drawn thin and antialiased keeps only this much chroma (grey level >= 200)."""

STATISTICS = re.compile(
    r"\b(hr|hazard|ci|p\s*[=<>]|log.?rank|median|events?|no\.? at risk|number)\b|95\s*%",
    re.IGNORECASE,
)
"""Text that reports a statistic (HR, CI, p, medians) or heads the table: never an arm."""


_NUM = r"(?:\d+(?:[.,\u00b7]\d+)?|NR|NE|NA|not reached)"
_UNIT = r"(?:mo|mos|months?|m|wk|wks|weeks?|yr|yrs|years?|d|days?)"
STATISTIC_TAIL = re.compile(
    r"(?:^|[\s:;,=]+)(?P<stat>(?:median\s*[:=]?\s*)?" + _NUM + r"\s*" + _UNIT + r"?\.?\s*"
    r"[(\[]\s*"
    + _NUM
    + r"\s*(?:-|\u2010|\u2011|\u2012|\u2013|\u2014|to|,|;)\s*"
    + _NUM
    + r"\s*[)\]])\s*$",
    re.IGNORECASE,
)
"""A median and its interval closing a line: ``10.4 (5.9-18.3)``, ``10.4 mo (5.9-18.3)``,
``NR (12.1-NR)``, ``median: 8.0 months [5.1, 9.9]``."""
_COUNT_TAIL = re.compile(r"[\s:;,]*\(\s*n\s*=\s*\d+\s*\)\s*$", re.IGNORECASE)


def split_statistic(text: str) -> tuple[str, str]:
    """``(name, statistic)`` of a line that may end in a median with its interval: the
    statistic and what stands between it and the name (``:``, ``(n = 53)``) are cut off.

    >>> split_statistic("Pembrolizumab: 10.4 mo (5.9-18.3)")
    ('Pembrolizumab', '10.4 mo (5.9-18.3)')
    >>> split_statistic("10.4 mo (5.9-18.3)")
    ('', '10.4 mo (5.9-18.3)')
    >>> split_statistic("Fulvestrant 500 mg")
    ('Fulvestrant 500 mg', '')

    A name that merely ends in numbers in parentheses stays whole: the value must lie inside its
    interval, and be printed as a median is (a decimal, a time unit, NR/NE or the word median).

    >>> split_statistic("Cohort 2 (2005-2010)")
    ('Cohort 2 (2005-2010)', '')
    >>> split_statistic("Age 65 (60-70)")
    ('Age 65 (60-70)', '')
    """
    m = STATISTIC_TAIL.search(text)
    if m is None or not _is_median(m["stat"]):
        return text.strip(), ""
    name = _COUNT_TAIL.sub("", text[: m.start()]).strip().rstrip(":;,=-").strip()
    return name, m["stat"].strip()


def median_value(stat: str) -> tuple[float, float] | None:
    """The median of a statistic cut off by :func:`split_statistic` and half a unit of its last
    printed digit (the rounding it was printed with): ``(inf, 0)`` for NR/NE/NA/'not reached',
    None when ``stat`` reads as no median.

    >>> median_value("10.4 mo (5.9-18.3)")
    (10.4, 0.05)
    >>> median_value("NR (12.1-NR)")
    (inf, 0.0)
    >>> median_value("Fulvestrant 500 mg")
    """
    if not _is_median(stat):
        return None
    value = re.findall(_NUM, stat, flags=re.IGNORECASE)[-3]
    if value.lower() in ("nr", "ne", "na", "not reached"):
        return float("inf"), 0.0
    value = re.sub(r"[,\u00b7]", ".", value)
    decimals = len(value.partition(".")[2])
    return float(value), 0.5 * 10.0**-decimals


def _is_median(stat: str) -> bool:
    """``stat`` reads as a median with its interval: the value inside the interval (NR, NE, NA
    and 'not reached' as infinity) and written as one (a decimal, a unit, NR/NE, 'median')."""
    values = [
        np.inf
        if v.lower() in ("nr", "ne", "na", "not reached")
        else float(re.sub(r"[,\u00b7]", ".", v))
        for v in re.findall(_NUM, stat, flags=re.IGNORECASE)
    ]
    if len(values) < 3:
        return False
    mid, lo, hi = values[-3:]
    if not lo <= mid <= hi:
        return False
    looks = re.search(r"\d[.,\u00b7]\d|\b(nr|ne|na|not reached|median)\b", stat, re.IGNORECASE)
    unit = re.search(r"\d\s*" + _UNIT + r"\b", stat, re.IGNORECASE)
    return bool(looks or unit)


def _is_name(text: str) -> bool:
    words = text.replace("(", " ").replace(")", " ").split()
    if not words or text.strip().lower().rstrip(":") in HEADINGS:
        return False
    if STATISTICS.search(text) or not re.search(r"[A-Za-z]{2,}", text):
        return False
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 2 and letters >= 0.4 * len(text.replace(" ", ""))


def is_text(word: Word) -> bool:
    """A word that is text, not censor ticks or strokes read as glyphs ('1', 'I', '1F', '+'):
    two letters or two digits at least, read with confidence."""
    body = word.text.strip()
    letters = sum(ch.isalpha() for ch in body)
    digits = sum(ch.isdigit() for ch in body)
    return word.score >= 0.8 and (letters >= 2 or digits >= 2)


def _sample(rgb: np.ndarray, line: list[Word], words: list[Word], pale: bool = False):
    """The line sample left of a text line: (colour, style, box) or None (also where the ink
    left of the line is other text). ``pale``: ink is colour of chroma 25 or more (a thin
    pastel key, antialiased to 25-60), and the sample must then be a thin line
    (:func:`_short_sample`) whatever its length."""
    left, top, right, bottom = line_box(line)
    h = bottom - top
    cy = 0.5 * (top + bottom)
    r0, r1 = int(round(cy - 0.25 * h)), int(round(cy + 0.25 * h)) + 1
    c1 = int(round(left)) - 2
    c0 = max(int(round(left - 5.0 * h)), 0)
    if c1 - c0 < 6 or r0 < 0 or r1 > rgb.shape[0]:
        return None
    part = rgb[r0:r1, c0:c1].astype(float)
    grey, chroma = grey_levels(part)
    chroma_min = PALE_CHROMA if pale else INK_CHROMA
    ink = (grey < 200) | (chroma > chroma_min)
    cols = ink.any(axis=0)
    if not cols.any():
        return None
    # The run of ink nearest the text (allowing the gaps of a dashed sample).
    idx = np.flatnonzero(cols)
    end = idx[-1]
    if c1 - (c0 + end) > 1.5 * h:
        return None
    start = end
    for k in idx[::-1]:
        if start - k <= max(3, 0.5 * h):
            start = k
        else:
            break
    length = end - start + 1
    if (pale or length < 1.2 * h) and not _short_sample(
        rgb, line, (c0 + start, c0 + end), length, chroma_min
    ):
        return None
    # Solid: no gap of two pixels or more along the sample; dashes and dots leave several.
    along = cols[start : end + 1]
    edges = np.diff(np.r_[1, along.astype(int), 1])
    gap_starts, gap_ends = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)
    gaps = int(np.sum((gap_ends - gap_starts) >= 2))
    pix = part[:, start : end + 1][ink[:, start : end + 1]]
    strong = pix[np.argsort(grey_levels(pix[None])[1][0])[-max(3, len(pix) // 3) :]]
    color = tuple(int(v) for v in np.median(strong, axis=0))
    style = "solid" if gaps <= 1 else "dashed"  # one gap: a stray mark beside the sample
    box = (float(c0 + start), float(r0), float(c0 + end), float(r1 - 1))
    for w in words:
        if w in line:
            continue
        if w.left < box[2] and w.right > box[0] and w.top < box[3] and w.bottom > box[1]:
            return None
    return color, style, box


def _ink_rows(rgb: np.ndarray, box, chroma_min: float = INK_CHROMA) -> np.ndarray:
    """Rows of ``box`` (left, top, right, bottom) that hold ink, as a boolean per row."""
    left, top, right, bottom = (int(round(v)) for v in box)
    part = rgb[max(top, 0) : bottom + 1, max(left, 0) : right + 1].astype(float)
    if part.size == 0:
        return np.zeros(0, dtype=bool)
    grey, chroma = grey_levels(part)
    return ((grey < 200) | (chroma > chroma_min)).any(axis=1)


def _short_sample(
    rgb: np.ndarray,
    line: list[Word],
    cols: tuple[int, int],
    length: int,
    chroma_min: float = INK_CHROMA,
) -> bool:
    """A sample shorter than 1.2 x the text's box is still one where it is a thin line as long
    as the letters are tall at least: the detector's word boxes are up to twice the glyphs'
    height (legend keys of 14 px beside 12 px capitals in 27 px boxes), while a glyph or word
    left unread, which has to be told apart from a sample, is as thick as the letters."""
    left, top, right, bottom = line_box(line)
    letters = _ink_rows(rgb, (left, top, right, bottom))
    if not letters.any():
        return False
    idx = np.flatnonzero(letters)
    tall = int(idx[-1] - idx[0] + 1)
    rows = _ink_rows(rgb, (cols[0], top, cols[1], bottom), chroma_min)
    if not rows.any():
        return False
    idx = np.flatnonzero(rows)
    thick = int(idx[-1] - idx[0] + 1)
    return tall >= 6 and length >= 0.6 * tall and thick <= 0.35 * tall


def _text_color(rgb: np.ndarray, line: list[Word]) -> tuple[int, int, int] | None:
    left, top, right, bottom = (int(round(v)) for v in line_box(line))
    part = rgb[max(top, 0) : bottom + 1, max(left, 0) : right + 1].reshape(-1, 3).astype(float)
    if part.size == 0:
        return None
    grey = part.mean(axis=1)
    ink = part[grey < np.quantile(grey, 0.2) + 1]
    return tuple(int(v) for v in np.median(ink, axis=0)) if len(ink) else None


def read_legend(
    rgb: np.ndarray, words: list[Word], frame: Frame, table_top: float | None = None
) -> list[LegendEntry]:
    """Legend entries (text with a line sample) and coloured labels inside the plot.

    Text searched: inside the plot frame, above it (legends on top) and between the x axis
    title and the table (legends below), never the table itself (rows from ``table_top``).
    """
    lines = text_lines([w for w in words if not w.vertical], gap=0.9)
    floor = table_top if table_top is not None else rgb.shape[0]
    entries: list[LegendEntry] = []
    for line in lines:
        text = line_text(line)
        box = line_box(line)
        cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
        if not (frame.left - 5 <= cx and cy < floor - 2):
            continue
        name, statistic = split_statistic(text)
        if not _is_name(name):
            continue
        sample = _sample(rgb, line, words) or _sample(rgb, line, words, pale=True)
        if sample is not None:
            color, style, sbox = sample
            entries.append(LegendEntry(name, color, style, box, "legend", sbox, statistic))
            continue
        inside = frame.left < box[0] and box[2] < frame.right + 5 and frame.top < cy < frame.bottom
        if inside or statistic:
            # A name with its median printed in colour is an arm's entry wherever it stands,
            # in colour as faint as a small JPEG leaves it.
            color = _text_color(rgb, line)
            chroma = INK_CHROMA if not statistic else PALE_CHROMA
            if color is not None and max(color) - min(color) >= chroma:
                entries.append(LegendEntry(name, color, "", box, "label", None, statistic))
    return entries


@dataclass
class Statistic:
    """A line that is only a median with its interval, printed in an arm's colour."""

    text: str
    color: tuple[int, int, int]
    box: tuple[float, float, float, float]


def printed_statistics(
    rgb: np.ndarray, words: list[Word], frame: Frame, table_top: float | None = None
) -> list[Statistic]:
    """Lines in the legend's search region (:func:`read_legend`) that are a median with its
    interval and nothing else, printed in colour (a colour-coded box of medians without
    names): each belongs to the arm of its colour (:func:`match_colors`)."""
    lines = text_lines([w for w in words if not w.vertical], gap=0.9)
    floor = table_top if table_top is not None else rgb.shape[0]
    out = []
    for line in lines:
        box = line_box(line)
        cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
        if not (frame.left - 5 <= cx and cy < floor - 2):
            continue
        name, statistic = split_statistic(line_text(line))
        if name or not statistic or min(w.score for w in line) < 0.8:
            continue
        color = _text_color(rgb, line)
        if color is not None and max(color) - min(color) >= PALE_CHROMA:
            out.append(Statistic(statistic, color, box))
    return out


def match_colors(
    texts: list[tuple[int, int, int]], curves: list[tuple[int, int, int]], margin: float = 2.0
) -> list[int] | None:
    """Which curve each text colour is (``result[i]`` indexes ``curves``), or None when the
    match is not clear.

    Text is antialiased toward the paper: its colour is lighter and greyer than the line's
    but of the same hue, so colours are compared less their grey level (each colour minus the
    mean of its channels, summed absolute differences). The best one-to-one assignment must
    cost at most ``1/margin`` of the next best, and there must be at least two texts (one text
    and one curve decide nothing by colour).
    """
    from itertools import permutations

    if len(texts) < 2 or len(texts) > len(curves) or len(curves) > 6:
        return None

    def centred(c):
        c = np.asarray(c, dtype=float)
        return c - c.mean()

    t = [centred(c) for c in texts]
    k = [centred(c) for c in curves]
    costs = sorted(
        (sum(float(np.abs(t[i] - k[j]).sum()) for i, j in enumerate(perm)), perm)
        for perm in permutations(range(len(curves)), len(texts))
    )
    if len(costs) > 1 and costs[0][0] * margin > costs[1][0]:
        return None
    return list(costs[0][1])


def exclusion_mask(
    shape: tuple[int, int],
    words: list[Word],
    frame: Frame,
    entries: list[LegendEntry],
    keep: list[Word] | None = None,
    grow: int = 2,
) -> np.ndarray:
    """Pixels of text and legend samples in and around the plot (boolean, whole image)."""
    mask = np.zeros(shape, dtype=bool)
    keep_ids = {id(w) for w in keep or []}
    pad = 0.05 * max(frame.width, frame.height)
    for w in words:
        if id(w) in keep_ids or not is_text(w):
            continue
        if w.right < frame.left - pad or w.left > frame.right + pad:
            continue
        if w.bottom < frame.top - pad or w.top > frame.bottom + 2:
            continue
        _fill(mask, (w.left, w.top, w.right, w.bottom))
    for e in entries:
        if e.sample_box is not None:
            _fill(mask, e.sample_box)
    if grow:
        mask = ndimage.binary_dilation(mask, iterations=grow)
    return mask


def _fill(mask: np.ndarray, box) -> None:
    left, top, right, bottom = box
    r0, r1 = max(int(np.floor(top)), 0), min(int(np.ceil(bottom)) + 1, mask.shape[0])
    c0, c1 = max(int(np.floor(left)), 0), min(int(np.ceil(right)) + 1, mask.shape[1])
    if r1 > r0 and c1 > c0:
        mask[r0:r1, c0:c1] = True
