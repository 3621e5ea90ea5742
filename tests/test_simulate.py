"""Simulated cure-model trials: exact background death times, KM against the true S(t)."""

import doctest

import numpy as np
import pandas as pd
import pytest

import bayesurv.simulation.simulate as simulate
from bayesurv.errors import InputError
from bayesurv.lifetable import LifeTable, us_life_table
from bayesurv.nonparametric import kaplan_meier
from bayesurv.simulation.simulate import simulate_cure
from bayesurv.survival.population import (
    background_death_times,
    background_survival,
    cohort_from_ages,
)

LT = us_life_table(2014)
WEIBULL = {"shape": 1.3, "scale": 2.0}

# the cohort and values of tests/test_background.py: R 4.2.2, survival 3.5.3,
#   survexp(~1, data = df, ratetable = survexp.us, rmap = list(age = age, sex = sex,
#           year = year), times = tt * 365.25)$surv   (entry on 2015-01-01: the 2014 rates)
R_AGES = [45.3, 62.7, 78.1, 55.0, 90.2, 101.5]
R_SEXES = ["male", "female", "male", "female", "female", "male"]
R_TIMES = [0.5, 5.0, 20.0, 40.0]
R_MARGINAL = [0.9477080842011610, 0.6843965198293995, 0.3876164493740615, 0.0850215999836628]


def _km_at(time, event, at):
    """KM survival and Greenwood standard error at the times ``at``."""
    km = kaplan_meier(time, event)
    n, d = km["at_risk"].to_numpy(float), km["events"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n > d, d / (n * (n - d)), 0.0)
    var_sum = np.cumsum(term)
    k = np.searchsorted(km["time"].to_numpy(), at, side="right") - 1
    s = km["survival"].to_numpy()[k]
    return s, s * np.sqrt(var_sum[k])


