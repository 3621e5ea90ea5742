"""Simulation-based calibration: rank uniformity of every sampled parameter of every family.

40 replications x 80 patients per family (benchmarks/bench_fit_sbc.py runs the larger version).
A chi-square test over 5 bins at the 0.001 level: lenient, because 2 x 200 draws thinned by 2
leave some autocorrelation. The negative control shows the test can fail: data simulated with
times stretched by 1.5 (a wrong model) must give non-uniform ranks.
"""

import numpy as np
import pytest

from bayesurv.simulation.calibration import (
    SBC_PRIORS,
    sbc_ranks,
    sbc_ranks_cure,
    uniformity_pvalue,
)


@pytest.mark.mcmc
@pytest.mark.slow
@pytest.mark.parametrize("family", list(SBC_PRIORS))
def test_sbc_ranks_are_uniform(family):
    ranks = sbc_ranks(family, n_rep=40, seed=17)
    n_max = 2 * 200 // 2
    for name, r in ranks.items():
        assert r.size == 40
        # the discrete uniform on 0..n_max: mean n_max / 2, sd sqrt(((n_max + 1)^2 - 1) / 12);
        # the mean of 40 ranks within 4 of its standard errors (a bias the 5 bins can miss)
        se = np.sqrt(((n_max + 1) ** 2 - 1) / 12 / r.size)
        assert abs(r.mean() - n_max / 2) < 4 * se, (family, name, r.mean())
        p = uniformity_pvalue(r, n_max)
        assert p > 1e-3, (family, name, p, sorted(r))


@pytest.mark.mcmc
@pytest.mark.slow
def test_sbc_detects_a_wrong_model():
    ranks = sbc_ranks("weibull", n_rep=40, seed=17, time_scale=1.5)
    assert uniformity_pvalue(ranks["log_median"], 200) < 1e-3


# ---- the cure models ------------------------------------------------------------------------
@pytest.mark.mcmc
@pytest.mark.slow
@pytest.mark.parametrize(("cure", "background"), [("mixture", True), ("non-mixture", False)])
def test_sbc_cure_models_are_calibrated(cure, background):
    """60 replications x 200 patients: Weibull cure model (with US 2014 mortality for patients
    aged 50-70 in the mixture case), data from bayesurv.simulation.simulate."""
    ranks = sbc_ranks_cure(cure, background=background, n_rep=60, seed=23)
    for name, r in ranks.items():
        assert len(r) >= 58
        p = uniformity_pvalue(r, 200)
        assert p > 1e-3, (cure, name, p, sorted(r))


@pytest.mark.mcmc
@pytest.mark.slow
def test_sbc_cure_detects_ignored_background_mortality():
    # simulated with general-population deaths of 50-70-year-olds, fitted without them
    ranks = sbc_ranks_cure("mixture", background=True, fit_background=False, n_rep=40, seed=5)
    assert min(uniformity_pvalue(r, 200) for r in ranks.values()) < 1e-3
