"""Flexible hazards (bayesurv/survival/splines.py): formulas, knots, MLE and a short NUTS fit."""

import doctest
import json

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize

from bayesurv.errors import InputError
from bayesurv.nonparametric import kaplan_meier, step_value
from bayesurv.survival import splines
from bayesurv.survival.families import NP, PT, WEIBULL
from bayesurv.survival.splines import SPLINE_KINDS, HazardBasis, choose_basis


def weibull_data(n=300, seed=1, shape=1.4, scale=10.0, censor=25.0):
    rng = np.random.default_rng(seed)
    t = scale * rng.weibull(shape, n)
    c = rng.uniform(5.0, censor, n)
    return np.minimum(t, c), (t <= c).astype(float)


def random_raw(basis, rng, lead=()):
    raw = {}
    for name in basis.sampled:
        size = basis.vector_dims[name][1] if name in basis.vector_dims else 1
        raw[name] = 0.5 * rng.normal(size=(*lead, size))
    if basis.kind == "rp":  # keep log H increasing: local Weibull shape > 0.3 on the grid
        raw["rp_gamma1"] = 1.0 + np.abs(raw["rp_gamma1"])
        raw["rp_gamma"] = 0.05 * raw["rp_gamma"]
    if basis.kind == "mspline":
        raw["mspline_sd"] = np.abs(raw["mspline_sd"]) + 0.5
    if basis.kind == "pwexp":
        raw["pwexp_sd"] = np.abs(raw["pwexp_sd"])
    return raw


def integral_of_hazard(basis, raw, t):
    def h(u):
        return float(np.exp(log_hazard(basis, NP, basis.design([u]), raw))[0])

    pts = [k for k in basis.knots if k < t]
    return quad(h, 0.0, t, points=pts or None, limit=200, epsabs=0, epsrel=1e-10)[0]


def log_hazard(basis, m, design, raw):
    return basis.curves(m, design, raw)[0]


def cum_hazard(basis, m, design, raw):
    return basis.curves(m, design, raw)[1]


def loglik(basis, design, raw, event):
    """The right-censored log-likelihood sum d log h - H."""
    lh, H = basis.curves(NP, design, raw)
    return float(np.sum(event * lh - H))


