"""A table row label OCR read short (issue 11): "Stage" for "Stage I", its thin pale "I" left
unread, as on a real four-arm figure (716 px wide, pastel rows). Measured there: the word box
"Stage" 63-108 x 777-801, the first cell "1067" from column 126, the "I" a 3 px wide stroke at
columns 110-112, rows 791-799, of chroma 25-60. The label is read again where such ink stands
between the label and the first cell; the OCR engine's answer is given here as word boxes."""

from __future__ import annotations

import numpy as np
import pytest

import bayesurv.digitize.ocr as ocr
from bayesurv.digitize.ocr import Word
from bayesurv.digitize.table import Row, _reread_label, _roman_ones, _unread_glyph

GREEN = (159, 210, 190)  # the row's pale green (chroma 51)
STAGE = Word("Stage", 63.0, 777.0, 108.0, 801.0, 0.9995)


def _row_image(glyph: str) -> np.ndarray:
    """The label's part of the figure: "Stage" as strokes, then ``glyph`` right of it:
    "I" (the pale stroke), "rule" (a table's vertical rule running through the rows above
    and below), or "none"."""
    rgb = np.full((900, 200, 3), 255, dtype=np.uint8)
    for col in range(66, 106, 4):
        rgb[785:799, col : col + 2] = GREEN
    if glyph == "I":
        rgb[791:800, 110:113] = GREEN
    elif glyph == "rule":
        rgb[700:880, 116] = (150, 150, 150)
    return rgb


@pytest.mark.parametrize("glyph, unread", [("I", True), ("rule", False), ("none", False)])
def test_ink_left_unread_after_a_label_is_a_glyph_not_a_rule(glyph, unread):
    assert _unread_glyph(_row_image(glyph), [STAGE], 126.0) is unread


@pytest.mark.parametrize(
    "engine, label",
    [
        ([("Stage", 10), ("I", 100)], "Stage I"),  # the same word and one more: taken
        ([("Stage", 10), ("1", 100)], "Stage 1"),  # "1" is made "I" by its siblings later
        ([("Slag", 10), ("61", 80)], "Stage"),  # other words: the first reading stays
        ([("Stage", 10)], "Stage"),  # nothing more read
        ([("Stage", 10), ("-", 100)], "Stage"),  # a dash is no word of a name
    ],
)
def test_the_label_read_again_is_taken_only_when_it_adds_words(monkeypatch, engine, label):
    seen = {}

    def read_words(rgb, box=None, *, vertical=False, min_score=0.5, upscale=None):
        seen["shape"], seen["upscale"] = rgb.shape, upscale
        seen["darkest"] = int(rgb.min())
        return [Word(t, x, 10.0, x + 8.0 * len(t), 40.0, 0.92) for t, x in engine]

    monkeypatch.setattr(ocr, "read_words", read_words)
    assert _reread_label(_row_image("I"), [STAGE], 126.0, "Stage") == label
    # Rows 773-805 and columns 55-125 read, enlarged twice, the pale ink made black.
    assert seen["shape"] == (32, 70, 3) and seen["upscale"] == 2.0 and seen["darkest"] == 0


def test_a_one_read_again_beside_roman_siblings_is_I():
    rows = [Row(label, None, [], 0.0) for label in ("Stage 1", "Stage II", "Stage III", "Arm 1")]
    _roman_ones(rows, {0, 3})
    # "Arm 1" has no sibling "Arm <Roman>": it stays; a label not read again is never changed.
    assert [r.label for r in rows] == ["Stage I", "Stage II", "Stage III", "Arm 1"]
    rows = [Row(label, None, [], 0.0) for label in ("Stage 1", "Stage II")]
    _roman_ones(rows, set())
    assert rows[0].label == "Stage 1"
