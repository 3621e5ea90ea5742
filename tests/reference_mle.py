"""Independent maximum-likelihood references for parametric cure models (scipy only).

Written for the reference checks of bayesurv's cure models; nothing here imports bayesurv.

Models (time in the unit of the data; Weibull in the proportional-hazards parameterization of
flexsurv's ``weibullPH`` and Stata's ``strsmix``/``cureregr``, S_u(t) = exp(-lambda t^a)):

* mixture cure ("mixture"):            S(t) = pi + (1 - pi) S_u(t)
* non-mixture / promotion-time cure:   S(t) = pi ** (1 - S_u(t))

with logit(pi_i) = z_i' beta (an intercept plus optional cure covariates). Parameters are
estimated on (beta, log a, log lambda) by BFGS on a rescaled time axis, then the observed
information is computed by central finite differences on the original time scale, so standard
errors are those of Stata's ``_cons`` rows (pi on the logit scale, ln_gamma = log a,
ln_lambda = log lambda). Confidence intervals for pi are Wald intervals on the logit scale
mapped back (the delta method), as flexsurvcure prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

Z95 = 1.959963984540054


@dataclass
class CureMLE:
    """A fitted cure model: estimates, covariance and helpers for derived quantities."""

    kind: str  # "mixture" or "nonmixture"
    params: np.ndarray  # (beta_0, ..., beta_{k-1}, log_shape, log_rate, gamma_1, ..., gamma_m)
    cov: np.ndarray
    loglik: float
    n_cure: int  # k: intercept + cure covariates
    names: list[str] = field(default_factory=list)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def shape(self) -> float:
        return float(np.exp(self.params[self.n_cure]))

    @property
    def rate(self) -> float:
        """Baseline rate lambda (all rate covariates 0), time in the data's unit."""
        return float(np.exp(self.params[self.n_cure + 1]))

    def logit_cure(self, z=None) -> tuple[float, float]:
        """Linear predictor of logit(pi) at covariate row z (without intercept) and its SE."""
        g = np.zeros_like(self.params)
        g[0] = 1.0
        if z is not None:
            g[1 : self.n_cure] = np.asarray(z, dtype=float)
        eta = float(g @ self.params)
        return eta, float(np.sqrt(g @ self.cov @ g))

    def cure_fraction(self, z=None) -> tuple[float, float, float]:
        """pi with its 95% delta-method CI (Wald on the logit scale, mapped back)."""
        eta, se = self.logit_cure(z)
        return (
            float(special.expit(eta)),
            float(special.expit(eta - Z95 * se)),
            float(special.expit(eta + Z95 * se)),
        )

    def cure_fraction_se(self, z=None) -> float:
        """SE of pi on the probability scale (delta method: pi (1 - pi) se(logit pi))."""
        eta, se = self.logit_cure(z)
        p = special.expit(eta)
        return float(p * (1 - p) * se)

    def _surv_from_params(self, params, t, z=None, w=None) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        k = self.n_cure
        beta = params[:k]
        eta = beta[0] + (0.0 if z is None else float(np.asarray(z, dtype=float) @ beta[1:]))
        pi = special.expit(eta)
        log_lam = params[k + 1]
        if w is not None:
            log_lam = log_lam + float(np.asarray(w, dtype=float) @ params[k + 2 :])
        a, lam = np.exp(params[k]), np.exp(log_lam)
        su = np.exp(-lam * t**a)
        if self.kind == "mixture":
            return pi + (1 - pi) * su
        return pi ** (1 - su)

    def survival(self, t, z=None, w=None) -> np.ndarray:
        """S(t) at the MLE for cure covariates ``z`` and rate covariates ``w`` (None: zeros)."""
        return self._surv_from_params(self.params, t, z, w)

    def survival_se(self, t, z=None, w=None) -> np.ndarray:
        """Delta-method SE of S(t) (numerical gradient in the parameters)."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        out = []
        for ti in t:
            grad = _gradient(
                lambda p, ti=ti: float(self._surv_from_params(p, ti, z, w)), self.params
            )
            out.append(float(np.sqrt(grad @ self.cov @ grad)))
        return np.array(out)


def _loglik(params, time, event, zmat, wmat, kind):
    k = zmat.shape[1]
    beta = params[:k]
    log_a = params[k]
    log_lam = params[k + 1] + wmat @ params[k + 2 :]
    a, lam = np.exp(log_a), np.exp(log_lam)
    eta = zmat @ beta
    log_pi = -np.logaddexp(0.0, -eta)  # log expit
    log_1mpi = -np.logaddexp(0.0, eta)
    cumhaz_u = lam * time**a  # uncured cumulative hazard
    log_haz_u = log_a + log_lam + (a - 1) * np.log(time)
    if kind == "mixture":
        # event: log(1 - pi) + log f_u ; censored: log(pi + (1 - pi) S_u)
        ll_event = log_1mpi + log_haz_u - cumhaz_u
        ll_cens = np.logaddexp(log_pi, log_1mpi - cumhaz_u)
        return float(np.sum(np.where(event == 1, ll_event, ll_cens)))
    if kind == "nonmixture":
        # S = exp(log(pi) F_u), h = -log(pi) f_u ; F_u = -expm1(-H_u)
        big_f = -np.expm1(-cumhaz_u)
        log_s = log_pi * big_f
        log_h = np.log(-log_pi) + log_haz_u - cumhaz_u
        return float(np.sum(log_s + event * log_h))
    raise ValueError(f"unknown cure model kind {kind!r}")


def _loglik_rows(p, time, event, kind):
    """Intercept-only log-likelihood at many parameter rows (logit pi, log a, log lambda)."""
    b0, log_a, log_lam = p[:, :1], p[:, 1:2], p[:, 2:3]
    a = np.exp(log_a)
    cumhaz_u = np.exp(log_lam) * time[None, :] ** a
    log_haz_u = log_a + log_lam + (a - 1) * np.log(time)[None, :]
    log_pi, log_1mpi = -np.logaddexp(0.0, -b0), -np.logaddexp(0.0, b0)
    ev = event[None, :] == 1
    if kind == "mixture":
        ll = np.where(
            ev, log_1mpi + log_haz_u - cumhaz_u, np.logaddexp(log_pi, log_1mpi - cumhaz_u)
        )
    else:
        ll = log_pi * -np.expm1(-cumhaz_u) + ev * (np.log(-log_pi) + log_haz_u - cumhaz_u)
    return ll.sum(axis=1)


def _gradient(fun, x, rel_step=1e-5):
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in range(len(x)):
        h = rel_step * max(1.0, abs(x[i]))
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


def hessian(fun, x, rel_step=1e-4) -> np.ndarray:
    """Central finite-difference Hessian of a scalar function (4 evaluations per entry)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    h = rel_step * np.maximum(1.0, np.abs(x))
    out = np.zeros((n, n))
    f0 = fun(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        out[i, i] = (fun(x + ei) - 2 * f0 + fun(x - ei)) / h[i] ** 2
        for j in range(i + 1, n):
            ej = np.zeros(n)
            ej[j] = h[j]
            v = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)) / (
                4 * h[i] * h[j]
            )
            out[i, j] = out[j, i] = v
    return out


