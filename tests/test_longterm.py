"""The long-term model: formulas against independent code, curves against closed forms, waning,
background mortality, external evidence, bad input."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize

from bayesurv.errors import InputError
from bayesurv.lifetable import us_life_table
from bayesurv.survival.background import background_survival, cohort_from_ages
from bayesurv.survival.cure import excess
from bayesurv.survival.families import NP
from bayesurv.survival.longterm import (
    _component,
    build_longterm_model,
    fit_longterm,
    make_longterm_spec,
    patient_loglik,
    prepare_longterm,
)

FAST = dict(draws=400, tune=400, chains=2)


def simulate(n=400, seed=1, pi=(0.4, 0.6), shape=1.3, scale=2.0, hr=0.7, follow=(3.0, 6.0)):
    """Two-arm Weibull mixture cure (PH on the uncured), uniform censoring, ages 1-17."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n // 2)
    cured = rng.random(n) < np.asarray(pi)[arm]
    u = -np.log(rng.random(n)) / np.where(arm == 1, hr, 1.0)  # H_u(T) ~ Exp(1) / HR
    t = np.where(cured, np.inf, scale * u ** (1 / shape))
    c = rng.uniform(*follow, n)
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                         "arm": np.where(arm == 1, "treated", "control"),
                         "age": rng.uniform(1, 17, n)})


@pytest.fixture(scope="module")
def ipd():
    return simulate()


@pytest.fixture(scope="module")
def mixture_fit(ipd):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains: convergence warnings are not the point
        return fit_longterm(ipd, "weibull", cure="mixture", arm_column="arm", effect="both",
                            seed=3, time_unit="years", horizon=40.0, cycle="yearly", **FAST)


# ---- formulas ------------------------------------------------------------------------------
@pytest.mark.parametrize("cure", ["none", "mixture", "non-mixture"])
def test_excess_hazard_is_minus_dlogS(cure):
    # h_exc = -d log S_exc / dt, checked by finite differences on a Weibull uncured survival
    t = np.linspace(0.2, 8, 40)
    shape, scale, lin = 1.4, 2.0, 0.3

    def parts(tt):
        lh_u = np.log(shape / scale) + (shape - 1) * np.log(tt / scale)
        return excess(NP, cure, lh_u, -((tt / scale) ** shape), lin)

    lh, H = parts(t)
    eps = 1e-6
    dH = (parts(t + eps)[1] - parts(t - eps)[1]) / (2 * eps)
    np.testing.assert_allclose(np.exp(lh), dH, rtol=1e-6)
    pi = 1 / (1 + np.exp(-lin))
    s_u = np.exp(-((t / scale) ** shape))
    direct = {"none": s_u, "mixture": pi + (1 - pi) * s_u, "non-mixture": pi ** (1 - s_u)}[cure]
    np.testing.assert_allclose(np.exp(-H), direct, rtol=1e-12)


@pytest.mark.parametrize("cure", ["none", "mixture", "non-mixture"])
def test_pymc_likelihood_equals_numpy_formula(ipd, cure):
    table = us_life_table(2014)
    data, cohort = prepare_longterm(ipd, arm_column="arm", life_table=table, age_column="age",
                                    sex=0.5, time_unit="years")
    data["smr"] = 1.3
    spec = make_longterm_spec("weibull", cure=cure, n_arms=2,
                              effect="both" if cure != "none" else None, background=True)
    model = build_longterm_model(spec, data, cohort)
    point = {"log_median": 0.4, "log_shape": 0.2, "log_hr": -0.3, "cure_logit": -0.2,
             "cure_effect": 0.5}
    point = {k: v for k, v in point.items() if k in spec.sampled}
    f = model.compile_fn(model["loglik"], inputs=[model[k] for k in point], on_unused_input="ignore")
    got = float(f({k: np.asarray(v) for k, v in point.items()}))
    # independent NumPy: Weibull with flexsurv's parameters from the sampled ones
    shape = np.exp(point["log_shape"])
    scale = np.exp(point["log_median"] - np.log(np.log(2)) / shape)
    t, d, x = data["time"], data["event"], data["arm"]
    H_u = (t / scale) ** shape * np.exp(point["log_hr"] * x)
    h_u = shape / scale * (t / scale) ** (shape - 1) * np.exp(point["log_hr"] * x)
    if cure == "none":
        h_exc, S_exc = h_u, np.exp(-H_u)
    else:
        pi = 1 / (1 + np.exp(-(point["cure_logit"] + point["cure_effect"] * x)))
        if cure == "mixture":
            S_exc = pi + (1 - pi) * np.exp(-H_u)
            h_exc = (1 - pi) * h_u * np.exp(-H_u) / S_exc
        else:
            S_exc = pi ** (1 - np.exp(-H_u))
            h_exc = -np.log(pi) * h_u * np.exp(-H_u)
    h = 1.3 * np.exp(data["log_h_pop"]) + h_exc
    want = np.sum(d * np.log(h) - 1.3 * data["H_pop"] + np.log(S_exc))
    assert got == pytest.approx(want, rel=1e-9)
    # and the NumPy path used for LOO gives the same
    comp = _component("weibull", "")
    raw = {k: np.array([[v]]) for k, v in point.items()}
    ll = patient_loglik(NP, spec, comp, comp.design(t), raw, data, float(data["log_t_ref"]), 1.3)
    assert float(ll.sum()) == pytest.approx(want, rel=1e-9)


