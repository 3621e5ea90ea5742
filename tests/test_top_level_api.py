"""The package's entry points (``bayesurv.fit``, ``bayesurv.pool``...) are the functions of
their modules, imported on first use: ``import bayesurv`` loads neither PyMC nor PyTensor."""

import subprocess
import sys

import numpy as np
import pytest
from reference_pool import NormalNormal

import bayesurv


@pytest.mark.parametrize("name", sorted(bayesurv._LAZY))
def test_each_entry_point_is_its_modules_function(name):
    import importlib

    module, attr = bayesurv._LAZY[name]
    assert getattr(bayesurv, name) is getattr(importlib.import_module(module), attr)
    assert name in dir(bayesurv) and name in bayesurv.__all__


def test_import_is_light_and_unknown_names_fail_as_usual():
    code = "import sys, bayesurv; print(sorted({'pymc', 'pytensor', 'arviz'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    with pytest.raises(AttributeError, match="no attribute 'fitt'"):
        bayesurv.fitt  # noqa: B018


def test_importing_a_submodule_keeps_the_entry_points():
    # bayesurv.reconstruct is a module; the one-arm function is reconstruct_ipd, so importing
    # the module cannot replace it (nor fit, pool, nma: no submodule has those names)
    import bayesurv.reconstruct as module

    assert bayesurv.reconstruct_ipd is module.reconstruct
    assert not any(__import__("importlib").util.find_spec(f"bayesurv.{n}") for n in bayesurv._LAZY)


def test_top_level_pool_equals_an_independent_quadrature():
    y, s = np.array([-0.97, -0.36, -0.27]), np.array([0.28, 0.2, 0.21])
    r = bayesurv.pool((y, s, ["a", "b", "c"]))
    ref = NormalNormal(y, s, m0=0.0, sd0=4.0, tau_scale=0.5)
    hr = r.summary()["pooled"]["hr"]["median"]
    assert np.log(hr) == pytest.approx(ref.mu_quantile(0.5), abs=1e-3)
