"""The normal-normal hierarchical model of log hazard ratios as a PyMC model.

Non-centred (the default)::

    y_i ~ N(theta_i, s_i^2),  theta_i = mu + tau * z_i,  z_i ~ N(0, 1),
    theta_new = mu + tau * z_new,  z_new ~ N(0, 1),   mu ~ p(mu),  tau ~ p(tau).

Marginal (chosen automatically when a study is far more precise than plausible values of ``tau``,
where the non-centred form has a funnel of its own -- the precise study pins ``mu + tau * z_i``)::

    y_i ~ N(mu, s_i^2 + tau^2);  then, for every draw of (mu, tau), exactly
    theta_i | mu, tau, y ~ N(b_i y_i + (1 - b_i) mu, b_i s_i^2),  b_i = tau^2 / (tau^2 + s_i^2),
    theta_new | mu, tau ~ N(mu, tau^2)   (drawn by :func:`add_study_effects` with a seeded RNG).

The builder takes the data and the priors and returns a ``pm.Model``, nothing else; sampling is
:func:`bayesurv.sampling.sample` (nutpie).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr

from bayesurv.synthesis.priors import Prior

PRECISE_RATIO = 0.25


def choose_parameterization(s, tau_prior: Prior, ratio: float = PRECISE_RATIO) -> str:
    """``"marginal"`` when some study's standard error is below ``ratio`` times the prior 90th
    percentile of ``tau`` (its data would pin ``mu + tau * z_i`` at plausible ``tau``), else
    ``"noncentred"``."""
    typical = float(tau_prior.ppf(0.9))
    return "marginal" if np.any(np.asarray(s) < ratio * typical) else "noncentred"


def build_model(
    y,
    s,
    labels: list[str],
    mu_prior: Prior,
    tau_prior: Prior,
    parameterization: str = "noncentred",
) -> pm.Model:
    """PyMC model with dims ``study``.

    Non-centred: free variables ``mu, tau, z, z_new`` and deterministics ``theta, theta_new``.
    Marginal: free variables ``mu, tau`` only (add ``theta, theta_new`` with
    :func:`add_study_effects`).

    Examples
    --------
    >>> from bayesurv.synthesis.priors import parse_prior
    >>> m = build_model([-0.5, -0.2], [0.2, 0.3], ["A", "B"], parse_prior("normal(0, 4)", "mu"),
    ...                 parse_prior("halfnormal(0.5)", "tau"))
    >>> sorted(v.name for v in m.free_RVs)
    ['mu', 'tau', 'z', 'z_new']
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(s, dtype=float)
    with pm.Model(coords={"study": list(labels)}) as model:
        se = pm.Data("se", s, dims="study")
        mu = mu_prior.pymc("mu")
        tau = tau_prior.pymc("tau")
        if parameterization == "noncentred":
            z = pm.Normal("z", 0.0, 1.0, dims="study")
            theta = pm.Deterministic("theta", mu + tau * z, dims="study")
            pm.Normal("y", mu=theta, sigma=se, observed=y, dims="study")
            z_new = pm.Normal("z_new", 0.0, 1.0)
            pm.Deterministic("theta_new", mu + tau * z_new)
        elif parameterization == "marginal":
            pm.Normal("y", mu=mu, sigma=pm.math.sqrt(se**2 + tau**2), observed=y, dims="study")
        else:
            raise ValueError(f"unknown parameterization {parameterization!r}")
    return model


def add_study_effects(idata: xr.DataTree, y, s, labels: list[str], seed: int) -> None:
    """Draw ``theta`` (dims ``study``) and ``theta_new`` given each posterior (mu, tau) draw."""
    rng = np.random.default_rng(seed)
    post = idata["posterior"].to_dataset()
    mu = post["mu"].values[..., None]
    tau = post["tau"].values[..., None]
    y = np.asarray(y, dtype=float)
    s2 = np.asarray(s, dtype=float) ** 2
    b = tau**2 / (tau**2 + s2)
    theta = rng.normal(b * y + (1 - b) * mu, np.sqrt(b * s2))
    theta_new = rng.normal(mu[..., 0], tau[..., 0])
    post["theta"] = xr.DataArray(
        theta, dims=("chain", "draw", "study"), coords={"study": list(labels)}
    )
    post["theta_new"] = xr.DataArray(theta_new, dims=("chain", "draw"))
    idata["posterior"] = xr.DataTree(post)
