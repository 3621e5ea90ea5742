"""Outputs on demand, against closed forms and quadrature at known draws (tests/known_draws.py):
cure fractions, general-population mortality (Ederer I), an uncertain SMR, waning, cohorts with
covariates, summary-only results, and the identifiability notes."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from known_draws import mock_nuts
from scipy import integrate, stats

from bayesurv.errors import InputError
from bayesurv.evidence.reported import check_landmarks
from bayesurv.lifetable import us_life_table
from bayesurv.survival import outputs as O
from bayesurv.survival.data import Summaries
from bayesurv.survival.evidence import ReportedArm
from bayesurv.survival.fit import IdentifiabilityWarning, Outputs, Sampler, fit
from bayesurv.survival.population import Population, background_survival, cohort_from_ages

QUICK = Sampler(draws=300, tune=100, chains=2)
QUIET = pytest.mark.filterwarnings("ignore::bayesurv.survival.fit.IdentifiabilityWarning")


def simulate(n=400, seed=1, pi=(0.4, 0.6), shape=1.3, scale=2.0, hr=0.7, follow=(3.0, 6.0)):
    """Two-arm Weibull mixture cure (PH on the uncured), uniform censoring, ages 1-17."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n // 2)
    cured = rng.random(n) < np.asarray(pi)[arm]
    u = -np.log(rng.random(n)) / np.where(arm == 1, hr, 1.0)  # H_u(T) ~ Exp(1) / HR
    t = np.where(cured, np.inf, scale * u ** (1 / shape))
    c = rng.uniform(*follow, n)
    return pd.DataFrame(
        {
            "time": np.minimum(t, c),
            "event": (t <= c).astype(int),
            "arm": np.where(arm == 1, "treated", "control"),
            "age": rng.uniform(1, 17, n),
        }
    )


@pytest.fixture(scope="module")
def ipd():
    return simulate()


POINT = {
    "log_median": 0.4,
    "log_shape": 0.2,
    "log_hr": -0.3,
    "cure_logit": -0.4,
    "cure_effect": 0.6,
}


def _weibull(post):
    shape = np.exp(post["log_shape"].values)
    return shape, np.exp(post["log_median"].values - np.log(np.log(2)) / shape)


@QUIET
def test_cure_curves_follow_the_draws(ipd, monkeypatch):
    mock_nuts(monkeypatch, POINT)
    res = fit(
        ipd,
        "weibull",
        cure="mixture",
        arm="arm",
        effect_on="both",
        time_unit="years",
        seed=3,
        sampler=QUICK,
        outputs=Outputs(horizon=40.0, times=(1.0, 5.0, 20.0)),
    )
    post, der = res["posterior"], res["derived"]
    shape, scale = _weibull(post)
    for a, x in ((0, 0.0), (1, 1.0)):
        pi = 1 / (1 + np.exp(-(post["cure_logit"].values + x * post["cure_effect"].values)))
        for tt in (1.0, 5.0, 20.0):
            s = pi + (1 - pi) * np.exp(-((tt / scale) ** shape) * np.exp(x * post["log_hr"].values))
            np.testing.assert_allclose(
                der["survival"].isel(arm=a).sel(time=tt).values, s, rtol=1e-10
            )
        np.testing.assert_allclose(der["cure_fraction"].isel(arm=a).values, pi, rtol=1e-12)
    # mean survival to the horizon (40 years) and the RMST against scipy quad, a few draws
    for c, k in ((0, 0), (1, 17), (0, 123)):
        sh, sc = shape[c, k], scale[c, k]
        pi = 1 / (1 + np.exp(-post["cure_logit"].values[c, k]))
        quad = integrate.quad(
            lambda u, pi=pi, sc=sc, sh=sh: pi + (1 - pi) * np.exp(-((u / sc) ** sh)),
            0,
            40,
            limit=200,
        )[0]
        assert float(der["mean_survival"].isel(arm=0)[c, k]) == pytest.approx(quad, rel=1e-6)
        tau = der.attrs["rmst_to"]
        quad = integrate.quad(
            lambda u, pi=pi, sc=sc, sh=sh: pi + (1 - pi) * np.exp(-((u / sc) ** sh)), 0, tau
        )[0]
        assert float(der["rmst"].isel(arm=0)[c, k]) == pytest.approx(quad, rel=1e-6)
    # years: the unit is years, so the _years variants are the same numbers
    np.testing.assert_allclose(der["mean_survival_years"], der["mean_survival"])
    np.testing.assert_allclose(
        der["life_years_gained"],
        der["mean_survival"].isel(arm=1) - der["mean_survival"].isel(arm=0),
    )
    # discounting at 3.5% a year against quad of the discounted survival, one draw
    c, k = 1, 5
    pi0 = 1 / (1 + np.exp(-post["cure_logit"].values[c, k]))
    quad = integrate.quad(
        lambda u: (pi0 + (1 - pi0) * np.exp(-((u / scale[c, k]) ** shape[c, k]))) * 1.035 ** (-u),
        0,
        40,
        limit=200,
    )[0]
    assert float(der["mean_survival_discounted_years"].isel(arm=0)[c, k]) == pytest.approx(
        quad, rel=1e-6
    )


