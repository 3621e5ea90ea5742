"""Frequentist reference points beside every Bayesian pool, against metafor's published output."""

import numpy as np
import pytest
from test_synthesis_exact import bcg  # dat.bcg log risk ratios (metafor escalc, checked there)

from bayesurv.synthesis import frequentist as F

# absolute latitude of the 13 dat.bcg trials (metafor's dat.bcg$ablat; also multinma's
# bcg_vaccine latitude and metafor's test_misc_influence.r model.matrix)
ABLAT = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33], dtype=float)


def test_q_profile_interval_and_i2_match_metafor_confint():
    # metafor tests/testthat/test_misc_confint.r:
    #   res <- rma(yi, vi, data=escalc("RR", ...dat.bcg), method="DL"); confint(res)
    #   tau^2 0.3088 [0.1197, 1.1115]; I^2 92.1173 [81.9177, 97.6781]; H^2 12.6861 [5.5303, 43.0680]
    # (metafor's root finding stops at about 1e-4 in tau^2, hence the tolerance on I^2's bound)
    y, s = bcg()
    dl = F.dersimonian_laird(y, s)
    het = F.heterogeneity(y, s, dl.tau2)
    assert dl.tau2 == pytest.approx(0.3088, abs=5e-5)
    assert het["tau2_ci"] == pytest.approx([0.1197, 1.1115], abs=5e-5)
    assert het["i2"] == pytest.approx(92.1173, abs=5e-4)
    assert het["i2_ci"] == pytest.approx([81.9177, 97.6781], abs=5e-3)
    assert het["h2"] == pytest.approx(12.6861, abs=5e-4)
    assert het["h2_ci"] == pytest.approx([5.5303, 43.0680], abs=2e-3)
    # metafor README, rma(yi, vi, data=dat) (REML): I^2 92.22%, H^2 12.86, Q(df = 12) 152.2330
    r = F.reml(y, s)
    het = F.heterogeneity(y, s, r.tau2)
    assert het["i2"] == pytest.approx(92.22, abs=5e-3)
    assert het["h2"] == pytest.approx(12.86, abs=5e-3)
    assert het["q"] == pytest.approx(152.2330, abs=5e-4) and het["df"] == 12


def test_knapp_hartung_and_prediction_interval_match_metafor_readme():
    # metafor README (wviechtb/metafor): rma(yi, vi, data=dat, test="knha") ->
    #   estimate -0.7145, se 0.1808, df 12, ci.lb -1.1084, ci.ub -0.3206;
    #   predict(res, transf=exp, digits=2) -> pi.lb 0.14, pi.ub 1.76
    y, s = bcg()
    r = F.reml(y, s)
    kh = F.knapp_hartung(y, s, r.tau2)
    assert kh["se"] == pytest.approx(0.1808, abs=5e-5)
    assert [kh["lower"], kh["upper"]] == pytest.approx([-1.1084, -0.3206], abs=5e-5)
    lo, hi = np.exp(F.prediction_interval(r.mu, kh["se"], r.tau2, df=12))
    assert (round(lo, 2), round(hi, 2)) == (0.14, 1.76)
    # the normal-quantile interval of the default model is mu +- 1.96 sqrt(se^2 + tau^2)
    lo, hi = F.prediction_interval(r.mu, r.se, r.tau2)
    assert hi - r.mu == pytest.approx(1.959964 * np.sqrt(r.se**2 + r.tau2), rel=1e-6)


def test_leave_one_out_matches_metafor_leave1out():
    # metafor tests/testthat/test_misc_influence.r: leave1out(rma(yi, vi, data=dat))[1]:
    #   estimate -0.707083788031436, se 0.189961024702717, ci.lb -1.07940055491509,
    #   Q 151.582572747109, tau2 0.336156745300306, I2 93.2259349111223, H2 14.762184698253
    y, s = bcg()
    row = F.leave_one_out(y, s, [f"trial {i + 1}" for i in range(13)]).iloc[0]
    assert row["study"] == "trial 1"
    assert row["estimate"] == pytest.approx(-0.707083788031436, abs=1e-7)
    assert row["se"] == pytest.approx(0.189961024702717, abs=1e-7)
    assert row["lower"] == pytest.approx(-1.07940055491509, abs=1e-7)
    assert row["q"] == pytest.approx(151.582572747109, abs=1e-6)
    assert row["tau2"] == pytest.approx(0.336156745300306, abs=1e-7)
    assert row["i2"] == pytest.approx(93.2259349111223, abs=1e-5)
    assert row["h2"] == pytest.approx(14.762184698253, abs=1e-5)


def test_reml_meta_regression_matches_metafor_mods_ablat():
    # metafor README: rma(yi, vi, mods = ~ ablat, data=dat, test="knha"):
    #   tau^2 0.0764, I^2 68.39%, QE(df = 11) 30.7331, intrcpt 0.2515, ablat -0.0291
    # issue 15 quotes the slope as -0.02910
    y, s = bcg()
    X = np.column_stack([np.ones(13), ABLAT])
    est = F.reml_regression(y, s, X)
    assert est.beta[1] == pytest.approx(-0.02910, abs=5e-6)
    assert est.beta[0] == pytest.approx(0.2515, abs=5e-5)
    # the maximum of the restricted likelihood on a 1e-6 grid is 0.076348; metafor's Fisher
    # scoring stops within its convergence threshold of it and prints 0.0764
    assert est.tau2 == pytest.approx(0.0764, abs=1e-4)
    assert est.qe == pytest.approx(30.7331, abs=5e-4) and est.df == 11
    assert F.heterogeneity(y, s, est.tau2, X)["i2"] == pytest.approx(68.39, abs=5e-3)


def test_profile_likelihood_interval_is_where_the_restricted_likelihood_drops_by_chi2():
    # metafor confint(type = "PL"): {tau^2 : 2 (l(tau_hat^2) - l(tau^2)) <= qchisq(0.95, 1)}
    # checked here against a brute-force scan of the restricted likelihood on a fine grid,
    # computed independently from the REML formula of Viechtbauer (2005, eq. 11).
    y, s = bcg()
    lo, hi = F.profile_likelihood_ci(y, s)

    def restricted_ll(t2):
        w = 1 / (s**2 + t2)
        mu = np.dot(w, y) / w.sum()
        return -0.5 * (np.sum(np.log(s**2 + t2)) + np.log(w.sum()) + np.dot(w, (y - mu) ** 2))

    grid = np.linspace(0.0, 2.0, 200001)
    ll = np.array([restricted_ll(t) for t in grid])
    inside = grid[2 * (ll.max() - ll) <= 3.841458820694124]
    assert lo == pytest.approx(inside.min(), abs=2e-5)
    assert hi == pytest.approx(inside.max(), abs=2e-5)


def test_reference_points_block_holds_every_number():
    y, s = bcg()
    ref = F.reference_points(y, s, [f"t{i}" for i in range(13)])
    assert {
        "reml",
        "dersimonian_laird",
        "heterogeneity",
        "knapp_hartung",
        "prediction_interval",
        "prediction_interval_t",
        "leave_one_out",
    } <= set(ref)
    assert ref["reml"]["tau2"] == pytest.approx(0.3132, abs=5e-5)  # metafor rma(), REML
    assert len(ref["leave_one_out"]) == 13
