"""The names a query reads on each kind of result, with their meaning, unit and range.

One table (:data:`NAMES`) for every kind of saved result: a pool (``pooled_hr``, ``hr``,
``predictive_hr``, ``tau``, ``hr_study["NAME"]`` ...), a survival fit (the ``derived`` group of
:func:`bayesurv.survival.outputs.derived`: ``survival``, ``surv_diff``, ``rmst``, ``hr`` ...)
and a network meta-analysis (``hr[A vs B]``, ``rank`` ...). :func:`annotate` gives every queried
variable its meaning, unit and valid range as attributes (``query_meaning``, ``query_unit``,
``query_range``) and a time axis its unit (``time_unit``, ``time_scale`` = model time units
per year), so that ``surv_diff(5 years)`` reads as ``surv_diff(5 * time_scale)`` and a threshold
outside the range is pointed out. :func:`pool_aliases` adds the natural names to a pool's
posterior (``mu, tau, theta, theta_new``) when the saved file lacks them, and
:func:`regression_aliases` a meta-regression's (``coefficient``, ``coefficient_hr``,
``residual_tau``).

Examples
--------
>>> NAMES["surv_diff"].range
(-1.0, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

#: model time units per year of each unit a query may name (as bayesurv.lifetable)
UNITS_PER_YEAR = {"days": 365.25, "weeks": 365.25 / 7.0, "months": 12.0, "years": 1.0}
#: the spellings of those units a statement may use after a number: ``surv_diff(5 years)``
UNIT_WORDS = {
    **{w: "days" for w in ("day", "days")},
    **{w: "weeks" for w in ("week", "weeks", "wk", "wks")},
    **{w: "months" for w in ("month", "months", "mo", "mon")},
    **{w: "years" for w in ("year", "years", "yr", "yrs")},
}
INF = math.inf


@dataclass(frozen=True)
class Name:
    """A queryable name: what it is, its unit (``{t}`` = the data's time unit) and range."""

    meaning: str
    unit: str = ""
    range: tuple[float, float] = (-INF, INF)


_P = (0.0, 1.0)
_D = (-1.0, 1.0)
_POS = (0.0, INF)

NAMES: dict[str, Name] = {
    # pool (bayesurv pool, [[pool]]; bayesurv.synthesis.pool)
    "mu": Name("pooled log hazard ratio (the model's mu)", "log HR"),
    "pooled_log_hr": Name("pooled log hazard ratio (mu)", "log HR"),
    "pooled_hr": Name("pooled hazard ratio exp(mu)", "ratio", _POS),
    "tau": Name("between-study SD of the log hazard ratio", "log HR", _POS),
    "theta": Name("each study's shrunken log hazard ratio", "log HR"),
    "theta_new": Name("predictive log hazard ratio of a new study", "log HR"),
    "predictive_log_hr": Name("predictive log hazard ratio of a new study", "log HR"),
    "predictive_hr": Name("predictive hazard ratio of a new study", "ratio", _POS),
    "hr_study": Name("each study's shrunken hazard ratio", "ratio", _POS),
    "study_hr": Name("each study's shrunken hazard ratio", "ratio", _POS),
    "hr_subgroup": Name("each subgroup's shrunken hazard ratio (the pooled rows)", "ratio", _POS),
    "coefficient": Name("meta-regression coefficient (log ratio of hazard ratios)", "log HR"),
    "coefficient_hr": Name("meta-regression ratio of hazard ratios", "ratio", _POS),
    "residual_tau": Name("between-study SD left after the meta-regression", "log HR", _POS),
    # survival fits (bayesurv.survival.outputs.derived)
    "survival": Name("survival probability S(t) of each arm", "probability", _P),
    "hazard": Name("hazard h(t) of each arm", "per {t}", _POS),
    "rmst": Name("restricted mean survival time to rmst_to", "{t}", _POS),
    "median": Name("median survival time", "{t}", _POS),
    "mean_survival": Name("mean survival time (to the horizon)", "{t}", _POS),
    "rmst_years": Name("restricted mean survival time to rmst_to", "years", _POS),
    "mean_survival_years": Name("mean survival time (to the horizon)", "years", _POS),
    "mean_survival_discounted_years": Name(
        "discounted mean survival time (to the horizon)", "years", _POS
    ),
    "cure_fraction": Name("cured fraction of each arm", "probability", _P),
    "surv_diff": Name("survival difference S_2(t) - S_1(t) (second arm minus first)", "", _D),
    "hazard_ratio": Name("hazard ratio h_2(t) / h_1(t) over time", "ratio", _POS),
    "rmst_diff": Name("RMST difference (second arm minus first)", "{t}"),
    "median_diff": Name("median survival difference (second arm minus first)", "{t}"),
    "mean_survival_diff": Name("mean survival difference (second arm minus first)", "{t}"),
    "cure_diff": Name("cured-fraction difference (second arm minus first)", "", _D),
    "life_years_gained": Name("mean survival gained by the second arm", "years"),
    "life_years_gained_discounted": Name("discounted mean survival gained", "years"),
    "time_ratio": Name("time ratio of the second arm to the first (AFT effect)", "ratio", _POS),
    "odds_ratio": Name("survival odds ratio, second arm to first", "ratio", _POS),
    # network meta-analysis (bayesurv.synthesis.nma)
    "d": Name("each treatment's log hazard ratio against the reference", "log HR"),
    "rank": Name("each treatment's rank (1 = best)", "rank", (1.0, INF)),
}
#: names that mean different things on different results
_BY_KIND = {
    ("pool", "hr"): Name("pooled hazard ratio exp(mu) (= pooled_hr)", "ratio", _POS),
    ("pool", "log_hr"): Name("pooled log hazard ratio (= pooled_log_hr)", "log HR"),
    ("survival", "hr"): Name("hazard ratio of the second arm to the first (PH)", "ratio", _POS),
    ("nma", "hr"): Name("hazard ratio of a treatment vs another: hr[A vs B]", "ratio", _POS),
    ("nma", "log_hr"): Name("log hazard ratio of a treatment vs another", "log HR"),
    ("nma", "predictive_hr"): Name(
        "predictive hazard ratio of a new study: [A vs B]", "ratio", _POS
    ),
    ("nma", "predictive_log_hr"): Name("predictive log hazard ratio: [A vs B]", "log HR"),
    ("nma", "theta"): Name("the model's basic parameters", ""),
}
_DIFF = {"surv_diff", "cure_diff"}


def kind_of(tree: xr.DataTree) -> str:
    """``"pool"``, ``"nma"``, ``"survival"`` or ``"other"``, from the groups a result holds."""
    post = tree["posterior"].to_dataset() if "posterior" in tree.children else xr.Dataset()
    der = tree["derived"].to_dataset() if "derived" in tree.children else xr.Dataset()
    if tree.attrs.get("kind") == "nma" or ("hr" in der and "vs" in der["hr"].dims):
        return "nma"
    if {"mu", "tau", "theta_new"} <= set(post.data_vars):
        return "pool"
    if "survival" in der or "hazard" in der:
        return "survival"
    return "other"


def pool_aliases(post: xr.Dataset) -> xr.Dataset:
    """A pool's natural names from its posterior (``mu, tau, theta, theta_new``):
    ``pooled_log_hr``, ``pooled_hr``, ``hr``, ``log_hr``, ``predictive_log_hr``,
    ``predictive_hr``, ``tau``, and each study's shrunken HR as ``hr_study``, ``study_hr`` and
    ``hr_subgroup`` (the rows pooled may be subgroups of one trial)."""
    out = {
        "pooled_log_hr": post["mu"],
        "pooled_hr": np.exp(post["mu"]),
        "log_hr": post["mu"],
        "hr": np.exp(post["mu"]),
        "tau": post["tau"],
        "predictive_log_hr": post["theta_new"],
        "predictive_hr": np.exp(post["theta_new"]),
    }
    if "theta" in post:
        for name in ("hr_study", "study_hr", "hr_subgroup"):
            out[name] = np.exp(post["theta"])
    return xr.Dataset(out)


def regression_aliases(post: xr.Dataset) -> xr.Dataset:
    """A meta-regression's query names from its posterior (``beta`` over ``coefficient``,
    ``tau`` for random effects): ``coefficient`` (log HR, or log ratio of HRs for a
    covariate), ``coefficient_hr`` (its exp) and ``residual_tau``. Their labels lie along
    ``term`` (a variable named like its own dimension would become that dimension's
    coordinate, and ``coefficient`` would vanish from the data variables)."""
    beta = (
        post["beta"].rename({"coefficient": "term"}) if "coefficient" in post.dims else post["beta"]
    )
    out = {"coefficient": beta, "coefficient_hr": np.exp(beta)}
    if "tau" in post:
        out["residual_tau"] = post["tau"]
    return xr.Dataset(out)


def entry(name: str, kind: str = "other") -> Name | None:
    """The table's entry for ``name`` on a result of ``kind`` (None when it has none)."""
    return _BY_KIND.get((kind, name)) or NAMES.get(name)


def annotate(ds: xr.Dataset, kind: str, derived_attrs: dict) -> xr.Dataset:
    """Each variable's meaning, unit and range as attributes; a time axis gets the result's
    ``time_unit`` and ``time_scale`` (absent or ``"time units"``: a unit the data did not say)."""
    unit = str(derived_attrs.get("time_unit", "") or "")
    known = unit in UNITS_PER_YEAR
    out = ds.copy()
    for name in out.data_vars:
        da = out[name]
        e = entry(str(name), kind)
        attrs = dict(da.attrs)
        if e is not None:
            meaning = e.meaning
            if str(name) in ("surv_diff", "hazard_ratio", "hr") and "arm" in ds.coords:
                arms = [str(a) for a in ds["arm"].values]
                if len(arms) == 2:
                    meaning += f"; arms {arms[1]} vs {arms[0]}"
            if str(name) == "rank" and "treatment" in da.dims:
                rng = (1.0, float(da.sizes["treatment"]))
            else:
                rng = e.range
            attrs.update(
                query_meaning=meaning,
                query_unit=e.unit.replace("{t}", unit if known else "the data's time unit"),
                query_range=[float(rng[0]), float(rng[1])],
            )
        if "time" in da.dims:
            attrs["time_unit"] = unit if known else ""
            if known:
                attrs["time_scale"] = float(derived_attrs.get("time_scale", UNITS_PER_YEAR[unit]))
        out[name] = da.assign_attrs(attrs)
    return out


def by_suffix(ds: xr.Dataset) -> xr.Dataset:
    """Meaning, unit and range for names the report prefixes with a section key
    (``efs_across_trials_pooled_hr`` is ``pooled_hr``): the longest known name after a ``_``,
    for the variables :func:`annotate` did not reach (a results folder's pool sections)."""
    out = ds.copy()
    for name in out.data_vars:
        da = out[name]
        if "query_meaning" in da.attrs:
            continue
        known = [k for k in NAMES if str(name).endswith("_" + k)]
        if not known:
            continue
        e = NAMES[max(known, key=len)]
        unit = da.attrs.get("time_unit") or "the data's time unit"
        out[name] = da.assign_attrs(
            query_meaning=e.meaning,
            query_unit=e.unit.replace("{t}", unit),
            query_range=[float(e.range[0]), float(e.range[1])],
        )
    return out


def listing(ds: xr.Dataset) -> pd.DataFrame:
    """Every queryable name of ``ds``: how to call it, its meaning and unit (``--list``)."""
    rows = []
    for name in sorted(str(k) for k in ds.data_vars):
        da = ds[name]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        args = []
        for d in extra:
            if d == "time":
                tu = da.attrs.get("time_unit") or "time"
                args.append(f"t in {tu}" + (" or '5 years'" if da.attrs.get("time_unit") else ""))
            elif d in da.coords:
                labels = [str(v) for v in da[d].values]
                shown = ", ".join(labels[:4]) + (", ..." if len(labels) > 4 else "")
                args.append(f"{d}: {shown}")
            else:
                args.append(d)
        if extra == ["treatment", "vs"]:
            call = f"{name}[A vs B]"
        elif extra == ["time"]:
            call = f"{name}(t)"
        elif "time" in extra:
            call = f'{name}("label", t)'
        elif extra:
            call = f"{name}[label]"
        else:
            call = name
        rows.append(
            {
                "name": call,
                "meaning": da.attrs.get("query_meaning", "model parameter"),
                "unit": da.attrs.get("query_unit", ""),
                "give": "; ".join(args),
            }
        )
    return pd.DataFrame(rows, columns=["name", "meaning", "unit", "give"])
