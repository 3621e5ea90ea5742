"""The shipped case study, end to end (`bayesurv demo`): the fitted models reproduce what was
published, and the report is complete and opens in a browser."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats
from typer.testing import CliRunner

from bayesurv.browser import chromium, render
from bayesurv.cli import app

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.mcmc]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    r = CliRunner().invoke(app, ["demo", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    return out, r.output


def test_demo_prints_where_the_report_is(demo):
    out, text = demo
    assert f"Report: {out / 'case_study' / 'report.html'}" in text
    assert "known truth" in text
    assert (out / "reconstruction" / "ipd.csv").exists()


def test_landmarks_at_60_months_within_the_published_cis(demo):
    """Both arms, both endpoints, every model of the grid: the posterior median of S(60 months)
    lies inside the published 95% CI (data/case_study/study_20120215_landmarks.csv)."""
    out, _ = demo
    s = json.loads((out / "case_study" / "summary.json").read_text())
    for endpoint in ("EFS", "OS"):
        for model, m in s["survival"][endpoint]["models"].items():
            assert len(m["landmark_check"]) == 2
            for row in m["landmark_check"]:
                assert row["within_published_ci"], (endpoint, model, row)
                # the row's level travels to the report (the file gives no ci_level: 95%)
                assert row["ci_level"] == 0.95, (endpoint, model, row)


def test_pooled_and_trial_hrs_consistent_with_published(demo):
    out, _ = demo
    s = json.loads((out / "case_study" / "summary.json").read_text())
    for name in ("EFS across paediatric trials", "OS across paediatric trials"):
        ex = s["pool"][name]["exact"]
        for st in ex["studies"]:
            obs = np.exp(st["observed"]["log_hr"])
            # each trial's shrunken HR interval overlaps the trial's published 95% CI
            lo = np.exp(st["observed"]["log_hr"] - 1.96 * st["observed"]["se"])
            hi = np.exp(st["observed"]["log_hr"] + 1.96 * st["observed"]["se"])
            assert st["hr"]["lower"] < hi and st["hr"]["upper"] > lo, (name, st["study"])
            assert lo < obs < hi
        # the pooled HR's median is that of a brute-force grid posterior of the published
        # estimates (models/case_study.toml: normal(0, 4) on mu, halfnormal(0.5) on tau)
        want = np.exp(_GridPool(ex["studies"]).median())
        assert ex["pooled"]["hr"]["median"] == pytest.approx(want, rel=1e-3)
        # MCMC and exact agree within 0.1 posterior sd on the pooled log HR
        mc = s["pool"][name]["mcmc"]["pooled"]["log_hr"]
        sd = (ex["pooled"]["log_hr"]["upper"] - ex["pooled"]["log_hr"]["lower"]) / 3.92
        assert abs(mc["median"] - ex["pooled"]["log_hr"]["median"]) < 0.1 * sd
    # study 20120215's own EFS result: published HR 0.38 (0.22-0.65)
    ex = s["pool"]["EFS across paediatric trials"]["exact"]
    st = next(x for x in ex["studies"] if x["study"] == "20120215")
    assert 0.22 < st["hr"]["median"] < 0.65


def test_model_hrs_consistent_with_the_published_ones(demo):
    """Every model of the grid: the model's HR, as a Cox fit of the final 5-year cut would see it,
    lies inside the published 95% CI (data/case_study/study_20120215_hazard_ratios.csv): EFS
    0.38 (0.22-0.65), which enters the likelihood; OS has no HR at the final cut (a log-rank p
    only), so it is checked against the FDA summary's 0.35 (0.17-0.70), which is not fitted."""
    out, _ = demo
    s = json.loads((out / "case_study" / "summary.json").read_text())
    for endpoint, analysis, fitted in (("EFS", "final 5-year", True), ("OS", "regulator", False)):
        for model, m in s["survival"][endpoint]["models"].items():
            row = next(r for r in m["hazard_ratio_check"] if r["analysis"] == analysis)
            assert row["in_likelihood"] is fitted, (endpoint, model, row)
            assert row["within_published_ci"], (endpoint, model, row)
            assert row["published_lower"] < row["model_median"] < row["published_upper"]
            assert row["ci_level"] == 0.95, (endpoint, model, row)
    # the OS numbers that could not enter say why (the summary keeps every HR row of the file)
    rows = s["survival"]["OS"]["models"]["weibull-mixture"]["hazard_ratio_check"]
    reasons = {r["analysis"]: r["reason"] for r in rows}
    assert "no follow-up" in reasons["2-year follow-up"] and "no follow-up" in reasons["regulator"]
    assert "p-value alone gives no estimate" in reasons["final 5-year"]


