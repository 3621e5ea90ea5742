"""Effective sample size of a normal-mixture prior, in events for a log hazard ratio.

A prior's ESS is the number of observations, each with sampling sd ``sigma``, that carry as much
information. For a log HR estimated from ``d`` events with allocation ratio ``k:1``
(experimental:control), ``var(log HR) ~ (1 + k)^2 / (k d)`` (Schoenfeld 1981), so one event is
one observation with ``sigma = (1 + k) / sqrt(k)`` (2 for 1:1) and the ESS is in events. Three
methods, as RBesT's ``ess()`` computes them for normal mixtures:

* **ELIR** (expected local information ratio; Neuenschwander, Weber, Schmidli and O'Hagan 2020):
  ``sigma^2 E_prior[i(theta)]``, with ``i = -d^2/dtheta^2 log p(theta)``; the one method that is
  predictively consistent (the expected posterior ESS after ``n`` observations is ESS + n).
* **moment** (variance ratio): ``sigma^2 / var(prior)``; conservative for mixtures.
* **Morita** (Morita, Thall and Mueller 2008, in Neuenschwander et al.'s 2019 form without the
  minimization): ``sigma^2 [i(mode) - 1 / (s max_k sd_k^2)]`` with ``s = 100``; liberal.

For one normal ``N(m, sd^2)`` ELIR and moment give ``sigma^2 / sd^2`` and Morita
``(1 - 1/s) sigma^2 / sd^2`` (RBesT's identities).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from bayesurv.errors import InputError
from bayesurv.synthesis.mixture import NormalMixture

METHODS = ("elir", "moment", "morita")


def log_hr_sigma(allocation: float = 1.0) -> float:
    """The sampling sd of one event's worth of log HR information, ``(1 + k) / sqrt(k)`` for
    ``k:1`` allocation (2 for 1:1)."""
    if not allocation > 0:
        raise InputError(f"allocation ratio {allocation:g} must be positive (e.g. 1 or 2).")
    return (1 + allocation) / math.sqrt(allocation)


def _grid(prior: NormalMixture, n: int = 20001) -> np.ndarray:
    lo = float(np.min(prior.means - 14 * prior.sds))
    hi = float(np.max(prior.means + 14 * prior.sds))
    return np.linspace(lo, hi, n)


def information(prior: NormalMixture, x) -> np.ndarray:
    """``i(x) = -d^2/dx^2 log p(x)`` of the mixture, in closed form:
    ``(p'/p)^2 - p''/p``."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    z = (x[:, None] - prior.means) / prior.sds
    logc = stats.norm.logpdf(z) - np.log(prior.sds) + np.log(prior.weights)
    top = logc.max(axis=1, keepdims=True)
    c = np.exp(logc - top)  # scaled component densities
    p = c.sum(1)
    d1 = (c * (-z / prior.sds)).sum(1)
    d2 = (c * ((z**2 - 1) / prior.sds**2)).sum(1)
    return (d1 / p) ** 2 - d2 / p


def mode(prior: NormalMixture) -> float:
    """The highest mode of the mixture (grid, then refined)."""
    x = _grid(prior, 20001)
    j = int(np.argmax(prior.logpdf(x)))
    res = optimize.minimize_scalar(
        lambda t: -float(prior.logpdf(t)),
        bounds=(x[max(j - 1, 0)], x[min(j + 1, x.size - 1)]),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return float(res.x)


def ess(prior: NormalMixture, sigma: float, method: str = "elir", s: float = 100.0) -> float:
    """Effective sample size of ``prior`` for observations with sampling sd ``sigma``.

    Examples
    --------
    >>> round(ess(NormalMixture.normal(0.0, 0.5), sigma=2.0), 6)  # 4 / 0.25 = 16 events
    16.0
    """
    if method not in METHODS:
        raise InputError(f"ESS method {method!r} is not known; use elir, moment or morita.")
    if not sigma > 0:
        raise InputError(f"the reference scale sigma {sigma:g} must be positive.")
    prior = prior.compress()  # an exact MAP prior has a component per tau node
    if method == "moment":
        return sigma**2 / prior.var
    if method == "morita":
        i0 = float(information(prior, mode(prior))[0])
        return sigma**2 * (i0 - 1.0 / (s * float(np.max(prior.sds**2))))
    x = _grid(prior)
    f = prior.pdf(x) * information(prior, x)
    return sigma**2 * float(np.trapezoid(f, x))


def ess_events(prior: NormalMixture, allocation: float = 1.0) -> dict[str, float]:
    """The three ESS of a log-HR prior, in events (``sigma = (1 + k)/sqrt(k)``)."""
    sigma = log_hr_sigma(allocation)
    return {m: ess(prior, sigma, m) for m in METHODS}
