"""Posterior predictive p-values of a pool: does any trial, or the spread of all, surprise the
model?

* **Cross-validatory conflict p-value per trial** (Marshall and Spiegelhalter 2003): pool the
  other trials exactly, predict trial ``i``'s estimate, ``y_i^rep ~ theta_new + N(0, s_i^2)``
  (a normal mixture), and report ``2 min(F(y_i), 1 - F(y_i))``. Small values flag a trial the
  others do not predict.
* **Posterior predictive p-value of the heterogeneity** (Gelman, Meng and Stern 1996) with the
  discrepancy ``T(y; mu, tau) = sum_i (y_i - mu)^2 / (s_i^2 + tau^2)``: for new trials drawn
  from the model ``y^rep_i ~ N(mu, s_i^2 + tau^2)``, ``T(y^rep)`` is chi-square with k degrees of
  freedom given (mu, tau), so ``p = E[ chi2_k.sf(T(y; mu, tau)) | y ]`` (Rao-Blackwellized over
  exact posterior draws). Values near 0 mean more spread than the model allows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bayesurv.synthesis.normal_normal import ExactPosterior, solve


def conflict_pvalues(post: ExactPosterior) -> pd.DataFrame:
    """One row per trial: ``study``, the predictive median and 95% interval of its estimate from
    the other trials, and the two-sided ``p_value``."""
    rows = []
    k = post.y.size
    for i in range(k):
        if k < 2:
            break
        keep = np.arange(k) != i
        other = solve(post.y[keep], post.s[keep], post.mu_prior, post.tau_prior)
        pred = other.theta_new().convolve(float(post.s[i]))
        f = float(pred.cdf(post.y[i]))
        lo, hi = pred.interval(0.95)
        rows.append(
            {
                "study": post.labels[i],
                "observed": float(post.y[i]),
                "predicted_median": pred.median(),
                "predicted_lower": lo,
                "predicted_upper": hi,
                "p_value": 2 * min(f, 1 - f),
            }
        )
    return pd.DataFrame(rows)


def heterogeneity_ppp(post: ExactPosterior, draws: int = 4000, seed: int = 1) -> float:
    """Posterior predictive p-value of ``T(y; mu, tau)`` (see the module docstring)."""
    mu, tau = post.sample_mu_tau(np.random.default_rng(seed), draws)
    # T summed over studies in blocks of draws (draws x studies would not fit for 100,000)
    step = max(1, (1 << 22) // post.y.size)
    t = np.concatenate(
        [
            (
                (post.y[None] - mu[i : i + step, None]) ** 2
                / (post.s**2 + tau[i : i + step, None] ** 2)
            ).sum(1)
            for i in range(0, draws, step)
        ]
    )
    return float(stats.chi2.sf(t, post.y.size).mean())
