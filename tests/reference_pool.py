"""An independent reference for the random-effects pool: the normal-normal model
y_i ~ N(theta_i, s_i^2), theta_i ~ N(mu, tau^2), mu ~ N(m0, sd0^2), tau ~ half-normal(scale),
integrated by the trapezoid rule on a fine grid of tau (mu and theta_new are normal given tau,
in closed form). Written from the model's definition with numpy and scipy only, so a test can
check bayesurv's pooled numbers (exact quadrature or MCMC draws) against it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

Z95 = stats.norm.ppf(0.975)


def effects(csv: Path, **where) -> tuple[np.ndarray, np.ndarray]:
    """log HR and its standard error from a file of reported HRs and 95% CIs:
    se = (log upper - log lower) / (2 x 1.959964), selecting rows equal to ``where``."""
    df = pd.read_csv(csv, comment="#")
    for k, v in where.items():
        df = df[df[k].astype(str) == v]
    y = np.log(df["hr"].to_numpy(float))
    s = (np.log(df["upper"].to_numpy(float)) - np.log(df["lower"].to_numpy(float))) / (2 * Z95)
    return y, s


class NormalNormal:
    def __init__(self, y, s, m0=0.0, sd0=4.0, tau_scale=0.5, tau_max=6.0, n=40_001):
        y, s = np.asarray(y, float), np.asarray(s, float)
        tau = np.linspace(0.0, tau_max, n)
        v = s**2 + tau[:, None] ** 2
        w = 1 / v
        prec = w.sum(1) + 1 / sd0**2
        num = (w * y).sum(1) + m0 / sd0**2
        # log p(y | tau) with mu integrated out, plus the log half-normal prior of tau
        logp = (
            -0.5 * np.log(v).sum(1)
            - 0.5 * (w * y**2).sum(1)
            - 0.5 * m0**2 / sd0**2
            + 0.5 * num**2 / prec
            - 0.5 * np.log(prec)
            - 0.5 * (tau / tau_scale) ** 2
        )
        dens = np.exp(logp - logp.max())
        trap = np.full(n, tau[1] - tau[0])
        trap[[0, -1]] /= 2
        self.y, self.s = y, s
        self.tau = tau
        self.weight = dens * trap / (dens * trap).sum()  # posterior mass of each tau node
        self.mean = num / prec  # mu | tau, y
        self.sd = 1 / np.sqrt(prec)
        self.pred_sd = np.sqrt(self.sd**2 + tau**2)  # theta_new | tau, y

    def p_mu_below(self, c: float) -> float:
        """P(mu < c | y)."""
        return float(self.weight @ stats.norm.cdf((c - self.mean) / self.sd))

    def p_new_below(self, c: float) -> float:
        """P(theta_new < c | y), a new study's true log HR."""
        return float(self.weight @ stats.norm.cdf((c - self.mean) / self.pred_sd))

    def mu_quantile(self, q: float) -> float:
        return float(optimize.brentq(lambda c: self.p_mu_below(c) - q, -20, 20, xtol=1e-12))

    def tau_cdf(self, t: float) -> float:
        return float(self.weight[self.tau <= t].sum())

    def theta_cdf(self, i: int, c: float) -> float:
        """P(theta_i < c | y): given tau, mu ~ N(M, V) and theta_i ~ N(B M + (1 - B) y_i,
        (1 - B) s_i^2 + B^2 V) with B = s_i^2 / (s_i^2 + tau^2)."""
        b = self.s[i] ** 2 / (self.s[i] ** 2 + self.tau**2)
        m = b * self.mean + (1 - b) * self.y[i]
        sd = np.sqrt((1 - b) * self.s[i] ** 2 + b**2 * self.sd**2)
        return float(self.weight @ stats.norm.cdf((c - m) / sd))

    def theta_quantile(self, i: int, q: float) -> float:
        return float(optimize.brentq(lambda c: self.theta_cdf(i, c) - q, -20, 20, xtol=1e-12))

    def estimate_pdf(self, x, se: float) -> np.ndarray:
        """Density of a new study's estimate Y = theta_new + N(0, se^2) (the prior predictive of
        a new trial)."""
        sd = np.sqrt(self.pred_sd**2 + se**2)
        x = np.atleast_1d(np.asarray(x, float))
        return (self.weight / sd * stats.norm.pdf((x[:, None] - self.mean) / sd)).sum(1)

    def estimate_cdf(self, x: float, se: float) -> float:
        sd = np.sqrt(self.pred_sd**2 + se**2)
        return float(self.weight @ stats.norm.cdf((x - self.mean) / sd))

    def box_p(self, y: float, se: float) -> float:
        """Box's p-value P(p(Y) <= p(y)) of a new study's estimate: the predictive density is
        unimodal (checked on a grid), so the set {p(Y) <= p(y)} is the two tails beyond y and
        the point y2 on the mode's other side with p(y2) = p(y), found by root-finding."""
        grid = np.linspace(-6, 6, 2001)
        f = self.estimate_pdf(grid, se)
        mode = grid[np.argmax(f)]
        rising, falling = grid <= mode, grid >= mode
        assert np.all(np.diff(f[rising]) >= 0) and np.all(np.diff(f[falling]) <= 0), "bimodal"
        fy = self.estimate_pdf(y, se)[0]
        a, b = (mode, 30.0) if y < mode else (-30.0, mode)
        y2 = optimize.brentq(lambda x: self.estimate_pdf(x, se)[0] - fy, a, b, xtol=1e-12)
        lo, hi = sorted((y, y2))
        return self.estimate_cdf(lo, se) + 1 - self.estimate_cdf(hi, se)
