"""The one interval helper: equal-tailed quantiles of the draws, the width set once."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayesurv.errors import InputError
from bayesurv.intervals import ci_width, interval, summary, table, width


def test_interval_is_the_equal_tailed_quantiles():
    # 200,000 standard normal draws: the 95% limits are -/+1.959964 within Monte Carlo error
    # (sd of a sample quantile: sqrt(p (1 - p) / n) / phi(z) = 0.006 at 2.5%, 0.0028 at 50%,
    # 0.0038 at 90%; tolerances about 3.5 sd)
    x = np.random.default_rng(3).normal(size=(4, 50_000))
    s = summary(x)
    assert s["lower"] == pytest.approx(-1.959964, abs=0.02)
    assert s["upper"] == pytest.approx(1.959964, abs=0.02)
    assert s["median"] == pytest.approx(0.0, abs=0.01)
    with ci_width(0.8):
        assert summary(x)["upper"] == pytest.approx(stats.norm.ppf(0.9), abs=0.013)
        assert width() == 0.8
    assert width() == 0.95  # restored after the block
    assert summary(x, ci=0.5)["lower"] == pytest.approx(float(np.quantile(x, 0.25)), rel=1e-9)


def test_interval_keeps_other_dims_and_infinite_draws():
    da = xr.DataArray(
        np.stack([np.arange(1000.0), np.full(1000, np.inf)], axis=-1)[None],
        dims=("chain", "draw", "arm"),
        coords={"arm": ["finite", "infinite"]},
    )
    q = interval(da)
    assert float(q["median"].sel(arm="finite")) == pytest.approx(499.5)
    assert float(q["lower"].sel(arm="finite")) == pytest.approx(np.quantile(np.arange(1000), 0.025))
    assert np.isinf(q["upper"].sel(arm="infinite")) and np.isinf(q["median"].sel(arm="infinite"))
    rows = table(da)
    assert list(rows.columns) == ["arm", "median", "lower", "upper"]
    assert rows["arm"].tolist() == ["finite", "infinite"]


@pytest.mark.parametrize("bad", [0, 1, 1.5, "wide", None])
def test_bad_width_is_one_sentence(bad):
    with pytest.raises(InputError, match="must lie in"):
        with ci_width(bad if bad is not None else "x"):
            pass


# every interval follows the width in force (a spec's ``ci``, the CLI's ``--ci``): at 0.8 each
# one below equals the 10% and 90% quantiles of draws whose quantiles are known


def test_the_reconstruction_draws_range_is_at_the_width_in_force():
    """``reconstruct(draws=)``'s range of the RMST was the draws' 2.5-97.5% whatever the width;
    at 0.8 it is the 10% and 90% quantiles of the draws' RMSTs (computed here by lifelines)."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    from bayesurv.emulate import at_risk_table, emulate_clicks
    from bayesurv.reconstruct import reconstruct

    rng = np.random.default_rng(4)
    t, c = rng.exponential(10.0, 120), rng.uniform(4, 30, 120)
    time, event = np.minimum(t, c), (t <= c).astype(int)
    clicks = emulate_clicks(time, event, style="corners", seed=1)
    nar = at_risk_table(time, [0, 10, 20])

    def rmsts(r):
        tau = r.report["rmst"]["to"]
        return np.array(
            [
                restricted_mean_survival_time(KaplanMeierFitter().fit(d["time"], d["event"]), tau)
                for d in r.draws
            ]
        )

    r = reconstruct(clicks, nar, draws=40, seed=2, ci=0.8)
    u = r.report["uncertainty"]
    assert u["ci"] == 0.8
    np.testing.assert_allclose(u["rmst"], np.quantile(rmsts(r), [0.1, 0.9]), rtol=1e-9)
    with ci_width(0.8):  # the width set once for a block of work (a spec's ci)
        assert reconstruct(clicks, nar, draws=40, seed=2).report["uncertainty"] == u
    r95 = reconstruct(clicks, nar, draws=40, seed=2)
    np.testing.assert_allclose(
        r95.report["uncertainty"]["rmst"], np.quantile(rmsts(r95), [0.025, 0.975]), rtol=1e-9
    )
    with pytest.raises(InputError, match="must lie in"):
        reconstruct(clicks, nar, draws=4, ci=80)


