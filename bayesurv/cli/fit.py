"""``bayesurv fit``: one survival model fitted to IPD, with the options of the one core.

Every flag maps to one field of :class:`bayesurv.survival.structure.ModelSpec` (or of the
population, the external evidence, the sampler or the outputs), so the model is what the flags
say and nothing else: ``--plots`` draws figures, it does not change the model. The JSON is
:func:`bayesurv.summaries.summary` (the design's contract: ``family``, ``survival`` rows,
``rmst``, ``diagnostics``, plus effects, cure fractions, life-years and notes where they apply).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from bayesurv.cli.common import app, figure_option, guard, parse_numbers, seed_option  # noqa: F401
from bayesurv.errors import InputError

Opt = typer.Option


@app.command("fit")
@guard
def fit_command(
    ipd: Annotated[Path, typer.Argument(help="IPD CSV: columns time,event (and arm, covariates).")],
    family: Annotated[
        str,
        Opt(
            help="exponential, weibull, gompertz, lognormal, loglogistic, gengamma; or a flexible "
            "hazard: mspline, rp (Royston-Parmar), pwexp (piecewise exponential). 'all' (the six "
            "standard families) or a list (weibull,lognormal,rp) fits each and writes the TSD 14 "
            "table: AIC, BIC, LOO, landmarks, medians, RMST and means, the best model marked."
        ),
    ] = ...,
    json_out: Annotated[Path, Opt("--json", help="Summary JSON to write.")] = ...,
    times: Annotated[str | None, Opt(help="Survival rows at these times, e.g. 12,24,60.")] = None,
    rmst_to: Annotated[float | None, Opt(help="RMST horizon (default: last time).")] = None,
    arm_column: Annotated[
        str | None,
        Opt(help="Column naming one or two arms ('none' pools the arms of a file with one)."),
    ] = None,
    reference_arm: Annotated[
        str | None, Opt(help="The comparator arm (HR = other arm vs this one).")
    ] = None,
    effect: Annotated[
        str | None, Opt(help="How the arm acts on the hazard: ph, aft or separate.")
    ] = None,
    effect_on: Annotated[
        str | None, Opt(help="Where the arm acts: hazard, cure or both (cure models).")
    ] = None,
    covariates: Annotated[
        str | None,
        Opt(help="Columns on the hazard (PH/AFT): age,group or group=Good (reference level)."),
    ] = None,
    cure: Annotated[str | None, Opt(help="Cure model: mixture or non-mixture.")] = None,
    cure_covariates: Annotated[
        str | None, Opt(help="Columns on the cure fraction (logit), e.g. age,mrd.")
    ] = None,
    ancillary: Annotated[
        list[str] | None,
        Opt(help="Covariates on an ancillary parameter: log_shape=group (repeatable)."),
    ] = None,
    nonph: Annotated[
        bool, Opt(help="Non-PH: ancillary parameters or spline coefficients differ by arm.")
    ] = False,
    scale: Annotated[str, Opt(help="Royston-Parmar scale: hazard, odds or normal.")] = "hazard",
    entry_column: Annotated[str | None, Opt(help="Column of entry times (delayed entry).")] = None,
    prior: Annotated[
        list[str] | None,
        Opt(help='A prior by parameter: log_shape="normal(0, 0.5)" (repeatable).'),
    ] = None,
    life_table: Annotated[
        str | None,
        Opt(help="General-population mortality: 'us' (US 2014, shipped) or a life-table CSV."),
    ] = None,
    life_table_extend: Annotated[
        str | None,
        Opt(
            help="A life table ending before age 100 that the cohort outlives: 'constant' "
            "carries its last age's hazard on (with a warning); without it such a table is "
            "refused."
        ),
    ] = None,
    age: Annotated[float | None, Opt(help="Age at entry (years) of every patient.")] = None,
    age_column: Annotated[str | None, Opt(help="Column with each patient's age.")] = None,
    sex: Annotated[str | None, Opt(help="male, female, or the share of men (0.5).")] = None,
    sex_column: Annotated[str | None, Opt(help="Column with each patient's sex.")] = None,
    year: Annotated[int | None, Opt(help="Calendar year of the life table.")] = None,
    time_unit: Annotated[
        str | None, Opt(help="Unit of the time column: days, weeks, months or years.")
    ] = None,
    smr: Annotated[float, Opt(help="SMR on the life table (> 0; below 1 is noted).")] = 1.0,
    smr_prior: Annotated[str | None, Opt(help='Uncertain SMR: "lognormal(mu, sigma)".')] = None,
    waning: Annotated[
        str | None,
        Opt(help="Treatment-effect waning: abrupt:T1, linear_loghr:T1:T2 or linear_hazard:T1:T2."),
    ] = None,
    external_landmarks: Annotated[
        Path | None, Opt(help="CSV of long-term survival (time,survival,lower,upper[,arm]).")
    ] = None,
    external_registry: Annotated[
        Path | None, Opt(help="CSV of registry counts (start,stop,n_at_risk,events[,arm]).")
    ] = None,
    df: Annotated[int | None, Opt(help="Flexible hazards: basis functions (or intervals).")] = None,
    extra_knots: Annotated[
        str | None, Opt(help="Flexible hazards: knots beyond follow-up, e.g. 120,240.")
    ] = None,
    horizon_years: Annotated[
        float | None, Opt(help="Extrapolation horizon in years (default: lifetime).")
    ] = None,
    discount: Annotated[float, Opt(help="Annual discount rate of life-years.")] = 0.035,
    cycle: Annotated[
        str | None, Opt(help="S(t) draws per model cycle: weekly, monthly, yearly (--cycle-csv).")
    ] = None,
    cycle_csv: Annotated[Path | None, Opt(help="CSV of S(t) draws per cycle.")] = None,
    cycle_draws: Annotated[int, Opt(min=1, help="Posterior draws exported per cycle.")] = 200,
    plots: Annotated[
        Path | None, Opt(help="Folder for the extrapolation, hazard and cure figures.")
    ] = None,
    draws: Annotated[int, Opt(min=50, help="Posterior draws per chain.")] = 1000,
    tune: Annotated[int, Opt(min=50, help="Warm-up draws per chain.")] = 1000,
    chains: Annotated[int, Opt(min=1, help="Chains.")] = 4,
    seed: Annotated[int, seed_option()] = 1,
    ci: Annotated[float, Opt(help="Width of every interval.")] = 0.95,
    netcdf: Annotated[Path | None, Opt(help="Also save the full result (NetCDF).")] = None,
    force: Annotated[bool, Opt(help="Replace existing output files.")] = False,
) -> None:
    """Fit a survival model to IPD; write survival, RMST, medians, means, effects (and cure
    fractions, life-years, landmarks against the KM where they apply) as JSON."""
    from bayesurv import summaries
    from bayesurv.intervals import check_ci, ci_width
    from bayesurv.lifetable import LifeTableWarning
    from bayesurv.outputs import OutputPlan
    from bayesurv.survival.data import External
    from bayesurv.survival.fit import Outputs, Sampler, fit
    from bayesurv.survival.population import Population, units_per_year
    from bayesurv.survival.structure import ModelSpec

    inputs = [p for p in (ipd, external_landmarks, external_registry) if p is not None]
    if life_table is not None and life_table.lower() != "us":
        inputs.append(Path(life_table))
    plan = OutputPlan(None, force=force, inputs=tuple(inputs))
    j = plan.add(json_out, option="--json", kind="json")
    nc = plan.add(netcdf, option="--netcdf", kind="netcdf") if netcdf else None
    if cycle_csv is not None and cycle is None:
        raise InputError("--cycle-csv needs --cycle weekly, monthly or yearly.")
    cyc = plan.add(cycle_csv, option="--cycle-csv", kind="csv") if cycle_csv else None
    figs = plan.folder(plots, option="--plots") if plots else None
    if figs is not None:
        names = ("extrapolation", "hazard", "cure_fraction")
        if len(_families(family)) > 1:
            names = ("models",)
        figs = [
            plan.add(figs / f"{n}.{e}", option="--plots", kind="figure")
            for n in names
            for e in ("png", "svg")
        ]
    check_ci(ci)  # before the work
    families = _families(family)
    table = _read_ipd(ipd)
    arm_column = _arm_column(table, arm_column, ipd)
    arms = ()
    if arm_column is not None:
        arms = _check_two_arms(table, _col(arm_column), ipd, reference_arm)
    elif reference_arm is not None:
        raise InputError("--reference-arm needs --arm-column (the column naming the arms).")
    if effect in ("hazard", "cure", "both"):  # the arm's target, named as --effect-on
        effect, effect_on = None, effect_on or effect
    spec = ModelSpec(
        families[0],
        arm=_col(arm_column),
        arms=arms,
        effect=effect,
        effect_on=effect_on,
        nonph=nonph,
        covariates=_list(covariates),
        cure=cure or "none",
        cure_covariates=_list(cure_covariates),
        ancillary=_pairs(ancillary, "--ancillary", lambda v: _list(v)),
        entry=_col(entry_column),
        smr_prior=smr_prior,
        waning=_waning(waning) if waning else None,
        df=df,
        extra_knots=tuple(parse_numbers(extra_knots, "--extra-knots")) if extra_knots else (),
        scale=scale,
        priors=_pairs(prior, "--prior", str),
        time_unit=time_unit,
    )
    population = None
    if life_table is not None:
        from bayesurv.lifetable import read_life_table, us_life_table

        lt = (
            us_life_table(year or 2014)
            if life_table.lower() == "us"
            else read_life_table(life_table)
        )
        population = Population(
            lt,
            year=year,
            smr=smr,
            age=age,
            age_column=_col(age_column),
            male=sex,
            sex_column=_col(sex_column),
            extend=life_table_extend,
        )
    elif smr != 1.0:
        raise InputError("an SMR needs a life table (general-population mortality).")
    elif life_table_extend is not None:
        raise InputError("--life-table-extend needs --life-table.")
    external = None
    if external_landmarks or external_registry:
        from bayesurv.evidence.reported import read_landmarks, read_registry

        external = External(
            read_landmarks(external_landmarks) if external_landmarks else None,
            read_registry(external_registry) if external_registry else None,
        )
    horizon = None
    if horizon_years is not None:
        if time_unit is None:
            raise InputError(
                "--horizon-years needs --time-unit to convert years to the data's unit."
            )
        horizon = horizon_years * units_per_year(time_unit)
    extended = None  # the rule that extended the life table, said in the JSON's notes too
    if population is not None and time_unit is not None:
        extended = _check_life_table(
            population, table, ipd, horizon_years, time_unit, life_table_extend
        )
    grid = tuple(parse_numbers(times, "--times")) if times else ()
    if any(x < 0 for x in grid):
        raise InputError(f"--times {times!r} must be non-negative numbers, e.g. 12,24,60.")
    if rmst_to is not None and not rmst_to > 0:
        raise InputError(f"the RMST horizon must be a positive number, got {rmst_to!r}.")
    if chains == 1:
        from bayesurv.report_format import RHAT_NOTE

        typer.echo(f"note: {RHAT_NOTE}.", err=True)

    settings = Outputs(times=grid, rmst_to=rmst_to, horizon=horizon, discount=discount)

    def spec_of(fam: str):
        if fam == spec.hazard:
            return spec
        return replace(spec, hazard=fam, effect=effect, effect_on=effect_on)

    def one(fam: str):
        with warnings.catch_warnings():  # said once, above, by _check_life_table
            warnings.simplefilter("ignore", LifeTableWarning)
            return _one(fam)

    def arrays(fam: str) -> dict:
        """The likelihood's arrays of one family's fit (background hazards and external
        evidence included), for its AIC/BIC at the maximum of that same likelihood."""
        from bayesurv.survival.data import prepare

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LifeTableWarning)
            return prepare(
                spec_of(fam), table, external=external, population=population, source=str(ipd)
            )[1]

    def _one(fam: str):
        return fit(
            table,
            spec_of(fam),
            seed=seed,
            external=external,
            population=population,
            sampler=Sampler(draws, tune, chains),
            outputs=settings,
            source=str(ipd),
            inputs={"ipd": ipd},
        )

    if len(families) > 1:
        if cycle or nc is not None:
            raise InputError(
                "--cycle-csv and --netcdf save one model; fit the chosen family alone for them."
            )
        if effect is None and arms:
            typer.echo(
                "note: each family takes its default arm effect (PH where the family is closed "
                "under it, else AFT); --effect sets one for all.",
                err=True,
            )
        from bayesurv.cli.common import progress_bar
        from bayesurv.survival.fit import check_inputs

        for fam in families:  # every family's model and data checked before the first fit
            check_inputs(
                table,
                spec_of(fam),
                external=external,
                population=population,
                outputs=settings,
                source=str(ipd),
            )
        from bayesurv.progress import sampling_progress

        results = {}
        with progress_bar() as bar:  # on a terminal only: one bar over the families, with ETA
            task = bar.add_task("fitting", total=len(families))
            for fam in families:
                bar.update(task, description=f"fitting {fam}")
                with sampling_progress(f"  {fam}: NUTS draws", bar=bar):  # and one per fit
                    results[fam] = one(fam)
                bar.advance(task)
            bar.update(task, description=f"fitted {len(families)} families")
        with ci_width(ci):
            data = {fam: arrays(fam) for fam in families} if (population or external) else None
            out = _tsd14(results, list(grid) or None, data)
            notes = _grid_notes(out["models"], extended)
            if notes:
                out["notes"] = notes
            drawn = _model_figures(results, horizon) if figs else {}
        with plan.writing():
            plan.json(j, out)
            for path in figs or ():
                if path.stem in drawn:
                    plan.figure(path, drawn[path.stem], dpi=120)
        typer.echo(_table_text(out))
        typer.echo(f"wrote {json_out}")
        _reference_note(arm_column, reference_arm, next(iter(out["models"].values()))["arms"])
        _echo_notes(out, extended, population)
        return
    from bayesurv.cli.common import stderr_console
    from bayesurv.progress import sampling_progress

    with sampling_progress(f"sampling {spec.hazard}", console=stderr_console()):  # terminal only
        result = one(spec.hazard)
    with ci_width(ci):
        out = summaries.summary(result, list(grid) or None)
        if extended and extended not in out.get("notes", []):
            out["notes"] = [*out.get("notes", []), extended]
        cycles = (
            summaries.cycle_table(result, cycle, n_draws=cycle_draws, seed=seed) if cycle else None
        )
        drawn = _figures(result) if figs else {}
    with plan.writing():
        plan.json(j, out)
        if nc is not None:
            plan.netcdf(nc, result)
        if cyc is not None:
            plan.csv(cyc, cycles)
        for path in figs or ():
            if path.stem in drawn:
                plan.figure(path, drawn[path.stem], dpi=120)
    typer.echo(_fit_text(out))
    typer.echo(f"wrote {json_out}")
    _reference_note(arm_column, reference_arm, out.get("arms", []))
    _echo_notes(out, extended, population)


def _grid_notes(models: dict, extended: str | None) -> list[str]:
    """The notes of several fits, for the JSON's top level: the life table's extension rule,
    then each distinct note of the fits once (the SMR's, a left-out log-likelihood's, ...); one
    that only some of the models carry names them (``"weibull, gompertz: ..."``). Each model's
    own notes stay in its summary."""
    about: dict[str, list[str]] = {}
    for name, summary in models.items():
        for note in summary.get("notes", []):
            about.setdefault(note, []).append(name)
    out = [extended] if extended else []
    for note, names in about.items():
        if note != extended:
            out.append(note if len(names) == len(models) else f"{', '.join(names)}: {note}")
    return out


def _echo_notes(out: dict, extended: str | None, population) -> None:
    """The JSON's notes on standard error, but those already said as warning lines (the life
    table's extension and a fixed SMR below 1)."""
    from bayesurv.survival.fit import smr_note

    warned = {extended, smr_note(float(population.smr)) if population is not None else None}
    for note in out.get("notes", []):
        if note not in warned and note.partition(": ")[2] not in warned:
            typer.echo(f"note: {note}", err=True)


