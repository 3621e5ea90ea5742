"""The exact quadrature solver against brute-force 2-D integration and frequentist references."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference_pool import NormalNormal
from scipy import stats

from bayesurv.errors import InputError
from bayesurv.synthesis import normal_normal
from bayesurv.synthesis.frequentist import dersimonian_laird, reml
from bayesurv.synthesis.normal_normal import solve
from bayesurv.synthesis.priors import parse_prior

DATA = Path(__file__).resolve().parents[1] / "data" / "reference" / "colditz1994_bcg.csv"


def bcg():
    """Log risk ratios of the 13 BCG trials (Colditz et al. 1994; metafor dat.bcg counts),
    computed as metafor's escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg)."""
    d = pd.read_csv(DATA)
    a, b, c, e = (d[k].to_numpy(float) for k in ("tpos", "tneg", "cpos", "cneg"))
    y = np.log(a / (a + b)) - np.log(c / (c + e))
    v = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + e)
    return y, np.sqrt(v)


def test_bcg_effect_sizes_match_metafor_escalc():
    # metafor: escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
    # printed yi[1] = -0.8893, vi[1] = 0.3256; yi[8] = 0.0120, vi[8] = 0.0040
    y, s = bcg()
    assert y[0] == pytest.approx(-0.8893, abs=5e-5)
    assert s[0] ** 2 == pytest.approx(0.3256, abs=5e-5)
    assert y[7] == pytest.approx(0.0120, abs=5e-5)


def test_reml_matches_metafor_dat_bcg():
    # R: rma(yi, vi, data=escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg))
    # -> tau^2 = 0.3132 (SE = 0.1664), estimate = -0.7145, se = 0.1798, Q(df = 12) = 152.2330
    y, s = bcg()
    r = reml(y, s)
    assert r.tau2 == pytest.approx(0.3132, abs=5e-5)
    assert r.mu == pytest.approx(-0.7145, abs=5e-5)
    assert r.se == pytest.approx(0.1798, abs=5e-5)
    assert r.q == pytest.approx(152.2330, abs=5e-4)


def test_dersimonian_laird_matches_statsmodels():
    from statsmodels.stats.meta_analysis import combine_effects

    y, s = bcg()
    ref = combine_effects(y, s**2, method_re="dl")
    dl = dersimonian_laird(y, s)
    assert dl.tau2 == pytest.approx(ref.tau2, rel=1e-10)
    assert dl.mu == pytest.approx(ref.mean_effect_re, rel=1e-10)
    assert dl.se == pytest.approx(ref.sd_eff_w_re, rel=1e-10)


def test_flat_priors_mode_of_tau_is_reml():
    # Flat mu and uniform tau: p(tau | y) is the restricted likelihood, so its mode is REML.
    y, s = bcg()
    post = solve(y, s, "flat", "uniform(0, 10)")
    assert post.tau.mode() ** 2 == pytest.approx(reml(y, s).tau2, rel=1e-6)
    assert post.tau.mode() ** 2 == pytest.approx(0.3132, abs=5e-5)  # metafor, see above


def test_flat_mu_given_tau_is_the_frequentist_estimate():
    # Given tau, the posterior of mu under a flat prior is N(mu_hat(tau), se(tau)^2): at the
    # DerSimonian-Laird tau it reproduces the DL estimate and standard error of statsmodels.
    from statsmodels.stats.meta_analysis import combine_effects

    from bayesurv.synthesis.normal_normal import conditional_mu

    y, s = bcg()
    ref = combine_effects(y, s**2, method_re="dl")
    m, v = conditional_mu(np.array(np.sqrt(ref.tau2)), y, s, parse_prior("flat", "mu"))
    assert float(m) == pytest.approx(ref.mean_effect_re, rel=1e-10)
    assert float(np.sqrt(v)) == pytest.approx(ref.sd_eff_w_re, rel=1e-10)


