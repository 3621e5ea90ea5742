"""Run an analysis spec end to end into a results folder.

``run(spec_path, out)`` fits every ``[[survival]]`` section's model grid to the trial's reported
summaries (:mod:`bayesurv.survival.aggregate`), pools every ``[[pool]]`` section's hazard ratios
(:mod:`bayesurv.synthesis.pool`), answers the spec's queries (:mod:`bayesurv.query`), and writes

* ``<section>.nc``: the base-case model of each section as an ArviZ DataTree (``posterior``,
  ``sample_stats``, ``derived`` quantities on a ``time`` coordinate with an ``arm`` dim,
  ``observed_data``), with provenance (versions, spec, seed, input hashes) in its attributes;
  ``<section>/<family>-<cure>.nc`` for every model of the grid;
* ``figures/*.png`` and ``*.svg``, ``summary.json`` and a self-contained ``report.html``.

Seeds: every fit's seed is derived from the spec's seed and the model's name (CRC32), so the
same spec and seed give the same numbers, and adding a model does not change the others.
"""

from __future__ import annotations

import json
import re
import shutil
import time as _time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.provenance import provenance
from bayesurv.sampling import ConvergenceWarning
from bayesurv.spec import AnalysisSpec, Ipd, Pool, Survival, load_spec

_Z = 1.959963984540054
UNITS_PER_YEAR = {"days": 365.25, "weeks": 52.1775, "months": 12.0, "years": 1.0}
MARK = ".bayesurv-results"


def key_of(name: str) -> str:
    """A query-friendly identifier for a section name ("EFS across trials" -> efs_across_trials)."""
    k = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return k if k and not k[0].isdigit() else f"s_{k}"


def derived_seed(seed: int, *names: str) -> int:
    return (int(seed) + zlib.crc32("/".join(names).encode())) % (2**31 - 1)


