"""Exact posterior of the normal-normal hierarchical model by one-dimensional quadrature.

Model (log hazard ratios)::

    y_i | theta_i ~ N(theta_i, s_i^2)          s_i known (from the reported CI)
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
#: tau nodes of the quadrature: a coarse pass finds where the integrand lives, a fine one
#: integrates it there
N_COARSE = 3001
N_FINE = 2001


def check_estimates(y, s) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and their standard errors as flat arrays: finite, one se per estimate, se > 0."""
    y = np.asarray(y, dtype=float).ravel()
    s = np.asarray(s, dtype=float).ravel()
    if y.shape != s.shape:
        raise InputError(
            "estimates and standard errors differ in length; give one se per estimate."
        )
    if y.size < 1 or not np.all(np.isfinite(y)) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise InputError("estimates must be finite and standard errors positive and finite.")
    return y, s


#: the most (tau node x study) cells held in memory at once: sums over studies are taken in
#: blocks of nodes, so 100,000 studies cost time in proportion, not memory
BLOCK_CELLS = 1 << 22


def _by_node_blocks(tau, k: int, f):
    """``f(tau_block)`` over blocks of the flattened ``tau`` (each block x ``k`` studies at most
    :data:`BLOCK_CELLS` cells); the tuple of results is put back in ``tau``'s shape."""
    tau = np.asarray(tau, dtype=float)
    flat = tau.reshape(-1)
    step = max(1, BLOCK_CELLS // max(k, 1))
    parts = [f(flat[i : i + step]) for i in range(0, flat.size, step)] or [f(flat)]
    return tuple(
        np.concatenate([p[j] for p in parts]).reshape(tau.shape) for j in range(len(parts[0]))
    )


def _sums(tau, y, s):
    """For each ``tau``: ``sum w_i``, ``sum w_i y_i``, ``sum w_i y_i^2`` and ``sum log(v_i)`` with
    ``v_i = s_i^2 + tau^2``, ``w_i = 1/v_i`` (in blocks of nodes).

    Studies that share a standard error share ``w_i``: when there are at most half as many
    distinct standard errors as studies (reported SEs are rounded, so 100,000 studies have a
    few thousand), the sums run over the distinct ones with counts and within-group sums of
    ``y`` and ``y^2`` -- the same sums, in a different order.
    """
    u, inv = np.unique(s, return_inverse=True)
    if u.size <= s.size // 2:
        n = np.bincount(inv, minlength=u.size).astype(float)
        sy = np.bincount(inv, weights=y, minlength=u.size)
        syy = np.bincount(inv, weights=y * y, minlength=u.size)
        s2 = u**2
    else:
        n, sy, syy, s2 = None, y, y * y, s**2

    def block(t):
        v = s2 + t[:, None] ** 2
        w = 1.0 / v
        if n is None:
            return w.sum(-1), w @ sy, w @ syy, np.log(v).sum(-1)
        return w @ n, w @ sy, w @ syy, np.log(v) @ n

    return _by_node_blocks(tau, s2.size, block)


def conditional_mu(tau, y, s, mu_prior: Prior):
    """Mean and variance of ``mu | tau, y`` for each ``tau`` (arrays of the shape of ``tau``)."""
    prec, num, _, _ = _sums(tau, y, s)
    if mu_prior.family == "normal":
        m0, s0 = mu_prior.params
        prec = prec + 1 / s0**2
        num = num + m0 / s0**2
    return num / prec, 1.0 / prec


def log_marginal_likelihood(tau, y, s, mu_prior: Prior):
    """``log p(y | tau)`` with ``mu`` integrated out (up to a constant for a flat ``mu`` prior)."""
    prec, num, quad, logdet = _sums(tau, y, s)
    out = -0.5 * logdet - 0.5 * quad - 0.5 * y.size * _LOG2PI
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

    def theta_components(self, cells: int = 1 << 23):
        """The mixtures of every study's shrunken effect at once: ``(w, means, sds)`` with
        ``means, sds`` of shape ``k x G``. ``G`` is the number of kept nodes, or, when ``k``
        times that exceeds ``cells``, that many groups of consecutive nodes of equal mass, each
        one normal with the group's mass, mean and variance for each study (as
        :meth:`NormalMixture.compress`; every study's mean and variance are kept exactly)."""
        keep = self._keep()
        w, m, v, t2 = self.weights[keep], self.m[keep], self.v[keep], self.nodes[keep] ** 2
        n, k = w.size, self.y.size
        g = n if k * n <= cells else max(64, min(n, cells // k))
        if g < n:
            group = np.minimum(((np.cumsum(w) - w / 2) * g).astype(int), g - 1)
            onehot = np.zeros((n, g))
            onehot[np.arange(n), group] = w
            mass = onehot.sum(0)
            onehot = onehot[:, mass > 0] / mass[mass > 0]
            mass = mass[mass > 0]
        else:
            onehot, mass = None, w / w.sum()
        # Given tau_j, theta_i ~ N(b y_i + (1 - b) m_j, b s_i^2 + (1 - b)^2 v_j), b = b(s_i, tau_j):
        # the coefficients depend on s_i only (computed once per distinct standard error). A
        # group of nodes is one normal with the group's mean (linear in y_i) and variance: the
        # mean of the variances plus the variance of the means (quadratic in y_i).
        u, inv = np.unique(self.s, return_inverse=True)
        s2 = u[:, None] ** 2
        b = t2[None, :] / (t2[None, :] + s2)
        a = (1 - b) * m
        var = b * s2 + (1 - b) ** 2 * v
        if onehot is None:
            cb, ca, cv = b, a, var
            cbb = cba = caa = None
        else:
            cb, ca, cv = b @ onehot, a @ onehot, var @ onehot
            cbb = np.maximum((b * b) @ onehot - cb**2, 0.0)
            cba = (b * a) @ onehot - cb * ca
            caa = np.maximum((a * a) @ onehot - ca**2, 0.0)
        y = self.y[:, None]
        means = np.empty((k, mass.size))
        sds = np.empty_like(means)
        step = max(1, (1 << 22) // mass.size)
        for r0 in range(0, k, step):
            r, yr = inv[r0 : r0 + step], y[r0 : r0 + step]
            means[r0 : r0 + step] = yr * cb[r] + ca[r]
            within = cv[r]
            if cbb is not None:
                within = within + np.maximum(yr**2 * cbb[r] + 2 * yr * cba[r] + caa[r], 0.0)
            sds[r0 : r0 + step] = np.sqrt(within)
        return mass, means, sds

    def theta_summaries(self, level: float = 0.95) -> dict[str, np.ndarray]:
        """``mean, sd, median, lower, upper`` (equal-tailed at ``level``) of every study's
        shrunken effect, as arrays over studies, from :meth:`theta_components` and
        :func:`~bayesurv.synthesis.mixture.quantiles_of_many`: what :meth:`theta` gives study
        by study, in time linear in the number of studies."""
        from bayesurv.synthesis.mixture import quantiles_of_many

        w, means, sds = self.theta_components()
        mean = means @ w
        sd = np.sqrt(np.maximum((sds**2 + means**2) @ w - mean**2, 0.0))
        a = (1 - level) / 2
        q = quantiles_of_many(w, means, sds, [0.5, a, 1 - a])
        return {"mean": mean, "sd": sd, "median": q[:, 0], "lower": q[:, 1], "upper": q[:, 2]}

    @property
    def tau(self) -> TauPosterior:
        return self.tau_posterior

    def sample_mu_tau(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``mu`` and ``tau`` of :meth:`sample` (the same draws from the same ``rng``)."""
        tp = self.tau_posterior
        x = np.interp(rng.uniform(size=size), tp._spline(tp.x), tp.x)
        tau = np.exp(x)
        if tp.lower == 0:
            tau = np.where(x <= tp.x[0], 0.0, tau)
        m, v = conditional_mu(tau, self.y, self.s, self.mu_prior)
        return rng.normal(m, np.sqrt(v)), tau

    def sample(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        """Independent draws of ``mu, tau, theta`` (size x k) and ``theta_new`` from the exact
        posterior: tau by inverse CDF, then the conditional normals given tau."""
        mu, tau = self.sample_mu_tau(rng, size)
        b = tau[:, None] ** 2 / (tau[:, None] ** 2 + self.s**2)
        theta = rng.normal(b * self.y + (1 - b) * mu[:, None], np.sqrt(b * self.s**2))
        theta_new = rng.normal(mu, tau)
        return {"mu": mu, "tau": tau, "theta": theta, "theta_new": theta_new}


def log_tau_grid(
    lf, tau_prior: Prior, scale: float, n_nodes: int = N_FINE, n_coarse: int = N_COARSE
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
    n_nodes: int = N_FINE,
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
    y, s = check_estimates(y, s)
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
