"""Lifetime outputs against closed forms: mean survival, discounting, landmarks, cycles."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.nonparametric import kaplan_meier, step_value
from bayesurv.survival import lifetime as L


def _exp_draws(rates, t):
    """S(t) = exp(-rate t) for each (chain, draw, arm) rate."""
    rates = np.asarray(rates, float)
    s = np.exp(-rates[..., None] * t)
    return xr.DataArray(s, dims=("chain", "draw", "arm", "time"),
                        coords={"arm": ["control", "treated"], "time": t})


def test_mean_survival_matches_closed_form():
    # integral_0^T exp(-l t) dt = (1 - exp(-l T)) / l, months -> years
    t = np.linspace(0, 600, 12001)
    rates = np.array([[[1 / 60, 1 / 120]]])
    m = L.mean_survival(_exp_draws(rates, t), time_scale=12)
    exact = (1 - np.exp(-rates * 600)) / rates / 12
    np.testing.assert_allclose(m.values, exact, rtol=1e-6)


def test_discounting_matches_closed_form():
    # integral_0^T exp(-l t) (1+r)^(-t/12) dt = (1 - exp(-(l + log(1+r)/12) T)) / (l + log(1+r)/12)
    t = np.linspace(0, 1200, 24001)
    r = 0.035
    rates = np.array([[[1 / 60, 1 / 240]]])
    m = L.mean_survival(_exp_draws(rates, t), time_scale=12, discount=r)
    k = rates + np.log1p(r) / 12
    np.testing.assert_allclose(m.values, (1 - np.exp(-k * 1200)) / k / 12, rtol=1e-6)
    lyg = L.life_years_gained(_exp_draws(rates, t), time_scale=12, discount=r)
    assert float(lyg.values.item()) == pytest.approx(float(m.values[0, 0, 1] - m.values[0, 0, 0]))


def test_landmark_table_reads_the_grid_and_the_km():
    t = np.array([0.0, 12, 24, 60, 120, 240])
    rng = np.random.default_rng(1)
    rates = rng.uniform(0.005, 0.02, size=(2, 50, 2))
    s = _exp_draws(rates, t)
    km = pd.DataFrame({"arm": ["control", "treated"], "time": [12.0, 12.0], "survival": [0.9, 0.95]})
    mean = L.mean_survival(s, time_scale=12)
    tab = L.landmark_table(s, time_scale=12, mean=mean, km=km)
    row = tab[(tab.arm == "treated") & (tab.years == 5)].iloc[0]
    assert row["median"] == pytest.approx(float(np.median(np.exp(-rates[..., 1] * 60))))
    assert tab[(tab.arm == "control") & (tab.years == 1)]["km"].iloc[0] == 0.9
    assert set(tab["landmark"]) == {"1 years", "2 years", "5 years", "10 years", "20 years",
                                    "lifetime (mean, years)"}


def test_km_at_matches_kaplan_meier():
    rng = np.random.default_rng(3)
    time = rng.exponential(10, 80)
    event = rng.integers(0, 2, 80)
    arm = np.repeat(["a", "b"], 40)
    out = L.km_at(time, event, arm, [5.0, 10.0, 1000.0])
    km = kaplan_meier(time[:40], event[:40])
    assert out.iloc[0]["survival"] == pytest.approx(float(step_value(km.time, km.survival, 5.0)))
    assert np.isnan(out.iloc[2]["survival"])  # beyond the last observed time


def test_cycle_table_keeps_draws_paired_across_arms():
    t = L.cycle_times("yearly", 12, 120)
    assert t.tolist() == [12.0 * k for k in range(11)]
    assert L.cycle_times("weekly", 365.25, 14).tolist() == [0.0, 7.0, 14.0]
    rates = np.random.default_rng(2).uniform(0.005, 0.02, size=(2, 30, 2))
    tab = L.cycle_table(_exp_draws(rates, t), cycle="yearly", time_scale=12, n_draws=5)
    assert len(tab) == 5 * 2 * 11 and list(tab.columns) == ["arm", "draw", "cycle", "years",
                                                            "survival"]
    # the same draw number in both arms is the same posterior draw: recover its rate pair
    d1 = tab[tab.draw == 1].pivot(index="cycle", columns="arm", values="survival")
    r = -np.log(d1.loc[1]) / 12
    flat = rates.reshape(-1, 2)
    assert np.min(np.abs(flat - r[["control", "treated"]].to_numpy()).sum(axis=1)) < 1e-9


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan")])
def test_bad_discount_rate(bad):
    t = np.linspace(0, 10, 11)
    with pytest.raises(InputError, match="discount rate"):
        L.mean_survival(_exp_draws([[[0.1, 0.2]]], t), time_scale=1, discount=bad)


def test_unknown_cycle():
    with pytest.raises(InputError, match="weekly, monthly, yearly"):
        L.cycle_times("daily", 12, 10)