def test_docstring_example_runs():
    res = doctest.testmod(splines, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


@pytest.mark.slow
def test_mspline_basis_integrates_to_one_and_I_is_its_integral():
    time, event = weibull_data()
    basis = choose_basis("mspline", time, event)
    U = basis.knots[-1]
    assert basis.n_basis == 10 and U == time.max()
    for k in range(basis.n_basis):
        mk = quad(lambda u, k=k: basis.design([u])["M"][0, k], 0, U, points=basis.knots[:-1])[0]
        assert mk == pytest.approx(1.0, rel=1e-8)
    ts = np.array([0.0, 0.3, 4.0, 9.5, U, 1.5 * U, 3 * U])
    D = basis.design(ts)
    assert np.all(D["M"] >= 0) and np.allclose(D["I"][0], 0.0)
    for i, t in enumerate(ts[1:], start=1):
        pts = [k for k in basis.knots if k < t]
        for k in (0, 4, basis.n_basis - 1):
            ref = quad(lambda u, k=k: basis.design([u])["M"][0, k], 0, t, points=pts, limit=200)
            assert D["I"][i, k] == pytest.approx(ref[0], rel=1e-8, abs=1e-12)
    # beyond U the basis is frozen at its value at U (constant hazard)
    np.testing.assert_allclose(D["M"][-1], D["M"][4])


def test_mspline_prior_centre_is_a_constant_hazard():
    time, event = weibull_data()
    basis = choose_basis("mspline", time, event)
    raw = {
        "mspline_log_eta": np.array([np.log(0.1 * basis.knots[-1])]),
        "mspline_sd": np.array([1.0]),
        "mspline_z": np.zeros((1, basis.n_basis - 1)),
    }
    D = basis.design(np.linspace(0, 2 * basis.knots[-1], 30))
    np.testing.assert_allclose(np.exp(log_hazard(basis, NP, D, raw)), 0.1, rtol=1e-10)


@pytest.mark.parametrize("kind", SPLINE_KINDS)
@pytest.mark.slow
def test_cumulative_hazard_is_the_integral_of_the_hazard(kind):
    time, event = weibull_data()
    basis = choose_basis(kind, time, event, extra_knots=[40.0, 60.0])
    rng = np.random.default_rng(3)
    ts = np.array([0.2, 2.0, 8.0, 20.0, 39.0, 50.0, 75.0, 200.0])
    for _ in range(3):
        raw = random_raw(basis, rng)
        H = cum_hazard(basis, NP, basis.design(ts), raw)
        ref = [integral_of_hazard(basis, raw, t) for t in ts]
        np.testing.assert_allclose(H, ref, rtol=1e-6)
        assert cum_hazard(basis, NP, basis.design([0.0]), raw) == pytest.approx(0.0, abs=1e-15)
        assert np.all(np.isfinite(log_hazard(basis, NP, basis.design([0.0]), raw)))


@pytest.mark.parametrize("kind", SPLINE_KINDS)
def test_numpy_and_pytensor_agree_and_numpy_broadcasts(kind):
    import pytensor
    import pytensor.tensor as pt

    time, event = weibull_data()
    basis = choose_basis(kind, time, event)
    ts = np.r_[0.0, np.sort(time)[::17], 60.0]
    D = basis.design(ts)
    rng = np.random.default_rng(4)
    raw = random_raw(basis, rng, lead=(2, 5))  # (chain, draw, size)
    sym = {n: (pt.dvector(n) if n in basis.vector_dims else pt.dscalar(n)) for n in basis.sampled}
    f = pytensor.function(
        list(sym.values()), [log_hazard(basis, PT, D, sym), cum_hazard(basis, PT, D, sym)]
    )
    lh, H = log_hazard(basis, NP, D, raw), cum_hazard(basis, NP, D, raw)
    assert lh.shape == H.shape == (2, 5, ts.size)
    for c, d in [(0, 0), (1, 3)]:
        args = [raw[n][c, d] if n in basis.vector_dims else raw[n][c, d, 0] for n in sym]
        lh_pt, H_pt = f(*args)
        np.testing.assert_allclose(lh_pt, lh[c, d], rtol=1e-10)
        np.testing.assert_allclose(H_pt, H[c, d], rtol=1e-10)


def test_rp_with_two_terms_is_weibull():
    time, event = weibull_data()
    basis = choose_basis("rp", time, event, df=1)
    assert basis.sampled == ["rp_gamma0", "rp_gamma1"]
    g0, g1 = -0.4, 1.7
    x0 = (np.log(basis.knots[0]) + np.log(basis.knots[-1])) / 2
    scale = np.exp(x0 - g0 / g1)
    ts = np.array([0.01, 0.5, 3.0, 12.0, 90.0])
    raw = {"rp_gamma0": np.array([g0]), "rp_gamma1": np.array([g1])}
    D = basis.design(ts)
    np.testing.assert_allclose(
        cum_hazard(basis, NP, D, raw), WEIBULL.cum_hazard(NP, ts, shape=g1, scale=scale), rtol=1e-12
    )
    np.testing.assert_allclose(
        log_hazard(basis, NP, D, raw), WEIBULL.log_hazard(NP, ts, shape=g1, scale=scale), rtol=1e-12
    )


def test_rp_non_monotone_is_finite_and_penalised():
    time, event = weibull_data()
    basis = choose_basis("rp", time, event, df=1)
    D = basis.design([1.0, 5.0])
    lh = log_hazard(basis, NP, D, {"rp_gamma0": np.array([0.0]), "rp_gamma1": np.array([-0.5])})
    assert np.all(np.isfinite(lh)) and np.all(lh < -400)  # s' = -0.5: ~ -0.5 / 1e-3
    lh0 = log_hazard(basis, NP, D, {"rp_gamma0": np.array([0.0]), "rp_gamma1": np.array([0.0])})
    np.testing.assert_allclose(lh0, np.log(1e-3 * np.log(2)) - np.log([1.0, 5.0]))


def test_rp_default_knots_are_flexsurvs():
    time, event = weibull_data()
    basis = choose_basis("rp", time, event)
    lev = np.log(np.sort(time[event == 1]))
    # flexsurvspline(k = 2): quantile(log(event times), c(1/3, 2/3)), boundary = range
    np.testing.assert_allclose(
        np.log(basis.knots), [lev[0], *np.quantile(lev, [1 / 3, 2 / 3]), lev[-1]]
    )


def test_pwexp_exposure_and_closed_form_mle():
    time, event = weibull_data(seed=5)
    basis = choose_basis("pwexp", time, event)
    D = basis.design(time)
    np.testing.assert_allclose(D["E"].sum(axis=1), time, rtol=1e-12)
    assert np.all(D["X"].sum(axis=1) == 1)
    K = basis.n_basis
    # intervals are [c_{k-1}, c_k): a time on a cut belongs to the interval it opens
    assert basis.design(np.array(basis.knots))["X"].argmax(axis=1).tolist() == list(range(1, K))
    exposure = D["E"].sum(axis=0)
    events = (D["X"] * event[:, None]).sum(axis=0)
    closed = events / exposure

    def nll(v):
        raw = {"pwexp_log_rate0": v[:1], "pwexp_sd": np.ones(1), "pwexp_z": v[1:]}
        return -loglik(basis, D, raw, event)

    res = minimize(
        nll,
        np.r_[np.log(event.sum() / time.sum()), np.zeros(K - 1)],
        method="BFGS",
        options={"gtol": 1e-9},
    )
    rate = np.exp(
        basis.coefficients(
            NP, {"pwexp_log_rate0": res.x[:1], "pwexp_sd": np.ones(1), "pwexp_z": res.x[1:]}
        )
    )
    np.testing.assert_allclose(rate, closed, rtol=1e-4)


@pytest.mark.parametrize("kind", ["mspline", "rp"])
def test_mle_on_gbsg2_follows_kaplan_meier(kind):
    from lifelines.datasets import load_gbsg2

    df = load_gbsg2()
    time, event = df["time"].to_numpy(float), df["cens"].to_numpy(float)
    basis = choose_basis(kind, time, event)
    D = basis.design(time)
    names = basis.sampled
    sizes = [basis.vector_dims[n][1] if n in basis.vector_dims else 1 for n in names]

    def unpack(v):
        raw, i = {}, 0
        for n, s in zip(names, sizes, strict=True):
            raw[n], i = v[i : i + s], i + s
        if kind == "mspline":
            raw["mspline_sd"] = np.ones(1)  # unpenalised: z are the free coefficients
        return raw

    def nll(v):
        return -loglik(basis, D, unpack(v), event)

    v0 = np.zeros(sum(sizes))
    v0[0] = np.log(event.sum() / time.sum()) + (
        np.log(basis.knots[-1]) if kind == "mspline" else np.log(np.median(time))
    )
    if kind == "rp":
        v0[1] = 1.0
    res = minimize(nll, v0, method="BFGS")
    assert res.success or res.status == 2
    km = kaplan_meier(time, event)
    grid = np.linspace(50, 1800, 60)  # to where 132 (19%) remain at risk; beyond, KM steps of
    # 0.02 with 75 at risk near t = 2000 are noise a smooth hazard must not follow
    s_km = step_value(km["time"], km["survival"], grid)
    s_fit = np.exp(-cum_hazard(basis, NP, basis.design(grid), unpack(res.x)))
    assert np.max(np.abs(s_fit - s_km)) < 0.02


@pytest.mark.mcmc
@pytest.mark.parametrize("kind", SPLINE_KINDS)
def test_short_nuts_fit_recovers_weibull_survival(kind):
    """The spline fitted by the one core (NUTS, default priors) to Weibull data: S at the true
    median is 0.5 within 0.05 (300 patients; the posterior sd of S there is about 0.03).

    The fit must also pass its own convergence checks. The smoothing sd (mspline, pwexp) mixes
    slowly: 2 x 300 draws gave it a bulk ESS of 110 (mspline) and 81 (pwexp), 4 x 1000 gave
    530 and 984. At target_accept 0.95 each kind had one divergence in 4,000 draws, at sd values
    in the bulk of the posterior (0.54 pwexp, 1.16 mspline), not a funnel near 0; at 0.98 there
    were none."""
    import pandas as pd

    from bayesurv.survival.fit import Sampler, fit
    from bayesurv.survival.outputs import survival

    shape, scale = 1.4, 10.0
    time, event = weibull_data(n=300, seed=11, shape=shape, scale=scale)
    res = fit(
        pd.DataFrame({"time": time, "event": event.astype(int)}),
        kind,
        seed=7,
        sampler=Sampler(1000, 1000, 4, target_accept=0.98),
    )
    t_med = scale * np.log(2) ** (1 / shape)
    s = survival(res, np.array([t_med]))
    assert s.sizes["chain"] == 4 and s.sizes["draw"] == 1000
    assert abs(float(s.mean()) - 0.5) < 0.05


def test_priors_override_and_reject_unknown_names(monkeypatch):
    import pandas as pd
    from known_draws import mock_nuts

    from bayesurv.survival.fit import Sampler, fit
    from bayesurv.survival.structure import ModelSpec

    time, event = weibull_data()
    ipd = pd.DataFrame({"time": time, "event": event.astype(int)})
    mock_nuts(monkeypatch)
    res = fit(ipd, "pwexp", priors={"pwexp_sd": "gamma(2, 4)"}, seed=1, sampler=Sampler(300, 50, 2))
    assert json.loads(res.attrs["priors"])["pwexp_sd"] == "gamma(2, 4)"
    with pytest.raises(InputError, match="pwexp_log_rate0"):
        fit(ipd, "pwexp", priors={"log_rate": "normal(0, 1)"}, seed=1)
    with pytest.raises(InputError, match="does not suit a positive parameter"):
        ModelSpec("pwexp", priors={"pwexp_sd": "normal(0, 1)"})


def test_extra_knots_and_serialisation():
    time, event = weibull_data()
    follow = time.max()
    ms = choose_basis("mspline", time, event, extra_knots=[60.0, 40.0])
    assert ms.knots[-3:] == (follow, 40.0, 60.0) and ms.n_basis == 12
    pw = choose_basis("pwexp", time, event, extra_knots=[40.0])
    assert pw.knots[-1] == 40.0 and pw.n_basis == 7
    for b in (ms, pw, choose_basis("rp", time, event)):
        again = HazardBasis.from_dict(json.loads(json.dumps(b.to_dict())))
        assert again == b and hash(again) == hash(b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kind": "bspline"}, "unknown spline kind"),
        ({"kind": "mspline", "df": 3}, "df for mspline"),
        ({"kind": "mspline", "knots": [5.0, -1.0]}, r"\(0, inf\)"),
        ({"kind": "rp", "knots": [1.0, 3.0, 2.0]}, "strictly increasing"),
        ({"kind": "pwexp", "extra_knots": [5.0]}, "beyond the last observed time"),
        ({"kind": "mspline", "df": 12, "n_events": 8}, "too few"),
        ({"kind": "pwexp", "smooth": "iid"}, "smooth"),
    ],
)
def test_bad_input(kwargs, match):
    time, event = weibull_data()
    n_events = kwargs.pop("n_events", None)
    if n_events is not None:
        event = np.zeros_like(event)
        event[:n_events] = 1.0
    with pytest.raises(InputError, match=match):
        choose_basis(kwargs.pop("kind"), time, event, **kwargs)
