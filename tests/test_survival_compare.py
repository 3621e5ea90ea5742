"""Model comparison: AIC/BIC at the maximum of the model's own likelihood against flexsurv on
``bc ~ group`` (every family and Royston-Parmar), LOO and stacking, model averaging, and the
posterior predictive KM check.

flexsurv 2.3.2, ``bc`` from flexsurv (rebuilt here: tests/reference_data.py), deterministic:

    flexsurvreg(Surv(recyrs, censrec) ~ group, data = bc, dist = d)        logLik     AIC
      exp -831.1061 1668.212   weibull -811.9419 1631.884   gompertz -825.3858 1658.772
      lnorm -790.7651 1589.530 llogis -799.0523 1606.105    gengamma -787.5683 1585.137
    flexsurvspline(Surv(recyrs, censrec) ~ group, data = bc, k = 1, scale = "hazard")  -792.864
    flexsurvspline(..., k = 1, scale = "odds")  -788.982   (Royston and Parmar 2002)
"""

import numpy as np
import pandas as pd
import pytest
from known_draws import mock_nuts
from lifelines import KaplanMeierFitter, WeibullFitter
from reference_data import load_bc

from bayesurv.plots.survival import plot_hazard, plot_predictive_km, plot_survival, predictive_km
from bayesurv.survival.compare import averaged_survival, compare, max_loglik
from bayesurv.survival.fit import Outputs, Sampler, fit

QUICK = Sampler(draws=300, tune=100, chains=2)
FLEXSURV = {  # (log-likelihood, AIC, parameters)
    "exponential": (-831.1061, 1668.212, 3),
    "weibull": (-811.9419, 1631.884, 4),
    "gompertz": (-825.3858, 1658.772, 4),
    "lognormal": (-790.7651, 1589.530, 4),
    "loglogistic": (-799.0523, 1606.105, 4),
    "gengamma": (-787.5683, 1585.137, 5),
    "rp-hazard": (-792.864, None, 5),
    "rp-odds": (-788.982, None, 5),
}


@pytest.fixture(scope="module")
def bc():
    d = load_bc()
    return pd.DataFrame(
        {"time": d["recyrs"], "event": d["censrec"], "group": d["group"].astype(str)}
    )


def _model(name):
    if name.startswith("rp-"):
        return "rp", {"df": 2, "scale": name[3:]}  # k = 1 interior knot
    return name, {}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "gengamma" else n for n in FLEXSURV]
)
def test_aic_at_the_mle_matches_flexsurv_on_bc_group(bc, monkeypatch, name):
    mock_nuts(monkeypatch)  # the MLE starts from known draws; no sampling needed
    hazard, kw = _model(name)
    res = fit(bc, hazard, covariates=["group=Good"], seed=1, sampler=QUICK, **kw)
    ll, k = max_loglik(res)
    ref_ll, ref_aic, ref_k = FLEXSURV[name]
    assert k == ref_k
    assert ll == pytest.approx(ref_ll, abs=0.01)
    if ref_aic is not None:
        assert 2 * k - 2 * ll == pytest.approx(ref_aic, abs=0.01)


@pytest.fixture(scope="module")
def weibull_data():
    # Weibull(shape 1.6, scale 10) times, uniform censoring
    rng = np.random.default_rng(21)
    n = 300
    t = 10 * rng.weibull(1.6, n)
    c = rng.uniform(2, 25, n)
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)})


@pytest.mark.slow
def test_predictive_km_band_covers_the_observed_km_at_the_truth(weibull_data, monkeypatch):
    # draws at the true parameters: the replicated KMs' 95% band holds the observed KM
    mock_nuts(
        monkeypatch, {"log_median": np.log(10 * np.log(2) ** (1 / 1.6)), "log_shape": np.log(1.6)}
    )
    right = fit(weibull_data, "weibull", seed=5, sampler=QUICK)
    mock_nuts(monkeypatch, {"log_median": np.log(10 * np.log(2) ** (1 / 1.6))})
    wrong = fit(weibull_data, "exponential", seed=5, sampler=QUICK)
    grid = np.linspace(0, 20, 41)
    inside = {}
    for name, res in (("right", right), ("wrong", wrong)):
        ppc = predictive_km(res, grid, n_draws=200, seed=2)
        ok = (ppc["observed"] >= ppc["lower"] - 1e-12) & (ppc["observed"] <= ppc["upper"] + 1e-12)
        inside[name] = float(ok.mean())
    assert inside["right"] > 0.9 and inside["wrong"] < inside["right"]
    for f in (plot_survival(right, horizon=40.0), plot_hazard(right), plot_predictive_km(right)):
        assert len(f.axes[0].lines) >= 1


def test_model_average_mixes_draws_by_weight(weibull_data, monkeypatch):
    mock_nuts(monkeypatch)
    fits = {
        f: fit(weibull_data, f, seed=5, sampler=QUICK, outputs=Outputs(horizon=30.0))
        for f in ("exponential", "weibull")
    }
    avg = averaged_survival(fits, {"weibull": 1.0, "exponential": 0.0}, n_draws=500, seed=1)
    assert avg.dims == ("sample", "arm", "time")
    w_med = fits["weibull"]["derived"]["survival"].median(("chain", "draw"))
    # all draws from weibull: medians agree within Monte Carlo error of 500 resampled draws
    np.testing.assert_allclose(avg.median("sample"), w_med, atol=0.01)


