"""`[[pool]]` sections: hierarchical pooling of reported hazard ratios, with tau-prior
sensitivity analyses and the checks beside the answer (:attr:`PoolRun.checks`, from the exact
pool: REML with I^2 and Q, Bayes factors for tau = 0 and mu = 0, posterior predictive
p-values), as one record for summary.json (:func:`checks_summary`) and one report table
(:func:`checks_table`)."""

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
    checks: dict | None = None  # PoolResult.checks of the exact pool (REML, I^2, BFs, ppp)
    planned_trial: dict | None = None  # plan_events: the MAP prior and the planned trial's OCs


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
    # the frequentist intervals beside the posterior at the analysis's width (spec ci)
    run.checks = exact.checks(level=spec.ci, seed=derived_seed(spec.seed, sec.name, "checks"))
    if sec.plan_events is not None:
        run.planned_trial = planned_trial(eff, sec)
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
        run.regression_summary = reg.summary(level=spec.ci, predict=sec.predict)
        run.regression_tree = reg.to_datatree(
            seed=derived_seed(spec.seed, sec.name, "reg"), draws=s.draws, chains=s.chains
        )
    return run


def planned_trial(effects: pd.DataFrame, sec: Pool) -> dict:
    """The MAP prior of a new trial from the section's trials (exact solver), robustified with
    weight ``robust_weight`` on N(0, 2^2), its effective sample size in events (ELIR,
    variance-ratio, Morita), and the operating characteristics of a planned trial with
    ``plan_events`` events that declares success when P(HR < 1 | data) > 0.975, borrowing
    through the robust MAP prior and without borrowing (the vague prior alone)."""
    from bayesurv.synthesis.map_prior import map_prior
    from bayesurv.synthesis.planned_trial import operating_characteristics

    m = map_prior(effects, mu_prior=sec.mu_prior, tau_prior=sec.tau_prior, weight=sec.robust_weight)
    return {
        **m.as_dict(),
        "planned_trial": operating_characteristics(m.robust, sec.plan_events, sec.plan_allocation),
        "planned_trial_without_borrowing": operating_characteristics(
            m.vague, sec.plan_events, sec.plan_allocation
        ),
    }


def checks_summary(checks: dict) -> dict:
    """The checks beside a pooled answer in one flat record (summary.json's ``checks``):
    the REML estimate (pooled HR with its CI, tau^2 with its Q-profile CI), Cochran's Q, I^2
    with its CI, the Bayes factors for tau = 0 and mu = 0 (BF01 > 1 favours the point), the
    posterior predictive p-value of the heterogeneity and the smallest conflict p-value with
    its study; ``level``: the width of the REML, tau^2 and I^2 intervals."""
    f = checks.get("frequentist", {})
    reml, het = f.get("reml", {}), f.get("heterogeneity", {})
    bf = checks.get("bayes_factors", {})
    out = {}
    if "level" in f:
        out["level"] = float(f["level"])
    if reml:
        out.update(
            reml_hr=float(np.exp(reml["estimate"])),
            reml_hr_lower=float(np.exp(reml["lower"])),
            reml_hr_upper=float(np.exp(reml["upper"])),
            reml_tau2=float(reml["tau2"]),
        )
    if het:
        out.update(
            reml_tau2_lower=float(het["tau2_ci"][0]),
            reml_tau2_upper=float(het["tau2_ci"][1]),
            q=float(het["q"]),
            q_df=int(het["df"]),
            q_p=float(het["p_q"]),
            i2=float(het["i2"]),
            i2_lower=float(het["i2_ci"][0]),
            i2_upper=float(het["i2_ci"][1]),
        )
    for key, name in (("tau_0", "tau"), ("mu_0", "mu")):
        b = bf.get(key, {})
        if "log_bf01" in b:
            out[f"bf01_{name}_0"] = float(b["bf01"])
            out[f"log10_bf01_{name}_0"] = float(b["log_bf01"]) / float(np.log(10))
        elif "note" in b:
            out[f"bf01_{name}_0_note"] = b["note"]
    if "heterogeneity_ppp" in checks:
        out["heterogeneity_ppp"] = float(checks["heterogeneity_ppp"])
    conflict = checks.get("conflict_p_values")
    if isinstance(conflict, list) and conflict:
        worst = min(conflict, key=lambda r: r["p_value"])
        out.update(conflict_p_min=float(worst["p_value"]), conflict_p_min_study=worst["study"])
    return out


def _pct(level: float) -> str:
    """An interval's width as a percentage: ``90%``, ``95%``, ``97.5%``."""
    return f"{100 * float(level):.4g}%"


