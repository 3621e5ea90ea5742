"""Frequentist random-effects estimates used as reference points: REML and DerSimonian-Laird.

Both estimate the between-study variance ``tau^2`` of ``y_i ~ N(mu, s_i^2 + tau^2)`` and then
``mu`` by inverse-variance weighting with ``w_i = 1/(s_i^2 + tau^2)``. REML maximizes the restricted
likelihood, which is the marginal posterior of ``tau`` under a flat prior on ``mu`` and a uniform
prior on ``tau`` (see :mod:`bayesurv.synthesis.normal_normal`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from bayesurv.synthesis.normal_normal import _check_data, log_marginal_likelihood
from bayesurv.synthesis.priors import Prior


@dataclass(frozen=True)
class RandomEffectsEstimate:
    """``tau2``, ``mu`` and the standard error of ``mu`` given ``tau2``; ``q`` is Cochran's Q."""

    method: str
    tau2: float
    mu: float
    se: float
    q: float

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))


def _mu_given(tau2: float, y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    w = 1.0 / (s**2 + tau2)
    return float(np.dot(w, y) / w.sum()), float(np.sqrt(1.0 / w.sum()))


def cochran_q(y, s) -> float:
    y, s = _check_data(y, s)
    w = 1 / s**2
    return float(np.dot(w, (y - np.dot(w, y) / w.sum()) ** 2))


def dersimonian_laird(y, s) -> RandomEffectsEstimate:
    """DerSimonian & Laird (1986) moment estimate of ``tau^2`` (truncated at zero)."""
    y, s = _check_data(y, s)
    w = 1 / s**2
    q = cochran_q(y, s)
    c = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (q - (y.size - 1)) / c)
    mu, se = _mu_given(tau2, y, s)
    return RandomEffectsEstimate("DL", tau2, mu, se, q)


def reml(y, s) -> RandomEffectsEstimate:
    """Restricted maximum likelihood estimate of ``tau^2`` (boundary at zero allowed)."""
    y, s = _check_data(y, s)
    flat = Prior("flat")

    def neg(tau):
        return -float(log_marginal_likelihood(np.array(tau), y, s, flat))

    hi = float(np.ptp(y) + 10 * s.max()) if y.size > 1 else float(10 * s.max())
    grid = np.linspace(0, hi, 2001)
    vals = -np.array([neg(t) for t in grid])
    j = int(np.argmax(vals))
    lo_b, hi_b = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
    res = optimize.minimize_scalar(neg, bounds=(lo_b, hi_b), method="bounded",
                                   options={"xatol": 1e-12})
    tau = float(res.x) if -res.fun >= vals[j] else float(grid[j])
    mu, se = _mu_given(tau**2, y, s)
    return RandomEffectsEstimate("REML", tau**2, mu, se, cochran_q(y, s))
