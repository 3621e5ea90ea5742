"""Each family's formulas against scipy.stats, the identities they must satisfy, and edge inputs.

References are scipy.stats distributions under the documented flexsurv <-> scipy mappings:
weibull (R dweibull) = weibull_min(c=shape, scale=scale); lognormal = lognorm(s=sdlog,
scale=exp(meanlog)); loglogistic (flexsurv dllogis) = fisk(c=shape, scale=scale); exponential =
expon(scale=1/rate); gompertz (flexsurv dgompertz, shape a > 0, rate b) = gompertz(c=b/a,
scale=1/a); gengamma (flexsurv dgengamma, Prentice) = gengamma(a=Q^-2, c=Q/sigma,
scale=exp(mu) Q^(2 sigma/Q)), since T = exp(mu) (X/Q^-2)^(sigma/Q) with X ~ Gamma(Q^-2).
"""

import numpy as np
import pytest
import scipy.integrate as si
import scipy.stats as st

from bayesurv.errors import InputError
from bayesurv.survival.families import FAMILIES, GENGAMMA_Q_SERIES, NP, PT, get_family

T = np.geomspace(0.02, 40.0, 25)


def _gengamma_ref(mu, sigma, Q):
    g = Q**-2.0
    return st.gengamma(a=g, c=Q / sigma, scale=np.exp(mu) * g ** (-sigma / Q))


CASES = [
    ("exponential", {"rate": 0.3}, st.expon(scale=1 / 0.3)),
    ("weibull", {"shape": 0.7, "scale": 3.0}, st.weibull_min(c=0.7, scale=3.0)),
    ("weibull", {"shape": 2.5, "scale": 3.0}, st.weibull_min(c=2.5, scale=3.0)),
    ("gompertz", {"shape": 0.2, "rate": 0.1}, st.gompertz(c=0.1 / 0.2, scale=1 / 0.2)),
    ("lognormal", {"meanlog": 1.1, "sdlog": 0.8}, st.lognorm(s=0.8, scale=np.exp(1.1))),
    ("loglogistic", {"shape": 1.7, "scale": 4.0}, st.fisk(c=1.7, scale=4.0)),
    ("loglogistic", {"shape": 0.8, "scale": 4.0}, st.fisk(c=0.8, scale=4.0)),
    ("gengamma", {"mu": 1.0, "sigma": 0.7, "Q": 0.8}, _gengamma_ref(1.0, 0.7, 0.8)),
    ("gengamma", {"mu": 1.0, "sigma": 0.7, "Q": -0.6}, _gengamma_ref(1.0, 0.7, -0.6)),
    ("gengamma", {"mu": 1.0, "sigma": 0.7, "Q": 0.05}, _gengamma_ref(1.0, 0.7, 0.05)),
    ("gengamma", {"mu": 1.0, "sigma": 0.7, "Q": 2.0}, _gengamma_ref(1.0, 0.7, 2.0)),
    ("gengamma", {"mu": 1.0, "sigma": 0.7, "Q": 0.0}, st.lognorm(s=0.7, scale=np.e)),
]
IDS = [f"{f}-{'-'.join(f'{v:g}' for v in p.values())}" for f, p, _ in CASES]