def test_docstring_examples():
    res = doctest.testmod(simulate, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


@pytest.mark.parametrize("time_scale, smr", [(1.0, 1.0), (12.0, 1.0), (365.25, 2.5)])
def test_background_death_times_invert_the_cumulative_hazard(time_scale, smr):
    rng = np.random.default_rng(3)
    n = 500
    age = rng.uniform(0, 108, n)
    sex = rng.choice(["male", "female"], n)
    e = rng.exponential(size=n) * 3  # large draws reach past the table's oldest age
    t = background_death_times(age, sex, LT, e, time_scale=time_scale, smr=smr)
    assert np.all(t > 0)
    assert (age + t / time_scale).max() > LT.ages[-1] + 1  # the open last age is exercised
    H = smr * LT.background_cumhaz(t, age, sex, time_scale=time_scale)
    np.testing.assert_allclose(H, e, rtol=1e-10, atol=1e-12)


def test_background_death_times_zero_hazard_years():
    # a table with a hazard-free year: no death can fall inside it
    lt = LifeTable.from_frame(
        pd.DataFrame({"age": [0, 1, 2], "sex": "male", "hazard": [0.5, 0.0, 1.0]})
    )
    e = np.linspace(0.01, 3.0, 300)
    t = background_death_times(np.zeros(300), "male", lt, e)
    assert not np.any((t > 1.0) & (t < 2.0))
    np.testing.assert_allclose(lt.background_cumhaz(t, 0.0, "male"), e, rtol=1e-12)


@pytest.mark.parametrize("cure", ["mixture", "non-mixture"])
def test_km_matches_true_survival(cure):
    # two arms with different cure fractions and a hazard ratio, an adult cohort, uniform accrual
    rng = np.random.default_rng(11)
    n = 20_000
    ages = rng.uniform(40, 80, n)
    sexes = rng.choice(["male", "female"], n)
    data, truth, latent = simulate_cure(
        n,
        cure_fraction={"control": 0.3, "experimental": 0.45},
        hazard_ratio=0.7,
        family="weibull",
        params=WEIBULL,
        life_table=LT,
        ages=ages,
        sexes=sexes,
        cure=cure,
        follow_up=12.0,
        accrual=3.0,
        seed=5,
    )
    assert set(data["arm"]) == {"control", "experimental"}
    assert latent["censor"].between(9.0, 12.0).all()
    at = np.array([0.5, 1.0, 2.0, 4.0, 7.0, 9.0])
    for arm in ("control", "experimental"):
        d = data[data["arm"] == arm]
        s, se = _km_at(d["time"], d["event"], at)
        true = truth.survival(at, arm)
        assert np.all(np.abs(s - true) < 3 * se), (arm, s, true, se)
    # the background part alone: the deaths before the excess time
    s_bg, se_bg = _km_at(latent["t_background"].clip(upper=50.0), np.ones(n), [5.0, 20.0])
    np.testing.assert_array_less(np.abs(s_bg - truth.background_survival([5.0, 20.0])), 3 * se_bg)


def test_excess_only_without_a_life_table():
    data, truth, _ = simulate_cure(
        20_000,
        cure_fraction=0.25,
        family="lognormal",
        params={"meanlog": 0.0, "sdlog": 1.0},
        follow_up=10.0,
        seed=2,
    )
    at = np.array([0.5, 1.0, 3.0, 8.0])
    s, se = _km_at(data["time"], data["event"], at)
    assert np.all(np.abs(s - truth.survival(at)) < 3 * se)
    assert truth.survival(1e4) == pytest.approx(0.25, abs=1e-6)  # the plateau


def test_background_only_matches_r_expected_survival():
    # cure_fraction = 1: nobody dies of the disease; the KM estimates R's Ederer I curve
    reps = 5000
    data, truth, _ = simulate_cure(
        6 * reps,
        cure_fraction=1.0,
        family="weibull",
        params=WEIBULL,
        life_table=LT,
        ages=np.tile(R_AGES, reps),
        sexes=np.tile(R_SEXES, reps),
        follow_up=41.0,
        seed=8,
    )
    s, se = _km_at(data["time"], data["event"], R_TIMES)
    assert np.all(np.abs(s - R_MARGINAL) < 3 * se), (s, R_MARGINAL, se)
    # the truth object is the Ederer I curve itself (to rounding)
    np.testing.assert_allclose(truth.survival(R_TIMES), R_MARGINAL, rtol=1e-12)
    ref = background_survival(R_TIMES, cohort_from_ages(R_AGES, R_SEXES), LT)
    np.testing.assert_allclose(truth.background_survival(R_TIMES), ref, rtol=1e-12)


def test_months_and_years_give_the_same_trial():
    kw = {
        "cure_fraction": 0.4,
        "family": "exponential",
        "life_table": LT,
        "ages": 65.0,
        "sexes": "female",
        "seed": 4,
    }
    y = simulate_cure(300, params={"rate": 0.5}, follow_up=5.0, **kw)
    m = simulate_cure(300, params={"rate": 0.5 / 12}, follow_up=60.0, time_unit="months", **kw)
    np.testing.assert_allclose(m.data["time"], 12 * y.data["time"], rtol=1e-10)
    assert (m.data["event"] == y.data["event"]).all()
    assert m.truth.survival(120.0) == pytest.approx(y.truth.survival(10.0), rel=1e-12)


@pytest.mark.parametrize("cure", ["mixture", "non-mixture"])
def test_true_hazard_is_minus_dlogS(cure):
    rng = np.random.default_rng(0)
    _, truth, _ = simulate_cure(
        200,
        cure_fraction=0.35,
        family="weibull",
        params=WEIBULL,
        life_table=LT,
        ages=rng.uniform(30, 70, 200),
        sexes="male",
        cure=cure,
        follow_up=5.0,
        seed=1,
    )
    t = np.array([0.7, 3.3, 12.4, 25.6])  # away from whole ages of nobody
    eps = 1e-5
    num = -(np.log(truth.survival(t + eps)) - np.log(truth.survival(t - eps))) / (2 * eps)
    # the piecewise-constant table makes S_bg kinked at each patient's birthdays: 1e-3 relative
    np.testing.assert_allclose(truth.hazard(t), num, rtol=1e-3)
    exc = truth.excess_survival(np.array([0.0, 1e4]))
    np.testing.assert_allclose(exc, [1.0, 0.35], atol=1e-9)


def test_seeds_reproduce():
    kw = {
        "cure_fraction": 0.3,
        "family": "weibull",
        "params": WEIBULL,
        "life_table": LT,
        "ages": 55.0,
        "sexes": ["male", "female"] * 50,
        "follow_up": 5.0,
        "accrual": 2.0,
        "hazard_ratio": 0.8,
    }
    a = simulate_cure(100, seed=123, **kw)
    b = simulate_cure(100, seed=123, **kw)
    c = simulate_cure(100, seed=124, **kw)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.latent, b.latent)
    assert not np.allclose(a.data["time"], c.data["time"])
    g = simulate_cure(100, seed=np.random.default_rng(123), **kw)
    pd.testing.assert_frame_equal(a.data, g.data)


