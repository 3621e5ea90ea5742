"""Reading and cleaning digitized curves and numbers-at-risk tables: formats, scale detection,
the cleaning method, and one clear sentence for each kind of bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from bayesurv.errors import InputError
from bayesurv.evidence.curves import (
    clean_curve,
    parse_columns,
    read_at_risk,
    read_censor_marks,
    read_curves,
    select_curve,
)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_time_survival_csv_in_percent_is_detected_and_said(tmp_path):
    p = write(tmp_path, "c.csv", "time,survival\n0,100\n5,90\n10,80\n")
    c = clean_curve(read_curves(p)["curve"], source=str(p))
    assert c.scale == "percent"
    assert any("percentage" in line for line in c.log)
    np.testing.assert_allclose(c.survival, [1.0, 0.9, 0.8])


def test_proportion_is_detected_and_said(tmp_path):
    p = write(tmp_path, "c.csv", "time,survival\n0,1\n5,0.9\n10,0.8\n")
    c = clean_curve(read_curves(p)["curve"])
    assert c.scale == "proportion"
    assert any("proportion" in line for line in c.log)


def test_forced_percent_on_a_low_curve():
    # a curve that never exceeds 1.5 but is in percent (e.g. a figure zoomed on 0-1.2 %): forced
    raw = pd.DataFrame({"time": [0, 1, 2], "survival": [1.2, 1.0, 0.5]})
    c = clean_curve(raw, percent=True)
    np.testing.assert_allclose(c.survival[1:], [0.012, 0.01, 0.005])


def test_webplotdigitizer_headerless_csv(tmp_path):
    p = write(tmp_path, "wpd.csv", "0.1,99.5\n3.2,90.1\n7.9,81.0\n")
    curves = read_curves(p)
    assert list(curves) == ["curve"]
    assert clean_curve(curves["curve"]).scale == "percent"


def test_webplotdigitizer_multi_dataset_csv(tmp_path):
    text = "Blinatumomab,,Chemotherapy,\nX,Y,X,Y\n0,1,0,1\n5,0.9,4,0.8\n10,0.85,,\n"
    curves = read_curves(write(tmp_path, "all.csv", text))
    assert list(curves) == ["Blinatumomab", "Chemotherapy"]
    assert len(curves["Blinatumomab"]) == 3 and len(curves["Chemotherapy"]) == 2


def test_webplotdigitizer_json_project_two_arms(tmp_path):
    proj = {
        "version": [4, 2],
        "axesColl": [{"name": "XY", "type": "XYAxes"}],
        "datasetColl": [
            {
                "name": "A",
                "axesName": "XY",
                "data": [{"x": 1, "y": 2, "value": [0, 1]}, {"x": 3, "y": 4, "value": [5, 0.8]}],
            },
            {
                "name": "B",
                "axesName": "XY",
                "data": [{"x": 1, "y": 2, "value": [0, 1]}, {"x": 3, "y": 4, "value": [6, 0.7]}],
            },
        ],
    }
    p = write(tmp_path, "proj.json", json.dumps(proj))
    curves = read_curves(p)
    assert set(curves) == {"A", "B"}
    assert clean_curve(select_curve(curves, str(p), "B")).survival[-1] == pytest.approx(0.7)
    with pytest.raises(InputError, match="holds 2 curves"):
        select_curve(curves, str(p), None)
    with pytest.raises(InputError, match="no curve named 'C'"):
        select_curve(curves, str(p), "C")


def test_cumulative_incidence_is_turned_into_survival():
    raw = pd.DataFrame({"time": [0, 5, 10], "survival": [0, 10, 25]})
    c = clean_curve(raw, cumulative_incidence=True)
    np.testing.assert_allclose(c.survival, [1.0, 0.9, 0.75])


def test_cleaning_makes_real_clicks_a_monotone_step_curve():
    # unsorted, duplicated, slightly rising, a point a hair above 1, no (0, 1) anchor
    raw = pd.DataFrame(
        {
            "time": [5, 1, 1, 3, 8, 8, 12, 10],
            "survival": [0.8, 1.004, 1.004, 0.91, 0.7, 0.7, 0.62, 0.635],
        }
    )
    c = clean_curve(raw)
    assert c.time[0] == 0 and c.survival[0] == 1
    assert np.all(np.diff(c.time) >= 0) and np.all(np.diff(c.survival) <= 0)
    assert c.changes["duplicates_removed"] >= 1
    assert c.changes["clipped"] == 2


def test_time_noise_at_a_drop_does_not_split_it():
    # both corners of a drop at t=10 (0.8 -> 0.7), clicked with the lower one 0.04 to the left:
    # sorting by time would make the curve 0.7 at 9.98 and split the drop; cleaning along the
    # curve keeps one drop at one time
    raw = pd.DataFrame({"time": [0, 5, 10.02, 9.98, 15], "survival": [1, 0.8, 0.8, 0.7, 0.7]})
    t, level, upper = clean_curve(raw).corners()
    k = np.flatnonzero(np.isclose(level, 0.7))[0]
    assert upper[k] == pytest.approx(0.8)  # the whole drop happens at that one time
    assert t[k] == pytest.approx(10.0)


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "is empty"),
        ("time,survival\n", "no data rows"),
        ("time,survival\n0,1\n", "only 1 point"),
        ("t,s\n0,1\n1,0.9\n", "needs 'time' and 'survival'"),
        ("time,survival\n0,1\n1,abc\n", "row 2: survival is 'abc'"),
        ("time,survival\n0,1\n-3,0.9\n5,0.8\n", "row 2: time -3 is negative"),
        ("time,survival\n0,100\n5,140\n10,80\n", "row 2: survival 140% is above 100%"),
        ("time,survival\n0,1\n5,1.4\n10,0.8\n", "row 2: survival 1.4 is above 1"),
        (
            "time,survival\n0,1\n5,0.9\n10,-0.2\n",
            "row 3: survival -20% is below 0|row 3: survival -0.2 is below 0",
        ),
    ],
)
def test_bad_curves_give_one_sentence_naming_file_and_row(tmp_path, text, match):
    p = write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError, match=match) as err:
        clean_curve(read_curves(p)["curve"], source=str(p))
    msg = str(err.value)
    assert "bad.csv" in msg and "\n" not in msg


def test_binary_file_is_refused(tmp_path):
    p = tmp_path / "fig.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(InputError, match="not a text file"):
        read_curves(p)


def test_at_risk_with_arm_column(tmp_path):
    p = write(tmp_path, "nar.csv", "arm,time,at_risk\nA,0,50\nA,12,40\nB,0,60\nB,12,45\n")
    nar = read_at_risk(p, arm="B")
    assert nar["at_risk"].tolist() == [60, 45]
    with pytest.raises(InputError, match="choose one with --arm"):
        read_at_risk(p)
    with pytest.raises(InputError, match="no rows for arm 'C'"):
        read_at_risk(p, arm="C")


@pytest.mark.parametrize(
    "text, match",
    [
        ("time,at_risk\n0,100\n12,80\n24,90\n", "rows 2-3: numbers at risk rise from 80"),
        ("time,at_risk\n0,100\n12,80\n12,70\n", "time 12 appears twice"),
        ("time,at_risk\n6,100\n12,80\n", "must start at time 0"),
        ("time,at_risk\n0,100\n12,80.5\n", "not a count"),
        ("time,n\n0,100\n", "needs 'at_risk'"),
        ("time,at_risk\n0,100\n-1,80\n", "negative"),
    ],
)
def test_bad_at_risk_tables(tmp_path, text, match):
    p = write(tmp_path, "nar.csv", text)
    with pytest.raises(InputError, match=match) as err:
        read_at_risk(p)
    assert "nar.csv" in str(err.value)


def test_the_flat_start_of_a_curve_in_a_padded_frame_is_moved_to_time_0():
    # R, ggplot2 and matplotlib pad the axes by ~4%: a trace read from the frame's edge starts
    # at t = -1.4 on a 0-35 axis, on the curve's flat top; that is S = 1 up to 0, not a bad click
    raw = pd.DataFrame({"time": [-1.4, -0.5, 0.0, 5, 5, 12], "survival": [1, 1, 1, 1, 0.8, 0.8]})
    c = clean_curve(raw)
    assert c.time.min() == 0.0
    assert any("flat start before time 0" in line for line in c.log)
    # a click before 0 below the top is still an error in the input
    with pytest.raises(InputError, match="row 1: time -1.4 is negative"):
        clean_curve(pd.DataFrame({"time": [-1.4, 5, 12], "survival": [0.8, 0.8, 0.6]}))


def test_columns_name_the_time_and_survival_columns(tmp_path):
    p = write(tmp_path, "c.csv", "time,surv_pct,note\n0,100,a\n5,90,b\n10,80,c\n")
    with pytest.raises(InputError, match="--columns TIME,SURV"):
        read_curves(p)
    curve = read_curves(p, columns=("time", "surv_pct"))["curve"]
    c = clean_curve(curve)
    assert c.scale == "percent"
    np.testing.assert_allclose(c.survival, [1.0, 0.9, 0.8])
    with pytest.raises(InputError, match="no column 'surv'"):
        read_curves(p, columns=("time", "surv"))
    assert parse_columns("Months, S") == ("Months", "S")
    with pytest.raises(InputError, match="not two column names"):
        parse_columns("time")


def test_censor_marks_file_as_digitize_writes_it(tmp_path):
    p = write(tmp_path, "m.csv", "arm,time,survival\narm1,4,0.9\narm1,2,0.95\narm2,3,0.7\n")
    np.testing.assert_allclose(read_censor_marks(p, arm="arm1"), [2.0, 4.0])
    with pytest.raises(InputError, match="choose one with --arm"):
        read_censor_marks(p)
    with pytest.raises(InputError, match="no marks for arm 'arm3'"):
        read_censor_marks(p, arm="arm3")
    q = write(tmp_path, "n.csv", "time\n1\nx\n")
    with pytest.raises(InputError, match="row 2: time is 'x'"):
        read_censor_marks(q)