@QUIET
def test_background_mortality_multiplies_the_cohort_curve(ipd, monkeypatch):
    mock_nuts(monkeypatch, POINT)
    table = us_life_table(2014)
    pop = Population(table, age_column="age", male=0.5)
    res = fit(
        ipd,
        "weibull",
        cure="mixture",
        arm="arm",
        time_unit="years",
        seed=5,
        sampler=QUICK,
        population=pop,
    )
    der = res["derived"]
    t = der["time"].values
    # the cohort's general-population survival by Ederer I (bayesurv.survival.background),
    # both sexes half and half: independent of the model's grouping of ages to 0.25 years
    bg = 0.5 * (
        background_survival(t, cohort_from_ages(ipd["age"], "male"), table)
        + background_survival(t, cohort_from_ages(ipd["age"], "female"), table)
    )
    np.testing.assert_allclose(der["background_survival"].values, bg, rtol=2e-3, atol=1e-5)
    # without cure covariates the cohort curve is S_exc(t) * S_pop(t)
    post = res["posterior"]
    pi = der["cure_fraction"].isel(arm=0).values
    shape, scale = _weibull(post)
    k = int(np.searchsorted(t, 30.0))
    s_exc = pi + (1 - pi) * np.exp(-((t[k] / scale) ** shape))
    np.testing.assert_allclose(
        der["survival"].isel(arm=0, time=k).values,
        s_exc * der["background_survival"].values[k],
        rtol=1e-9,
    )
    # no hazard below the general population's, anywhere on the lifetime grid
    assert np.all(der["hazard"].values[..., 1:] >= der["background_hazard"].values[1:] * (1 - 1e-9))
    assert der.attrs["horizon"] > 80  # lifetime: children live to old age in the table


@QUIET
@pytest.mark.slow
def test_uncertain_smr_scales_the_population_hazard_per_draw(ipd, monkeypatch):
    mock_nuts(monkeypatch, {"log_median": 1.0, "log_hr": -0.2, "smr": 1.5}, sd=0.05)
    table = us_life_table(2014)
    adults = ipd.assign(age=ipd["age"] + 50)
    res = fit(
        adults,
        "exponential",
        arm="arm",
        seed=6,
        time_unit="years",
        sampler=QUICK,
        population=Population(table, age_column="age", male="female"),
        smr_prior="lognormal(0.405, 0.1)",
        outputs=Outputs(horizon=30.0),
    )
    smr = res["posterior"]["smr"].values
    der = res["derived"]
    c, k = 1, 37
    rate = float(np.exp(np.log(np.log(2)) - res["posterior"]["log_median"].values[c, k]))
    t = der["time"].values
    ages = np.round(adults["age"].to_numpy() / 0.25) * 0.25  # the model's age nodes
    pop = background_survival(t, cohort_from_ages(ages, "female"), table, smr=float(smr[c, k]))
    np.testing.assert_allclose(
        der["survival"].isel(arm=0, chain=c, draw=k).values, np.exp(-rate * t) * pop, rtol=1e-9
    )


