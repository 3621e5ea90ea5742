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
        ("turner(bogus, pharma-pharma)", "tau", "unknown setting"),
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


def test_full_turner_table_matches_bayesmeta():
    # bayesmeta R/bayesmeta.R TurnerEtAlParameters (Turner et al. 2015, Table IV), spot checks:
    # TurnerEtAlPrior("pain", "non-pharmacological", "pharmacological") -> tau^2 mu -0.80,
    # sigma 1.25; ("subjective outcomes (various)", non-pharma vs non-pharma) -> -2.26, 1.45;
    # ("obstetric outcomes", pharma vs placebo) -> -3.52, 1.74
    from bayesurv.synthesis.priors import TURNER_OUTCOMES, TURNER_TAU2, turner_prior

    assert len(TURNER_OUTCOMES) == 16 and len(TURNER_TAU2) == 80
    assert TURNER_TAU2[("pain", "nonpharma-pharma")] == (-0.80, 1.25)
    assert TURNER_TAU2[("subjective", "nonpharma-nonpharma")] == (-2.26, 1.45)
    assert TURNER_TAU2[("obstetric", "pharma-placebo")] == (-3.52, 1.74)
    assert turner_prior("adverse-events", "pharma-placebo").params == (-1.87 / 2, 1.52 / 2)


def test_rhodes_priors_match_bayesmeta_and_are_proper():
    # bayesmeta RhodesEtAlParameters (Rhodes et al. 2015 Tables 3, A.3.1, A.3.2), spot checks:
    # obstetric / pharma vs placebo / other: location -4.13, scale 2.34; mental health /
    # non-pharmacological / other: -3.85, 1.93; resource use / non-pharma / cancer: 0.15, 2.68;
    # the general setting -3.44, 2.59; all log-t with 5 df on tau^2
    import numpy as np
    from scipy import integrate, stats

    from bayesurv.synthesis.priors import RHODES_TAU2, parse_prior, rhodes_prior

    assert len(RHODES_TAU2) == 72
    assert RHODES_TAU2[("obstetric", "pharma-placebo", "other")] == (-4.13, 2.34)
    assert RHODES_TAU2[("mental-health", "nonpharma", "other")] == (-3.85, 1.93)
    assert RHODES_TAU2[("resource-use", "nonpharma", "cancer")] == (0.15, 2.68)
    p = parse_prior("rhodes(any)", "tau")
    assert p.params == (-1.72, 1.295, 5.0)
    # on tau: log tau ~ t5(-1.72, 1.295); the density integrates to one, ppf inverts the cdf
    total, _ = integrate.quad(lambda t: float(np.exp(p.logpdf(t))), 0, np.inf, limit=400)
    assert total == pytest.approx(1.0, abs=1e-6)
    q = float(p.ppf(0.9))
    assert stats.t.cdf((np.log(q) + 1.72) / 1.295, 5) == pytest.approx(0.9, abs=1e-12)
    r = rhodes_prior("obstetric", "pharma-placebo", "respiratory")
    assert r.params == (-6.03 / 2, 2.36 / 2, 5.0) and "Rhodes" in r.label
    with pytest.raises(InputError, match="unknown setting"):
        parse_prior("rhodes(pain, pharma-pharma)", "tau")
