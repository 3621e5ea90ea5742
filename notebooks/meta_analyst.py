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
# # Pooling hazard ratios and shrinking subgroups
#
# **Who this is for:** the meta-analyst who pools the reported hazard ratios (HRs) of
# blinatumomab versus chemotherapy across trials, and who has to say how much a new trial or a
# subgroup can be expected to differ from the pooled answer.
#
# ## The model in one formula
#
# Each trial $i$ reports a log HR $y_i$ with standard error $s_i$ (from its 95% CI:
# $s_i = (\log \text{upper} - \log \text{lower}) / (2 \times 1.96)$). The normal-normal
# hierarchical model is
#
# $$
# y_i \sim N(\theta_i, s_i^2), \qquad \theta_i \sim N(\mu, \tau^2), \qquad
# \mu \sim N(0, 4^2), \qquad \tau \sim \text{half-normal}(0.5).
# $$
#
# $\mu$ is the pooled log HR, $\tau$ the between-trial standard deviation, $\theta_i$ each
# trial's own (shrunken) effect, and $\theta_{new} \sim N(\mu, \tau^2)$ the effect in a new
# trial: its interval is the **prediction interval**. Given $\tau$ everything is normal, so the
# posterior can be computed exactly by quadrature over $\tau$; MCMC (PyMC with nutpie) must
# agree with it.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayesurv.evidence.effects import read_effects
from bayesurv.plots.forest import forest
from bayesurv.synthesis.map_prior import map_prior
from bayesurv.synthesis.pool import pool, sensitivity

if not Path("data").exists() and Path("../data").exists():
    os.chdir("..")  # opened from notebooks/: work from the repository root
DRAWS = int(os.environ.get("BAYESURV_NOTEBOOK_DRAWS", "1000"))
CHAINS = int(os.environ.get("BAYESURV_NOTEBOOK_CHAINS", "4"))
SEED = 20120215
EFFECTS = "data/effects_blinatumomab.csv"
SUBGROUPS = "data/study_20120215_subgroups.csv"
print(f"posterior draws per chain: {DRAWS}, chains: {CHAINS}")

# %% [markdown]
# ## The evidence
#
# Event-free survival (EFS; disease-free survival in the COG trials) in the paediatric trials.
# Study 20120215 enters with its final 5-year analysis; its earlier data cut is tagged
# `earlier-cut` and never pooled with it (the same patients twice).

# %%
efs = read_effects(EFFECTS, {"set": "pediatric", "outcome": "event-free"})
print(
    efs[["study", "endpoint", "population", "hr", "lower", "upper", "log_hr", "se"]].to_string(
        index=False
    )
)

# %% [markdown]
# ## Exact and MCMC agree
#
# The exact solver is the default (fast, no Monte Carlo error). We fit the same model by MCMC
# once to show that the two agree to within Monte Carlo error.

# %%
exact = pool(efs, tau_prior="halfnormal(0.5)", method="exact")
mcmc = pool(
    efs,
    tau_prior="halfnormal(0.5)",
    method="mcmc",
    seed=SEED,
    draws=DRAWS,
    tune=DRAWS,
    chains=CHAINS,
)


def row(r):
    s = r.summary()
    return {
        "pooled HR": "{median:.3f} [{lower:.3f}, {upper:.3f}]".format(**s["pooled"]["hr"]),
        "tau": "{median:.3f} [{lower:.3f}, {upper:.3f}]".format(**s["tau"]),
        "new-trial HR": "{median:.3f} [{lower:.3f}, {upper:.3f}]".format(**s["predictive"]["hr"]),
        "P(HR < 1)": round(s["probabilities"]["pooled_hr_lt_1"], 3),
        "P(HR < 0.8)": round(s["probabilities"]["pooled_hr_lt_0_8"], 3),
    }


