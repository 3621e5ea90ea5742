"""A large fit keeps a thinned posterior_predictive and says what it left out: with a small
MAX_POINTWISE (monkeypatched) the per-patient log-likelihood goes, a warning and the result's
attrs say why, and the replicated times of the seeded subset of draws still follow each draw's
model (the exponential's closed form) and feed plot_ppc_censored."""

import json

import numpy as np
import pandas as pd
import pytest
from known_draws import mock_nuts
from scipy import stats

import bayesurv.survival.fit as F
from bayesurv.survival.fit import PointwiseWarning, Sampler, fit

N = 200


@pytest.fixture
def ipd():
    rng = np.random.default_rng(5)
    t, c = rng.exponential(10.0, N), rng.uniform(5, 25, N)
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)})


def test_above_max_pointwise_the_predictive_is_thinned_and_said(monkeypatch, ipd):
    import arviz_plots

    mock_nuts(monkeypatch, sd=0.2)
    monkeypatch.setattr(F, "MAX_POINTWISE", 10_000)  # 4 x 200 draws x 200 patients is above
    with pytest.warns(PointwiseWarning, match="above MAX_POINTWISE"):
        res = fit(ipd, "exponential", seed=3, sampler=Sampler(200, 50, 4))
    assert "log_likelihood" not in res.children or "time" not in res["log_likelihood"]
    rep = res["posterior_predictive"]["time"]
    per_chain = 10_000 // N // 4  # MAX_POINTWISE // patients, shared by the 4 chains
    assert rep.shape == (4, per_chain, N)
    # the same seeded draws in every chain, a subset of the posterior's
    assert set(rep["draw"].values) <= set(res["posterior"]["draw"].values)
    again = fit(ipd, "exponential", seed=3, sampler=Sampler(200, 50, 4), pointwise=False)
    assert np.array_equal(again["posterior_predictive"]["draw"].values[:per_chain], rep["draw"])
    assert "thinned" in res["posterior_predictive"].attrs
    assert "log-likelihood" in res.attrs["left_out"]
    assert res.attrs["left_out"] in json.loads(res.attrs["notes"])
    # each replicated time is an Exp(rate of its own draw): exp(-rate t) ~ U(0, 1)
    rate = res["posterior"]["rate"].sel(draw=rep["draw"]).values[..., None]
    u = np.exp(-rate * rep.values).ravel()
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # the check can fail: against rates 20% off it does
    assert stats.kstest(np.exp(-1.2 * rate * rep.values).ravel(), "uniform").pvalue < 1e-3
    assert type(arviz_plots.plot_ppc_censored(res, num_samples=10)).__name__ == "PlotCollection"


def test_pointwise_false_is_stated_without_a_warning(monkeypatch, ipd):
    mock_nuts(monkeypatch)
    res = fit(ipd, "exponential", seed=1, sampler=Sampler(200, 50, 4), pointwise=False)
    assert "pointwise=False was asked for" in res.attrs["left_out"]
    rep = res["posterior_predictive"]["time"]
    assert rep.shape == (4, F.PPC_DRAWS // 4, N)


def test_the_thinned_predictive_holds_at_most_ppc_cells_values(monkeypatch, ipd):
    mock_nuts(monkeypatch)
    monkeypatch.setattr(F, "PPC_CELLS", 4_000)  # 20 draws of 200 patients: 5 in each chain
    res = fit(ipd, "exponential", seed=1, sampler=Sampler(200, 50, 4), pointwise=False)
    assert res["posterior_predictive"]["time"].shape == (4, 5, N)
    assert "5 of 200 draws in each of 4 chains" in res["posterior_predictive"].attrs["thinned"]
    monkeypatch.setattr(F, "PPC_CELLS", 10)  # below one draw per chain: still one in each
    res = fit(ipd, "exponential", seed=1, sampler=Sampler(200, 50, 4), pointwise=False)
    assert res["posterior_predictive"]["time"].shape == (4, 1, N)


def test_below_max_pointwise_everything_is_kept(monkeypatch, ipd):
    mock_nuts(monkeypatch)
    res = fit(ipd, "exponential", seed=1, sampler=Sampler(200, 50, 4))
    assert res["log_likelihood"]["time"].shape == (4, 200, N)
    assert res["posterior_predictive"]["time"].shape == (4, 200, N)
    assert "left_out" not in res.attrs
    assert "thinned" not in res["posterior_predictive"].attrs
