"""The examples in the docstrings run and give what they say."""

import doctest
import importlib

import pytest

MODULES = [
    "bayesurv",
    "bayesurv.datasets",
    "bayesurv.nonparametric",
    "bayesurv.evidence.curves",
    "bayesurv.reconstruct",
    "bayesurv.emulate",
    "bayesurv.provenance",
    "bayesurv.query",
    "bayesurv.report",
    "bayesurv.report_format",
    "bayesurv.survival.splines",
    "bayesurv.survival.cure",
    "bayesurv.evidence.reported",
    "bayesurv.priors",
    "bayesurv.intervals",
    "bayesurv.survival.waning",
    "bayesurv.survival.population",
    "bayesurv.simulation.simulate",
    "bayesurv.plots.extrapolation",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
