"""Exact network meta-regression against independent closed forms written here with numpy.

The exact solver (:mod:`bayesurv.synthesis.normal_linear`) is checked against generalized least
squares built from the network by hand (not from :meth:`Network.design`):

* fixed effects, flat priors: ``beta = (X' W X)^-1 X' W y``, ``cov = (X' W X)^-1`` with
  ``W = S^-1`` (``S`` block-diagonal: a multi-arm trial's contrasts share the comparator arm's
  variance);
* random effects at a known ``tau``: the same with ``W = (S + tau^2 K)^-1`` (``K``: 1 on the
  diagonal, 1/2 between the contrasts of a multi-arm trial);
* random effects, ``tau`` unknown: the posterior of ``tau`` is the restricted likelihood times
  its prior (flat coefficients), integrated here on a fine grid of ``tau`` with the trapezoidal
  rule, and the posterior mean and covariance of the coefficients the mixture of the GLS
  answers over it;
* on real data, the 13 BCG trials (Colditz et al. 1994, metafor's ``dat.bcg``) as a
  two-treatment network regressed on absolute latitude: metafor's published
  ``rma(yi, vi, mods = ~ ablat)`` (REML tau^2 0.0764, slope -0.02910, issue 15) is the mode of
  tau and the GLS slope there;
* a categorical, fixed-heterogeneity (``heterogeneity = "fixed"``) pairwise meta-regression of
  the same trials on their allocation method: the weighted least-squares fit.

The MCMC check (exact and NUTS agree within Monte Carlo error for the network meta-regression
and a fixed-effect node-split) is marked ``mcmc``.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_synthesis_exact import bcg
from test_synthesis_frequentist import ABLAT
from test_synthesis_metaregression import bcg_table
from test_synthesis_nma import loop_network

from bayesurv.synthesis.metaregression import metaregression
from bayesurv.synthesis.nma import nma, nodesplit_table

# one study-level covariate per trial of the loop network (varies within every comparison)
X_STUDY = {"ab1": 1.0, "ab2": 3.0, "ac1": 2.0, "ac2": 5.0, "bc1": 0.5, "bc2": 4.0, "abc": 2.5}
COMPARATOR_SE = 0.12  # the A-B-C trial's shared comparator arm (loop_network)


def regression_network() -> pd.DataFrame:
    t = loop_network()
    t["x"] = t["study"].map(X_STUDY)
    return t


def hand_design(t: pd.DataFrame, treatments=("B", "C")):
    """Rows of the contrasts, columns d[B], d[C], beta[B], beta[C]; the covariate centred at
    its mean over studies (one value per study)."""
    xbar = np.mean(list(X_STUDY.values()))
    X = np.zeros((len(t), 2 * len(treatments)))
    for i, r in enumerate(t.itertuples()):
        xc = r.x - xbar
        for trt, sign in ((r.treatment, 1.0), (r.comparator, -1.0)):
            if trt in treatments:
                j = treatments.index(trt)
                X[i, j] += sign
                X[i, len(treatments) + j] += sign * xc
    return X


def within_covariance(t: pd.DataFrame) -> np.ndarray:
    S = np.diag(t["se"].to_numpy() ** 2)
    idx = np.flatnonzero(t["study"].to_numpy() == "abc")
    S[idx[0], idx[1]] = S[idx[1], idx[0]] = COMPARATOR_SE**2
    return S


def heterogeneity_structure(t: pd.DataFrame) -> np.ndarray:
    K = np.eye(len(t))
    idx = np.flatnonzero(t["study"].to_numpy() == "abc")
    K[idx[0], idx[1]] = K[idx[1], idx[0]] = 0.5
    return K


def gls(y, X, V):
    W = np.linalg.inv(V)
    cov = np.linalg.inv(X.T @ W @ X)
    return cov @ X.T @ W @ y, cov


NAMES = ["d[B]", "d[C]", "beta[B]", "beta[C]"]


def test_fixed_effect_network_meta_regression_is_gls():
    t = regression_network()
    r = nma(t, reference="A", effects="fixed", covariate="x", d_prior="flat", seed=1)
    r_beta = nma(
        t, reference="A", effects="fixed", covariate="x", d_prior="flat", seed=1, beta_prior="flat"
    )
    y = t["log_hr"].to_numpy()
    b, cov = gls(y, hand_design(t), within_covariance(t))
    # beta_prior defaults to normal(0, 1): with flat interactions the answer is GLS to rounding
    assert r_beta.data.names == NAMES
    post = r_beta.exact
    got = np.array([post.linear(n).mean for n in NAMES])
    np.testing.assert_allclose(got, b, atol=1e-10)
    np.testing.assert_allclose(post.cov[0], cov, atol=1e-12)
    # a contrast between non-reference treatments is the difference, its variance the sum
    cb = r_beta.effect("C", "B")
    assert cb.mean == pytest.approx(b[1] - b[0], abs=1e-10)
    assert cb.sd == pytest.approx(math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]), rel=1e-10)
    z = (b[1] - b[0]) / math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert r_beta.prob_hr_below("C", "B") == pytest.approx(stats.norm.cdf(-z), abs=1e-10)
    # the default normal(0, 1) prior on the interactions: GLS with that prior's precision added
    P0 = np.diag([0.0, 0.0, 1.0, 1.0])
    A = np.linalg.inv(within_covariance(t))
    Xh = hand_design(t)
    cov1 = np.linalg.inv(Xh.T @ A @ Xh + P0)
    b1 = cov1 @ Xh.T @ A @ y
    got1 = np.array([r.exact.linear(n).mean for n in NAMES])
    np.testing.assert_allclose(got1, b1, atol=1e-10)
    np.testing.assert_allclose(r.exact.cov[0], cov1, atol=1e-12)
    # the saved independent draws agree with the closed form within Monte Carlo error
    th = r_beta.draws["theta"]
    se_mc = np.sqrt(np.diag(cov) / th.shape[0])
    assert np.all(np.abs(th.mean(0) - b) < 4 * se_mc)


def random_regression(t: pd.DataFrame, seed: int):
    """The exact random-effects meta-regression on ``x``: flat priors on d and beta, tau
    halfnormal(0.5)."""
    return nma(
        t,
        reference="A",
        effects="random",
        covariate="x",
        d_prior="flat",
        beta_prior="flat",
        tau_prior="halfnormal(0.5)",
        seed=seed,
    )


def test_random_effects_network_meta_regression_at_known_tau_is_gls():
    t = regression_network()
    r = random_regression(t, seed=2)
    y, Xh = t["log_hr"].to_numpy(), hand_design(t)
    S, K = within_covariance(t), heterogeneity_structure(t)
    post = r.exact
    for j in np.linspace(0, post.nodes.size - 1, 7).astype(int):
        tau = post.nodes[j]
        b, cov = gls(y, Xh, S + tau**2 * K)
        np.testing.assert_allclose(post.m[j], b, atol=1e-9)
        np.testing.assert_allclose(post.cov[j], cov, atol=1e-10, rtol=1e-9)


def restricted_posterior(y, X, S, K, tau_logpdf, grid):
    """p(tau | y) on ``grid`` for flat coefficient priors: p(tau) |V|^-1/2 |X'V^-1X|^-1/2
    exp(-chi2 / 2), with the GLS estimate and covariance at every tau."""
    logp, bs, covs = [], [], []
    for tau in grid:
        V = S + tau**2 * K
        b, cov = gls(y, X, V)
        r = y - X @ b
        chi2 = float(r @ np.linalg.solve(V, r))
        logp.append(
            tau_logpdf(tau)
            - 0.5 * np.linalg.slogdet(V)[1]
            + 0.5 * np.linalg.slogdet(cov)[1]
            - 0.5 * chi2
        )
        bs.append(b)
        covs.append(cov)
    logp = np.array(logp)
    w = np.exp(logp - logp.max())
    w /= np.trapezoid(w, grid)
    return w, np.array(bs), np.array(covs)


def test_random_effects_network_meta_regression_integrates_tau_like_the_direct_formula():
    t = regression_network()
    r = random_regression(t, seed=3)
    y, Xh = t["log_hr"].to_numpy(), hand_design(t)
    grid = np.linspace(0.0, 4.0, 8001)  # halfnormal(0.5) has 1e-14 of its mass beyond 4
    dens, bs, covs = restricted_posterior(
        y,
        Xh,
        within_covariance(t),
        heterogeneity_structure(t),
        lambda s: stats.halfnorm(scale=0.5).logpdf(s),
        grid,
    )
    mean = np.trapezoid(dens[:, None] * bs, grid, axis=0)
    second = np.trapezoid(
        dens[:, None, None] * (covs + bs[:, :, None] * bs[:, None, :]), grid, axis=0
    )
    cov = second - np.outer(mean, mean)
    got = np.array([r.exact.linear(n).mean for n in NAMES])
    sds = np.array([r.exact.linear(n).sd for n in NAMES])
    np.testing.assert_allclose(got, mean, atol=1e-6)
    np.testing.assert_allclose(sds, np.sqrt(np.diag(cov)), rtol=1e-5)
    tau_mean = np.trapezoid(dens * grid, grid)
    assert r.exact.tau_posterior.mean == pytest.approx(tau_mean, rel=1e-5)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
    assert r.exact.tau_posterior.median() == pytest.approx(np.interp(0.5, cdf, grid), abs=1e-4)


def bcg_network() -> pd.DataFrame:
    y, s = bcg()
    return pd.DataFrame(
        {
            "study": [f"trial {i + 1}" for i in range(13)],
            "treatment": "vaccinated",
            "comparator": "unvaccinated",
            "log_hr": y,
            "se": s,
            "ablat": ABLAT,
        }
    )


def test_bcg_network_meta_regression_reproduces_metafor():
    # metafor: rma(yi, vi, mods = ~ ablat, data = escalc("RR", ...dat.bcg)): tau^2 = 0.0764,
    # ablat -0.02910 (issue 15; the metafor README). With flat coefficients and a uniform tau
    # prior the marginal posterior of tau is the restricted likelihood: its mode is REML.
    t = bcg_network()
    r = nma(
        t,
        reference="unvaccinated",
        effects="random",
        covariate="ablat",
        d_prior="flat",
        beta_prior="flat",
        tau_prior="uniform(0, 5)",
        seed=4,
    )
    post = r.exact
    mode = post.tau_posterior.mode()
    assert mode**2 == pytest.approx(0.0764, abs=1e-4)
    m, _, _ = post.data.moments(np.array([mode]))
    assert m[0, r.data.names.index("beta[vaccinated]")] == pytest.approx(-0.02910, abs=5e-6)
    # fixed effects: weighted least squares on the centred latitude
    y, s = bcg()
    X = np.column_stack([np.ones(13), ABLAT - ABLAT.mean()])
    b, cov = gls(y, X, np.diag(s**2))
    f = nma(
        t,
        reference="unvaccinated",
        effects="fixed",
        covariate="ablat",
        d_prior="flat",
        beta_prior="flat",
        seed=5,
    )
    for j, name in enumerate(["d[vaccinated]", "beta[vaccinated]"]):
        assert f.exact.linear(name).mean == pytest.approx(b[j], abs=1e-10)
        assert f.exact.linear(name).sd == pytest.approx(math.sqrt(cov[j, j]), rel=1e-10)


def test_categorical_fixed_heterogeneity_meta_regression_is_weighted_least_squares():
    # allocation (alternate / random / systematic) in treatment coding, tau = 0: WLS
    t = bcg_table()
    y, s = bcg()
    r = metaregression(t, ["alloc"], mu_prior="flat", coef_prior="flat", heterogeneity="fixed")
    assert r.names == ["intercept", "alloc[random]", "alloc[systematic]"]
    levels = t["alloc"].to_numpy()
    X = np.column_stack(
        [np.ones(13), (levels == "random").astype(float), (levels == "systematic").astype(float)]
    )
    b, cov = gls(y, X, np.diag(s**2))
    for j, name in enumerate(r.names):
        assert r.coefficient(name).mean == pytest.approx(b[j], abs=1e-10)
        assert r.coefficient(name).sd == pytest.approx(math.sqrt(cov[j, j]), rel=1e-10)
    # the intercept is the inverse-variance pool of the reference level's trials
    w = 1 / s[levels == "alternate"] ** 2
    assert b[0] == pytest.approx(np.dot(w, y[levels == "alternate"]) / w.sum(), abs=1e-12)
    # cell means (no intercept): one inverse-variance pool per level, independent
    c = metaregression(
        t, ["alloc"], coef_prior="flat", heterogeneity="fixed", intercept=False
    ).exact
    for level in ("alternate", "random", "systematic"):
        w = 1 / s[levels == level] ** 2
        d = c.linear(f"alloc[{level}]")
        assert d.mean == pytest.approx(np.dot(w, y[levels == level]) / w.sum(), abs=1e-10)
        assert d.sd == pytest.approx(1 / math.sqrt(w.sum()), rel=1e-10)
    # a prediction at a level is the linear combination, with no tau added (fixed)
    m, new = r.predict({"alloc": "systematic"})
    assert m.mean == pytest.approx(b[0] + b[2], abs=1e-10)
    assert new.sd == pytest.approx(math.sqrt(cov[0, 0] + cov[2, 2] + 2 * cov[0, 2]), rel=1e-10)


@pytest.mark.mcmc
@pytest.mark.parametrize(
    ("effects", "model", "covariate"),
    [("random", "consistency", "x"), ("fixed", "nodesplit", None)],
)
def test_mcmc_agrees_with_exact_for_meta_regression_and_fixed_node_split(effects, model, covariate):
    t = regression_network()
    split = ("A", "B") if model == "nodesplit" else None
    kw = dict(
        reference="A",
        effects=effects,
        model=model,
        split=split,
        covariate=covariate,
        beta_prior="normal(0, 1)",
    )
    ex = nma(t, seed=10, **kw)
    mc = nma(t, seed=10, method="mcmc", draws=2000, target_accept=0.99, **kw)
    assert mc.diagnostics["divergences"] == 0
    ess = mc.diagnostics["ess_bulk_min"]
    for j, name in enumerate(ex.data.names):
        e = ex.exact.linear(j)
        m = mc.draws["theta"][:, j]
        mcse = e.sd / math.sqrt(ess)  # the smallest bulk ESS bounds every parameter's error
        assert abs(m.mean() - e.mean) < max(4 * mcse, 0.05 * e.sd), name
        assert m.std() == pytest.approx(e.sd, rel=0.1), name
    if effects == "random":
        tp = ex.exact.tau_posterior
        assert abs(np.median(mc.draws["tau"]) - tp.median()) < 0.1 * tp.sd
    if model == "nodesplit":
        sub = t[t["study"] != "abc"]
        a = nodesplit_table(nma(sub, reference="A", effects="fixed", seed=11))
        b = nodesplit_table(nma(sub, reference="A", effects="fixed", seed=11, method="mcmc"))
        for name in ("direct", "indirect", "difference"):
            sd = (a[f"{name}_upper"] - a[f"{name}_lower"]) / (2 * stats.norm.ppf(0.975))
            # issue 15's criterion: within a tenth of a posterior sd
            assert np.all(np.abs(b[f"{name}_median"] - a[f"{name}_median"]) < 0.1 * sd), name
        # p = 2 min(q, 1 - q): four binomial Monte Carlo errors of 4,000 draws
        q = a["p_value"] / 2
        tol = 4 * 2 * np.sqrt(q * (1 - q) / 4000)
        assert np.all(np.abs(b["p_value"] - a["p_value"]) < tol)
