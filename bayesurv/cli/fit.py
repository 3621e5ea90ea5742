"""``bayesurv fit``: one survival model fitted to IPD, with the options of the one core.

Every flag maps to one field of :class:`bayesurv.survival.structure.ModelSpec` (or of the
population, the external evidence, the sampler or the outputs), so the model is what the flags
say and nothing else: ``--plots`` draws figures, it does not change the model. The JSON is
:func:`bayesurv.survival.outputs.summary` (the design's contract: ``family``, ``survival`` rows,
``rmst``, ``diagnostics``, plus effects, cure fractions, life-years and notes where they apply).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
            "hazard: mspline, rp (Royston-Parmar), pwexp (piecewise exponential)."
        ),
    ] = ...,
    json_out: Annotated[Path, Opt("--json", help="Summary JSON to write.")] = ...,
    times: Annotated[str | None, Opt(help="Survival rows at these times, e.g. 12,24,60.")] = None,
    rmst_to: Annotated[float | None, Opt(help="RMST horizon (default: last time).")] = None,
    arm_column: Annotated[str | None, Opt(help="Column naming one or two arms.")] = None,
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
    age: Annotated[float | None, Opt(help="Age at entry (years) of every patient.")] = None,
    age_column: Annotated[str | None, Opt(help="Column with each patient's age.")] = None,
    sex: Annotated[str | None, Opt(help="male, female, or the share of men (0.5).")] = None,
    sex_column: Annotated[str | None, Opt(help="Column with each patient's sex.")] = None,
    year: Annotated[int | None, Opt(help="Calendar year of the life table.")] = None,
    time_unit: Annotated[
        str | None, Opt(help="Unit of the time column: days, weeks, months or years.")
    ] = None,
    smr: Annotated[float, Opt(help="Excess-mortality ratio on the life table (>= 1).")] = 1.0,
    smr_prior: Annotated[
        str | None, Opt(help='Uncertain SMR: "lognormal(mu, sigma)", truncated at 1.')
    ] = None,
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
    from bayesurv.intervals import check_ci, ci_width
    from bayesurv.outputs import OutputPlan
    from bayesurv.survival import outputs as O
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
        figs = [
            plan.add(figs / f"{n}.{e}", option="--plots", kind="figure")
            for n in ("extrapolation", "hazard", "cure_fraction")
            for e in ("png", "svg")
        ]
    check_ci(ci)  # before the work
    table = _read_ipd(ipd)
    if arm_column is not None:
        _check_two_arms(table, _col(arm_column), ipd)
    if effect in ("hazard", "cure", "both"):  # the arm's target, named as --effect-on
        effect, effect_on = None, effect_on or effect
    spec = ModelSpec(
        family,
        arm=_col(arm_column),
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
        )
    elif smr != 1.0:
        raise InputError("an SMR needs a life table (general-population mortality).")
    external = None
    if external_landmarks or external_registry:
        from bayesurv.survival.evidence import read_landmarks, read_registry

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
    grid = tuple(parse_numbers(times, "--times")) if times else ()
    if any(x < 0 for x in grid):
        raise InputError(f"--times {times!r} must be non-negative numbers, e.g. 12,24,60.")
    if rmst_to is not None and not rmst_to > 0:
        raise InputError(f"the RMST horizon must be a positive number, got {rmst_to!r}.")
    result = fit(
        table,
        spec,
        seed=seed,
        external=external,
        population=population,
        sampler=Sampler(draws, tune, chains),
        outputs=Outputs(times=grid, rmst_to=rmst_to, horizon=horizon, discount=discount),
        source=str(ipd),
        inputs={"ipd": ipd},
    )
    with ci_width(ci):
        out = O.summary(result, list(grid) or None)
        cycles = O.cycle_table(result, cycle, n_draws=cycle_draws, seed=seed) if cycle else None
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
    typer.echo(f"wrote {json_out}")
    for note in out.get("notes", []):
        typer.echo(f"note: {note}", err=True)


def _figures(result) -> dict:
    from bayesurv.plots.extrapolation import figures

    return figures(result)


def _read_ipd(path: Path):
    """The IPD file through the shared reader (encodings, delimiters, decimal commas)."""
    from bayesurv.tables import Column, read_table

    df = read_table(path, [Column("time"), Column("event")], what="IPD table")
    return df.reset_index(drop=True)


def _check_two_arms(table, column: str, path: Path) -> None:
    """``--arm-column`` compares arms: a file with one arm there is a mistake, not a fit."""
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
