"""The NMA likelihood in PyMC equals its NumPy twin at a point, for every structure: contrasts
(random effects with a three-arm trial, fixed effects), arm counts (cloglog, logit) and IPD."""

import numpy as np
import pandas as pd
import pytest
from scipy import special
from test_synthesis_nma import loop_network

from bayesurv.synthesis.network import read_network
from bayesurv.synthesis.nma import _priors, _theta_priors
from bayesurv.synthesis.nma_model import build_data, build_model, fitted, log_likelihood


def _twin_and_pymc(net, effects, point):
    nd = build_data(net, n_intervals=4)
    pr = _priors(nd, None, None, None, None)
    model = build_model(
        nd,
        effects,
        _theta_priors(nd, pr),
        pr["tau"] if effects == "random" else None,
        pr["baseline"],
    )
    likelihood_terms = [v for v in model.potentials + model.observed_RVs]
    f = model.compile_fn(model.logp(vars=likelihood_terms, jacobian=False))
    values = {k: np.asarray(v, dtype=float) for k, v in point.items()}
    ours = float(f({k.name: values[k.name] for k in model.value_vars}))
    draws = {"theta": values["theta"][None], "delta_contrast": np.zeros((1, nd.n_effects))}
    if effects == "random":
        draws["tau"] = np.exp(values["tau_log__"])[None]
    z = values.get("z", np.zeros(nd.free_rows.size))
    mean = values["theta"] @ nd.M.T
    fr = nd.free_rows
    delta = mean[fr]
    if effects == "random" and fr.size:
        delta = delta + draws["tau"][0] * (nd.L[np.ix_(fr, fr)] @ z)
    draws["delta"] = delta[None]
    if "mu" in values:
        draws["mu"] = values["mu"][None]
    if "alpha" in values:
        draws["alpha"] = values["alpha"][None]
    twin = float(log_likelihood(nd, draws, fitted(nd, draws)).sum())
    # the PyMC terms leave out constants: log C(n, r) of binomials, log D! of Poisson counts
    const = float(
        special.gammaln(nd.arm_n + 1).sum()
        - special.gammaln(nd.arm_r + 1).sum()
        - special.gammaln(nd.arm_n - nd.arm_r + 1).sum()
        - special.gammaln(nd.ipd_D + 1).sum()
    )
    return ours, twin - const


@pytest.mark.parametrize("effects", ["random", "fixed"])
def test_contrasts(effects):
    net = read_network(loop_network(), reference="A")
    point = {"theta": [-0.2, -0.4], "tau_log__": np.log(0.3)}
    ours, twin = _twin_and_pymc(net, effects, point)
    assert ours == pytest.approx(twin, abs=1e-8)


@pytest.mark.parametrize("link", ["cloglog", "logit"])
def test_arm_counts(link):
    t = pd.DataFrame(
        {
            "study": ["a", "a", "a", "b", "b"],
            "treatment": ["x", "y", "z", "x", "z"],
            "events": [10, 14, 8, 30, 22],
            "n": [50, 52, 49, 120, 118],
            "time": [2.0, 2.0, 2.0, 3.5, 3.5],
        }
    )
    net = read_network(t, reference="x", link=link)
    point = {
        "theta": [0.2, -0.3],
        "tau_log__": np.log(0.25),
        "z": [0.4, -1.1, 0.7],
        "mu": [-1.5, -0.8],
    }
    ours, twin = _twin_and_pymc(net, "random", point)
    assert ours == pytest.approx(twin, abs=1e-8)


def test_ipd(tmp_path):
    rng = np.random.default_rng(2)
    pd.DataFrame(
        {
            "time": rng.exponential(10, 60),
            "event": rng.integers(0, 2, 60),
            "treatment": np.repeat(["x", "y"], 30),
        }
    ).to_csv(tmp_path / "i.csv", index=False)
    pd.DataFrame(
        {
            "study": ["s", "s", "c"],
            "treatment": ["x", "y", "y"],
            "comparator": [None, None, "x"],
            "log_hr": [None, None, -0.2],
            "se": [None, None, 0.2],
            "ipd": ["i.csv", "i.csv", None],
        }
    ).to_csv(tmp_path / "net.csv", index=False)
    net = read_network(tmp_path / "net.csv", reference="x")
    nd = build_data(net, n_intervals=4)
    point = {
        "theta": [-0.3],
        "tau_log__": np.log(0.2),
        "z": [0.5],
        "alpha": rng.normal(-2.3, 0.2, (1, nd.n_intervals)),
    }
    ours, twin = _twin_and_pymc(net, "random", point)
    assert ours == pytest.approx(twin, abs=1e-8)
