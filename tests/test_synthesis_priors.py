"""Prior strings: safe parsing, densities against scipy, Turner et al. (2015) values."""

import numpy as np
import pytest
from scipy import stats

from bayesurv.errors import InputError
from bayesurv.synthesis.priors import parse_prior, turner_prior


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("halfnormal(0.5)", stats.halfnorm(scale=0.5)),
        ("halfcauchy(0.25)", stats.halfcauchy(scale=0.25)),
        ("uniform(0, 2)", stats.uniform(0, 2)),
        ("lognormal(-2, 0.7)", stats.lognorm(s=0.7, scale=np.exp(-2))),
    ],
)
def test_tau_prior_densities_match_scipy(text, ref):
    p = parse_prior(text, "tau")
    x = np.array([0.05, 0.3, 1.2])
    np.testing.assert_allclose(p.logpdf(x), ref.logpdf(x), rtol=1e-12)
    assert p.text == text


def test_mu_priors():
    assert parse_prior("normal(0, 4)", "mu").params == (0.0, 4.0)
    assert parse_prior(" flat ", "mu").family == "flat"


@pytest.mark.parametrize(
    ("text", "role", "fragment"),
    [
        ("normal(0, 1)", "tau", "not a prior for tau"),
        ("halfnormal(0.5)", "mu", "not a prior for mu"),
        ("halfnormal(0.5, 1)", "tau", "takes 1 number"),
        ("halfnormal(abc)", "tau", "takes 1 number"),
        ("halfnormal(0)", "tau", "must be positive"),
        ("uniform(2, 1)", "tau", "0 <= a < b"),
        ("normal(0, 1); import os", "mu", "cannot read"),
        ("", "tau", "empty"),
        ("turner(pain, pharma-pharma)", "tau", "unknown setting"),
        ("halfnormal(1e999)", "tau", "non-finite"),
    ],
)
def test_bad_prior_strings_raise_input_error(text, role, fragment):
    with pytest.raises(InputError, match=fragment.replace("(", r"\(")):
        parse_prior(text, role)


def test_turner_priors_are_table_iv_values_halved_for_tau():
    # Turner et al. Stat Med 2015;34:984-998, Table IV, as transcribed in R bayesmeta
    # (R/bayesmeta.R): all-cause mortality, pharmacological vs pharmacological:
    # log(tau^2) ~ N(-4.18, 1.41^2); cause-specific mortality/major morbidity/composite,
    # pharma vs pharma: N(-3.95, 1.79^2); marginal ("any"): N(-2.56, 1.74^2).
    # bayesmeta: TurnerEtAlPrior(...)$parameters["tau", ] = tau^2 values / 2.
    assert turner_prior("mortality", "pharma-pharma").params == (-2.09, 0.705)
    assert turner_prior("composite", "pharma-pharma").params == (-1.975, 0.895)
    assert turner_prior("any").params == (-1.28, 0.87)
    p = parse_prior("turner(mortality, pharma-placebo)", "tau")
    # tau^2 ~ lognormal(-3.95, 1.34) => median tau = exp(-3.95 / 2)
    assert float(p.ppf(0.5)) == pytest.approx(np.exp(-3.95 / 2))