GOOD = {
    "cure_fraction": 0.3,
    "family": "weibull",
    "params": WEIBULL,
    "life_table": LT,
    "ages": 60.0,
    "sexes": "male",
    "follow_up": 5.0,
    "seed": 1,
}


@pytest.mark.parametrize(
    "change",
    [
        {"n": 0},
        {"n": 2.5},
        {"cure_fraction": 1.2},
        {"cure_fraction": -0.1},
        {"cure_fraction": 0.0, "cure": "non-mixture"},
        {"cure_fraction": {"control": 0.3}},
        {"cure": "promotion"},
        {"family": "weibul"},
        {"params": {"shape": 1.0}},
        {"params": {"shape": 1.0, "scale": "x"}},
        {"ages": [60.0, 70.0]},
        {"ages": -3.0},
        {"ages": None},
        {"sexes": "other"},
        {"time_unit": "fortnights"},
        {"follow_up": 0.0},
        {"follow_up": float("nan")},
        {"accrual": 6.0},
        {"accrual": -1.0},
        {"hazard_ratio": 0.0},
        {"hazard_ratio": 0.8, "family": "lognormal", "params": {"meanlog": 0.0, "sdlog": 1.0}},
        {"hazard_ratio": 0.8, "arms": ("a", "a")},
        {"hazard_ratio": 0.8, "allocation": 1.0},
        {"n": 1, "hazard_ratio": 0.8},
        {"smr": 0.0},
    ],
)
def test_bad_arguments_raise_input_error(change):
    kw = dict(GOOD)
    n = change.get("n", 10)
    kw.update({k: v for k, v in change.items() if k != "n"})
    with pytest.raises(InputError):
        simulate_cure(n, **kw)


def test_truth_rejects_unknown_arm():
    _, truth, _ = simulate_cure(10, hazard_ratio=0.8, **GOOD)
    with pytest.raises(InputError):
        truth.survival(1.0, "placebo")


@pytest.mark.slow
def test_standardized_arms_use_the_whole_cohort():
    # arms of different ages: standardizing puts both on the ages of all patients
    n = 400
    ages = np.r_[np.full(n // 2, 50.0), np.full(n // 2, 75.0)]
    _, truth, _ = simulate_cure(
        n,
        cure_fraction=0.4,
        hazard_ratio=0.6,
        family="weibull",
        params=WEIBULL,
        life_table=LT,
        ages=ages,
        sexes="female",
        follow_up=5.0,
        seed=9,
    )
    t = np.array([1.0, 10.0, 25.0])
    everyone = background_survival(t, cohort_from_ages(ages, "female"), LT)
    np.testing.assert_allclose(truth.background_survival(t, "control", standardize=True), everyone)
    for arm in ("control", "experimental"):
        std = truth.survival(t, arm, standardize=True)
        np.testing.assert_allclose(std, everyone * truth.excess_survival(t, arm), rtol=1e-12)
        own = truth.background_survival(t, arm) * truth.excess_survival(t, arm)
        np.testing.assert_allclose(truth.survival(t, arm), own, rtol=1e-12)
    assert truth.mean_survival(600.0, "control", standardize=True) > 0
