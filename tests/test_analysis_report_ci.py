"""One interval width for a whole analysis (issue 14): a spec with ``ci = 0.9`` gets its posterior
intervals computed at 90% and labelled 90% in report.html, while the trials' own confidence
intervals, a fact about the source, keep the level each row carries (its ci_level, 95% without
one).

The report is the default-tier pool report of test_report_committee (the shipped paediatric EFS
hazard ratios), built as ``bayesurv run`` builds it: the summary inside the spec's width. Its
numbers are checked against the independent trapezoid-rule posterior of tests/reference_pool.py
at the 5% and 95% quantiles."""

import math
import re

import numpy as np
import pandas as pd
import pytest
import test_report_committee as committee
from reference_pool import NormalNormal, effects

from bayesurv.intervals import ci_width
from bayesurv.report_format import interval

CSV = committee.ROOT / "data" / "effects_blinatumomab.csv"


@pytest.fixture(scope="module")
def report90(tmp_path_factory):
    spec = committee.SPEC.replace("seed = 5\n", "seed = 5\nci = 0.9\n")
    assert "ci = 0.9" in spec
    saved = committee.SPEC
    committee.SPEC = spec
    try:
        with ci_width(0.9):  # as bayesurv.runner._run does with the spec's ci
            page, summary, run = committee.pool_report(tmp_path_factory.mktemp("ci90"))
    finally:
        committee.SPEC = saved
    ref = NormalNormal(*effects(CSV, set="pediatric", outcome="event-free"))
    return page, summary, run, ref


def test_posterior_intervals_are_computed_at_the_spec_width(report90):
    page, summary, run, ref = report90
    ex = summary["pool"][committee.NAME]["exact"]
    assert ex["level"] == 0.9
    hr = ex["pooled"]["hr"]
    assert hr["lower"] == pytest.approx(math.exp(ref.mu_quantile(0.05)), rel=1e-4)
    assert hr["upper"] == pytest.approx(math.exp(ref.mu_quantile(0.95)), rel=1e-4)
    # 95% limits would be wider by about 0.05 on the log scale: this check can fail
    assert math.log(hr["lower"]) - ref.mu_quantile(0.025) > 0.02
    # the sensitivity table's tau upper limit: the 95% quantile of tau, no longer 97.5%
    sens = run.sensitivity.loc["halfnormal(0.5)"]
    cdf = np.cumsum(ref.weight)
    tau95 = float(np.interp(0.95, cdf, ref.tau))
    assert sens["tau_upper"] == pytest.approx(tau95, rel=2e-3)
    assert sens["hr_lower"] == pytest.approx(hr["lower"], rel=1e-6)
    # the page shows those numbers under a 90% label
    text = committee.visible_text(page.read_text())
    assert f"pooled HR {interval(hr)}" in text


def test_posterior_labels_follow_the_width_and_published_cis_stay_95(report90):
    page, _, _, _ = report90
    text = committee.visible_text(page.read_text())
    for said in ("median (90% CrI)", "pooled HR (90% CrI)", "HR of a new trial, 90% PrI"):
        assert said in text, said
    assert "tau median (95% limit)" in text  # the upper limit of tau's 90% interval
    assert not re.search(r"95% (CrI|PrI|band|interval)|97\.5% limit", text), re.findall(
        r".{40}95% (?:CrI|PrI|band|interval).{10}", text
    )
    # what the trials published is a fact about the source
    assert "lower 95% CI" in text and "hazard ratios and 95% CIs" in text


# ---- the trials' own CIs: each table and caption names the level its rows carry (ci_level) ----
# Real rows: the study 20120215 5-year OS landmarks (95% CIs, data/case_study), TOWER's OS HR
# (95%) and INO-VATE's final and primary-analysis OS HRs (97.5%), as in
# /work/shared/evidence/related_trials.toml and data/nma_ball_os.csv.
LANDMARKS = committee.ROOT / "data" / "case_study" / "study_20120215_landmarks.csv"
INO_VATE = (
    "study,hr,lower,upper,ci_level\nfinal,0.75,0.57,0.99,0.975\nprimary,0.77,0.58,1.03,0.975\n"
)
B_ALL = committee.ROOT / "data" / "nma_ball_os.csv"


def _landmark_check(level=None) -> pd.DataFrame:
    """The OS landmark rows as sections.survival's landmark_check holds them; with ``level`` the
    rows carry that ci_level (one, or one per row), their limits the published estimate's CI at
    that level (the published 95% CI's standard error on the cloglog scale,
    evidence.ci.centre_se); a row at 0.95 keeps the published limits."""
    from bayesurv.evidence.ci import centre_se, z_of_level

    lm = pd.read_csv(LANDMARKS, comment="#").query("endpoint == 'OS'")
    out = pd.DataFrame(
        {
            "arm": lm["arm"].to_numpy(),
            "time": lm["time_months"].to_numpy(float),
            "published": lm["survival"].to_numpy(float),
            "published_lower": lm["lower"].to_numpy(float),
            "published_upper": lm["upper"].to_numpy(float),
        }
    )
    if level is not None:
        g, se = centre_se(
            out["published"], out["published_lower"], out["published_upper"], 0.95, "cloglog"
        )
        lv = np.broadcast_to(np.asarray(level, float), g.shape)
        z = np.array([z_of_level(float(v)) for v in lv])
        same = lv == 0.95  # a row at 0.95 keeps the published limits
        lo, hi = (
            np.exp(-np.exp(g + z * se)),
            np.exp(-np.exp(g - z * se)),
        )  # cloglog falls as S rises
        out["published_lower"] = np.where(same, out["published_lower"], lo)
        out["published_upper"] = np.where(same, out["published_upper"], hi)
        out["ci_level"] = lv
    return out


