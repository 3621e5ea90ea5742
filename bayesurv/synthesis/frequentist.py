"""Frequentist random-effects estimates used as reference points beside every Bayesian pool.

REML and DerSimonian-Laird estimates of ``tau^2``, REML meta-regression, Cochran's Q, I^2 and H^2
(Higgins & Thompson 2002, with metafor's typical within-study variance), Q-profile (Viechtbauer
2007) and profile-likelihood intervals for ``tau^2``, the Knapp-Hartung interval, prediction
intervals and leave-one-out; each is checked against metafor's published output.

Both estimate the between-study variance ``tau^2`` of ``y_i ~ N(mu, s_i^2 + tau^2)`` and then
``mu`` by inverse-variance weighting with ``w_i = 1/(s_i^2 + tau^2)``. REML maximizes the restricted
likelihood, which is the marginal posterior of ``tau`` under a flat prior on ``mu`` and a uniform
prior on ``tau`` (see :mod:`bayesurv.synthesis.normal_normal`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from bayesurv.synthesis.normal_normal import check_estimates, log_marginal_likelihood
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
    y, s = check_estimates(y, s)
    w = 1 / s**2
    return float(np.dot(w, (y - np.dot(w, y) / w.sum()) ** 2))


def dersimonian_laird(y, s) -> RandomEffectsEstimate:
    """DerSimonian & Laird (1986) moment estimate of ``tau^2`` (truncated at zero)."""
    y, s = check_estimates(y, s)
    w = 1 / s**2
    q = cochran_q(y, s)
    c = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (q - (y.size - 1)) / c)
    mu, se = _mu_given(tau2, y, s)
    return RandomEffectsEstimate("DL", tau2, mu, se, q)


def reml(y, s) -> RandomEffectsEstimate:
    """Restricted maximum likelihood estimate of ``tau^2`` (boundary at zero allowed)."""
    y, s = check_estimates(y, s)
    flat = Prior("flat")

    def neg(tau):
        return -float(log_marginal_likelihood(np.array(tau), y, s, flat))

    hi = float(np.ptp(y) + 10 * s.max()) if y.size > 1 else float(10 * s.max())
    grid = np.linspace(0, hi, 2001)
    vals = log_marginal_likelihood(grid, y, s, flat)
    j = int(np.argmax(vals))
    lo_b, hi_b = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
    res = optimize.minimize_scalar(
        neg, bounds=(lo_b, hi_b), method="bounded", options={"xatol": 1e-12}
    )
    tau = float(res.x) if -res.fun >= vals[j] else float(grid[j])
    mu, se = _mu_given(tau**2, y, s)
    return RandomEffectsEstimate("REML", tau**2, mu, se, cochran_q(y, s))


# -- heterogeneity, intervals and influence: the reference points beside every Bayesian pool ---


@dataclass(frozen=True)
class RegressionEstimate:
    """REML meta-regression: ``tau2``, coefficients ``beta`` with covariance ``cov`` (given
    ``tau2``), the residual heterogeneity statistic ``qe`` on ``k - p`` degrees of freedom."""

    tau2: float
    beta: np.ndarray
    cov: np.ndarray
    qe: float
    df: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))


def _design(y, X) -> np.ndarray:
    return np.ones((len(y), 1)) if X is None else np.asarray(X, dtype=float)


def _gls(tau2: float, y, s, X):
    w = 1.0 / (s**2 + tau2)
    xtw = X.T * w
    cov = np.linalg.inv(xtw @ X)
    beta = cov @ (xtw @ y)
    return beta, cov, w


def generalized_q(tau2, y, s, X=None) -> float:
    """``Q(tau2) = sum_i w_i (y_i - x_i' beta_hat(tau2))^2`` with ``w_i = 1/(s_i^2 + tau2)``;
    at ``tau2 = 0`` it is Cochran's Q (residual QE with covariates)."""
    y, s = check_estimates(y, s)
    X = _design(y, X)
    beta, _, w = _gls(float(tau2), y, s, X)
    return float(np.dot(w, (y - X @ beta) ** 2))


def reml_regression(y, s, X=None) -> RegressionEstimate:
    """REML estimate of ``tau2`` in ``y_i ~ N(x_i' beta, s_i^2 + tau^2)`` and the GLS
    coefficients given it (metafor's ``rma(yi, vi, mods = ~ x)``).

    The restricted log likelihood is the log marginal likelihood of
    :mod:`~bayesurv.synthesis.normal_linear` under flat priors on ``beta``.
    """
    from bayesurv.synthesis.normal_linear import solve_linear

    y, s = check_estimates(y, s)
    X = _design(y, X)
    post = solve_linear(y, X, s**2, tau_prior=None)

    def neg(tau):
        return -float(post.data.moments(np.array([tau]))[2][0])

    hi = float(np.ptp(y) + 10 * s.max()) if y.size > 1 else float(10 * s.max())
    grid = np.linspace(0, hi, 2001)
    vals = -post.data.moments(grid)[2]
    j = int(np.argmin(vals))
    lo_b, hi_b = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
    res = optimize.minimize_scalar(
        neg, bounds=(lo_b, hi_b), method="bounded", options={"xatol": 1e-12}
    )
    tau = float(res.x) if res.fun <= vals[j] else float(grid[j])
    beta, cov, _ = _gls(tau**2, y, s, X)
    return RegressionEstimate(
        tau**2, beta, cov, generalized_q(0.0, y, s, X), int(y.size - X.shape[1])
    )


def typical_variance(s, X=None) -> float:
    """The 'typical' within-study variance of Higgins & Thompson (2002), as metafor computes it:
    ``(k - p) / tr(P)`` with ``P = W - W X (X'WX)^-1 X'W``, ``W = diag(1/s_i^2)``."""
    s = np.asarray(s, dtype=float)
    X = _design(s, X)
    w = 1.0 / s**2
    # tr(P) = sum w - tr((X'WX)^-1 X'W^2 X), without the k x k matrices
    trace = w.sum() - np.trace(np.linalg.solve((X.T * w) @ X, (X.T * w**2) @ X))
    return float((s.size - X.shape[1]) / trace)


def q_profile_ci(y, s, X=None, level: float = 0.95) -> tuple[float, float]:
    """Q-profile confidence interval for ``tau2`` (Viechtbauer 2007): the ``tau2`` where the
    generalized Q equals the chi-square quantiles on ``k - p`` degrees of freedom."""
    y, s = check_estimates(y, s)
    X = _design(y, X)
    df = y.size - X.shape[1]
    if df < 1:
        return (float("nan"), float("nan"))
    a = (1 - level) / 2
    q_hi, q_lo = stats.chi2.ppf(1 - a, df), stats.chi2.ppf(a, df)

    def root(target):
        f = lambda t2: generalized_q(t2, y, s, X) - target  # noqa: E731
        if f(0.0) <= 0:
            return 0.0
        hi = max(1.0, float(np.var(y)) * 10)
        while f(hi) > 0:
            hi *= 10
            if hi > 1e12:  # pragma: no cover - Q decreases to 0 as tau2 grows
                return float("inf")
        return float(optimize.brentq(f, 0.0, hi, xtol=1e-12, rtol=1e-12))

    return root(q_hi), root(q_lo)


def profile_likelihood_ci(y, s, X=None, level: float = 0.95) -> tuple[float, float]:
    """Profile (restricted) likelihood interval for ``tau2``: ``tau2`` with
    ``2 (l_max - l(tau2)) <= chi2_1(level)`` (metafor's ``confint(type = "PL")``)."""
    from bayesurv.synthesis.normal_linear import solve_linear

    y, s = check_estimates(y, s)
    X = _design(y, X)
    est = reml_regression(y, s, X)
    post = solve_linear(y, X, s**2, tau_prior=None)

    def ll(t2):
        return float(post.data.moments(np.array([math.sqrt(max(t2, 0.0))]))[2][0])

    top = ll(est.tau2)
    crit = stats.chi2.ppf(level, 1) / 2
    f = lambda t2: top - ll(t2) - crit  # noqa: E731
    lo = 0.0 if f(0.0) <= 0 else float(optimize.brentq(f, 0.0, est.tau2, xtol=1e-12))
    hi = max(est.tau2 * 2, float(np.var(y)) + 1.0)
    while f(hi) < 0:
        hi *= 4
    return lo, float(optimize.brentq(f, est.tau2, hi, xtol=1e-12))


def knapp_hartung(y, s, tau2: float, X=None, level: float = 0.95) -> dict[str, float]:
    """Knapp-Hartung (Hartung-Knapp-Sidik-Jonkman) interval of the pooled effect:
    ``se^2 = Q(tau2) / (k - p) / sum w`` and a t distribution on ``k - p`` degrees of freedom
    (metafor's ``test = "knha"``)."""
    y, s = check_estimates(y, s)
    X = _design(y, X)
    beta, cov, _ = _gls(float(tau2), y, s, X)
    df = y.size - X.shape[1]
    q = generalized_q(tau2, y, s, X) / df
    se = float(np.sqrt(q * cov[0, 0]))
    t = float(stats.t.ppf(0.5 + level / 2, df))
    return {
        "estimate": float(beta[0]),
        "se": se,
        "df": df,
        "lower": float(beta[0] - t * se),
        "upper": float(beta[0] + t * se),
    }


def prediction_interval(
    mu: float, se: float, tau2: float, level: float = 0.95, df: int | None = None
) -> tuple[float, float]:
    """``mu +- q sqrt(se^2 + tau2)`` with ``q`` a normal quantile (metafor's ``predict``) or a t
    quantile on ``df`` degrees of freedom (Higgins et al. 2009 use ``k - 2``)."""
    q = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
    half = float(q * math.sqrt(se**2 + tau2))
    return float(mu - half), float(mu + half)


def heterogeneity(y, s, tau2: float, X=None, level: float = 0.95) -> dict[str, object]:
    """Cochran's Q with its p-value, I^2 and H^2 at ``tau2`` (metafor's definitions, with the
    typical within-study variance), and Q-profile intervals for ``tau2``, I^2 and H^2."""
    y, s = check_estimates(y, s)
    X = _design(y, X)
    df = y.size - X.shape[1]
    q = generalized_q(0.0, y, s, X)
    v = typical_variance(s, X) if df > 0 else float("nan")  # no residual df: undefined
    lo, hi = q_profile_ci(y, s, X, level)
    i2 = lambda t2: 100 * t2 / (t2 + v)  # noqa: E731
    h2 = lambda t2: (t2 + v) / v  # noqa: E731
    return {
        "q": q,
        "df": int(df),
        "p_q": float(stats.chi2.sf(q, df)) if df > 0 else float("nan"),
        "tau2": float(tau2),
        "tau2_ci": [lo, hi],
        "i2": i2(tau2),
        "i2_ci": [i2(lo), i2(hi)],
        "h2": h2(tau2),
        "h2_ci": [h2(lo), h2(hi)],
        "typical_variance": v,
    }


def leave_one_out(y, s, labels, level: float = 0.95):
    """REML pool with each study left out in turn (metafor's ``leave1out``): one row per study
    with ``estimate, se, lower, upper, q, tau2, i2, h2``."""
    import pandas as pd

    y, s = check_estimates(y, s)
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for i, name in enumerate(labels):
        keep = np.arange(y.size) != i
        if keep.sum() < 2:
            break
        r = reml(y[keep], s[keep])
        het = heterogeneity(y[keep], s[keep], r.tau2, level=level)
        rows.append(
            {
                "study": name,
                "estimate": r.mu,
                "se": r.se,
                "lower": r.mu - z * r.se,
                "upper": r.mu + z * r.se,
                "q": het["q"],
                "tau2": r.tau2,
                "i2": het["i2"],
                "h2": het["h2"],
            }
        )
    return pd.DataFrame(rows)


def reference_points(
    y, s, labels, level: float = 0.95, max_leave_one_out: int | None = None
) -> dict[str, object]:
    """The frequentist reference points printed beside every Bayesian pool: REML and
    DerSimonian-Laird estimates, heterogeneity (Q, I^2, H^2, Q-profile and profile-likelihood
    intervals for tau^2), the Wald and Knapp-Hartung intervals, the prediction interval (normal
    quantile, as metafor; and t on k - 2 df, as Higgins et al. 2009) and leave-one-out (for at
    most ``max_leave_one_out`` studies when given: one REML fit per study)."""
    y, s = check_estimates(y, s)
    z = stats.norm.ppf(0.5 + level / 2)
    r = reml(y, s)
    dl = dersimonian_laird(y, s)
    out: dict[str, object] = {
        "level": level,
        "reml": {
            "estimate": r.mu,
            "se": r.se,
            "lower": r.mu - z * r.se,
            "upper": r.mu + z * r.se,
            "tau2": r.tau2,
            "tau": r.tau,
        },
        "dersimonian_laird": {
            "estimate": dl.mu,
            "se": dl.se,
            "lower": dl.mu - z * dl.se,
            "upper": dl.mu + z * dl.se,
            "tau2": dl.tau2,
        },
    }
    if y.size >= 2:
        het = heterogeneity(y, s, r.tau2, level=level)
        het["tau2_ci_profile"] = list(profile_likelihood_ci(y, s, level=level))
        out["heterogeneity"] = het
        out["knapp_hartung"] = knapp_hartung(y, s, r.tau2, level=level)
        out["prediction_interval"] = list(prediction_interval(r.mu, r.se, r.tau2, level))
        if y.size >= 3:
            out["prediction_interval_t"] = list(
                prediction_interval(r.mu, r.se, r.tau2, level, df=y.size - 2)
            )
        if max_leave_one_out is not None and y.size > max_leave_one_out:
            out["leave_one_out"] = {
                "note": f"given for at most {max_leave_one_out} studies (one REML fit per "
                f"study); this pool has {y.size:,}"
            }
        elif y.size >= 3:
            out["leave_one_out"] = leave_one_out(y, s, labels, level).to_dict(orient="records")
    return out
