"""Exact posterior of the normal linear random-effects model by quadrature over ``tau``.

Model (log hazard ratios, one heterogeneity variance)::

    y | beta, tau ~ N(X beta, S + tau^2 K)
    beta_j ~ N(b_j, v_j)  or flat,     tau ~ p(tau)   (or tau = 0: fixed effects)

``S`` is the known within-study covariance (diagonal for independent estimates; a block per
multi-arm trial, whose contrasts against one comparator share that arm's variance), ``K`` the
structure of the random effects (the identity; 1 on the diagonal and 1/2 between contrasts of
one multi-arm trial in a network). The normal-normal pool (:mod:`~bayesurv.synthesis.normal_normal`,
``X = 1``), meta-regression (``X`` = covariates) and the network meta-analysis of contrasts
(``X`` = the network's design, :mod:`~bayesurv.synthesis.network`) are all this model.

Given ``tau`` it is conjugate (Roever and Friede 2022, bayesmeta's ``bmr``): with
``V = S + tau^2 K``, ``P = X' V^-1 X + B0^-1`` and ``m = P^-1 (X' V^-1 y + B0^-1 b)``,

    beta | tau, y ~ N(m, P^-1)
    log p(y | tau) = -1/2 [n log 2 pi + log|V| + y'V^-1 y - m'P m + b'B0^-1 b + log|P| - log|B0^-1|]

(flat components drop out of ``B0`` and contribute a height-one density). The marginal posterior
of ``tau`` is evaluated on the grid of :func:`~bayesurv.synthesis.normal_normal.log_tau_grid`;
every linear combination ``c' beta`` (a pairwise log HR, a prediction at covariate values) is
then a normal mixture over the nodes, and a new study's effect adds ``tau^2 k`` to each
component's variance. With ``X = 1``, ``S`` diagonal and ``K = I`` the grid, and therefore every
number, is the normal-normal solver's (tested to 1e-10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from bayesurv.errors import InputError
from bayesurv.synthesis.mixture import NormalMixture
from bayesurv.synthesis.normal_normal import (
    BLOCK_CELLS,
    N_COARSE,
    N_FINE,
    TauPosterior,
    log_tau_grid,
)
from bayesurv.synthesis.priors import Prior

_LOG2PI = math.log(2 * math.pi)
_DENSE_COARSE = 801
_DENSE_FINE = 601


@dataclass
class _Data:
    y: np.ndarray
    X: np.ndarray
    s2: np.ndarray | None  # diagonal S (None when S is dense)
    S: np.ndarray | None
    K: np.ndarray | None  # None: identity
    b0: np.ndarray
    p0: np.ndarray  # prior precisions (0 for flat)

    @property
    def diagonal(self) -> bool:
        return self.s2 is not None and self.K is None

    def moments(self, tau: np.ndarray):
        """For each tau: conditional mean ``m`` (J, p), precision ``P`` (J, p, p) and
        ``log p(y | tau)`` (J,)."""
        tau = np.atleast_1d(np.asarray(tau, dtype=float))
        y, X = self.y, self.X
        n = y.size
        step = max(1, BLOCK_CELLS // max(n, 1))
        if self.diagonal and tau.size > step:  # in blocks of nodes: J x n cells at most BLOCK_CELLS
            parts = [self.moments(tau[i : i + step]) for i in range(0, tau.size, step)]
            return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))
        if self.diagonal:
            v = self.s2[None, :] + tau[:, None] ** 2
            w = 1.0 / v
            A = np.einsum("jn,np,nq->jpq", w, X, X)
            bvec = np.einsum("jn,np,n->jp", w, X, y)
            yvy = (w * y**2).sum(1)
            logdet_v = np.log(v).sum(1)
        else:
            S = self.S if self.S is not None else np.diag(self.s2)
            K = self.K if self.K is not None else np.eye(n)
            V = S[None] + tau[:, None, None] ** 2 * K[None]
            L = np.linalg.cholesky(V)
            rhs = np.concatenate([X, y[:, None]], axis=1)
            sol = np.linalg.solve(V, np.broadcast_to(rhs, (tau.size, *rhs.shape)))
            vx, vy = sol[..., :-1], sol[..., -1]
            A = np.einsum("np,jnq->jpq", X, vx)
            bvec = np.einsum("np,jn->jp", X, vy)
            yvy = np.einsum("n,jn->j", y, vy)
            logdet_v = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(1)
        P = A + np.diag(self.p0)[None]
        r = bvec + (self.p0 * self.b0)[None]
        Lp = np.linalg.cholesky(P)
        m = np.linalg.solve(P, r[..., None])[..., 0]
        logdet_p = 2 * np.log(np.diagonal(Lp, axis1=1, axis2=2)).sum(1)
        proper = self.p0 > 0
        out = (
            -0.5 * (n * _LOG2PI + logdet_v + yvy)
            + 0.5 * np.einsum("jp,jp->j", r, m)
            - 0.5 * logdet_p
        )
        out = (
            out
            - 0.5 * float(np.sum(self.p0 * self.b0**2))
            + 0.5 * float(np.sum(np.log(self.p0[proper])))
            + 0.5 * _LOG2PI * float(np.sum(~proper))
        )
        return m, P, out


@dataclass
class LinearPosterior:
    """The posterior of ``beta`` and ``tau`` as a mixture over ``tau`` nodes."""

    names: list[str]
    data: _Data = field(repr=False)
    tau_prior: Prior | None  # None: fixed effects (tau = 0)
    tau_posterior: TauPosterior | None
    nodes: np.ndarray = field(repr=False)  # tau at the nodes
    weights: np.ndarray = field(repr=False)  # posterior mass of each node
    m: np.ndarray = field(repr=False)  # (J, p)
    cov: np.ndarray = field(repr=False)  # (J, p, p)
    log_evidence: float = math.nan

    @property
    def fixed(self) -> bool:
        return self.tau_prior is None

    def _keep(self) -> np.ndarray:
        return self.weights > 1e-16 * self.weights.max()

    def vector(self, c) -> np.ndarray:
        """``c`` as a coefficient vector: a name, an index, or a vector of length p."""
        if isinstance(c, str):
            if c not in self.names:
                raise InputError(f"{c!r} is not a coefficient; use one of {', '.join(self.names)}.")
            out = np.zeros(len(self.names))
            out[self.names.index(c)] = 1.0
            return out
        if isinstance(c, int | np.integer):
            out = np.zeros(len(self.names))
            out[int(c)] = 1.0
            return out
        c = np.asarray(c, dtype=float)
        if c.shape != (len(self.names),):
            raise InputError(f"a linear combination needs {len(self.names)} weights.")
        return c

    def linear(self, c) -> NormalMixture:
        """Posterior of ``c' beta`` (a normal mixture over the tau nodes)."""
        c = self.vector(c)
        k = self._keep()
        mean = self.m[k] @ c
        var = np.einsum("p,jpq,q->j", c, self.cov[k], c)
        return NormalMixture(self.weights[k], mean, np.sqrt(np.maximum(var, 0.0)))

    def predictive(self, c, k_new: float = 1.0) -> NormalMixture:
        """A new study's effect ``c' beta + tau sqrt(k_new) z`` (``z ~ N(0, 1)``)."""
        c = self.vector(c)
        keep = self._keep()
        mean = self.m[keep] @ c
        var = np.einsum("p,jpq,q->j", c, self.cov[keep], c) + k_new * self.nodes[keep] ** 2
        return NormalMixture(self.weights[keep], mean, np.sqrt(np.maximum(var, 0.0)))

    def shrunken(self, i: int) -> NormalMixture:
        """Study ``i``'s own effect (diagonal models only):
        ``theta_i | beta, tau, y ~ N(b y_i + (1 - b) x_i'beta, b s_i^2)``,
        ``b = tau^2 / (tau^2 + s_i^2)``."""
        d = self.data
        if not d.diagonal:
            raise InputError("shrunken study effects need independent studies (diagonal S).")
        keep = self._keep()
        t2, s2 = self.nodes[keep] ** 2, d.s2[i]
        b = t2 / (t2 + s2)
        x = d.X[i]
        xm = self.m[keep] @ x
        xv = np.einsum("p,jpq,q->j", x, self.cov[keep], x)
        return NormalMixture(
            self.weights[keep], b * d.y[i] + (1 - b) * xm, np.sqrt(b * s2 + (1 - b) ** 2 * xv)
        )

    def sample(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        """Independent draws: ``tau`` by inverse CDF on the grid, then ``beta | tau`` exactly."""
        if self.fixed:
            tau = np.zeros(size)
            m, P, _ = self.data.moments(tau[:1])
            m = np.broadcast_to(m, (size, m.shape[1]))
            P = np.broadcast_to(P, (size, *P.shape[1:]))
        else:
            tp = self.tau_posterior
            cdf_nodes = tp._spline(tp.x)
            x = np.interp(rng.uniform(size=size), cdf_nodes, tp.x)
            tau = np.exp(x)
            if tp.lower == 0:
                tau = np.where(x <= tp.x[0], 0.0, tau)
            m, P, _ = self.data.moments(tau)
        L = np.linalg.cholesky(P)
        z = rng.standard_normal((size, len(self.names)))
        # beta = m + L^-T z has covariance P^-1
        beta = m + np.linalg.solve(np.swapaxes(L, 1, 2), z[..., None])[..., 0]
        return {"beta": beta, "tau": tau}

    def log_likelihood_at(self, tau: float) -> float:
        """``log p(y | tau)`` with ``beta`` integrated out."""
        return float(self.data.moments(np.array([tau]))[2][0])


def solve_linear(
    y,
    X,
    S,
    K=None,
    names: list[str] | None = None,
    beta_mean=None,
    beta_sd=None,
    tau_prior: Prior | None = None,
    n_nodes: int | None = None,
) -> LinearPosterior:
    """Exact posterior of ``y ~ N(X beta, S + tau^2 K)``.

    Parameters
    ----------
    y : (n,) estimates.
    X : (n, p) design.
    S : (n,) variances (independent estimates) or an (n, n) covariance.
    K : (n, n) structure of the random effects (default the identity).
    names : coefficient names.
    beta_mean, beta_sd : normal prior of each coefficient (``inf`` sd = flat); default flat.
    tau_prior : prior of ``tau``; ``None`` for fixed effects (``tau = 0``).
    n_nodes : grid size in log tau (default 2001 for diagonal models, 601 otherwise).

    Examples
    --------
    >>> from bayesurv.synthesis.priors import parse_prior
    >>> post = solve_linear([-0.5, -0.3, -0.9], [[1.0], [1.0], [1.0]], [0.04, 0.0625, 0.09],
    ...                     beta_mean=[0.0], beta_sd=[4.0],
    ...                     tau_prior=parse_prior("halfnormal(0.5)", "tau"))
    >>> -0.9 < post.linear(0).mean < -0.3
    True
    """
    y = np.asarray(y, dtype=float).ravel()
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != y.size:
        raise InputError("the design needs one row per estimate.")
    p = X.shape[1]
    names = list(names) if names is not None else [f"beta[{j}]" for j in range(p)]
    S = np.asarray(S, dtype=float)
    s2 = S if S.ndim == 1 else None
    Sd = None if S.ndim == 1 else S
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(S))):
        raise InputError("estimates and variances must be finite.")
    if s2 is not None and np.any(s2 <= 0):
        raise InputError("every variance must be positive.")
    if K is not None:
        K = np.asarray(K, dtype=float)
        if np.allclose(K, np.eye(y.size)):
            K = None
    if Sd is not None and K is None and np.allclose(Sd, np.diag(np.diag(Sd))):
        s2, Sd = np.diag(Sd).copy(), None
    b0 = np.zeros(p) if beta_mean is None else np.asarray(beta_mean, dtype=float)
    sd = np.full(p, np.inf) if beta_sd is None else np.asarray(beta_sd, dtype=float)
    p0 = np.where(np.isfinite(sd), 1.0 / np.where(np.isfinite(sd), sd, 1.0) ** 2, 0.0)
    if np.linalg.matrix_rank(X) < p:
        raise InputError(
            "the coefficients cannot all be estimated from these studies (the design is "
            "rank-deficient); drop a covariate or a level with no study."
        )
    n_flat = int(np.sum(p0 == 0))
    if n_flat >= y.size and tau_prior is not None and tau_prior.support[1] == math.inf:
        raise InputError(
            "flat priors on every coefficient need more studies than coefficients, or a "
            "bounded tau prior."
        )
    data = _Data(y=y, X=X, s2=s2, S=Sd, K=K, b0=b0, p0=p0)
    if tau_prior is None:
        m, P, ll = data.moments(np.zeros(1))
        return LinearPosterior(
            names=names,
            data=data,
            tau_prior=None,
            tau_posterior=None,
            nodes=np.zeros(1),
            weights=np.ones(1),
            m=m,
            cov=np.linalg.inv(P),
            log_evidence=float(ll[0]),
        )
    diag = data.diagonal
    n_fine = n_nodes or (N_FINE if diag else _DENSE_FINE)
    n_coarse = N_COARSE if diag else _DENSE_COARSE

    def lf(x):
        t = np.exp(x)
        lp = tau_prior.logpdf(t)
        out = np.full(x.shape, -np.inf)
        ok = np.isfinite(lp)
        if np.any(ok):
            out[ok] = lp[ok] + data.moments(t[ok])[2] + x[ok]
        return out

    scale = float(np.median(np.sqrt(s2 if s2 is not None else np.diag(Sd))))
    x, logdens, weights, log_z = log_tau_grid(lf, tau_prior, scale, n_fine, n_coarse)
    tau = np.exp(x)
    m, P, _ = data.moments(tau)
    mode = _tau_mode(lambda t: tau_prior.logpdf(t) + data.moments(t)[2], tau, tau_prior.support[0])
    tp = TauPosterior(x=x, logdens_x=logdens, lower=tau_prior.support[0], mode_value=mode)
    return LinearPosterior(
        names=names,
        data=data,
        tau_prior=tau_prior,
        tau_posterior=tp,
        nodes=tau,
        weights=weights,
        m=m,
        cov=np.linalg.inv(P),
        log_evidence=log_z,
    )


def _tau_mode(log_post, tau: np.ndarray, lower: float) -> float:
    """Mode of ``log_post(tau)`` (vectorized), refined between the grid's neighbours."""
    grid = np.concatenate([[lower], tau]) if lower == 0 else tau
    lp = np.asarray(log_post(grid), dtype=float)
    j = int(np.nanargmax(lp))
    lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
    if hi <= lo:
        return float(grid[j])
    res = optimize.minimize_scalar(
        lambda t: -float(log_post(np.array([t]))[0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    best = float(res.x) if -res.fun >= lp[j] else float(grid[j])
    if lower == 0 and lp[0] >= max(-res.fun, lp[j]) - 1e-9:
        best = 0.0
    return best
