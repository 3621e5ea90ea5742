"""Exact posterior of the normal-normal hierarchical model by one-dimensional quadrature.

Model (log hazard ratios)::

    y_i | theta_i ~ N(theta_i, s_i^2)          s_i known (from the reported 95% CI)
    theta_i | mu, tau ~ N(mu, tau^2)            i = 1..k
    mu ~ N(m0, s0^2) or flat,   tau ~ p(tau)

Given ``tau`` everything is normal (Roever 2020, bayesmeta, J Stat Softw 93(6)), so ``mu`` is
integrated out analytically and the marginal posterior of ``tau`` is

    p(tau | y) ∝ p(tau) * p(y | tau)   (normal marginal likelihood, mu integrated out),

which is evaluated on a dense grid in ``log tau`` (composite Simpson rule; the integrand decays at
both ends; the grid stops where the integrand falls below e^-46 of its peak, or at 1e-14 times
the median standard error, so about 1e-14 of the mass is left out). The posteriors of ``mu``,
of each shrunken effect ``theta_i`` and of a new trial's ``theta_new`` are then mixtures of
normals over the grid (:class:`~bayesurv.synthesis.mixture.NormalMixture`), with, for each ``tau``::

    mu | tau, y       ~ N(m, V),  V = 1/(1/s0^2 + sum w_i),  m = V (m0/s0^2 + sum w_i y_i)
    theta_i | tau, y  ~ N(b_i y_i + (1-b_i) m,  b_i s_i^2 + (1-b_i)^2 V),  b_i = tau^2/(tau^2+s_i^2)
    theta_new | tau,y ~ N(m, V + tau^2)

with ``w_i = 1/(s_i^2 + tau^2)``. Under a flat prior on ``mu`` and a uniform prior on ``tau`` the
marginal posterior of ``tau`` is the restricted (REML) likelihood, so its mode is the REML estimate.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, interpolate, optimize

from bayesurv.errors import InputError
from bayesurv.synthesis.mixture import NormalMixture
from bayesurv.synthesis.priors import Prior, as_prior

_LOG2PI = math.log(2 * math.pi)
_WINDOW = 46.0  # keep the part of the integrand within e^-46 (1e-20) of its maximum
_N_COARSE = 3001
_N_FINE = 2001


def _check_data(y, s) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).ravel()
    s = np.asarray(s, dtype=float).ravel()
    if y.shape != s.shape:
        raise InputError(
            "estimates and standard errors differ in length; give one se per estimate."
        )
    if y.size < 1 or not np.all(np.isfinite(y)) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise InputError("estimates must be finite and standard errors positive and finite.")
    return y, s


def conditional_mu(tau, y, s, mu_prior: Prior):
    """Mean and variance of ``mu | tau, y`` for each ``tau`` (arrays of the shape of ``tau``)."""
    tau = np.asarray(tau, dtype=float)
    w = 1.0 / (s**2 + tau[..., None] ** 2)
    prec = w.sum(-1)
    num = (w * y).sum(-1)
    if mu_prior.family == "normal":
        m0, s0 = mu_prior.params
        prec = prec + 1 / s0**2
        num = num + m0 / s0**2
    return num / prec, 1.0 / prec


def log_marginal_likelihood(tau, y, s, mu_prior: Prior):
    """``log p(y | tau)`` with ``mu`` integrated out (up to a constant for a flat ``mu`` prior)."""
    tau = np.asarray(tau, dtype=float)
    v = s**2 + tau[..., None] ** 2
    w = 1.0 / v
    prec = w.sum(-1)
    num = (w * y).sum(-1)
    quad = (w * y**2).sum(-1)
    out = -0.5 * np.log(v).sum(-1) - 0.5 * quad - 0.5 * y.size * _LOG2PI
    if mu_prior.family == "normal":
        m0, s0 = mu_prior.params
        prec = prec + 1 / s0**2
        num = num + m0 / s0**2
        quad0 = m0**2 / s0**2
        out = out - 0.5 * quad0 - math.log(s0)
    else:
        out = out + 0.5 * _LOG2PI  # flat prior of height 1
    return out + 0.5 * num**2 / prec - 0.5 * np.log(prec)


def log_posterior_tau(tau, y, s, mu_prior: Prior, tau_prior: Prior):
    """Unnormalized ``log p(tau | y)`` (``-inf`` outside the prior's support)."""
    tau = np.asarray(tau, dtype=float)
    lp = tau_prior.logpdf(tau)
    with np.errstate(invalid="ignore"):
        out = lp + log_marginal_likelihood(tau, y, s, mu_prior)
    return np.where(np.isfinite(lp), out, -np.inf)


def _simpson_weights(n: int, h: float) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return w * h / 3.0


@dataclass
class TauPosterior:
    """Marginal posterior of ``tau`` on a grid in ``log tau``: CDF, quantiles, moments, mode."""

    x: np.ndarray  # log tau nodes
    logdens_x: np.ndarray  # normalized log density of log tau at the nodes
    lower: float  # lower end of the support (0 or a)
    mode_value: float

    @property
    def tau(self) -> np.ndarray:
        return np.exp(self.x)

    @functools.cached_property
    def _spline(self) -> interpolate.CubicHermiteSpline:
        """CDF of log tau as a cubic Hermite spline (values by Simpson, slopes = density)."""
        dens = np.exp(self.logdens_x)
        c = integrate.cumulative_simpson(dens, x=self.x, initial=0.0)
        c = np.maximum.accumulate(np.maximum(c, 0.0))
        total = c[-1]
        return interpolate.CubicHermiteSpline(self.x, c / total, dens / total)

    def cdf(self, t):
        t = np.asarray(t, dtype=float)
        with np.errstate(divide="ignore"):
            xt = np.log(np.maximum(t, 1e-300))
        out = np.clip(self._spline(np.clip(xt, self.x[0], self.x[-1])), 0.0, 1.0)
        out = np.where(xt < self.x[0], 0.0, np.where(xt > self.x[-1], 1.0, out))
        return float(out) if out.ndim == 0 else out

    def ppf(self, q):
        qs = np.atleast_1d(np.asarray(q, dtype=float))
        out = []
        for p in qs:
            roots = self._spline.solve(p, extrapolate=False)
            out.append(
                math.exp(roots[0])
                if roots.size
                else math.exp(self.x[0] if p <= 0.5 else self.x[-1])
            )
        out = np.array(out)
        return float(out[0]) if np.ndim(q) == 0 else out

    def pdf(self, t):
        t = np.asarray(t, dtype=float)
        with np.errstate(divide="ignore"):
            xt = np.log(t)
        ld = np.interp(xt, self.x, self.logdens_x, left=-np.inf, right=-np.inf)
        return np.exp(ld) / t

    @property
    def _w(self) -> np.ndarray:
        w = _simpson_weights(self.x.size, self.x[1] - self.x[0]) * np.exp(self.logdens_x)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self._w, self.tau))

    @property
    def sd(self) -> float:
        return float(np.sqrt(max(np.dot(self._w, self.tau**2) - self.mean**2, 0.0)))

    def median(self) -> float:
        return float(self.ppf(0.5))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        a = (1 - level) / 2
        return float(self.ppf(a)), float(self.ppf(1 - a))

    def mode(self) -> float:
        return self.mode_value

    def hpd(self, level: float = 0.95) -> tuple[float, float]:
        """Shortest interval of ``tau`` holding ``level`` of the mass (starts at 0 when the
        density decreases from 0)."""
        from scipy import optimize as _opt

        width = lambda a: float(np.diff(self.ppf([a, a + level]))[0])  # noqa: E731
        res = _opt.minimize_scalar(
            width, bounds=(1e-12, 1 - level - 1e-12), method="bounded", options={"xatol": 1e-10}
        )
        a = float(res.x)
        for edge in (1e-12, 1 - level - 1e-12):
            if width(edge) < width(a):
                a = edge
        lo, hi = self.ppf([a, a + level])
        return (0.0 if a <= 1e-12 and self.lower == 0 else float(lo)), float(hi)

    def summary(self, level: float = 0.95) -> dict[str, float]:
        lo, hi = self.interval(level)
        return {
            "mean": self.mean,
            "sd": self.sd,
            "median": self.median(),
            "lower": lo,
            "upper": hi,
            "mode": self.mode_value,
        }


