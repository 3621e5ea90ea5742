"""Reported and external evidence: the binomial equivalent of a landmark, registry counts, and
the readers' checks (bayesurv.evidence.reported); the terms' log-likelihoods are
bayesurv.survival.terms.term_loglik."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from bayesurv.errors import InputError
from bayesurv.evidence.ci import Z95
from bayesurv.evidence.reported import (
    check_landmarks,
    check_medians,
    hazard_ratio_terms,
    landmark_binomial,
    read_landmarks,
    read_registry,
    validate_landmarks,
)
from bayesurv.survival.evidence import cox_nodes, followup_nodes
from bayesurv.survival.families import NP
from bayesurv.survival.terms import term_loglik


def _g(s, scale):
    return np.log(-np.log(s)) if scale == "cloglog" else np.log(s / (1 - s))


def _ginv(g, scale):
    return np.exp(-np.exp(g)) if scale == "cloglog" else 1 / (1 + np.exp(-g))


def _symmetric_ci(s, se, scale):
    """A 95% CI exactly symmetric around g(s) on the scale (lower < upper in S)."""
    a, b = _ginv(_g(s, scale) - Z95 * se, scale), _ginv(_g(s, scale) + Z95 * se, scale)
    return min(a, b), max(a, b)


def _H_of_g(g, scale):
    return -np.log(_ginv(g, scale))


def binomial(H, n, d):
    """The external landmark's term as the fit writes it (q = S = exp(-H))."""
    return term_loglik(NP, {"n": n, "k": d, "log_q": -H, "log_p": np.log(-np.expm1(-H))})


def registry(H0, H1, n, d):
    dH = H1 - H0
    return term_loglik(NP, {"n": n, "k": d, "log_q": -dH, "log_p": np.log(-np.expm1(-dH))})


@pytest.mark.parametrize("scale", ["cloglog", "logit"])
@pytest.mark.parametrize("s, se", [(0.35, 0.12), (0.08, 0.3), (0.9, 0.2)])
def test_binomial_equivalent_is_maximized_at_s_and_reproduces_the_ci(scale, s, se):
    lo, up = _symmetric_ci(s, se, scale)
    n, d, se_back = landmark_binomial(s, lo, up, scale)
    assert se_back == pytest.approx(se, rel=1e-12)
    assert d == pytest.approx(n * (1 - s), rel=1e-12)
    # maximized at S = s (numerically, over H)
    res = optimize.minimize_scalar(
        lambda H: -binomial(H, n, d),
        bounds=(1e-6, 10),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert np.exp(-res.x) == pytest.approx(s, rel=1e-6)
    # observed information on the g scale at the maximum = 1 / se^2, so the implied Wald CI on
    # that scale is the given CI
    g0, h = _g(s, scale), 1e-4

    def ll(g):
        return binomial(_H_of_g(g, scale), n, d)

    info = -(ll(g0 + h) - 2 * ll(g0) + ll(g0 - h)) / h**2
    assert info == pytest.approx(1 / se**2, rel=1e-5)
    implied = sorted(_ginv(g0 + np.array([-1, 1]) * Z95 / np.sqrt(info), scale))
    np.testing.assert_allclose(implied, [lo, up], rtol=1e-5)
    # the binomial counts give the same Wald CI by the delta method (closed form)
    var_g = (1 - s) / (n * s * np.log(s) ** 2) if scale == "cloglog" else 1 / (n * s * (1 - s))
    assert np.sqrt(var_g) == pytest.approx(se, rel=1e-12)


def test_binomial_loglik_equals_scipy_for_integer_counts():
    H = np.array([0.2, 0.9])
    got = binomial(H, np.array([50.0, 80.0]), np.array([10.0, 47.0]))
    want = stats.binom.logpmf([10, 47], [50, 80], 1 - np.exp(-H))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_registry_likelihood_maximized_at_observed_conditional_survival():
    n, d, start, stop = 240.0, 37.0, 60.0, 120.0
    # exponential model H(t) = rate t: conditional survival exp(-rate * 60)
    res = optimize.minimize_scalar(
        lambda r: -registry(r * start, r * stop, n, d),
        bounds=(1e-6, 0.1),
        method="bounded",
        options={"xatol": 1e-14},
    )
    assert np.exp(-res.x * (stop - start)) == pytest.approx(1 - d / n, rel=1e-6)


def test_readers(tmp_path):
    p = tmp_path / "landmarks.csv"
    p.write_text("time,survival,lower,upper,source\n120,0.40,0.30,0.50,registry A\n")
    t = read_landmarks(p)
    assert t["source"].tolist() == ["registry A"] and t["n_eff"].round(1).tolist() == [90.0]
    r = tmp_path / "registry.csv"
    r.write_text("# deaths by year\nstart,stop,n_at_risk,events\n0,12,100,12\n12,24,88,9\n")
    assert read_registry(r)["n_at_risk"].tolist() == [100.0, 88.0]


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "time,survival,lower,upper\n60,0.4,0.5,0.3\n",
            r"row 1: lower \(0.5\) is not below upper \(0.3\)",
        ),
        (
            "time,survival,lower,upper\n60,0.6,0.3,0.5\n",
            "row 1: the survival 0.6 lies outside its CI",
        ),
        (
            "time,survival,lower,upper\n60,40,30,50\n",
            "row 1: survival 40 .* is above 1; give proportions",
        ),
        ("time,survival,lower,upper\n60,0.4,0.0,0.5\n", "strictly between 0 and 1"),
        ("time,survival,lower,upper\n0,0.4,0.3,0.5\n", "row 1: time 0 is not positive"),
        (
            "time,survival,lower,upper\n60,0.4,0.39,0.5\n",
            "is not centred on 0.4 on the cloglog scale",
        ),
        ("time,survival,lower\n60,0.4,0.3\n", "needs 'upper'; rename the columns"),
        ("time,survival,lower,upper\n60,x,0.3,0.5\n", "row 1: survival is 'x', not a number"),
        ("time,survival,lower,upper\n", "has a header .* but no data rows"),
        ("time;survival;lower;upper\n0;0,4;0,3;0,5\n", "row 1: time 0 is not positive"),
        (np.random.default_rng(16).bytes(4000), "is not a text file"),
        ("Zeit,\xdcberleben\n".encode("latin-1"), "is not UTF-8"),
    ],
)
def test_bad_landmarks(tmp_path, text, match):
    p = tmp_path / "lm.csv"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError, match=match) as e:
        read_landmarks(p)
    assert str(e.value).startswith(str(p)) and str(e.value).endswith(".")


