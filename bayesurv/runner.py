"""Run an analysis spec end to end into a results folder.

``run(spec_path, out)`` fits every ``[[survival]]`` section's model grid to the trial's reported
summaries and every ``[[ipd]]`` section's to its patients with the one survival fit
(:func:`bayesurv.survival.fit.fit`), pools every ``[[pool]]`` section's hazard ratios
(:mod:`bayesurv.synthesis.pool`), answers the spec's queries (:mod:`bayesurv.query`), and writes

* ``<section>.nc``: the base-case model of each section as an ArviZ DataTree (``posterior``,
  ``sample_stats``, ``derived`` quantities on a ``time`` coordinate with an ``arm`` dim,
  ``observed_data``), with provenance (versions, spec, seed, input hashes) in its attributes;
  ``<section>/<family>-<cure>.nc`` for every model of the grid;
* ``figures/*.png`` and ``*.svg``, ``summary.json`` and a self-contained ``report.html``.

Every model of every ``[[survival]]`` and ``[[ipd]]`` section and of every ``[[scenario]]`` on
one is a task of one :func:`bayesurv.batch.run` job (``scheduler``: serial, a local Dask
cluster or a cluster by address), streamed into ``<out>.jobs`` beside the results folder so a
stopped run resumes (``resume=True``); pools and NMAs run here. ``summary.json["scenarios"]``
holds each scenario's headline quantities beside its section's base case
(:mod:`bayesurv.sections.scenario`).

Seeds: every fit's seed is derived from the spec's seed, the section's and the model's name
(CRC32), never from where or in which order it ran, so the same spec and seed give the same
numbers on every scheduler, adding a model or a scenario does not change the others, and a
scenario's fits share its base case's seeds (common random numbers).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.provenance import provenance
from bayesurv.query import QueryWarning
from bayesurv.sampling import ConvergenceWarning
from bayesurv.sections.common import (
    UNITS_PER_YEAR,
    Progress,
    key_of,
)
from bayesurv.sections.ipd import (
    IpdRun,
    assemble_ipd_section,
    ipd_of,
    ipd_summary,
    plan_ipd_section,
    reconstruction_accuracy,
)
from bayesurv.sections.nma import NmaRun, nma_quantities, nma_summary, run_nma_section
from bayesurv.sections.pool import (
    PoolRun,
    checks_summary,
    pool_quantities,
    regression_quantities,
    run_pool_section,
)
from bayesurv.sections.scenario import BASE, pool_headline, scenario_row, survival_headline
from bayesurv.sections.survival import (
    SurvivalFit,
    assemble_survival_section,
    base_case,
    plan_survival_section,
    reported_arms,
    survival_summary,
)
from bayesurv.spec import load_spec, scenario_files, scenario_section
from bayesurv.survival.fit import IdentifiabilityWarning

MARK = ".bayesurv-results"
__all__ = [
    "MARK",
    "UNITS_PER_YEAR",
    "base_case",
    "key_of",
    "quantities_from_results",
    "reconstruction_accuracy",
    "reported_arms",
    "run",
]


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


def job_folder(out: str | Path) -> Path:
    """The folder beside a results folder where ``bayesurv run`` streams its fits
    (``<out>.jobs``): kept when a run stops, so ``--resume`` finishes it; removed after
    success."""
    out = Path(out)
    return out.parent / f"{out.name}.jobs"


def choose_scheduler(cli: str | None, spec) -> str:
    """``--scheduler``, else the spec's ``[execution] scheduler``, else a local cluster when
    the machine has cores for two fits at once (``cores // chains >= 2``), else serial. The
    numbers are the same on every scheduler."""
    from bayesurv.batch import local_workers

    chosen = cli or spec.execution.scheduler
    if chosen:
        return chosen
    return "local" if local_workers(spec.sampling.chains) >= 2 else "serial"


def run(
    spec_path: str | Path,
    out: str | Path | None = None,
    *,
    force: bool = False,
    quiet: bool = False,
    draws: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    jobs: str | Path | None = None,
) -> dict:
    """Run ``spec_path`` into ``out`` (default ``results/<spec name>``); return the summary.

    The fits of every section and scenario run as one job (:func:`bayesurv.batch.run`) on
    ``scheduler`` (see :func:`choose_scheduler`), streamed into ``jobs`` (default
    :func:`job_folder` of ``out``); ``resume`` keeps the fits a stopped run finished there.
    Without ``resume`` an existing job folder is refused, or replaced with ``force``."""
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
    jobs = Path(jobs) if jobs is not None else job_folder(out)
    if jobs.exists() and not resume:
        if not force:
            raise InputError(
                f"{jobs} holds the fits of a run that stopped; pass --resume to keep them or "
                "--force to start again."
            )
        shutil.rmtree(jobs)
    sched = choose_scheduler(scheduler, spec)
    # read and check every input before anything is written
    from bayesurv.evidence.effects import read_effects

    for k, sec in enumerate(spec.survival, start=1):
        reported_arms(sec, files, k)
    for k, sec in enumerate(spec.ipd, start=1):
        if sec.ipd:
            ipd_of(sec, files, k)
    for j, sc in enumerate(spec.scenario, start=1):
        kind, k, sec = scenario_section(spec, sc)
        f = scenario_files(files, j, kind, k)
        if kind == "survival":
            reported_arms(sec, f, k)
        elif kind == "ipd" and sec.ipd:
            ipd_of(sec, f, k)
        elif kind == "pool":
            read_effects(f[f"pool[{k}].effects"], sec.where or None, exclude_=sec.exclude or None)
    for k, sec in enumerate(spec.pool, start=1):
        read_effects(files[f"pool[{k}].effects"], sec.where or None, exclude_=sec.exclude or None)
    for k, sec in enumerate(spec.nma, start=1):
        from bayesurv.synthesis.network import read_network

        read_network(files[f"nma[{k}].data"], reference=sec.reference, link=sec.link)
    prepare_out(out, force)
    progress = Progress(quiet)
    spec_text = spec_path.read_text()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", IdentifiabilityWarning)
        warnings.simplefilter("always", QueryWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = _run(
            spec, spec_path, spec_text, files, out, progress, sched, resume, jobs, caught
        )
    notes = run_warnings(caught, spec)
    for n in notes:
        progress.say(f"[yellow]warning[/]: {n}")
    summary["warnings"] = notes
    text = json.dumps(_finite(summary), indent=2, default=_json_default, allow_nan=False)
    (out / "summary.json").write_text(text + "\n")
    shutil.rmtree(jobs, ignore_errors=True)  # every fit is in the results folder now
    return summary


def quantities_from_results(folder: str | Path) -> xr.Dataset:
    """Every base-case section of a results folder as one Dataset of queryable quantities, named
    ``<section key>_<quantity>`` as in the spec's queries."""
    from bayesurv.query import quantities_from_tree

    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    out = {}
    for kind in ("survival", "ipd", "pool", "nma"):
        for sec in summary.get(kind, {}).values():
            with xr.open_datatree(folder / f"{sec['key']}.nc") as opened:
                tree = opened.load()
            if kind in ("survival", "ipd"):
                ds = quantities_from_tree(tree, groups=("derived",))
            else:
                ds = (
                    nma_quantities(tree)
                    if kind == "nma"
                    else pool_quantities(tree["posterior"].to_dataset())
                )
            for name, da in ds.data_vars.items():
                out[f"{sec['key']}_{name}"] = da
    return xr.Dataset(out)


def run_warnings(caught, spec) -> list[str]:
    """The analysis' warnings in words, once each: convergence, identifiability, query,
    left-out pointwise groups and population (a fixed SMR below 1) warnings recorded while it
    ran, and with one chain the note that R-hat needs more."""
    from bayesurv.survival.fit import PointwiseWarning, PopulationWarning

    kinds = (
        ConvergenceWarning,
        IdentifiabilityWarning,
        QueryWarning,
        PointwiseWarning,
        PopulationWarning,
    )
    notes = sorted({str(w.message) for w in caught if issubclass(w.category, kinds)})
    if spec.sampling.chains < 2:  # no R-hat (null in every fit's diagnostics): say why once
        from bayesurv.report_format import RHAT_NOTE

        notes.append(RHAT_NOTE)
    return notes


def _run(spec, spec_path, spec_text, files, out, progress, sched, resume, jobs, caught) -> dict:
    from bayesurv.intervals import ci_width

    with ci_width(spec.ci):  # the width of every interval of the analysis
        return _sections(
            spec, spec_path, spec_text, files, out, progress, sched, resume, jobs, caught
        )


def _plans(spec, files, progress) -> list[tuple]:
    """``(kind, k, scenario or None, section, plan)`` of every survival/IPD section and every
    scenario of one (their fits are tasks); a scenario's tasks are keyed ``scenario/<name>/``."""
    plans = []
    for k, sec in enumerate(spec.survival, start=1):
        plans.append(("survival", k, None, sec, plan_survival_section(sec, files, k, spec)))
    for k, sec in enumerate(spec.ipd, start=1):
        plan = plan_ipd_section(sec, files, k, spec, progress=progress)
        plans.append(("ipd", k, None, sec, plan))
    for j, sc in enumerate(spec.scenario, start=1):
        kind, k, sec = scenario_section(spec, sc)
        f = scenario_files(files, j, kind, k)
        prefix = f"scenario/{key_of(sc.name)}/"
        if kind == "survival":
            plan = plan_survival_section(sec, f, k, spec, prefix=prefix)
        elif kind == "ipd":
            plan = plan_ipd_section(sec, f, k, spec, prefix=prefix)
        else:
            plan = None  # a pool runs here, exactly (no fit tasks)
        plans.append((kind, k, sc, sec, plan))
    return plans


def _fit_all(plans, spec, spec_text, sched, resume, jobs, progress) -> tuple[dict, dict, dict]:
    """Run every planned fit as one job; return the trees by task key, the failures and where
    the job ran (``summary.json["execution"]``). The spec's text joins each tree's provenance
    here, not in the task: editing one section (or fixing the fit that failed) keeps every other
    finished fit on ``--resume``."""
    from bayesurv.batch import run as run_batch

    tasks = [t for *_, plan in plans if plan is not None for t in plan.tasks]
    names = {
        t.key: sc.name for _, _, sc, _, plan in plans if sc is not None and plan for t in plan.tasks
    }
    shared = {}
    for *_, plan in plans:
        if plan is not None:
            shared.update(plan.shared)
    if not tasks:
        return {}, {}, {"scheduler": sched, "fits": 0}
    _check_tasks(tasks, shared, names)
    progress.say(f"fitting {len(tasks)} models ({sched})")
    result = run_batch(
        tasks,
        seed=spec.seed,
        scheduler=sched,
        out=jobs,
        resume=resume,
        force=True,
        shared=shared,
        progress=not progress.quiet,
        label="fits",
    )
    trees = {}
    for key in result.keys:
        tree = result[key]
        for category, message in json.loads(tree.attrs.pop("task_warnings", "[]")):
            kind = {"ConvergenceWarning": ConvergenceWarning}.get(category, IdentifiabilityWarning)
            if key in names:
                message = f"[[scenario]] {names[key]}: {message}"
            warnings.warn(message, kind, stacklevel=2)
        prov = json.loads(tree.attrs.get("bayesurv_provenance", "{}"))
        prov["spec"] = spec_text
        tree.attrs["bayesurv_provenance"] = json.dumps(prov, default=str)
        trees[key] = tree
    rec = result.records
    ran = rec[~rec["resumed"].astype(bool)] if len(rec) else rec
    where = {
        "scheduler": result.scheduler,
        "fits": len(tasks),
        "resumed": int(rec["resumed"].astype(bool).sum()) if len(rec) else 0,
        "workers": sorted({str(w) for w in ran.get("worker", [])}),
        "wall_seconds": round(result.wall_seconds, 1),
    }
    return trees, result.failed, where


def _check_tasks(tasks, shared, names) -> None:
    """Every fit's own checks before any fit runs (data, horizon, life-table coverage): bad
    input is one sentence, with no job folder and nothing written."""
    from bayesurv.batch import Ref
    from bayesurv.batch.fits import section_fit

    for task in tasks:
        if task.fn is not section_fit:
            continue
        inputs = {k: shared[v.name] if isinstance(v, Ref) else v for k, v in task.inputs.items()}
        try:
            section_fit(**inputs, seed=0, check=True)
        except InputError as e:
            where = f"[[scenario]] {names[task.key]}: " if task.key in names else ""
            raise InputError(f"{where}{e}") from None
        except Exception:  # not bad input: the fit itself meets it and reports it as a failure
            continue


def _sections(
    spec, spec_path, spec_text, files, out, progress, sched, resume, jobs, caught=()
) -> dict:
    from bayesurv.analysis_report import build_report
    from bayesurv.query import probability, quantities_from_tree

    summary: dict = {
        "title": spec.title,
        "spec": str(spec_path),
        "seed": spec.seed,
        "survival": {},
        "ipd": {},
        "pool": {},
        "nma": {},
        "queries": [],
    }
    plans = _plans(spec, files, progress)
    trees, failed, summary["execution"] = _fit_all(
        plans, spec, spec_text, sched, resume, jobs, progress
    )
    base_failed = {
        t.key: failed[t.key]
        for kind, k, sc, sec, plan in plans
        if sc is None
        for t in plan.tasks
        if t.key in failed
    }
    if base_failed:
        key, why = next(iter(base_failed.items()))
        raise InputError(
            f"the fit {key} failed ({why.rstrip('.')}); the finished fits are kept in {jobs}: "
            "fix the spec and run again with --resume."
        )
    quantities: dict[str, xr.DataArray] = {}
    surv_fits: dict[str, list[SurvivalFit]] = {}
    for kind, _k, sc, sec, plan in plans:
        if kind != "survival" or sc is not None:
            continue
        fits = assemble_survival_section(plan, trees)
        surv_fits[sec.name] = fits
        key = key_of(sec.name)
        (out / key).mkdir(exist_ok=True)
        for f in fits:
            f.tree.to_netcdf(out / key / f"{f.label}.nc")
        best = base_case(fits)
        best.tree.attrs["base_case"] = "yes"
        best.tree.to_netcdf(out / f"{key}.nc")
        ev = plan.events
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
        if sec.cycle:
            summary["survival"][sec.name]["cycles"] = _cycles(out, key, sec, best.tree, spec)
        for name, da in quantities_from_tree(best.tree, groups=("derived",)).data_vars.items():
            quantities[f"{key}_{name}"] = da
    ipd_runs: dict[str, IpdRun] = {}
    for kind, _k, sc, sec, plan in plans:
        if kind != "ipd" or sc is not None:
            continue
        ir = assemble_ipd_section(plan, trees)
        ipd_runs[sec.name] = ir
        key = key_of(sec.name)
        (out / key).mkdir(exist_ok=True)
        ir.ipd.to_csv(out / key / "ipd.csv", index=False, float_format="%.6g")
        for fam, tree in ir.fits.items():
            tree.to_netcdf(out / key / f"{fam}.nc")
        summary["ipd"][sec.name] = ipd_summary(ir)
        best = ir.fits[summary["ipd"][sec.name]["best"]]
        best.to_netcdf(out / f"{key}.nc")
        if sec.cycle:
            summary["ipd"][sec.name]["cycles"] = _cycles(out, key, sec, best, spec)
        if ir.propagated:  # the base case's K reconstructions' fits pooled (sections.ipd)
            ir.propagated[summary["ipd"][sec.name]["best"]]["pooled"].to_netcdf(
                out / key / "propagated.nc"
            )
        for name, da in quantities_from_tree(best, groups=("derived",)).data_vars.items():
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
            "checks": checks_summary(pr.checks or {}),
        }
        if pr.planned_trial is not None:  # plan_events: the MAP prior and the planned trial
            summary["pool"][sec.name]["map_prior"] = pr.planned_trial
        for name, da in pool_quantities(pr.mcmc.idata["posterior"].to_dataset()).data_vars.items():
            quantities[f"{key}_{name}"] = da
        if pr.regression is not None:  # covariates: a meta-regression (subgroup interactions)
            summary["pool"][sec.name]["meta_regression"] = pr.regression_summary
            for name, da in regression_quantities(pr).data_vars.items():
                quantities[f"{key}_{name}"] = da
    if spec.scenario:
        summary["scenarios"] = _scenarios(
            plans, trees, failed, files, spec, progress, surv_fits, ipd_runs, pools, summary
        )
    nmas: dict[str, NmaRun] = {}
    for k, sec in enumerate(spec.nma, start=1):
        nr = run_nma_section(sec, files, k, spec, progress)
        nmas[sec.name] = nr
        key = key_of(sec.name)
        tree = nr.result.to_datatree()
        tree.to_netcdf(out / f"{key}.nc")
        summary["nma"][sec.name] = nma_summary(nr, key)
        for name, da in nma_quantities(tree).data_vars.items():
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
    summary["warnings"] = run_warnings(caught, spec)  # so far: the report lists them
    build_report(out, spec, summary, surv_fits, pools, ipd_runs, nmas=nmas)
    progress.say("report written")  # `out` is the staging folder; the CLI names the final one
    return summary