def test_posterior_mode_region_matches_maximum_likelihood(ipd, mixture_fit):
    """Posterior medians sit within ~2 MLE standard errors of scipy's MLE (vague-ish priors)."""
    t, d = ipd["time"].to_numpy(), ipd["event"].to_numpy()
    x = (ipd["arm"] == "treated").to_numpy(float)

    def nll(p):
        lm, ls, b, a, g = p
        shape = np.exp(ls)
        scale = np.exp(lm - np.log(np.log(2)) / shape)
        H = (t / scale) ** shape * np.exp(b * x)
        lh = np.log(shape / scale) + (shape - 1) * np.log(t / scale) + b * x
        pi = 1 / (1 + np.exp(-(a + g * x)))
        S = pi + (1 - pi) * np.exp(-H)
        return -np.sum(d * (np.log(1 - pi) + lh - H - np.log(S)) + np.log(S))

    fit = optimize.minimize(nll, np.zeros(5), method="BFGS")
    se = np.sqrt(np.diag(fit.hess_inv))
    post = mixture_fit["posterior"]
    for k, name in enumerate(["log_median", "log_shape", "log_hr", "cure_logit", "cure_effect"]):
        assert abs(float(post[name].median()) - fit.x[k]) < 2.0 * se[k], name


def test_derived_curves_follow_the_posterior_parameters(mixture_fit):
    post, der = mixture_fit["posterior"], mixture_fit["derived"]
    shape = np.exp(post["log_shape"].values)
    scale = np.exp(post["log_median"].values - np.log(np.log(2)) / shape)
    for a, x in ((0, 0.0), (1, 1.0)):
        pi = 1 / (1 + np.exp(-(post["cure_logit"].values + x * post["cure_effect"].values)))
        for tt in (1.0, 5.0, 20.0):
            s = pi + (1 - pi) * np.exp(-((tt / scale) ** shape) * np.exp(x * post["log_hr"].values))
            np.testing.assert_allclose(der["survival"].isel(arm=a).sel(time=tt).values, s,
                                       rtol=1e-10)
        np.testing.assert_allclose(der["cure_fraction"].isel(arm=a).values, pi, rtol=1e-12)
    # mean survival to the horizon (40 years) against scipy quad, for a few draws
    for c, k in ((0, 0), (1, 17), (0, 123)):
        sh, sc = shape[c, k], scale[c, k]
        pi = 1 / (1 + np.exp(-post["cure_logit"].values[c, k]))
        quad = integrate.quad(lambda u: pi + (1 - pi) * np.exp(-((u / sc) ** sh)), 0, 40,
                              limit=200)[0]
        assert float(der["mean_survival"].isel(arm=0)[c, k]) == pytest.approx(quad, rel=1e-4)
        tau = der.attrs["rmst_to"]
        quad = integrate.quad(lambda u: pi + (1 - pi) * np.exp(-((u / sc) ** sh)), 0, tau)[0]
        assert float(der["rmst"].isel(arm=0)[c, k]) == pytest.approx(quad, rel=1e-4)
    # cycle draws are posterior draws of the same curve
    cyc = der["cycle_survival"]
    assert cyc.sizes["cycle"] == 41 and float(cyc.isel(cycle=0).min()) == 1.0
    # each exported draw is one posterior draw's curve at the cycle times, exactly
    flat_s = der["survival"].isel(arm=1).sel(time=20.0).values.ravel()
    assert np.isin(cyc.isel(arm=1).sel(cycle=20).values, flat_s).all()


