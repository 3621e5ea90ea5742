"""Meta-analytic-predictive (MAP) prior for a new trial's log HR, its robust version, and
prior-data conflict.

MAP prior (Neuenschwander et al. 2010; Schmidli et al. 2014, Biometrics 70:1023): the posterior
predictive of a new trial's effect from the historical trials, ``theta_new | y``. From the exact
solver it is a mixture of normals over the ``tau`` grid. Robust MAP::

    (1 - w) * MAP + w * N(m_v, s_v^2)

with a weakly informative component; the default ``N(0, 2^2)`` carries about one event's worth of
information for a log HR (var(log HR) ~ 4 / events). Conflict of a new trial's estimate
``y* ~ N(theta, s*^2)`` with the prior is measured by the prior predictive ``p(y*)``
(the prior convolved with ``N(0, s*^2)``): the two-sided tail probability
``2 min(F(y*), 1 - F(y*))``, Box's (1980) p-value ``P(p(Y) <= p(y*))``, and the posterior weight of
the weakly informative component after seeing ``y*``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesurv.errors import InputError
from bayesurv.synthesis.mixture import NormalMixture, approximate
from bayesurv.synthesis.pool import pool

VAGUE_SD = 2.0  # one event's worth of information for a 1:1 log HR (sigma = 2)


@dataclass(frozen=True)
class MapPrior:
    """A MAP prior, its robust version and the weight of the weakly informative component."""

    map: NormalMixture
    vague: NormalMixture
    weight: float

    @property
    def robust(self) -> NormalMixture:
        return self.map.mix(self.vague, self.weight)

    def map_components(self, n_components: int = 3) -> NormalMixture:
        """The exact MAP prior approximated by a few normals (as RBesT reports a MAP prior)."""
        return approximate(self.map, n_components)

    def ess(self, allocation: float = 1.0) -> dict[str, dict[str, float]]:
        """Effective sample size in events (ELIR, moment, Morita; :mod:`bayesurv.synthesis.ess`)
        of the MAP prior and of its robust version, for a new trial with ``allocation:1``."""
        from bayesurv.synthesis.ess import ess_events

        return {
            "map": ess_events(self.map, allocation),
            "robust": ess_events(self.robust, allocation),
        }

    def as_dict(self, n_components: int = 3) -> dict[str, object]:
        """A short, reportable form: the MAP prior as a few components, the robust part, and
        the effective sample sizes in events (reported with every MAP prior)."""
        m = self.map_components(n_components)
        return {
            "map": {
                "weights": m.weights.tolist(),
                "means": m.means.tolist(),
                "sds": m.sds.tolist(),
                "exact_summary": self.map.summary(),
            },
            "vague": {"mean": float(self.vague.means[0]), "sd": float(self.vague.sds[0])},
            "robust_weight": self.weight,
            "ess_events": self.ess(),
        }

    def conflict(self, y_new: float, se_new: float) -> dict[str, float]:
        """Prior-data conflict of a new trial's estimate ``y_new`` (log HR) with s.e. ``se_new``."""
        if not se_new > 0:
            raise InputError(f"the new trial's se {se_new:g} must be positive.")
        pred_map = self.map.convolve(se_new)
        pred_vague = self.vague.convolve(se_new)
        pred = self.robust.convolve(se_new)
        f_map = float(pred_map.pdf(y_new))
        f_vague = float(pred_vague.pdf(y_new))
        w_post = self.weight * f_vague / (self.weight * f_vague + (1 - self.weight) * f_map)
        post = self.robust.update(y_new, se_new)
        return {
            "predictive_tail_p": _tail_p(pred_map, y_new),
            "box_p": box_p(pred_map, y_new),
            "robust_predictive_tail_p": _tail_p(pred, y_new),
            "robust_weight_prior": self.weight,
            "robust_weight_posterior": float(w_post),
            "posterior_mean": post.mean,
            "posterior_median": post.median(),
            "posterior_lower": post.interval()[0],
            "posterior_upper": post.interval()[1],
        }


def _tail_p(pred: NormalMixture, y: float) -> float:
    f = float(pred.cdf(y))
    return float(2 * min(f, 1 - f))


def box_p(pred: NormalMixture, y: float, n: int = 4001) -> float:
    """Box's p-value ``P(p(Y) <= p(y))`` for ``Y`` from the prior predictive ``pred`` (grid rule,
    accurate to about 1e-3)."""
    lo = float(np.min(pred.means - 12 * pred.sds))
    hi = float(np.max(pred.means + 12 * pred.sds))
    x = np.linspace(lo, hi, n)
    f = pred.pdf(x)
    fy = float(pred.pdf(y))
    mass = np.where(f <= fy, f, 0.0)
    return float(np.clip(np.trapezoid(mass, x) / np.trapezoid(f, x), 0.0, 1.0))


def map_prior(
    effects,
    mu_prior=None,
    tau_prior=None,
    weight: float = 0.2,
    vague_mean: float = 0.0,
    vague_sd: float = VAGUE_SD,
) -> MapPrior:
    """MAP prior for a new trial's log HR from historical effects (exact solver), robustified.

    Parameters
    ----------
    effects : as for :func:`bayesurv.synthesis.pool.pool`.
    mu_prior, tau_prior : priors (strings or Prior).
    weight : weight of the weakly informative component, in [0, 1).
    vague_mean, vague_sd : the weakly informative component N(vague_mean, vague_sd^2).

    Examples
    --------
    >>> m = map_prior(([-0.97, -0.36, -0.27], [0.28, 0.2, 0.21], ["a", "b", "c"]), weight=0.2)
    >>> m.robust.sd > m.map.sd
    True
    """
    if not 0 <= weight < 1:
        raise InputError(f"robust weight {weight:g} must be in [0, 1).")
    r = pool(effects, mu_prior=mu_prior, tau_prior=tau_prior, method="exact")
    return MapPrior(
        map=r.theta_new, vague=NormalMixture.normal(vague_mean, vague_sd), weight=float(weight)
    )
