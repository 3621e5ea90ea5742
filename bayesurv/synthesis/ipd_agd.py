"""One-stage synthesis of trials given as IPD and trials given as reported hazard ratios.

All trials share the hierarchical log HR ``theta_j = mu + tau * z_j`` (non-centred). A trial with
individual patient data (``time, event, arm``; arm 1 = experimental, 0 = control) enters through
a piecewise-exponential proportional-hazards likelihood with its own baseline::

    h_j(t | arm) = exp(alpha_jk + theta_j * arm)   for t in interval k of trial j,

whose likelihood equals (up to a constant) that of independent Poisson counts
``D_jak ~ Poisson(E_jak * h_jak)`` of events ``D`` over exposure ``E`` in each trial, arm and
interval (Holford 1980; Laird & Olivier 1981). ``D`` and ``E`` are computed with array operations
(no Python loop over patients). Interval cut points are quantiles of each trial's event times (equal
numbers of events). A trial given as a reported HR enters as ``y_j ~ N(theta_j, s_j^2)``.
With many intervals the PWE log HR is close to the Cox partial-likelihood estimate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pymc as pm

from bayesurv.errors import InputError
from bayesurv.synthesis.nma_model import pwe_cells
from bayesurv.synthesis.priors import Prior, as_prior


def _check_ipd(name: str, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for col in ("time", "event", "arm"):
        if col not in df.columns:
            raise InputError(f"IPD of {name}: column {col!r} is missing; give time,event,arm.")
    t = df["time"].to_numpy(float)
    e = df["event"].to_numpy(float)
    a = df["arm"].to_numpy(float)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError(f"IPD of {name}: times must be finite and non-negative.")
    if not np.all(np.isin(e, (0, 1))) or not np.all(np.isin(a, (0, 1))):
        raise InputError(f"IPD of {name}: event and arm must be 0 or 1.")
    if e.sum() < 2 or len(np.unique(a)) < 2:
        raise InputError(f"IPD of {name}: needs events and both arms (arm 0 and 1).")
    return t, e, a


def pwe_counts(time, event, arm, n_intervals: int = 10):
    """Events and exposure per arm (0, 1) and interval: arrays ``D, E`` of shape (2, K) and cuts.

    Examples
    --------
    >>> D, E, cuts = pwe_counts([1.0, 2.0, 3.0, 4.0], [1, 1, 0, 1], [0, 1, 0, 1], n_intervals=2)
    >>> float(D.sum()), round(float(E.sum()), 6)
    (3.0, 10.0)
    """
    return pwe_cells(time, event, arm, 2, n_intervals)  # the NMA's cells with two arms


def build_ipd_agd_model(
    ipd: Mapping[str, pd.DataFrame] | None,
    agd: pd.DataFrame | None,
    mu_prior: Prior | str | None = None,
    tau_prior: Prior | str | None = None,
    n_intervals: int = 10,
    baseline_sd: float = 5.0,
    centre_ipd: bool = False,
    pooling: str = "hierarchical",
) -> pm.Model:
    """PyMC model sharing ``theta_j`` between IPD trials (PWE likelihood) and AgD trials.

    Parameters
    ----------
    ipd : trial name -> DataFrame with ``time, event, arm`` (arm 1 = experimental).
    agd : DataFrame with ``study, log_hr, se`` (e.g. from ``read_effects``), or None.
    mu_prior, tau_prior : priors (strings or Prior); defaults ``normal(0, 4)``, ``halfnormal(0.5)``.
    n_intervals : pieces of each IPD trial's baseline hazard.
    baseline_sd : sd of the normal prior of each log baseline hazard, centred on the trial's
        crude log event rate.
    centre_ipd : parameterize the IPD trials' effects centred (``theta_j ~ N(mu, tau^2)``)
        instead of non-centred.
    pooling : ``"hierarchical"`` (shared ``mu, tau``) or ``"none"`` (each ``theta_j`` gets the
        ``mu`` prior independently: the per-trial analysis, comparable with a Cox fit).

    Examples
    --------
    >>> df = pd.DataFrame({"time": [1.0, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 1, 0],
    ...                    "arm": [0, 1, 0, 1, 0, 1]})
    >>> m = build_ipd_agd_model({"T": df}, None, n_intervals=2, pooling="none")
    >>> sorted(v.name for v in m.free_RVs)
    ['log_baseline_hazard', 'theta']
    """
    if pooling not in ("hierarchical", "none"):
        raise InputError(f"pooling {pooling!r} is not known; use hierarchical or none.")
    ipd = dict(ipd or {})
    mu_p = as_prior(mu_prior, "mu", "normal(0, 4)")
    tau_p = as_prior(tau_prior, "tau", "halfnormal(0.5)")
    agd_names = [] if agd is None else agd["study"].astype(str).tolist()
    names = list(ipd) + agd_names
    if len(set(names)) != len(names):
        raise InputError("a trial is given both as IPD and as a reported HR; give it once.")
    if not names:
        raise InputError("no trials given; pass IPD, reported HRs or both.")
    d_cells, e_cells, arm_cells, trial_cells, int_cells, crude = [], [], [], [], [], []
    for j, (name, df) in enumerate(ipd.items()):
        t, e, a = _check_ipd(name, df)
        D, E, _ = pwe_counts(t, e, a, n_intervals)
        keep = E > 0
        arms, ints = np.nonzero(keep)
        d_cells.append(D[keep])
        e_cells.append(E[keep])
        arm_cells.append(arms)
        trial_cells.append(np.full(arms.size, j))
        int_cells.append(ints)
        crude.append(np.log(e.sum() / t.sum()))
    n_int = n_intervals
    coords = {
        "study": names,
        "ipd_study": list(ipd),
        "agd_study": agd_names,
        "interval": list(range(n_int)),
    }
    with pm.Model(coords=coords) as model:
        if pooling == "none":
            theta = mu_p.pymc("theta", dims="study")
        else:
            mu = mu_p.pymc("mu")
            tau = tau_p.pymc("tau")
        if pooling == "none":
            pass
        elif centre_ipd and ipd:
            th_ipd = pm.Normal("theta_ipd", mu, tau, dims="ipd_study")
            parts = [th_ipd]
            if agd_names:
                z = pm.Normal("z", 0.0, 1.0, dims="agd_study")
                parts.append(mu + tau * z)
            theta = pm.Deterministic("theta", pm.math.concatenate(parts), dims="study")
        else:
            z = pm.Normal("z", 0.0, 1.0, dims="study")
            theta = pm.Deterministic("theta", mu + tau * z, dims="study")
        if pooling != "none":
            z_new = pm.Normal("z_new", 0.0, 1.0)
            pm.Deterministic("theta_new", mu + tau * z_new)
        if ipd:
            alpha = pm.Normal(
                "log_baseline_hazard",
                mu=np.array(crude)[:, None],
                sigma=baseline_sd,
                dims=("ipd_study", "interval"),
            )
            tr = np.concatenate(trial_cells)
            ik = np.concatenate(int_cells)
            am = np.concatenate(arm_cells).astype(float)
            log_rate = alpha[tr, ik] + theta[tr] * am + np.log(np.concatenate(e_cells))
            pm.Poisson("events", mu=pm.math.exp(log_rate), observed=np.concatenate(d_cells))
        if agd_names:
            y = agd["log_hr"].to_numpy(float)
            s = agd["se"].to_numpy(float)
            k0 = len(ipd)
            pm.Normal("y", mu=theta[k0:], sigma=s, observed=y)
    return model


def pool_ipd_agd(
    ipd: Mapping[str, pd.DataFrame] | None,
    agd: pd.DataFrame | None,
    mu_prior: Prior | str | None = None,
    tau_prior: Prior | str | None = None,
    seed: int | None = None,
    n_intervals: int = 10,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.99,
):
    """Sample the one-stage model and return a :class:`~bayesurv.synthesis.pool.PoolResult`
    (the same summaries, probabilities and forest plot as a two-stage pool). IPD trials have no
    single observed estimate, so their ``observed`` entries are empty (NaN in tables)."""
    from bayesurv.sampling import sample
    from bayesurv.synthesis.pool import mcmc_result

    if seed is None:
        raise InputError("MCMC needs a seed; pass seed=....")
    mu_p = as_prior(mu_prior, "mu", "normal(0, 4)")
    tau_p = as_prior(tau_prior, "tau", "halfnormal(0.5)")
    model = build_ipd_agd_model(ipd, agd, mu_p, tau_p, n_intervals=n_intervals)
    idata = sample(
        model, seed=seed, draws=draws, tune=tune, chains=chains, target_accept=target_accept
    )
    names = list(idata["posterior"]["theta"].coords["study"].values)
    n_ipd = len(ipd or {})
    y = np.full(len(names), np.nan)
    s = np.full(len(names), np.nan)
    if agd is not None:
        y[n_ipd:] = agd["log_hr"].to_numpy(float)
        s[n_ipd:] = agd["se"].to_numpy(float)
    return mcmc_result(
        idata,
        method="mcmc (one-stage IPD + aggregate data)",
        studies=names,
        y=y,
        se=s,
        mu_prior=mu_p,
        tau_prior=tau_p,
        what="the IPD + aggregate-data model",
        settings=dict(
            draws=draws,
            tune=tune,
            chains=chains,
            target_accept=target_accept,
            n_intervals=n_intervals,
        ),
        seed=seed,
        extra={"n_intervals": n_intervals},
    )
