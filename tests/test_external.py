"""External evidence: landmark survival and registry counts as likelihood terms."""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from bayesurv.errors import InputError
from bayesurv.survival.external import (
    Z95,
    landmark_binomial,
    landmark_loglik,
    landmark_normal_loglik,
    link_of_cumhaz,
    read_landmarks,
    read_registry,
    registry_loglik,
    validate_landmarks,
)


def _g(s, scale):
    return np.log(-np.log(s)) if scale == "cloglog" else np.log(s / (1 - s))


def _ginv(g, scale):
    return np.exp(-np.exp(g)) if scale == "cloglog" else 1 / (1 + np.exp(-g))


def _symmetric_ci(s, se, scale):
    """A 95% CI exactly symmetric around g(s) on the scale (lower < upper in S)."""
    a, b = _ginv(_g(s, scale) - Z95 * se, scale), _ginv(_g(s, scale) + Z95 * se, scale)
    return min(a, b), max(a, b)


def _H_of_g(g, scale):
    return -np.log(_ginv(g, scale))


@pytest.mark.parametrize("scale", ["cloglog", "logit"])
@pytest.mark.parametrize("s, se", [(0.35, 0.12), (0.08, 0.3), (0.9, 0.2)])
def test_binomial_equivalent_is_maximized_at_s_and_reproduces_the_ci(scale, s, se):
    lo, up = _symmetric_ci(s, se, scale)
    n, d, se_back = landmark_binomial(s, lo, up, scale)
    assert se_back == pytest.approx(se, rel=1e-12)
    assert d == pytest.approx(n * (1 - s), rel=1e-12)
    # maximized at S = s (numerically, over H)
    res = optimize.minimize_scalar(
        lambda H: -landmark_loglik(np, H, n, d),
        bounds=(1e-6, 10),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert np.exp(-res.x) == pytest.approx(s, rel=1e-6)
    # observed information on the g scale at the maximum = 1 / se^2, so the implied Wald CI on
    # that scale is the given CI
    g0, h = _g(s, scale), 1e-4

    def ll(g):
        return landmark_loglik(np, _H_of_g(g, scale), n, d)

    info = -(ll(g0 + h) - 2 * ll(g0) + ll(g0 - h)) / h**2
    assert info == pytest.approx(1 / se**2, rel=1e-5)
    implied = sorted(_ginv(g0 + np.array([-1, 1]) * Z95 / np.sqrt(info), scale))
    np.testing.assert_allclose(implied, [lo, up], rtol=1e-5)
    # the binomial counts give the same Wald CI by the delta method (closed form)
    var_g = (1 - s) / (n * s * np.log(s) ** 2) if scale == "cloglog" else 1 / (n * s * (1 - s))
    assert np.sqrt(var_g) == pytest.approx(se, rel=1e-12)


def test_binomial_loglik_equals_scipy_for_integer_counts():
    H = np.array([0.2, 0.9])
    got = landmark_loglik(np, H, np.array([50.0, 80.0]), np.array([10.0, 47.0]))
    want = stats.binom.logpmf([10, 47], [50, 80], 1 - np.exp(-H))
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("scale", ["cloglog", "logit"])
def test_normal_landmark_likelihood(scale):
    s, se = 0.42, 0.15
    H = -np.log(np.array([0.3, 0.42, 0.5]))
    ll = landmark_normal_loglik(np, H, s, se, scale)
    assert np.argmax(ll) == 1
    want = stats.norm.logpdf(_g(s, scale), loc=_g(np.exp(-H), scale), scale=se)
    np.testing.assert_allclose(ll, want, rtol=1e-12)
    np.testing.assert_allclose(link_of_cumhaz(np, H, scale), _g(np.exp(-H), scale), rtol=1e-12)


@pytest.mark.parametrize("likelihood", ["binomial", "poisson"])
def test_registry_likelihood_maximized_at_observed_conditional_survival(likelihood):
    n, d, start, stop = 240.0, 37.0, 60.0, 120.0
    # exponential model H(t) = rate t: conditional survival exp(-rate * 60)
    res = optimize.minimize_scalar(
        lambda r: -registry_loglik(np, r * start, r * stop, n, d, likelihood),
        bounds=(1e-6, 0.1),
        method="bounded",
        options={"xatol": 1e-14},
    )
    assert np.exp(-res.x * (stop - start)) == pytest.approx(1 - d / n, rel=1e-6)
    dH = np.array([0.1, 0.3])
    got = registry_loglik(
        np, np.zeros(2), dH, np.array([100.0, 50.0]), np.array([9.0, 13.0]), likelihood
    )
    q = 1 - np.exp(-dH)
    want = (
        stats.binom.logpmf([9, 13], [100, 50], q)
        if likelihood == "binomial"
        else stats.poisson.logpmf([9, 13], np.array([100, 50]) * q)
    )
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_pytensor_terms_match_numpy():
    import pytensor
    import pytensor.tensor as pt

    H = pt.vector("H")
    n, d, _ = landmark_binomial(0.4, 0.3, 0.5)
    terms = [
        landmark_loglik(pt, H, n, d),
        landmark_normal_loglik(pt, H, 0.4, 0.14, "logit"),
        registry_loglik(pt, 0.5 * H, H, 100.0, 20.0, "poisson"),
    ]
    f = pytensor.function([H], [*terms, pt.grad(sum(t.sum() for t in terms), H)])
    x = np.array([0.7, 1.1])
    out = f(x)
    np.testing.assert_allclose(out[0], landmark_loglik(np, x, n, d), rtol=1e-12)
    np.testing.assert_allclose(
        out[1], landmark_normal_loglik(np, x, 0.4, 0.14, "logit"), rtol=1e-12
    )
    np.testing.assert_allclose(
        out[2], registry_loglik(np, 0.5 * x, x, 100.0, 20.0, "poisson"), rtol=1e-12
    )
    assert np.all(np.isfinite(out[3]))


def test_readers(tmp_path):
    p = tmp_path / "landmarks.csv"
    p.write_text("time,survival,lower,upper,source\n120,0.40,0.30,0.50,registry A\n")
    t = read_landmarks(p)
    assert t["source"].tolist() == ["registry A"] and t["n_eff"].round(1).tolist() == [90.0]
    r = tmp_path / "registry.csv"
    r.write_text("# deaths by year\nstart,stop,n_at_risk,events\n0,12,100,12\n12,24,88,9\n")
    assert read_registry(r)["n_at_risk"].tolist() == [100.0, 88.0]


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "time,survival,lower,upper\n60,0.4,0.5,0.3\n",
            r"row 1: lower \(0.5\) is not below upper \(0.3\)",
        ),
        (
            "time,survival,lower,upper\n60,0.6,0.3,0.5\n",
            "row 1: the survival 0.6 lies outside its CI",
        ),
        (
            "time,survival,lower,upper\n60,40,30,50\n",
            "row 1: survival 40 .* is above 1; give proportions",
        ),
        ("time,survival,lower,upper\n60,0.4,0.0,0.5\n", "strictly between 0 and 1"),
        ("time,survival,lower,upper\n0,0.4,0.3,0.5\n", "row 1: time 0 is not positive"),
        (
            "time,survival,lower,upper\n60,0.4,0.39,0.5\n",
            "is not centred on 0.4 on the cloglog scale",
        ),
        ("time,survival,lower\n60,0.4,0.3\n", "column 'upper' is missing"),
        ("time,survival,lower,upper\n60,x,0.3,0.5\n", "row 1: column 'survival' holds 'x'"),
        ("time,survival,lower,upper\n", "the landmark table is empty"),
    ],
)
def test_bad_landmarks(tmp_path, text, match):
    p = tmp_path / "lm.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=match) as e:
        read_landmarks(p)
    assert str(e.value).startswith("lm.csv") and str(e.value).endswith(".")