@pytest.mark.parametrize(
    "text, match",
    [
        ("start,stop,n_at_risk,events\n12,12,100,5\n", "row 1: stop 12 is not after start 12"),
        (
            "start,stop,n_at_risk,events\n0,12,100,5\n24,12,100,5\n",
            "row 2: stop 12 is not after start 24",
        ),
        ("start,stop,n_at_risk,events\n0,12,10,11\n", "row 1: events 11 exceed n_at_risk 10"),
        ("start,stop,n_at_risk,events\n0,12,0,0\n", "n_at_risk 0 is not positive"),
        ("start,stop,n_at_risk,events\n0,12,10,-1\n", "events -1 is negative"),
        ("start,stop,n_at_risk,events\n-1,12,10,1\n", "start -1 is negative"),
        ("start,stop,events\n0,12,1\n", "needs 'n_at_risk'; rename the columns"),
        ("start,stop,n_at_risk,events\n0,12,1e308,1\n", "row 1: n_at_risk is 1e308, beyond"),
    ],
)
def test_bad_registry(tmp_path, text, match):
    p = tmp_path / "reg.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=match) as e:
        read_registry(p)
    assert str(e.value).startswith(str(p)) and str(e.value).endswith(".")


def test_bad_scale_name():
    with pytest.raises(InputError, match="scale 'log' is not known"):
        validate_landmarks(
            pd.DataFrame({"time": [1], "survival": [0.4], "lower": [0.3], "upper": [0.5]}),
            scale="log",
        )


@pytest.mark.parametrize("s, lo, up", [(0.62, 0.55, 0.68), (0.23, 0.17, 0.30), (0.91, 0.86, 0.94)])
def test_implied_ci_matches_a_rounded_published_ci(s, lo, up):
    """CIs rounded to 2 decimals: the binomial equivalent's Wald CI (cloglog) is within 0.01."""
    n, d, _ = landmark_binomial(s, lo, up)
    se_g = np.sqrt((1 - s) / (n * s * np.log(s) ** 2))  # delta method for the binomial counts
    implied = sorted(_ginv(_g(s, "cloglog") + np.array([-1, 1]) * Z95 * se_g, "cloglog"))
    np.testing.assert_allclose(implied, [lo, up], atol=0.01)


