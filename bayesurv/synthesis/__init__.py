"""Hierarchical synthesis of log hazard ratios.

- :mod:`~bayesurv.synthesis.priors`: prior strings and Turner et al. (2015) priors
- :mod:`~bayesurv.synthesis.normal_normal`: exact posterior by quadrature over tau (reference)
- :mod:`~bayesurv.synthesis.model`: the PyMC model (non-centred or marginal), sampled by nutpie
- :mod:`~bayesurv.synthesis.pool`: one entry point (:func:`pool`), results, sensitivity table
- :mod:`~bayesurv.synthesis.map_prior`: MAP prior, robustification, prior-data conflict
- :mod:`~bayesurv.synthesis.ipd_agd`: one-stage IPD (piecewise exponential) + reported HRs
- :mod:`~bayesurv.synthesis.frequentist`: REML and DerSimonian-Laird reference estimates
"""

from bayesurv.synthesis.map_prior import MapPrior, map_prior
from bayesurv.synthesis.normal_normal import ExactPosterior, solve
from bayesurv.synthesis.pool import PoolResult, pool, sensitivity
from bayesurv.synthesis.priors import Prior, parse_prior, turner_prior

__all__ = ["ExactPosterior", "MapPrior", "PoolResult", "Prior", "map_prior", "parse_prior",
           "pool", "sensitivity", "solve", "turner_prior"]