def _check_life_table(population, table, ipd: Path, horizon_years, time_unit, extend) -> str | None:
    """The life table covers every patient from entry to the horizon (the end of follow-up or
    ``--horizon-years``, whichever is later; a lifetime without it), or is refused now, before
    any sampling (:func:`bayesurv.lifetable.check_coverage`)."""
    from bayesurv.lifetable import check_coverage
    from bayesurv.survival.population import units_per_year

    ages, _ = population.patients(table, str(ipd))
    time = np.asarray(table["time"], dtype=float)
    follow = float(np.nanmax(time)) / units_per_year(time_unit) if time.size else 0.0
    horizon = None if horizon_years is None else max(float(horizon_years), follow)
    return check_coverage(population.table, ages, horizon, extend=extend, follow_up=follow)


def _figures(result) -> dict:
    from bayesurv.plots.extrapolation import figures

    return figures(result)


def _read_ipd(path: Path):
    """The IPD file through the shared reader (encodings, delimiters, decimal commas)."""
    from bayesurv.tables import Column, read_table

    df = read_table(path, [Column("time"), Column("event")], what="IPD table")
    return df.reset_index(drop=True)


#: the six standard parametric families of NICE DSU TSD 14, in its order
STANDARD = ("exponential", "weibull", "gompertz", "lognormal", "loglogistic", "gengamma")


