"""Text in a figure by OCR: words with their pixel boxes (tick labels, table cells, legend, titles).

The engine is RapidOCR (PP-OCRv6 text detection and recognition as ONNX models shipped inside the
``rapidocr`` wheel, run by onnxruntime; nothing is downloaded). Chosen by measurement on the
generated journal styles (:mod:`bayesurv.digitize.styles`): tick labels 99.1% (x) and 96.6% (y)
and numbers-at-risk cells 99.2% read exactly, against 85.5%, 86.4% and 81.9% for Debian's
tesseract 5.3 (pytesseract, sparse-text mode on a 3x upscale).

Each detected line is split into words with the engine's own word boxes, so a table row
printed as ``Fulvestrant 500 mg 362 216 ...`` gives the label's words and each number apart.
Text turned along a y axis (R's ``plot`` default) is read by a second pass over the turned
strip (:func:`read_words` with ``vertical=True``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

NUMBER = re.compile(r"^[-\u2212]?\d+(?:[.,\u00b7]\d+)?%?$")
"""A number as printed on an axis or in a table: ``12``, ``0.25``, ``0,25``, ``0·25``, ``80%``."""

GLUED_LABEL = re.compile(r"^([A-Za-z][A-Za-z)+\-]*[A-Za-z)])(\d{2,})$")
"""Letters run into a number of two or more digits, as OCR reads ``Stage IV 2674`` tightly set."""

LEADING_DASH = re.compile(r"^[-\u2010-\u2015_~]+(?=[A-Za-z])")
"""Dashes read in front of a word's letters: a line sample's end, never part of a name."""

# Glyphs OCR takes for digits in small figure text.
_DIGIT_LIKE = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1", "i": "1",
     "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "\u03b5": "3", "g": "9", "q": "9"}
)  # fmt: skip


@dataclass(frozen=True)
class Word:
    """One word read, its box in pixels (column/row of the image) and the engine's confidence."""

    text: str
    left: float
    top: float
    right: float
    bottom: float
    score: float
    vertical: bool = False
    line: tuple[float, float, float, float] | None = field(default=None, compare=False)
    """The box (left, top, right, bottom) the text detector drew around the line holding the
    word, where the word was read across (None otherwise): the engine's word boxes of short
    numbers are cut to the middle of their glyphs ("40" 14 px wide in a 29 px box), the line's
    box is not."""

    @property
    def cx(self) -> float:
        return 0.5 * (self.left + self.right)

    @property
    def cy(self) -> float:
        return 0.5 * (self.top + self.bottom)

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.right - self.left

    def number(self) -> float | None:
        """The word as a number (decimal comma or mid-dot accepted, % dropped), else None."""
        return parse_number(self.text)


def parse_number(text: str, *, lenient: bool = False) -> float | None:
    """``"0·25"`` -> 0.25, ``"80%"`` -> 80; ``lenient`` also maps look-alike letters to digits."""
    body = text.strip().strip(":;")
    if lenient:
        body = body.translate(_DIGIT_LIKE)
    if not NUMBER.match(body):
        return None
    body = body.rstrip("%").replace(",", ".").replace("\u00b7", ".").replace("\u2212", "-")
    try:
        return float(body)
    except ValueError:  # pragma: no cover - the pattern admits only numbers
        return None


@lru_cache(maxsize=1)
def _engine():
    """The OCR engine, loaded once: one text detector and one recognizer (each ONNX session is
    created once per process, a second costs about a second). ``onnxruntime``'s CPU memory
    arena is on: it reuses the buffers of one run in the next, which changes no number read."""
    import logging

    from rapidocr import RapidOCR

    params = {
        "Global.log_level": "error",
        "Global.use_cls": False,
        "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
    }
    engine = RapidOCR(params=params)
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    # Both sessions are made now, with onnxruntime's worker threads told not to spin while they
    # wait: a spinning pool takes the CPU the other thread needs on a small or shared machine
    # (IMpower150 read in 2.6-2.9 s instead of 3.5-4.0 s at load 3.4 on 2 cores), and the
    # numbers read are the same.
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    options = OrtInferSession._init_sess_opts

    def no_spinning(cfg):
        opts = options(cfg)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return opts

    OrtInferSession._init_sess_opts = staticmethod(no_spinning)
    try:
        engine._load_det_model()
        engine._load_rec_model()
    finally:
        OrtInferSession._init_sess_opts = staticmethod(options)
    return engine


