"""`[[ipd]]` sections: patient-level data, given or reconstructed from a figure on the fly, fitted
with several families and compared; the reconstruction's accuracy as a table.

``propagate = K`` (clicks only) carries the reconstruction's uncertainty into the posterior: K
random reconstructions (censoring placed at random within each numbers-at-risk interval,
seeded from ``task_seed(spec seed, "<key>/reconstruct")``), each fitted with every family of
the section as tasks of the same job (``<key>/propagate/<k>/<family>``, the family's seed:
common random numbers), pooled as the mixture of the K fits' draws
(:func:`bayesurv.propagation.pool`); the widening table says how much wider each derived
quantity's interval became than the single reconstruction's
(:func:`bayesurv.propagation.widening`, with Rubin's fraction of missing information)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.sections.common import (
    Progress,
    derived_seed,
    key_of,
    model_fields,
    population_data,
    population_of,
    sampler_data,
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
    # family -> {"pooled": Dataset, "widening": DataFrame, "reconstructions": K, "seed": int}
    propagated: dict = field(default_factory=dict)

    @property
    def reconstructed(self) -> bool:
        return bool(self.reconstructions)


def ipd_of(sec: Ipd, files: dict, k: int) -> tuple[pd.DataFrame, dict]:
    """The section's IPD (``time, event, arm``): read, or reconstructed arm by arm from the
    clicks and numbers at risk (plus the total events when given). Returns it and the
    reconstructions by arm (empty when the IPD was given)."""
    from bayesurv.reconstruct import reconstruct
    from bayesurv.tables import Column, read_table

    if sec.ipd:
        path = files[f"ipd[{k}].ipd"]
        cols = [Column("time"), Column("event"), Column("arm", kind="text")]
        return read_table(path, cols, what="IPD table").reset_index(drop=True), {}
    recs, parts = {}, []
    for arm, kw in reconstruction_inputs(sec, files, k).items():
        kw = dict(kw)
        rec = reconstruct(kw.pop("curve"), kw.pop("at_risk"), **kw)
        recs[arm] = rec
        part = rec.ipd.copy()
        part["arm"] = arm
        parts.append(part)
    return pd.concat(parts, ignore_index=True), recs


def reconstruction_inputs(sec: Ipd, files: dict, k: int) -> dict[str, dict]:
    """Per arm of a clicks section, :func:`bayesurv.reconstruct.reconstruct`'s inputs
    (``curve``, ``at_risk`` and its keywords), as :func:`bayesurv.propagation.imputations`
    takes them."""
    from bayesurv.evidence.curves import clean_curve, read_at_risk, read_curves, select_curve
    from bayesurv.tables import Column, read_table

    totals = None
    if sec.totals:
        cols = [
            Column("arm", kind="text"),
            Column("n", kind="integer", required=False, lower=1),
            Column("total_events", aliases=("events",), kind="integer", required=False, lower=0),
        ]
        totals = read_table(files[f"ipd[{k}].totals"], cols, what="totals table").set_index("arm")
    out = {}
    for arm in sec.clicks:
        src = files[f"ipd[{k}].clicks.{arm}"]
        raw = select_curve(read_curves(src), str(src), arm)
        cleaned = clean_curve(raw, source=str(src))
        nar = read_at_risk(files[f"ipd[{k}].at_risk"], arm=arm) if sec.at_risk else None
        tot = totals.loc[arm] if totals is not None and arm in totals.index else None
        events = int(tot["total_events"]) if tot is not None and "total_events" in tot else None
        n = int(tot["n"]) if tot is not None and "n" in tot else None
        out[arm] = {
            "curve": cleaned,
            "at_risk": nar,
            "total_events": events,
            "n": None if nar is not None else n,
            "method": sec.method,
            "source": str(src),
            "at_risk_source": str(files.get(f"ipd[{k}].at_risk", "numbers at risk")),
        }
    return out


def reconstruction_accuracy(recs: dict) -> pd.DataFrame:
    """One row per reconstructed arm: the reconstructed KM against the clicks and the reported
    numbers (:func:`bayesurv.reconstruct.accuracy_report`)."""
    rows = []
    for arm, rec in recs.items():
        r = rec.report
        nar = r["at_risk"]
        # rows past the curve's end are not constraints (their patients are censored at the
        # last click, as the reconstruction report says); they are counted apart
        diff = [abs(x["reconstructed"] - x["reported"]) for x in nar if not x.get("beyond_curve")]
        past = sum(bool(x.get("beyond_curve")) for x in nar)
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
                "table rows past the curve": past,
                "median (clicks)": r["median"]["clicks"],
                "median (reconstructed)": r["median"]["reconstructed"],
                "RMST (clicks)": r["rmst"]["clicks"],
                "RMST (reconstructed)": r["rmst"]["reconstructed"],
                "RMST to": r["rmst"]["to"],
                "warnings": "; ".join(r["warnings"]) or "none",
            }
        )
    return pd.DataFrame(rows)


@dataclass
class IpdPlan:
    """An ``[[ipd]]`` section ready to run: its IPD read or reconstructed, one fit task per
    family (the IPD shared by the tasks), and what assembling needs."""

    section: Ipd
    ipd: pd.DataFrame
    arms: list[str]
    reconstructions: dict
    population: object
    source: str
    tasks: list  # bayesurv.batch.Task
    families: dict[str, str]  # task key -> family
    shared: dict = field(default_factory=dict)
    propagation: dict = field(default_factory=dict)  # family -> task keys of its K fits
    propagation_seed: int | None = None
    ci: float = 0.95


def plan_ipd_section(
    sec: Ipd,
    files: dict,
    k: int,
    spec: AnalysisSpec,
    prefix: str = "",
    progress: Progress | None = None,
) -> IpdPlan:
    """Read or reconstruct section ``k``'s IPD and make one task per family, keyed
    ``<prefix><section key>/<family>``; seeds from the spec's seed, the section's name and the
    family (not the prefix: scenarios share the base case's random numbers). With
    ``propagate = K`` (the base case only, not a scenario) also K reconstructions and a task per
    reconstruction and family, ``<section key>/propagate/<k>/<family>``."""
    from bayesurv.batch import Ref, Task
    from bayesurv.batch.fits import section_fit
    from bayesurv.batch.tasks import task_seed
    from bayesurv.survival.structure import ModelSpec

    if progress is not None:
        progress.say(
            f"{sec.name}: "
            + ("reading the IPD" if sec.ipd else "reconstructing IPD from the clicks")
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
    population = population_of(sec, files, f"ipd[{k}]")  # checked here, built per task
    s = spec.sampling
    source = sec.ipd or f"[[ipd]] {sec.name}"
    inputs = {kk: str(v) for kk, v in files.items() if kk.startswith(f"ipd[{k}].")}
    shared_name = f"{prefix}{key_of(sec.name)}/ipd"
    tasks, families, models = [], {}, {}
    population_in = population_data(sec, files, f"ipd[{k}]")

    def fit_task(key: str, data: str, family: str, pointwise: bool, record: dict) -> Task:
        return Task(
            key,
            section_fit,
            {
                "ipd": Ref(data),
                "model": models[family],
                "population": population_in,
                "sampler": sampler_data(s),
                "outputs": {"horizon": sec.horizon, "rmst_to": t_max, "discount": sec.discount},
                "options": {
                    "pointwise": pointwise,
                    "source": source,
                    "inputs": inputs,
                    "record": {"section": sec.name, "model": family, **record},
                },
            },
            seed=derived_seed(spec.seed, sec.name, family),
            threads=s.chains,
            structure=f"ipd|{family}",
        )

    for family in sec.families:
        models[family] = ModelSpec(
            arm="arm",
            covariates=tuple(sec.covariates),
            cure_covariates=tuple(sec.cure_covariates),
            ancillary={a: tuple(c) for a, c in sec.ancillary.items()},
            waning=sec.waning.model_dump() if sec.waning else None,
            **model_fields(sec, family, sec.cure),
        )
        key = f"{prefix}{key_of(sec.name)}/{family}"
        tasks.append(fit_task(key, shared_name, family, True, {}))
        families[key] = family
    plan = IpdPlan(
        sec, ipd, order, recs, population, source, tasks, families, {shared_name: ipd}, ci=spec.ci
    )
    if sec.propagate and not prefix:
        from bayesurv.propagation import imputations

        if progress is not None:
            progress.say(f"{sec.name}: drawing {sec.propagate} random reconstructions")
        plan.propagation_seed = task_seed(spec.seed, f"{key_of(sec.name)}/reconstruct")
        _, sets = imputations(
            reconstruction_inputs(sec, files, k), draws=sec.propagate, seed=plan.propagation_seed
        )
        for j, draw in enumerate(sets):
            draw["arm"] = draw["arm"].astype(str)
            name = f"{key_of(sec.name)}/propagate/{j}/ipd"
            plan.shared[name] = pd.concat(
                [draw[draw["arm"] == a] for a in order], ignore_index=True
            )
            for family in sec.families:
                key = f"{key_of(sec.name)}/propagate/{j}/{family}"
                tasks.append(fit_task(key, name, family, False, {"reconstruction": j}))
                plan.propagation.setdefault(family, []).append(key)
    return plan


def assemble_ipd_section(plan: IpdPlan, trees: dict) -> IpdRun:
    """The section's fits from the tasks' result trees (by task key), compared by LOO and
    AIC/BIC when there are several. No fitting."""
    from bayesurv.survival.compare import compare

    fits = {family: trees[key] for key, family in plan.families.items()}
    comparison = None
    if len(fits) > 1:
        from bayesurv.survival.data import prepare
        from bayesurv.survival.outputs import spec_of

        # the likelihood's arrays with the population, so that AIC/BIC of cure models on a
        # life table come at the maximum of the same likelihood
        arrays = {
            f: prepare(spec_of(r), plan.ipd, population=plan.population, source=plan.source)[1]
            for f, r in fits.items()
        }
        comparison = compare(fits, arrays)
    propagated = {
        fam: _propagated(plan, fits[fam], keys, trees) for fam, keys in plan.propagation.items()
    }
    return IpdRun(
        plan.section, plan.ipd, plan.arms, fits, comparison, plan.reconstructions, propagated
    )


def _propagated(plan: IpdPlan, single: xr.DataTree, keys: list[str], trees: dict) -> dict:
    """One family's K fits pooled as a mixture, and how much wider each interval of its
    derived per-draw quantities (HR, RMST, median, mean survival...; not the raw parameters,
    whose centring follows each data set) became than the single reconstruction's."""
    from bayesurv.propagation import pool, rubin, widening

    derived = single["derived"].to_dataset()
    names = [
        n
        for n, v in derived.data_vars.items()
        if {"chain", "draw"} <= set(v.dims) and set(v.dims) <= {"chain", "draw", "arm"}
    ]
    fits = [trees[k] for k in keys]
    pooled = pool(fits)[names]
    table = widening(single, pooled, ci=plan.ci, names=names)
    information = rubin(fits, names=names)[["quantity", "missing_information"]]
    table = table.merge(information, on="quantity", how="left")
    return {
        "pooled": pooled,
        "widening": table,
        "reconstructions": len(fits),
        "seed": plan.propagation_seed,
    }


def ipd_summary(run_: IpdRun) -> dict:
    from bayesurv.nonparametric import cox_hazard_ratio
    from bayesurv.summaries import summary

    ipd = run_.ipd
    cox = cox_hazard_ratio(ipd["time"], ipd["event"], (ipd["arm"] != run_.arms[0]).astype(int))
    models = {}
    for fam, tree in run_.fits.items():
        m = summary(tree)
        m.pop("provenance", None)
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
    if run_.propagated:
        p = run_.propagated[out["best"]]
        out["reconstruction_uncertainty"] = {
            "model": out["best"],
            "reconstructions": p["reconstructions"],
            "seed": p["seed"],
            "rule": "mixture of the fits' draws, equal weights (bayesurv.propagation)",
            "file": f"{out['key']}/propagated.nc",
            "quantities": p["widening"].to_dict(orient="records"),
        }
    if run_.reconstructed:
        out["reconstruction_accuracy"] = reconstruction_accuracy(run_.reconstructions).to_dict(
            orient="records"
        )
    return out