def _families(text: str) -> list[str]:
    """``--family``: one name, ``all`` (the six of TSD 14) or a comma list (each once)."""
    from bayesurv.survival.structure import HAZARDS

    names = (
        list(STANDARD)
        if text.strip().lower() == "all"
        else [f.strip().lower() for f in text.split(",") if f.strip()]
    )
    if not names:
        raise InputError("--family is empty; give a family, a list, or 'all'.")
    for f in names:
        if f not in HAZARDS:
            raise InputError(f"unknown family {f!r}; choose one of {', '.join(HAZARDS)} or 'all'.")
    if len(set(names)) != len(names):
        raise InputError(f"--family {text!r} names a family twice; name each once.")
    return names


def _arm_column(table, given: str | None, path: Path) -> str | None:
    """The arm column: as given; ``none`` pools; a file with an ``arm`` column must say."""
    if given is not None:
        return None if given.strip().lower() == "none" else given
    if "arm" in table.columns and table["arm"].astype(str).nunique() > 1:
        levels = ", ".join(map(repr, dict.fromkeys(table["arm"].astype(str))))
        raise InputError(
            f"{path} has an arm column ({levels}); give --arm-column arm to compare the arms, "
            "or --arm-column none to pool them into one curve."
        )
    return None


def _check_two_arms(table, column: str, path: Path, reference: str | None) -> tuple:
    """``--arm-column`` compares arms: a file with one arm there is a mistake, not a fit.
    Returns the arm labels, reference first (``--reference-arm``, else the first in the file)."""
    if column not in table.columns:
        raise InputError(
            f"{path} has no column {column!r} (--arm-column); its columns are "
            f"{', '.join(map(str, table.columns))}."
        )
    seen = list(dict.fromkeys(table[column].astype(str)))
    if len(seen) == 1:
        raise InputError(
            f"{path}: column {column!r} holds one arm ({seen[0]!r}); give a file with both arms, "
            "or leave out --arm-column to fit that arm alone."
        )
    if reference is None:
        return ()
    if reference not in seen:
        raise InputError(
            f"--reference-arm {reference!r} is not an arm of {path}; its arms are "
            f"{', '.join(map(repr, seen))}."
        )
    return (reference, *[a for a in seen if a != reference])


