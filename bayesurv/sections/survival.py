"""`[[survival]]` sections: a trial's reported summaries (landmarks, events, HRs, medians) fitted
with a grid of (cure) models, the base case chosen, the published HRs set against the models'."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.provenance import provenance
from bayesurv.sections.common import (
    _Z,
    UNITS_PER_YEAR,
    Progress,
    derived_seed,
    interval_summary,
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
            if cure != "none":
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
                    **interval_summary(d["survival"].sel(arm=arm).interp(time=t).values),
                }
            )
    out = {
        "model": fit.label,
        "survival": rows,
        "rmst_years": {
            str(a): interval_summary(d["rmst"].sel(arm=a).values) for a in d["arm"].values
        },
        "rmst_years_discounted": {
            str(a): interval_summary(d["rmst_discounted"].sel(arm=a).values)
            for a in d["arm"].values
        },
        "rmst_diff": interval_summary(d["rmst_diff"].values),
        "rmst_diff_discounted": interval_summary(d["rmst_diff_discounted"].values),
        "horizon_years": float(d["time"].max()) / scale,
        "discount": fit.section.discount,
        "fit": fit.fit,
        "landmark_check": fit.landmark_check.to_dict(orient="records"),
        "hazard_ratio_check": fit.hr_check.to_dict(orient="records"),
        "median_check": fit.median_check.to_dict(orient="records"),
    }
    if "cure_fraction_control" in d:
        out["cure_fraction"] = {
            "control": interval_summary(d["cure_fraction_control"].values),
            "experimental": interval_summary(d["cure_fraction_experimental"].values),
        }
    return out