_ENGINE_LOCK = threading.Lock()


def _run_engine(part: np.ndarray, upscale: bool):
    """Detect and read the text of ``part``. ``upscale``: the detector enlarges small images to
    736 px on their short side (the default, good for small figures); without it, strips are
    read at the size given (only images over 2,000 px on their long side are shrunk). One
    thread at a time: the no-upscale read changes the shared detector's size limit for its call
    (a figure read on a threaded Dask worker beside another must not see it)."""
    engine = _engine()
    with _ENGINE_LOCK:
        if upscale:
            return engine(part, return_word_box=True)
        det = engine._load_det_model()
        side, kind = det.limit_side_len, det.limit_type
        det.limit_side_len, det.limit_type = 2000, "max"
        try:
            return engine(part, return_word_box=True)
        finally:
            det.limit_side_len, det.limit_type = side, kind


_READ: dict[tuple, list[Word]] = {}
"""The words of the last few figures read, by the hash of their pixels (a figure read again in
the same process, by digitize and then reconstruct or by tests, is not read twice)."""


def read_figure_text(rgb: np.ndarray) -> list[Word]:
    """Every word of a figure: one pass over the whole image, and, where that pass found no
    column of y tick labels standing upright (by the box the detector drew around each), a
    second over the strip of text turned along the y axis where the first pass saw tall, narrow
    words (R's tick labels). Words read both ways keep the turned reading."""
    import hashlib

    key = (rgb.shape, hashlib.blake2b(np.ascontiguousarray(rgb).tobytes()).hexdigest())
    if key not in _READ:
        if len(_READ) >= 8:
            _READ.pop(next(iter(_READ)))
        _READ[key] = _read_figure_text(rgb)
    return list(_READ[key])


def _read_figure_text(rgb: np.ndarray) -> list[Word]:
    from bayesurv.digitize.axes import find_x_labels, find_y_labels

    words = read_words(rgb)
    y_labels = find_y_labels(words, find_x_labels(words))
    upright = [w for w, _ in y_labels if len(w.text) < 2 or _upright(w)]
    if len(y_labels) >= 3 and len(upright) == len(y_labels):
        # The y labels read across: no second pass (it costs a third of the time). A y title
        # turned along the axis is then not read; the curves say whether they rise.
        return words
    width = rgb.shape[1]
    tall = [
        w
        for w in words
        if len(w.text) >= 2 and w.height > 1.25 * w.width and w.height >= 8 and w.cx < 0.5 * width
    ]
    if not tall:
        return words
    left = max(int(min(w.left for w in tall)) - 4, 0)
    right = min(int(max(w.right for w in tall)) + 4, width)
    top = max(int(min(w.top for w in tall)) - 60, 0)
    bottom = min(int(max(w.bottom for w in tall)) + 60, rgb.shape[0])
    turned = read_words(rgb, (left, top, right, bottom), vertical=True, upscale=2.0)
    if not turned:
        return words

    def overlaps(a: Word, b: Word) -> bool:
        dx = min(a.right, b.right) - max(a.left, b.left)
        dy = min(a.bottom, b.bottom) - max(a.top, b.top)
        return dx > 0 and dy > 0 and dx * dy > 0.3 * min(a.width * a.height, b.width * b.height)

    def better(t: Word, w: Word) -> bool:
        return (len(t.text), t.score) > (len(w.text), w.score)

    # The turned reading's column of y tick labels replaces every word read across where it
    # lies, unless fewer of its labels fit one evenly stepped axis: the labels of one axis are
    # all turned or all upright (R's "0.8" read across as "0.808" and its "0.4" as "0.4" make no
    # column together; "0.2" ... "1.0" read across as "02" ... "10" make a false one).
    x_labels = find_x_labels(words)
    turned_column = find_y_labels(turned, x_labels)
    if len(turned_column) >= 2 and _column_score(turned_column) >= _column_score(y_labels):
        turned_column = [t for t, _ in turned_column]
        words = [w for w in words if not any(overlaps(w, t) for t in turned_column)]
        words += turned_column
        turned = [t for t in turned if t not in turned_column]
    # Other turned words are of turned text only where their box stands upright; they replace
    # an upright box read across, never a wide one.
    turned = [t for t in turned if t.height > t.width or len(t.text) < 2]
    kept = [
        w
        for w in words
        if not (w.height > 1.1 * w.width and any(overlaps(w, t) and better(t, w) for t in turned))
    ]
    kept += [t for t in turned if not any(overlaps(t, w) for w in kept)]
    return kept