@pytest.mark.slow
def test_waning_returns_the_treated_hazard_to_control(ipd, monkeypatch):
    mock_nuts(monkeypatch, POINT)
    res = fit(
        ipd,
        "weibull",
        arm="arm",
        seed=7,
        time_unit="years",
        sampler=QUICK,
        waning={"scheme": "linear_loghr", "t1": 7.0, "t2": 12.0},
        outputs=Outputs(horizon=30.0, times=(7.0, 9.5, 20.0)),
    )
    der = res["derived"]
    hr = der["hazard"].isel(arm=1) / der["hazard"].isel(arm=0)
    np.testing.assert_allclose(hr.sel(time=7.0), der["hr"], rtol=1e-9)  # full effect at t1
    late = der["time"].values >= 12.0
    np.testing.assert_allclose(hr.isel(time=late).values, 1.0, rtol=1e-9)  # gone after t2
    w = (12.0 - 9.5) / 5.0
    np.testing.assert_allclose(np.log(hr.sel(time=9.5)), w * np.log(der["hr"]), rtol=1e-9)
    # S_T(20) = exp(-integral of the waned hazard): quadrature of the closed-form hazard
    post = res["posterior"]
    shape, scale = (float(v[0, 0]) for v in _weibull(post))
    b = float(post["log_hr"][0, 0])

    def ht(u):
        return (
            shape
            / scale
            * (u / scale) ** (shape - 1)
            * np.exp(b * (1.0 if u < 7.0 else np.clip((12 - u) / 5, 0, 1)))
        )

    H = integrate.quad(ht, 0, 20.0, points=[7.0, 12.0])[0]
    s20 = float(der["survival"].isel(arm=1, chain=0, draw=0).sel(time=20.0))
    assert s20 == pytest.approx(np.exp(-H), rel=1e-6)


@QUIET
@pytest.mark.slow
def test_the_cohort_cure_fraction_averages_the_patients(ipd, monkeypatch):
    mock_nuts(monkeypatch, {**POINT, "cure_coef": [0.8, -0.05]})
    df = ipd.assign(
        group=np.where(np.arange(len(ipd)) % 3 == 0, "high", "low"), age=ipd["age"].round()
    )
    res = fit(
        df,
        "weibull",
        cure="mixture",
        arm="arm",
        cure_covariates=["group=low", "age"],
        seed=2,
        sampler=QUICK,
        outputs=Outputs(horizon=20.0),
    )
    post = res["posterior"]
    assert list(post["cure_coef"]["cure_term"].values) == ["group[high]", "age"]
    z = np.column_stack([df["group"] == "high", df["age"]]).astype(float)
    zc = z - z.mean(axis=0)
    lin = post["cure_logit"].values.reshape(-1, 1) + post["cure_coef"].values.reshape(-1, 2) @ zc.T
    pi_i = 1 / (1 + np.exp(-lin))
    np.testing.assert_allclose(
        res["derived"]["cure_fraction"].isel(arm=0).values.ravel(), pi_i.mean(axis=1), rtol=1e-10
    )