def test_background_mortality_multiplies_the_cohort_curve(ipd):
    table = us_life_table(2014)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_longterm(ipd, "weibull", cure="mixture", arm_column="arm", seed=5,
                           life_table=table, age_column="age", sex=0.5, time_unit="years",
                           **FAST)
    der = res["derived"]
    t = der["time"].values
    # the cohort's general-population survival, by bayesurv.survival.background (Ederer I),
    # averaged over both sexes half and half: independent of the model's node grouping
    bg = 0.5 * (background_survival(t, cohort_from_ages(ipd["age"], "male"), table) +
                background_survival(t, cohort_from_ages(ipd["age"], "female"), table))
    np.testing.assert_allclose(der["background_survival"].values, bg, rtol=2e-3, atol=1e-5)
    # without cure covariates the cohort curve is S_exc(t) * S_pop(t)
    post = res["posterior"]
    pi = post["cure_fraction"].isel(arm=0).values
    shape = np.exp(post["log_shape"].values)
    scale = np.exp(post["log_median"].values - np.log(np.log(2)) / shape)
    k = int(np.searchsorted(t, 30.0))
    s_exc = pi + (1 - pi) * np.exp(-((t[k] / scale) ** shape))
    np.testing.assert_allclose(der["survival"].isel(arm=0, time=k).values,
                               s_exc * der["background_survival"].values[k], rtol=1e-9)
    # no hazard below the general population's, anywhere on the lifetime grid
    assert np.all(der["hazard"].values[..., 1:] >= der["background_hazard"].values[1:] * (1 - 1e-9))
    assert res.attrs["horizon"] > 80  # lifetime: children live to old age in the table


def test_waning_returns_the_treated_hazard_to_control(ipd):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_longterm(ipd, "weibull", arm_column="arm", seed=7, time_unit="years",
                           horizon=30.0, waning={"scheme": "linear_loghr", "t1": 7.0, "t2": 12.0},
                           **FAST)
    der = res["derived"]
    h = der["hazard"]
    hr = h.isel(arm=1) / h.isel(arm=0)
    np.testing.assert_allclose(hr.sel(time=7.0), der["hr"], rtol=1e-9)  # full effect at t1
    late = der["time"].values >= 12.0
    np.testing.assert_allclose(hr.isel(time=late).values, 1.0, rtol=1e-9)  # gone after t2
    mid = hr.sel(time=9.5, method="nearest")
    tm = float(mid["time"])
    w = (12.0 - tm) / 5.0
    np.testing.assert_allclose(np.log(mid), w * np.log(der["hr"]), rtol=1e-6)
    # S_T(t) = S_T(t1) exp(-integral_t1^t h_T): compare with quadrature of the waned hazard
    post = res["posterior"]
    shape = float(np.exp(post["log_shape"][0, 0]))
    scale = float(np.exp(post["log_median"][0, 0] - np.log(np.log(2)) / shape))
    b = float(post["log_hr"][0, 0])

    def h0(u):
        return shape / scale * (u / scale) ** (shape - 1)

    def ht(u):
        w = np.clip((12.0 - u) / 5.0, 0, 1)
        return h0(u) * np.exp(b * (1.0 if u < 7.0 else w))

    H = integrate.quad(ht, 0, 20.0, points=[7.0, 12.0])[0]
    s20 = float(der["survival"].isel(arm=1, chain=0, draw=0).sel(time=20.0))
    assert s20 == pytest.approx(np.exp(-H), rel=2e-4)


