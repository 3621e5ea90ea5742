"""`[[pool]]` sections: hierarchical pooling of reported hazard ratios, with tau-prior
sensitivity analyses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.sections.common import (
    Progress,
    derived_seed,
)
from bayesurv.spec import AnalysisSpec, Pool

DEFAULT_SENSITIVITY = [
    "halfnormal(0.25)",
    "halfnormal(0.5)",
    "halfnormal(1)",
    "halfcauchy(0.5)",
    "uniform(0, 2)",
]


@dataclass
class PoolRun:
    section: Pool
    effects: pd.DataFrame
    exact: object
    mcmc: object
    sensitivity: pd.DataFrame


def run_pool_section(
    sec: Pool, files: dict, k: int, spec: AnalysisSpec, progress: Progress
) -> PoolRun:
    from bayesurv.evidence.effects import read_effects
    from bayesurv.synthesis.pool import pool, sensitivity

    progress.say(f"{sec.name}: pooling hazard ratios")
    eff = read_effects(files[f"pool[{k}].effects"], sec.where or None, exclude_=sec.exclude or None)
    exact = pool(eff, mu_prior=sec.mu_prior, tau_prior=sec.tau_prior, method="exact")
    s = spec.sampling
    mcmc = pool(
        eff,
        mu_prior=sec.mu_prior,
        tau_prior=sec.tau_prior,
        method="mcmc",
        seed=derived_seed(spec.seed, sec.name),
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
    )
    priors = sec.sensitivity_tau_priors or DEFAULT_SENSITIVITY
    sens = sensitivity(eff, priors, mu_prior=sec.mu_prior, thresholds=sec.thresholds)
    return PoolRun(sec, eff, exact, mcmc, sens)


def pool_quantities(post: xr.Dataset) -> xr.Dataset:
    """Queryable quantities of a pooled posterior (``mu``, ``tau``, ``theta_new``, ``theta``)."""
    out = xr.Dataset(
        {
            "pooled_log_hr": post["mu"],
            "pooled_hr": np.exp(post["mu"]),
            "tau": post["tau"],
            "predictive_log_hr": post["theta_new"],
            "predictive_hr": np.exp(post["theta_new"]),
        }
    )
    if "theta" in post:
        out["study_hr"] = np.exp(post["theta"])
    return out
