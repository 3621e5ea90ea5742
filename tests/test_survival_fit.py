"""Fits against maximum likelihood on real data, the result layout, and bad input.

Reference fits are lifelines' parametric fitters (independent code: autograd likelihoods, their
own parameterizations) on GBSG2 (lifelines.datasets.load_gbsg2: 686 patients, time in days,
``cens`` = event), except Gompertz, which lifelines lacks: its MLE maximizes a likelihood built
from scipy.stats.gompertz's logpdf/logsf (shape a > 0 maps to gompertz(c=b/a, scale=1/a)).
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.optimize as so
import scipy.stats as st
from lifelines import (
    ExponentialFitter,
    GeneralizedGammaFitter,
    LogLogisticFitter,
    LogNormalFitter,
    WeibullAFTFitter,
    WeibullFitter,
)
from lifelines.datasets import load_gbsg2, load_rossi
from lifelines.utils import restricted_mean_survival_time

from bayesurv.errors import InputError
from bayesurv.survival.fit import fit, load, prepare, prior_predictive, save, summarize

LANDMARKS = np.array([365.0, 730.0, 1095.0, 1825.0])
HORIZON = 1825.0


@pytest.fixture(scope="module")
def gbsg2():
    d = load_gbsg2()
    return pd.DataFrame(
        {
            "time": d["time"].astype(float),
            "event": d["cens"].astype(int),
            "arm": d["horTh"].astype(str),
        }
    )


def _gompertz_mle(time, event):
    """MLE of flexsurv's gompertz(shape a, rate b) from scipy.stats.gompertz (a > 0 here)."""

    def nll(theta):
        a, b = np.exp(theta)
        dist = st.gompertz(c=b / a, scale=1 / a)
        return -np.sum(np.where(event == 1, dist.logpdf(time), dist.logsf(time)))

    res = so.minimize(
        nll,
        x0=np.log([1e-4, 1e-4]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000},
    )
    a, b = np.exp(res.x)
    dist = st.gompertz(c=b / a, scale=1 / a)
    rmst = si_quad(dist.sf, HORIZON)
    return dist.sf(LANDMARKS), rmst


def si_quad(sf, tau):
    import scipy.integrate as si

    return si.quad(sf, 0, tau, limit=200)[0]


def _mle(family, time, event):
    """S at LANDMARKS and RMST to HORIZON at the MLE, from lifelines (or scipy for gompertz)."""
    if family == "gompertz":
        return _gompertz_mle(time, event)
    fitter = {
        "exponential": ExponentialFitter,
        "weibull": WeibullFitter,
        "lognormal": LogNormalFitter,
        "loglogistic": LogLogisticFitter,
        "gengamma": GeneralizedGammaFitter,
    }[family]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter.fit(time, event)
    s = fitter.survival_function_at_times(LANDMARKS).to_numpy()
    return s, restricted_mean_survival_time(fitter, t=HORIZON)


FAMILY_NAMES = ["exponential", "weibull", "gompertz", "lognormal", "loglogistic", "gengamma"]


@pytest.fixture(scope="module")
def gbsg2_fits(gbsg2):
    out = {}
    for fam in FAMILY_NAMES:
        out[fam] = fit(
            gbsg2[["time", "event"]],
            fam,
            seed=11,
            draws=1000,
            tune=500,
            chains=2,
            times=LANDMARKS,
            rmst_to=HORIZON,
        )
    return out


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_posterior_agrees_with_maximum_likelihood_on_gbsg2(gbsg2, gbsg2_fits, family):
    res = gbsg2_fits[family]
    s_mle, rmst_mle = _mle(family, gbsg2["time"].to_numpy(), gbsg2["event"].to_numpy())
    s_bayes = summarize(res, "survival")["median"].to_numpy()
    rmst_bayes = float(summarize(res, "rmst")["median"].iloc[0])
    # posterior median vs MLE. Required: 0.01 in S, 1% in RMST. Held here: 0.005 and 0.5%:
    # with 686 patients the posterior sd of S(t) is about 0.02, the Monte Carlo error of its
    # median with ESS >= 400 about 0.001, and the prior's pull far smaller (measured: max
    # |dS| 0.0006-0.0019, RMST within 0.1% for every family)
    assert np.max(np.abs(s_bayes - s_mle)) < 0.005, (family, s_bayes, s_mle)
    assert abs(rmst_bayes / rmst_mle - 1) < 0.005, (family, rmst_bayes, rmst_mle)
    diag = json.loads(res.attrs["diagnostics"])
    assert diag["rhat_max"] < 1.02 and diag["divergences"] == 0