@dataclass
class ExactPosterior:
    """The normal-normal posterior as a mixture over a ``tau`` grid; see the module docstring."""

    y: np.ndarray
    s: np.ndarray
    labels: list[str]
    mu_prior: Prior
    tau_prior: Prior
    tau_posterior: TauPosterior
    weights: np.ndarray = field(repr=False)  # mass of each tau node (sums to one)
    m: np.ndarray = field(repr=False)  # E(mu | tau_j, y)
    v: np.ndarray = field(repr=False)  # Var(mu | tau_j, y)
    #: log p(y) = log int p(tau) p(y | tau) dtau (relative to a height-one flat mu prior)
    log_evidence: float = math.nan

    @property
    def nodes(self) -> np.ndarray:
        return self.tau_posterior.tau

    def _keep(self) -> np.ndarray:
        return self.weights > 1e-16 * self.weights.max()

    def mu(self) -> NormalMixture:
        k = self._keep()
        return NormalMixture(self.weights[k], self.m[k], np.sqrt(self.v[k]))

    def theta_new(self) -> NormalMixture:
        k = self._keep()
        return NormalMixture(self.weights[k], self.m[k], np.sqrt(self.v[k] + self.nodes[k] ** 2))

    def theta(self, i: int | str) -> NormalMixture:
        """Shrunken effect of study ``i`` (index or label)."""
        if isinstance(i, str):
            i = self.labels.index(i)
        k = self._keep()
        t2, s2 = self.nodes[k] ** 2, self.s[i] ** 2
        b = t2 / (t2 + s2)
        mean = b * self.y[i] + (1 - b) * self.m[k]
        var = b * s2 + (1 - b) ** 2 * self.v[k]
        return NormalMixture(self.weights[k], mean, np.sqrt(var))

    @property
    def tau(self) -> TauPosterior:
        return self.tau_posterior

    def sample(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        """Independent draws of ``mu, tau, theta`` (size x k) and ``theta_new`` from the exact
        posterior: tau by inverse CDF, then the conditional normals given tau."""
        tp = self.tau_posterior
        cdf_nodes = tp._spline(tp.x)
        x = np.interp(rng.uniform(size=size), cdf_nodes, tp.x)
        tau = np.exp(x)
        if tp.lower == 0:
            tau = np.where(x <= tp.x[0], 0.0, tau)
        m, v = conditional_mu(tau, self.y, self.s, self.mu_prior)
        mu = rng.normal(m, np.sqrt(v))
        b = tau[:, None] ** 2 / (tau[:, None] ** 2 + self.s**2)
        theta = rng.normal(b * self.y + (1 - b) * mu[:, None], np.sqrt(b * self.s**2))
        theta_new = rng.normal(mu, tau)
        return {"mu": mu, "tau": tau, "theta": theta, "theta_new": theta_new}


def log_tau_grid(
    lf, tau_prior: Prior, scale: float, n_nodes: int = _N_FINE, n_coarse: int = _N_COARSE
):
    """Quadrature nodes in ``x = log tau`` for an unnormalized log density ``lf(x)`` of log tau.

    A coarse grid over the prior's support (from ``scale * 1e-14`` to ``scale * 1e8`` when
    unbounded) finds where ``lf`` is within e^-46 of its peak; ``n_nodes`` equally spaced nodes
    then cover that window. Returns ``(x, logdens, weights, log_z)``: the nodes, the normalized
    log density of log tau at them, Simpson weights times density (summing to one) and the log
    normalizing constant ``log int exp(lf(x)) dx`` (the log marginal likelihood when ``lf``
    includes every normalized term).
    """
    a, b = tau_prior.support
    x_lo = math.log(a) if a > 0 else math.log(scale * 1e-14)
    x_hi = math.log(b) if math.isfinite(b) else math.log(scale * 1e8)
    if tau_prior.family in ("lognormal", "logstudentt"):
        mu_l, sd_l = tau_prior.params[:2]
        x_lo = max(x_lo, mu_l - 12 * sd_l)
        x_hi = min(x_hi, mu_l + 12 * sd_l)
    xc = np.linspace(x_lo, x_hi, n_coarse)
    lc = lf(xc)
    if not np.any(np.isfinite(lc)):
        raise InputError("the posterior of tau is zero everywhere; check the tau prior.")
    keep = np.flatnonzero(lc > np.nanmax(lc) - _WINDOW)
    i0, i1 = max(keep[0] - 1, 0), min(keep[-1] + 1, xc.size - 1)
    x = np.linspace(xc[i0], xc[i1], n_nodes | 1)
    lx = lf(x)
    # Normalize with Simpson's rule in log tau.
    h = x[1] - x[0]
    sw = _simpson_weights(x.size, h)
    top = lx.max()
    z = np.dot(sw, np.exp(lx - top))
    logdens = lx - top - math.log(z)
    weights = sw * np.exp(logdens)
    weights /= weights.sum()
    return x, logdens, weights, float(top + math.log(z))


def solve(
    y,
    s,
    mu_prior: Prior | str | None = None,
    tau_prior: Prior | str | None = None,
    labels: list[str] | None = None,
    n_nodes: int = _N_FINE,
) -> ExactPosterior:
    """Exact posterior of the normal-normal model by quadrature over ``tau``.

    Parameters
    ----------
    y, s : estimates (log HR) and their standard errors.
    mu_prior : prior on ``mu`` (``normal(m, s)`` or ``flat``); default ``normal(0, 4)``.
    tau_prior : prior on ``tau``; default ``halfnormal(0.5)``.
    labels : study names.
    n_nodes : grid size in ``log tau`` (odd).

    Examples
    --------
    >>> post = solve([-0.5, -0.3, -0.9], [0.2, 0.25, 0.3], "normal(0, 4)", "halfnormal(0.5)")
    >>> -0.9 < post.mu().mean < -0.3
    True
    """
    y, s = _check_data(y, s)
    mu_prior = as_prior(mu_prior, "mu", "normal(0, 4)")
    tau_prior = as_prior(tau_prior, "tau", "halfnormal(0.5)")
    if mu_prior.family == "flat" and y.size < 2 and tau_prior.support[1] == math.inf:
        raise InputError("a flat prior on mu needs at least two studies or a bounded tau prior.")
    labels = list(labels) if labels is not None else [f"study {i + 1}" for i in range(y.size)]

    def lf(x):  # log density of log(tau), unnormalized
        return log_posterior_tau(np.exp(x), y, s, mu_prior, tau_prior) + x

    x, logdens, weights, log_z = log_tau_grid(lf, tau_prior, float(np.median(s)), n_nodes)
    tau = np.exp(x)
    m, v = conditional_mu(tau, y, s, mu_prior)
    mode = _tau_mode(tau, y, s, mu_prior, tau_prior)
    tp = TauPosterior(x=x, logdens_x=logdens, lower=tau_prior.support[0], mode_value=mode)
    return ExactPosterior(
        y=y,
        s=s,
        labels=labels,
        mu_prior=mu_prior,
        tau_prior=tau_prior,
        tau_posterior=tp,
        weights=weights,
        m=m,
        v=v,
        log_evidence=log_z,
    )


def _tau_mode(tau, y, s, mu_prior, tau_prior) -> float:
    """Mode of the marginal posterior density of ``tau`` (on the ``tau`` scale)."""
    a, _ = tau_prior.support
    grid = np.concatenate([[a], tau]) if a == 0 else tau
    lp = log_posterior_tau(grid, y, s, mu_prior, tau_prior)
    j = int(np.nanargmax(lp))
    lo = grid[max(j - 1, 0)]
    hi = grid[min(j + 1, grid.size - 1)]
    if hi <= lo:
        return float(grid[j])
    res = optimize.minimize_scalar(
        lambda t: -float(log_posterior_tau(np.array(t), y, s, mu_prior, tau_prior)),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    best = float(res.x)
    # The boundary itself may be the mode (e.g. tau = 0 with no heterogeneity).
    if -res.fun < lp[j]:
        best = float(grid[j])
    if a == 0 and lp[0] >= max(-res.fun, lp[j]) - 1e-9:
        best = 0.0
    return best
