"""Table rows whose label OCR read short ("Stage" for "Stage I": the thin "I" in a pale colour
lost), as on a real four-arm figure (issue 11): the row goes to the one free arm whose name
starts with its words, or to none by label where several do."""

from __future__ import annotations

from bayesurv.digitize.table import Cell, RiskTable, Row, assign_rows

NAMES = ["Stage I", "Stage II", "Stage III", "Stage IV"]


def _row(label: str, counts: list[int]) -> Row:
    cells = [
        Cell(10.0 * k, n, str(n), 100.0 + 50 * k, 0.0, 1.0, "read") for k, n in enumerate(counts)
    ]
    return Row(label, None, cells, 0.0)


def test_a_short_label_goes_to_the_one_free_arm_it_starts():
    # Two arms are free after the exact labels: "Grade 1" first, "Stage I" second. By order the
    # short row "Stage" (printed first) would take "Grade 1", the unlabelled row "Stage I".
    table = RiskTable(
        [
            _row("Stage", [1067, 1033, 988]),
            _row("Stage II", [374, 346, 312]),
            _row("Stage III", [1431, 1207, 920]),
            _row("Stage IV", [2674, 1927, 1320]),
            _row("", [120, 90, 70]),
        ],
        [],
    )
    assign_rows(table, ["Stage IV", "Stage III", "Grade 1", "Stage I", "Stage II"])
    assert [(r.label, r.arm, r.assigned_by) for r in table.rows] == [
        ("Stage", "Stage I", "row label (first words)"),
        ("Stage II", "Stage II", "row label"),
        ("Stage III", "Stage III", "row label"),
        ("Stage IV", "Stage IV", "row label"),
        ("", "Grade 1", "order"),
    ]


def test_a_label_that_starts_several_free_arms_decides_nothing():
    table = RiskTable(
        [_row("Stage", [10, 8, 5]), _row("Stage", [12, 9, 4]), _row("Stage IV", [9, 7, 2])], []
    )
    assign_rows(table, ["Stage IV", "Stage I", "Stage II"])
    assert [(r.arm, r.assigned_by) for r in table.rows] == [
        ("Stage I", "order"),
        ("Stage II", "order"),
        ("Stage IV", "row label"),
    ]