# --------------------------------------------------------------------------------------------
# a trial's reported summaries
# --------------------------------------------------------------------------------------------
def test_followup_nodes_integrate_the_uniform():
    nodes, w = followup_nodes(50.0, 80.0)
    assert w.sum() == pytest.approx(1.0)
    assert nodes.min() > 20.0 and nodes.max() < 80.0
    # E[C] of Uniform(20, 80) is 50; E[1 - exp(-C/30)] in closed form
    assert np.sum(w * nodes) == pytest.approx(50.0)
    exact = 1 - 30 * (np.exp(-20 / 30) - np.exp(-80 / 30)) / 60
    assert np.sum(w * (1 - np.exp(-nodes / 30))) == pytest.approx(exact, rel=1e-10)


def test_cox_nodes_weight_by_the_follow_up_survivor():
    t, w = cox_nodes(50.0, 80.0)
    assert t.min() > 0 and t.max() < 80.0
    # int_0^80 G(t) dt = 20 + 30 = 50 (= E[C]); int_0^80 t G(t) dt in closed form:
    # G = 1 on [0, 20], (80 - t) / 60 on [20, 80]: 200 + (80 * 3000 - 168000) / 60 = 1400
    assert w.sum() == pytest.approx(50.0)
    assert np.sum(w * t) == pytest.approx(1400.0, rel=1e-10)


@pytest.mark.parametrize(
    "row, match",
    [
        ((60, 0.5, 0.6, 0.7), "strictly inside its 95% CI"),
        ((60, 0.5, 0.4, 1.0), "strictly inside"),
        ((0, 0.5, 0.4, 0.6), "must be positive"),
    ],
)
def test_bad_reported_landmarks(row, match):
    df = pd.DataFrame([row], columns=["time", "survival", "lower", "upper"])
    with pytest.raises(InputError, match=match):
        check_landmarks(df, "lm.csv")


def test_hazard_ratio_terms_say_which_rows_give_a_standard_error():
    """Study 20120215's published HRs (data/case_study/study_20120215_hazard_ratios.csv)."""
    df = pd.DataFrame(
        {
            "hr": [0.38, np.nan, 0.34, 0.35, 1.2],
            "lower": [0.22, np.nan, np.nan, np.nan, np.nan],
            "upper": [0.65, np.nan, np.nan, np.nan, np.nan],
            "p": ["<0.001", "0.001", "0.002", "<0.001", ""],
            "median_followup": [51.9, 51.9, np.nan, np.nan, 10.0],
        }
    )
    t = hazard_ratio_terms(df)
    assert t["se"].iloc[0] == pytest.approx((np.log(0.65) - np.log(0.22)) / 3.919927969)
    assert t["se"].iloc[2] == pytest.approx(abs(np.log(0.34)) / stats.norm.isf(0.001))
    assert t["used"].tolist() == [True, False, False, False, False]
    assert "p-value alone" in t["reason"].iloc[1]
    assert "no follow-up" in t["reason"].iloc[2]
    assert "bound" in t["reason"].iloc[3]
    assert "no CI and no p-value" in t["reason"].iloc[4]
    with pytest.raises(InputError, match="strictly inside"):
        hazard_ratio_terms(pd.DataFrame({"hr": [0.7], "lower": [0.8], "upper": [0.9]}), "hr.csv")


def test_medians_not_reached_and_one_sided():
    t = check_medians(
        pd.DataFrame(
            {
                "median": [20.0, 30.0, np.nan, 15.0],
                "lower": [15.0, 24.0, 40.0, np.nan],
                "upper": [28.0, np.nan, np.nan, 20.0],
            }
        )
    )
    assert t["used"].tolist() == [True, True, False, False]
    assert t["se"].iloc[0] == pytest.approx(np.log(28 / 15) / 3.919927969)
    assert t["se"].iloc[1] == pytest.approx(np.log(30 / 24) / 1.959963985)
    assert t["se_from"].iloc[1].startswith("one-sided")
    with pytest.raises(InputError, match="strictly inside"):
        check_medians(pd.DataFrame({"median": [20.0], "lower": [21.0], "upper": [30.0]}))


# ---- a [[survival]] section's files, through bayesurv.tables ---------------------------------
CASE_STUDY = Path(__file__).resolve().parent.parent / "data" / "case_study"
REPORTED = {
    kind: CASE_STUDY / f"study_20120215_{kind}.csv"
    for kind in ("landmarks", "events", "hazard_ratios")
}


