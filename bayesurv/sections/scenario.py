"""`[[scenario]]` analyses: the headline quantities of a section's base case and of each
scenario that changes one of its options, side by side, as NICE committees read them.

A scenario is its section run again with some options changed (:class:`bayesurv.spec.Scenario`;
the fits are planned by the section's own code under the key prefix ``scenario/<name>/``). Its
fits use the base case's seeds (common random numbers: a scenario's difference from the base
case is the change it makes, not Monte Carlo noise, and a scenario that changes nothing gives
the base case's numbers exactly). The headline quantities of a survival section's chosen model
(the base case of the scenario's own grid) are

    hr, life_years_gained(_discounted), rmst_diff, mean_survival_years[arm],
    survival(t)[arm] at the section's landmark times, cure_fraction[arm]

(each median and equal-tailed interval of the posterior draws); of a pool: the pooled and
predictive HR, tau and P(pooled HR < threshold) from the exact posterior.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bayesurv.intervals import summary as interval_summary

BASE = "base case"


def _q(da) -> dict:
    s = interval_summary(da)
    return {k: float(s[k]) for k in ("median", "lower", "upper")}


def survival_headline(tree, landmark_times=()) -> dict:
    """Headline quantities of a survival fit's result tree, by name (see the module docstring)."""
    from bayesurv.survival import outputs as O

    der = tree["derived"].to_dataset()
    out: dict[str, dict] = {}
    for name in ("hr", "life_years_gained", "life_years_gained_discounted", "rmst_diff"):
        if name in der:
            out[name] = _q(der[name])
    arms = [str(a) for a in der["rmst"].coords["arm"].values]
    for name in ("mean_survival_years", "cure_fraction"):
        if name in der:
            for a in arms:
                out[f"{name}[{a}]"] = _q(der[name].sel(arm=a))
    horizon = float(der.attrs.get("horizon", np.inf))
    times = [float(t) for t in landmark_times if float(t) <= horizon]
    if times:
        s = O.survival(tree, times)
        for t in times:
            for a in arms:
                out[f"survival({t:g})[{a}]"] = _q(s.sel(arm=a, time=t))
    return out


def pool_headline(result, thresholds=(1.0,)) -> dict:
    """Headline quantities of a pool (:class:`bayesurv.synthesis.pool.PoolResult`, exact)."""
    s = result.summary(thresholds=thresholds, studies=False)
    out = {
        "pooled_hr": dict(s["pooled"]["hr"]),
        "predictive_hr": dict(s["predictive"]["hr"]),
        "tau": {k: float(s["tau"][k]) for k in ("median", "lower", "upper")},
    }
    for t in thresholds:
        p = float(result.prob_hr_below(t, "pooled"))
        out[f"P(pooled_hr < {t:g})"] = {"median": p, "lower": np.nan, "upper": np.nan}
    return out


def scenario_row(name: str, changes: dict, model: str, quantities: dict) -> dict:
    """One row of ``summary.json["scenarios"][section]["rows"]``."""
    return {
        "scenario": name,
        "changes": json.loads(json.dumps(changes, default=str)),
        "model": model,
        "quantities": quantities,
    }


def scenario_table(summary: dict, section: str | None = None, *, formatted: bool = True):
    """The scenario table of a run's ``summary.json`` (a dict): one row for each section's base
    case, then one per scenario of that section; columns ``section``, ``scenario``,
    ``changes``, ``model`` and one per headline quantity.

    ``formatted=True`` gives cells ``"0.68 (0.55 to 0.84)"`` (median and interval at the run's
    ``ci``); ``False`` the medians as numbers. ``section`` keeps one section (and only its
    quantities' columns; with every section, a quantity another kind of section lacks is
    NaN). A spec without scenarios gives an empty table.

    Examples
    --------
    >>> s = {"scenarios": {"EFS": {"kind": "pool", "rows": [
    ...     {"scenario": "base case", "changes": {}, "model": "exact",
    ...      "quantities": {"pooled_hr": {"median": 0.7, "lower": 0.5, "upper": 0.9}}},
    ...     {"scenario": "wide tau", "changes": {"tau_prior": "halfnormal(1)"}, "model": "exact",
    ...      "quantities": {"pooled_hr": {"median": 0.71, "lower": 0.4, "upper": 1.2}}}]}}}
    >>> scenario_table(s)["pooled_hr"].tolist()
    ['0.70 (0.50 to 0.90)', '0.71 (0.40 to 1.20)']
    """
    rows = []
    for sec, block in (summary.get("scenarios") or {}).items():
        if section is not None and sec != section:
            continue
        for r in block["rows"]:
            row = {
                "section": sec,
                "scenario": r["scenario"],
                "changes": "; ".join(f"{k} = {_text(v)}" for k, v in r["changes"].items()) or "-",
                "model": f"failed: {r['failed']}" if r.get("failed") else r["model"],
            }
            for name, q in (r.get("quantities") or {}).items():
                row[name] = _cell(q) if formatted else q["median"]
            rows.append(row)
    return pd.DataFrame(rows).dropna(axis=1, how="all")


def _text(v) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_text(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_text(x) for x in v) + "]"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _fmt(x) -> str:
    if x is None or not np.isfinite(x):
        return "-"
    a = abs(x)
    return f"{x:.3f}" if 0 < a < 0.1 else f"{x:.2f}" if a < 100 else f"{x:,.0f}"


def _cell(q: dict) -> str:
    lo, hi = q.get("lower"), q.get("upper")
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return _fmt(q["median"])
    return f"{_fmt(q['median'])} ({_fmt(lo)} to {_fmt(hi)})"
