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
    regression: object | None = None  # MetaRegressionResult when the section has covariates
    regression_summary: dict | None = None
    regression_tree: object | None = None  # its draws, shaped like the section's MCMC


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
    run = PoolRun(sec, eff, exact, mcmc, sens)
    if sec.covariates:
        from bayesurv.synthesis.metaregression import metaregression

        progress.say(f"{sec.name}: meta-regression on {', '.join(sec.covariates)}")
        reg = metaregression(
            eff,
            sec.covariates,
            mu_prior=sec.mu_prior,
            tau_prior=sec.tau_prior,
            heterogeneity=sec.covariate_heterogeneity,
            source=files[f"pool[{k}].effects"].name,
        )
        run.regression = reg
        run.regression_summary = reg.summary(predict=sec.predict)
        run.regression_tree = reg.to_datatree(
            seed=derived_seed(spec.seed, sec.name, "reg"), draws=s.draws, chains=s.chains
        )
    return run


def regression_quantities(run: PoolRun) -> xr.Dataset:
    """Queryable quantities of a section's meta-regression
    (:func:`bayesurv.query_names.regression_aliases`): ``coefficient`` (labels along ``term``;
    a log HR ratio for a covariate), ``coefficient_hr`` (its exp: the ratio of hazard ratios
    of a subgroup interaction) and, with random effects, ``residual_tau``."""
    from bayesurv.query_names import regression_aliases

    return regression_aliases(run.regression_tree["posterior"].to_dataset())


def regression_table(run: PoolRun) -> pd.DataFrame:
    """The report's table of a section's meta-regression coefficients."""
    rows = []
    for c in run.regression_summary["coefficients"]:
        rows.append(
            {
                "coefficient": c["name"],
                "log HR (ratio) median (95% CrI)": (
                    f"{c['median']:.3f} ({c['lower']:.3f} to {c['upper']:.3f})"
                ),
                "HR (ratio)": f"{np.exp(c['median']):.2f} ({np.exp(c['lower']):.2f}-"
                f"{np.exp(c['upper']):.2f})",
                "P(< 0)": c["p_below_0"],
            }
        )
    return pd.DataFrame(rows)


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