def _brute_force(y, s, mu_prior, tau_prior, tau_hi, mu_lo, mu_hi, n=1500):
    """Expectations under the joint posterior of (mu, tau) by tensor-product Gauss-Legendre
    quadrature on a (mu, tau) box: no analytic integration over mu, a different rule and
    variable than the solver."""
    xg, wg = np.polynomial.legendre.leggauss(n)
    tau = 0.5 * tau_hi * (xg + 1)
    wt = 0.5 * tau_hi * wg
    mu = mu_lo + 0.5 * (mu_hi - mu_lo) * (xg + 1)
    wm = 0.5 * (mu_hi - mu_lo) * wg
    M, T = np.meshgrid(mu, tau, indexing="ij")
    lp = mu_prior.logpdf(M) + tau_prior.logpdf(T)
    sd = np.sqrt(s[:, None, None] ** 2 + T[None] ** 2)
    lp = lp + stats.norm.logpdf(y[:, None, None], M[None], sd).sum(0)
    w = np.exp(lp - lp.max()) * wm[:, None] * wt[None, :]
    w /= w.sum()
    b1 = T**2 / (T**2 + s[0] ** 2)
    return {
        "mu_mean": float((w * M).sum()),
        "tau_mean": float((w * T).sum()),
        "p_mu_lt": float((w * (M < -0.5)).sum()),
        # E(theta_1) via E(theta_1 | mu, tau) = b y_1 + (1 - b) mu
        "theta1_mean": float((w * (b1 * y[0] + (1 - b1) * M)).sum()),
        # P(theta_new < 0) = E Phi(-mu / tau)
        "p_new_lt0": float((w * stats.norm.cdf(-M / T)).sum()),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "tau_text", ["halfnormal(0.5)", "halfcauchy(0.5)", "turner(mortality, pharma-pharma)"]
)
def test_exact_matches_brute_force_2d_integration(tau_text):
    y, s = bcg()
    y, s = y[:6], s[:6]  # six trials keep dblquad quick
    mu_prior, tau_prior = parse_prior("normal(0, 4)", "mu"), parse_prior(tau_text, "tau")
    post = solve(y, s, mu_prior, tau_prior)
    ref = _brute_force(y, s, mu_prior, tau_prior, tau_hi=8.0, mu_lo=-5.0, mu_hi=4.0)
    assert post.mu().mean == pytest.approx(ref["mu_mean"], abs=1e-6)
    assert post.tau.mean == pytest.approx(ref["tau_mean"], abs=1e-5)
    assert post.mu().cdf(-0.5) == pytest.approx(ref["p_mu_lt"], abs=1e-5)
    assert post.theta(0).mean == pytest.approx(ref["theta1_mean"], abs=1e-6)
    assert post.theta_new().cdf(0.0) == pytest.approx(ref["p_new_lt0"], abs=1e-5)


def test_two_identical_studies_and_known_limits():
    # Identical estimates: the tau posterior piles up at 0 and mu is centred on the estimate.
    post = solve([-0.4, -0.4, -0.4], [0.2, 0.2, 0.2], "normal(0, 100)", "halfnormal(0.5)")
    assert post.tau.mode() == pytest.approx(0.0, abs=1e-12)
    assert post.mu().median() == pytest.approx(-0.4, abs=1e-3)
    # With a vague mu prior and tau pinned near zero by a tight prior, mu ~ fixed-effect estimate.
    post = solve([-0.2, -0.6], [0.1, 0.3], "normal(0, 1000)", "halfnormal(0.0001)")
    w = np.array([1 / 0.1**2, 1 / 0.3**2])
    fe = float(np.dot(w, [-0.2, -0.6]) / w.sum())
    assert post.mu().mean == pytest.approx(fe, abs=1e-5)
    assert post.mu().sd == pytest.approx(float(np.sqrt(1 / w.sum())), rel=1e-4)


def test_tau_quantiles_invert_cdf_and_mixtures_are_consistent():
    y, s = bcg()
    post = solve(y, s, "normal(0, 4)", "halfcauchy(0.5)")
    for q in (0.025, 0.5, 0.975):
        assert post.tau.cdf(post.tau.ppf(q)) == pytest.approx(q, abs=1e-6)
        assert post.mu().cdf(post.mu().ppf(q)) == pytest.approx(q, abs=1e-9)
    # The predictive is wider than the pooled effect.
    assert post.theta_new().sd > post.mu().sd


def test_bad_data_is_refused():
    with pytest.raises(InputError):
        solve([0.1, 0.2], [0.1, 0.0])
    with pytest.raises(InputError):
        solve([0.1], [0.1, 0.2])


