"""bayesurv.sampling: the disk-cached nutpie callbacks compute nutpie's log density, gradient
and expansion (at points, and after ``with_data``), and sample nutpie's own draws; the
convergence checks say in words what failed."""

import ctypes

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from bayesurv.sampling import Diagnostics, check, compile_model, diagnostics, sample


def _model(y, x):
    with pm.Model() as m:
        yd = pm.Data("y", y)
        xd = pm.Data("x", x)
        a = pm.Normal("a", 0, 10)
        b = pm.Normal("b", 0, 10, shape=2)
        s = pm.HalfNormal("s", 2)
        pm.Normal("obs", a + b[0] * xd[:, 0] + b[1] * xd[:, 1], s, observed=yd)
    return m


def _data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return 1.0 + x @ np.array([0.5, -0.3]) + rng.normal(0, 0.7, n), x


def _call_logp(compiled, point):
    """The logp callback through its C address, as nutpie's sampler calls it."""
    f = ctypes.CFUNCTYPE(
        ctypes.c_int64,
        ctypes.c_uint64,
        ctypes.POINTER(ctypes.c_double),
        ctypes.POINTER(ctypes.c_double),
        ctypes.POINTER(ctypes.c_double),
        ctypes.c_void_p,
    )(compiled.compiled_logp_func.address)
    x = np.ascontiguousarray(point, dtype=float)
    grad, lp = np.zeros_like(x), np.zeros(1)
    ptr = ctypes.POINTER(ctypes.c_double)
    code = f(
        x.size,
        x.ctypes.data_as(ptr),
        grad.ctypes.data_as(ptr),
        lp.ctypes.data_as(ptr),
        compiled.user_data.ctypes.data,
    )
    return code, float(lp[0]), grad


def test_callbacks_compute_pytensors_logp_and_gradient_and_see_new_data():
    m = _model(*_data(50, 1))
    compiled = compile_model(m)
    point = np.array([0.3, 0.2, -0.1, np.log(0.8)])  # a, b (2), log s
    code, lp, grad = _call_logp(compiled, point)
    want_lp, want_grad = compiled.logp_func(point)  # PyTensor's own function, same graph
    assert code == 0
    assert lp == pytest.approx(float(want_lp), rel=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12)
    # independent: the normal log-likelihood and priors at the point, by hand
    y, x = _data(50, 1)
    s = 0.8
    mu = 0.3 + x @ np.array([0.2, -0.1])
    ll = np.sum(-0.5 * ((y - mu) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi))
    prior = (
        np.sum(-0.5 * (np.array([0.3, 0.2, -0.1]) / 10) ** 2 - np.log(10 * np.sqrt(2 * np.pi)))
        + np.log(2 / (2 * np.sqrt(2 * np.pi))) - 0.5 * (s / 2) ** 2 + np.log(s)  # Jacobian
    )  # fmt: skip
    assert lp == pytest.approx(ll + prior, rel=1e-8)  # numba fastmath: ~1e-9
    # new data of another size through nutpie's with_data
    y2, x2 = _data(80, 2)
    again = compiled.with_data(y=y2, x=x2)
    _, lp2, _ = _call_logp(again, point)
    mu2 = 0.3 + x2 @ np.array([0.2, -0.1])
    ll2 = np.sum(-0.5 * ((y2 - mu2) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi))
    assert lp2 == pytest.approx(ll2 + prior, rel=1e-8)
    # a non-finite log density is reported with nutpie's code, not as a number
    assert _call_logp(compiled, np.array([0.3, 0.2, -0.1, 800.0]))[0] in (3, 4)


@pytest.mark.mcmc
def test_cached_callbacks_give_nutpies_own_draws():
    import nutpie

    m = _model(*_data(60, 3))
    ours = sample(compile_model(m), seed=5, draws=200, tune=200, chains=2)
    theirs = sample(nutpie.compile_pymc_model(m), seed=5, draws=200, tune=200, chains=2)
    for name in ("a", "b", "s"):
        np.testing.assert_array_equal(ours["posterior"][name], theirs["posterior"][name])


_LOGP_HEX = """
import sys, warnings
import numpy as np
import pandas as pd
from bayesurv.survival.builder import compiled
from bayesurv.survival.data import prepare
from bayesurv.survival.structure import ModelSpec
warnings.simplefilter("ignore")
rng = np.random.default_rng(4)
ipd = pd.DataFrame({"time": rng.weibull(1.3, 300) * 10, "event": rng.integers(0, 2, 300),
                    "arm": np.repeat(["a", "b"], 150)})
spec, d, _ = prepare(ModelSpec("weibull", arm="arm"), ipd)
lp, g = compiled(spec, d).logp_func(np.array([2.1, 0.25, -0.4]))
print(float(lp).hex(), *(float(v).hex() for v in g))
"""


@pytest.mark.mcmc
def test_a_fresh_compile_and_a_cached_one_give_the_same_bits(tmp_path):
    # same seed, same numbers whatever the compile cache holds: with numba fastmath on, the
    # gradient of a freshly compiled Weibull differed in its last bits from the same function
    # loaded from the cache (so the first fit on a machine drew other chains than the next)
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
    env.pop("PYTHONHASHSEED", None)
    runs = [
        subprocess.run(
            [sys.executable, "-c", _LOGP_HEX], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)  # the first compiles into the empty cache, the second loads from it
    ]
    assert len(runs[0]) == 4 and runs[0] == runs[1]


def test_diagnostics_name_every_failed_check():
    rng = np.random.default_rng(0)
    stuck = np.stack([rng.normal(0, 1, 100), rng.normal(3, 1, 100)])  # two chains apart
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"x": (("chain", "draw"), stuck)}),
            "sample_stats": xr.Dataset(
                {"diverging": (("chain", "draw"), np.eye(2, 100, dtype=bool))}
            ),
        }
    )
    d = diagnostics(tree)
    assert d.rhat_max > 1.5 and d.divergences == 2 and d.chains == 2 and d.draws == 100
    text = "; ".join(d.problems)
    assert "R-hat" in text and "bulk ESS" in text and "2 divergent transitions" in text
    with pytest.warns(UserWarning, match="the toy fit may not have converged: R-hat"):
        check(d, "the toy fit")
    good = Diagnostics(1.0, 1000.0, 1000.0, 0, 4, 1000)
    assert good.problems == []