def test_aic_of_a_relative_survival_model_says_why_without_its_arrays(monkeypatch):
    """AIC/BIC of a model with background mortality need the likelihood's arrays (the result
    does not keep the population hazards): without them the row says so in ``note`` (it was a
    silent NaN); with them AIC is the exponential's at the scipy MLE of sum d log(h_pop + lam)
    - H_pop - lam t (life table: annual hazard 0.03 at every age, so h_pop = 0.03 per year)."""
    import scipy.optimize as so

    from bayesurv.lifetable import LifeTable
    from bayesurv.survival.data import prepare
    from bayesurv.survival.population import Population
    from bayesurv.survival.structure import ModelSpec

    mock_nuts(monkeypatch, {})
    rng = np.random.default_rng(5)
    t, c = rng.exponential(3.0, 120), rng.uniform(1, 4, 120)
    ipd = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)})
    rows = [{"age": a, "sex": s, "hazard": 0.03} for s in ("male", "female") for a in range(101)]
    pop = Population(LifeTable.from_frame(pd.DataFrame(rows)), age=50, male=1.0)
    fits, data = {}, {}
    for f in ("exponential", "weibull"):
        fits[f] = fit(ipd, f, seed=1, sampler=QUICK, population=pop, time_unit="years")
        data[f] = prepare(ModelSpec(f, time_unit="years"), ipd, population=pop)[1]
    bare = compare(fits).set_index("model")
    assert bare["AIC"].isna().all()
    assert all("background mortality" in n and "compare(data=" in n for n in bare["note"])
    full = compare(fits, data).set_index("model")
    tt, e = ipd["time"].to_numpy(), ipd["event"].to_numpy()

    def nll(v):
        lam = np.exp(v[0])
        return -(np.sum(e * np.log(0.03 + lam)) - 0.03 * tt.sum() - lam * tt.sum())

    ll = -so.minimize(nll, [0.0], method="Nelder-Mead", options={"xatol": 1e-10}).fun
    assert full.loc["exponential", "AIC"] == pytest.approx(2 - 2 * ll, abs=0.01)
    assert "note" not in full  # nothing to say


@pytest.mark.mcmc
def test_compare_table_ranks_the_true_family_first(weibull_data):
    fits = {
        f: fit(weibull_data, f, seed=5, sampler=Sampler(500, 500, 2))
        for f in ("exponential", "weibull")
    }
    table = compare(fits)
    assert list(table["model"]) == ["weibull", "exponential"]
    np.testing.assert_allclose(table["looic"], -2 * table["elpd_loo"])
    np.testing.assert_allclose(table["weight"].sum(), 1.0, atol=1e-6)
    # AIC at the MLE against lifelines' WeibullFitter (independent likelihood code)
    wf = WeibullFitter().fit(weibull_data["time"], weibull_data["event"])
    np.testing.assert_allclose(
        table.set_index("model").loc["weibull", "AIC"], 4 - 2 * wf.log_likelihood_, atol=0.01
    )
    assert table["p_loo"].iloc[0] == pytest.approx(2, abs=1)  # about the number of parameters


def _hessian_se(res, spec_names):
    """Standard errors at the MLE by a central-difference Hessian of the twin (test helper)."""
    import scipy.optimize as so

    from bayesurv.survival import outputs as O
    from bayesurv.survival import terms
    from bayesurv.survival.compare import _data
    from bayesurv.survival.families import NP
    from bayesurv.survival.structure import parameters

    F = O.fitted(res)
    d = _data(res)
    free = parameters(F.spec)
    sizes = [max(p.size, 1) for p in free]

    def unpack(v):
        out, i = {}, 0
        for p, k in zip(free, sizes, strict=True):
            out[p.name] = np.asarray(v[i : i + k]).reshape(1, -1)
            i += k
        return out

    def nll(v):
        return -sum(float(np.sum(x)) for x in terms.loglik(NP, F.spec, unpack(v), d, True).values())

    x0 = np.concatenate([np.median(F.raw[p.name], axis=0) for p in free])
    x = so.minimize(nll, x0, method="BFGS").x
    h = 1e-4
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            e_i, e_j = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = (
                nll(x + e_i + e_j) - nll(x + e_i - e_j) - nll(x - e_i + e_j) + nll(x - e_i - e_j)
            ) / (4 * h * h)
    return x, np.sqrt(np.diag(np.linalg.inv(H)))


@pytest.mark.mcmc
@pytest.mark.slow
@pytest.mark.parametrize("name", list(FLEXSURV))
def test_posterior_medians_within_half_an_mle_se_on_bc_group(bc, name):
    hazard, kw = _model(name)
    res = fit(bc, hazard, covariates=["group=Good"], seed=2, sampler=Sampler(1000, 1000, 4), **kw)
    mle, se = _hessian_se(res, None)
    from bayesurv.survival import outputs as O
    from bayesurv.survival.structure import parameters

    F = O.fitted(res)
    med = np.concatenate([np.median(F.raw[p.name], axis=0) for p in parameters(F.spec)])
    assert np.all(np.abs(med - mle) < 0.5 * se), (name, med, mle, se)


def test_kaplan_meier_matches_lifelines():
    from bayesurv.plots.survival import _km

    rng = np.random.default_rng(0)
    t = np.round(rng.exponential(5, 200), 1)  # ties on purpose
    d = rng.integers(0, 2, 200)
    grid = np.linspace(0, 15, 31)
    ref = KaplanMeierFitter().fit(t, d).survival_function_at_times(grid).to_numpy()
    np.testing.assert_allclose(_km(t, d, grid), ref, rtol=1e-12)
