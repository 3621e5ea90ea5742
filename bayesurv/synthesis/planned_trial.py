"""Operating characteristics of a planned time-to-event trial that borrows through a (robust)
MAP prior: power, type I error and probability of success.

The planned trial reports ``y``, the log HR estimated from ``d`` events with ``k:1``
allocation, ``y ~ N(theta, se^2)``, ``se = (1 + k) / sqrt(k d)`` (Schoenfeld 1981). With prior
``p(theta)`` (a normal mixture: the MAP or robust MAP prior of :mod:`~bayesurv.synthesis.map_prior`)
the trial succeeds when ``P(theta < margin | y) > q`` (by default ``P(HR < 1 | y) > 0.975``).
The posterior is the mixture updated component by component; it is stochastically increasing in
``y`` (a normal likelihood has a monotone likelihood ratio), so success is ``y < y_c`` for one
critical value found by root finding, as RBesT's ``decision1S_boundary``. Then

    power(theta) = Phi((y_c - theta) / se),  type I error = power(margin),
    probability of success = P(y < y_c) with y ~ design prior convolved with N(0, se^2)

(the design prior is the MAP prior itself by default: the assurance of the trial if the new
trial's effect is drawn like the historical ones).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, stats

from bayesurv.errors import InputError
from bayesurv.synthesis.ess import ess_events, log_hr_sigma
from bayesurv.synthesis.mixture import NormalMixture


def planned_se(events: float, allocation: float = 1.0) -> float:
    """``(1 + k) / sqrt(k d)``: the se of the log HR of a trial with ``d`` events."""
    if not events > 0:
        raise InputError(f"the planned trial's events {events:g} must be positive.")
    return log_hr_sigma(allocation) / math.sqrt(events)


def success_probability(prior: NormalMixture, y: float, se: float, margin: float = 0.0) -> float:
    """``P(theta < margin | y)`` after observing ``y`` with standard error ``se``."""
    return float(prior.update(y, se).cdf(margin))


def critical_value(prior: NormalMixture, se: float, q: float = 0.975, margin: float = 0.0) -> float:
    """The largest estimate ``y_c`` with ``P(theta < margin | y_c) >= q``."""
    if not 0 < q < 1:
        raise InputError(f"the success threshold {q:g} must lie in (0, 1), e.g. 0.975.")
    f = lambda y: success_probability(prior, y, se, margin) - q  # noqa: E731
    lo = float(np.min(prior.means - 20 * prior.sds)) - 20 * se
    hi = float(np.max(prior.means + 20 * prior.sds)) + 20 * se
    if f(lo) < 0:
        return -math.inf  # even a very favourable estimate does not succeed
    if f(hi) > 0:
        return math.inf
    return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))


def operating_characteristics(
    prior: NormalMixture,
    events: float,
    allocation: float = 1.0,
    q: float = 0.975,
    margin: float = 0.0,
    true_hrs: Sequence[float] = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5),
    design_prior: NormalMixture | None = None,
) -> dict:
    """Power at each true HR, type I error (at HR = exp(margin)), probability of success under
    ``design_prior`` (default ``prior``), the critical HR and the prior's ESS in events.

    Examples
    --------
    >>> oc = operating_characteristics(NormalMixture.normal(0.0, 10.0), events=200)
    >>> round(oc["type_one_error"], 3)   # a vague prior: the frequentist one-sided 2.5%
    0.025
    """
    se = planned_se(events, allocation)
    prior = prior.compress()  # an exact MAP prior has a component per tau node
    yc = critical_value(prior, se, q, margin)
    power = [
        {"hr": float(h), "power": float(stats.norm.cdf((yc - math.log(h)) / se))} for h in true_hrs
    ]
    dp = design_prior or prior
    return {
        "events": float(events),
        "allocation": float(allocation),
        "se": se,
        "decision": f"P(HR < {math.exp(margin):g} | data) > {q:g}",
        "critical_hr": math.exp(yc) if math.isfinite(yc) else (0.0 if yc < 0 else math.inf),
        "type_one_error": float(stats.norm.cdf((yc - margin) / se)),
        "power": power,
        "probability_of_success": float(dp.convolve(se).cdf(yc)),
        "prior_ess_events": ess_events(prior, allocation),
    }