def test_without_a_time_unit_nothing_is_called_years(ipd, monkeypatch):
    mock_nuts(monkeypatch, POINT)
    one = ipd[ipd.arm == "control"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        res = fit(one, "weibull", cure="mixture", seed=1, sampler=QUICK)
    assert not [v for v in res["derived"].data_vars if v.endswith("_years")]
    assert res["derived"].attrs["time_unit"] == "time units"
    with pytest.raises(InputError, match="time unit"):
        O.life_years_gained(res)


def test_short_follow_up_is_said_in_words(monkeypatch):
    short = simulate(n=200, seed=4, scale=6.0, follow=(0.5, 1.5))
    mock_nuts(monkeypatch, {"log_median": np.log(6.0), "log_shape": 0.2, "cure_logit": 0.0})
    with pytest.warns(IdentifiabilityWarning, match="Follow-up is too short"):
        res = fit(short, "weibull", cure="mixture", seed=2, sampler=QUICK)
    assert any("Follow-up is too short" in s for s in json.loads(res.attrs["notes"]))


def test_summary_only_results_have_the_same_schema(monkeypatch):
    mock_nuts(monkeypatch, {"log_median": np.log(30.0), "log_shape": 0.1, "log_hr": -0.5})
    lm = check_landmarks(
        pd.DataFrame(
            {"time": [12.0, 60.0], "survival": [0.7, 0.4], "lower": [0.6, 0.3], "upper": [0.8, 0.5]}
        )
    )
    ev = pd.DataFrame(
        {"n": [100], "events": [55], "median_followup": [40.0], "max_followup": [70.0]}
    )
    s = Summaries({a: ReportedArm(lm, ev) for a in ("control", "experimental")})
    res = fit(
        None,
        "weibull",
        arms=("control", "experimental"),
        time_unit="months",
        seed=1,
        sampler=QUICK,
        summaries=s,
        outputs=Outputs(horizon=240.0, times=(60.0,)),
    )
    names = list(res["log_likelihood"]["reported_number"].values)
    assert names == [
        "landmark control t=12",
        "landmark control t=60",
        "landmark experimental t=12",
        "landmark experimental t=60",
        "events control n=100",
        "events experimental n=100",
    ]
    obs = res["observed_data"]["reported"].values
    np.testing.assert_allclose(obs, [0.7, 0.4, 0.7, 0.4, 55, 55], rtol=1e-12)
    rep = res["posterior_predictive"]["reported"]
    assert rep.dims == ("chain", "draw", "reported_number")
    # the predictive landmark is the model's S(t) plus its reported noise: its median is S(t)
    s60 = res["derived"]["survival"].sel(arm="experimental", time=60.0)
    assert float(rep.isel(reported_number=3).median()) == pytest.approx(
        float(s60.median()), abs=0.02
    )
    # summaries at a cut-off: the events term's p is the mean of 1 - S over the uniform follow-up
    assert "time" not in res["observed_data"] and res["derived"].attrs["horizon"] == 240.0


def _summaries():
    lm = check_landmarks(
        pd.DataFrame({"time": [60.0], "survival": [0.45], "lower": [0.38], "upper": [0.52]})
    )
    ev = pd.DataFrame(
        {"n": [200], "events": [90], "median_followup": [40.0], "max_followup": [70.0]}
    )
    return Summaries({a: ReportedArm(lm, ev) for a in ("control", "experimental")})


@QUIET
def test_non_mixture_summary_model_is_the_promotion_time_formula(monkeypatch):
    """S_a(t) = pi_a ^ (1 - S_u,a(t)), the PH effect on the uncured, from reported numbers."""
    point = {**POINT, "log_median": np.log(20.0)}
    mock_nuts(monkeypatch, point)
    res = fit(
        None,
        "weibull",
        cure="non-mixture",
        effect_on="both",
        arms=("control", "experimental"),
        seed=1,
        sampler=QUICK,
        summaries=_summaries(),
    )
    t = np.array([6.0, 24.0, 60.0, 240.0])
    S = O.survival(res, t)
    post = res["posterior"]
    shape, scale = _weibull(post)
    for a in (0, 1):
        hr = np.exp(a * post["log_hr"].values)[..., None]
        lp = post["cure_logit"].values + a * post["cure_effect"].values
        pi = (1 / (1 + np.exp(-lp)))[..., None]
        s_u = np.exp(-((t / scale[..., None]) ** shape[..., None]) * hr)
        np.testing.assert_allclose(S.isel(arm=a).values, pi ** (1 - s_u), rtol=1e-10)


def test_cox_log_hr_is_the_parameter_under_ph_and_an_average_otherwise(monkeypatch):
    mock_nuts(monkeypatch, {"log_median": np.log(20.0), "log_shape": 0.3, "log_hr": -0.4})
    kw = dict(arms=("control", "experimental"), seed=1, sampler=QUICK, summaries=_summaries())
    res = fit(None, "weibull", **kw)
    np.testing.assert_allclose(
        O.cox_log_hr(res, 30.0).values, res["posterior"]["log_hr"].values, rtol=1e-10
    )
    # a lognormal AFT model has no constant HR: the event-weighted average by quadrature
    mock_nuts(monkeypatch, {"log_median": np.log(20.0), "log_sdlog": 0.0, "log_tr": 0.4})
    res = fit(None, "lognormal", **kw)
    got = float(O.cox_log_hr(res, 30.0).isel(chain=0, draw=0))
    p = {k: float(res["posterior"][k].isel(chain=0, draw=0)) for k in ("log_median", "log_sdlog")}
    tr = float(np.exp(res["posterior"]["log_tr"].isel(chain=0, draw=0)))
    sd = np.exp(p["log_sdlog"])

    def S(t, a):
        return stats.norm.sf((np.log(t / tr**a) - p["log_median"]) / sd)

    def h(t, a):
        z = (np.log(t / tr**a) - p["log_median"]) / sd
        return stats.norm.pdf(z) / (sd * t * stats.norm.sf(z))

    def G(t):  # potential follow-up uniform on [0, 60]
        return np.clip(1 - t / 60.0, 0.0, 1.0)

    def w(t):
        return G(t) * 0.5 * (h(t, 0) * S(t, 0) + h(t, 1) * S(t, 1))

    num = integrate.quad(lambda t: w(t) * np.log(h(t, 1) / h(t, 0)), 1e-9, 60.0, limit=200)[0]
    want = num / integrate.quad(w, 1e-9, 60.0, limit=200)[0]
    assert got == pytest.approx(want, abs=1e-3)
    assert -0.6 < got < -0.2
