"""Legend keys and arm names as OCR reads a four-arm legend ``Stage I ... Stage IV`` (issue 11).

The words, boxes and engine output are those observed on a real four-arm figure (716 px wide,
a legend above the plot): keys 11-13 px long and 2-3 px thick beside letters 15 px tall in
word boxes 27 px tall, and the engine's reading of the last entry as ``-Stage IV`` (the key's
end caught in the text box) with the scores it gave its words. No figure file is used: the
image is drawn here.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

import bayesurv.digitize.ocr as ocr
from bayesurv.digitize.figure import _name_arms
from bayesurv.digitize.frame import Frame
from bayesurv.digitize.legend import LegendEntry, read_legend
from bayesurv.digitize.ocr import Word, read_words
from bayesurv.digitize.table import RiskTable, Row

GREEN = (125, 193, 168)


def _legend_image(key: str) -> tuple[np.ndarray, list[Word]]:
    """A white figure with one legend entry ``Stage I`` above the plot: the key left of it
    (``key``: "line", a 13 x 2 px stroke; "blob", a 13 x 15 px block of ink such as a glyph
    left unread; "none"), and the letters as 15 px tall dark strokes in the engine's 27 px boxes."""
    rgb = np.full((300, 400, 3), 255, dtype=np.uint8)
    if key == "line":
        rgb[51:53, 155:168] = GREEN
    elif key == "blob":
        rgb[47:62, 155:168] = GREEN
    for left, right in ((178, 216), (223, 229)):  # "Stage", "I"
        for col in range(left, right, 6):
            rgb[47:62, col : col + 2] = 90
    words = [
        Word("Stage", 177.0, 40.0, 217.0, 67.0, 1.0),
        Word("I", 222.0, 40.0, 230.0, 67.0, 1.0),
    ]
    return rgb, words


FRAME = Frame(130.0, 390.0, 90.0, 280.0)


def test_a_short_thin_legend_key_names_its_arm():
    # Before: the key had to be 1.2 x the word box's height (32 px) long; 13 px was no key and
    # the legend named no arm.
    rgb, words = _legend_image("line")
    entries = read_legend(rgb, words, FRAME)
    assert [(e.name, e.kind, e.style) for e in entries] == [("Stage I", "legend", "solid")]
    assert np.abs(np.subtract(entries[0].color, GREEN)).max() <= 2
    assert entries[0].sample_box[0] == 155.0 and entries[0].sample_box[2] == 167.0


def test_a_pale_thin_key_is_found_by_its_colour():
    # The pink key of the real figure, antialiased: grey level >= 200, chroma 25-60, 10 px
    # seen left of the text box. Before: no ink at all by the grey < 200 | chroma > 60 test.
    rgb, words = _legend_image("none")
    pale = (240, 195, 225)  # grey 220, chroma 45
    rgb[51:53, 157:167] = pale
    entries = read_legend(rgb, words, FRAME)
    assert [(e.name, e.style, e.color) for e in entries] == [("Stage I", "solid", pale)]
    # As thick as the letters, the same pale ink is no key.
    rgb[47:62, 157:167] = pale
    assert read_legend(rgb, words, FRAME) == []


def test_ink_as_thick_as_the_letters_is_no_legend_key():
    rgb, words = _legend_image("blob")
    assert read_legend(rgb, words, FRAME) == []


class _Result:
    """What the engine returns for the line ``-Stage IV`` (box 471-566 x 40-66): the line's
    score 0.919, its words paired with its first characters' confidences (the "-" 0.377)."""

    def __init__(self):
        def quad(left, right):
            return [[left, 40.0], [right, 40.0], [right, 66.0], [left, 66.0]]

        self.boxes = [quad(471.0, 566.0)]
        self.txts = ["-Stage IV"]
        self.scores = [0.919]
        self.word_results = [(("-Stage", 0.377, quad(471.0, 542.0)), ("IV", 1.0, quad(546, 564)))]


def test_a_word_is_kept_by_its_line_score_and_loses_the_dash_of_the_key(monkeypatch):
    # Before: "-Stage" was dropped (0.377 < 0.5), leaving "IV" as the legend's name.
    monkeypatch.setattr(ocr, "_run_engine", lambda part, upscale: _Result())
    words = read_words(np.full((100, 600, 3), 255, dtype=np.uint8))
    assert [w.text for w in words] == ["Stage", "IV"]
    assert [w.score for w in words] == [0.919, 0.919]
    stage = words[0]
    # The box starts where the letters do: one character of six (71 px) after 471.
    assert abs(stage.left - (471.0 + 71.0 / 6.0)) < 1e-9 and stage.right == 542.0


def test_a_dash_before_digits_stays_a_minus_sign():
    w = Word("-12", 10.0, 0.0, 40.0, 10.0, 1.0)
    assert [v.text for v in ocr._split_glued_numbers([w])] == ["-12"]


def _arm(color):
    return SimpleNamespace(color=color, style="solid")


def test_a_legend_name_is_completed_by_a_row_label_only_word_by_word():
    # "Stage I" starts "Stage IV" letter by letter, not word by word: the table's "Stage IV"
    # row must not rename the arm the legend calls "Stage I" (before: it did).
    arms = [_arm(GREEN), _arm((237, 153, 115))]
    named = [
        LegendEntry("Stage I", GREEN, "solid", (0, 0, 1, 1), "legend"),
        LegendEntry("Stage II", (237, 153, 115), "solid", (0, 0, 1, 1), "legend"),
    ]
    rows = [Row(label, None, [], 0.0) for label in ("Stage", "Stage II", "Stage IV")]
    table = RiskTable(rows, [])
    names, how = _name_arms(arms, [None, None], None, named, table, FRAME, None, None)
    assert names == ["Stage I", "Stage II"]
    # A name read short is still completed by the one row whose first words are its words.
    named[0] = LegendEntry("Grade", GREEN, "solid", (0, 0, 1, 1), "legend")
    rows = [Row(label, None, [], 0.0) for label in ("Grade III", "Stage II")]
    names, how = _name_arms(arms, [None, None], None, named, RiskTable(rows, []), FRAME, None, None)
    assert names == ["Grade III", "Stage II"]
    assert how["Grade III"] == "legend + table row label"


def test_a_table_with_more_rows_than_legend_entries_keeps_every_curve(monkeypatch):
    # The four-arm style with one legend key not found (as the real figure's pale "Stage IV"
    # key was): the legend asked for 3 curves and one arm was lost (before: 3 curves read,
    # "Stage III" missing). The table's 4 rows say the legend is short.
    import bayesurv.digitize.figure as figure
    from bayesurv.digitize.styles import render_style
    from bayesurv.nonparametric import step_value

    fig = render_style("four_arms")
    lost = fig.truth.arms[-1]
    found = figure.read_legend

    def short_legend(*args, **kwargs):
        return [e for e in found(*args, **kwargs) if e.name != lost]

    monkeypatch.setattr(figure, "read_legend", short_legend)
    result = figure.digitize(fig.image)
    assert sorted(result.curves) == sorted(fig.truth.arms)
    for arm in fig.truth.arms:
        km, curve = fig.truth.km[arm], result.curves[arm]
        grid = np.linspace(0.0, float(km["time"].max()), 400)
        read = step_value(curve["time"].to_numpy(), curve["survival"].to_numpy(), grid)
        true = step_value(km["time"].to_numpy(), km["survival"].to_numpy(), grid)
        assert np.abs(read - true).mean() < 0.01, arm