def _reference_note(arm_column, reference_arm, arms) -> None:
    """Say which arm is the comparator when the user did not choose it."""
    if arm_column is not None and reference_arm is None and len(arms) == 2:
        typer.echo(
            f"note: reference arm {arms[0]!r} (the first in the file): hazard ratios are "
            f"{arms[1]!r} vs {arms[0]!r}; --reference-arm chooses.",
            err=True,
        )


def _tsd14(results: dict, times, data: dict | None = None) -> dict:
    """The TSD 14 table of several families fitted to one IPD: each model's fit statistics
    (AIC and BIC at the maximum of the same likelihood, LOO elpd with its SE, stacking weight)
    beside its landmarks, medians, RMST and means; the best by LOO (and by AIC) marked.
    ``data``: each family's likelihood arrays, which AIC/BIC need when the model has background
    mortality or external evidence (:func:`bayesurv.survival.compare.compare`); a row whose
    AIC/BIC could not be computed says why in its ``note``."""
    from bayesurv import summaries
    from bayesurv.survival.compare import compare

    table = compare(results, data)
    by_model = {name: summaries.summary(r, times) for name, r in results.items()}
    rows = []
    for rec in table.to_dict("records"):
        s = by_model[rec["model"]]
        row = {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in rec.items()
        }
        row["median"] = s["median"]
        row["rmst"] = s["rmst"]
        row["mean"] = s.get("mean")
        row["survival"] = s["survival"]
        if "hr" in s:
            row["hr"] = s["hr"]
        row["diagnostics"] = s.get("diagnostics")
        rows.append(row)
    best_loo = table["model"].iloc[0]
    finite = table.dropna(subset=["AIC"])
    best_aic = finite.sort_values("AIC")["model"].iloc[0] if len(finite) else None
    finite = table.dropna(subset=["BIC"])
    best_bic = finite.sort_values("BIC")["model"].iloc[0] if len(finite) else None
    return {
        "families": list(results),
        "best": {"loo": best_loo, "aic": best_aic, "bic": best_bic},
        "comparison": rows,
        "models": by_model,
    }


