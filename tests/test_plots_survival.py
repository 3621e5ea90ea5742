"""plots.survival: the Kaplan-Meier every figure draws (plot_survival, plot_models and the
posterior predictive check share one extraction of the observed data) against lifelines'
KaplanMeierFitter, per arm, and the bands against the result's own intervals. Known draws
(tests/known_draws.py): nothing is sampled."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from known_draws import mock_nuts

from bayesurv.intervals import interval
from bayesurv.plots.survival import plot_hazard, plot_models, plot_predictive_km, plot_survival
from bayesurv.survival import outputs as O
from bayesurv.survival.fit import Sampler, fit

matplotlib.use("Agg")
QUIET = pytest.mark.filterwarnings(
    "ignore::bayesurv.sampling.ConvergenceWarning",
    "ignore::bayesurv.survival.fit.IdentifiabilityWarning",
)


@pytest.fixture(scope="module")
def two_arms():
    rng = np.random.default_rng(3)
    n = 80
    arm = np.repeat(["control", "treated"], n // 2)
    t = rng.weibull(1.2, n) * np.where(arm == "treated", 14.0, 9.0)
    c = rng.uniform(4, 20, n)
    return pd.DataFrame(
        {"time": np.minimum(t, c).round(3), "event": (t <= c).astype(int), "arm": arm}
    )


@pytest.fixture(scope="module")
def results(two_arms):
    import warnings

    mp = pytest.MonkeyPatch()
    mock_nuts(mp, {"log_hr": -0.3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short known draws: convergence notes
        out = {
            fam: fit(two_arms, fam, arm="arm", seed=1, sampler=Sampler(100, 50, 2))
            for fam in ("weibull", "exponential")
        }
    mp.undo()
    return out


def _lifelines_km(df, label, grid):
    from lifelines import KaplanMeierFitter

    d = df[df["arm"] == label]
    km = KaplanMeierFitter().fit(d["time"], d["event"])
    return km.survival_function_at_times(grid).to_numpy()


def _steps(ax):
    return [ln for ln in ax.lines if ln.get_drawstyle() == "steps-post"]


@QUIET
def test_every_figure_draws_each_arms_km_as_lifelines_does(two_arms, results):
    t_max = two_arms["time"].max()
    grid = np.linspace(0.0, 2 * t_max, 200)
    inside = grid[grid <= t_max]
    one = plot_survival(results["weibull"], horizon=2 * t_max)
    models = plot_models(results, horizon=2 * t_max)
    survival_kms = [ln.get_ydata() for ln in _steps(one.axes[0])]
    model_kms = [_steps(ax)[0].get_ydata() for ax in models.axes]
    for k, label in enumerate(("control", "treated")):
        ref = _lifelines_km(two_arms, label, inside)
        np.testing.assert_allclose(survival_kms[k], ref, atol=1e-12)
        np.testing.assert_allclose(model_kms[k], ref, atol=1e-12)
        assert models.axes[k].get_title() == label
    # one line per model (solid to follow-up, dashed beyond) over the KM in each panel
    assert [len(ax.lines) for ax in models.axes] == [1 + 2 * 2 + 1] * 2  # + follow-up line


@QUIET
def test_the_bands_are_the_results_intervals(results):
    res = results["weibull"]
    fig = plot_survival(res, horizon=30.0, ci=0.9)
    band = fig.axes[0].collections[0].get_paths()[0].vertices
    grid = np.linspace(0.0, 30.0, 200)
    q = interval(O.survival(O.fitted(res), grid), 0.9).sel(arm="control")
    # fill_between's polygon: (x0, upper0), the lower edge forward, (x_end, upper_end), the
    # upper edge backward
    np.testing.assert_allclose(band[1 : grid.size + 1, 1], q["lower"].values, rtol=1e-12)
    np.testing.assert_allclose(
        band[grid.size + 2 : 2 * grid.size + 2, 1], q["upper"].values[::-1], rtol=1e-12
    )
    for f in (plot_hazard(res), plot_predictive_km(res)):
        assert len(f.axes[0].collections) == 2  # one band per arm