@pytest.mark.parametrize(("name", "p", "ref"), CASES, ids=IDS)
def test_density_and_survival_match_scipy(name, p, ref):
    fam = FAMILIES[name]
    np.testing.assert_allclose(fam.survival(T, **p), ref.sf(T), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(fam.density(T, **p), ref.pdf(T), rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize(("name", "p", "ref"), CASES, ids=IDS)
def test_quantile_round_trip_and_scipy(name, p, ref):
    fam = FAMILIES[name]
    q = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    tq = fam.quantile(q, **p)
    np.testing.assert_allclose(1 - fam.survival(tq, **p), q, rtol=1e-8)
    np.testing.assert_allclose(tq, ref.ppf(q), rtol=1e-7)
    np.testing.assert_allclose(fam.median(**p), ref.median(), rtol=1e-7)


@pytest.mark.parametrize(("name", "p", "ref"), CASES, ids=IDS)
def test_random_event_times_follow_scipy(name, p, ref):
    # Family.rvs (the generalized gamma draws X ~ Gamma(Q^-2) directly, the rest invert H):
    # Kolmogorov-Smirnov against scipy's distribution; 20,000 draws, seeded
    t = FAMILIES[name].rvs(np.random.default_rng(3), 20_000, **p)
    assert st.kstest(t, ref.cdf).pvalue > 0.001


@pytest.mark.parametrize(("name", "p", "ref"), CASES, ids=IDS)
def test_hazard_is_minus_dlogS_and_f_over_S(name, p, ref):
    fam = FAMILIES[name]
    eps = 1e-5
    dlogS = fam.log_survival(NP, T * (1 + eps), **p) - fam.log_survival(NP, T * (1 - eps), **p)
    # |error of log S| ~ 1e-16 divided by the step 2e-5 t: atol 1e-8
    np.testing.assert_allclose(fam.hazard(T, **p), -dlogS / (2 * eps * T), rtol=1e-6, atol=1e-8)
    ok = ref.sf(T) > 1e-280  # where scipy's S has not underflowed
    np.testing.assert_allclose(fam.hazard(T[ok], **p), ref.pdf(T[ok]) / ref.sf(T[ok]), rtol=1e-7)
    H = fam.cum_hazard(NP, T, **p)
    np.testing.assert_allclose(np.exp(-H), fam.survival(T, **p), rtol=1e-12)


@pytest.mark.parametrize(("name", "p", "ref"), CASES, ids=IDS)
def test_mean_closed_form_matches_scipy(name, p, ref):
    fam = FAMILIES[name]
    expected = ref.mean() if np.isfinite(ref.mean()) else np.inf
    if name == "loglogistic" and p["shape"] <= 1:
        expected = np.inf  # scipy's fisk returns inf as well; flexsurv's mean_llogis too
    np.testing.assert_allclose(fam.mean(**p), expected, rtol=1e-8)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_pytensor_formulas_equal_numpy_and_have_finite_gradients(name):
    import pytensor
    import pytensor.tensor as pt

    fam = FAMILIES[name]
    p = next(pp for f, pp, _ in CASES if f == name)
    sym = {k: pt.dscalar(k) for k in p}
    t = pt.dvector("t")
    d = pt.dvector("d")
    ll = fam.loglik(PT, t, d, None, **sym).sum()
    grads = pt.grad(ll, list(sym.values()))
    fn = pytensor.function([t, d, *sym.values()], [ll, *grads])
    event = (np.arange(T.size) % 2).astype(float)
    out = fn(T, event, *p.values())
    np.testing.assert_allclose(out[0], fam.loglik(NP, T, event, None, **p).sum(), rtol=1e-10)
    # gradient against central differences of the NumPy log-likelihood
    for k, g in zip(p, out[1:], strict=True):
        h = 1e-6 * max(1.0, abs(p[k]))
        up = fam.loglik(NP, T, event, None, **{**p, k: p[k] + h}).sum()
        dn = fam.loglik(NP, T, event, None, **{**p, k: p[k] - h}).sum()
        np.testing.assert_allclose(g, (up - dn) / (2 * h), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_edge_times_are_finite(name):
    fam = FAMILIES[name]
    p = next(pp for f, pp, _ in CASES if f == name)
    t = np.array([1e-10, 1e-6, 1e4, 1e8])
    with np.errstate(over="ignore", under="ignore"):
        s = fam.survival(t, **p)
        logh = fam.log_hazard(NP, t, **p)
    if name != "gompertz":  # gompertz's H overflows to inf (S = 0) by t = 1e4: correct
        assert np.all(np.isfinite(logh)), logh
    assert np.all((s >= 0) & (s <= 1))
    assert s[0] > 1 - 1e-3  # S(0+) = 1
    assert s[-1] < 1e-3
    assert not np.any(np.isnan(logh))


def test_gompertz_negative_shape_plateau_and_tiny_shape():
    g = FAMILIES["gompertz"]
    a, b = -0.5, 0.3
    # cured fraction exp(rate/shape): the limit of exp(-b/a (exp(a t) - 1)) as t -> inf
    np.testing.assert_allclose(g.survival(np.array([1e3]), shape=a, rate=b), np.exp(b / a))
    assert np.isinf(g.median(shape=a, rate=1e-3 * b))  # plateau above 0.5: no median
    assert np.isinf(g.mean(shape=a, rate=b))
    # hazard b exp(a t) integrates to H (quadrature, independent of the closed form)
    H_quad = si.quad(lambda s: b * np.exp(a * s), 0, 3.0)[0]
    np.testing.assert_allclose(g.cum_hazard(NP, 3.0, shape=a, rate=b), H_quad, rtol=1e-10)
    # shape -> 0: the exponential with rate b
    np.testing.assert_allclose(g.survival(T, shape=1e-12, rate=b), np.exp(-b * T), rtol=1e-9)
    np.testing.assert_allclose(g.mean(shape=1e-9, rate=b), 1 / b, rtol=1e-6)
    # large rate/shape: asymptotic branch of exp(x) E1(x) vs quadrature of S
    m_quad = si.quad(lambda s: g.survival(s, shape=1e-3, rate=0.2), 0, np.inf)[0]
    np.testing.assert_allclose(g.mean(shape=1e-3, rate=0.2), m_quad, rtol=1e-7)


@pytest.mark.parametrize("Q", [-GENGAMMA_Q_SERIES, GENGAMMA_Q_SERIES, 1e-3, -1e-3, 1e-7])
def test_gengamma_near_zero_Q_is_continuous_and_accurate(Q):
    gg = FAMILIES["gengamma"]
    mu, sigma = 1.0, 0.7
    w = (np.log(T) - mu) / sigma
    # reference: P(W <= w) through scipy's loggamma (log of a Gamma(Q^-2) variable)
    g = Q**-2.0
    lg = st.loggamma(c=g)
    x = Q * w + np.log(g)
    s_ref = lg.sf(x) if Q > 0 else lg.cdf(x)
    f_ref = lg.pdf(x) * abs(Q) / sigma / T
    if abs(Q) < 1e-4:  # scipy's loggamma loses accuracy at c = 1e14: lognormal limit, error O(Q)
        s_ref = st.norm.sf(w)
        f_ref = st.norm.pdf(w) / sigma / T
    sel = np.abs(w) < 4  # in the body (|w| < 4) the series density is within 2e-5 (relative)
    # either side of the switch to the series: values agree within 1e-7 in S
    for q in (Q * (1 - 1e-9), Q * (1 + 1e-9)):
        np.testing.assert_allclose(gg.survival(T, mu=mu, sigma=sigma, Q=q), s_ref, atol=1e-7)
        np.testing.assert_allclose(
            gg.density(T, mu=mu, sigma=sigma, Q=q)[sel], f_ref[sel], rtol=3e-5
        )
    # the lognormal limit (flexsurv: dgengamma with Q = 0 is dlnorm)
    np.testing.assert_allclose(
        gg.survival(T, mu=mu, sigma=sigma, Q=0.0), st.lognorm(s=sigma, scale=np.e).sf(T)
    )


@pytest.mark.parametrize("name", list(FAMILIES))
def test_aft_and_ph_maps_match_their_definitions(name):
    fam = FAMILIES[name]
    p = next(pp for f, pp, _ in CASES if f == name)
    beta = 0.4
    # AFT: S1(t) = S0(t exp(-beta))
    np.testing.assert_allclose(
        fam.survival(T, **fam.aft(p, beta)), fam.survival(T * np.exp(-beta), **p), rtol=1e-10
    )
    if fam.allows_ph:  # PH: h1 = exp(beta) h0, i.e. S1 = S0^exp(beta)
        np.testing.assert_allclose(
            fam.survival(T, **fam.ph(p, beta)), fam.survival(T, **p) ** np.exp(beta), rtol=1e-10
        )


def test_unknown_family_is_one_sentence():
    with pytest.raises(InputError, match="unknown family 'weibul'; choose one of exponential"):
        get_family("weibul")


@pytest.mark.parametrize("Q", [0.8, 0.2, -0.6, -0.2, 2.0])
def test_gengamma_far_tail_formula_continues_the_exact_one(Q):
    # where S is still representable (1e-200 < S < 1e-60) the tail formula used beyond 1e-250
    # must agree with log of scipy's regularized incomplete gamma; 0.5% of log S here
    import scipy.special as sc

    from bayesurv.survival.families import _gg_log_tail

    mu, sigma = 1.0, 0.7
    g = Q**-2.0
    w = np.linspace(-40, 600, 64001)
    with np.errstate(divide="ignore", under="ignore", over="ignore"):
        u = g * np.exp(Q * w)
        s = sc.gammaincc(g, u) if Q > 0 else sc.gammainc(g, u)
        sel = (s > 1e-200) & (s < 1e-60)
        assert sel.sum() > 5
        exact = np.log(s[sel])
        tail = _gg_log_tail(NP, g, Q * w[sel], Q)
    np.testing.assert_allclose(tail, exact, rtol=5e-3)
    # and the family's log S stays finite (no log 0) far beyond
    t_far = np.exp(mu + sigma * np.array([80.0, 200.0]))
    with np.errstate(over="ignore", under="ignore"):
        assert np.all(
            np.isfinite(FAMILIES["gengamma"].log_survival(NP, t_far, mu=mu, sigma=sigma, Q=Q))
        )


@pytest.mark.parametrize("name", ["bayesurv.survival.families"])
def test_docstring_examples(name):
    import doctest
    import importlib

    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