def _page(surv=None, pools=None) -> str:
    """The 'what this rests on' and 'evidence' parts of report.html for these sections."""
    from types import SimpleNamespace

    from bayesurv.analysis_report import _evidence_part, _rests_on_part
    from bayesurv.report import Report

    surv = {
        name: [SimpleNamespace(landmark_check=lm, section=SimpleNamespace(time_unit="months"))]
        for name, lm in (surv or {}).items()
    }
    pools = {name: SimpleNamespace(effects=eff) for name, eff in (pools or {}).items()}
    rep = Report("t")
    _rests_on_part(rep, None, {}, surv, pools, {}, {})
    _evidence_part(rep, None, surv, pools, {}, {})
    return committee.visible_text(rep.render())


def test_published_landmark_cis_are_labelled_at_their_level():
    lm95 = _landmark_check()
    text = _page({"OS": lm95})
    assert "OS: reported Kaplan-Meier estimates (95% CI)" in text
    assert "lower 95% CI" in text and "upper 95% CI" in text
    lm975 = _landmark_check(0.975)
    # the 97.5% limits are wider than the published 95% ones: the rows differ, not only labels
    assert (lm975["published_lower"] < lm95["published_lower"]).all()
    assert (lm975["published_upper"] > lm95["published_upper"]).all()
    text = _page({"OS": lm975})
    assert "OS: reported Kaplan-Meier estimates (97.5% CI)" in text
    assert "lower 97.5% CI" in text and "upper 97.5% CI" in text and "95% CI" not in text
    text = _page({"OS": _landmark_check(0.9)})
    assert "(90% CI)" in text and "lower 90% CI" in text and "95% CI" not in text
    mixed = _page({"OS": _landmark_check([0.95, 0.975])})
    assert "OS: reported Kaplan-Meier estimates (CI (level per row))" in mixed
    assert re.search(r"lower CI upper CI CI level .*0\.642 0\.874 95% .*97\.5%", mixed), mixed


def test_published_hazard_ratio_cis_are_labelled_at_their_level(tmp_path):
    from bayesurv.evidence.effects import read_effects

    p = tmp_path / "ino_vate.csv"
    p.write_text(INO_VATE)
    ino = read_effects(p)
    text = _page(pools={"INO-VATE cuts": ino})
    assert "reported hazard ratios and 97.5% CIs (reported summaries only)" in text
    assert "rest on the hazard ratios and 97.5% CIs each trial reported" in text
    assert "INO-VATE cuts: reported hazard ratios (97.5% CI) and their sources" in text
    assert "lower 97.5% CI" in text and "95%" not in text
    both = read_effects(B_ALL)  # TOWER 95%, INO-VATE 97.5%
    text = _page(pools={"R/R B-ALL": both})
    assert "reported hazard ratios and CIs (level per row)" in text
    assert "rest on the hazard ratios and CIs (level per row) each trial reported" in text
    assert re.search(r"TOWER 0\.71 0\.55 0\.93 95% .* INO-VATE 0\.75 0\.57 0\.99 97\.5%", text)
    # the shipped paediatric file states no level: its rows are 95% CIs, as before
    text = _page(pools={"EFS": read_effects(CSV, {"set": "pediatric", "outcome": "event-free"})})
    assert "hazard ratios and 95% CIs" in text and "lower 95% CI" in text


def _checks(level=None, hr_level=None) -> str:
    """report.html's check tables of a [[survival]] fit (analysis_report._check_tables) for the
    study 20120215 OS landmarks and its OS HR 0.35 (95% CI 0.17 to 0.70, FDA approval summary,
    Clin Cancer Res 2025, Table 5), the model columns left out (not what is checked here)."""
    from types import SimpleNamespace

    from bayesurv.analysis_report import _check_tables
    from bayesurv.report import Report

    lm = _landmark_check(level)
    hr = pd.DataFrame(
        {
            "analysis": ["regulator"],
            "published": [0.35],
            "published_lower": [0.17],
            "published_upper": [0.70],
            "within_published_ci": [True],
        }
    )
    if hr_level is not None:
        hr["ci_level"] = hr_level
    rep = Report("t")
    best = SimpleNamespace(landmark_check=lm, hr_check=hr, median_check=pd.DataFrame())
    _check_tables(rep, "OS", best)
    return committee.visible_text(rep.render())


def test_model_check_tables_name_the_published_level_not_a_ci_level_column():
    text = _checks(level=0.95)
    assert "OS: model (95% CrI) against the published landmark estimates (95% CI)" in text
    assert "lower 95% CI" in text and "upper 95% CI" in text
    assert "ci level" not in text.lower() and "0.95" not in text  # no raw ci_level column
    text = _checks(level=0.975, hr_level=0.975)
    assert "landmark estimates (97.5% CI)" in text and "lower 97.5% CI" in text
    assert "published hazard ratios (97.5% CI, experimental vs control)" in text
    assert "95% CI" not in text
    mixed = _checks(level=[0.95, 0.975])
    assert "landmark estimates (CI (level per row))" in mixed
    assert re.search(r"lower CI upper CI CI level .*95% .*97\.5%", mixed), mixed
