"""One warning per cause for a figure's arm (figure_reconstruction.arm_warnings), fed with the
sentences bayesurv.reconstruct really writes, so a change of their wording shows here.

The numbers checked come from closed forms: with every leaver an event, an arm of n at risk
whose curve falls from S_a to S_b keeps at most n S_b / S_a at risk."""

import pandas as pd

from bayesurv.figure_reconstruction import _table_warnings, arm_warnings
from bayesurv.reconstruct import reconstruct


def _steps():
    """Three intervals the table cannot hold: the curve falls by 40% in each of [0, 5),
    [5, 10) and [10, 15) while the table loses 10 of 100, 80 and 90 at risk."""
    clicks = pd.DataFrame(
        {
            "time": [0, 2, 2, 7, 7, 12, 12, 20],
            "survival": [1, 1, 0.6, 0.6, 0.36, 0.36, 0.2, 0.2],
        }
    )
    nar = pd.DataFrame({"time": [0, 5, 10, 15], "at_risk": [100, 90, 80, 70]})
    return reconstruct(clicks, nar)


def test_intervals_the_table_cannot_hold_are_one_warning_naming_each():
    rec = _steps()
    said = rec.report["warnings"]
    assert sum("cannot support" in w for w in said) == 3  # one sentence per interval before
    warnings, notes = arm_warnings("Arm A", said, [], reading_error=0.005)
    assert len(warnings) == 1 and notes == []
    w = warnings[0]
    # 100 x 0.6 = 60, then 60 x 0.36 / 0.6 = 36, then 36 x 0.2 / 0.36 = 20
    for part in (
        "[0, 5) table 90, curve at most 60",
        "[5, 10) table 80, curve at most 36",
        "[10, 15) table 70, curve at most 20",
        "more than the curve's reading error allows in [0, 5), [5, 10), [10, 15)",
    ):
        assert part in w
    assert w.startswith("Arm A: ")


def test_a_gap_within_the_reading_error_is_a_note_and_beyond_it_a_warning():
    # 1000 at risk, the curve falls from 1 to 0.8: at most 1000 x 0.8 = 800 at 5; the table
    # says 801. A reading error e on both levels moves that bound by 1000 e (1/1 + 0.8/1),
    # 18 patients at e = 0.01 and 0.18 at e = 0.0001: the one patient is within the first.
    clicks = pd.DataFrame({"time": [0, 2, 2, 20], "survival": [1, 1, 0.8, 0.8]})
    nar = pd.DataFrame({"time": [0, 5], "at_risk": [1000, 801]})
    said = reconstruct(clicks, nar).report["warnings"]
    assert any("at most 800" in w and "says 801" in w for w in said)
    warnings, notes = arm_warnings("B", said, [], reading_error=0.01)
    assert warnings == []
    assert len(notes) == 1 and "[0, 5) table 801, curve at most 800" in notes[0]
    assert "each within the curve's reading error (0.010)" in notes[0]
    warnings, notes = arm_warnings("B", said, [], reading_error=0.0001)
    assert len(warnings) == 1 and notes == []
    assert "more than the curve's reading error allows in [0, 5)" in warnings[0]


def test_a_zero_after_the_curve_ends_is_a_note_and_other_sentences_stay():
    clicks = pd.DataFrame({"time": [0, 5, 5, 30], "survival": [1, 1, 0.8, 0.8]})
    nar = pd.DataFrame({"time": [0, 10, 40], "at_risk": [50, 30, 0]})
    said = reconstruct(clicks, nar).report["warnings"]
    assert any("dropped numbers at risk of 0" in w for w in said)
    other = "the curve allows 9 events, not the 10 reported; check the total and the clicks"
    warnings, notes = arm_warnings("C", [*said, other], [])
    assert warnings == [f"C: {other}"]
    assert any("dropped numbers at risk of 0" in n for n in notes)


def test_the_km_departing_where_drops_were_moved_is_said_with_the_move():
    # A drop read at 4.4, within 1% of the axis (100) before the printed 5, where the table
    # still has all 100 at risk: it is moved onto 5, so the KM is 1 at 4.9 where the curve
    # read is 0.8.
    clicks = pd.DataFrame(
        {"time": [0, 4.4, 4.4, 60, 60, 100], "survival": [1, 1, 0.8, 0.8, 0.7, 0.7]}
    )
    nar = pd.DataFrame({"time": [0, 5, 50], "at_risk": [100, 100, 80]})
    rec = reconstruct(clicks, nar, reading_error=0.005)
    said = rec.report["warnings"]
    assert len(said) == 2  # the move, and the KM departing from the curve
    warnings, notes = arm_warnings(
        "D",
        said,
        [],
        prefix="curve: ",
        reading_error=0.005,
        agreement=rec.report["agreement"],
        t_end=100.0,
    )
    assert notes == [] and len(warnings) == 1
    w = warnings[0]
    assert "put 1 drop(s) read just before a printed time on it" in w
    assert "its KM is 1.000 at t = 4.9, just before 5, where the curve read is 0.800" in w


def test_the_km_departing_elsewhere_stays_its_own_warning():
    rec = _steps()
    agreement = {**rec.report["agreement"], "ok": False, "time": 17.0, "km": 0.3}
    agreement["curve"], agreement["allowed"], agreement["text"] = 0.2, 0.01, "KM off at 17"
    warnings, _ = arm_warnings(
        "E", [*rec.report["warnings"], "curve: KM off at 17"], [], prefix="curve: ",
        agreement=agreement, t_end=20.0,
    )  # fmt: skip
    assert "E: KM off at 17" in warnings and len(warnings) == 2


def test_the_digitizers_table_check_joins_the_same_arms_warning():
    said = [
        "x tick label '0' at pixel 259 is off the line through the other ticks: taken as "
        "misread and left out.",
        "Arm 1: between t = 6 and 12 the curve falls by 36% but the table (114 -> 78 at risk) "
        "allows at most 32%",
    ]
    kept, checks = _table_warnings(said, ["Arm 1", "Arm 2"])
    assert kept == said[:1]
    warnings, _ = arm_warnings("Arm 1", [], checks["Arm 1"])
    assert len(warnings) == 1
    assert "[6, 12) the curve falls 36%, the table (114 -> 78) allows 32%" in warnings[0]