def _table_text(out: dict) -> str:
    """The TSD 14 comparison as two terminal tables: the fit statistics of each family (AIC,
    BIC, LOO elpd with its SE, stacking weight; the best by each criterion marked), then each
    family's extrapolated quantities per arm (posterior medians: S(t) at the landmarks, median,
    RMST to its horizon, mean; their intervals are in the JSON)."""
    best = out["best"]
    lines = [f"{'model':<12}{'AIC':>10}{'BIC':>10}{'elpd_loo':>10}{'se':>7}{'weight':>8}  best by"]
    for r in out["comparison"]:
        by = [k.upper() for k in ("loo", "aic", "bic") if best.get(k) == r["model"]]
        aic = "n/a" if r["AIC"] is None else f"{r['AIC']:.1f}"
        bic = "n/a" if r["BIC"] is None else f"{r['BIC']:.1f}"
        lines.append(
            f"{r['model']:<12}{aic:>10}{bic:>10}{r['elpd_loo']:>10.1f}{r['se']:>7.1f}"
            f"{r['weight']:>8.2f}  {', '.join(by)}{' *' if 'LOO' in by else ''}".rstrip()
        )
    lines.append("* best by LOO (highest elpd); AIC/BIC at the maximum likelihood, lower is better")
    lines += ["", *_quantities_text(out)]
    notes: dict = {}  # one line per distinct note, naming the models it is about
    for r in out["comparison"]:
        if r.get("note"):
            notes.setdefault(r["note"], []).append(r["model"])
    lines += [f"note ({', '.join(models)}): {text}" for text, models in notes.items()]
    return "\n".join(lines)


