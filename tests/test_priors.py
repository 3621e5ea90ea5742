"""The one prior type: text and table forms agree, densities match scipy and PyMC, clinical
helpers hit their stated quantiles, bad priors are refused in one sentence."""

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from bayesurv.errors import InputError
from bayesurv.priors import (
    check_support,
    fraction_prior,
    hr_prior,
    parse_prior,
    time_prior,
)

CASES = [
    ("normal(0.5, 2)", {"dist": "Normal", "mu": 0.5, "sigma": 2}, stats.norm(0.5, 2)),
    (
        "studentt(3, 0, 1.5)",
        {"dist": "StudentT", "nu": 3, "mu": 0, "sigma": 1.5},
        stats.t(3, 0, 1.5),
    ),
    ("cauchy(-1, 0.5)", {"dist": "Cauchy", "alpha": -1, "beta": 0.5}, stats.cauchy(-1, 0.5)),
    ("logistic(0, 2)", {"dist": "Logistic", "mu": 0, "s": 2}, stats.logistic(0, 2)),
    ("halfnormal(0.5)", {"dist": "HalfNormal", "sigma": 0.5}, stats.halfnorm(scale=0.5)),
    ("halfcauchy(1)", {"dist": "HalfCauchy", "beta": 1}, stats.halfcauchy(scale=1)),
    ("exponential(2)", {"dist": "Exponential", "lam": 2}, stats.expon(scale=0.5)),
    ("gamma(2, 1)", {"dist": "Gamma", "alpha": 2, "beta": 1}, stats.gamma(2, scale=1)),
    (
        "lognormal(0.4, 0.1)",
        {"dist": "LogNormal", "mu": 0.4, "sigma": 0.1},
        stats.lognorm(s=0.1, scale=np.exp(0.4)),
    ),
    ("uniform(0, 2)", {"dist": "Uniform", "lower": 0, "upper": 2}, stats.uniform(0, 2)),
]


@pytest.mark.parametrize(("text", "table", "ref"), CASES)
@pytest.mark.slow
def test_text_and_table_are_one_prior_with_scipy_and_pymc_densities(text, table, ref):
    a, b = parse_prior(text), parse_prior(table)
    assert a == b and a.text == text and parse_prior(a.text) == a
    x = np.array([0.3, 1.1, 1.7])
    np.testing.assert_allclose(a.logpdf(x), ref.logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(a.ppf([0.1, 0.9]), ref.ppf([0.1, 0.9]), rtol=1e-12)
    with pm.Model():
        rv = a.pymc("theta")
    # PyMC folds some constants in single precision: agreement to 1e-8, not 1e-12
    np.testing.assert_allclose(pm.logp(rv, x).eval(), ref.logpdf(x), rtol=0, atol=1e-8)


def test_clinical_helpers_put_the_upper_limit_at_the_975_quantile():
    p = hr_prior(0.7, 1.0)  # survextrap p_hr(0.7, 1): sd = log(1 / 0.7) / qnorm(0.975)
    assert p.params[0] == pytest.approx(np.log(0.7), abs=1e-6)
    assert np.exp(p.ppf(0.975)) == pytest.approx(1.0, abs=1e-5)
    assert np.exp(time_prior(24, 60).ppf([0.5, 0.975])) == pytest.approx([24, 60], rel=1e-5)
    q = fraction_prior(0.3, 0.5).ppf([0.5, 0.975])
    assert 1 / (1 + np.exp(-q)) == pytest.approx([0.3, 0.5], abs=1e-6)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("normal(0)", "takes 2 number"),
        ("normal(0, -1)", "must be positive"),
        ("wibble(1)", "not a distribution"),
        ("normal(0, 1); import os", "cannot read"),
        ({"dist": "Normal", "mu": 0}, "needs exactly mu, sigma"),
        ({"dist": "Beta", "a": 1}, "not a distribution"),
        ("", "empty"),
        ("uniform(3, 1)", "a < b"),
    ],
)
def test_bad_priors_are_one_sentence(value, fragment):
    with pytest.raises(InputError, match=fragment) as e:
        parse_prior(value, "--prior log_shape")
    assert str(e.value).startswith("--prior log_shape") and "\n" not in str(e.value)


def test_support_of_the_parameter():
    assert check_support(parse_prior("gamma(2, 1)"), "positive", "mspline_sd").family == "gamma"
    with pytest.raises(InputError, match="does not suit a positive parameter"):
        check_support(parse_prior("normal(0, 1)"), "positive", "mspline_sd")
    with pytest.raises(InputError, match="does not suit a real parameter"):
        check_support(parse_prior("halfnormal(1)"), "real", "log_shape")