class Progress:
    """A rich status line, or nothing with ``quiet``."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = _time.perf_counter()
        if not quiet:
            from rich.console import Console

            self.console = Console(stderr=True)

    def say(self, msg: str) -> None:
        if not self.quiet:
            self.console.print(f"[dim]{_time.perf_counter() - self.t0:6.1f}s[/] {msg}")


# --------------------------------------------------------------------------------------------
# survival sections
# --------------------------------------------------------------------------------------------
@dataclass
class SurvivalFit:
    section: Survival
    family: str
    cure: str
    tree: xr.DataTree
    fit: dict
    landmark_check: pd.DataFrame
    background: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    hr_check: pd.DataFrame = field(default_factory=pd.DataFrame)
    median_check: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def label(self) -> str:
        return f"{self.family}-{self.cure}"


def _read_rows(path, sec: Survival, analyses) -> pd.DataFrame:
    df = pd.read_csv(path, comment="#")
    if "endpoint" in df:
        df = df[df["endpoint"].astype(str).str.upper() == sec.endpoint.upper()]
    if analyses and "analysis" in df:
        df = df[df["analysis"].isin(analyses)]
    return df.rename(
        columns={
            "time_months": "time",
            "median_followup_months": "median_followup",
            "max_followup_months": "max_followup",
        }
    )


def reported_arms(sec: Survival, files: dict, k: int):
    """The reported summaries of survival section ``k`` (1-based) per arm: returns
    ``({arm: ReportedArm}, landmarks, events, hazard_ratios)``, each checked; the hazard-ratio
    table has every row of the endpoint with ``used`` and ``reason`` (why a row is not used)."""
    from bayesurv.survival.aggregate import (
        ARMS,
        ReportedArm,
        check_events,
        check_landmarks,
        check_medians,
        hazard_ratio_terms,
    )

    lm_cols = ["time", "survival", "lower", "upper"]
    lm = pd.DataFrame(columns=["arm", *lm_cols])
    if sec.landmarks:
        lm = _read_rows(files[f"survival[{k}].landmarks"], sec, sec.analyses)
        if lm.empty:
            raise InputError(
                f"survival section {sec.name!r}: no landmark rows for endpoint {sec.endpoint!r}"
                + (f" and analyses {sec.analyses}" if sec.analyses else "")
                + "; check the spec."
            )
    ev = pd.DataFrame()
    if sec.events:
        ev = _read_rows(files[f"survival[{k}].events"], sec, sec.analyses)
    med = pd.DataFrame(columns=["arm", "median", "lower", "upper"])
    if sec.medians:
        med = _read_rows(files[f"survival[{k}].medians"], sec, sec.analyses)
    hrs = pd.DataFrame()
    if sec.hazard_ratios:
        hrs = _read_rows(files[f"survival[{k}].hazard_ratios"], sec, None)
        hrs = hazard_ratio_terms(hrs.reset_index(drop=True), sec.hazard_ratios)
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
        a_lm = check_landmarks(
            lm[lm["arm"] == arm][lm_cols].reset_index(drop=True), f"{sec.landmarks} ({arm})"
        )
        cols = ["n", "events", "median_followup", "max_followup"]
        a_ev = (
            ev[ev["arm"] == arm][cols].reset_index(drop=True)
            if len(ev)
            else pd.DataFrame(columns=cols)
        )
        if len(a_ev):
            check_events(a_ev, f"{sec.events} ({arm})")
        a_med = check_medians(
            med[med["arm"] == arm].reset_index(drop=True), f"{sec.medians} ({arm})"
        )
        arms[arm] = ReportedArm(a_lm, a_ev, a_med)
    return arms, lm, ev, hrs


def background_function(sec: Survival, files: dict, k: int, scale: float):
    """The cohort's general-population survival S_bg(t) as a function of model time (None
    without a cohort), and a sentence saying what was assumed."""
    if sec.cohort is None:
        return None, "no general-population mortality (no cohort given)"
    from bayesurv.lifetable import read_life_table
    from bayesurv.survival.background import Cohort, background_survival

    c = sec.cohort
    table = read_life_table(files[f"survival[{k}].cohort.life_table"])
    ages = np.arange(np.floor(c.age_min), np.ceil(c.age_max) + 1e-9, 0.25)
    ages = ages[(ages >= c.age_min) & (ages <= c.age_max)]
    if c.age_distribution == "uniform":
        w = np.ones_like(ages)
    elif c.age_sd > 0:
        w = np.exp(-0.5 * ((ages - c.age_mean) / c.age_sd) ** 2)
    else:
        ages, w = np.array([c.age_mean]), np.array([1.0])
    w = w / w.sum()
    age = np.concatenate([ages, ages])
    sex = np.array(["male"] * ages.size + ["female"] * ages.size)
    weight = np.concatenate([w * c.male, w * (1 - c.male)])
    cohort = Cohort(age=age, sex=sex, weight=weight)

    def bg(t):
        t = np.asarray(t, dtype=float)
        return background_survival(
            t.ravel(), cohort, table, year=c.year, time_scale=scale, smr=c.smr
        ).reshape(t.shape)

    age = (
        f"age at entry uniform on {c.age_min:g}-{c.age_max:g}"
        if c.age_distribution == "uniform"
        else f"age at entry {c.age_mean:g} (sd {c.age_sd:g}, range {c.age_min:g}-{c.age_max:g})"
    )
    note = (
        f"general-population mortality from {Path(c.life_table).name} (year {c.year or 'latest'}), "
        f"{age}, "
        f"{c.male:.0%} male, SMR {c.smr:g}"
    )
    return bg, note


def _derived(surv: xr.DataArray, scale: float, discount: float) -> xr.Dataset:
    t = surv["time"].values
    years = t / scale
    s = surv.values  # chain, draw, arm, time
    rmst = np.trapezoid(s, years, axis=-1)  # life-years to the horizon
    disc = np.trapezoid(s * (1 + discount) ** (-years), years, axis=-1)
    logs = np.log(np.clip(s, 1e-300, None))
    h = -np.gradient(logs, t, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hr = h[..., 1, :] / h[..., 0, :]
    dims = ("chain", "draw")
    coords = {"chain": surv["chain"], "draw": surv["draw"], "time": t, "arm": surv["arm"].values}
    return xr.Dataset(
        {
            "survival": (dims + ("arm", "time"), s),
            "hazard": (dims + ("arm", "time"), h),
            "surv_control": (dims + ("time",), s[..., 0, :]),
            "surv_experimental": (dims + ("time",), s[..., 1, :]),
            "surv_diff": (dims + ("time",), s[..., 1, :] - s[..., 0, :]),
            "hr_t": (dims + ("time",), hr),
            "rmst": (dims + ("arm",), rmst),
            "rmst_discounted": (dims + ("arm",), disc),
            "rmst_diff": (dims, rmst[..., 1] - rmst[..., 0]),
            "rmst_diff_discounted": (dims, disc[..., 1] - disc[..., 0]),
        },
        coords=coords,
        attrs={
            "time_unit_per_year": scale,
            "discount": discount,
            "rmst": "restricted mean survival time to the horizon, in years (life-years for OS)",
            "rmst_diff": "experimental minus control (life-years gained for OS)",
        },
    )


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def hazard_ratio_check(
    post, family, cure, hrs: pd.DataFrame, ev: pd.DataFrame, t_ref: float, bg, shares
) -> list[dict]:
    """Every published HR of the endpoint against the model's HR as a Cox fit of that cut would
    see it (:func:`bayesurv.survival.aggregate.model_hazard_ratio`). A row that states no
    follow-up (a regulator's summary, say) is compared over the section's latest cut."""
    from bayesurv.survival.aggregate import model_hazard_ratio

    rows = []
    if not len(hrs):
        return rows
    own_med = float(ev["median_followup"].max()) if len(ev) else t_ref
    own_max = (
        float(ev["max_followup"].max()) if len(ev) and ev["max_followup"].notna().any() else None
    )
    for r in hrs.to_dict(orient="records"):
        hr = _f(r.get("hr"))  # NaN: a p-value without an HR, listed with the reason
        has_fu = np.isfinite(_f(r.get("median_followup")))
        mfu = _f(r["median_followup"]) if has_fu else own_med
        xfu = _f(r.get("max_followup")) if has_fu else own_max
        xfu = xfu if xfu is not None and np.isfinite(xfu) else None
        draws = np.exp(
            model_hazard_ratio(
                post,
                family,
                cure,
                t_ref=t_ref,
                median_followup=mfu,
                max_followup=xfu,
                background=bg,
                shares=shares,
            )
        )
        lo_m, med_m, hi_m = np.quantile(draws, [0.025, 0.5, 0.975])
        lo, hi = _f(r.get("lower")), _f(r.get("upper"))
        if not np.isfinite(lo) and np.isfinite(_f(r.get("se"))) and np.isfinite(hr):  # from the p
            lo, hi = np.exp(np.log(hr) + np.array([-1.0, 1.0]) * _Z * r["se"])
        rows.append(
            {
                "analysis": r.get("analysis", ""),
                "published": hr,
                "p": r.get("p"),
                "published_lower": float(lo),
                "published_upper": float(hi),
                "se_log_hr": _f(r.get("se")),
                "se_from": r.get("se_from", ""),
                "in_likelihood": bool(r["used"]),
                "reason": r["reason"] or "used",
                "model_median": float(med_m),
                "model_lower": float(lo_m),
                "model_upper": float(hi_m),
                "compared_over": (
                    f"follow-up to {xfu if xfu is not None else 2 * mfu:g}"
                    + ("" if has_fu else " (the section's latest cut)")
                ),
                "within_published_ci": bool(lo <= med_m <= hi) if np.isfinite(lo) else None,
            }
        )
    return rows


def fit_survival_section(
    sec: Survival, files: dict, k: int, spec: AnalysisSpec, progress: Progress, spec_text: str
) -> list[SurvivalFit]:
    from bayesurv.sampling import check, diagnostics, sample
    from bayesurv.survival.aggregate import (
        arm_shares,
        build_reported_model,
        reported_loglik,
        survival_draws,
    )

    scale = UNITS_PER_YEAR[sec.time_unit]
    arms, lm, ev, hrs = reported_arms(sec, files, k)
    bg, bg_note = background_function(sec, files, k, scale)
    if len(ev):
        t_ref = float(ev["median_followup"].median())
    elif len(lm):
        t_ref = float(lm["time"].median())
    else:
        t_ref = float(
            pd.concat(
                [arms[a].medians["median"] for a in arms]
                + [hrs.get("median_followup", pd.Series(dtype=float))]
            ).median()
        )
    switches = {
        f"use_{t}": t in sec.terms for t in ("landmarks", "events", "hazard_ratios", "medians")
    }
    switches["use_events"] = switches["use_events"] and bool(sec.events)
    horizon = sec.horizon_years * scale
    grid = np.unique(
        np.concatenate(
            [np.linspace(0, horizon, 481), sec.landmark_times, lm["time"].to_numpy(float)]
        )
    )
    grid = grid[grid <= horizon]
    fits = []
    for family in sec.families:
        for cure in sec.cure:
            label = f"{family}-{cure}"
            progress.say(f"{sec.name}: fitting {label} to the reported summaries")
            model = build_reported_model(
                family,
                arms,
                cure=cure,
                background=bg,
                t_ref=t_ref,
                hazard_ratios=hrs if len(hrs) else None,
                **switches,
            )
            seed = derived_seed(spec.seed, sec.name, label)
            s = spec.sampling
            idata = sample(
                model,
                seed=seed,
                draws=s.draws,
                tune=s.tune,
                chains=s.chains,
                target_accept=s.target_accept,
            )
            names = [
                v
                for v in idata["posterior"].data_vars
                if not str(v).startswith(("cure_fraction", "model_log_hr"))
            ]
            diag = check(diagnostics(idata, names), f"{sec.name} {label}")
            post = idata["posterior"].to_dataset()

            surv = survival_draws(post, family, cure, grid, background=bg, t_ref=t_ref)
            derived = _derived(surv, scale, sec.discount)
            if cure == "mixture":
                derived["cure_fraction_control"] = post["cure_fraction_control"]
                derived["cure_fraction_experimental"] = post["cure_fraction_experimental"]
                derived["cure_diff"] = (
                    post["cure_fraction_experimental"] - post["cure_fraction_control"]
                )
            ll, ll_names = reported_loglik(
                post,
                family,
                cure,
                arms,
                t_ref=t_ref,
                background=bg,
                hazard_ratios=hrs if len(hrs) else None,
                **switches,
            )
            flat = ll.reshape(-1, ll.shape[-1])
            lppd = float(np.sum(np.log(np.mean(np.exp(flat), axis=0))))
            p_waic = float(np.sum(np.var(flat, axis=0, ddof=1)))
            tree = xr.DataTree.from_dict(
                {
                    "posterior": post,
                    "sample_stats": idata["sample_stats"].to_dataset(),
                    "derived": derived,
                    "log_likelihood": xr.Dataset(
                        {"reported": (("chain", "draw", "reported_number"), ll)},
                        coords={"reported_number": ll_names},
                    ),
                    "observed_data": xr.Dataset(
                        {
                            "landmarks": (
                                ("landmark", "column"),
                                lm[["time", "survival", "lower", "upper"]].to_numpy(float),
                            ),
                        },
                        coords={
                            "landmark": [f"{r.arm} t={r.time:g}" for r in lm.itertuples()],
                            "column": ["time", "survival", "lower", "upper"],
                        },
                    ),
                }
            )
            tree.attrs.update(
                {
                    "bayesurv_provenance": json.dumps(
                        provenance(
                            seed=seed,
                            inputs={
                                key: v
                                for key, v in files.items()
                                if key.startswith(f"survival[{k}]")
                            },
                            spec=spec_text,
                            section=sec.name,
                            model=label,
                        ),
                        default=str,
                    ),
                    "family": family,
                    "cure": cure,
                    "t_ref": t_ref,
                    "time_unit": sec.time_unit,
                    "background": bg_note,
                }
            )
            check_rows = []
            q = surv.quantile([0.025, 0.5, 0.975], dim=("chain", "draw"))
            for r in lm.itertuples():
                sq = q.sel(arm=r.arm).interp(time=r.time).values
                check_rows.append(
                    {
                        "arm": r.arm,
                        "time": r.time,
                        "published": r.survival,
                        "published_lower": r.lower,
                        "published_upper": r.upper,
                        "model_median": sq[1],
                        "model_lower": sq[0],
                        "model_upper": sq[2],
                        "within_published_ci": bool(r.lower <= sq[1] <= r.upper),
                    }
                )
            hr_rows = hazard_ratio_check(post, family, cure, hrs, ev, t_ref, bg, arm_shares(arms))
            med_rows = []
            for arm in arms:
                for r in arms[arm].medians.to_dict(orient="records"):
                    med_rows.append(
                        {
                            "arm": arm,
                            "published": r["median"],
                            "lower": r["lower"],
                            "upper": r["upper"],
                            "se_log": r["se"],
                            "se_from": r["se_from"],
                            "in_likelihood": bool(r["used"]) and switches["use_medians"],
                            "reason": r["reason"] or "used",
                            "model_S_at_published_median": float(
                                surv.sel(arm=arm).interp(time=float(r["median"])).median()
                            )
                            if np.isfinite(float(r["median"]))
                            else np.nan,
                        }
                    )
            fit = {
                "model": label,
                "lppd": lppd,
                "p_waic": p_waic,
                "elpd_waic": lppd - p_waic,
                "diagnostics": diag.as_dict(),
                "problems": diag.problems,
                "seed": seed,
            }
            fits.append(
                SurvivalFit(
                    sec,
                    family,
                    cure,
                    tree,
                    fit,
                    pd.DataFrame(check_rows),
                    background=bg(grid) if bg else None,
                    notes=[bg_note],
                    hr_check=pd.DataFrame(hr_rows),
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


def _summ(x) -> dict:
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975])
    return {"median": float(med), "lower": float(lo), "upper": float(hi), "mean": float(x.mean())}


def survival_summary(fit: SurvivalFit, times) -> dict:
    d = fit.tree["derived"].to_dataset()
    scale = UNITS_PER_YEAR[fit.section.time_unit]
    rows = []
    for t in times:
        if t > float(d["time"].max()):
            continue
        for arm in d["arm"].values:
            rows.append(
                {
                    "time": float(t),
                    "arm": str(arm),
                    **_summ(d["survival"].sel(arm=arm).interp(time=t).values),
                }
            )
    out = {
        "model": fit.label,
        "survival": rows,
        "rmst_years": {str(a): _summ(d["rmst"].sel(arm=a).values) for a in d["arm"].values},
        "rmst_years_discounted": {
            str(a): _summ(d["rmst_discounted"].sel(arm=a).values) for a in d["arm"].values
        },
        "rmst_diff": _summ(d["rmst_diff"].values),
        "rmst_diff_discounted": _summ(d["rmst_diff_discounted"].values),
        "horizon_years": float(d["time"].max()) / scale,
        "discount": fit.section.discount,
        "fit": fit.fit,
        "landmark_check": fit.landmark_check.to_dict(orient="records"),
        "hazard_ratio_check": fit.hr_check.to_dict(orient="records"),
        "median_check": fit.median_check.to_dict(orient="records"),
    }
    if "cure_fraction_control" in d:
        out["cure_fraction"] = {
            "control": _summ(d["cure_fraction_control"].values),
            "experimental": _summ(d["cure_fraction_experimental"].values),
        }
    return out


# --------------------------------------------------------------------------------------------
# ipd sections: patient-level data, given or reconstructed from a figure
# --------------------------------------------------------------------------------------------
@dataclass
class IpdRun:
    section: Ipd
    ipd: pd.DataFrame
    arms: list[str]
    fits: dict[str, xr.DataTree]
    comparison: pd.DataFrame | None
    reconstructions: dict = field(default_factory=dict)  # arm -> Reconstruction

    @property
    def reconstructed(self) -> bool:
        return bool(self.reconstructions)


def ipd_of(sec: Ipd, files: dict, k: int) -> tuple[pd.DataFrame, dict]:
    """The section's IPD (``time, event, arm``): read, or reconstructed arm by arm from the
    clicks and numbers at risk (plus the total events when given). Returns it and the
    reconstructions by arm (empty when the IPD was given)."""
    from bayesurv.evidence.curves import clean_curve, read_at_risk, read_curves, select_curve
    from bayesurv.reconstruct import reconstruct

    if sec.ipd:
        path = files[f"ipd[{k}].ipd"]
        ipd = pd.read_csv(path, comment="#")
        if "arm" not in ipd:
            raise InputError(
                f"{path} has no column 'arm'; an [[ipd]] section needs time, event, arm."
            )
        return ipd, {}
    totals = None
    if sec.totals:
        totals = pd.read_csv(files[f"ipd[{k}].totals"], comment="#")
        totals["arm"] = totals["arm"].astype(str)
        totals = totals.set_index("arm")
    recs, parts = {}, []
    for arm in sec.clicks:
        src = files[f"ipd[{k}].clicks.{arm}"]
        raw = select_curve(read_curves(src), str(src), arm)
        cleaned = clean_curve(raw, source=str(src))
        nar = read_at_risk(files[f"ipd[{k}].at_risk"], arm=arm) if sec.at_risk else None
        tot = totals.loc[arm] if totals is not None and arm in totals.index else None
        events = int(tot["total_events"]) if tot is not None and "total_events" in tot else None
        n = int(tot["n"]) if tot is not None and "n" in tot else None
        rec = reconstruct(
            cleaned,
            nar,
            total_events=events,
            n=None if nar is not None else n,
            method=sec.method,
            source=str(src),
            at_risk_source=str(files.get(f"ipd[{k}].at_risk", "numbers at risk")),
        )
        recs[arm] = rec
        part = rec.ipd.copy()
        part["arm"] = arm
        parts.append(part)
    return pd.concat(parts, ignore_index=True), recs


def reconstruction_accuracy(recs: dict) -> pd.DataFrame:
    """One row per reconstructed arm: the reconstructed KM against the clicks and the reported
    numbers (:func:`bayesurv.reconstruct.accuracy_report`)."""
    rows = []
    for arm, rec in recs.items():
        r = rec.report
        nar = r["at_risk"]
        diff = [abs(x["reconstructed"] - x["reported"]) for x in nar]
        ev = r["events"]
        rows.append(
            {
                "arm": arm,
                "method": r["method"],
                "max |dS| (KM vs clicks)": r["km_vs_clicks"]["max_abs_diff"],
                "mean |dS| (KM vs clicks)": r["km_vs_clicks"]["mean_abs_diff"],
                "N reported": r["n"]["reported"],
                "N reconstructed": r["n"]["reconstructed"],
                "events reported": "not given" if ev["reported"] is None else ev["reported"],
                "events reconstructed": ev["reconstructed"],
                "numbers at risk matched": f"{sum(d == 0 for d in diff)}/{len(diff)}",
                "max |NAR diff|": max(diff) if diff else 0,
                "median (clicks)": r["median"]["clicks"],
                "median (reconstructed)": r["median"]["reconstructed"],
                "RMST (clicks)": r["rmst"]["clicks"],
                "RMST (reconstructed)": r["rmst"]["reconstructed"],
                "RMST to": r["rmst"]["to"],
                "warnings": "; ".join(r["warnings"]) or "none",
            }
        )
    return pd.DataFrame(rows)


def fit_ipd_section(
    sec: Ipd, files: dict, k: int, spec: AnalysisSpec, progress: Progress
) -> IpdRun:
    from bayesurv.survival.compare import compare
    from bayesurv.survival.fit import fit

    progress.say(
        f"{sec.name}: " + ("reading the IPD" if sec.ipd else "reconstructing IPD from the clicks")
    )
    ipd, recs = ipd_of(sec, files, k)
    ipd["arm"] = ipd["arm"].astype(str)
    arms = list(dict.fromkeys(ipd["arm"]))
    ref = sec.reference_arm or arms[0]
    if ref not in arms:
        raise InputError(
            f"[[ipd]] {sec.name!r}: reference_arm {ref!r} is not an arm of the data "
            f"({', '.join(arms)})."
        )
    order = [ref] + [a for a in arms if a != ref]
    ipd = pd.concat([ipd[ipd["arm"] == a] for a in order], ignore_index=True)  # reference first
    t_max = float(ipd["time"].max())
    horizon = float(sec.horizon or t_max)
    times = np.linspace(0.0, max(horizon, t_max), 121)
    s = spec.sampling
    fits = {}
    for family in sec.families:
        progress.say(f"{sec.name}: fitting {family} to the {'reconstructed ' if recs else ''}IPD")
        fits[family] = fit(
            ipd,
            family,
            seed=derived_seed(spec.seed, sec.name, family),
            arm_column="arm",
            effect=sec.effect,
            times=times,
            rmst_to=t_max,
            draws=s.draws,
            tune=s.tune,
            chains=s.chains,
            pointwise=True,
            source=sec.ipd or f"[[ipd]] {sec.name}",
        )
    comparison = compare(fits) if len(fits) > 1 else None
    return IpdRun(sec, ipd, order, fits, comparison, recs)


def ipd_summary(run_: IpdRun) -> dict:
    from bayesurv.nonparametric import cox_hazard_ratio

    ipd = run_.ipd
    cox = cox_hazard_ratio(ipd["time"], ipd["event"], (ipd["arm"] != run_.arms[0]).astype(int))
    models = {}
    for fam, tree in run_.fits.items():
        post = tree["posterior"]
        d = tree["derived"]
        m = {"diagnostics": json.loads(tree.attrs["diagnostics"]), "effect": tree.attrs["effect"]}
        for name in ("log_hr", "log_tr"):
            if name in post:
                m[name.replace("log_", "")] = _summ(np.exp(post[name].values))
        if "rmst_diff" in d:
            m["rmst_diff"] = _summ(d["rmst_diff"].values)
        models[fam] = m
    out = {
        "key": key_of(run_.section.name),
        "arms": run_.arms,
        "reference_arm": run_.arms[0],
        "source": "reconstructed from digitized curves"
        if run_.reconstructed
        else "patient-level data file",
        "n": {a: int((ipd["arm"] == a).sum()) for a in run_.arms},
        "events": {a: int(ipd.loc[ipd["arm"] == a, "event"].sum()) for a in run_.arms},
        "cox_hr": {k: float(v) for k, v in cox.items()},
        "models": models,
    }
    if run_.comparison is not None:
        out["comparison"] = run_.comparison.to_dict(orient="records")
        out["best"] = str(run_.comparison["model"].iloc[0])
    else:
        out["best"] = next(iter(run_.fits))
    if run_.reconstructed:
        out["reconstruction_accuracy"] = reconstruction_accuracy(run_.reconstructions).to_dict(
            orient="records"
        )
    return out


# --------------------------------------------------------------------------------------------
# pool sections
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# the whole run
# --------------------------------------------------------------------------------------------
def prepare_out(out: Path, force: bool) -> None:
    if out.exists():
        if not force:
            raise InputError(
                f"{out} already exists; choose another --out or pass --force to replace it."
            )
        if any(out.iterdir()) and not (out / MARK).exists():
            raise InputError(
                f"{out} holds files that bayesurv did not write; choose another --out "
                "(it is not replaced even with --force)."
            )
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    (out / MARK).write_text("written by bayesurv run; --force may replace this folder\n")


def run(
    spec_path: str | Path,
    out: str | Path | None = None,
    *,
    force: bool = False,
    quiet: bool = False,
    draws: int | None = None,
) -> dict:
    """Run ``spec_path`` into ``out`` (default ``results/<spec name>``); return the summary."""
    spec_path = Path(spec_path)
    spec, files = load_spec(spec_path)
    if draws is not None:
        spec = spec.model_copy(
            update={"sampling": spec.sampling.model_copy(update={"draws": draws, "tune": draws})}
        )
    out = Path(out) if out is not None else Path("results") / spec_path.stem
    if out.exists() and not force:
        raise InputError(
            f"{out} already exists; choose another --out or pass --force to replace it."
        )
    # read and check every input before anything is written
    from bayesurv.evidence.effects import read_effects

    for k, sec in enumerate(spec.survival, start=1):
        reported_arms(sec, files, k)
    for k, sec in enumerate(spec.ipd, start=1):
        if sec.ipd:
            ipd_of(sec, files, k)
    for k, sec in enumerate(spec.pool, start=1):
        read_effects(files[f"pool[{k}].effects"], sec.where or None, exclude_=sec.exclude or None)
    prepare_out(out, force)
    progress = Progress(quiet)
    spec_text = spec_path.read_text()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = _run(spec, spec_path, spec_text, files, out, progress)
    notes = sorted({str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)})
    for n in notes:
        progress.say(f"[yellow]warning[/]: {n}")
    summary["warnings"] = notes
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")
    return summary


def quantities_from_results(folder: str | Path) -> xr.Dataset:
    """Every base-case section of a results folder as one Dataset of queryable quantities, named
    ``<section key>_<quantity>`` as in the spec's queries."""
    from bayesurv.query import quantities_from_tree

    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    out = {}
    for kind in ("survival", "ipd", "pool"):
        for sec in summary.get(kind, {}).values():
            tree = xr.open_datatree(folder / f"{sec['key']}.nc")
            if kind in ("survival", "ipd"):
                ds = quantities_from_tree(tree, groups=("derived",))
            else:
                ds = pool_quantities(tree["posterior"].to_dataset())
            for name, da in ds.data_vars.items():
                out[f"{sec['key']}_{name}"] = da
    return xr.Dataset(out)


def _run(spec, spec_path, spec_text, files, out, progress) -> dict:
    from bayesurv.analysis_report import build_report
    from bayesurv.query import probability

    summary: dict = {
        "title": spec.title,
        "spec": str(spec_path),
        "seed": spec.seed,
        "survival": {},
        "ipd": {},
        "pool": {},
        "queries": [],
    }
    quantities: dict[str, xr.DataArray] = {}
    surv_fits: dict[str, list[SurvivalFit]] = {}
    for k, sec in enumerate(spec.survival, start=1):
        fits = fit_survival_section(sec, files, k, spec, progress, spec_text)
        surv_fits[sec.name] = fits
        key = key_of(sec.name)
        (out / key).mkdir(exist_ok=True)
        for f in fits:
            f.tree.to_netcdf(out / key / f"{f.label}.nc")
        best = base_case(fits)
        best.tree.attrs["base_case"] = "yes"
        best.tree.to_netcdf(out / f"{key}.nc")
        _, _, ev, _ = reported_arms(sec, files, k)
        max_fu = (
            float(ev["max_followup"].max())
            if len(ev) and ev["max_followup"].notna().any()
            else None
        )
        summary["survival"][sec.name] = {
            "key": key,
            "base_case": best.label,
            "background": best.notes[0],
            "max_followup": max_fu,
            "models": {f.label: survival_summary(f, sec.landmark_times) for f in fits},
        }
        for name, da in best.tree["derived"].to_dataset().data_vars.items():
            quantities[f"{key}_{name}"] = da
    ipd_runs: dict[str, IpdRun] = {}
    for k, sec in enumerate(spec.ipd, start=1):
        ir = fit_ipd_section(sec, files, k, spec, progress)
        ipd_runs[sec.name] = ir
        key = key_of(sec.name)
        (out / key).mkdir(exist_ok=True)
        ir.ipd.to_csv(out / key / "ipd.csv", index=False, float_format="%.6g")
        for fam, tree in ir.fits.items():
            tree.attrs["bayesurv_provenance"] = json.dumps(
                provenance(
                    seed=derived_seed(spec.seed, sec.name, fam),
                    inputs={kk: v for kk, v in files.items() if kk.startswith(f"ipd[{k}]")},
                    spec=spec_text,
                    section=sec.name,
                    model=fam,
                ),
                default=str,
            )
            tree.to_netcdf(out / key / f"{fam}.nc")
        summary["ipd"][sec.name] = ipd_summary(ir)
        best = ir.fits[summary["ipd"][sec.name]["best"]]
        best.to_netcdf(out / f"{key}.nc")
        for name, da in best["derived"].to_dataset().data_vars.items():
            quantities[f"{key}_{name}"] = da
    pools: dict[str, PoolRun] = {}
    for k, sec in enumerate(spec.pool, start=1):
        pr = run_pool_section(sec, files, k, spec, progress)
        pools[sec.name] = pr
        key = key_of(sec.name)
        pr.mcmc.idata.to_netcdf(out / f"{key}.nc")
        summary["pool"][sec.name] = {
            "key": key,
            "exact": pr.exact.summary(thresholds=sec.thresholds),
            "mcmc": pr.mcmc.summary(thresholds=sec.thresholds),
            "sensitivity": pr.sensitivity.reset_index().to_dict(orient="records"),
            "studies": pr.effects["study"].tolist(),
        }
        for name, da in pool_quantities(pr.mcmc.idata["posterior"].to_dataset()).data_vars.items():
            quantities[f"{key}_{name}"] = da
    if spec.queries.statements:
        progress.say("answering the spec's questions")
        sizes = {(v.sizes["chain"], v.sizes["draw"]) for v in quantities.values()}
        if len(sizes) > 1:  # every section samples spec.sampling draws; never pad with NaN
            raise AssertionError(f"sections have different numbers of draws: {sizes}")
        ds = xr.Dataset(
            {
                k: v.drop_vars([c for c in v.coords if c not in v.dims], errors="ignore")
                for k, v in quantities.items()
            }
        )
        summary["queries"] = [probability(q, ds) for q in spec.queries.statements]
    summary["provenance"] = provenance(seed=spec.seed, inputs=files, spec=spec_text)
    progress.say("writing figures and the report")
    build_report(out, spec, summary, surv_fits, pools, ipd_runs)
    progress.say(f"done: {out / 'report.html'}")
    return summary


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    return str(x)