def _fit_text(out: dict) -> str:
    """One fit's headline numbers for the terminal, from its JSON (``out``): posterior medians
    with their intervals at the JSON's width, per arm: the cure fraction and its difference
    (cure models), the arm effect (HR, time ratio or odds ratio), the median, the mean survival
    (in years and discounted where a time unit is known), the life-years gained and the RMST."""
    from bayesurv.report_format import level_percent, number

    def num(x, infinite: str | None = None) -> str:
        if isinstance(x, str):  # "inf" as the JSON writes it
            x = float(x)
        if x is None or np.isnan(x):
            return "-"
        if np.isinf(x) and infinite:
            return infinite
        return number(x)

    def iv(d: dict, infinite: str | None = None) -> str:
        lo, hi = (num(d[k], infinite) for k in ("lower", "upper"))
        return f"{num(d['median'], infinite)} ({lo} to {hi})"

    def arms(value, infinite: str | None = None) -> str:
        rows = value if isinstance(value, list) else [value]
        return ", ".join(
            (f"{r['arm']} " if "arm" in r else "") + iv(r, infinite) for r in rows if r
        )

    labels = out.get("arms") or []
    vs = f"{labels[1]} vs {labels[0]}" if len(labels) == 2 else ""
    cure = "" if out.get("cure", "none") == "none" else f" {out['cure']}-cure"
    unit = out.get("time_unit") or "time units"
    lines = [
        f"{out['family']}{cure} model; posterior median ({level_percent(out['ci'])} "
        f"interval), times in {unit}:"
    ]
    if "cure_fraction" in out:
        lines.append(f"  cure fraction: {arms(out['cure_fraction'])}")
    if "cure_diff" in out:
        lines.append(
            f"  cure fraction difference, {labels[1]} - {labels[0]}: {iv(out['cure_diff'])}"
        )
    for key, what in (
        ("hr", "hazard ratio"),
        ("time_ratio", "time ratio"),
        ("odds_ratio", "odds ratio"),
    ):
        if key in out:
            lines.append(f"  {what}, {vs}: {iv(out[key])}")
    lines.append(f"  median survival: {arms(out['median'], 'not reached')}")
    for key, what in (
        ("mean", "mean survival"),
        ("mean_survival_years", "mean survival (years)"),
        ("mean_survival_discounted_years", "mean survival (years, discounted)"),
    ):
        same = key == "mean" and unit == "years" and "mean_survival_years" in out
        if key in out and not same:  # (the mean in years once)
            lines.append(f"  {what}: {arms(out[key])}")
    for key, what in (
        ("life_years_gained", "life-years gained"),
        ("life_years_gained_discounted", "life-years gained, discounted"),
    ):
        if key in out:
            lines.append(f"  {what}, {vs}: {iv(out[key])}")
    rm = out.get("rmst") or {}
    if "to" in rm:
        text = arms(rm["arms"]) if "arms" in rm else iv(rm)
        if "difference" in rm:
            text += f"; difference {iv(rm['difference'])}"
        lines.append(f"  RMST to {num(rm['to'])}: {text}")
    return "\n".join(lines)