def test_matches_bayesmeta_vignette_eight_schools():
    # bayesmeta vignette (cran/bayesmeta inst/doc/bayesmeta.html), Rubin (1981) eight schools:
    #   bayesmeta(y=Rubin1981$effect, sigma=Rubin1981$stderr, mu.prior.mean=0, mu.prior.sd=50,
    #             tau.prior=function(t) dhalfcauchy(t, scale=25))
    # marginal posterior summary:   tau: mode 0, median 4.758539, mean 5.884511, sd 4.869904
    #                               mu:  median 7.962961, mean 7.985729, sd 4.995762
    y = [28.39, 7.94, -2.75, 6.82, -0.64, 0.63, 18.01, 12.16]  # Rubin1981$effect
    s = [14.9, 10.2, 16.3, 11.0, 9.4, 11.4, 10.4, 17.6]  # Rubin1981$stderr
    post = solve(y, s, "normal(0, 50)", "halfcauchy(25)")
    assert post.tau.mode() == 0.0
    assert post.tau.median() == pytest.approx(4.758539, abs=2e-6)
    assert post.tau.mean == pytest.approx(5.884511, abs=2e-6)
    assert post.tau.sd == pytest.approx(4.869904, abs=2e-6)
    # bayesmeta approximates mu's mixture by its DIRECT grid (delta = 0.01), so agreement is
    # to about 1e-4 posterior sd rather than to the printed digits.
    assert post.mu().median() == pytest.approx(7.962961, abs=2e-3)
    assert post.mu().mean == pytest.approx(7.985729, abs=2e-3)
    assert post.mu().sd == pytest.approx(4.995762, abs=2e-3)


def test_all_study_summaries_at_once_match_each_study_mixture():
    """theta_summaries (one pass over studies, grouped by standard error) against
    NormalMixture.ppf study by study: to 1e-10 with every node, to 1e-4 with 64 groups."""
    from bayesurv.synthesis.mixture import quantiles_of_many

    rng = np.random.default_rng(2)
    k = 120
    y, s = rng.normal(-0.2, 0.3, k), np.round(rng.uniform(0.1, 0.5, k), 2)  # shared SEs
    post = normal_normal.solve(y, s)
    ref = np.array(
        [[t.mean, t.sd, t.median(), *t.interval(0.95)] for t in (post.theta(i) for i in range(k))]
    )
    got = post.theta_summaries(0.95)
    cols = np.column_stack([got[c] for c in ("mean", "sd", "median", "lower", "upper")])
    np.testing.assert_allclose(cols, ref, atol=1e-10)
    w, means, sds = post.theta_components(cells=k * 64)
    assert means.shape[1] <= 64
    q = quantiles_of_many(w, means, sds, [0.5, 0.025, 0.975])
    np.testing.assert_allclose(q, ref[:, 2:], atol=1e-4)
    np.testing.assert_allclose(means @ w, ref[:, 0], atol=1e-12)


def test_sums_over_shared_standard_errors_equal_the_direct_sums():
    rng = np.random.default_rng(3)
    y, s = rng.normal(0, 0.3, 400), np.round(rng.uniform(0.1, 0.5, 400), 1)
    tau = np.linspace(0.0, 1.0, 7)
    mu = parse_prior("normal(0, 4)", "mu")
    got = normal_normal.log_marginal_likelihood(tau, y, s, mu)
    v = s**2 + tau[:, None] ** 2
    w = 1 / v
    prec, num = w.sum(1) + 1 / 16, (w * y).sum(1)
    ref = (
        -0.5 * np.log(v).sum(1)
        - 0.5 * (w * y**2).sum(1)
        - 0.5 * y.size * np.log(2 * np.pi)
        - np.log(4.0)
        + 0.5 * num**2 / prec
        - 0.5 * np.log(prec)
    )
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_five_thousand_studies_agree_with_reml():
    """With 5,000 studies the priors no longer matter: the exact posterior's tau and mu sit on
    the REML estimates (Bernstein-von Mises), and the grouped study summaries equal each study's
    posterior integrated independently (tests/reference_pool.py: given tau, mu is normal and
    theta_i ~ N(B M + (1 - B) y_i, (1 - B) s_i^2 + B^2 V), B = s_i^2 / (s_i^2 + tau^2), mixed
    over a trapezoid grid of tau on [0, 0.3], where all the posterior mass is: 1e-153 at 0.3)."""
    rng = np.random.default_rng(11)
    k = 5_000
    s = np.round(rng.uniform(0.1, 0.5, k), 3)
    y = rng.normal(-0.2, np.sqrt(0.15**2 + s**2))
    post = solve(y, s)
    r = reml(y, s)
    assert abs(post.tau.median() - r.tau) < 0.01 * r.tau
    assert abs(post.mu().median() - r.mu) < 0.05 * r.se
    assert abs(r.tau - 0.15) < 0.01  # the truth
    t = post.theta_summaries()
    ref = NormalNormal(y, s, tau_max=0.3, n=3001)
    idx = rng.choice(k, 40, replace=False)  # 40 studies: 120 root-findings, about 0.4 s
    want = [[ref.theta_quantile(i, q) for q in (0.025, 0.5, 0.975)] for i in idx]
    got = np.column_stack([t[c][idx] for c in ("lower", "median", "upper")])
    np.testing.assert_allclose(got, want, atol=1e-6)  # measured: 6e-8