print(pd.DataFrame({"exact": row(exact), "MCMC": row(mcmc)}).T.to_string())
d = mcmc.diagnostics
print(
    f"MCMC: R-hat max {d['rhat_max']:.3f}, bulk ESS min {d['ess_bulk_min']:.0f}, "
    f"divergences {d['divergences']}, parameterization {d['parameterization']}"
)
mcse = mcmc.mu.sd / np.sqrt(d["ess_bulk_min"])
print(
    f"pooled log HR mean: exact {exact.mu.mean:.4f}, MCMC {mcmc.mu.mean:.4f} "
    f"(difference {abs(exact.mu.mean - mcmc.mu.mean) / mcse:.1f} Monte Carlo s.e.)"
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
x = np.linspace(-2.5, 1.0, 400)
for ax, name, dist_exact, dist_mcmc in (
    (axes[0], "pooled log HR (mu)", exact.mu, mcmc.mu),
    (axes[1], "new trial's log HR", exact.theta_new, mcmc.theta_new),
):
    ax.hist(dist_mcmc.values, bins=60, density=True, color="0.8", label="MCMC draws")
    ax.plot(x, dist_exact.pdf(x), color="tab:blue", label="exact")
    ax.set_xlabel(name)
    ax.legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Forest plot and the prediction interval
#
# Grey squares are what each trial reported; black circles are the trials' shrunken effects
# $\theta_i$. The diamond is $\mu$; the bar under it is the 95% prediction interval for a new
# trial. With four trials, $\tau$ is poorly estimated and the prediction interval is much wider
# than the interval of the pooled HR: the pooled HR says what the *average* trial shows, the
# prediction interval what the *next* trial may show.

# %%
fig = forest(exact, title="EFS, paediatric trials (exact; tau ~ halfnormal(0.5))")
plt.show()
print(
    exact.table()
    .assign(
        hr=lambda t: np.exp(t["median"]),
        hr_lower=lambda t: np.exp(t["lower"]),
        hr_upper=lambda t: np.exp(t["upper"]),
    )[["study", "kind", "hr", "hr_lower", "hr_upper"]]
    .round(3)
    .to_string(index=False)
)

# %% [markdown]
# ## Subgroups of study 20120215, shrunk towards each other
#
# Subgroup HRs within one trial are noisy. Treating the levels of one factor (age; baseline MRD)
# as exchangeable pools them with the same model, so each subgroup borrows strength from the
# other: its shrunken interval is narrower and pulled towards the trial's average. Levels of one
# factor partition the patients; different factors overlap, so each factor is pooled on its own.
# With two subgroups, $\tau$ is mostly prior: that is why the prior matters (next section).

# %%
subgroup_results = {}
fig, axes = plt.subplots(2, 1, figsize=(7.5, 7))
for ax, factor in zip(axes, ("age", "baseline MRD"), strict=True):
    eff = read_effects(SUBGROUPS, {"outcome": "EFS", "factor": factor})
    r = pool(eff, tau_prior="halfnormal(0.5)")
    subgroup_results[factor] = r
    forest(r, ax=ax, title=f"Study 20120215 EFS by {factor}: subgroups shrunk towards each other")
    for s in r.summary()["studies"]:
        print(
            f"{s['study']:22s} reported HR {np.exp(s['observed']['log_hr']):.2f}  "
            "shrunken {median:.2f} [{lower:.2f}, {upper:.2f}]".format(**s["hr"])
        )
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Sensitivity to the heterogeneity prior
#
# With few trials the data say little about $\tau$, so its prior shapes the prediction interval
# (and, less, the pooled HR). `sensitivity` re-solves the exact model under several priors.

# %%
TAU_PRIORS = [
    "halfnormal(0.25)",
    "halfnormal(0.5)",
    "halfnormal(1)",
    "halfcauchy(0.5)",
    "uniform(0, 2)",
]
sens = sensitivity(efs, TAU_PRIORS)
print(
    sens[
        [
            "tau_median",
            "tau_upper",
            "hr_median",
            "hr_lower",
            "hr_upper",
            "new_hr_lower",
            "new_hr_upper",
            "pooled_hr_lt_1",
            "predictive_hr_lt_1",
        ]
    ]
    .round(3)
    .to_string()
)

# %% [markdown]
# ## Adult trials as a sensitivity analysis
#
# E1910 (adults in MRD-negative remission) and the other paediatric trials differ in
# population and setting, so adults are kept out of the main pool and added only to see whether
# the answer moves. (TOWER reports OS only, so it does not enter the EFS pool.)

# %%
efs_all = read_effects(EFFECTS, {"outcome": "event-free"}, exclude_={"set": "earlier-cut"})
with_adults = pool(efs_all, tau_prior="halfnormal(0.5)")
print("studies:", ", ".join(with_adults.studies))
print(
    pd.DataFrame(
        {"paediatric only": row(exact), "with adult trials": row(with_adults)}
    ).T.to_string()
)
fig = forest(with_adults, title="EFS, paediatric and adult trials (sensitivity)")
plt.show()

# %% [markdown]
# ## A meta-analytic-predictive (MAP) prior and prior-data conflict
#
# Suppose study 20120215 were the *new* trial. The MAP prior for its log HR is the predictive
# distribution $\theta_{new} \mid y$ from the *other* paediatric trials; the robust MAP mixes in
# a weakly informative component, $0.8\,\text{MAP} + 0.2\,N(0, 2^2)$, so that a conflicting trial
# can escape the prior. Prior-data conflict is measured by the prior predictive of the new
# trial's estimate: Box's p-value $P(p(Y) \le p(y^*))$, and the posterior weight of the weakly
# informative component after seeing $y^*$ (up from 0.2 when the data conflict).

# %%
others = efs[efs["study"] != "20120215"].reset_index(drop=True)
new = efs[efs["study"] == "20120215"].iloc[0]
mp = map_prior(others, tau_prior="halfnormal(0.5)", weight=0.2)
approx = mp.map_components(3)
print("MAP prior (3-component approximation):")
print(
    pd.DataFrame({"weight": approx.weights, "mean log HR": approx.means, "sd": approx.sds})
    .round(3)
    .to_string(index=False)
)
lo, hi = mp.map.interval()
print(
    f"MAP prior for the new trial's HR: median {np.exp(mp.map.median()):.2f} "
    f"[{np.exp(lo):.2f}, {np.exp(hi):.2f}]"
)
conflict = mp.conflict(float(new["log_hr"]), float(new["se"]))
print(f"study 20120215 reported HR {new['hr']} (log {new['log_hr']:.3f}, se {new['se']:.3f})")
for k in ("predictive_tail_p", "box_p", "robust_weight_prior", "robust_weight_posterior"):
    print(f"  {k:26s} {conflict[k]:.3f}")
print(
    "  robust posterior HR        {:.2f} [{:.2f}, {:.2f}]".format(
        *np.exp(
            [conflict["posterior_median"], conflict["posterior_lower"], conflict["posterior_upper"]]
        )
    )
)

# %%
x = np.linspace(-3, 1.5, 500)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(x, mp.map.pdf(x), label="MAP prior (other paediatric trials)")
ax.plot(x, mp.robust.pdf(x), ls="--", label="robust MAP (20% weakly informative)")
ax.plot(
    x, mp.map.convolve(float(new["se"])).pdf(x), ls=":", label="prior predictive of the estimate"
)
ax.axvline(float(new["log_hr"]), color="k", lw=1, label="study 20120215 estimate")
ax.set_xlabel("log hazard ratio (EFS)")
ax.legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Reading the results
#
# * The pooled EFS HR and its interval answer "how well does blinatumomab work on average across
#   these trials"; the prediction interval answers "what might the next trial show", and with
#   four heterogeneous trials it is the honest one to quote.
# * Shrunken subgroups are the ones to quote: the reported subgroup HRs overstate the spread.
# * If the answer moves with the $\tau$ prior (compare `new_hr_upper` across rows), say so.
# * A Box p-value well above 0.05 means the new trial is compatible with the MAP prior; the
#   weight of the weakly informative component rises when it is not.

# %%
import json  # noqa: E402

results = {
    "exact_pooled_hr": float(np.exp(exact.mu.median())),
    "mcmc_pooled_hr": float(np.exp(mcmc.mu.median())),
    "exact_tau_median": float(exact.tau.median()),
    "mcmc_tau_median": float(mcmc.tau.median()),
    "prediction_interval_hr": [float(v) for v in np.exp(exact.theta_new.interval())],
    "pooled_interval_hr": [float(v) for v in np.exp(exact.mu.interval())],
    "with_adults_pooled_hr": float(np.exp(with_adults.mu.median())),
    "box_p": conflict["box_p"],
    "robust_weight_posterior": conflict["robust_weight_posterior"],
    "sensitivity_rows": len(sens),
}
print("RESULTS_JSON " + json.dumps(results))