def _per_arm(value) -> dict:
    """``[{"arm": a, "median": m, ...}]`` or one ``{"median": m, ...}`` -> ``{arm: m}``."""
    rows = value if isinstance(value, list) else [value]
    return {str(r.get("arm", "all")): r.get("median") for r in rows if isinstance(r, dict) and r}


def _quantities_text(out: dict) -> list[str]:
    """Per family and arm: S(t) at each landmark, median, RMST and mean (posterior medians)."""
    rows, times, rmst_to = [], [], None
    for r in out["comparison"]:
        surv = {}
        for s in r["survival"]:
            surv.setdefault(str(s.get("arm", "all")), {})[s["time"]] = s["median"]
            if s["time"] not in times:
                times.append(s["time"])
        rm = r["rmst"] or {}
        rmst_to = rm.get("to", rmst_to)
        rmst = _per_arm(rm["arms"]) if "arms" in rm else _per_arm(rm)
        med, mean = _per_arm(r["median"]), _per_arm(r["mean"]) if r.get("mean") else {}
        for arm in med:
            rows.append(
                (r["model"], arm, surv.get(arm, {}), med[arm], rmst.get(arm), mean.get(arm))
            )
    heads = [f"S({t:.4g})" for t in times]
    rmst_head = f"RMST({rmst_to:.4g})" if rmst_to is not None else "RMST"
    width = max([6, *(len(h) + 1 for h in heads)])
    arm_w = max([5, *(len(a) + 2 for _, a, *_ in rows)])
    lines = [
        f"{'posterior medians':<{12 + arm_w}}"
        + "".join(f"{h:>{width}}" for h in heads)
        + f"{'median':>9}{rmst_head:>{max(11, len(rmst_head) + 2)}}{'mean':>9}"
    ]
    for model, arm, surv, med, rmst, mean in rows:
        lines.append(
            f"{model:<12}{arm:<{arm_w}}"
            + "".join(f"{_survival(surv.get(t)):>{width}}" for t in times)
            + f"{_value(med, 'not reached'):>9}{_value(rmst):>{max(11, len(rmst_head) + 2)}}"
            f"{_value(mean):>9}"
        )
    return lines