def _section(**files):
    from bayesurv.spec import Survival

    return Survival(name="EFS", endpoint="EFS", **{k: str(v) for k, v in files.items()})


def _reported(files, **extra):
    from bayesurv.sections.survival import reported_arms

    sec = _section(**files, **extra)
    return reported_arms(sec, {f"survival[1].{k}": Path(v) for k, v in files.items()}, 1)


def _semicolons(src: Path, dst: Path) -> Path:
    """The file as a European spreadsheet saves it: ';' between cells, decimal commas."""
    import csv

    lines = [ln for ln in src.read_text().splitlines() if not ln.startswith("#")]
    rows = list(csv.reader(lines))
    num = re.compile(r"^-?\d+\.\d+$")
    with dst.open("w", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(
            [c.replace(".", ",") if num.match(c) else c for c in r] for r in rows
        )
    return dst


def test_section_files_read_as_pandas_reads_them():
    """The case study's files: every number pandas reads is the one the section reads."""
    arms, lm, ev, hrs = _reported(REPORTED)
    ref = pd.read_csv(REPORTED["landmarks"], comment="#")
    ref = ref[ref["endpoint"] == "EFS"]
    for arm in ("control", "experimental"):
        want = ref[ref["arm"] == arm][["time_months", "survival", "lower", "upper"]].to_numpy()
        got = arms[arm].landmarks
        assert np.array_equal(got[["time", "survival", "lower", "upper"]].to_numpy(float), want)
        assert got["ci_level"].isna().all()  # no ci_level column in the file: 95% CIs
    ref_ev = pd.read_csv(REPORTED["events"], comment="#")
    ref_ev = ref_ev[ref_ev["endpoint"] == "EFS"]
    assert ev["events"].tolist() == ref_ev["events"].tolist()
    assert np.array_equal(
        ev["max_followup"].to_numpy(float), ref_ev["max_followup_months"], equal_nan=True
    )
    ref_hr = pd.read_csv(REPORTED["hazard_ratios"], comment="#")
    ref_hr = ref_hr[ref_hr["endpoint"] == "EFS"]
    assert np.array_equal(hrs["hr"].to_numpy(float), ref_hr["hr"].to_numpy(float))
    assert hrs["p"].fillna("").tolist() == ref_hr["p"].fillna("").tolist()


def test_section_files_with_semicolons_and_decimal_commas_read_alike(tmp_path):
    """A ';' file with decimal commas gave a KeyError ('arm') from pandas; now the same rows."""
    semi = {k: _semicolons(v, tmp_path / v.name) for k, v in REPORTED.items()}
    a, b = _reported(REPORTED), _reported(semi)
    for arm in ("control", "experimental"):
        pd.testing.assert_frame_equal(a[0][arm].landmarks, b[0][arm].landmarks)
        pd.testing.assert_frame_equal(a[0][arm].events, b[0][arm].events)
    cols = ["hr", "lower", "upper", "se", "used"]
    pd.testing.assert_frame_equal(a[3][cols], b[3][cols])


@pytest.mark.parametrize(
    "kind, edit, match",
    [
        ("landmarks", ("EFS,control", "EFS,Control"), r"row 2: arm 'Control' is neither"),
        ("events", (",54,21,", ",54,many,"), r"row 1: events is 'many', not a number"),
        ("events", (",54,21,", ",54,21.5,"), r"row 1: events is 21.5, not a whole number"),
        ("landmarks", ("0.578", "1e400"), r"row 1: survival is '1e400'|beyond"),
        ("hazard_ratios", (",<0.001,not", ",about 0.001,not"), r"row 1: p = 'about 0.001'"),
        ("landmarks", ("EFS,control,60.0", "EFS,control,-60.0"), r"row 2: the landmark time -60"),
    ],
)
def test_a_bad_cell_in_a_section_file_names_the_file_and_its_row(tmp_path, kind, edit, match):
    text = REPORTED[kind].read_text()
    assert edit[0] in text
    bad = tmp_path / f"{kind}.csv"
    bad.write_text(text.replace(edit[0], edit[1], 1))
    files = {**REPORTED, kind: bad}
    with pytest.raises(InputError, match=match) as e:
        _reported(files)
    msg = str(e.value)
    assert str(bad) in msg and msg.endswith(".") and "\n" not in msg