def _scenarios(plans, trees, failed, files, spec, progress, surv_fits, ipd_runs, pools, summary):
    """``summary.json["scenarios"]``: per section with scenarios, the base case's headline
    quantities (:mod:`bayesurv.sections.scenario`) and each scenario's beside them."""
    out: dict = {}

    def block(kind, sec):
        return out.setdefault(sec.name, {"kind": kind, "key": key_of(sec.name), "rows": []})

    for kind, _k, sc, sec, _plan in plans:  # the base case first
        if sc is None or sec.name in out:
            continue
        base = next(
            s for kd in ("survival", "ipd", "pool") for s in getattr(spec, kd) if s.name == sec.name
        )
        if kind == "survival":
            best = base_case(surv_fits[base.name])
            q = survival_headline(best.tree, base.landmark_times)
            block(kind, base)["rows"].append(scenario_row(BASE, {}, best.label, q))
        elif kind == "ipd":
            ir = ipd_runs[base.name]
            label = summary["ipd"][base.name]["best"]
            q = survival_headline(ir.fits[label], _ipd_times(base))
            block(kind, base)["rows"].append(scenario_row(BASE, {}, label, q))
        else:
            pr = pools[base.name]
            q = pool_headline(pr.exact, base.thresholds)
            block(kind, base)["rows"].append(scenario_row(BASE, {}, "exact", q))
    for kind, k, sc, sec, plan in plans:
        if sc is None:
            continue
        rows = block(kind, sec)["rows"]
        lost = [t.key for t in (plan.tasks if plan is not None else []) if t.key in failed]
        if lost:
            row = scenario_row(sc.name, sc.overrides, "", {})
            row["failed"] = failed[lost[0]]
            rows.append(row)
            continue
        if kind == "survival":
            best = base_case(assemble_survival_section(plan, trees))
            rows.append(
                scenario_row(
                    sc.name,
                    sc.overrides,
                    best.label,
                    survival_headline(best.tree, sec.landmark_times),
                )
            )
        elif kind == "ipd":
            ir = assemble_ipd_section(plan, trees)
            label = (
                str(ir.comparison["model"].iloc[0])
                if ir.comparison is not None
                else next(iter(ir.fits))
            )
            rows.append(
                scenario_row(
                    sc.name, sc.overrides, label, survival_headline(ir.fits[label], _ipd_times(sec))
                )
            )
        else:
            j = spec.scenario.index(sc) + 1
            pr = run_pool_section(sec, scenario_files(files, j, kind, k), k, spec, progress)
            rows.append(
                scenario_row(
                    sc.name, sc.overrides, "exact", pool_headline(pr.exact, sec.thresholds)
                )
            )
    return out


