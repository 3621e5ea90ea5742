"""`[[ipd]]` sections: patient-level data, given or reconstructed from a figure on the fly, fitted
with several families and compared; the reconstruction's accuracy as a table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.sections.common import (
    Progress,
    derived_seed,
    interval_summary,
    key_of,
)
from bayesurv.spec import AnalysisSpec, Ipd


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
    from bayesurv.survival.ipdfit import fit

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
        seed = derived_seed(spec.seed, sec.name, family)
        source = sec.ipd or f"[[ipd]] {sec.name}"
        if sec.longterm:
            fits[family] = _fit_longterm(sec, ipd, family, files, k, spec, seed, source, t_max)
            continue
        fits[family] = fit(
            ipd,
            family,
            seed=seed,
            arm_column="arm",
            effect=sec.effect,
            times=times,
            rmst_to=t_max,
            draws=s.draws,
            tune=s.tune,
            chains=s.chains,
            pointwise=True,
            source=source,
        )
    comparison = compare(fits) if len(fits) > 1 else None
    return IpdRun(sec, ipd, order, fits, comparison, recs)


def _fit_longterm(sec: Ipd, ipd, family, files, k, spec, seed, source, t_max):
    """One family of a long-term IPD section (cure, life table, waning, flexible hazard)."""
    from bayesurv.lifetable import read_life_table, us_life_table
    from bayesurv.survival.longterm import fit_longterm

    bg, table = sec.background, None
    if bg is not None:
        table = (
            us_life_table(bg.year or 2014)
            if bg.life_table.lower() == "us"
            else read_life_table(files[f"ipd[{k}].background.life_table"])
        )
    s = spec.sampling
    return fit_longterm(
        ipd,
        family,
        seed=seed,
        cure=sec.cure,
        arm_column="arm",
        effect=sec.effect,
        cure_covariates=sec.cure_covariates,
        life_table=table,
        age=bg.age if bg else None,
        age_column=bg.age_column if bg else None,
        sex=bg.male if bg else None,
        sex_column=bg.sex_column if bg else None,
        year=bg.year if bg else None,
        time_unit=sec.time_unit,
        smr=bg.smr if bg else 1.0,
        waning=sec.waning.model_dump() if sec.waning else None,
        extra_knots=sec.extra_knots,
        horizon=sec.horizon,
        rmst_to=t_max,
        discount=sec.discount,
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
        target_accept=s.target_accept,
        source=source,
    )


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
                m[name.replace("log_", "")] = interval_summary(np.exp(post[name].values))
        if "rmst_diff" in d:
            m["rmst_diff"] = interval_summary(d["rmst_diff"].values)
        if tree.attrs.get("model") == "longterm":
            from bayesurv.survival.extrapolation import longterm_summary

            lt = longterm_summary(tree)
            m["longterm"] = {
                k: lt[k]
                for k in (
                    "cure",
                    "time_unit",
                    "horizon_years",
                    "life_table",
                    "smr",
                    "waning",
                    "landmarks",
                    "mean_survival",
                    "mean_survival_discounted",
                    "discount",
                    "mean_units",
                    "cure_fraction",
                    "life_years_gained",
                    "life_years_gained_discounted",
                    "identifiability",
                )
                if k in lt
            }
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
