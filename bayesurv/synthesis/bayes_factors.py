"""Bayes factors of a pool for "no heterogeneity" (tau = 0) and "no effect" (mu = 0).

From the exact solver (:mod:`~bayesurv.synthesis.normal_normal`)::

    BF01(tau = 0) = p(y | tau = 0) / p(y),   p(y) = int p(tau) p(y | tau) dtau

(both with ``mu`` integrated out under its prior; the quadrature's normalizing constant is
``p(y)``), and by the Savage-Dickey density ratio (Dickey 1971; valid since the prior of ``mu``
given ``tau`` does not depend on ``tau``)::

    BF01(mu = 0) = p(mu = 0 | y) / p(mu = 0).

``BF01 > 1`` favours the point hypothesis; ``BF10 = 1 / BF01``. ``mu = 0`` needs a proper prior on
``mu``; ``tau = 0`` needs a tau prior whose density is finite at 0 (not a log-normal, whose
support excludes 0 -- then the factor is 0 and says only that the prior rules tau = 0 out).
bayesmeta reports the same two factors (``$bayesfactor``, Roever 2020 Sec. 2.5).
"""

from __future__ import annotations

import math

import numpy as np

from bayesurv.synthesis.normal_normal import ExactPosterior, log_marginal_likelihood


def bayes_factors(post: ExactPosterior) -> dict[str, dict[str, float | str]]:
    """``{"tau_0": {...}, "mu_0": {...}}``, each with ``bf01``, ``bf10`` and ``log_bf01``, or a
    ``note`` saying why the factor is not defined.

    Examples
    --------
    >>> from bayesurv.synthesis.normal_normal import solve
    >>> bf = bayes_factors(solve([-0.5, -0.4, -0.6], [0.2, 0.2, 0.2]))
    >>> bf["mu_0"]["bf01"] < 1 < bf["tau_0"]["bf01"]
    True
    """
    out: dict[str, dict[str, float | str]] = {}
    if post.tau_prior.support[0] > 0 or not np.isfinite(post.tau_prior.logpdf(0.0)):
        out["tau_0"] = {"note": f"the tau prior {post.tau_prior.text} gives tau = 0 no density"}
    else:
        ll0 = float(log_marginal_likelihood(np.array(0.0), post.y, post.s, post.mu_prior))
        out["tau_0"] = _pack(ll0 - post.log_evidence)
    if post.mu_prior.family != "normal":
        out["mu_0"] = {"note": "a Bayes factor for mu = 0 needs a proper (normal) prior on mu"}
    else:
        num = float(post.mu().logpdf(0.0))
        den = float(post.mu_prior.logpdf(0.0))
        out["mu_0"] = _pack(num - den)
    return out


def _pack(log_bf01: float) -> dict[str, float]:
    """Overwhelming evidence (``|log BF| > 709``, e.g. 100,000 trials) gives an infinite factor."""
    return {"log_bf01": log_bf01, "bf01": _exp(log_bf01), "bf10": _exp(-log_bf01)}


def _exp(x: float) -> float:
    return math.exp(x) if x < 709.0 else math.inf
