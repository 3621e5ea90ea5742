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

Seeds: every fit's seed is derived from the spec's seed and the model's name (CRC32), so the
same spec and seed give the same numbers, and adding a model does not change the others.
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
    fit_ipd_section,
    ipd_of,
    ipd_summary,
    reconstruction_accuracy,
)
from bayesurv.sections.nma import NmaRun, nma_quantities, nma_summary, run_nma_section
from bayesurv.sections.pool import (
    PoolRun,
    pool_quantities,
    regression_quantities,
    run_pool_section,
)
from bayesurv.sections.survival import (
    SurvivalFit,
    base_case,
    fit_survival_section,
    reported_arms,
    survival_summary,
)
from bayesurv.spec import load_spec
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
        summary = _run(spec, spec_path, spec_text, files, out, progress)
    kinds = (ConvergenceWarning, IdentifiabilityWarning, QueryWarning)
    notes = sorted({str(w.message) for w in caught if issubclass(w.category, kinds)})
    for n in notes:
        progress.say(f"[yellow]warning[/]: {n}")
    summary["warnings"] = notes
    text = json.dumps(_finite(summary), indent=2, default=_json_default, allow_nan=False)
    (out / "summary.json").write_text(text + "\n")
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


def _run(spec, spec_path, spec_text, files, out, progress) -> dict:
    from bayesurv.intervals import ci_width

    with ci_width(spec.ci):  # the width of every interval of the analysis
        return _sections(spec, spec_path, spec_text, files, out, progress)


def _sections(spec, spec_path, spec_text, files, out, progress) -> dict:
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
        for name, da in quantities_from_tree(best.tree, groups=("derived",)).data_vars.items():
            quantities[f"{key}_{name}"] = da
    ipd_runs: dict[str, IpdRun] = {}
    for k, sec in enumerate(spec.ipd, start=1):
        ir = fit_ipd_section(sec, files, k, spec, progress, spec_text)
        ipd_runs[sec.name] = ir
        key = key_of(sec.name)
        (out / key).mkdir(exist_ok=True)
        ir.ipd.to_csv(out / key / "ipd.csv", index=False, float_format="%.6g")
        for fam, tree in ir.fits.items():
            tree.to_netcdf(out / key / f"{fam}.nc")
        summary["ipd"][sec.name] = ipd_summary(ir)
        best = ir.fits[summary["ipd"][sec.name]["best"]]
        best.to_netcdf(out / f"{key}.nc")
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
        }
        for name, da in pool_quantities(pr.mcmc.idata["posterior"].to_dataset()).data_vars.items():
            quantities[f"{key}_{name}"] = da
        if pr.regression is not None:  # covariates: a meta-regression (subgroup interactions)
            summary["pool"][sec.name]["meta_regression"] = pr.regression_summary
            for name, da in regression_quantities(pr).data_vars.items():
                quantities[f"{key}_{name}"] = da
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
    build_report(out, spec, summary, surv_fits, pools, ipd_runs, nmas=nmas)
    progress.say(f"done: {out / 'report.html'}")
    return summary


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
