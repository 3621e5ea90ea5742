"""Effective sample size of normal-mixture priors: RBesT's identities, predictive consistency of
ELIR, and its use for log-HR priors in events."""

import numpy as np
import pytest

from bayesurv.errors import InputError
from bayesurv.synthesis.ess import ess, ess_events, information, log_hr_sigma
from bayesurv.synthesis.mixture import NormalMixture


@pytest.mark.parametrize(
    ("m", "sd", "sigma"), [(0.0, 0.5, 2.0), (1.3, 2.0, 10.0), (-0.4, 0.1, 1.0)]
)
def test_rbest_identities_for_one_normal(m, sd, sigma):
    # RBesT ess.normMix: for mixnorm(c(1, m, sd), sigma = sigma) the elir and moment ESS are
    # sigma^2 / sd^2 and Morita's (in Neuenschwander et al.'s 2019 form, s = 100) is
    # (1 - 1/100) sigma^2 / sd^2
    prior = NormalMixture.normal(m, sd)
    assert ess(prior, sigma, "elir") == pytest.approx(sigma**2 / sd**2, rel=1e-6)
    assert ess(prior, sigma, "moment") == pytest.approx(sigma**2 / sd**2, rel=1e-12)
    assert ess(prior, sigma, "morita") == pytest.approx(0.99 * sigma**2 / sd**2, rel=1e-9)


def test_information_is_minus_the_second_derivative_of_the_log_density():
    mix = NormalMixture(np.array([0.5, 0.5]), np.array([0.0, 3.0]), np.array([2.0, 4.0]))
    x = np.linspace(-6, 9, 31)
    h = 1e-4
    num = -(mix.logpdf(x + h) - 2 * mix.logpdf(x) + mix.logpdf(x - h)) / h**2
    assert information(mix, x) == pytest.approx(num, abs=1e-5)


@pytest.mark.slow
def test_elir_is_predictively_consistent():
    # Neuenschwander et al. (2020): averaged over the prior predictive of n new observations,
    # the ESS of the posterior is the prior's ESS plus n (RBesT inst/examples/ess.R shows it by
    # simulation; here the average is a quadrature over the predictive of the mean); the moment
    # method, conservative for a mixture, is below ELIR, Morita's above
    sigma, n = 10.0, 10
    mix = NormalMixture(np.array([0.5, 0.5]), np.array([0.0, 3.0]), np.array([2.0, 4.0]))
    se = sigma / np.sqrt(n)
    pred = mix.convolve(se)
    ybar = np.linspace(-40, 45, 801)
    post = np.array([ess(mix.update(y, se), sigma, "elir") for y in ybar])
    expected = np.trapezoid(pred.pdf(ybar) * post, ybar)
    assert expected - n == pytest.approx(ess(mix, sigma, "elir"), rel=2e-3)
    assert ess(mix, sigma, "moment") < ess(mix, sigma, "elir") < ess(mix, sigma, "morita")


def test_log_hr_priors_in_events():
    # var(log HR) = 4 / d for 1:1 (Schoenfeld): a N(0, 0.2^2) prior is worth 100 events;
    # for 2:1, var = 9 / (2 d)
    assert log_hr_sigma(1.0) == 2.0 and log_hr_sigma(2.0) == pytest.approx(3 / np.sqrt(2))
    e = ess_events(NormalMixture.normal(-0.3, 0.2))
    assert e["elir"] == pytest.approx(100.0, rel=1e-6) and e["moment"] == pytest.approx(100.0)
    assert ess_events(NormalMixture.normal(-0.3, 0.2), allocation=2)["moment"] == pytest.approx(
        4.5 / 0.04
    )
    with pytest.raises(InputError):
        log_hr_sigma(0)


@pytest.mark.slow
def test_every_map_prior_reports_its_ess():
    from bayesurv.synthesis.map_prior import map_prior

    m = map_prior(([-0.97, -0.36, -0.27], [0.28, 0.2, 0.21], ["a", "b", "c"]), weight=0.2)
    d = m.as_dict()
    assert set(d["ess_events"]) == {"map", "robust"}
    # robustification removes information: the robust prior is worth fewer events
    assert d["ess_events"]["robust"]["elir"] < d["ess_events"]["map"]["elir"]
    assert d["ess_events"]["map"]["moment"] == pytest.approx(4 / m.map.var)


def test_compressing_an_exact_map_prior_changes_nothing_that_is_reported():
    # the exact MAP prior has a component per tau node (about 2000); ESS and OC use at most
    # 1000 moment-matched groups of them
    from bayesurv.synthesis.map_prior import map_prior

    m = map_prior(([-0.97, -0.36, -0.27, -0.9], [0.28, 0.2, 0.21, 0.3], list("abcd")))
    full, small = m.robust, m.robust.compress()
    assert full.weights.size > 1000 and small.weights.size <= 1000
    assert small.mean == pytest.approx(full.mean, abs=1e-12)
    assert small.sd == pytest.approx(full.sd, abs=1e-12)
    for q in (0.025, 0.5, 0.975):
        assert float(small.ppf(q)) == pytest.approx(float(full.ppf(q)), abs=1e-6)
    x = np.linspace(-2, 1, 7)
    assert small.pdf(x) == pytest.approx(full.pdf(x), rel=1e-5)