def test_the_estimated_smr_in_words_is_at_the_width_in_force(monkeypatch):
    """The report's base case in words gave the SMR's 95% interval whatever the spec's ci."""
    import pandas as pd
    from known_draws import mock_nuts

    from bayesurv.analysis_report import model_words
    from bayesurv.lifetable import us_life_table
    from bayesurv.survival.fit import Sampler, fit
    from bayesurv.survival.population import Population

    rng = np.random.default_rng(3)
    ipd = pd.DataFrame({"time": rng.exponential(4.0, 200).clip(max=8.0), "age": 60.0})
    ipd["event"] = (ipd["time"] < 8.0).astype(int)
    mock_nuts(monkeypatch, {"log_median": 1.0, "smr": 1.5}, sd=0.05)
    res = fit(ipd, "exponential", seed=1, time_unit="years", sampler=Sampler(300, 100, 2),
              population=Population(us_life_table(2014), age_column="age", male="female"),
              smr_prior="lognormal(0.405, 0.1)")  # fmt: skip
    lo, med, hi = np.quantile(res["posterior"]["smr"].values, [0.1, 0.5, 0.9])
    with ci_width(0.8):
        words = model_words(res, "exponential", {"cure": "none", "time_unit": "years"})
    assert f"SMR estimated: {med:.2f}, 80% interval {lo:.2f} to {hi:.2f}" in words


def test_the_widening_is_at_the_width_in_force():
    """``widening`` defaulted to 95% whatever the width. One reconstruction's draws 0, 1, ...,
    1000 have the 80% interval [100, 900] and 95% [25, 975]; the pooled draws (twice 0, 2, ...,
    2000) twice as wide: [200, 1800], a width ratio of exactly 2."""
    from bayesurv.propagation import pool, widening

    def draws(values):
        return xr.Dataset({"log_hr": (("chain", "draw"), np.asarray(values, float)[None])})

    single, pooled = draws(np.arange(1001)), pool([draws(2 * np.arange(1001))] * 2)
    with ci_width(0.8):
        row = widening(single, pooled).iloc[0]
    assert row["ci"] == 0.8
    assert (row["single_lower"], row["single_upper"]) == pytest.approx((100, 900))
    assert (row["pooled_lower"], row["pooled_upper"]) == pytest.approx((200, 1800))
    assert row["width_ratio"] == pytest.approx(2.0)
    row = widening(single, pooled).iloc[0]
    assert (row["ci"], row["single_lower"], row["single_upper"]) == pytest.approx((0.95, 25, 975))


def test_the_forest_and_league_plots_are_at_the_width_in_force():
    """The forest, NMA forest and league plots drew 95% intervals whatever the width. A fixed-
    effect star network of two trials (log HR -0.2, se 0.1; -0.1, se 0.2) has posteriors
    N(-0.2, 0.1) and N(-0.1, 0.2) under its vague prior: 80% intervals exp(mu -+ 1.2816 sd)."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from bayesurv.plots.forest import forest, nma_forest
    from bayesurv.plots.network import league_plot
    from bayesurv.synthesis.nma import nma
    from bayesurv.synthesis.pool import pool

    trials = pd.DataFrame({"study": ["a", "b"], "treatment": ["x", "y"], "comparator": "c",
                           "log_hr": [-0.2, -0.1], "se": [0.1, 0.2]})  # fmt: skip
    res = nma(trials, reference="c", effects="fixed", seed=1)
    z = stats.norm.ppf(0.9)
    expect = {t: np.exp([m - z * s, m + z * s]) for t, m, s in (("x", -0.2, 0.1), ("y", -0.1, 0.2))}
    with ci_width(0.8):
        fig = nma_forest(res)
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert "80% interval" in fig.axes[0].get_xlabel()
        for t, (lo, hi) in expect.items():
            assert any(f"({lo:.2f}, {hi:.2f})" in s for s in texts), (t, texts)
        league = league_plot(res)
        cells = [t.get_text() for t in league.axes[0].texts]
        lo, hi = expect["x"]
        assert any(s.endswith(f"({lo:.2f}, {hi:.2f})") for s in cells)
        assert "80% interval" in league.axes[0].get_title()
        r = pool(([-0.97, -0.36], [0.28, 0.2], ["a", "b"]))
        f = forest(r)
        assert "80% interval" in f.axes[0].get_xlabel()
        p = r.table(0.8).set_index("kind").loc["pooled"]
        pooled = "{:.2f} ({:.2f}, {:.2f})".format(*np.exp([p["median"], p["lower"], p["upper"]]))
        assert pooled in [t.get_text() for t in f.axes[0].texts]
    plt.close("all")
