"""Meta-regression: design coding, metafor's REML slope, bayesmeta's bmr, exact vs MCMC."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_synthesis_exact import bcg
from test_synthesis_frequentist import ABLAT
from test_synthesis_normal_linear import crins2014
from typer.testing import CliRunner

from bayesurv.cli import app
from bayesurv.errors import InputError
from bayesurv.synthesis.metaregression import design_matrix, metaregression

runner = CliRunner()
DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def bcg_table() -> pd.DataFrame:
    y, s = bcg()
    alloc = ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4
    return pd.DataFrame(
        {
            "study": [f"trial {i + 1}" for i in range(13)],
            "log_hr": y,
            "se": s,
            "ablat": ABLAT,
            "alloc": alloc,
        }
    )


def test_design_codes_numeric_centred_and_categorical_by_level():
    X, names, covs = design_matrix(bcg_table(), ["ablat", "alloc"])
    assert names == ["intercept", "ablat", "alloc[random]", "alloc[systematic]"]
    assert X[:, 1] == pytest.approx(ABLAT - ABLAT.mean())
    assert X[4, 2:].tolist() == [0.0, 0.0] and X[0, 2:].tolist() == [1.0, 0.0]
    assert covs[0].centre == pytest.approx(ABLAT.mean())


def test_flat_priors_reproduce_metafor_reml_meta_regression():
    # metafor README: rma(yi, vi, mods = ~ ablat): tau^2 0.0764, ablat -0.0291 (issue 15: -0.02910).
    # With flat priors on the coefficients and a uniform prior on tau the marginal posterior of
    # tau is the restricted likelihood, so its mode is the REML estimate, and given tau the
    # slope is the GLS estimate.
    r = metaregression(bcg_table(), ["ablat"], mu_prior="flat", tau_prior="uniform(0, 5)")
    assert r.exact.tau_posterior.mode() ** 2 == pytest.approx(0.0764, abs=1e-4)
    m, P, _ = r.exact.data.moments(np.array([r.exact.tau_posterior.mode()]))
    assert m[0, 1] == pytest.approx(-0.02910, abs=5e-6)
    s = r.summary()
    slope = next(c for c in s["coefficients"] if c["name"] == "ablat")
    assert {"name", "median", "mean", "lower", "upper"} <= set(slope)
    assert slope["upper"] < 0 and slope["p_below_0"] > 0.99
    assert s["frequentist"]["coefficients"][1]["estimate"] == pytest.approx(-0.02910, abs=5e-6)


def test_cell_means_reproduce_bayesmeta_bmr_crins():
    # bayesmeta bmr(crins.es, X=cbind(bas, dac), tau.prior=halfnormal(0.5)); issue 15 quotes
    # basiliximab -1.283, daclizumab -2.307, tau median 0.298
    y, v, il2ra = crins2014()
    t = pd.DataFrame({"study": list("abcdef"), "log_hr": y, "se": np.sqrt(v), "il2ra": il2ra})
    r = metaregression(t, ["il2ra"], intercept=False, tau_prior="halfnormal(0.5)")
    assert r.names == ["il2ra[basiliximab]", "il2ra[daclizumab]"]
    assert r.coefficient("il2ra[basiliximab]").mean == pytest.approx(-1.283, abs=5e-4)
    assert r.coefficient("il2ra[daclizumab]").mean == pytest.approx(-2.307, abs=5e-4)
    assert r.tau.median() == pytest.approx(0.298, abs=5e-4)
    m, _ = r.predict({"il2ra": "daclizumab"})
    assert m.mean == pytest.approx(-2.307, abs=5e-4)


def test_predictions_are_the_linear_combination():
    r = metaregression(bcg_table(), ["ablat"])
    m, p = r.predict({"ablat": 40})
    b0, b1 = (r.coefficient(n).mean for n in ("intercept", "ablat"))
    assert m.mean == pytest.approx(b0 + b1 * (40 - ABLAT.mean()), abs=1e-10)
    assert p.sd > m.sd


def test_bad_covariates_are_one_sentence():
    t = bcg_table()
    with pytest.raises(InputError, match="no covariate column 'lat'"):
        metaregression(t, ["lat"])
    t.loc[3, "ablat"] = np.nan
    t["_row"] = range(1, 14)
    with pytest.raises(InputError, match="row 4: covariate 'ablat' is empty"):
        metaregression(t, ["ablat"])
    with pytest.raises(InputError, match="cannot estimate"):
        metaregression(bcg_table().iloc[[0, 4, 9]], ["ablat", "alloc"])


def test_cli_covariates_write_coefficients_and_predictions(tmp_path):
    src = tmp_path / "bcg.csv"
    bcg_table().to_csv(src, index=False)
    out = tmp_path / "o.json"
    res = runner.invoke(
        app,
        [
            "pool",
            str(src),
            "--covariates",
            "ablat",
            "--predict",
            "ablat=20",
            "--predict",
            "ablat=50",
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    names = [c["name"] for c in doc["coefficients"]]
    assert names == ["intercept", "ablat"]
    assert [p["at"] for p in doc["predictions"]] == [{"ablat": "20"}, {"ablat": "50"}]
    # BCG protects more far from the equator (negative slope on latitude)
    assert doc["predictions"][1]["hr"]["median"] < doc["predictions"][0]["hr"]["median"]
    assert doc["frequentist_regression"]["tau2"] == pytest.approx(0.0764, abs=1e-4)
    res = runner.invoke(
        app, ["pool", str(src), "--predict", "ablat=20", "--json", str(tmp_path / "x.json")]
    )
    assert res.exit_code == 2 and "--covariates" in res.output


@pytest.mark.mcmc
def test_mcmc_agrees_with_exact_within_a_tenth_of_a_posterior_sd():
    t = bcg_table()
    ex = metaregression(t, ["ablat"], coef_prior="normal(0, 1)")
    mc = metaregression(t, ["ablat"], coef_prior="normal(0, 1)", method="mcmc", seed=11, draws=2000)
    for name in ("intercept", "ablat"):
        e, m = ex.coefficient(name), mc.coefficient(name)
        assert abs(e.mean - m.mean) < 0.1 * e.sd and abs(e.median() - m.median()) < 0.1 * e.sd
    assert abs(ex.tau.median() - mc.tau.median()) < 0.1 * ex.tau.sd
    assert mc.diagnostics["divergences"] == 0


@pytest.mark.mcmc
def test_spec_pool_with_covariates_answers_a_subgroup_interaction_question(tmp_path):
    # "does the effect differ by MRD status?" on study 20120215's EFS subgroups (final 5-year
    # analysis; data/study_20120215_subgroups.csv): MRD negative HR 0.45 (0.23-0.88), positive
    # 0.28 (0.09-0.82). With fixed effects the interaction is the classical ratio of HRs,
    # log(0.28/0.45) with se sqrt(se1^2 + se2^2) (the intercept's N(0, 4^2) prior shrinks it by
    # about 1%).
    from bayesurv.runner import run

    data = DATA_DIR / "study_20120215_subgroups.csv"
    spec = tmp_path / "sub.toml"
    spec.write_text(
        'title = "MRD interaction"\nseed = 1\n[sampling]\ndraws = 250\ntune = 250\nchains = 2\n'
        f'[[pool]]\nname = "EFS by MRD"\neffects = "{data}"\n'
        'where = { outcome = "EFS", factor = "baseline MRD" }\ncovariates = ["level"]\n'
        'covariate_heterogeneity = "fixed"\n[queries]\nstatements = '
        "['P(efs_by_mrd_coefficient_hr(\"level[positive (>=1e-3)]\") < 1)']\n"
    )
    s = run(spec, tmp_path / "out", quiet=True)
    reg = s["pool"]["EFS by MRD"]["meta_regression"]
    slope = reg["coefficients"][1]
    z2 = 2 * 1.959964
    se = np.hypot((np.log(0.88) - np.log(0.23)) / z2, (np.log(0.82) - np.log(0.09)) / z2)
    assert slope["mean"] == pytest.approx(np.log(0.28 / 0.45), abs=0.02)
    assert slope["sd"] == pytest.approx(se, rel=0.01)
    q = s["queries"][0]
    from scipy import stats

    assert q["probability"] == pytest.approx(
        stats.norm.cdf(-slope["mean"] / slope["sd"]), abs=4 * q["mcse"] + 0.01
    )
    assert "meta-regression on level" in (tmp_path / "out" / "report.html").read_text()


def test_section_regression_quantities_keep_coefficient_beside_coefficient_hr():
    # a variable named like its dimension becomes that dimension's coordinate in xarray, so
    # "coefficient" (dims chain, draw, coefficient) had vanished from the section's queryable
    # quantities; the labels now lie along "term"
    from types import SimpleNamespace

    from bayesurv.query import probability
    from bayesurv.sections.pool import regression_quantities

    reg = metaregression(bcg_table(), ["ablat"])
    tree = reg.to_datatree(seed=3, draws=4000)
    q = regression_quantities(SimpleNamespace(regression_tree=tree))
    assert set(q.data_vars) == {"coefficient", "coefficient_hr", "residual_tau"}
    beta = tree["posterior"]["beta"].values[..., 1].ravel()
    assert probability('P(coefficient["ablat"] < -0.03)', q)["probability"] == pytest.approx(
        float((beta < -0.03).mean()), abs=1e-12
    )
    p = float(reg.coefficient("ablat").cdf(-0.03))  # exact; independent draws
    got = probability('P(coefficient_hr["ablat"] < exp(-0.03))', q)["probability"]
    assert got == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / 4000))


def bcg_exact_by_hand(y, s, mu_sd=4.0, tau_sd=0.5, n_grid=4001):
    """The BCG pool written out here: p(y | tau) as the multivariate normal of y with mu
    integrated out (cov diag(s^2 + tau^2) + mu_sd^2 11'), p(tau | y) on ``n_grid`` points of
    [0, 4] (trapezoid; halfnormal(0.5) leaves 1e-15 beyond 4), mu | tau, y normal."""
    from scipy import stats

    k = y.size
    grid = np.linspace(0.0, 4.0, n_grid)
    ll = np.array(
        [
            stats.multivariate_normal.logpdf(y, np.zeros(k), np.diag(s**2 + t**2) + mu_sd**2)
            for t in grid
        ]
    )
    prior = stats.halfnorm(scale=tau_sd).pdf(grid)
    joint = prior * np.exp(ll - ll.max())
    evidence = np.trapezoid(joint, grid)
    post = joint / evidence
    w = 1 / (s[None] ** 2 + grid[:, None] ** 2)
    P = w.sum(1) + 1 / mu_sd**2
    m = (w * y).sum(1) / P
    return {
        "grid": grid,
        "post": post,
        "m": m,
        "v": 1 / P,
        "log_evidence": float(np.log(evidence) + ll.max()),
        "ll0": float(ll[0]),
    }


def test_pool_checks_summary_matches_metafor_and_direct_integrals():
    # the [[pool]] section's checks (audit gap 5) on BCG: REML, Q, I^2 and the Q-profile CI are
    # metafor's (rma(yi, vi) REML: estimate -0.7145, CI -1.0669 to -0.3622, tau^2 0.3132, Q
    # 152.2330 on 12 df, I^2 92.22%; confint: tau^2 0.1197 to 1.1115, I^2 81.9177 to 97.6781);
    # the Bayes factors and the predictive p-value are integrals over tau written out here
    from types import SimpleNamespace

    from scipy import stats

    from bayesurv.sections.pool import checks_summary, checks_table
    from bayesurv.synthesis.pool import pool

    y, s = bcg()
    res = pool(bcg_table(), "normal(0, 4)", "halfnormal(0.5)")
    checks = res.checks(seed=7)
    c = checks_summary(checks)
    assert np.log(c["reml_hr"]) == pytest.approx(-0.7145, abs=5e-5)
    assert np.log([c["reml_hr_lower"], c["reml_hr_upper"]]) == pytest.approx(
        [-1.0669, -0.3622], abs=5e-5
    )
    assert c["reml_tau2"] == pytest.approx(0.3132, abs=5e-5)
    assert [c["reml_tau2_lower"], c["reml_tau2_upper"]] == pytest.approx([0.1197, 1.1115], abs=5e-5)
    assert c["q"] == pytest.approx(152.2330, abs=5e-4) and c["q_df"] == 12
    assert c["i2"] == pytest.approx(92.22, abs=5e-3)
    assert [c["i2_lower"], c["i2_upper"]] == pytest.approx([81.9177, 97.6781], abs=5e-3)
    h = bcg_exact_by_hand(y, s)
    g, post = h["grid"], h["post"]
    # BF01(tau = 0) = p(y | tau = 0) / p(y)
    assert c["log10_bf01_tau_0"] == pytest.approx(
        (h["ll0"] - h["log_evidence"]) / np.log(10), abs=1e-4
    )
    # Savage-Dickey: BF01(mu = 0) = p(mu = 0 | y) / p(mu = 0)
    p0 = np.trapezoid(post * stats.norm.pdf(0.0, h["m"], np.sqrt(h["v"])), g)
    assert c["bf01_mu_0"] == pytest.approx(p0 / stats.norm.pdf(0.0, 0.0, 4.0), rel=1e-4)
    # ppp = E[chi2_13.sf(T)], T = sum (y - mu)^2 / (s^2 + tau^2); given tau, mu ~ N(m, v):
    # Gauss-Hermite over mu, trapezoid over tau; the section's value is from 4,000 draws
    z, wz = np.polynomial.hermite_e.hermegauss(40)
    mu = h["m"][:, None] + np.sqrt(h["v"])[:, None] * z[None]
    T = ((y[None, None] - mu[..., None]) ** 2 / (s**2 + g[:, None, None] ** 2)).sum(-1)
    inner = (stats.chi2.sf(T, 13) * wz).sum(1) / wz.sum()
    ppp = np.trapezoid(post * inner, g)
    second = np.trapezoid(post * (stats.chi2.sf(T, 13) ** 2 * wz).sum(1) / wz.sum(), g)
    mc_error = np.sqrt((second - ppp**2) / 4000)  # independent draws
    assert c["heterogeneity_ppp"] == pytest.approx(ppp, abs=4 * mc_error)
    assert 0.05 < ppp < 0.95
    low = min(checks["conflict_p_values"], key=lambda r: r["p_value"])
    assert (c["conflict_p_min"], c["conflict_p_min_study"]) == (low["p_value"], low["study"])
    # the table the section's report part shows: one row per check, the numbers above
    tab = checks_table(SimpleNamespace(checks=checks)).set_index("check")
    assert tab.loc["I^2 (95% CI)", "value"] == "92.2% (81.9% to 97.7%)"
    assert tab.loc["REML pooled HR (95% CI)", "value"] == "0.489 (0.344 to 0.696)"
    bf_tau = tab.loc["Bayes factor, no heterogeneity (tau = 0)", "what it says"]
    assert bf_tau.startswith("more than 1,000 (log10 ") and "against no heterogeneity" in bf_tau
    assert f"({low['study']})" in tab.loc["smallest conflict p (trial vs the others)", "value"]
    assert len(tab) == 7