def test_external_landmark_pulls_the_tail(ipd):
    common = dict(arm_column="arm", cure="mixture", time_unit="years", horizon=30.0, **FAST)
    lm = pd.DataFrame({"time": [15.0], "survival": [0.25], "lower": [0.22], "upper": [0.28],
                       "arm": ["control"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fit_longterm(ipd, "weibull", seed=11, **common)
        b = fit_longterm(ipd, "weibull", seed=11, external_landmarks=lm, **common)
    s_a = float(a["derived"]["survival"].isel(arm=0).sel(time=15.0, method="nearest").median())
    s_b = float(b["derived"]["survival"].isel(arm=0).sel(time=15.0, method="nearest").median())
    assert s_a > 0.32  # the data alone: a plateau near the control cure fraction (0.4)
    assert abs(s_b - 0.25) < abs(s_a - 0.25) and abs(s_b - 0.25) < 0.05


def test_short_follow_up_is_reported_in_words():
    short = simulate(n=200, seed=4, scale=6.0, follow=(0.5, 1.5))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit_longterm(short, "weibull", cure="mixture", arm_column="arm", seed=2,
                           time_unit="years", horizon=20.0, **FAST)
    notes = json.loads(res.attrs["identifiability"])
    assert any("Follow-up is too short" in s for s in notes)
    assert any("Follow-up is too short" in str(w.message) for w in caught)


def test_compiled_model_is_reused(ipd):
    from bayesurv.survival import longterm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_longterm(ipd, "exponential", arm_column="arm", seed=1, draws=100, tune=100, chains=1)
        n = len(longterm._CACHE)
        res = fit_longterm(ipd.iloc[::2], "exponential", arm_column="arm", seed=1, draws=100,
                           tune=100, chains=1)
    assert len(longterm._CACHE) == n
    # the reused model carries the new data: its exponential rate is the events / exposure MLE
    sub = ipd.iloc[::2]
    c = sub[sub.arm == "control"]
    rate = float(np.exp(np.log(np.log(2)) - res["posterior"]["log_median"]).median())
    assert rate == pytest.approx(c.event.sum() / c.time.sum(), rel=0.15)


# ---- bad input: one sentence each -----------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(waning={"scheme": "linear_loghr", "t1": 8.0, "t2": 4.0}), "t2 4 is not after t1 8"),
        (dict(waning={"scheme": "abrupt", "t1": 2.0}, cure="mixture", cure_covariates=["age"]),
         "before the end of follow-up"),
        (dict(life_table="table", age=10), "time unit"),
        (dict(life_table="table", time_unit="years", age=140, sex="male"), "outside 0-110"),
        (dict(life_table="table", time_unit="years", age=10), "sex"),
        (dict(life_table="table", time_unit="years", age=10, sex="x"), "not male, female"),
        (dict(life_table="table", time_unit="years", age=10, sex="male", smr=0.8), "at least 1"),
        (dict(cure="mixture", cure_covariates=["nope"]), "no column 'nope'"),
        (dict(cure="sometimes"), "unknown cure model"),
        (dict(time_unit="fortnights"), "unknown time unit"),
        (dict(priors={"shape": {"dist": "Normal", "mu": 0, "sigma": 1}}), "does not match"),
    ],
)
def test_bad_input_one_sentence(ipd, kwargs, match):
    if kwargs.get("life_table") == "table":
        kwargs = {**kwargs, "life_table": us_life_table(2014)}
    with pytest.raises(InputError, match=match) as e:
        fit_longterm(ipd, "weibull", arm_column="arm", seed=1, draws=50, tune=50, chains=1,
                     **kwargs)
    assert "\n" not in str(e.value)


def test_uncertain_smr_scales_the_population_hazard_per_draw(ipd):
    table = us_life_table(2014)
    adults = ipd.assign(age=ipd["age"] + 50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_longterm(adults, "exponential", arm_column="arm", seed=6, life_table=table,
                           age_column="age", sex="female", time_unit="years", horizon=30.0,
                           smr_prior={"dist": "LogNormal", "mu": float(np.log(1.5)),
                                      "sigma": 0.1}, **FAST)
    smr = res["posterior"]["smr"].values
    assert smr.min() >= 1.0
    assert np.median(smr) == pytest.approx(1.5, rel=0.1)  # the data say little: near the prior
    der = res["derived"]
    c, k = 1, 37
    rate = float(np.exp(np.log(np.log(2)) - res["posterior"]["log_median"].values[c, k]))
    t = der["time"].values
    ages = np.round(adults["age"].to_numpy() / 0.25) * 0.25  # the model's age nodes
    pop = background_survival(t, cohort_from_ages(ages, "female"), table, smr=float(smr[c, k]))
    np.testing.assert_allclose(der["survival"].isel(arm=0, chain=c, draw=k).values,
                               np.exp(-rate * t) * pop, rtol=1e-9)


# ---- waning inside follow-up: in the likelihood -----------------------------------------------
def _abrupt_waning_data(n=1200, seed=9, hr=0.5, t1=2.0, shape=1.2, scale=3.0):
    """Weibull PH, treated HR 0.5 until t1 and 1 after (abrupt waning), censored at 2-7."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n // 2)
    e = rng.exponential(size=n)  # H(T) = e
    H0 = lambda t: (t / scale) ** shape  # noqa: E731
    inv = lambda h: scale * h ** (1 / shape)  # noqa: E731
    t_ctrl = inv(e)
    t_trt = np.where(e < hr * H0(t1), inv(e / hr), inv(e - hr * H0(t1) + H0(t1)))
    t = np.where(arm == 1, t_trt, t_ctrl)
    c = rng.uniform(2, 7, n)
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                         "arm": np.where(arm == 1, "treated", "control")})


@pytest.mark.parametrize("scheme", ["abrupt", "linear_loghr", "linear_hazard"])
def test_waning_in_the_likelihood_equals_numpy_quadrature(scheme):
    data_df = _abrupt_waning_data(n=200)
    data, cohort = prepare_longterm(data_df, arm_column="arm", time_unit="years")
    w = ("abrupt", np.float64(2.0), None) if scheme == "abrupt" else (scheme, np.float64(1.5),
                                                                       np.float64(4.0))
    spec = make_longterm_spec("weibull", cure="mixture", n_arms=2, effect="both", waning=w)
    model = build_longterm_model(spec, data, cohort)
    point = {"log_median": 0.6, "log_shape": 0.15, "log_hr": -0.6, "cure_logit": -1.0,
             "cure_effect": 0.4}
    f = model.compile_fn(model["loglik"], inputs=[model[k] for k in point])
    got = float(f({k: np.asarray(v) for k, v in point.items()}))
    # independent: each treated patient's waned hazard integrated by scipy quad
    shape = np.exp(point["log_shape"])
    scale = np.exp(point["log_median"] - np.log(np.log(2)) / shape)

    def h_exc(u, a):
        hr = np.exp(point["log_hr"] * a)
        pi = 1 / (1 + np.exp(-(point["cure_logit"] + point["cure_effect"] * a)))
        Su = np.exp(-((u / scale) ** shape) * hr)
        hu = shape / scale * (u / scale) ** (shape - 1) * hr
        return (1 - pi) * hu * Su / (pi + (1 - pi) * Su)

    def h_treated(u):
        hc, ht = h_exc(u, 0), h_exc(u, 1)
        if scheme == "abrupt":
            return ht if u < w[1] else hc
        wt = np.clip((w[2] - u) / (w[2] - w[1]), 0, 1)
        if u < w[1]:
            return ht
        if scheme == "linear_loghr":
            b = np.log(h_exc(w[1], 1) / h_exc(w[1], 0))
            return hc * np.exp(wt * b)
        return wt * ht + (1 - wt) * hc

    want = 0.0
    for t, d, a in zip(data["time"], data["event"], data["arm"], strict=True):
        if a == 0:
            h = h_exc(t, 0)
            H = integrate.quad(lambda u: h_exc(u, 0), 0, t)[0]
        else:
            h = h_treated(t)
            pts = [p for p in (w[1], w[2]) if p is not None and p < t]
            H = integrate.quad(h_treated, 0, t, points=pts or None, limit=200)[0]
        want += d * np.log(h) - H
    assert got == pytest.approx(want, rel=1e-6)


def test_waning_inside_follow_up_recovers_the_early_hazard_ratio():
    ipd = _abrupt_waning_data()
    common = dict(arm_column="arm", time_unit="years", horizon=15.0, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        waned = fit_longterm(ipd, "weibull", seed=3, waning={"scheme": "abrupt", "t1": 2.0},
                             **common)
        plain = fit_longterm(ipd, "weibull", seed=3, **common)
    hr_w = float(np.exp(waned["posterior"]["log_hr"]).median())
    hr_p = float(np.exp(plain["posterior"]["log_hr"]).median())
    assert abs(hr_w - 0.5) < 0.1  # the truth before t1
    assert hr_p > hr_w + 0.1  # a constant HR averages the effect away over follow-up
    h = waned["derived"]["hazard"]
    late = waned["derived"]["time"].values > 2.0
    np.testing.assert_allclose((h.isel(arm=1) / h.isel(arm=0)).isel(time=late), 1.0, rtol=1e-9)
    # LOO prefers the true (waning) model
    import arviz as az

    assert float(az.loo(waned).elpd) > float(az.loo(plain).elpd)


def test_without_a_time_unit_nothing_is_called_years(ipd):
    from bayesurv.survival.extrapolation import longterm_summary

    one = ipd[ipd.arm == "control"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_longterm(one, "weibull", cure="mixture", seed=1, draws=100, tune=100, chains=1)
    s = longterm_summary(res)
    assert [r["landmark"] for r in s["landmarks"]] == ["lifetime (mean, time units)"]
    assert s["mean_units"] == "time units"
    with pytest.raises(InputError, match="give the data's time unit"):
        fit_longterm(one, "weibull", cure="mixture", seed=1, cycle="yearly", draws=50, tune=50,
                     chains=1)