def _upright(w: Word) -> bool:
    """The word's text stands upright: the box the detector drew around its line (else its own
    box) is no taller than 1.1 x its width. Turned text read across stands in a tall box."""
    left, top, right, bottom = w.line if w.line is not None else (w.left, w.top, w.right, w.bottom)
    return bottom - top <= 1.1 * (right - left)


def _column_score(labels) -> int:
    """How many of a column's y tick labels fit one evenly stepped axis."""
    from bayesurv.digitize.axes import tick_score

    if len(labels) < 2:
        return 0
    return tick_score(np.array([-w.cy for w, _ in labels]), np.array([v for _, v in labels]))


def read_words(
    rgb: np.ndarray,
    box: tuple[int, int, int, int] | None = None,
    *,
    vertical: bool = False,
    min_score: float = 0.5,
    upscale: float | None = None,
) -> list[Word]:
    """Words in ``rgb`` (or in ``box`` = left, top, right, bottom of it), in image pixels.

    Parameters
    ----------
    rgb
        ``(height, width, 3)`` uint8 image.
    box
        Only this part of the image is read; the words' boxes are still whole-image pixels.
    vertical
        Read text that runs bottom-to-top (turned 90 degrees anticlockwise), as R prints y tick
        labels: the part is turned upright first and the boxes turned back.
    min_score
        Words the engine is less sure of are left out.
    upscale
        Enlarge the part by this factor (Lanczos) and read it as it is; default: the engine
        enlarges small images itself.

    Examples
    --------
    >>> words = read_words(rgb)  # doctest: +SKIP
    >>> [w.text for w in words if w.number() is not None][:3]  # doctest: +SKIP
    ['0', '12', '24']
    """
    left, top = 0, 0
    part = rgb
    if box is not None:
        left, top, right, bottom = (int(round(v)) for v in box)
        left, top = max(left, 0), max(top, 0)
        right, bottom = min(right, rgb.shape[1]), min(bottom, rgb.shape[0])
        if right - left < 4 or bottom - top < 4:
            return []
        part = rgb[top:bottom, left:right]
    factor = 1.0
    if upscale is not None and upscale != 1.0:
        from PIL import Image

        factor = float(upscale)
        size = (int(round(part.shape[1] * factor)), int(round(part.shape[0] * factor)))
        part = np.asarray(Image.fromarray(part).resize(size, Image.LANCZOS))
    height = part.shape[0]
    if vertical:
        part = np.rot90(part, k=-1)  # bottom-to-top text becomes left-to-right
    part = np.ascontiguousarray(part)
    result = _run_engine(part, upscale is None)
    if result is None or getattr(result, "boxes", None) is None:
        return []
    words: list[Word] = []
    lines = getattr(result, "word_results", None) or [()] * len(result.txts)
    for line_box, text, score, line_words in zip(
        result.boxes, result.txts, result.scores, lines, strict=False
    ):
        pieces = [(t, s, b) for t, s, b in line_words if str(t).strip()] if line_words else []
        if not pieces or "".join(p[0] for p in pieces).replace(" ", "") != text.replace(" ", ""):
            pieces = [(text, score, line_box)]
        elif len(pieces) > 1:
            # The engine pairs its k-th word with the confidence of the line's k-th character
            # (``zip(words, char_confs)``), so "-Stage IV" gave "-Stage" the 0.38 of its "-"
            # and the word was dropped. The line's score, the mean over its characters, is the
            # confidence each of its words is read with.
            pieces = [(t, score, b) for t, _, b in pieces]
        line = None
        if not vertical:
            pts = np.asarray(line_box, dtype=float)
            line = (
                float(pts[:, 0].min()) / factor + left,
                float(pts[:, 1].min()) / factor + top,
                float(pts[:, 0].max()) / factor + left,
                float(pts[:, 1].max()) / factor + top,
            )
        for piece, piece_score, piece_box in pieces:
            if float(piece_score) < min_score or not str(piece).strip():
                continue
            pts = np.asarray(piece_box, dtype=float)
            if vertical:
                # Turned clockwise: upright (x', y') came from (col = y', row = height - 1 - x').
                cols, rows = pts[:, 1], height - 1 - pts[:, 0]
            else:
                cols, rows = pts[:, 0], pts[:, 1]
            words.append(
                Word(
                    str(piece).strip(),
                    float(cols.min()) / factor + left,
                    float(rows.min()) / factor + top,
                    float(cols.max()) / factor + left,
                    float(rows.max()) / factor + top,
                    float(piece_score),
                    vertical,
                    line,
                )
            )
    return _split_glued_numbers(words)