@pytest.mark.slow
def test_result_layout_and_netcdf_round_trip(gbsg2_fits, tmp_path):
    res = gbsg2_fits["weibull"]
    for g in (
        "posterior",
        "sample_stats",
        "observed_data",
        "constant_data",
        "log_likelihood",
        "posterior_predictive",
        "derived",
    ):
        assert g in res.children, g
    # ArviZ's censored layout: times observed, event indicator under the same name
    assert res["constant_data"]["time"].dtype.kind == "i"
    np.testing.assert_array_equal(res["observed_data"]["time"].shape, (686,))
    assert res["log_likelihood"]["time"].dims == ("chain", "draw", "patient")
    q = res["derived"]
    assert q["survival"].dims == ("chain", "draw", "arm", "time")
    np.testing.assert_array_equal(q["time"].values, LANDMARKS)
    # the per-patient log-likelihood sums to the same total the sampler used: check one draw by
    # recomputing with scipy's weibull_min (independent of the family formulas)
    post = res["posterior"].isel(chain=0, draw=0)
    dist = st.weibull_min(c=float(post["shape"]), scale=float(post["scale"]))
    t = res["observed_data"]["time"].values
    d = res["constant_data"]["time"].values
    ll_ref = np.where(d == 1, dist.logpdf(t), dist.logsf(t))
    np.testing.assert_allclose(
        res["log_likelihood"]["time"].isel(chain=0, draw=0), ll_ref, rtol=1e-10
    )
    prov = json.loads(res.attrs["provenance"])
    assert prov["seed"] == 11
    path = tmp_path / "fit.nc"
    save(res, path)
    back = load(path)
    np.testing.assert_array_equal(back["derived"]["rmst"].values, q["rmst"].values)
    assert back.attrs["family"] == "weibull"
    table = summarize(back, "survival")
    assert list(table.columns) == ["arm", "time", "median", "lower", "upper"]
    assert np.all(table["lower"] < table["median"]) and np.all(table["median"] < table["upper"])


@pytest.mark.slow
def test_two_arm_weibull_ph_matches_lifelines_aft_on_rossi():
    d = load_rossi()
    ipd = pd.DataFrame(
        {
            "time": d["week"].astype(float),
            "event": d["arrest"],
            "arm": np.where(d["fin"] == 1, "aid", "no aid"),
        }
    )
    ipd = ipd.sort_values("arm", ascending=False, kind="stable")  # "no aid" first: reference
    res = fit(
        ipd,
        "weibull",
        seed=3,
        arm_column="arm",
        draws=500,
        tune=500,
        chains=2,
        times=[26.0, 52.0],
        rmst_to=52.0,
    )
    assert json.loads(res.attrs["arms"]) == ["no aid", "aid"]
    # reference: lifelines WeibullAFTFitter(fin); Weibull PH log HR = -rho * AFT coefficient
    aft = WeibullAFTFitter().fit(
        pd.DataFrame({"week": d["week"], "arrest": d["arrest"], "fin": d["fin"]}), "week", "arrest"
    )
    coef = aft.params_.loc[("lambda_", "fin")]
    rho = np.exp(aft.params_.loc[("rho_", "Intercept")])
    log_hr_mle = -rho * coef
    draws = res["posterior"]["log_hr"].values.ravel()
    # posterior median within 0.25 posterior sd of the MLE (n = 432, 114 events)
    assert abs(np.median(draws) - log_hr_mle) < 0.25 * draws.std()
    hr = summarize(res, "hazard_ratio")
    np.testing.assert_allclose(hr["median"], np.exp(np.median(draws)), rtol=1e-6)  # PH: flat
    assert "rmst_diff" in res["derived"]


