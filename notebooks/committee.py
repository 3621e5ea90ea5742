# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Questions a committee asks, answered as posterior probabilities
#
# **Who this is for:** the appraisal committee member who wants plain answers such as "how sure
# are we that blinatumomab cuts the hazard of an event by at least 20%?" or "how likely is it
# that five more children in a hundred are alive at five years?".
#
# A Bayesian analysis gives draws from the posterior distribution of every quantity. The
# probability of a statement is the share of draws in which it holds:
#
# $$ P(\text{statement} \mid \text{data}) \approx \frac{1}{N}\sum_{k=1}^{N}
#    \mathbb{1}\{\text{statement holds in draw } k\}, \qquad
#    \text{MCSE} = \sqrt{p(1-p)/\text{ESS}}, $$
#
# with the Monte Carlo standard error (MCSE) from the effective sample size (ESS) of the
# indicator: it says how much the number would move if the sampler were run again, not how
# uncertain the treatment effect is.

# %%
import json
import os
import tempfile
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.query import probability
from bayesurv.runner import key_of, run

if not Path("data").exists() and Path("../data").exists():
    os.chdir("..")  # opened from notebooks/: work from the repository root
DRAWS = int(os.environ.get("BAYESURV_NOTEBOOK_DRAWS", "1000"))
CHAINS = int(os.environ.get("BAYESURV_NOTEBOOK_CHAINS", "4"))
print(f"posterior draws per chain: {DRAWS}, chains: {CHAINS}")

# %% [markdown]
# ## Running the analysis
#
# The case study is one spec, `models/case_study.toml`; `bayesurv run models/case_study.toml`
# runs all of it (Weibull and Gompertz, with and without cure, for EFS and OS; five pools;
# a few minutes). For this notebook we trim it to the models the committee's questions use:
# the base-case Weibull mixture-cure model of each endpoint, and the two paediatric pools. The
# seed, priors, cohort assumptions and questions are the case study's own.

# %%
case = tomllib.loads(Path("models/case_study.toml").read_text())
small = dict(case)
small["sampling"] = {**case["sampling"], "chains": CHAINS}
small["survival"] = [{**s, "families": ["weibull"], "cure": ["mixture"]} for s in case["survival"]]
small["pool"] = [p for p in case["pool"] if p["where"].get("set") == "pediatric"]
print("survival sections:", [s["name"] for s in small["survival"]])
print("pool sections:", [p["name"] for p in small["pool"]])


def to_toml(spec: dict) -> str:
    """Write a spec dict as TOML (strings, numbers, lists and inline tables are all it holds)."""

    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"
        return repr(v)

    lines = [
        f"{k} = {val(v)}"
        for k, v in spec.items()
        if not isinstance(v, dict | list)
        or (isinstance(v, list) and not any(isinstance(x, dict) for x in v))
    ]
    for k, v in spec.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]"] + [f"{kk} = {val(x)}" for kk, x in v.items()]
        elif isinstance(v, list) and any(isinstance(x, dict) for x in v):
            for section in v:
                lines += ["", f"[[{k}]]"] + [f"{kk} = {val(x)}" for kk, x in section.items()]
    return "\n".join(lines) + "\n"


work = Path(tempfile.mkdtemp(prefix="bayesurv-committee-"))
spec_path = work / "case_study_small.toml"
spec_path.write_text(to_toml(small))
out = work / "results"
summary = run(spec_path, out, force=True, quiet=True, draws=DRAWS)
print(f"results in {out}:", sorted(p.name for p in out.iterdir()))
print("convergence warnings:", summary["warnings"] or "none")

# %% [markdown]
# ## The quantities a question can name
#
# Each section's results are saved in the results folder. Their names are the section's name in
# lower case with underscores, then the quantity: `efs_surv_diff` (experimental minus control
# survival, on a time grid in months), `os_life_years_gained_discounted` (discounted
# life-years gained to the 70-year horizon), `efs_across_paediatric_trials_pooled_hr`,
# `..._predictive_hr` (a new trial's HR) and so on.
#
# The pooled models are sampled with at least 2,000 draws per chain, the survival models with
# `DRAWS`; a statement is evaluated draw by draw, so we keep the same number of draws per chain
# from every section (the first `DRAWS` of each pooled chain; all of them when `DRAWS` >= 2000).
# *Note:* `summary["queries"]`, the runner's own answers, combines sections with different
# numbers of draws when `draws` < 2000 and is then wrong for survival statements; the
# probabilities below are computed from the saved results instead.

