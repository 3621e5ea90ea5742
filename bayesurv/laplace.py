"""MCMC-free posterior of a two-arm parametric survival model: the Laplace (normal)
approximation at the mode, for simulation studies and for tasks that must not sample.

On the sampled scale of the model a NUTS fit samples (:func:`bayesurv.survival.structure.
parameters` of ``ModelSpec(hazard=family, arm=..., arms=...)``: the family's location, its
ancillary parameters, then the arm effect ``log_hr`` for families closed under PH or
``log_tr`` otherwise), with a flat prior::

    theta_hat = argmax sum_i [d_i log h(t_i | theta, arm_i) - H(t_i | theta, arm_i)],
    theta | data ~ N(theta_hat, I(theta_hat)^-1),   I = -Hessian of the log-likelihood

(central differences). The log-likelihood is the IPD term's NumPy twin
(:func:`bayesurv.survival.terms.loglik` on the arrays of :func:`bayesurv.survival.data.prepare`,
the one predictor of :mod:`bayesurv.survival.predictor`): the same numbers the NUTS fits, LOO
and the TSD 14 AIC/BIC use, with no likelihood or PH/AFT rule of its own here. It is the
large-sample limit of the posterior under any prior that is flat near the mode
(Bernstein-von Mises): with ~100 events per arm the Weibull PH interval of the log HR agrees
with lifelines' Wald interval to 3 digits (tests/test_laplace.py). The draws give the hazard
ratio (or time ratio) and each arm's RMST ``int_0^tau S_a(t) dt`` by
:func:`bayesurv.survival.outputs.rmst`, the function every NUTS fit's RMST comes from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.optimize as so
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.survival import outputs as O
from bayesurv.survival import terms
from bayesurv.survival.families import NP, get_family
from bayesurv.survival.structure import ModelSpec, parameters


def _arms(ipd: pd.DataFrame, arms, arm: str) -> tuple[str, str]:
    if arm not in ipd:
        raise InputError(f"the IPD table has no {arm!r} column; a two-arm fit needs one.")
    seen = sorted(map(str, pd.unique(ipd[arm])))
    labels = tuple(map(str, arms)) if arms is not None else tuple(seen)
    if len(labels) != 2 or set(labels) != set(seen):
        raise InputError(
            f"the IPD table's {arm!r} column holds {seen}; a two-arm fit needs exactly two arms "
            "(give arms=(reference, treated))."
        )
    return labels


def model(ipd: pd.DataFrame, family: str, arm: str, labels) -> tuple[ModelSpec, dict, dict]:
    """The two-arm model of ``family`` (its natural effect: PH where the family allows it, AFT
    otherwise) and its likelihood arrays: :func:`bayesurv.survival.data.prepare`'s
    ``(spec, data, cohort)``, the same a NUTS fit of ``ModelSpec(hazard=family, arm=arm,
    arms=labels)`` builds."""
    from bayesurv.survival.data import prepare

    return prepare(ModelSpec(hazard=family, arm=arm, arms=tuple(labels)), ipd)


def _raw(spec: ModelSpec, theta: np.ndarray, names=None) -> dict:
    """The sampled parameters (:func:`bayesurv.survival.structure.parameters`, in order; their
    ``names`` when the caller has them) from vectors ``theta`` (draws, k) as the predictor takes
    them: each (draws, 1)."""
    theta = np.atleast_2d(theta)
    names = [p.name for p in parameters(spec)] if names is None else names
    return {n: theta[:, i : i + 1] for i, n in enumerate(names)}


def ipd_loglik(spec: ModelSpec, data: dict, theta, names=None) -> float:
    """The IPD term's log-likelihood (its NumPy twin, :func:`bayesurv.survival.terms.loglik`)
    at one parameter vector ``theta``, summed over the patients (``names``: the spec's
    parameter names, built once per fit by :func:`laplace_fit`)."""
    with np.errstate(all="ignore"):
        raw = _raw(spec, np.asarray(theta, float), names)
        ll = terms.loglik(NP, spec, raw, data, pointwise=True)
    return float(np.sum(ll["ipd"]))


def laplace_fit(
    ipd: pd.DataFrame,
    family: str = "weibull",
    *,
    seed: int,
    draws: int = 4000,
    rmst_to: float | None = None,
    arm: str = "arm",
    arms: tuple[str, str] | None = None,
) -> xr.Dataset:
    """Two-arm fit by the Laplace approximation; posterior draws as an ``xr.Dataset``.

    Returns ``(chain=1, draw)`` draws of the sampled parameters, ``log_hr`` and ``hr`` (PH
    families) or ``log_tr`` and ``time_ratio`` (the others), ``rmst`` (``arm``) to ``rmst_to``
    (default: the last observed time) and ``rmst_diff`` (treated - reference); attrs give the
    family, the mode, its standard errors and the maximized log-likelihood.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> t = rng.weibull(1.5, 400) * 10
    >>> ipd = pd.DataFrame({"time": t, "event": 1, "arm": np.repeat(["a", "b"], 200)})
    >>> post = laplace_fit(ipd, "weibull", seed=1, draws=1000)
    >>> sorted(post.data_vars)[:3], post.sizes["draw"]
    (['hr', 'log_hr', 'log_median'], 1000)
    """
    fam = get_family(family)
    labels = _arms(ipd, arms, arm)
    t = ipd["time"].to_numpy(float)
    d = ipd["event"].to_numpy(float)
    if not (np.all(np.isfinite(t)) and np.all(t > 0)):
        raise InputError("every IPD time must be a positive number for a parametric fit.")
    if d.sum() < 2:
        raise InputError("the IPD table has fewer than 2 events; a parametric fit needs more.")
    tau = float(rmst_to) if rmst_to is not None else float(t.max())
    if not (np.isfinite(tau) and tau > 0):
        raise InputError(f"rmst_to must be a positive number, got {rmst_to!r}.")
    spec, data, cohort = model(ipd, fam.name, arm, labels)
    names = [p.name for p in parameters(spec)]

    def loglik(theta):
        return ipd_loglik(spec, data, theta, names)

    def negll(theta):
        v = loglik(theta)
        return -v if np.isfinite(v) else 1e300

    x0 = np.zeros(len(names))
    x0[0] = float(np.log(np.median(t[d > 0]))) if names[0] in ("log_median", "mu") else 0.0
    if names[0] == "log_rate":  # gompertz: the event rate per unit time
        x0[0] = float(np.log(d.sum() / t.sum()))
    fit = so.minimize(negll, x0, method="BFGS", options={"gtol": 1e-6})
    converged = fit.success or (fit.status == 2 and np.max(np.abs(fit.jac)) < 1e-3)
    if not converged:  # a poor start: the simplex first, then BFGS from where it ends
        fit = so.minimize(
            negll,
            x0,
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000},
        )
        fit = so.minimize(negll, fit.x, method="BFGS", options={"gtol": 1e-6})
    mode = fit.x
    H = _hessian(loglik, mode)
    cov = _covariance(-H, family)
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal(mode, cov, size=int(draws), method="cholesky")
    rmst = O.rmst(_fitted(spec, data, cohort, theta, tau), tau).values[0]
    dims = ("chain", "draw")
    out = {n: (dims, theta[None, :, i]) for i, n in enumerate(names)}
    ratio = {"log_hr": "hr", "log_tr": "time_ratio"}[names[-1]]
    out[ratio] = (dims, np.exp(theta[None, :, -1]))
    out["rmst"] = ((*dims, "arm"), rmst[None])
    out["rmst_diff"] = (dims, (rmst[:, 1] - rmst[:, 0])[None])
    se = np.sqrt(np.diag(cov))
    return xr.Dataset(
        out,
        coords={"chain": [0], "draw": np.arange(int(draws)), "arm": list(labels)},
        attrs={
            "family": fam.name,
            "effect": spec.mode,
            "rmst_to": tau,
            "method": "laplace",
            "mode": [float(v) for v in mode],
            "se": [float(v) for v in se],
            "parameters": names,
            "max_loglik": float(-fit.fun),
        },
    )


def _fitted(spec: ModelSpec, data: dict, cohort: dict, theta: np.ndarray, tau: float):
    """The draws ``theta`` as the outputs read a result (:class:`bayesurv.survival.outputs.
    Fitted`): one chain, the model's profiles, no general-population mortality."""
    from bayesurv.survival.population import units_per_year

    n = theta.shape[0]
    prof = {k: v for k, v in data.items() if k.startswith("prof_") or k == "log_t_ref"}
    return O.Fitted(
        spec,
        _raw(spec, theta),
        (1, n),
        {"chain": np.array([0]), "draw": np.arange(n)},
        prof,
        np.asarray(cohort["share"], float),
        None,
        None,
        None,
        units_per_year(spec.time_unit),
        float(np.max(data["t"])),
        tau,
    )


def _hessian(f, x, rel: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    k = x.size
    h = rel * np.maximum(1.0, np.abs(x))
    H = np.empty((k, k))
    f0 = f(x)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                e = np.zeros(k)
                e[i] = h[i]
                H[i, i] = (f(x + e) - 2 * f0 + f(x - e)) / h[i] ** 2
            else:
                ei, ej = np.zeros(k), np.zeros(k)
                ei[i], ej[j] = h[i], h[j]
                H[i, j] = H[j, i] = (
                    f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
                ) / (4 * h[i] * h[j])
    return H


def _covariance(info: np.ndarray, family: str) -> np.ndarray:
    try:
        np.linalg.cholesky(info)
        cov = np.linalg.inv(info)
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise InputError(
            f"the {family} likelihood has no well-defined maximum on these data (the information "
            "matrix is not positive definite); try a simpler family or fit by NUTS."
        ) from None
    return (cov + cov.T) / 2
