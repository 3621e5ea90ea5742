"""The numbers-at-risk table read from the figure: cells, censored counts, rows to arms, checks.

Truth: the generator's table, n(t) = #{T >= t} of the real IPD at every printed time
(:mod:`bayesurv.digitize.styles`). The Lancet style prints ``216 (12)`` (number censored in
parentheses); the four-arm style prints labels whose Roman numerals OCR may drop ("Stage" for
"Stage II" and "Stage III"), which only the order can then decide.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesurv.digitize.axes import read_axes
from bayesurv.digitize.ocr import Word, line_text, read_figure_text, text_lines
from bayesurv.digitize.styles import render_style
from bayesurv.digitize.table import (
    Cell,
    RiskTable,
    Row,
    _token_number,
    assign_rows,
    check_against_curve,
    read_risk_table,
)


def _read(name):
    fig = render_style(name)
    words = read_figure_text(fig.image)
    axes = read_axes(fig.image, words)
    return fig.truth, read_risk_table(fig.image, words, axes, arm_names=fig.truth.arms)


def _exact(truth, table) -> float:
    got = table.to_frame()
    hits = 0
    for _, row in truth.nar.iterrows():
        m = got[(got["arm"] == row["arm"]) & np.isclose(got["time"], row["time"])]
        hits += int(len(m) == 1 and int(m["at_risk"].iloc[0]) == int(row["at_risk"]))
    return hits / len(truth.nar)


@pytest.mark.slow
def test_censored_counts_in_parentheses_are_kept_apart():
    truth, table = _read("lancet")
    assert _exact(truth, table) == 1.0
    cells = {(r.arm, c.time): c for r in table.rows for c in r.cells}
    for _, row in truth.nar.iterrows():
        assert cells[(row["arm"], row["time"])].censored == row["censored"]
    assert "censored" in table.title


@pytest.mark.slow
def test_four_rows_assigned_by_label_then_order():
    truth, table = _read("four_arms")
    assert _exact(truth, table) == 1.0
    assert [r.arm for r in table.rows] == truth.arms


def test_tokens():
    assert _token_number("216") == (216, None, False)
    assert _token_number("216(12)") == (216, 12, False)
    assert _token_number("(12)") == (None, 12, False)
    assert _token_number("O") == (0, None, True)  # a letter read as a digit: uncertain
    assert _token_number("0.25") == (None, None, False)  # not a count


def _row(label, values, times=(0, 10, 20, 30)):
    cells = [
        Cell(float(t), v, str(v), 100.0 * k, 500.0, 0.99, "read")
        for k, (t, v) in enumerate(zip(times, values, strict=True))
    ]
    return Row(label, None, cells, 500.0)


def test_a_row_label_whose_first_word_sits_lower_keeps_its_word_order():
    # The NEJM style's row labels as read (boxes in pixels): "No" comes from the pass over
    # turned text, its box a pixel lower than "hormone therapy" beside it. Lines are words
    # left to right, whichever of them sits lowest; the rows stay in order top to bottom.
    words = [
        Word("hormone", 38, 514, 105, 535, 0.99999),
        Word("therapy", 111, 514, 168, 535, 0.99894),
        Word("No", 13.5, 514.5, 34.5, 536.5, 0.99997),
        Word("Hormone", 39, 538, 107, 560, 0.99998),
        Word("therapy", 112, 538, 172, 561, 0.99998),
    ]
    assert [line_text(ln) for ln in text_lines(words)] == ["No hormone therapy", "Hormone therapy"]


def test_rows_follow_their_labels_and_clear_earlier_assignments():
    table = RiskTable([_row("Placebo", [50, 40, 20, 5]), _row("Drug", [50, 45, 35, 20])], [])
    assign_rows(table, None)
    assert [r.arm for r in table.rows] == ["Placebo", "Drug"]
    assign_rows(table, ["Drug", "Placebo"])
    assert [(r.arm, r.assigned_by) for r in table.rows] == [
        ("Placebo", "row label"),
        ("Drug", "row label"),
    ]


def test_a_curve_falling_faster_than_its_row_allows_is_said():
    """Between 10 and 20 the row loses 5 of 45 patients (at most 11% may be events), but the
    curve falls from 0.92 to 0.4 (57%): the table and the curve disagree there."""
    row = _row("Drug", [50, 45, 40, 30])
    row.arm = "Drug"
    times = np.array([0.0, 5.0, 15.0, 25.0])
    surv = np.array([1.0, 0.92, 0.4, 0.35])
    said = check_against_curve(row, times, surv)
    assert len(said) == 1 and "between t = 10 and 20" in said[0]
    assert [c.status for c in row.cells] == ["read", "uncertain", "uncertain", "read"]


def test_a_rising_cell_is_uncertain():
    from bayesurv.digitize.table import _mark_row

    row = _row("A", [50, 45, 48, 30])
    _mark_row(row, [0.0, 10.0, 20.0, 30.0])
    assert [c.status for c in row.cells] == ["read", "read", "uncertain", "read"]
    frame = row.frame()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["time", "at_risk"]
