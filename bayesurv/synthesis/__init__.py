"""Hierarchical synthesis of log hazard ratios.

- :mod:`~bayesurv.synthesis.priors`: prior strings and Turner et al. (2015) priors
- :mod:`~bayesurv.synthesis.normal_normal`: exact posterior by quadrature over tau (reference)
- :mod:`~bayesurv.synthesis.model`: the PyMC model (non-centred or marginal), sampled by nutpie
- :mod:`~bayesurv.synthesis.pool`: one entry point (:func:`pool`), results, sensitivity table
- :mod:`~bayesurv.synthesis.map_prior`: MAP prior, robustification, prior-data conflict
- :mod:`~bayesurv.synthesis.ipd_agd`: one-stage IPD (piecewise exponential) + reported HRs
- :mod:`~bayesurv.synthesis.frequentist`: REML, DerSimonian-Laird, I^2, Q-profile, Knapp-Hartung,
  prediction intervals, leave-one-out: the frequentist reference points
- :mod:`~bayesurv.synthesis.normal_linear`: exact posterior of y ~ N(X beta, S + tau^2 K)
- :mod:`~bayesurv.synthesis.metaregression`: meta-regression on study covariates
- :mod:`~bayesurv.synthesis.bayes_factors`, :mod:`~bayesurv.synthesis.predictive_checks`
- :mod:`~bayesurv.synthesis.network`, :mod:`~bayesurv.synthesis.nma_model`,
  :mod:`~bayesurv.synthesis.nma`: network meta-analysis (contrasts, arm counts, IPD)
- :mod:`~bayesurv.synthesis.ess`, :mod:`~bayesurv.synthesis.planned_trial`: effective sample
  size of (MAP) priors, operating characteristics of a planned trial borrowing through one
- :mod:`~bayesurv.synthesis.calibration`: simulation-based calibration of the NMA
"""

from bayesurv.synthesis.map_prior import MapPrior, map_prior
from bayesurv.synthesis.metaregression import metaregression
from bayesurv.synthesis.network import read_network
from bayesurv.synthesis.nma import NmaResult, nma
from bayesurv.synthesis.normal_normal import ExactPosterior, solve
from bayesurv.synthesis.pool import PoolResult, pool, sensitivity
from bayesurv.synthesis.priors import Prior, parse_prior, rhodes_prior, turner_prior

__all__ = [
    "ExactPosterior",
    "MapPrior",
    "NmaResult",
    "PoolResult",
    "Prior",
    "map_prior",
    "metaregression",
    "nma",
    "parse_prior",
    "pool",
    "read_network",
    "rhodes_prior",
    "sensitivity",
    "solve",
    "turner_prior",
]