# %%
parts = {}
for s in small["survival"]:
    key = key_of(s["name"])
    derived = xr.open_datatree(out / f"{key}.nc")["derived"].to_dataset()
    for name, da in derived.data_vars.items():
        if "draw" in da.dims:  # the general population's curves are data, not draws
            parts[f"{key}_{name}"] = da
for p in small["pool"]:
    key = key_of(p["name"])
    post = xr.open_datatree(out / f"{key}.nc")["posterior"].to_dataset()
    parts[f"{key}_pooled_log_hr"] = post["mu"]
    parts[f"{key}_pooled_hr"] = np.exp(post["mu"])
    parts[f"{key}_tau"] = post["tau"]
    parts[f"{key}_predictive_hr"] = np.exp(post["theta_new"])
n_draws = min(da.sizes["draw"] for da in parts.values())
quantities = xr.Dataset(
    {
        k: da.isel(draw=slice(0, n_draws)).drop_vars([c for c in da.coords if c not in da.dims])
        for k, da in parts.items()
    }
)
# short names for the two numbers the committee asks about most
quantities["hr"] = quantities["efs_across_paediatric_trials_pooled_hr"]
quantities["os_hr"] = quantities["os_across_paediatric_trials_pooled_hr"]
print(
    f"{len(quantities.data_vars)} quantities, {quantities.sizes['chain']} chains x {n_draws} draws"
)
print(", ".join(sorted(quantities.data_vars)))

# %% [markdown]
# ## The committee's questions
#
# `hr` is the pooled EFS hazard ratio across the paediatric trials (HR < 1 favours
# blinatumomab); `efs_surv_diff(60)` the difference in event-free survival at 60 months in study
# 20120215, read from its fitted cure model.

# %%
QUESTIONS = [
    "P(hr < 1)",
    "P(hr < 0.8)",
    "P(efs_across_paediatric_trials_predictive_hr < 1)",
    "P(os_hr < 0.8)",
    "P(efs_surv_diff(60) > 0.10)",
    "P(os_surv_diff(60) > 0.10)",
    "P(os_surv_diff(240) > 0.10)",
    "P(os_life_years_gained_discounted > 2)",
    "P(0.5 < hr < 0.8)",
    "P(efs_surv_diff(60) > 0.10 and os_surv_diff(60) > 0.10)",
]
answers = pd.DataFrame([probability(q, quantities) for q in QUESTIONS])
answers["reads as"] = [
    f"{p:.1%} (give or take {2 * m:.1%} from Monte Carlo)"
    for p, m in zip(answers["probability"], answers["mcse"], strict=True)
]
pd.set_option("display.width", 160)
print(answers[["statement", "probability", "mcse", "draws", "reads as"]].to_string(index=False))

# %% [markdown]
# ## How to read them
#
# * **A probability, not a p-value.** `P(hr < 0.8) = 0.95` means: given these trials, the
#   priors and the model, there is a 95% chance that the pooled hazard ratio is below 0.8. It
#   is not the chance of a false positive.
# * **Pooled vs new trial.** `P(hr < 1)` is about the average effect across trials;
#   `P(..._predictive_hr < 1)` about the effect in a new, similar trial, which is always less
#   certain because trials differ.
# * **Survival differences rest on a model.** `efs_surv_diff(60)` is within follow-up and rests
#   mostly on the published 5-year estimates; `os_surv_diff(240)` (20 years) and life-years
#   gained rest on the cure assumption and the assumed age and sex mix of the cohort.
# * **The MCSE** is the sampler's error in the reported probability; when it matters for a
#   decision (a probability near a threshold), run more draws. A probability of exactly 0 or 1
#   means "in no draw / in every draw": with N draws, read it as "below about 1/N".
# * **The priors matter when the data are thin**: see the meta-analyst notebook's sensitivity
#   table before quoting a predictive probability.

# %% [markdown]
# ## A name that does not exist
#
# Questions are parsed safely (never `eval`'d). A misspelt name is refused in one sentence that
# lists the names that do exist, so the fix is obvious.

# %%
for bad in ("P(pooled_hr < 0.8)", "P(efs_surv_diff > 0.1)", "P(hr < )"):
    try:
        probability(bad, quantities)
    except InputError as err:
        print(textwrap.fill(str(err), width=100, subsequent_indent="    "), end="\n\n")

# %%
results = {q["statement"]: q["probability"] for q in answers.to_dict(orient="records")}
results["mcse_max"] = float(answers["mcse"].max())
results["n_draws"] = int(answers["draws"].iloc[0])
print("RESULTS_JSON " + json.dumps(results))
