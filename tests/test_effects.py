"""EFFECTS.csv reader: standard errors from CIs and one clear sentence for each bad input."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesurv.errors import InputError
from bayesurv.evidence.effects import read_effects

DATA = Path(__file__).resolve().parents[1] / "data"


def write(tmp_path, text, name="effects.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_se_from_ci_and_log_hr_se_input(tmp_path):
    p = write(tmp_path, "study,hr,lower,upper\nA,0.38,0.22,0.65\nB,0.70,0.47,1.03\n")
    df = read_effects(p)
    # se = (log upper - log lower) / (2 * 1.959964)
    assert df["se"].iloc[0] == pytest.approx(
        (np.log(0.65) - np.log(0.22)) / (2 * 1.959964), rel=1e-6
    )
    assert df["log_hr"].iloc[1] == pytest.approx(np.log(0.70))
    p = write(tmp_path, "study,log_hr,se\nA,-0.9,0.3\nB,-0.3,0.2\n", "b.csv")
    assert read_effects(p)["se"].tolist() == [0.3, 0.2]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("study,hr,lower\nA,0.5,0.3\nB,0.6,0.4\n", "upper are missing"),
        ("hr,lower,upper\n0.5,0.3,0.8\n0.6,0.4,0.9\n", "no 'study' column"),
        ("study,hr,lower,upper\nA,0.5,0.8,0.3\nB,0.6,0.4,0.9\n", "row 1: lower (0.8) is not below"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nB,0,0.4,0.9\n", "row 2: hr, lower and upper must"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nB,-0.2,0.4,0.9\n", "row 2"),
        ("study,hr,lower,upper\nA,1.5,0.3,0.8\nB,0.6,0.4,0.9\n", "row 1: the HR 1.5 lies outside"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nB,0.45,0.4,0.9\n", "one arm is 5.9 times"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nA,0.6,0.4,0.9\n", "row 2: study 'A' appears more"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\n", "only 1 study"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nB,abc,0.4,0.9\n", "row 2: column 'hr' holds 'abc'"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nB,,0.4,0.9\n", "row 2: column 'hr' is empty"),
        ("study,log_hr,se\nA,-0.5,0.2\nB,-0.3,0\n", "row 2: se must be positive"),
    ],
)
def test_bad_input_is_one_sentence_naming_file_and_row(tmp_path, text, fragment):
    p = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_effects(p)
    msg = str(err.value)
    assert msg.startswith("effects.csv")
    assert fragment in msg
    assert msg.count(". ") == 0 and msg.endswith(".")  # one sentence


def test_where_selects_rows_and_keeps_file_row_numbers(tmp_path):
    p = write(
        tmp_path,
        "study,outcome,hr,lower,upper\nA,os,0.5,0.3,0.8\nA,efs,0.6,0.4,0.9\n"
        "B,os,0.7,0.5,0.98\nB,efs,0.8,0.1,0.9\n",
    )
    assert read_effects(p, {"outcome": "os"})["study"].tolist() == ["A", "B"]
    with pytest.raises(InputError, match="row 4"):
        read_effects(p, {"outcome": "efs"})
    with pytest.raises(InputError, match="no column 'arm'"):
        read_effects(p, {"arm": "x"})


def test_case_study_files_read_and_keep_sources_and_tags():
    # Values copied from /work/shared/evidence/*.toml; every row has a source and a tag.
    eff = DATA / "effects_blinatumomab.csv"
    efs = read_effects(eff, {"set": "pediatric", "outcome": "event-free"})
    assert efs["study"].tolist() == ["20120215", "AALL1331-HR/IR", "AALL1331-LR", "AALL1731"]
    # study_20120215.toml [analysis.efs] (final 5-year): hr = 0.38, ci = [0.22, 0.65]
    assert efs.loc[0, ["hr", "lower", "upper"]].astype(float).tolist() == [0.38, 0.22, 0.65]
    # related_trials.toml AALL1331-HR/IR: dfs = { hr = 0.70, ci = [0.47, 1.03], tag = "secondary" }
    assert efs.loc[1, "tag"] == "secondary"
    os_ = read_effects(eff, {"set": "pediatric", "outcome": "overall"})
    # study_20120215.toml [[analysis]] "regulator": os = { hr = 0.35, ci = [0.17, 0.70] }
    assert os_.loc[0, "tag"] == "regulator"
    adult = read_effects(eff, {"set": "adult", "outcome": "overall"})
    assert adult["study"].tolist() == ["E1910", "TOWER"]
    for frame in (efs, os_, adult):
        assert frame["source"].str.len().min() > 10
    sub = read_effects(DATA / "study_20120215_subgroups.csv", {"outcome": "OS", "factor": "age"})
    # study_20120215.toml [[analysis.os.subgroup]] age 1-9 years: hr = 0.29, ci = [0.12, 0.70]
    assert sub.loc[0, ["hr", "lower", "upper"]].astype(float).tolist() == [0.29, 0.12, 0.70]


def test_exclude_drops_rows_before_the_checks(tmp_path):
    from bayesurv.evidence.effects import read_effects

    p = tmp_path / "e.csv"
    p.write_text(
        "study,set,hr,lower,upper\nA,main,0.5,0.3,0.8\nA,old,0.4,0.2,0.8\nB,main,0.7,0.5,1.0\n"
    )
    df = read_effects(p, exclude_={"set": "old"})
    assert df["study"].tolist() == ["A", "B"]


# -- files as people save them (issue 14 item 4) ------------------------------------------------


def test_headers_are_case_insensitive_with_common_aliases(tmp_path):
    p = write(tmp_path, "Study,HR,LCI,UCI\nA,0.38,0.22,0.65\nB,0.70,0.47,1.03\n")
    df = read_effects(p)
    assert df["se"].iloc[0] == pytest.approx(
        (np.log(0.65) - np.log(0.22)) / (2 * 1.959964), rel=1e-6
    )
    p = write(
        tmp_path,
        "Trial,Hazard Ratio,Lower 95% CI,Upper 95% CI\nA,0.5,0.3,0.83\nB,0.8,0.6,1.07\n",
        "b.csv",
    )
    assert read_effects(p)["study"].tolist() == ["A", "B"]
    p = write(tmp_path, "study,lower_ci,upper_ci,hr\nA,0.3,0.83,0.5\nB,0.6,1.07,0.8\n", "c.csv")
    assert read_effects(p)["hr"].tolist() == ["0.5", "0.8"]
    p = write(tmp_path, "STUDY,logHR,SE\nA,-0.5,0.2\nB,-0.2,0.3\n", "d.csv")
    assert read_effects(p)["se"].tolist() == [0.2, 0.3]


def test_semicolon_files_with_decimal_commas_are_read(tmp_path):
    p = write(tmp_path, "Study;HR;LCI;UCI;source\nA;0,38;0,22;0,65;x, y\nB;0,7;0,47;1,03;z\n")
    df = read_effects(p)
    assert df["log_hr"].tolist() == pytest.approx(np.log([0.38, 0.70]))
    assert df["source"].tolist() == ["x, y", "z"]  # text keeps its commas
    p = write(tmp_path, "study\thr\tlower\tupper\nA\t0.5\t0.3\t0.8\nB\t0.6\t0.4\t0.9\n", "t.tsv")
    assert read_effects(p)["study"].tolist() == ["A", "B"]


def test_a_comma_file_that_cannot_be_read_is_refused_in_one_sentence(tmp_path):
    # decimal commas in a comma-separated file: the rows have more fields than the header
    p = write(tmp_path, "study,hr,lower,upper\nA,0,5,0,3,0,8\nB,0,6,0,4,0,9\n")
    with pytest.raises(InputError) as err:
        read_effects(p)
    msg = str(err.value)
    assert msg.startswith("effects.csv") and "decimal commas" in msg and msg.count(". ") == 0


def test_two_columns_meaning_the_same_are_refused(tmp_path):
    p = write(tmp_path, "study,Hazard Ratio,HR estimate,lower,upper\nA,0.5,0.5,0.3,0.8\n")
    with pytest.raises(InputError, match="both mean 'hr'"):
        read_effects(p)


def test_ci_level_column_gives_the_right_se_and_is_checked(tmp_path):
    # INO-VATE final report (Kantarjian et al. Cancer 2019;125:2474-87, via
    # ../shared/evidence/related_trials.toml): HR 0.75, 97.5% CI 0.57-0.99;
    # se = (log 0.99 - log 0.57) / (2 x 2.2414)
    p = write(
        tmp_path,
        "study,hr,lower,upper,ci_level\nINO-VATE,0.75,0.57,0.99,0.975\nTOWER,0.71,0.55,0.93,\n",
    )
    df = read_effects(p)
    assert df["se"].iloc[0] == pytest.approx((np.log(0.99) - np.log(0.57)) / (2 * 2.2414), rel=1e-4)
    assert df["se"].iloc[1] == pytest.approx(
        (np.log(0.93) - np.log(0.55)) / (2 * 1.959964), rel=1e-6
    )
    for bad in ("97.5", "0", "1.2"):
        p = write(
            tmp_path,
            f"study,hr,lower,upper,ci_level\nA,0.75,0.57,0.99,{bad}\nB,0.8,0.6,1.0,0.95\n",
            f"bad{bad}.csv",
        )
        with pytest.raises(InputError) as err:
            read_effects(p)
        msg = str(err.value)
        assert "row 1" in msg and "outside (0, 1)" in msg and msg.count(". ") == 0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("study,log_hr,se\nA,1000,0.2\nB,-0.2,0.3\n", "row 1: log_hr is 1000"),
        ("study,log_hr,se\nA,-0.2,0.2\nB,-0.2,300\n", "row 2: se is 300"),
        ("study,log_hr,se\nA,-0.2,0.2\nB,inf,0.3\n", "row 2: column 'log_hr' is empty or not"),
        ("study,hr,lower,upper\nA,1e30,1e29,1e31\nB,0.6,0.4,0.9\n", "row 1: the HR and CI"),
    ],
)
def test_absurd_magnitudes_are_refused_naming_the_row(tmp_path, text, fragment):
    with pytest.raises(InputError) as err:
        read_effects(write(tmp_path, text))
    assert str(err.value).startswith("effects.csv") and fragment in str(err.value)


def test_read_through_the_input_layer(tmp_path):
    """Case-insensitive aliases with ';' and decimal commas read as the ',' file; Latin-1 is
    refused by name (it was read silently before)."""
    semi = read_effects(write(tmp_path, "Study;HR;LCI;UCI\nA;0,8;0,6;1,07\nB;0,7;0,5;0,98\n"))
    comma = read_effects(write(tmp_path, "study,hr,lower,upper\nA,0.8,0.6,1.07\nB,0.7,0.5,0.98\n"))
    pd.testing.assert_frame_equal(semi[["study", "log_hr", "se"]], comma[["study", "log_hr", "se"]])
    p = tmp_path / "latin.csv"
    p.write_bytes("study,hr,lower,upper\nÜ,0.8,0.6,1.07\nB,0.7,0.5,0.98\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_effects(p)
