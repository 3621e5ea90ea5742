"""Arm names and a colour-coded box of medians (issue 11), on OCR boxes as the engine gives them.

The colours are those measured on a real small JPEG (KEYNOTE-061, 307 px wide): its medians box
prints ``10.4 mo (5.9-18.3)`` in teal text that reads (113, 150, 148) and ``8.0 mo (5.1-9.9)``
in maroon text that reads (112, 80, 91), while the curves read #4d837d and #542d37. The text is
antialiased toward the paper: chroma 32-37, under the 60 a coloured label needed. No figure
file is used: the image is drawn here, the words are given as OCR boxes.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bayesurv.digitize.figure import _printed_statistics, _unnamed
from bayesurv.digitize.frame import Frame
from bayesurv.digitize.legend import (
    match_colors,
    printed_statistics,
    read_legend,
    split_statistic,
)
from bayesurv.digitize.ocr import Word
from bayesurv.digitize.table import Cell, RiskTable, Row

TEAL_TEXT, MAROON_TEXT = (113, 150, 148), (112, 80, 91)
TEAL_LINE, MAROON_LINE = (0x4D, 0x83, 0x7D), (0x54, 0x2D, 0x37)
FRAME = Frame(50.0, 510.0, 20.0, 280.0)


def _line(rgb, words: list[tuple[str, float]], top: float, color) -> list[Word]:
    """Words of one printed line at ``top``: (text, left) each, 8 px per character, glyphs
    drawn as 1-px strokes of ``color`` (every other column) 10 px tall in 16 px boxes."""
    out = []
    for text, left in words:
        right = left + 8 * len(text)
        for col in range(int(left) + 1, int(right) - 1, 2):
            rgb[int(top) + 3 : int(top) + 13, col] = color
        out.append(Word(text, left, top, right, top + 16, 0.99))
    return out


def _medians_box(names: bool):
    rgb = np.full((300, 520, 3), 255, dtype=np.uint8)
    lead = [("Pembrolizumab", 200.0)] if names else []
    lead2 = [("Paclitaxel", 200.0)] if names else []
    x = 312.0 if names else 200.0  # one space (8 px) after the name
    x2 = 288.0 if names else 200.0
    words = _line(rgb, [("Median", 200.0), ("(95%", 256.0), ("CI)", 296.0)], 30, (60, 59, 59))
    words += _line(rgb, [*lead, ("10.4", x), ("mo", x + 40), ("(5.9-18.3)", x + 64)], 50, TEAL_TEXT)
    words += _line(
        rgb, [*lead2, ("8.0", x2), ("mo", x2 + 32), ("(5.1-9.9)", x2 + 56)], 70, MAROON_TEXT
    )
    return rgb, words


@pytest.mark.parametrize(
    "text, name, stat",
    [
        ("Pembrolizumab 10.4 (5.9-18.3)", "Pembrolizumab", "10.4 (5.9-18.3)"),
        ("Pembrolizumab: 10.4 mo (5.9\u201318.3)", "Pembrolizumab", "10.4 mo (5.9\u201318.3)"),
        ("Placebo (n = 55) 8.0 months [5.1, 9.9]", "Placebo", "8.0 months [5.1, 9.9]"),
        ("Nivolumab NR (12.1-NR)", "Nivolumab", "NR (12.1-NR)"),
        ("8.0 mo (5.1-9.9)", "", "8.0 mo (5.1-9.9)"),
        ("Fulvestrant 500 mg", "Fulvestrant 500 mg", ""),
        ("Arm B (n=120)", "Arm B (n=120)", ""),
        ("Stage III", "Stage III", ""),
        ("Arm A 12 mo (9-15)", "Arm A", "12 mo (9-15)"),
        ("Placebo, median 8 [5, 9]", "Placebo", "median 8 [5, 9]"),
        # names ending in numbers in parentheses that are no median (not inside the interval,
        # or not printed as a median: no decimal, unit, NR or 'median') stay whole
        ("Cohort 2 (2005-2010)", "Cohort 2 (2005-2010)", ""),
        ("Age 65 (60-70)", "Age 65 (60-70)", ""),
        ("Group 1 (2, 3)", "Group 1 (2, 3)", ""),
        ("Arm B 12 (9-15)", "Arm B 12 (9-15)", ""),
    ],
)
def test_a_median_with_its_interval_is_cut_off_the_name(text, name, stat):
    assert split_statistic(text) == (name, stat)


def test_names_in_a_colour_coded_medians_box_name_the_arms():
    # Before: the faint text (chroma 37 and 32) was no label, and had it been, its name would
    # have been the whole line with its median.
    rgb, words = _medians_box(names=True)
    entries = read_legend(rgb, words, FRAME)
    got = [(e.name, e.statistic, e.kind, e.color) for e in entries]
    assert got == [
        ("Pembrolizumab", "10.4 mo (5.9-18.3)", "label", TEAL_TEXT),
        ("Paclitaxel", "8.0 mo (5.1-9.9)", "label", MAROON_TEXT),
    ]
    # No median box line stands alone.
    assert printed_statistics(rgb, words, FRAME) == []


def test_medians_without_names_are_matched_to_their_curves_by_colour():
    rgb, words = _medians_box(names=False)
    assert read_legend(rgb, words, FRAME) == []  # they name nothing
    stats = printed_statistics(rgb, words, FRAME)
    assert [(s.text, s.color) for s in stats] == [
        ("10.4 mo (5.9-18.3)", TEAL_TEXT),
        ("8.0 mo (5.1-9.9)", MAROON_TEXT),
    ]
    colours = [s.color for s in stats]
    assert match_colors(colours, [TEAL_LINE, MAROON_LINE]) == [0, 1]
    assert match_colors(colours, [MAROON_LINE, TEAL_LINE]) == [1, 0]
    arms = [
        SimpleNamespace(name="arm1", color=MAROON_LINE),
        SimpleNamespace(name="arm2", color=TEAL_LINE),
    ]
    assert _printed_statistics(arms, [], stats) == {
        "arm1": "8.0 mo (5.1-9.9)",
        "arm2": "10.4 mo (5.9-18.3)",
    }


def test_colours_that_do_not_tell_the_arms_apart_match_nothing():
    # Two texts of one hue against two curves of one hue: no assignment is clearly the best.
    assert match_colors([TEAL_TEXT, TEAL_TEXT], [TEAL_LINE, (0x4E, 0x84, 0x7E)]) is None
    # One text decides nothing by colour.
    assert match_colors([TEAL_TEXT], [TEAL_LINE, MAROON_LINE]) is None


def test_arms_the_figure_names_nowhere_are_said_with_what_tells_them_apart():
    arms = [
        SimpleNamespace(name="arm1", hex="#4d837d"),
        SimpleNamespace(name="arm2", hex="#542d37"),
    ]
    rows = [
        Row("", TEAL_TEXT, [Cell(0.0, 53, "53", 0, 0, 1.0, "read")], 250.0, "arm1", "colour"),
        Row("", MAROON_TEXT, [Cell(0.0, 55, "55", 0, 0, 1.0, "read")], 262.0, "arm2", "colour"),
    ]
    text = _unnamed(arms, {"arm1": "10.4 mo (5.9-18.3)"}, RiskTable(rows, [0.0]))
    assert text == (
        "no arm name was read (no legend, label in the plot or table row label): the arms are "
        "called arm1 (line #4d837d, printed '10.4 mo (5.9-18.3)', 53 at risk at 0); "
        "arm2 (line #542d37, 55 at risk at 0); give their names, in this order (reconstruct "
        "--arms A,B; digitize --names A,B)"
    )
