"""Bayes factors for tau = 0 and mu = 0 against direct numerical integration."""

import numpy as np
import pytest
from scipy import integrate, stats
from test_synthesis_exact import bcg

from bayesurv.synthesis.bayes_factors import bayes_factors
from bayesurv.synthesis.normal_normal import solve
from bayesurv.synthesis.priors import parse_prior


def _likelihood(y, s, mu, tau):
    return float(np.prod(stats.norm.pdf(y, mu, np.sqrt(s**2 + tau**2))))


def _gauss(lo, hi, n):
    x, w = np.polynomial.legendre.leggauss(n)
    return lo + 0.5 * (hi - lo) * (x + 1), 0.5 * (hi - lo) * w


@pytest.mark.parametrize("tau_text", ["halfnormal(0.5)", "halfnormal(1)"])
@pytest.mark.slow
def test_bayes_factors_equal_ratios_of_integrated_likelihoods(tau_text):
    # p(y) = int int p(mu) p(tau) p(y | mu, tau) (tensor Gauss-Legendre on a box holding all but
    # 1e-8 of the prior of tau); p(y | tau = 0) = int p(mu) p(y | mu, 0) and
    # p(y | mu = 0) = int p(tau) p(y | 0, tau) by scipy quad: no code shared with the solver
    y, s = bcg()
    y, s = y[:6], s[:6]
    mu_p, tau_p = parse_prior("normal(0, 2)", "mu"), parse_prior(tau_text, "tau")
    mu, wm = _gauss(-6.0, 5.0, 800)
    tau, wt = _gauss(0.0, 6.0, 800)
    M, T = np.meshgrid(mu, tau, indexing="ij")
    lik = stats.norm.pdf(y[:, None, None], M[None], np.sqrt(s[:, None, None] ** 2 + T[None] ** 2))
    dens = np.exp(mu_p.logpdf(M) + tau_p.logpdf(T)) * lik.prod(0)
    p_y = float(wm @ dens @ wt)
    f_mu = lambda m: float(np.exp(mu_p.logpdf(m)))  # noqa: E731
    f_tau = lambda t: float(np.exp(tau_p.logpdf(t)))  # noqa: E731
    p_tau0 = integrate.quad(
        lambda m: f_mu(m) * _likelihood(y, s, m, 0.0), -6, 5, epsabs=0, epsrel=1e-11, points=[-0.8]
    )[0]
    p_mu0 = integrate.quad(
        lambda t: f_tau(t) * _likelihood(y, s, 0.0, t), 0, 6, epsabs=0, epsrel=1e-11
    )[0]
    bf = bayes_factors(solve(y, s, mu_p, tau_p))
    assert bf["tau_0"]["bf01"] == pytest.approx(p_tau0 / p_y, rel=1e-5)
    assert bf["mu_0"]["bf01"] == pytest.approx(p_mu0 / p_y, rel=1e-5)
    assert bf["mu_0"]["bf10"] == pytest.approx(1 / bf["mu_0"]["bf01"])


def test_undefined_factors_say_why():
    y, s = bcg()
    bf = bayes_factors(solve(y, s, "flat", "lognormal(-1, 0.5)"))
    assert "normal" in bf["mu_0"]["note"] and "no density" in bf["tau_0"]["note"]
