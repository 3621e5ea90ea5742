"""One rule for a reported CI (bayesurv.evidence.ci): its level per row (``ci_level``, a
proportion, default 0.95) means the same in effects files, network files, the landmark,
hazard-ratio and median files of a ``[[survival]]`` section and external landmarks; each
standard error against its closed form with the normal quantile from a printed table."""

import doctest
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import bayesurv.evidence.ci as ci
from bayesurv.errors import InputError
from bayesurv.evidence.effects import read_effects
from bayesurv.evidence.reported import (
    check_landmarks,
    check_medians,
    hazard_ratio_terms,
    read_landmarks,
    validate_landmarks,
)
from bayesurv.survival.evidence import landmark_scale

# Phi^-1((1 + c) / 2) as printed in normal tables (Abramowitz & Stegun 26.2, 4+ digits)
Z_TABLE = {0.90: 1.6449, 0.95: 1.9600, 0.975: 2.2414, 0.99: 2.5758}


def _cloglog(s):
    return math.log(-math.log(s))


def _one_sentence(msg: str) -> bool:
    return msg.endswith(".") and msg.count(". ") == 0


def test_docstring_examples():
    res = doctest.testmod(ci, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


@pytest.mark.parametrize("level", sorted(Z_TABLE))
def test_z_of_level_is_the_printed_normal_quantile(level):
    assert ci.z_of_level(level) == pytest.approx(Z_TABLE[level], abs=5e-5)
    assert ci.Z95 == pytest.approx(1.959963984540054, rel=1e-15)


def test_a_90_percent_hr_ci_gives_the_closed_form_se_in_every_reader(tmp_path):
    # HR 0.7, 90% CI 0.55-0.89: se = (log 0.89 - log 0.55) / (2 x 1.6449)
    want = (math.log(0.89) - math.log(0.55)) / (2 * Z_TABLE[0.90])
    c, se = ci.centre_se(0.7, 0.55, 0.89, 0.90)
    assert c == pytest.approx(math.log(0.7), rel=1e-12)
    assert se == pytest.approx(want, rel=1e-4)
    # a pooled HR input (EFFECTS.csv) and a [[survival]] section's hazard-ratio table
    p = tmp_path / "effects.csv"
    p.write_text("study,hr,lower,upper,ci_level\nA,0.7,0.55,0.89,0.9\nB,0.8,0.6,1.07,\n")
    eff = read_effects(p)
    hrs = hazard_ratio_terms(
        pd.DataFrame(
            {"hr": [0.7], "lower": [0.55], "upper": [0.89], "ci_level": [0.9], "p": [""]}
        ).assign(median_followup=24.0)
    )
    assert eff["se"].iloc[0] == pytest.approx(se, rel=1e-12)
    assert hrs["se"].iloc[0] == pytest.approx(se, rel=1e-12)
    assert hrs["se_from"].iloc[0] == "90% CI" and bool(hrs["used"].iloc[0])
    # a blank level is 95%
    assert eff["se"].iloc[1] == pytest.approx(
        (math.log(1.07) - math.log(0.6)) / (2 * Z_TABLE[0.95]), rel=1e-4
    )


def test_ino_vate_published_97_5_percent_cis(tmp_path):
    """INO-VATE (../shared/evidence/related_trials.toml): OS HR 0.75, 97.5% CI 0.57-0.99 (final
    report, Kantarjian et al. Cancer 2019) and 0.77, 97.5% CI 0.58-1.03 (N Engl J Med 2016);
    the evidence file's note: se = (log upper - log lower) / (2 x 2.2414)."""
    hr, lo, hi = [0.75, 0.77], [0.57, 0.58], [0.99, 1.03]
    want = [(math.log(u) - math.log(d)) / (2 * 2.2414) for d, u in zip(lo, hi, strict=True)]
    t = hazard_ratio_terms(
        pd.DataFrame({"hr": hr, "lower": lo, "upper": hi, "ci_level": ["0.975", "0.975"]})
    )
    assert t["se"].tolist() == pytest.approx(want, rel=1e-4)
    assert t["se_from"].tolist() == ["97.5% CI"] * 2
    p = tmp_path / "effects.csv"
    p.write_text(
        "study,hr,lower,upper,conf_level\nfinal,0.75,0.57,0.99,0.975\nprimary,0.77,0.58,1.03,0.975\n"
    )
    assert read_effects(p)["se"].tolist() == pytest.approx(t["se"].tolist(), rel=1e-12)


def test_a_99_percent_landmark_ci_on_the_cloglog_scale():
    # S(60) = 0.578, 99% CI 0.40-0.72: se = (cloglog 0.40 - cloglog 0.72) / (2 x 2.5758)
    want = (_cloglog(0.40) - _cloglog(0.72)) / (2 * Z_TABLE[0.99])
    lm = pd.DataFrame(
        {"time": [60.0, 60.0], "survival": [0.578, 0.578], "lower": [0.40, 0.425]}
    ).assign(upper=[0.72, 0.704], ci_level=[0.99, np.nan])
    check_landmarks(lm, "lm.csv")
    y, se = landmark_scale(lm)
    assert y == pytest.approx([_cloglog(0.578)] * 2, rel=1e-12)
    assert se[0] == pytest.approx(want, rel=1e-4)
    assert se[1] == pytest.approx((_cloglog(0.425) - _cloglog(0.704)) / (2 * 1.9600), rel=1e-4)
    # the same CI as external evidence: its binomial equivalent has that se on the cloglog scale,
    # n = (1 - s) / (s (log s)^2 se^2)
    ext = validate_landmarks(lm.iloc[:1].reset_index(drop=True))
    s = 0.578
    assert ext["se"].iloc[0] == pytest.approx(want, rel=1e-4)
    assert ext["n_eff"].iloc[0] == pytest.approx(
        (1 - s) / (s * math.log(s) ** 2 * ext["se"].iloc[0] ** 2), rel=1e-12
    )


def test_medians_at_90_percent_two_and_one_sided():
    t = check_medians(
        pd.DataFrame(
            {"median": [20.0, 30.0], "lower": [15.0, 24.0], "upper": [28.0, np.nan]}
        ).assign(ci_level=[0.9, 0.9])
    )
    assert t["se"].iloc[0] == pytest.approx(math.log(28 / 15) / (2 * Z_TABLE[0.90]), rel=1e-4)
    assert t["se"].iloc[1] == pytest.approx(math.log(30 / 24) / Z_TABLE[0.90], rel=1e-4)
    assert t["se_from"].tolist() == ["90% CI", "one-sided: upper limit not reached"]


CASE = Path(__file__).resolve().parent.parent / "data" / "case_study"


def _section_arms(tmp_path, landmarks: str):
    from bayesurv.sections.survival import reported_arms
    from bayesurv.spec import Survival

    p = tmp_path / "lm.csv"
    p.write_text(landmarks)
    sec = Survival(name="EFS", endpoint="EFS", landmarks=str(p))
    return reported_arms(sec, {"survival[1].landmarks": p}, 1)[0], p


def test_a_survival_sections_landmark_file_carries_its_level(tmp_path):
    arms, _ = _section_arms(
        tmp_path,
        "analysis,endpoint,arm,time_months,survival,lower,upper,Confidence Level\n"
        "final,EFS,experimental,60,0.578,0.40,0.72,0.99\n"
        "final,EFS,control,60,0.276,0.162,0.403,\n",
    )
    _, se_e = landmark_scale(arms["experimental"].landmarks)
    _, se_c = landmark_scale(arms["control"].landmarks)
    assert se_e[0] == pytest.approx((_cloglog(0.40) - _cloglog(0.72)) / (2 * 2.5758), rel=1e-4)
    assert se_c[0] == pytest.approx((_cloglog(0.162) - _cloglog(0.403)) / (2 * 1.9600), rel=1e-4)


def _bad_level_messages(tmp_path, cell: str) -> dict[str, str]:
    """The message of every reader for a row-1 CI level ``cell``."""
    out = {}

    def catch(name, fn):
        with pytest.raises(InputError) as err:
            fn()
        out[name] = str(err.value)

    eff = tmp_path / "effects.csv"
    eff.write_text(f"study,hr,lower,upper,ci_level\nA,0.7,0.55,0.89,{cell}\nB,0.8,0.6,1.07,\n")
    catch("effects", lambda: read_effects(eff))
    ext = tmp_path / "external.csv"
    ext.write_text(f"time,survival,lower,upper,ci_level\n120,0.4,0.3,0.5,{cell}\n")
    catch("external", lambda: read_landmarks(ext))
    lm = (
        "analysis,endpoint,arm,time_months,survival,lower,upper,ci_level\n"
        f"final,EFS,experimental,60,0.578,0.425,0.704,{cell}\n"
    )
    catch("survival landmarks", lambda: _section_arms(tmp_path, lm))
    one = {"hr": [0.7], "lower": [0.55], "upper": [0.89], "ci_level": [cell]}
    catch("hazard ratios", lambda: hazard_ratio_terms(pd.DataFrame(one), "hr.csv"))
    med = {"median": [20.0], "lower": [15.0], "upper": [28.0], "ci_level": [cell]}
    catch("medians", lambda: check_medians(pd.DataFrame(med), "med.csv"))
    return out


def test_a_percentage_level_is_refused_in_one_sentence_everywhere(tmp_path):
    msgs = _bad_level_messages(tmp_path, "95")
    tail = "the CI level 95 is outside (0, 1) (write 0.95 for 95%); give it as a proportion"
    for name, msg in msgs.items():
        assert "row 1: " + tail in msg, (name, msg)
        assert _one_sentence(msg), (name, msg)
    assert msgs["effects"].startswith("effects.csv, row 1: ")
    assert msgs["external"].startswith(str(tmp_path / "external.csv") + ", row 1: ")
    assert msgs["survival landmarks"].startswith(str(tmp_path / "lm.csv") + " (experimental)")
    assert msgs["hazard ratios"].startswith("hr.csv, row 1: ")
    assert msgs["medians"].startswith("med.csv, row 1: ")
    # the same sentence after the place
    assert len({m.split("row 1: ", 1)[1] for m in msgs.values()}) == 1


@pytest.mark.parametrize("cell", ["0", "1", "-0.5", "abc"])
def test_other_bad_levels_are_refused_alike(tmp_path, cell):
    msgs = _bad_level_messages(tmp_path, cell)
    want = "not a number" if cell == "abc" else "outside (0, 1)"
    for name, msg in msgs.items():
        assert "row 1: " in msg and want in msg and _one_sentence(msg), (name, msg)
    assert len({m.split("row 1: ", 1)[1] for m in msgs.values()}) == 1


def test_pool_cli_refuses_a_percentage_level_with_exit_2(tmp_path):
    from bayesurv.cli import app

    src = tmp_path / "effects.csv"
    src.write_text("study,hr,lower,upper,ci_level\nA,0.7,0.55,0.89,90\nB,0.8,0.6,1.07,\n")
    res = CliRunner().invoke(app, ["pool", str(src), "--json", str(tmp_path / "o.json")])
    assert res.exit_code == 2, res.output
    assert "row 1" in res.output and "write 0.9 for 90%" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "o.json").exists()


def test_a_semicolon_file_with_decimal_commas_gives_the_same_level(tmp_path):
    p = tmp_path / "external.csv"
    p.write_text("time;survival;lower;upper;ci_level\n120;0,4;0,3;0,5;0,9\n")
    se = read_landmarks(p)["se"].iloc[0]
    assert se == pytest.approx((_cloglog(0.3) - _cloglog(0.5)) / (2 * Z_TABLE[0.90]), rel=1e-4)