def test_queries_are_answered(demo):
    out, _ = demo
    s = json.loads((out / "case_study" / "summary.json").read_text())
    assert len(s["queries"]) == 8
    # the pool's queries, answered from draws, against the brute-force grid posterior: within
    # 4 Monte Carlo standard errors (and one draw)
    q = {x["statement"]: x for x in s["queries"]}
    for statement, name, what, hr in (
        ("P(efs_across_paediatric_trials_pooled_hr < 1)", "EFS", "pooled", 1.0),
        ("P(efs_across_paediatric_trials_pooled_hr < 0.8)", "EFS", "pooled", 0.8),
        ("P(efs_across_paediatric_trials_predictive_hr < 1)", "EFS", "predictive", 1.0),
        ("P(os_across_paediatric_trials_pooled_hr < 0.8)", "OS", "pooled", 0.8),
    ):
        grid = _GridPool(s["pool"][f"{name} across paediatric trials"]["exact"]["studies"])
        want = grid.cdf(np.log(hr), predictive=what == "predictive")
        got = q[statement]
        assert abs(got["probability"] - want) < 4 * got["mcse"] + 1 / got["draws"], (got, want)
    p = {x["statement"]: x["probability"] for x in s["queries"]}
    assert p["P(efs_surv_diff(60) > 0.10)"] > 0.9  # published: 57.8% vs 27.6% at 5 years


class _GridPool:
    """The normal-normal random-effects posterior of published log HRs (y_i, se_i) with
    mu ~ N(0, 4^2) and tau ~ halfnormal(0.5), on a brute-force (mu, tau) grid (scipy only)."""

    def __init__(self, studies):
        y = np.array([st["observed"]["log_hr"] for st in studies])
        se = np.array([st["observed"]["se"] for st in studies])
        M, T = np.meshgrid(np.linspace(-5, 3, 1601), np.linspace(1e-4, 3.0, 1000), indexing="ij")
        logp = stats.norm.logpdf(M, 0, 4) + stats.halfnorm.logpdf(T, scale=0.5)
        for yi, si in zip(y, se, strict=True):
            logp = logp + stats.norm.logpdf(yi, M, np.sqrt(si**2 + T**2))
        w = np.exp(logp - logp.max())
        keep = w > 1e-12
        self.w, self.mu, self.tau = w[keep] / w[keep].sum(), M[keep], T[keep]

    def cdf(self, x, predictive=False):
        """P(mu < x), or P(theta_new < x) for a new trial's effect."""
        if predictive:
            return float(np.sum(self.w * stats.norm.cdf(x, self.mu, self.tau)))
        # mu is continuous: each grid cell's mass spread over its width (8 / 1600)
        return float(np.sum(self.w * np.clip((x - self.mu) / 0.005 + 0.5, 0, 1)))

    def median(self):
        return optimize.brentq(lambda x: self.cdf(x) - 0.5, -5, 3, xtol=1e-10)


@pytest.mark.skipif(
    chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_case_study_report_opens_with_figures(demo, tmp_path):
    out, _ = demo
    html = (out / "case_study" / "report.html").read_text()
    for needle in (
        "What this analysis rests on",
        "reported summaries only",
        "Diagnostics",
        "published hazard ratios",
        "Questions the committee asked",
        "hierarchical synthesis",
        "Locatelli",
    ):
        assert needle in html, needle
    errors = render(out / "case_study" / "report.html", tmp_path / "r.png", height=3000)
    assert errors == []


def test_pool_checks_in_the_summary_are_the_reml_fit_of_the_published_hrs(demo):
    """summary.json's pool ``checks``: the REML tau^2 and HR, Cochran's Q and I^2 (%) equal an
    independent REML fit (scipy, restricted likelihood) of the trials' published log HRs."""
    from scipy.optimize import minimize_scalar

    out, _ = demo
    s = json.loads((out / "case_study" / "summary.json").read_text())
    for name in ("EFS across paediatric trials", "OS across paediatric trials"):
        c = s["pool"][name]["checks"]
        st = s["pool"][name]["exact"]["studies"]
        y = np.array([x["observed"]["log_hr"] for x in st])
        v = np.array([x["observed"]["se"] for x in st]) ** 2

        def restricted(tau2, y=y, v=v):
            w = 1 / (v + tau2)
            mu = np.sum(w * y) / np.sum(w)
            return 0.5 * (np.sum(np.log(v + tau2)) + np.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))

        tau2 = minimize_scalar(restricted, bounds=(0, 10), method="bounded").x
        tau2 = tau2 if restricted(tau2) < restricted(0.0) else 0.0
        w = 1 / (v + tau2)
        assert abs(c["reml_tau2"] - tau2) < 1e-4 * max(1.0, tau2), name
        np.testing.assert_allclose(c["reml_hr"], np.exp(np.sum(w * y) / np.sum(w)), rtol=1e-4)
        w0 = 1 / v
        q = np.sum(w0 * (y - np.sum(w0 * y) / np.sum(w0)) ** 2)
        np.testing.assert_allclose(c["q"], q, rtol=1e-9)
        # I^2 in percent as metafor gives it: tau^2 / (tau^2 + s^2), s^2 the typical variance
        k = len(y)
        s2 = (k - 1) * w0.sum() / (w0.sum() ** 2 - (w0**2).sum())
        assert abs(c["i2"] - 100 * tau2 / (tau2 + s2)) < 0.01, name
