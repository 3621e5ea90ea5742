"""`[[survival]]` sections: a trial's reported summaries (landmarks, events, HRs, medians) fitted
with a grid of (cure) models by the one core (:func:`bayesurv.survival.fit.fit`), the base case
chosen, the published landmarks, HRs and medians set against the models'."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.evidence.ci import parse_level, z_of_level
from bayesurv.sections.common import (
    UNITS_PER_YEAR,
    derived_seed,
    key_of,
    model_fields,
    population_data,
    population_of,
    sampler_data,
)
from bayesurv.spec import AnalysisSpec, Survival


@dataclass
class SurvivalFit:
    section: Survival
    family: str
    cure: str
    tree: xr.DataTree
    fit: dict
    landmark_check: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    hr_check: pd.DataFrame = field(default_factory=pd.DataFrame)
    median_check: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def label(self) -> str:
        return f"{self.family}-{self.cure}"


def _read_rows(path, sec: Survival, analyses, kind: str) -> pd.DataFrame:
    """The rows of one file of reported numbers (``kind``: landmarks, events, hazard_ratios or
    medians) for the section's endpoint and data cuts, read by :func:`bayesurv.tables.read_table`
    (one sentence for a bad file); the index is the file's 1-based data row. A kept row of an
    arm other than control or experimental is refused (it would be dropped silently)."""
    from bayesurv.evidence.reported import read_reported
    from bayesurv.survival.evidence import ARMS

    df = read_reported(path, kind)
    if df["endpoint"].notna().any():
        df = df[df["endpoint"].fillna("").str.upper() == sec.endpoint.upper()]
    if analyses and df["analysis"].notna().any():
        df = df[df["analysis"].isin(analyses)]
    if "arm" in df:
        bad = df[~df["arm"].isin(ARMS)]
        if len(bad):
            row, arm = int(bad.index[0]), bad["arm"].iloc[0]
            raise InputError(
                f"{path}, row {row}: arm {arm!r} is neither {ARMS[0]!r} nor {ARMS[1]!r}; "
                f"rename it to one of them (survival section {sec.name!r}, endpoint "
                f"{sec.endpoint!r})."
            )
    return df


def reported_arms(sec: Survival, files: dict, k: int):
    """The reported summaries of survival section ``k`` (1-based) per arm: returns
    ``({arm: ReportedArm}, landmarks, events, hazard_ratios)``, each checked; the hazard-ratio
    table has every row of the endpoint with ``used`` and ``reason`` (why a row is not used)."""
    from bayesurv.evidence.reported import (
        check_events,
        check_landmarks,
        check_medians,
        hazard_ratio_terms,
    )
    from bayesurv.survival.evidence import ARMS, ReportedArm

    lm_cols = ["time", "survival", "lower", "upper", "ci_level"]
    lm = pd.DataFrame(columns=["arm", *lm_cols])
    if sec.landmarks:
        lm = _read_rows(files[f"survival[{k}].landmarks"], sec, sec.analyses, "landmarks")
        if lm.empty:
            raise InputError(
                f"{sec.landmarks}: no landmark rows for endpoint {sec.endpoint!r}"
                + (f" and analyses {sec.analyses}" if sec.analyses else "")
                + f" (survival section {sec.name!r}); check the endpoint and analyses in the "
                "spec against the file's endpoint and analysis columns."
            )
    ev = pd.DataFrame()
    if sec.events:
        ev = _read_rows(files[f"survival[{k}].events"], sec, sec.analyses, "events")
    med = pd.DataFrame(columns=["arm", "median", "lower", "upper"])
    if sec.medians:
        med = _read_rows(files[f"survival[{k}].medians"], sec, sec.analyses, "medians")
    hrs = pd.DataFrame()
    if sec.hazard_ratios:
        hrs = _read_rows(files[f"survival[{k}].hazard_ratios"], sec, None, "hazard_ratios")
        hrs = hazard_ratio_terms(hrs, sec.hazard_ratios)
        wanted = sec.hr_analyses or sec.analyses
        if wanted and "analysis" in hrs:
            out = ~hrs["analysis"].isin(wanted)
            hrs.loc[out & hrs["used"], "reason"] = (
                "another data cut than the section's (hr_analyses / analyses in the spec)"
            )
            hrs.loc[out, "used"] = False
        if "hazard_ratios" not in sec.terms:
            hrs.loc[hrs["used"], "reason"] = "hazard-ratio terms switched off (terms in the spec)"
            hrs["used"] = False
    arms = {}
    for arm in ARMS:
        # checked with the file's row numbers (the index), then renumbered from 0
        a_lm = check_landmarks(lm[lm["arm"] == arm][lm_cols], f"{sec.landmarks} ({arm})")
        cols = ["n", "events", "median_followup", "max_followup"]
        a_ev = ev[ev["arm"] == arm][cols] if len(ev) else pd.DataFrame(columns=cols)
        if len(a_ev):
            check_events(a_ev, f"{sec.events} ({arm})")
        a_med = check_medians(med[med["arm"] == arm], f"{sec.medians} ({arm})")
        arms[arm] = ReportedArm(
            a_lm.reset_index(drop=True), a_ev.reset_index(drop=True), a_med.reset_index(drop=True)
        )
    return arms, lm.reset_index(drop=True), ev.reset_index(drop=True), hrs


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def hazard_ratio_check(tree, hrs: pd.DataFrame, ev: pd.DataFrame, shares) -> list[dict]:
    """Every published HR of the endpoint against the model's HR as a Cox fit of that cut would
    see it (:func:`bayesurv.survival.outputs.cox_log_hr`). A row that states no follow-up (a
    regulator's summary, say) is compared over the section's latest cut."""
    from bayesurv.intervals import summary
    from bayesurv.survival.outputs import cox_log_hr

    rows = []
    own_med = float(ev["median_followup"].max()) if len(ev) else None
    own_max = (
        float(ev["max_followup"].max()) if len(ev) and ev["max_followup"].notna().any() else None
    )
    for r in hrs.to_dict(orient="records"):
        hr = _f(r.get("hr"))  # NaN: a p-value without an HR, listed with the reason
        has_fu = np.isfinite(_f(r.get("median_followup")))
        mfu = _f(r["median_followup"]) if has_fu else own_med
        if mfu is None:
            continue
        xfu = _f(r.get("max_followup")) if has_fu else own_max
        xfu = xfu if xfu is not None and np.isfinite(xfu) else None
        m = summary(np.exp(cox_log_hr(tree, mfu, xfu, shares)))
        lo, hi = _f(r.get("lower")), _f(r.get("upper"))
        if not np.isfinite(lo) and np.isfinite(_f(r.get("se"))) and np.isfinite(hr):  # from the p
            z = z_of_level(parse_level(r.get("ci_level")))  # the CI at the row's level
            lo, hi = np.exp(np.log(hr) + np.array([-1.0, 1.0]) * z * r["se"])
        rows.append(
            {
                "analysis": r.get("analysis", ""),
                "published": hr,
                "p": r.get("p"),
                "published_lower": float(lo),
                "published_upper": float(hi),
                "ci_level": parse_level(r.get("ci_level")),
                "se_log_hr": _f(r.get("se")),
                "se_from": r.get("se_from", ""),
                "in_likelihood": bool(r["used"]),
                "reason": r["reason"] or "used",
                "model_median": m["median"],
                "model_lower": m["lower"],
                "model_upper": m["upper"],
                "compared_over": f"follow-up to {xfu if xfu is not None else 2 * mfu:g}"
                + ("" if has_fu else " (the section's latest cut)"),
                "within_published_ci": bool(lo <= m["median"] <= hi) if np.isfinite(lo) else None,
            }
        )
    return rows


@dataclass
class SurvivalPlan:
    """A ``[[survival]]`` section ready to run: its data read and checked, one fit task per
    model of the grid (:func:`bayesurv.batch.fits.section_fit`), and what assembling needs."""

    section: Survival
    tasks: list  # bayesurv.batch.Task
    labels: dict[str, str]  # task key -> model label
    arms: dict
    landmarks: pd.DataFrame
    events: pd.DataFrame
    hazard_ratios: pd.DataFrame
    use: tuple
    note: str
    shared: dict = field(default_factory=dict)


def plan_survival_section(
    sec: Survival, files: dict, k: int, spec: AnalysisSpec, prefix: str = ""
) -> SurvivalPlan:
    """Read section ``k``'s reported summaries and make one task per model of its grid, keyed
    ``<prefix><section key>/<family>-<cure>``. A model's seed is derived from the spec's seed,
    the section's name and the model (never the prefix: a scenario's fits share the base
    case's random numbers, so an unchanged scenario gives the base case's numbers)."""
    from bayesurv.batch import Task
    from bayesurv.batch.fits import section_fit
    from bayesurv.survival.data import Summaries
    from bayesurv.survival.evidence import ARMS
    from bayesurv.survival.structure import ModelSpec

    scale = UNITS_PER_YEAR[sec.time_unit]
    arms, lm, ev, hrs = reported_arms(sec, files, k)
    population = population_of(sec, files, f"survival[{k}]")  # checked here, built per task
    note = (
        population.describe()
        if population
        else "no general-population mortality (no population given)"
    )
    use = tuple(t for t in sec.terms if t != "events" or sec.events)
    summaries = Summaries(arms, hrs if len(hrs) else None, use)
    s = spec.sampling
    times = sorted({*sec.landmark_times, *lm["time"].astype(float)})
    inputs = {key: str(v) for key, v in files.items() if key.startswith(f"survival[{k}].")}
    tasks, labels = [], {}
    for family in sec.families:
        for cure in sec.cure:
            label = f"{family}-{cure}"
            key = f"{prefix}{key_of(sec.name)}/{label}"
            model = ModelSpec(arms=ARMS, **model_fields(sec, family, cure))
            tasks.append(
                Task(
                    key,
                    section_fit,
                    {
                        "ipd": None,
                        "model": model,
                        "summaries": summaries,
                        "population": population_data(sec, files, f"survival[{k}]"),
                        "sampler": sampler_data(s),
                        "outputs": {
                            "times": [t for t in times if t <= sec.horizon_years * scale],
                            "horizon": sec.horizon_years * scale,
                            "discount": sec.discount,
                        },
                        "options": {
                            "inputs": inputs,
                            "record": {"section": sec.name, "model": label},
                        },
                    },
                    seed=derived_seed(spec.seed, sec.name, label),
                    threads=s.chains,
                    structure=f"survival|{label}",
                )
            )
            labels[key] = label
    return SurvivalPlan(sec, tasks, labels, arms, lm, ev, hrs, use, note)


def assemble_survival_section(plan: SurvivalPlan, trees: dict) -> list[SurvivalFit]:
    """The section's fits from the tasks' result trees (by task key): WAIC, landmark, HR and
    median checks against the published numbers. No fitting."""
    from bayesurv.intervals import interval
    from bayesurv.survival import outputs as O
    from bayesurv.survival.evidence import arm_shares

    sec, arms, lm, ev, hrs, use = (
        plan.section,
        plan.arms,
        plan.landmarks,
        plan.events,
        plan.hazard_ratios,
        plan.use,
    )
    fits = []
    for task in plan.tasks:
        label = plan.labels[task.key]
        family, cure = label.split("-", 1)
        tree = trees[task.key]
        ll = tree["log_likelihood"]["reported"].values
        flat = ll.reshape(-1, ll.shape[-1])
        lppd = float(np.sum(np.log(np.mean(np.exp(flat), axis=0))))
        p_waic = float(np.sum(np.var(flat, axis=0, ddof=1)))
        diag = json.loads(tree.attrs["diagnostics"])
        q = interval(O.survival(tree, np.unique(lm["time"].to_numpy(float)))) if len(lm) else None
        check_rows = []
        for r in lm.itertuples():
            med, lo_m, hi_m = (
                float(q[v].sel(arm=r.arm, time=r.time)) for v in ("median", "lower", "upper")
            )
            check_rows.append(
                {
                    "arm": r.arm,
                    "time": r.time,
                    "published": r.survival,
                    "published_lower": r.lower,
                    "published_upper": r.upper,
                    "ci_level": parse_level(getattr(r, "ci_level", None)),
                    "model_median": med,
                    "model_lower": lo_m,
                    "model_upper": hi_m,
                    "within_published_ci": bool(r.lower <= med <= r.upper),
                }
            )
        med_rows = []
        for arm in arms:
            for r in arms[arm].medians.to_dict(orient="records"):
                m = float(r["median"])
                med_rows.append(
                    {
                        "arm": arm,
                        "published": r["median"],
                        "lower": r["lower"],
                        "upper": r["upper"],
                        "ci_level": parse_level(r.get("ci_level")),
                        "se_log": r["se"],
                        "se_from": r["se_from"],
                        "in_likelihood": bool(r["used"]) and "medians" in use,
                        "reason": r["reason"] or "used",
                        "model_S_at_published_median": float(
                            O.survival(tree, [m]).sel(arm=arm).median()
                        )
                        if np.isfinite(m)
                        else np.nan,
                    }
                )
        fit_row = {
            "model": label,
            "lppd": lppd,
            "p_waic": p_waic,
            "elpd_waic": lppd - p_waic,
            "diagnostics": {k_: v for k_, v in diag.items() if k_ != "problems"},
            "problems": diag["problems"],
            "seed": task.seed,
        }
        fits.append(
            SurvivalFit(
                sec,
                family,
                cure,
                tree,
                fit_row,
                pd.DataFrame(check_rows),
                notes=[plan.note],
                hr_check=pd.DataFrame(hazard_ratio_check(tree, hrs, ev, arm_shares(arms))),
                median_check=pd.DataFrame(med_rows),
            )
        )
    return fits


def base_case(fits: list[SurvivalFit]) -> SurvivalFit:
    """The model the report leads with: the spec's ``base_case`` if given, else the best WAIC
    among converged fits (ties: spec order)."""
    wanted = fits[0].section.base_case
    if wanted:
        for f in fits:
            if f.label == wanted:
                return f
        raise InputError(
            f"survival section {fits[0].section.name!r}: base_case {wanted!r} is not in its grid "
            f"({', '.join(f.label for f in fits)})."
        )
    ok = [f for f in fits if not f.fit["problems"]] or fits
    return max(ok, key=lambda f: round(f.fit["elpd_waic"], 6))


def survival_summary(fit: SurvivalFit, times) -> dict:
    """A model of the grid in summary.json: :func:`bayesurv.summaries.summary` at the
    landmark times, the WAIC row and the checks against the published numbers."""
    from bayesurv.summaries import summary

    horizon = fit.section.horizon_years * UNITS_PER_YEAR[fit.section.time_unit]
    out = summary(fit.tree, [t for t in times if t <= horizon])
    out.pop("provenance", None)
    out.update(
        model=fit.label,
        fit=fit.fit,
        landmark_check=fit.landmark_check.to_dict(orient="records"),
        hazard_ratio_check=fit.hr_check.to_dict(orient="records"),
        median_check=fit.median_check.to_dict(orient="records"),
    )
    return out
