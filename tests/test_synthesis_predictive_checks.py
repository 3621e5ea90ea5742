"""Posterior predictive p-values against simulation of replicated data."""

import numpy as np
import pytest
from scipy import stats
from test_synthesis_exact import bcg

from bayesurv.synthesis.normal_normal import solve
from bayesurv.synthesis.predictive_checks import conflict_pvalues, heterogeneity_ppp


def test_conflict_p_value_matches_simulated_replicates():
    # pool the others exactly, draw (mu, tau), then theta_new ~ N(mu, tau^2) and
    # y_rep = theta_new + N(0, s_i^2): the tail share of y_rep beyond y_i
    y, s = bcg()
    post = solve(y, s, "normal(0, 4)", "halfnormal(0.5)")
    tab = conflict_pvalues(post)
    rng = np.random.default_rng(3)
    for i in (0, 7):  # a small trial and the large TPT Madras trial
        keep = np.arange(13) != i
        other = solve(y[keep], s[keep], "normal(0, 4)", "halfnormal(0.5)")
        d = other.sample(rng, 100_000)
        y_rep = d["theta_new"] + s[i] * rng.standard_normal(d["theta_new"].size)
        f = float((y_rep <= y[i]).mean())
        assert tab.loc[i, "p_value"] == pytest.approx(2 * min(f, 1 - f), abs=0.008)
    assert tab["p_value"].between(0, 1).all() and len(tab) == 13


def test_heterogeneity_ppp_matches_replicated_discrepancies():
    y, s = bcg()
    post = solve(y, s, "normal(0, 4)", "halfnormal(0.5)")
    p = heterogeneity_ppp(post, draws=20000, seed=2)
    d = post.sample(np.random.default_rng(9), 100_000)
    sd = np.sqrt(s[None] ** 2 + d["tau"][:, None] ** 2)
    y_rep = d["mu"][:, None] + sd * np.random.default_rng(10).standard_normal(sd.shape)
    t_obs = (((y[None] - d["mu"][:, None]) / sd) ** 2).sum(1)
    t_rep = (((y_rep - d["mu"][:, None]) / sd) ** 2).sum(1)
    assert p == pytest.approx(float((t_rep >= t_obs).mean()), abs=0.01)
    # with heterogeneity forced near zero the 13 BCG trials are far too spread (Q = 152 on 12 df)
    tight = solve(y, s, "normal(0, 4)", "halfnormal(0.01)")
    assert heterogeneity_ppp(tight) < stats.chi2.sf(100, 13) * 1e6
