"""Survival fits as tasks: the one adapter between the execution layer and the survival core.

:func:`core_fit` is the only place that names the core's fit entry point; switching to a new
core is the one line in it. :func:`fit_task` runs one NUTS fit and returns its result tree;
:func:`grid` turns a model grid over one IPD table into tasks (the table shared, one structure
per model so that each worker compiles a model once and re-uses it for every later task of
that structure: the core's compile cache lives in the worker process, which outlives tasks).

A fit's chains are threads (nutpie), so a fit task declares ``threads = chains`` and the
local cluster runs ``cores // chains`` workers (:mod:`bayesurv.batch.cluster`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import xarray as xr

from bayesurv.batch.tasks import Ref, Task


def core_fit():
    """The survival core's public fit: ``fit(ipd, model, *, seed, sampler, outputs, **spec)``."""
    from bayesurv.survival.fit import fit  # the one line to change when the core moves

    return fit


def _sampler(draws: int, tune: int, chains: int):
    from bayesurv.survival.fit import Sampler

    return Sampler(draws=int(draws), tune=int(tune), chains=int(chains))


def _outputs(times, rmst_to):
    from bayesurv.survival.fit import Outputs

    return Outputs(times=tuple(times or ()), rmst_to=rmst_to)


def fit_task(
    ipd: pd.DataFrame,
    model: Any = "weibull",
    *,
    seed: int,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    times: Iterable[float] | None = None,
    rmst_to: float | None = None,
    keep: Iterable[str] | None = None,
    spec: Mapping[str, Any] | None = None,
) -> xr.DataTree:
    """One NUTS fit of ``model`` to ``ipd`` (the core's result tree).

    ``spec`` holds the model's options (``{"arm": "arm", "cure": "mixture"}``...); ``keep``
    names the groups to return (default: all; a grid that only compares models keeps
    ``posterior``, ``log_likelihood`` and ``derived``, which is what travels back)."""
    import warnings

    fit = core_fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a grid's report collects convergence from the result
        result = fit(
            ipd,
            model,
            seed=seed,
            sampler=_sampler(draws, tune, chains),
            outputs=_outputs(times, rmst_to),
            **dict(spec or {}),
        )
    if keep is not None:
        keep = set(keep)
        kept = {f"/{name}": result[name].to_dataset() for name in result.children if name in keep}
        out = xr.DataTree.from_dict(kept)
        out.attrs.update(result.attrs)
        result = out
    return result


#: warnings a spec's fit reports in summary.json (kept with the value, so they reach the
#: runner from any worker, and are the same on every scheduler)
REPORTED = ("ConvergenceWarning", "IdentifiabilityWarning")


def section_fit(
    ipd: pd.DataFrame | None,
    model: Any,
    *,
    seed: int,
    sampler: Mapping[str, Any],
    outputs: Mapping[str, Any],
    population: Mapping[str, Any] | None = None,
    summaries: Any = None,
    options: Mapping[str, Any] | None = None,
    check: bool = False,
) -> xr.DataTree | None:
    """One model of an analysis spec's section (``bayesurv run``), fitted by the core
    (``check``: only what the fit checks before sampling, :func:`~bayesurv.survival.fit.
    check_inputs`; the runner does that for every task before the job starts).

    ``population`` is the section's ``population`` table as data (``{"spec": {...},
    "life_table": "us" | path}``) and is built here, on the worker; ``sampler`` and
    ``outputs`` are the core's :class:`~bayesurv.survival.fit.Sampler` and
    :class:`~bayesurv.survival.fit.Outputs` as dicts; ``options`` the core's other keywords
    (``pointwise``, ``source``, ``inputs``, ``record``). Convergence and identifiability
    warnings are kept in ``attrs["task_warnings"]`` (JSON ``[[category, message], ...]``)."""
    import json
    import warnings

    from bayesurv.survival.fit import Outputs, Sampler

    pop = None
    if population is not None:
        from bayesurv.lifetable import read_life_table, us_life_table
        from bayesurv.spec import Population

        p = Population.model_validate(population["spec"])
        table = population["life_table"]
        pop = p.build(us_life_table(p.year or 2014) if table == "us" else read_life_table(table))
    out = dict(outputs)
    out["times"] = tuple(out.get("times") or ())
    if check:
        from bayesurv.survival.fit import check_inputs

        opts = dict(options or {})
        check_inputs(
            ipd,
            model,
            summaries=summaries,
            population=pop,
            outputs=Outputs(**out),
            source=opts.get("source", "the IPD table"),
        )
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = core_fit()(
            ipd,
            model,
            seed=seed,
            summaries=summaries,
            population=pop,
            sampler=Sampler(**sampler),
            outputs=Outputs(**out),
            **dict(options or {}),
        )
    said = []
    for w in caught:
        item = [w.category.__name__, str(w.message)]
        if w.category.__name__ in REPORTED and item not in said:
            said.append(item)
    result.attrs["task_warnings"] = json.dumps(said)
    return result


def structure_label(model: Any, spec: Mapping[str, Any] | None = None) -> str:
    """Tasks with the same label share one compiled model (same hazard and options)."""
    opts = ",".join(f"{k}={spec[k]!r}" for k in sorted(spec or {}))
    return f"{model}|{opts}"


def grid(
    models: Iterable[Any],
    *,
    ipd: str = "ipd",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    spec: Mapping[str, Any] | None = None,
    keep: Iterable[str] | None = None,
    rmst_to: float | None = None,
    prefix: str = "",
) -> list[Task]:
    """One fit task per model, all on the job's shared IPD table named ``ipd``.

    Examples
    --------
    >>> [t.key for t in grid(["weibull", "lognormal"], prefix="EFS/")]
    ['EFS/weibull', 'EFS/lognormal']
    """
    tasks = []
    for m in models:
        inputs = {
            "ipd": Ref(ipd),
            "model": m,
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "spec": dict(spec or {}),
            "rmst_to": rmst_to,
        }
        if keep is not None:
            inputs["keep"] = list(keep)
        tasks.append(
            Task(
                f"{prefix}{m}", fit_task, inputs, threads=chains, structure=structure_label(m, spec)
            )
        )
    return tasks


def compile_overhead(records: pd.DataFrame) -> pd.DataFrame:
    """Per structure: the first task's seconds on each worker (it compiled) against the mean of
    that worker's later tasks of the same structure (they re-used the compiled model)."""
    ok = records[records["ok"] & ~records["resumed"]].sort_values("started")
    rows = []
    for (structure, worker), g in ok.groupby(["structure", "worker"], sort=True):
        later = g["seconds"].iloc[1:]
        rows.append(
            {
                "structure": structure,
                "worker": worker,
                "tasks": len(g),
                "first_s": float(g["seconds"].iloc[0]),
                "later_mean_s": float(later.mean()) if len(later) else float("nan"),
            }
        )
    return pd.DataFrame(rows)