def fit_cure_weibull_ph(
    time,
    event,
    cure_covariates=None,
    rate_covariates=None,
    kind: str = "mixture",
    names: list[str] | None = None,
) -> CureMLE:
    """Maximum-likelihood Weibull PH cure model with logit(pi) = intercept + cure covariates
    and log(lambda) = intercept + rate covariates (proportional hazards in the uncured; in
    flexsurvcure ``anc = list(scale = ~ ...)`` with ``dist = "weibullPH"``).

    ``cure_covariates`` / ``rate_covariates``: (n, k) arrays without an intercept column, or
    None.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    n = len(time)
    zcov = np.zeros((n, 0)) if cure_covariates is None else np.asarray(cure_covariates, float)
    zcov = zcov.reshape(n, -1)
    zmat = np.column_stack([np.ones(n), zcov])
    wmat = np.zeros((n, 0)) if rate_covariates is None else np.asarray(rate_covariates, float)
    wmat = wmat.reshape(n, -1)
    k = zmat.shape[1]
    m = wmat.shape[1]

    # fit on time / c (well-conditioned), then log lambda_orig = log lambda_c - a log c
    c = float(np.median(time[event == 1])) if event.any() else float(np.median(time))
    ts = time / c
    x0 = np.zeros(k + 2 + m)
    x0[0] = special.logit(np.clip(1 - event.mean(), 0.05, 0.95))
    negll = lambda p: -_loglik(p, ts, event, zmat, wmat, kind)  # noqa: E731
    best = None
    for start_log_a in (0.0, 0.5, -0.5):
        x0[k] = start_log_a
        res = optimize.minimize(negll, x0, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
        if best is None or res.fun < best.fun:
            best = res
    res = optimize.minimize(
        negll,
        best.x,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
    )
    if res.fun > best.fun:
        res = best
    p = res.x.copy()
    p[k + 1] = p[k + 1] - np.exp(p[k]) * np.log(c)

    ll = lambda q: _loglik(q, time, event, zmat, wmat, kind)  # noqa: E731
    info = -hessian(ll, p)
    cov = np.linalg.inv(info)
    if names is None:
        names = ["pi:_cons"] + [f"pi:z{i}" for i in range(1, k)]
    return CureMLE(
        kind=kind,
        params=p,
        cov=cov,
        loglik=ll(p),
        n_cure=k,
        names=[*names, "ln_gamma", "ln_lambda"] + [f"ln_lambda:w{i}" for i in range(1, m + 1)],
    )


def grid_posterior_cure_fraction(
    time, event, kind: str = "mixture", n_grid=(161, 61, 61), width: float = 9.0
) -> dict:
    """Posterior of pi for the intercept-only model under flat priors on (logit pi, log a,
    log lambda), by brute-force quadrature on a grid of +-``width`` MLE standard errors.

    An independent Bayesian reference (no MCMC): returns the median and the 95% equal-tailed
    interval of pi and the posterior mass on the grid's faces (should be ~0).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    c = float(np.median(time[event == 1]))
    ts = time / c
    mle = fit_cure_weibull_ph(ts, event, kind=kind)
    axes = [
        np.linspace(m - width * s, m + width * s, k)
        for m, s, k in zip(mle.params, mle.se, n_grid, strict=True)
    ]
    bb, aa, ll = np.meshgrid(*axes, indexing="ij")
    pts = np.column_stack([bb.ravel(), aa.ravel(), ll.ravel()])
    logp = np.concatenate(
        [_loglik_rows(pts[i : i + 2000], ts, event, kind) for i in range(0, len(pts), 2000)]
    ).reshape(bb.shape)
    w = np.exp(logp - logp.max())
    total = w.sum()
    faces = sum(float(w.take(i, axis=ax).sum()) for ax in range(3) for i in (0, -1)) / total
    marginal = w.sum(axis=(1, 2)) / total
    cdf = np.cumsum(marginal) - marginal / 2  # midpoint rule
    q = lambda p: float(special.expit(np.interp(p, cdf, axes[0])))  # noqa: E731
    return {"median": q(0.5), "lower": q(0.025), "upper": q(0.975), "edge_mass": faces}
