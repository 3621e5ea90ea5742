"""The population: a cohort's background mortality (closed forms, quadrature and R's survexp)
and the one SMR rule."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from bayesurv.errors import InputError
from bayesurv.lifetable import LifeTable, us_life_table
from bayesurv.survival.population import (
    Population,
    background_hazard,
    background_survival,
    check_smr,
    cohort_from_ages,
    patient_background,
)

needs_r = pytest.mark.skipif(
    shutil.which("Rscript") is None,
    reason="needs R: Rscript with the survival package (apt-get install r-base-core "
    "r-cran-survival); the stored R values in test_matches_stored_r_survexp still run",
)

# the cohort checked against R (ages at entry in years)
AGES = [45.3, 62.7, 78.1, 55.0, 90.2, 101.5]
SEXES = ["male", "female", "male", "female", "female", "male"]
TIMES = [0.5, 5.0, 20.0, 40.0]
FUTIME = [0.7, 3.2, 10.4, 25.0, 4.4, 12.0]
# R 4.2.2, survival 3.5.3 (see R_SCRIPT below; the cohort enters on 2015-01-01 so that R uses
# the 2014 column throughout: R reads the column of the calendar year of the last birthday):
#   survexp(~1, data = df, ratetable = survexp.us, rmap = list(age = age, sex = sex,
#           year = year), times = tt * 365.25)$surv
R_MARGINAL = [0.9477080842011610, 0.6843965198293995, 0.3876164493740615, 0.0850215999836628]
#   survexp(futime ~ 1, ..., method = "individual.h")
R_INDIVIDUAL_H = [
    0.00216845524745643,
    0.02852010131948058,
    0.88012475604513829,
    0.37463725707842022,
    0.75469551419680914,
    9.27606114350261990,
]

R_SCRIPT = """
library(survival)
age <- c({ages}); sex <- c({sexes}); tt <- c({times})
df <- data.frame(age = age * 365.25, sex = sex, year = as.Date("2015-01-01"))
fit <- survexp(~1, data = df, ratetable = survexp.us,
               rmap = list(age = age, sex = sex, year = year), times = tt * 365.25)
cat(sprintf("%.17g", fit$surv), "\\n")
df$futime <- c({futime}) * 365.25
H <- survexp(futime ~ 1, data = df, ratetable = survexp.us,
             rmap = list(age = age, sex = sex, year = year), method = "individual.h")
