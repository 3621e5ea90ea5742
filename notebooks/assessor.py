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
# # Long-term survival of study 20120215 for a health-technology assessment
#
# **Who this is for:** the assessor who needs lifetime event-free survival (EFS) and overall
# survival (OS) for blinatumomab consolidation versus HC3 chemotherapy in children with
# high-risk first-relapse B-ALL (study 20120215, NCT02393859), and the life-years gained.
#
# **What was published** (final 5-year analysis, data cut-off 2022-11-21; `data/case_study/`):
# no Kaplan-Meier curve we can digitize, only per arm the 5-year KM estimate with its 95% CI,
# the number of events among the patients randomized, and the median and maximum follow-up.
# So we fit the model to those few numbers directly, without inventing patient data.
#
# ## The model in one formula
#
# For arm $a$ (control or experimental), survival $t$ months after randomization is
#
# $$
# S_a(t) \;=\; \underbrace{S_{bg}(t)}_{\text{general population}}\;
# \Big[\,\underbrace{\pi_a}_{\text{cure fraction}} + (1-\pi_a)\,
# \underbrace{S_u(t;\theta)}_{\text{Weibull, uncured}}\Big],
# \qquad \operatorname{logit}\pi_a = \alpha + \beta\,[a = \text{experimental}].
# $$
#
# The treatment acts on the cure fraction ($\beta$); the uncured share one Weibull
# distribution. "Cured" patients still die at the general-population rate $S_{bg}(t)$.
# The **no-cure** alternative drops $\pi_a$ and lets treatment act on the Weibull hazard
# (proportional hazards): $S_a(t) = S_{bg}(t)\,S_u(t;\theta)^{\exp(\gamma\,[a=\text{exp.}])}$.
#
# Each reported number adds one likelihood term on the same $S_a(t)$
# (`bayesurv.survival.terms`; the one survival fit, `bayesurv.survival.fit.fit`):
#
# * the 5-year KM estimate $\hat S$ with its CI $(lo, hi)$:
#   $\log(-\log \hat S) \sim N\big(\log(-\log S_a(60)),\ se^2\big)$, $se$ from the CI on that scale;
# * $D$ events among $n$: $D \sim \text{Binomial}\big(n,\ E_C[1 - S_a(C)]\big)$ with the
#   potential follow-up $C$ uniform between $2m - M$ and $M$ ($m$ median, $M$ maximum follow-up).
#
# Both numbers come from the same patients, so treating them as independent overstates the
# precision somewhat.

# %%
import json
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayesurv import summaries
from bayesurv.lifetable import read_life_table
from bayesurv.plots.extrapolation import plot_extrapolation
from bayesurv.survival import outputs as O
from bayesurv.survival.data import Summaries
from bayesurv.survival.evidence import ARMS, ReportedArm
from bayesurv.survival.fit import Outputs, Sampler, fit
from bayesurv.survival.population import Population

if not Path("data").exists() and Path("../data").exists():
    os.chdir("..")  # opened from notebooks/: work from the repository root
DRAWS = int(os.environ.get("BAYESURV_NOTEBOOK_DRAWS", "1000"))
CHAINS = int(os.environ.get("BAYESURV_NOTEBOOK_CHAINS", "4"))
SEED = 20120215  # the spec's seed (models/case_study.toml)
MONTHS_PER_YEAR = 12.0
HORIZON_YEARS = 70  # lifetime horizon for children aged 1-17
DISCOUNT = 0.035  # annual discount rate for life-years (NICE reference case)
print(f"posterior draws per chain: {DRAWS}, chains: {CHAINS}")

# %% [markdown]
# ## The reported summaries
#
# Every number below is read from `data/case_study/`; the `source` column says where it was
# published. We use the final 5-year analysis only (the primary analysis is an earlier cut of
# the same patients).

# %%
landmarks = pd.read_csv("data/case_study/study_20120215_landmarks.csv", comment="#")
events = pd.read_csv("data/case_study/study_20120215_events.csv", comment="#")
landmarks = landmarks[landmarks["analysis"] == "final 5-year"].rename(
    columns={"time_months": "time"}
)
events = events[events["analysis"] == "final 5-year"].rename(
    columns={"median_followup_months": "median_followup", "max_followup_months": "max_followup"}
)
print(landmarks[["endpoint", "arm", "time", "survival", "lower", "upper"]].to_string(index=False))
print(
    events[["endpoint", "arm", "n", "events", "median_followup", "max_followup"]].to_string(
        index=False
    )
)


