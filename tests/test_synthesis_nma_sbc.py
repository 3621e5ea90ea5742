"""Simulation-based calibration of the random-effects network meta-analysis (Talts et al. 2018):
uniform ranks of d and tau over simulated networks, and a negative control that fails."""

import pytest

from bayesurv.simulation.calibration import uniformity_pvalue
from bayesurv.synthesis.calibration import sbc_nma

pytestmark = [pytest.mark.mcmc, pytest.mark.slow]


def test_ranks_are_uniform():
    draws, chains, thin = 250, 4, 10
    ranks = sbc_nma(reps=80, seed=3, draws=draws, chains=chains, thin=thin)
    n_max = draws * chains // thin
    for name, r in ranks.items():
        assert uniformity_pvalue(r, n_max) > 0.001, (name, r)


def test_negative_control_fails():
    # heterogeneity simulated from HalfNormal(2) while the model's prior is HalfNormal(0.5):
    # the true tau sits above most posterior draws, so its ranks pile up at the top
    draws, chains, thin = 250, 4, 10
    ranks = sbc_nma(reps=40, seed=5, draws=draws, chains=chains, thin=thin, simulated_tau_sd=2.0)
    assert uniformity_pvalue(ranks["tau"], draws * chains // thin) < 0.001