cat(sprintf("%.17g", H), "\\n")
"""


def _const_table(rate, ages=(0, 130)):
    a = np.arange(ages[0], ages[1] + 1)
    return LifeTable.from_frame(
        pd.DataFrame(
            {
                "age": np.tile(a, 2),
                "sex": ["male"] * a.size + ["female"] * a.size,
                "hazard": np.concatenate([np.full(a.size, rate[0]), np.full(a.size, rate[1])]),
            }
        )
    )


def test_constant_hazards_closed_form_marginal_survival_and_hazard():
    lm, lf = 0.02, 0.05
    lt = _const_table((lm, lf))
    c = cohort_from_ages([50.0, 60.0, 70.0], ["male", "female", "female"])
    t = np.array([0.0, 6.0, 60.0, 600.0])  # months
    s = background_survival(t, c, lt, time_scale=12, smr=1.5)
    ty = t / 12
    exact = (np.exp(-1.5 * lm * ty) + 2 * np.exp(-1.5 * lf * ty)) / 3
    np.testing.assert_allclose(s, exact, rtol=1e-13)
    h = background_hazard(t, c, lt, time_scale=12, smr=1.5)
    exact_h = (
        1.5 / 12 * (lm * np.exp(-1.5 * lm * ty) + 2 * lf * np.exp(-1.5 * lf * ty)) / (3 * exact)
    )
    np.testing.assert_allclose(h, exact_h, rtol=1e-13)


def test_two_level_table_closed_form():
    # hazard 0.01 before 60, 0.05 from 60 on; entry at 55.5 -> switch after 4.5 years
    a = np.arange(0, 111)
    lt = LifeTable.from_frame(
        pd.DataFrame({"age": a, "sex": "f", "hazard": np.where(a < 60, 0.01, 0.05)})
    )
    t = np.array([1.0, 4.5, 10.0, 80.0])
    h, H = patient_background(t, np.full(4, 55.5), "female", lt)
    np.testing.assert_allclose(
        H, 0.01 * np.minimum(t, 4.5) + 0.05 * np.maximum(t - 4.5, 0), rtol=1e-13
    )
    np.testing.assert_array_equal(h, [0.01, 0.05, 0.05, 0.05])


def test_marginal_hazard_is_minus_dlogS_and_matches_quadrature():
    lt = us_life_table(2014)
    c = cohort_from_ages(AGES, SEXES)
    t = np.array([3.1, 17.6, 33.45])  # away from birthdays (hazard jumps)
    eps = 1e-5
    dlog = -(
        np.log(background_survival(t + eps, c, lt)) - np.log(background_survival(t - eps, c, lt))
    ) / (2 * eps)
    np.testing.assert_allclose(background_hazard(t, c, lt), dlog, rtol=1e-6)
    # each member's cumulative hazard equals scipy's quadrature of the piecewise hazard
    for a0, s, ti in zip(AGES, SEXES, FUTIME, strict=True):
        pts = np.arange(np.ceil(a0), a0 + ti)
        q, _ = integrate.quad(
            lambda a, s=s: float(lt.hazard(a, s)),
            a0,
            a0 + ti,
            points=pts,
            limit=200,
            epsabs=0,
            epsrel=1e-12,
        )
        assert patient_background(ti, a0, s, lt, smr=2.0)[1] == pytest.approx(2.0 * q, rel=1e-10)


def test_matches_stored_r_survexp():
    lt = us_life_table(2014)
    s = background_survival(TIMES, cohort_from_ages(AGES, SEXES), lt)
    np.testing.assert_allclose(s, R_MARGINAL, rtol=1e-12)
    _, H = patient_background(np.array(FUTIME) * 12, AGES, SEXES, lt, time_scale=12)
    np.testing.assert_allclose(H, R_INDIVIDUAL_H, rtol=1e-12)


@needs_r
def test_matches_live_r_survexp():
    code = R_SCRIPT.format(
        ages=", ".join(map(str, AGES)),
        sexes=", ".join(f'"{s}"' for s in SEXES),
        times=", ".join(map(str, TIMES)),
        futime=", ".join(map(str, FUTIME)),
    )
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True)
    marg, ind = ([float(v) for v in line.split()] for line in out.stdout.strip().splitlines())
    lt = us_life_table(2014)
    np.testing.assert_allclose(
        background_survival(TIMES, cohort_from_ages(AGES, SEXES), lt), marg, rtol=1e-12
    )
    np.testing.assert_allclose(patient_background(FUTIME, AGES, SEXES, lt)[1], ind, rtol=1e-12)


def test_bad_smr_and_times():
    lt = us_life_table(2014)
    c = cohort_from_ages([50.0], "male")
    for bad in (0.0, -1.0, float("nan"), float("inf"), "x"):
        with pytest.raises(InputError, match="is not a positive number"):
            background_survival([1.0], c, lt, smr=bad)
        with pytest.raises(InputError, match="is not a positive number"):
            Population(lt, smr=bad, age=50.0, male=0.5)
    with pytest.raises(InputError, match=">= 0"):
        patient_background([-1.0], [50.0], "male", lt)
    with pytest.raises(InputError, match="at least one age"):
        cohort_from_ages([], "male")


def test_docstring_examples():
    import doctest
    import importlib

    res = doctest.testmod(
        importlib.import_module("bayesurv.survival.population"),
        optionflags=doctest.NORMALIZE_WHITESPACE,
    )
    assert res.attempted > 0 and res.failed == 0


def test_one_smr_rule_allows_an_smr_below_1():
    """An SMR below 1 (a trial population selected for fitness) is any other multiplier: the
    closed form exp(-smr h t) of a constant-hazard table, in Population and the curves alike."""
    lt = _const_table((0.02, 0.05))
    assert check_smr(0.7) == 0.7 and Population(lt, smr=0.7, age=50.0, male=1.0).smr == 0.7
    t = np.array([0.0, 12.0, 120.0])  # months
    s = background_survival(t, cohort_from_ages([50.0], "female"), lt, time_scale=12, smr=0.7)
    np.testing.assert_allclose(s, np.exp(-0.7 * 0.05 * t / 12), rtol=1e-13)
    h, H = patient_background(t[1:], [50.0, 50.0], "male", lt, time_scale=12, smr=0.7)
    np.testing.assert_allclose(H, 0.7 * 0.02 * t[1:] / 12, rtol=1e-13)
    np.testing.assert_allclose(h, 0.7 * 0.02 / 12, rtol=1e-13)


def test_a_fit_with_an_smr_below_1_says_so_in_its_notes(monkeypatch):
    import json

    from known_draws import mock_nuts

    from bayesurv.survival.fit import Sampler, fit

    mock_nuts(monkeypatch)
    rng = np.random.default_rng(4)
    t, c = rng.exponential(20.0, 120), rng.uniform(5, 30, 120)
    ipd = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)})
    import warnings

    from bayesurv.runner import run_warnings
    from bayesurv.survival.fit import PopulationWarning

    notes, said = {}, {}
    for smr in (0.8, 1.0):
        pop = Population(us_life_table(2014), smr=smr, age=60.0, male=0.5)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = fit(
                ipd, "exponential", seed=1, population=pop, time_unit="months",
                sampler=Sampler(200, 50, 4),
            )  # fmt: skip
        notes[smr] = json.loads(res.attrs["notes"])
        said[smr] = [w for w in caught if issubclass(w.category, PopulationWarning)]
        # what `bayesurv run` lists in summary.json and report.html
        spec = type("Spec", (), {"sampling": type("S", (), {"chains": 4})()})()
        said[smr] = (said[smr], run_warnings(caught, spec))
    assert any("the SMR is 0.8, below 1" in n for n in notes[0.8])
    assert not any("below 1" in n for n in notes[1.0])
    assert len(said[0.8][0]) == 1 and not said[1.0][0]  # a warning too, so the runner lists it
    assert any("the SMR is 0.8, below 1" in n for n in said[0.8][1])
    assert not any("below 1" in n for n in said[1.0][1])


def test_the_lifetime_horizon_follows_the_fits_smr(monkeypatch):
    """At SMR 0.5 the cohort outlives the SMR-1 horizon: the mean survival is the integral of
    S(t) = S_pop(t)^0.5 (0.5 + 0.5 S_u(t)) to infinity (monthly trapezoid to 200 years), not to
    the 45 years at which S_pop falls below 0.001 (that cut it by 0.04 y here)."""
    import warnings

    from known_draws import mock_nuts

    from bayesurv.survival import outputs as O
    from bayesurv.survival.fit import Sampler, fit
    from bayesurv.survival.structure import ModelSpec

    mock_nuts(monkeypatch, {"log_median": np.log(3.0), "log_shape": 0.0, "cure_logit": 0.0}, 1e-6)
    rng = np.random.default_rng(1)
    t, c = rng.exponential(5.0, 200), rng.uniform(2, 6, 200)
    ipd = pd.DataFrame({"time": np.minimum(t, c).round(3), "event": (t <= c).astype(int)})
    lt = us_life_table(2014)
    pop = Population(lt, smr=0.5, age=60.0, male=True)
    spec = ModelSpec("weibull", cure="mixture", time_unit="years")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit(ipd, spec, population=pop, sampler=Sampler(200, 50, 2), seed=1)
    mean = float(O.mean_survival(res).median())
    tt = np.arange(0, 200 * 12 + 1) / 12
    S = np.exp(-0.5 * lt.background_cumhaz(tt, 60.0, "male"))
    S = S * (0.5 + 0.5 * np.exp(-tt * np.log(2) / 3))
    assert mean == pytest.approx(np.trapezoid(S, tt), abs=2e-3)
    assert np.trapezoid(S, tt) - np.trapezoid(S[tt <= 45], tt[tt <= 45]) > 0.03