def reported_arms(endpoint: str) -> dict[str, ReportedArm]:
    """The numbers published for one endpoint, per arm, in the layout the model takes."""
    out = {}
    for arm in ARMS:
        lm = landmarks[(landmarks["endpoint"] == endpoint) & (landmarks["arm"] == arm)]
        ev = events[(events["endpoint"] == endpoint) & (events["arm"] == arm)]
        out[arm] = ReportedArm(
            lm[["time", "survival", "lower", "upper"]].reset_index(drop=True),
            ev[["n", "events", "median_followup", "max_followup"]].reset_index(drop=True),
        )
    return out


FOLLOW_UP = float(events["max_followup"].max())

# %% [markdown]
# ## General-population mortality, and what it assumes
#
# **The age and sex mix at entry is an assumption, not data.** The evidence files do not give
# it. As in `models/case_study.toml`, we take ages spread evenly over 1-17 years (the trial
# enrolled children from 28 days to under 18 years) and half of the patients male. The life
# table is the US total population in 2014 (`survexp.us` from R's survival package, the one
# public table shipped); the trial was international. Change `AGES` and `MALE` below to see how
# much it matters (for children, very little before age 60).
#
# $S_{bg}(t) = \sum_i w_i \exp(-H_i(t))$ averages the life-table survival of each age-sex node
# (one `Population`: the life table and who the patients are).

# %%
table = read_life_table("data/lifetables/survexp_us.csv")
AGES = ("uniform", 1.0, 17.0)  # ASSUMPTION: uniform on 1-17 years
MALE = 0.5  # ASSUMPTION: half male
population = Population(table, year=2014, ages=AGES, male=MALE)
print(population.describe())

# %% [markdown]
# ## Fitting
#
# One NUTS fit per model (nutpie, seeded). We fit three models: OS with and without a cure
# fraction (to show what the cure assumption does) and EFS with a cure fraction. The checks
# are R-hat <= 1.01, bulk/tail ESS >= 400 and no divergent transitions. At the small draws CI
# uses the ESS check fails by design. Even at the default draws the OS models may show a few
# divergent transitions: with two numbers per arm, the cure fraction and the Weibull shape trade
# off against each other. Take them seriously: re-run with more draws or another seed and check
# that the answers below do not move.

# %%
GRID = np.unique(np.concatenate([np.linspace(0, HORIZON_YEARS * MONTHS_PER_YEAR, 841), [60.0]]))
HORIZON = HORIZON_YEARS * MONTHS_PER_YEAR