@pytest.mark.slow
def test_separate_arms_and_aft_match_lifelines_on_rossi():
    d = load_rossi()
    ipd = pd.DataFrame(
        {
            "time": d["week"].astype(float),
            "event": d["arrest"],
            "arm": np.where(d["fin"] == 1, "aid", "no aid"),
        }
    )
    ipd = ipd.sort_values("arm", ascending=False, kind="stable")
    grid = np.array([20.0, 40.0, 52.0])
    # separate arms: each arm's S(t) against lifelines' WeibullFitter on that arm alone
    res = fit(
        ipd,
        "weibull",
        seed=6,
        arm_column="arm",
        effect="separate",
        draws=500,
        tune=500,
        chains=2,
        times=grid,
    )
    table = summarize(res, "survival")
    for arm in ("no aid", "aid"):
        sub = ipd[ipd["arm"] == arm]
        ref = WeibullFitter().fit(sub["time"], sub["event"]).survival_function_at_times(grid)
        got = table[table["arm"] == arm]["median"].to_numpy()
        # 216 patients per arm: posterior sd of S about 0.03; 0.01 is a third of it
        assert np.max(np.abs(got - ref.to_numpy())) < 0.01, (arm, got, ref)
    # AFT lognormal: log time ratio against lifelines' LogNormalAFTFitter coefficient of fin
    from lifelines import LogNormalAFTFitter

    res = fit(
        ipd,
        "lognormal",
        seed=6,
        arm_column="arm",
        effect="aft",
        draws=500,
        tune=500,
        chains=2,
        times=grid,
    )
    aft = LogNormalAFTFitter().fit(
        pd.DataFrame({"week": d["week"], "arrest": d["arrest"], "fin": d["fin"]}), "week", "arrest"
    )
    coef = aft.params_.loc[("mu_", "fin")]
    draws = res["posterior"]["log_tr"].values.ravel()
    assert abs(np.median(draws) - coef) < 0.25 * draws.std()


@pytest.mark.slow
def test_left_truncation_recovers_the_exponential_mle():
    rng = np.random.default_rng(5)
    n = 400
    entry = np.where(np.arange(n) < 50, 0.0, rng.uniform(0, 2, n))  # some enter at 0
    t = entry + rng.exponential(1 / 0.4, n)  # memoryless: truncated exponential is shifted
    c = entry + rng.uniform(1, 6, n)
    ipd = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int), "entry": entry})
    res = fit(ipd, "exponential", seed=2, entry_column="entry", draws=1000, tune=500, chains=2)
    # closed-form MLE with delayed entry: events / total time at risk
    rate_mle = ipd["event"].sum() / (ipd["time"] - ipd["entry"]).sum()
    rate = res["posterior"]["rate"].values.ravel()
    assert abs(np.median(rate) - rate_mle) < 0.1 * rate.std() + 0.01 * rate_mle
    # Weibull with delayed entry against lifelines' WeibullFitter(entry=...)
    grid = np.array([1.0, 3.0, 6.0])
    res = fit(ipd, "weibull", seed=2, entry_column="entry", draws=500, tune=500, chains=2,
              times=grid)
    ref = WeibullFitter().fit(ipd["time"], ipd["event"], entry=ipd["entry"])
    got = summarize(res, "survival")["median"].to_numpy()
    # 400 patients: posterior sd of S about 0.02-0.03; agreement to 0.01
    assert np.max(np.abs(got - ref.survival_function_at_times(grid).to_numpy())) < 0.01
    ll = res["log_likelihood"]["time"].isel(chain=0, draw=0).values
    assert np.all(np.isfinite(ll))  # entry = 0 rows add nothing, no log(0)


