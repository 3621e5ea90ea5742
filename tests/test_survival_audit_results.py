"""Issue 12's result schema and model comparison, on results from known draws (no MCMC):

* a cure model's maximum log-likelihood and AIC equal the Stata-matching scipy MLE of
  ``reference_mle`` (which imports nothing from bayesurv);
* arviz-stats' ``kaplan_meier`` and arviz-plots' ``plot_ppc_censored`` run on an IPD result,
  and the Kaplan-Meier curve is the product-limit estimate computed here by hand;
* a ``--prior`` given to ``bayesurv fit`` is the prior of the model that is sampled.
"""

import json

import numpy as np
import pandas as pd
import pytest
from known_draws import mock_nuts, write_two_arm_weibull_ipd
from reference_data import load_bc
from reference_mle import fit_cure_weibull_ph
from scipy import stats

from bayesurv.survival.compare import compare, max_loglik
from bayesurv.survival.fit import IdentifiabilityWarning, Sampler, fit

SMALL = ["--draws", "200", "--tune", "50", "--chains", "4", "--seed", "4"]


@pytest.fixture(scope="module")
def bc():
    b = load_bc()
    return pd.DataFrame({"time": b["rectime"].astype(float), "event": b["censrec"]})


def test_cure_model_aic_is_at_the_reference_mle(monkeypatch, bc):
    """Weibull PH cure on ``bc`` (686 patients): max_loglik from draws far from the MLE (the
    prior's centre) climbs to the reference MLE's log-likelihood (-2628.2351 mixture,
    -2625.7238 non-mixture) within 1e-4, with 3 parameters, and compare()'s AIC and BIC are
    those of the reference's log-likelihood."""
    mock_nuts(monkeypatch)
    results, refs = {}, {}
    for ours, theirs in (("mixture", "mixture"), ("non-mixture", "nonmixture")):
        refs[ours] = fit_cure_weibull_ph(bc["time"].to_numpy(), bc["event"].to_numpy(), kind=theirs)
        with pytest.warns(IdentifiabilityWarning):  # the draws' plateau is an assumption here
            results[ours] = fit(bc, "weibull", cure=ours, seed=1, sampler=Sampler(300, 100, 2))
        ll, k = max_loglik(results[ours])
        assert k == refs[ours].params.size == 3
        assert ll == pytest.approx(refs[ours].loglik, abs=1e-4)
    table = compare(results).set_index("model")
    for name, ref in refs.items():
        assert table.loc[name, "AIC"] == pytest.approx(2 * 3 - 2 * ref.loglik, abs=2e-4)
        assert table.loc[name, "BIC"] == pytest.approx(
            3 * np.log(len(bc)) - 2 * ref.loglik, abs=2e-4
        )


def _km(t, e):
    """Product-limit estimate at each distinct event time (by hand)."""
    times = np.unique(t[e == 1])
    s, out = 1.0, []
    for u in times:
        s *= 1 - np.sum((t == u) & (e == 1)) / np.sum(t >= u)
        out.append(s)
    return times, np.array(out)


def test_arviz_survival_functions_run_on_an_ipd_result(monkeypatch):
    import arviz_plots
    from arviz_stats.survival import kaplan_meier

    mock_nuts(monkeypatch)
    rng = np.random.default_rng(1)
    n = 200
    t, c = rng.weibull(1.3, n) * 10, rng.uniform(2, 20, n)
    ipd = pd.DataFrame(
        {"time": np.minimum(t, c), "event": (t <= c).astype(int), "arm": np.repeat(["a", "b"], 100)}
    )
    res = fit(ipd, "weibull", arm="arm", seed=1, sampler=Sampler(200, 100, 4))
    km = kaplan_meier(res, "time")
    assert set(km.data_vars) == {"time"}
    # arviz-stats' curve of the observed data is the product-limit estimate
    curve = km["time"].values
    want_t, want_s = _km(ipd["time"].to_numpy(), ipd["event"].to_numpy())
    got_t, got_s = curve[0], curve[1]
    keep = np.isin(got_t, want_t)
    assert keep.sum() == want_t.size  # every event time is on arviz-stats' curve
    np.testing.assert_allclose(got_s[keep], np.interp(got_t[keep], want_t, want_s), atol=1e-12)
    pc = arviz_plots.plot_ppc_censored(res, var_names=["time"], num_samples=20)
    assert type(pc).__name__ == "PlotCollection"


def test_a_cli_prior_is_the_prior_of_the_sampled_model(monkeypatch, tmp_path):
    """``--prior log_shape=normal(0.3, 0.2) --prior log_hr=normal(0, 0.5)``: the model handed
    to NUTS has these log densities (scipy's normal), and the JSON reports them."""
    import pymc as pm
    from typer.testing import CliRunner

    import bayesurv.survival.builder as builder
    from bayesurv.cli import app

    mock_nuts(monkeypatch)
    seen = []
    mocked = builder.compiled
    monkeypatch.setattr(builder, "compiled", lambda s, d: seen.append((s, d)) or mocked(s, d))
    ipd = write_two_arm_weibull_ipd(tmp_path / "ipd.csv")
    r = CliRunner().invoke(
        app,
        [
            "fit", str(ipd), "--family", "weibull", "--arm-column", "arm",
            "--prior", "log_shape=normal(0.3, 0.2)", "--prior", "log_hr=normal(0, 0.5)",
            "--json", str(tmp_path / "a.json"), *SMALL,
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    priors = json.loads((tmp_path / "a.json").read_text())["priors"]
    assert priors["log_shape"] == "normal(0.3, 0.2)" and priors["log_hr"] == "normal(0, 0.5)"
    ((spec, d),) = seen
    model = builder.build(spec, d)
    for name, (mu, sd) in (("log_shape", (0.3, 0.2)), ("log_hr", (0.0, 0.5))):
        for x in (-0.4, 0.1, 0.9):
            got = float(pm.logp(model[name], np.full(model[name].type.shape, x)).eval().sum())
            n = int(np.prod(model[name].type.shape or (1,)))
            assert got == pytest.approx(n * stats.norm.logpdf(x, mu, sd), rel=1e-7)