def _bounded(x: float) -> str:
    """A p-value or Bayes factor for a table: ``< 0.001`` and ``> 1,000`` beyond those."""
    from bayesurv.report_format import number

    if x < 0.001:
        return "< 0.001"
    return "> 1,000" if x > 1000 else number(x)


def _p_text(x: float) -> str:
    text = _bounded(x)
    return text if text[0] in "<>" else f"= {text}"


def _bayes_factor_words(bf01: float, what: str) -> str:
    from bayesurv.report_format import number

    if bf01 >= 1:
        v, side = bf01, f"for {what}"
    else:
        v, side = 1 / bf01, f"against {what}"
    size = f"more than 1,000 (log10 {number(np.log10(v))})" if v > 1000 else number(v)
    return f"{size} {side}"


def checks_table(run: PoolRun) -> pd.DataFrame:
    """The report's table of the checks beside the pooled answer (:func:`checks_summary`):
    ``check``, ``value`` and what it says; the intervals at the width they were computed at
    (the spec's ``ci``)."""
    from bayesurv.report_format import number

    c = checks_summary(run.checks or {})
    pct = _pct(c.get("level", 0.95))
    rows = []
    if "reml_hr" in c:
        rows.append(
            {
                "check": f"REML pooled HR ({pct} CI)",
                "value": f"{number(c['reml_hr'])} ({number(c['reml_hr_lower'])} to "
                f"{number(c['reml_hr_upper'])})",
                "what it says": "the frequentist random-effects estimate beside the posterior",
            }
        )
    if "reml_tau2_lower" in c:
        rows.append(
            {
                "check": f"REML tau^2 ({pct} Q-profile CI)",
                "value": f"{number(c['reml_tau2'])} ({number(c['reml_tau2_lower'])} to "
                f"{number(c['reml_tau2_upper'])})",
                "what it says": "between-trial variance of the log HR",
            }
        )
    if "i2" in c:
        rows.append(
            {
                "check": f"I^2 ({pct} CI)",
                "value": f"{number(c['i2'], decimals=1)}% ({number(c['i2_lower'], decimals=1)}"
                f"% to {number(c['i2_upper'], decimals=1)}%)",
                "what it says": f"share of the variability that is between trials; Q = "
                f"{number(c['q'])} on {c['q_df']} df, p {_p_text(c['q_p'])}",
            }
        )
    for name, what in (("tau", "no heterogeneity (tau = 0)"), ("mu", "no effect (HR = 1)")):
        if f"bf01_{name}_0" in c:
            rows.append(
                {
                    "check": f"Bayes factor, {what}",
                    "value": f"BF01 {_p_text(c[f'bf01_{name}_0'])}",
                    "what it says": _bayes_factor_words(c[f"bf01_{name}_0"], what),
                }
            )
        elif f"bf01_{name}_0_note" in c:
            rows.append(
                {
                    "check": f"Bayes factor, {what}",
                    "value": "not defined",
                    "what it says": c[f"bf01_{name}_0_note"],
                }
            )
    if "heterogeneity_ppp" in c:
        rows.append(
            {
                "check": "posterior predictive p, spread of the trials",
                "value": number(c["heterogeneity_ppp"]),
                "what it says": "near 0: more spread between trials than the model allows",
            }
        )
    if "conflict_p_min" in c:
        rows.append(
            {
                "check": "smallest conflict p (trial vs the others)",
                "value": f"{number(c['conflict_p_min'])} ({c['conflict_p_min_study']})",
                "what it says": "small: the other trials do not predict this one",
            }
        )
    if not rows and run.checks and "note" in run.checks:
        rows.append({"check": "checks", "value": "", "what it says": run.checks["note"]})
    return pd.DataFrame(rows, columns=["check", "value", "what it says"])


def regression_quantities(run: PoolRun) -> xr.Dataset:
    """Queryable quantities of a section's meta-regression
    (:func:`bayesurv.query_names.regression_aliases`): ``coefficient`` (labels along ``term``;
    a log HR ratio for a covariate), ``coefficient_hr`` (its exp: the ratio of hazard ratios
    of a subgroup interaction) and, with random effects, ``residual_tau``."""
    from bayesurv.query_names import regression_aliases

    return regression_aliases(run.regression_tree["posterior"].to_dataset())


def regression_table(run: PoolRun) -> pd.DataFrame:
    """The report's table of a section's meta-regression coefficients (intervals at the
    width they were computed at, the spec's ``ci``)."""
    pct = _pct(run.regression_summary.get("level", 0.95))
    rows = []
    for c in run.regression_summary["coefficients"]:
        rows.append(
            {
                "coefficient": c["name"],
                f"log HR (ratio) median ({pct} CrI)": (
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
