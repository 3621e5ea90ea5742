"""The exact solver of y ~ N(X beta, S + tau^2 K): the normal-normal solver as a special case,
an independent formula for the marginal likelihood, and bayesmeta's bmr on Crins et al. (2014)."""

import numpy as np
import pytest
from scipy import stats
from test_synthesis_exact import bcg

from bayesurv.errors import InputError
from bayesurv.synthesis.normal_linear import solve_linear
from bayesurv.synthesis.normal_normal import solve
from bayesurv.synthesis.priors import parse_prior

HN05 = parse_prior("halfnormal(0.5)", "tau")


def crins2014():
    """Log odds ratios of acute rejection in Crins et al. (2014), as bayesmeta's examples compute
    them: escalc(measure="OR", ai=exp.AR.events, n1i=exp.total, ci=cont.AR.events,
    n2i=cont.total, data=CrinsEtAl2014) (1/2 added to every cell of a table with a zero).
    Counts from bayesmeta data/CrinsEtAl2014.R (Spada, Ganschow, Gibelli, Heffron, Schuller,
    Gras), with the IL-2RA each study used."""
    ea = np.array([4, 9, 16, 14, 3, 0.0])
    et = np.array([36, 54, 28, 61, 18, 50.0])
    ca = np.array([11, 29, 19, 15, 8, 3.0])
    ct = np.array([36, 54, 28, 20, 12, 34.0])
    il2ra = ["basiliximab", "basiliximab", "basiliximab", "daclizumab", "daclizumab", "basiliximab"]
    a, b, c, d = ea, et - ea, ca, ct - ca
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    a, b, c, d = (np.where(zero, x + 0.5, x) for x in (a, b, c, d))
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d, il2ra


def test_intercept_only_is_the_normal_normal_solver_to_rounding():
    y, s = bcg()
    nn = solve(y, s, "normal(0, 4)", HN05)
    lin = solve_linear(y, np.ones((13, 1)), s**2, beta_mean=[0.0], beta_sd=[4.0], tau_prior=HN05)
    assert lin.linear(0).mean == pytest.approx(nn.mu().mean, abs=1e-12)
    assert lin.linear(0).sd == pytest.approx(nn.mu().sd, abs=1e-12)
    assert lin.predictive(0).cdf(-0.5) == pytest.approx(nn.theta_new().cdf(-0.5), abs=1e-12)
    assert lin.tau_posterior.median() == pytest.approx(nn.tau.median(), abs=1e-12)
    assert lin.tau_posterior.mode() == pytest.approx(nn.tau.mode(), abs=1e-7)  # optimizer
    assert lin.log_evidence == pytest.approx(nn.log_evidence, abs=1e-10)
    assert lin.shrunken(3).mean == pytest.approx(nn.theta(3).mean, abs=1e-12)


def test_marginal_likelihood_and_conditional_posterior_match_direct_formulas():
    # a 3-arm trial (two contrasts against one comparator, covariance 0.02) and two 2-arm trials;
    # y ~ N(X b0, S + tau^2 K + X B0 X') marginally, and beta | tau, y by Bayes' rule in the
    # joint normal of (beta, y)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [-1.0, 1.0]])
    y = np.array([-0.4, -0.1, -0.3, 0.2])
    S = np.diag([0.05, 0.06, 0.04, 0.09])
    S[0, 1] = S[1, 0] = 0.02
    K = np.eye(4)
    K[0, 1] = K[1, 0] = 0.5
    b0, B0 = np.array([0.0, 0.1]), np.diag([2.0**2, 3.0**2])
    post = solve_linear(y, X, S, K, beta_mean=b0, beta_sd=[2.0, 3.0], tau_prior=HN05)
    for tau in (0.0, 0.2, 0.7):
        V = S + tau**2 * K
        ref = stats.multivariate_normal(X @ b0, V + X @ B0 @ X.T).logpdf(y)
        assert post.log_likelihood_at(tau) == pytest.approx(ref, abs=1e-10)
        m, P, _ = post.data.moments(np.array([tau]))
        gain = B0 @ X.T @ np.linalg.inv(V + X @ B0 @ X.T)
        assert m[0] == pytest.approx(b0 + gain @ (y - X @ b0), abs=1e-12)
        assert np.linalg.inv(P[0]) == pytest.approx(B0 - gain @ X @ B0, abs=1e-12)


def test_independent_draws_reproduce_the_mixture():
    y, s = bcg()
    lat = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33.0])
    X = np.column_stack([np.ones(13), lat - lat.mean()])
    post = solve_linear(y, X, s**2, tau_prior=HN05)
    d = post.sample(np.random.default_rng(5), 40000)
    for j in range(2):
        mix = post.linear(j)
        assert d["beta"][:, j].mean() == pytest.approx(mix.mean, abs=4 * mix.sd / 200)
        assert d["beta"][:, j].std() == pytest.approx(mix.sd, rel=0.03)
    assert np.median(d["tau"]) == pytest.approx(post.tau_posterior.median(), rel=0.03)


def test_bayesmeta_bmr_crins_2014():
    # bayesmeta man/bmr.Rd example (1), with the half-normal(0.5) heterogeneity prior:
    #   bmr(crins.es, X=cbind(bas, dac), tau.prior=function(t) dhalfnormal(t, scale=0.5))
    # issue 15 quotes: basiliximab -1.283, daclizumab -2.307, tau median 0.298
    y, v, il2ra = crins2014()
    X = np.column_stack([[g == "basiliximab" for g in il2ra], [g == "daclizumab" for g in il2ra]])
    post = solve_linear(y, X.astype(float), v, names=["basiliximab", "daclizumab"], tau_prior=HN05)
    assert post.linear("basiliximab").mean == pytest.approx(-1.283, abs=5e-4)
    assert post.linear("daclizumab").mean == pytest.approx(-2.307, abs=5e-4)
    assert post.tau_posterior.median() == pytest.approx(0.298, abs=5e-4)


def test_bad_designs_are_refused():
    with pytest.raises(InputError, match="rank-deficient"):
        solve_linear([0.1, 0.2], [[1.0, 1.0], [1.0, 1.0]], [0.1, 0.1], tau_prior=HN05)
    with pytest.raises(InputError, match="one row per estimate"):
        solve_linear([0.1, 0.2], [[1.0]], [0.1, 0.1])