def fit_endpoint(endpoint: str, cure: str, seed: int):
    """One model of the endpoint's reported numbers; the result and S(t) on GRID."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small draws in CI: the check is printed below
        res = fit(
            None,
            "weibull",
            cure=cure,
            arms=ARMS,
            time_unit="months",
            summaries=Summaries(reported_arms(endpoint)),
            population=population,
            seed=seed,
            sampler=Sampler(DRAWS, DRAWS, CHAINS, target_accept=0.95),
            outputs=Outputs(horizon=HORIZON, discount=DISCOUNT),
        )
    d = json.loads(res.attrs["diagnostics"])
    print(
        f"{endpoint} weibull-{cure}: R-hat max {d['rhat_max']:.3f}, bulk ESS min "
        f"{d['ess_bulk_min']:.0f}, divergences {d['divergences']}"
        + (f"  [{'; '.join(d['problems'])}]" if d["problems"] else "")
    )
    return res, O.survival(res, GRID)


os_cure_fit, os_cure = fit_endpoint("OS", "mixture", SEED + 1)
os_nocure_fit, os_nocure = fit_endpoint("OS", "none", SEED + 2)
efs_cure_fit, efs_cure = fit_endpoint("EFS", "mixture", SEED + 3)

# %% [markdown]
# ## Does the model reproduce what was published?
#
# The posterior median of $S_a(60)$ should sit inside the published 95% CI.


# %%
def at(surv, t):
    """Posterior median and 95% interval of S(t) per arm."""
    q = surv.interp(time=t).quantile([0.5, 0.025, 0.975], dim=("chain", "draw"))
    return "; ".join(
        "{} {:.3f} [{:.3f}, {:.3f}]".format(a, *q.sel(arm=a).values) for a in surv["arm"].values
    )


for name, surv, endpoint in (
    ("OS cure", os_cure, "OS"),
    ("OS no cure", os_nocure, "OS"),
    ("EFS cure", efs_cure, "EFS"),
):
    pub = landmarks[landmarks["endpoint"] == endpoint].set_index("arm")["survival"].to_dict()
    print(f"{name:10s} S(60) median [95%]: {at(surv, 60.0)}   published: {pub}")

# %% [markdown]
# ## Extrapolation
#
# The bands are 95% posterior intervals; the dashed line is the general population of the
# same (assumed) age and sex; the points are the published 5-year estimates. Everything to the
# right of the dotted line (end of follow-up, 82 months) is extrapolation.

# %%
for endpoint, res in (("OS", os_cure_fit), ("EFS", efs_cure_fit)):
    fig = plot_extrapolation(
        res,
        landmarks=landmarks[landmarks["endpoint"] == endpoint],
        title=f"Study 20120215, {endpoint}: Weibull mixture-cure model with background mortality",
    )
    plt.show()

# %%
cure_tab = pd.DataFrame(
    {
        endpoint: {
            arm: "{:.2f} [{:.2f}, {:.2f}]".format(
                *np.quantile(O.cure_fraction(res).sel(arm=arm).values, [0.5, 0.025, 0.975])
            )
            for arm in ARMS
        }
        for endpoint, res in (("OS", os_cure_fit), ("EFS", efs_cure_fit))
    }
)
print("cure fraction, posterior median [95% interval]:")
print(cure_tab.to_string())

# %% [markdown]
# ## Life-years gained
#
# Mean survival to the 70-year horizon is the area under $S_a(t)$ (in years); life-years gained
# is the experimental minus the control area. Discounted at $r = 3.5\%$ a year, each year is
# weighted by $(1 + r)^{-t}$:
#
# $$ \text{LY}_a = \int_0^{70} S_a(t)\,dt, \qquad
#    \text{LY}^{disc}_a = \int_0^{70} (1+r)^{-t} S_a(t)\,dt. $$

# %%
YEARS = GRID / MONTHS_PER_YEAR


def life_years(res, discount=0.0):
    """Posterior draws of the area under S(t) per arm to the horizon, in years
    (``bayesurv.survival.outputs.mean_survival``), as (draws, arm)."""
    m = O.mean_survival(res, discount=discount, years=True)
    return m.stack(sample=("chain", "draw")).transpose("sample", "arm").values


def summ(x):
    lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975])
    return f"{med:5.2f} [{lo:5.2f}, {hi:5.2f}]"


rows = {}
for name, res in (
    ("OS, cure", os_cure_fit),
    ("OS, no cure", os_nocure_fit),
    ("EFS, cure", efs_cure_fit),
):
    for label, r in (("undiscounted", 0.0), ("discounted 3.5%", DISCOUNT)):
        ly = life_years(res, r)
        rows[(name, label)] = {
            "control": summ(ly[:, 0]),
            "experimental": summ(ly[:, 1]),
            "gained": summ(ly[:, 1] - ly[:, 0]),
        }
ly_table = pd.DataFrame(rows).T
ly_table.index.names = ["model", ""]
print("life-years (EFS: event-free years) to 70 years, median [95% interval]:")
print(ly_table.to_string())

# %% [markdown]
# ## What the cure assumption does
#
# Both OS models fit the published numbers (the 5-year estimate and the death counts), yet they
# disagree about everything after follow-up ends. Without a cure fraction the Weibull hazard of
# the uncured keeps acting for life; with one, the survivors' hazard falls to the
# general-population rate. In childhood leukaemia, relapse after five years in remission is rare,
# which is the clinical case for a cure model; the data alone cannot tell the two apart.

# %%
fig, ax = plt.subplots(figsize=(8, 4.8))
for surv, ls, label in ((os_cure, "-", "mixture cure"), (os_nocure, "--", "no cure (PH Weibull)")):
    med = surv.median(dim=("chain", "draw"))
    for arm, c in (("control", "#d62728"), ("experimental", "#1f5f99")):
        ax.plot(YEARS, med.sel(arm=arm), ls=ls, color=c, label=f"{arm}, {label}")
bg = os_cure_fit["derived"]["background_survival"]
ax.plot(bg["time"] / MONTHS_PER_YEAR, bg, color="0.4", ls=":", label="general population")
ax.axvline(FOLLOW_UP / MONTHS_PER_YEAR, color="0.6", lw=0.8)
ax.set_xlabel("Years since randomization")
ax.set_ylabel("Overall survival (posterior median)")
ax.set_ylim(0, 1.02)
ax.legend(fontsize=8, frameon=False)
ax.set_title("Study 20120215 OS: cure vs no-cure extrapolation")
plt.show()

for t_years in (5, 10, 20, 40):
    print(f"OS at {t_years:2d} years, cure:    {at(os_cure, t_years * 12.0)}")
    print(f"OS at {t_years:2d} years, no cure: {at(os_nocure, t_years * 12.0)}")

gain_cure = O.life_years_gained(os_cure_fit, discount=DISCOUNT).values.ravel()
gain_nocure = O.life_years_gained(os_nocure_fit, discount=DISCOUNT).values.ravel()
print(
    f"discounted OS life-years gained: cure {np.median(gain_cure):.2f}, "
    f"no cure {np.median(gain_nocure):.2f}"
)

# %% [markdown]
# ## When a trial publishes a Kaplan-Meier figure
#
# Study 20120215 published no figure we can digitize, so everything above rests on five-year
# summaries. When a trial does publish one, reconstruct the patient-level data from the
# digitized curve and its numbers at risk, then fit the same kind of model to the patients
# (the same `fit`, now with the patients): here GBSG-2 (686 women with node-positive breast cancer,
# recurrence-free survival), whose clicks in `data/examples/gbsg2/` were emulated from the real
# trial data so that the truth is known. The model adds a mixture cure fraction to a Weibull
# for the uncured and the general-population hazard of women aged 53 at entry (the trial's mean
# age; the US 2014 table: both assumptions), and the tamoxifen effect wanes linearly on the log
# HR from 8 to 15 years.

# %%
from bayesurv.evidence.curves import clean_curve, read_at_risk, read_curves, select_curve  # noqa: E402
from bayesurv.lifetable import us_life_table  # noqa: E402
from bayesurv.plots.extrapolation import plot_hazard_extrapolation  # noqa: E402
from bayesurv.reconstruct import reconstruct  # noqa: E402

ex = Path("data/examples/gbsg2")
events = pd.read_csv(ex / "events.csv", comment="#").set_index("arm")
parts = []
for arm in ("no_tamoxifen", "tamoxifen"):
    src = ex / f"clicks_{arm}.csv"
    clicks = clean_curve(select_curve(read_curves(src), str(src), arm), source=str(src))
    rec = reconstruct(
        clicks,
        read_at_risk(ex / "at_risk.csv", arm=arm),
        total_events=int(events.loc[arm, "total_events"]),
    )
    parts.append(rec.ipd.assign(arm=arm))
gbsg = pd.concat(parts, ignore_index=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # small draws in CI: convergence notes are expected
    lt_fit = fit(
        gbsg,
        "weibull",
        cure="mixture",
        effect_on="hazard",
        arm="arm",
        time_unit="months",
        waning=("linear_loghr", 96.0, 180.0),
        population=Population(us_life_table(2014), age=53, male=0.0),
        outputs=Outputs(discount=DISCOUNT),
        seed=SEED,
        sampler=Sampler(DRAWS, DRAWS, CHAINS),
    )
lt_sum = summaries.summary(lt_fit)
print("cure fraction:", {r["arm"]: round(r["median"], 3) for r in lt_sum["cure_fraction"]})
print(
    pd.DataFrame(lt_sum["landmarks"])[["arm", "landmark", "median", "lower", "upper", "km"]]
    .round(3)
    .to_string(index=False)
)
lyg = lt_sum["life_years_gained_discounted"]
print(
    f"discounted life-years gained with tamoxifen: {lyg['median']:.2f} "
    f"({lyg['lower']:.2f} to {lyg['upper']:.2f})"
)
for note in lt_sum["notes"]:
    print("note:", note)
print(summaries.cycle_table(lt_fit, "yearly").head(4).to_string(index=False))  # economic model

# %%
fig_lt = plot_extrapolation(lt_fit, title="GBSG-2: Weibull mixture cure, US women aged 53")
fig_h = plot_hazard_extrapolation(lt_fit, title="GBSG-2: hazard, with the general population's")

# %% [markdown]
# ## Reading the results
#
# * The cure model and the no-cure model agree within follow-up and disagree after it. The
#   *median* life-years gained may move little (without cure both arms lose their survivors
#   together), but the no-cure intervals are far wider and the survival curves beyond ten years
#   differ a lot: the lifetime answer rests on a structural assumption that the 5-year data
#   cannot settle. Report both, and argue the base case from clinical knowledge of late relapse.
# * Discounting shrinks the gain a lot, because most of it accrues decades from now.
# * The background mortality rests on an assumed age and sex mix and a US life table; with
#   children it matters only over the lifetime horizon.
# * `bayesurv run models/case_study.toml` runs the full grid (Weibull and Gompertz, cure and no
#   cure, EFS and OS) with 4 chains and writes a report.

# %%
os_cf = O.cure_fraction(os_cure_fit).median(("chain", "draw"))
results = {
    "os_cure_fraction_experimental": float(os_cf.sel(arm="experimental")),
    "os_cure_fraction_control": float(os_cf.sel(arm="control")),
    "os_ly_gained_discounted_cure": float(np.median(gain_cure)),
    "os_ly_gained_discounted_nocure": float(np.median(gain_nocure)),
    "os_ly_gained_undiscounted_cure": float(O.life_years_gained(os_cure_fit).median()),
    "os_s60_experimental_cure": float(os_cure.sel(arm="experimental").interp(time=60.0).median()),
    "gbsg2_lyg_discounted": float(lyg["median"]),
    "gbsg2_cure_fraction_control": float(lt_sum["cure_fraction"][0]["median"]),
}
print("RESULTS_JSON " + json.dumps(results))