@pytest.mark.parametrize(
    "text, match",
    [
        ("start,stop,n_at_risk,events\n12,12,100,5\n", "row 1: stop 12 is not after start 12"),
        (
            "start,stop,n_at_risk,events\n0,12,100,5\n24,12,100,5\n",
            "row 2: stop 12 is not after start 24",
        ),
        ("start,stop,n_at_risk,events\n0,12,10,11\n", "row 1: events 11 exceed n_at_risk 10"),
        ("start,stop,n_at_risk,events\n0,12,0,0\n", "n_at_risk 0 is not positive"),
        ("start,stop,n_at_risk,events\n0,12,10,-1\n", "events -1 is negative"),
        ("start,stop,n_at_risk,events\n-1,12,10,1\n", "start -1 is negative"),
        ("start,stop,events\n0,12,1\n", "column 'n_at_risk' is missing"),
    ],
)
def test_bad_registry(tmp_path, text, match):
    p = tmp_path / "reg.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=match) as e:
        read_registry(p)
    assert str(e.value).startswith("reg.csv") and str(e.value).endswith(".")


def test_bad_scale_and_likelihood_names():
    with pytest.raises(InputError, match="scale 'log' is not known"):
        validate_landmarks(
            pd.DataFrame({"time": [1], "survival": [0.4], "lower": [0.3], "upper": [0.5]}),
            scale="log",
        )
    with pytest.raises(InputError, match="likelihood 'normal' is not known"):
        registry_loglik(np, 0.0, 1.0, 10.0, 1.0, "normal")


def test_docstring_examples():
    import doctest
    import importlib

    res = doctest.testmod(
        importlib.import_module("bayesurv.survival.external"),
        optionflags=doctest.NORMALIZE_WHITESPACE,
    )
    assert res.attempted > 0 and res.failed == 0


@pytest.mark.parametrize("s, lo, up", [(0.62, 0.55, 0.68), (0.23, 0.17, 0.30), (0.91, 0.86, 0.94)])
def test_implied_ci_matches_a_rounded_published_ci(s, lo, up):
    """CIs rounded to 2 decimals: the binomial equivalent's Wald CI (cloglog) is within 0.01."""
    n, d, _ = landmark_binomial(s, lo, up)
    se_g = np.sqrt((1 - s) / (n * s * np.log(s) ** 2))  # delta method for the binomial counts
    implied = sorted(_ginv(_g(s, "cloglog") + np.array([-1, 1]) * Z95 * se_g, "cloglog"))
    np.testing.assert_allclose(implied, [lo, up], atol=0.01)
