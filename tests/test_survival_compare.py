"""Model comparison table, model averaging, posterior predictive KM bands and plots."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from lifelines import WeibullFitter

from bayesurv.plots.survival import plot_hazard, plot_predictive_km, plot_survival
from bayesurv.survival import quantities as Q
from bayesurv.survival.compare import averaged_survival, compare
from bayesurv.survival.ipdfit import fit, spec_of

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def weibull_data_fits():
    # Weibull(shape 1.6, scale 10) times, uniform censoring: weibull should beat exponential
    rng = np.random.default_rng(21)
    n = 300
    t = 10 * rng.weibull(1.6, n)
    c = rng.uniform(2, 25, n)
    ipd = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)})
    grid = [0.0, 5.0, 10.0, 20.0]
    fits = {
        f: fit(ipd, f, seed=5, draws=500, tune=500, chains=2, times=grid)
        for f in ("exponential", "weibull")
    }
    return ipd, fits


@pytest.mark.slow
def test_compare_table_ranks_the_true_family_first(weibull_data_fits):
    ipd, fits = weibull_data_fits
    table = compare(fits)
    assert list(table["model"]) == ["weibull", "exponential"]
    assert set(table.columns) >= {"elpd_loo", "se", "p_loo", "looic", "weight", "AIC", "BIC"}
    np.testing.assert_allclose(table["looic"], -2 * table["elpd_loo"])
    np.testing.assert_allclose(table["weight"].sum(), 1.0, atol=1e-6)
    # AIC at the MLE against lifelines' WeibullFitter (independent likelihood code):
    # AIC = 2k - 2 logL, k = 2
    wf = WeibullFitter().fit(ipd["time"], ipd["event"])
    aic_ref = 2 * 2 - 2 * wf.log_likelihood_
    np.testing.assert_allclose(table.set_index("model").loc["weibull", "AIC"], aic_ref, atol=0.01)
    assert table["p_loo"].iloc[0] == pytest.approx(2, abs=1)  # about the number of parameters


@pytest.mark.slow
def test_model_average_mixes_draws_by_weight(weibull_data_fits):
    _, fits = weibull_data_fits
    avg = averaged_survival(fits, {"weibull": 1.0, "exponential": 0.0}, n_draws=500, seed=1)
    assert avg.dims == ("sample", "arm", "time")
    w_med = fits["weibull"]["derived"]["survival"].median(("chain", "draw"))
    # all draws from weibull: medians agree within Monte Carlo error of 500 resampled draws
    np.testing.assert_allclose(avg.median("sample"), w_med, atol=0.01)


@pytest.mark.slow
def test_predictive_km_band_covers_the_observed_km_and_plots(weibull_data_fits):
    ipd, fits = weibull_data_fits
    res = fits["weibull"]
    spec, labels = spec_of(res)
    grid = np.linspace(0, 20, 41)
    ppc = Q.predictive_km(
        res["posterior"].to_dataset(),
        spec,
        labels,
        ipd["time"],
        ipd["event"],
        np.zeros(len(ipd), int),
        grid,
        n_draws=200,
        seed=2,
    )
    inside = (ppc["observed"] >= ppc["lower"] - 1e-12) & (ppc["observed"] <= ppc["upper"] + 1e-12)
    assert float(inside.mean()) > 0.9  # the right model's 95% band holds the KM nearly everywhere
    exp_res = fits["exponential"]
    spec_e, _ = spec_of(exp_res)
    ppc_e = Q.predictive_km(
        exp_res["posterior"].to_dataset(),
        spec_e,
        labels,
        ipd["time"],
        ipd["event"],
        np.zeros(len(ipd), int),
        grid,
        n_draws=200,
        seed=2,
    )
    inside_e = (ppc_e["observed"] >= ppc_e["lower"]) & (ppc_e["observed"] <= ppc_e["upper"])
    assert float(inside_e.mean()) < float(inside.mean())  # the wrong model fits the KM worse
    for f in (plot_survival(res, horizon=40.0), plot_hazard(res), plot_predictive_km(res)):
        assert len(f.axes[0].lines) >= 1
        matplotlib.pyplot.close(f)


def test_kaplan_meier_matches_lifelines():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(0)
    t = np.round(rng.exponential(5, 200), 1)  # ties on purpose
    d = rng.integers(0, 2, 200)
    grid = np.linspace(0, 15, 31)
    ref = KaplanMeierFitter().fit(t, d).survival_function_at_times(grid).to_numpy()
    np.testing.assert_allclose(Q.kaplan_meier(t, d, grid), ref, rtol=1e-12)


def test_rmst_quadrature_matches_scipy_quad():
    import scipy.integrate as si
    import xarray as xr

    from bayesurv.survival.families import FAMILIES

    cases = {
        "weibull": {"shape": 0.6, "scale": 3.0},
        "gengamma": {"mu": 1.0, "sigma": 0.9, "Q": -0.7},
        "gompertz": {"shape": -0.3, "rate": 0.2},
        "loglogistic": {"shape": 0.9, "scale": 2.0},
    }
    for name, p in cases.items():
        fam = FAMILIES[name]
        da = {
            k: xr.DataArray(np.array([[[v]]]), dims=("chain", "draw", "arm")) for k, v in p.items()
        }
        got = float(Q.rmst(fam, da, 7.0).values.ravel()[0])
        ref = si.quad(lambda s, fam=fam, p=p: fam.survival(s, **p), 0, 7.0, limit=200)[0]
        np.testing.assert_allclose(got, ref, rtol=1e-6, err_msg=name)