def _split_glued_numbers(words: list[Word]) -> list[Word]:
    """``"Placebo 21"``, ``"216 (0)"`` or ``"IV2674"`` read as one word: split it, each piece's
    box in proportion to its characters' place in the text. A dash run into the letters of a
    word (``"-Stage"``: the end of a legend's line sample caught in the text's box) is no part
    of it and is dropped, its box with it."""
    out: list[Word] = []
    for w in words:
        tokens = []
        for t in w.text.split():
            t = LEADING_DASH.sub("", t)
            glued = GLUED_LABEL.match(t)  # "IV2674": a row label read into its first number
            tokens += [glued.group(1), glued.group(2)] if glued else [t]
        if tokens and tokens[0] != w.text.split()[0] and len(tokens) == 1 and not w.vertical:
            # One word that lost its leading dash: its box starts where its letters do.
            per_char = w.width / max(len(w.text), 1)
            start = w.text.find(tokens[0])
            left = w.left + per_char * start
            out.append(Word(tokens[0], left, w.top, w.right, w.bottom, w.score, False, w.line))
            continue
        if len(tokens) < 2 or w.vertical:
            out.append(w)
            continue
        per_char = w.width / max(len(w.text), 1)
        at = 0
        for t in tokens:
            start = w.text.find(t, at)
            at = start + len(t)
            left = w.left + per_char * start
            out.append(
                Word(t, left, w.top, left + per_char * len(t), w.bottom, w.score, False, w.line)
            )
    return out


def text_lines(words: list[Word], gap: float = 1.2) -> list[list[Word]]:
    """Words grouped into lines: same row (centres within half a word height), close together
    (gap below ``gap`` x the word height); each line sorted left to right, the lines in the
    order of their first word by row, then column.

    Words join lines from left to right: a line grows only at its right end, so a word met
    after the words right of it would start a line of its own (a line's first word whose box
    sits a pixel lower than the rest, as the turned reading's "No" of "No hormone therapy",
    came last by row and was put after them)."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.left, w.cy)):
        for line in lines:
            last = line[-1]
            same_row = abs(last.cy - w.cy) <= 0.5 * max(last.height, w.height)
            near = -0.5 * w.height <= w.left - last.right <= gap * max(last.height, w.height)
            if same_row and near and not w.vertical and not last.vertical:
                line.append(w)
                break
        else:
            lines.append([w])
    lines.sort(key=lambda line: min((w.cy, w.left) for w in line))
    return lines


def line_text(line: list[Word]) -> str:
    return " ".join(w.text for w in line)


def line_box(line: list[Word]) -> tuple[float, float, float, float]:
    return (
        min(w.left for w in line),
        min(w.top for w in line),
        max(w.right for w in line),
        max(w.bottom for w in line),
    )