def _cycles(out: Path, key: str, sec, tree, spec) -> dict:
    """``<key>/cycles.csv``: the base case's S(t) draws at the start of each model cycle
    (:func:`bayesurv.summaries.cycle_table`, as ``fit --cycle``), seeded from the spec's
    seed and the section's name; returns where it is and what it holds for summary.json."""
    from bayesurv.sections.common import derived_seed
    from bayesurv.summaries import cycle_table

    seed = derived_seed(spec.seed, sec.name, "cycles")
    table = cycle_table(tree, sec.cycle, n_draws=sec.cycle_draws, seed=seed)
    table.to_csv(out / key / "cycles.csv", index=False, float_format="%.8g")
    return {
        "file": f"{key}/cycles.csv",
        "cycle": sec.cycle,
        "draws": int(table["draw"].max()),
        "cycles": int(table["cycle"].max()) + 1,
        "seed": seed,
    }


def _ipd_times(sec) -> list[float]:
    """An IPD section's landmark for the scenario table: 5 years in its time unit."""
    return [5 * UNITS_PER_YEAR[sec.time_unit]]


def _finite(x):
    """JSON has no NaN or infinity: NaN becomes null, infinities the strings "inf"/"-inf"."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if isinstance(x, float | np.floating) and not np.isfinite(x):
        return None if np.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    return str(x)