def _survival(x) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.3f}"


def _value(x, infinite: str = "inf") -> str:
    """A median, RMST or mean: three significant digits (``1.80``), whole from 100 on; an
    infinite one (a cured fraction; a median never reached) as ``infinite`` says."""
    if isinstance(x, str):
        return x
    if x is None or np.isnan(x):
        return "-"
    if np.isinf(x):
        return infinite
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:#.3g}"


def _number(x) -> str:
    """A number for people: whole above 100, three significant digits below, 'not reached'."""
    if x is None or not np.isfinite(x):
        return "not reached"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _model_figures(results: dict, horizon) -> dict:
    from bayesurv.plots.survival import plot_models

    return {"models": plot_models(results, horizon=horizon)}


def _col(name: str | None) -> str | None:
    from bayesurv.tables import normalize_header

    return None if name is None else normalize_header(name)


def _list(text: str | None) -> tuple:
    if not text:
        return ()
    out = []
    for part in str(text).split(","):
        name, eq, ref = part.partition("=")
        if name.strip():
            out.append(_col(name) + (f"={ref.strip()}" if eq else ""))
    return tuple(out)


def _pairs(values, option: str, value) -> dict:
    out = {}
    for item in values or ():
        name, eq, rest = str(item).partition("=")
        if not eq or not name.strip() or not rest.strip():
            raise InputError(
                f"{option} {item!r} is not NAME=VALUE; write e.g. log_shape=normal(0, 0.5)."
            )
        out[name.strip()] = value(rest.strip())
    return out


def _waning(text: str) -> dict:
    parts = [p.strip() for p in text.split(":")]
    try:
        times = [float(p) for p in parts[1:]]
    except ValueError:
        times = []
    if len(parts) < 2 or len(times) != len(parts) - 1 or len(times) > 2:
        raise InputError(
            f"--waning {text!r} is not SCHEME:T1[:T2]; write e.g. linear_loghr:60:120 or abrupt:60."
        )
    return {"scheme": parts[0], "t1": times[0], "t2": times[1] if len(times) > 1 else None}
