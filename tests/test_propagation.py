"""Reconstruction uncertainty into the posterior: the mixture, the widening, Rubin's
decomposition, the imputations and the whole path (MCMC-free: Laplace fits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import optimize, stats

from bayesurv.emulate import at_risk_table, emulate_clicks
from bayesurv.errors import InputError
from bayesurv.propagation import imputations, pool, propagate, rubin, widening


def _draws(values: np.ndarray, chains=2) -> xr.Dataset:
    v = np.asarray(values, float).reshape(chains, -1)
    return xr.Dataset(
        {"log_hr": (("chain", "draw"), v)},
        coords={"chain": np.arange(chains), "draw": np.arange(v.shape[1])},
    )


def test_pool_is_the_mixture_with_variance_w_plus_b_times_k_minus_1_over_k():
    rng = np.random.default_rng(1)
    K, S = 5, 4000
    sets = [
        _draws(rng.normal(m, s, S))
        for m, s in zip(np.linspace(-1, 1, K), np.linspace(0.5, 1, K), strict=True)
    ]
    mix = pool(sets)
    assert mix.sizes["chain"] == 2 * K and mix.sizes["draw"] == S // 2
    assert list(mix["imputation"].values) == [k for k in range(K) for _ in range(2)]
    x = mix["log_hr"].values.ravel()
    W = np.mean([s["log_hr"].values.var() for s in sets])
    B = np.var([s["log_hr"].values.mean() for s in sets], ddof=1)
    assert x.var() == pytest.approx(W + (1 - 1 / K) * B, rel=1e-12)  # the identity, exactly
    r = rubin(sets).set_index("quantity").loc["log_hr"]
    assert r["W"] == pytest.approx(np.mean([s["log_hr"].values.var(ddof=1) for s in sets]))
    assert r["T"] == pytest.approx(r["W"] + (1 + 1 / K) * B)
    assert r["missing_information"] == pytest.approx((1 + 1 / K) * B / r["T"])


def test_widening_against_the_exact_quantiles_of_a_normal_mixture():
    rng = np.random.default_rng(2)
    S = 400_000
    single = _draws(rng.normal(0, 1, S))
    pooled = pool([_draws(rng.normal(-1, 1, S)), _draws(rng.normal(1, 1, S))])
    tab = widening(single, pooled, ci=0.9).set_index("quantity").loc["log_hr"]
    cdf = lambda x: 0.5 * stats.norm.cdf(x, -1, 1) + 0.5 * stats.norm.cdf(x, 1, 1)  # noqa: E731
    hi = optimize.brentq(lambda x: cdf(x) - 0.95, 0, 5)
    exact = 2 * hi / (2 * stats.norm.ppf(0.95))  # symmetric: width 2 hi over 2 z_0.95
    # MC error of a 5% quantile with 400,000 draws: ~0.003 (relative width error ~0.2%)
    assert tab["width_ratio"] == pytest.approx(exact, rel=0.005)
    assert tab["pooled_upper"] == pytest.approx(hi, abs=0.01)


def test_pool_refuses_unequal_draws_and_single_fits():
    with pytest.raises(InputError, match="different numbers of draws"):
        pool([_draws(np.zeros(10)), _draws(np.zeros(12))])
    with pytest.raises(InputError, match="at least 2"):
        pool([_draws(np.zeros(10))])


def _trial(seed=4, n=120):
    rng = np.random.default_rng(seed)
    arms, ipd = {}, []
    for label, scale in (("control", 20.0), ("treated", 28.0)):
        t = scale * rng.weibull(1.3, n)
        c = np.minimum(60 - rng.uniform(0, 24, n), rng.exponential(60, n))  # accrual, dropout
        time, event = np.minimum(t, c), (t <= c).astype(int)
        ipd.append(pd.DataFrame({"time": time, "event": event, "arm": label}))
        arms[label] = {
            "curve": emulate_clicks(time, event, x_max=60, seed=seed),
            "at_risk": at_risk_table(time, [0, 30]),
        }
    return arms, pd.concat(ipd, ignore_index=True)


def test_imputations_keep_the_printed_numbers_and_differ_in_censoring():
    arms, _ = _trial()
    best, sets = imputations(arms, draws=6, seed=3)
    assert len(sets) == 6 and len(best) == 240
    for s in sets:
        for label, kw in arms.items():
            g = s[s["arm"] == label]
            assert len(g) == 120
            assert int((g["time"] >= 30).sum()) == int(kw["at_risk"]["at_risk"].iloc[1])
    cens = [np.sort(s.loc[s["event"] == 0, "time"].to_numpy()) for s in sets]
    assert any(
        len(a) != len(b) or not np.allclose(a, b) for a, b in zip(cens, cens[1:], strict=False)
    )
    again, sets2 = imputations(arms, draws=6, seed=3)
    assert all(a.equals(b) for a, b in zip(sets, sets2, strict=True)) and again.equals(best)


@pytest.mark.slow
def test_propagate_pools_k_fits_says_how_much_wider_and_resumes(tmp_path):
    arms, _ = _trial()
    kw = {"family": "weibull", "rmst_to": 36.0, "arms": ("control", "treated"), "draws": 2000}
    out = tmp_path / "job"
    p = propagate(arms, seed=8, draws=8, fit_inputs=kw, out=out, ci=0.9)
    assert not p.failed
    assert p.pooled.sizes["chain"] == 8 and p.pooled.sizes["draw"] == 2000
    tab = p.widening.set_index("quantity")
    assert {"hr", "log_hr", "rmst[control]", "rmst[treated]", "rmst_diff"} <= set(tab.index)
    # censoring placed at random over 30 months adds between-reconstruction variance
    mi = p.rubin.set_index("quantity")["missing_information"]
    assert (mi > 0).all() and (mi < 0.5).all()
    # the mixture is at least as wide as its components on average (B >= 0); the single
    # reconstruction (censoring spread evenly) is one more imputation, not their centre, so its
    # interval may be wider or narrower than the pooled one
    for q in ("log_hr", "rmst_diff"):
        each = widening(p.single, pool(p.fits[:1] * 2), ci=0.9).set_index("quantity")
        widths = [
            widening(p.single, pool([f, f]), ci=0.9).set_index("quantity").loc[q, "pooled_width"]
            for f in p.fits
        ]
        assert tab.loc[q, "pooled_width"] >= 0.99 * np.mean(widths)
        assert each.loc[q, "pooled_width"] == pytest.approx(widths[0])
    assert 0.8 < tab.loc["rmst_diff", "width_ratio"] < 1.5
    saved = pd.read_csv(out / "widening.csv").set_index("quantity")
    np.testing.assert_allclose(saved["width_ratio"], tab["width_ratio"], rtol=1e-12)
    again = propagate(arms, seed=8, draws=8, fit_inputs=kw, out=out, ci=0.9, resume=True)
    assert again.pooled.identical(p.pooled)


def test_the_three_results_are_written_together_or_not_at_all(tmp_path, monkeypatch):
    """A failure at the last result (pooled.nc: the disk fills up) leaves neither widening.csv
    nor rubin.csv; the job's tasks stay for --resume. An --out that is a file is refused before
    any reconstruction is fitted."""
    import errno

    from bayesurv.outputs import OutputPlan

    arms, _ = _trial(n=60)
    kw = {"family": "exponential", "arms": ("control", "treated"), "draws": 200}
    taken = tmp_path / "taken"
    taken.write_text("x")
    with pytest.raises(InputError, match="is a file; give a folder"):
        propagate(arms, seed=8, draws=2, fit_inputs=kw, out=taken)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(OutputPlan, "netcdf", disk_full)
    out = tmp_path / "job"
    with pytest.raises(OSError, match="No space left"):
        propagate(arms, seed=8, draws=2, fit_inputs=kw, out=out)
    assert not any((out / name).exists() for name in ("widening.csv", "rubin.csv", "pooled.nc"))
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left
    assert any((out / "tasks").iterdir())
    monkeypatch.undo()
    done = propagate(arms, seed=8, draws=2, fit_inputs=kw, out=out, resume=True)
    saved = pd.read_csv(out / "widening.csv")
    np.testing.assert_array_equal(saved["width_ratio"], done.widening["width_ratio"])
    with xr.open_dataset(out / "pooled.nc") as saved_pool:
        assert saved_pool.load().identical(done.pooled)