@pytest.mark.slow
def test_gompertz_and_gengamma_fit_a_plateau_with_heavy_censoring():
    # S(t) of a Gompertz with shape -0.5 and rate 0.4 plateaus at exp(0.4 / -0.5) = 0.45
    rng = np.random.default_rng(8)
    n = 250
    u = rng.uniform(size=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.log1p(-0.5 * -np.log(u) / 0.4) / -0.5  # inverse H; nan = cured
    t = np.where(np.isfinite(t), t, np.inf)
    c = rng.uniform(0.5, 8.0, n)
    ipd = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)})
    assert ipd["event"].mean() < 0.5  # heavily censored
    for fam in ("gompertz", "gengamma"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = fit(ipd, fam, seed=4, draws=400, tune=600, chains=2, times=[2.0, 8.0, 30.0])
        diag = json.loads(res.attrs["diagnostics"])
        # divergences reported honestly: the attribute is the sampler's own count
        assert diag["divergences"] == int(res["sample_stats"]["diverging"].values.sum())
        if diag["divergences"] or diag["rhat_max"] > 1.01:
            assert any("may not have converged" in str(w.message) for w in caught)
        s = summarize(res, "survival")
        assert np.all(np.isfinite(s["median"]))
        if fam == "gompertz":
            assert abs(s["median"].iloc[-1] - np.exp(0.4 / -0.5)) < 0.1  # plateau recovered
            assert "mean_note" in res["derived"].attrs  # cured fraction: infinite mean said


def test_prepare_rejects_bad_input_in_one_sentence():
    ok = pd.DataFrame({"time": [1.0, 2.0], "event": [1, 0]})
    prepare(ok)
    cases = [
        (pd.DataFrame({"time": [], "event": []}), "is empty"),
        (pd.DataFrame({"time": [1.0, 2.0], "status": [1, 0]}), "no column 'event'"),
        (pd.DataFrame({"time": [1.0, -2.0], "event": [1, 0]}), "row 2: time must be a positive"),
        (pd.DataFrame({"time": [1.0, 0.0], "event": [1, 0]}), "row 2: time must be a positive"),
        (pd.DataFrame({"time": [1.0, 2.0], "event": [0, 0]}), "has no events"),
        (pd.DataFrame({"time": [1.0, 2.0], "event": [1, 2]}), "row 2: event must be 1"),
    ]
    for df, msg in cases:
        with pytest.raises(InputError, match=msg):
            prepare(df)
    with pytest.raises(InputError, match="arm 'b'"):
        prepare(
            pd.DataFrame({"time": [1.0, 2.0], "event": [1, 0], "arm": ["a", "b"]}), arm_column="arm"
        )


def test_prior_predictive_follows_the_stated_priors():
    # default prior: log median ~ Normal(log median observed time, 2) (model.py docstring)
    rng = np.random.default_rng(0)
    ipd = pd.DataFrame({"time": rng.uniform(1, 100, 50), "event": 1})
    pp = prior_predictive(ipd, "weibull", seed=1, draws=4000, times=[10.0])
    lm = pp["prior"]["log_median"].values.ravel()
    ref = np.log(np.median(ipd["time"]))
    # Monte Carlo standard errors with 4000 draws: mean 2/sqrt(4000) = 0.032, sd ~ 0.022
    assert abs(lm.mean() - ref) < 4 * 0.032
    assert abs(lm.std() - 2.0) < 4 * 0.022
    # the median of the family at the drawn parameters is exp(log_median): the map is right
    med = pp["derived"]["median"].values.ravel()
    np.testing.assert_allclose(np.log(med), lm, rtol=1e-10)
    assert pp["prior_predictive"]["time"].shape == (1, 4000, 50)
    # an override replaces the default
    pp2 = prior_predictive(
        ipd,
        "weibull",
        seed=1,
        draws=2000,
        priors={"log_shape": {"dist": "Normal", "mu": 1.0, "sigma": 0.1}},
    )
    assert abs(pp2["prior"]["log_shape"].values.mean() - 1.0) < 4 * 0.1 / np.sqrt(2000)
    with pytest.raises(InputError, match="does not match a parameter"):
        prior_predictive(
            ipd, "weibull", seed=1, priors={"log_hr": {"dist": "Normal", "mu": 0, "sigma": 1}}
        )


def test_model_spec_refuses_impossible_requests():
    from bayesurv.survival.model import make_spec

    assert make_spec("weibull", n_arms=2).effect == "ph"  # PH where the family allows it
    assert make_spec("lognormal", n_arms=2).effect == "aft"  # AFT otherwise
    with pytest.raises(InputError, match="not closed under proportional hazards"):
        make_spec("lognormal", effect="ph", n_arms=2)
    with pytest.raises(InputError, match="unknown effect"):
        make_spec("weibull", effect="cure", n_arms=2)
    with pytest.raises(InputError, match="choose one of Normal"):
        make_spec("weibull", priors={"log_shape": {"dist": "Gamma", "alpha": 1, "beta": 1}})
    with pytest.raises(InputError, match="needs exactly mu, sigma"):
        make_spec("weibull", priors={"log_shape": {"dist": "Normal", "mu": 0}})


@pytest.mark.slow
def test_compiled_model_is_reused_and_sees_the_new_data():
    from bayesurv.survival import model as M

    rng = np.random.default_rng(9)
    spec = M.make_spec("exponential")
    rates = {}
    for rate, n in ((0.5, 300), (2.0, 120)):  # different sizes and rates, same structure
        t = rng.exponential(1 / rate, n)
        c = rng.uniform(0.5, 3, n)
        ipd = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)})
        res = fit(ipd, "exponential", seed=1, draws=1000, tune=300, chains=2, pointwise=False)
        # exponential MLE (closed form): events / exposure
        rates[rate] = (float(res["posterior"]["rate"].median()),
                       ipd["event"].sum() / ipd["time"].sum(), res["posterior"]["rate"].std())
        if rate == 0.5:
            first = M._CACHE[spec][0]
    assert M._CACHE[spec][0] is first  # compiled once
    for post_med, mle, sd in rates.values():
        assert abs(post_med - mle) < 0.25 * float(sd)  # each fit used its own data
