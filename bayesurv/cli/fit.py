"""``bayesurv fit``: a Bayesian survival model fitted to IPD."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import app, guard, parse_numbers, refuse_overwrite
from bayesurv.errors import InputError


@app.command("fit")
@guard
def fit_command(
    ipd: Annotated[Path, typer.Argument(help="IPD CSV: columns time,event (and an arm column).")],
    family: Annotated[
        str,
        typer.Option(
            help="exponential, weibull, gompertz, lognormal, "
            "loglogistic, gengamma; or a flexible hazard: mspline, "
            "rp (Royston-Parmar), pwexp (piecewise exponential)."
        ),
    ] = ...,
    json_out: Annotated[Path, typer.Option("--json", help="Summary JSON to write.")] = ...,
    times: Annotated[str | None, typer.Option(help="Landmark times, e.g. 12,24,60.")] = None,
    rmst_to: Annotated[float | None, typer.Option(help="RMST horizon (default: last time)")] = None,
    arm_column: Annotated[str | None, typer.Option(help="Column naming two arms.")] = None,
    effect: Annotated[
        str | None,
        typer.Option(help="ph, aft or separate (two arms); with --cure: hazard, cure or both."),
    ] = None,
    cure: Annotated[str | None, typer.Option(help="Cure model: mixture or non-mixture.")] = None,
    cure_covariates: Annotated[
        str | None,
        typer.Option(help="Numeric columns acting on the cure fraction (logit), e.g. age,mrd."),
    ] = None,
    life_table: Annotated[
        str | None,
        typer.Option(
            help="General-population mortality: 'us' (US 2014, shipped) or a life-table CSV "
            "(age,sex,hazard or qx[,year])."
        ),
    ] = None,
    age: Annotated[
        float | None, typer.Option(help="Age at entry (years) of every patient.")
    ] = None,
    age_column: Annotated[str | None, typer.Option(help="Column with each patient's age.")] = None,
    sex: Annotated[
        str | None, typer.Option(help="male, female, or the share of men (0.5).")
    ] = None,
    sex_column: Annotated[str | None, typer.Option(help="Column with each patient's sex.")] = None,
    year: Annotated[int | None, typer.Option(help="Calendar year of the life table.")] = None,
    time_unit: Annotated[
        str | None, typer.Option(help="Unit of the time column: days, weeks, months or years.")
    ] = None,
    smr: Annotated[
        float, typer.Option(help="Excess-mortality ratio on the life table (>= 1).")
    ] = 1.0,
    waning: Annotated[
        str | None,
        typer.Option(
            help="Treatment-effect waning: abrupt:T1, linear_loghr:T1:T2 or "
            "linear_hazard:T1:T2 (times in the data's unit)."
        ),
    ] = None,
    external_landmarks: Annotated[
        Path | None,
        typer.Option(
            help="CSV of long-term survival (time,survival,lower,upper[,arm]) as likelihood."
        ),
    ] = None,
    external_registry: Annotated[
        Path | None,
        typer.Option(
            help="CSV of registry counts (start,stop,n_at_risk,events[,arm]) as likelihood."
        ),
    ] = None,
    df: Annotated[
        int | None, typer.Option(help="Flexible hazards: number of basis functions (or intervals).")
    ] = None,
    extra_knots: Annotated[
        str | None, typer.Option(help="Flexible hazards: knots beyond follow-up, e.g. 120,240.")
    ] = None,
    horizon_years: Annotated[
        float | None,
        typer.Option(help="Extrapolation horizon in years (default: lifetime with a life table)."),
    ] = None,
    discount: Annotated[float, typer.Option(help="Annual discount rate of life-years.")] = 0.035,
    cycle: Annotated[
        str | None,
        typer.Option(
            help="Export S(t) draws per model cycle: weekly, monthly or yearly (with --cycle-csv)."
        ),
    ] = None,
    cycle_csv: Annotated[Path | None, typer.Option(help="CSV of S(t) draws per cycle.")] = None,
    cycle_draws: Annotated[
        int, typer.Option(min=1, help="Posterior draws exported per cycle.")
    ] = 200,
    plots: Annotated[
        Path | None,
        typer.Option(help="Folder for the extrapolation, hazard and cure-fraction figures (PNG)."),
    ] = None,
    draws: Annotated[int, typer.Option(min=50, help="Posterior draws per chain.")] = 1000,
    tune: Annotated[int, typer.Option(min=50, help="Warm-up draws per chain.")] = 1000,
    chains: Annotated[int, typer.Option(min=1, help="Chains.")] = 4,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    netcdf: Annotated[Path | None, typer.Option(help="Also save the full result (NetCDF).")] = None,
    force: Annotated[bool, typer.Option(help="Replace existing output files.")] = False,
) -> None:
    """Fit a survival model to IPD; write survival, RMST, median, mean (and HR) as JSON.

    With --cure, --life-table, --waning, external evidence, a flexible hazard or a horizon, the
    long-term model runs instead (bayesurv.survival.longterm) and the JSON gives cure fractions,
    landmark survival to 20 years against the KM, mean survival and life-years gained.
    """
    import json as _json

    import numpy as np
    import pandas as pd

    from bayesurv.survival.families import FAMILIES, get_family
    from bayesurv.survival.ipdfit import fit, save, summarize

    refuse_overwrite(json_out, force)
    for extra in (netcdf, cycle_csv):
        if extra is not None:
            refuse_overwrite(extra, force)
    try:
        table = pd.read_csv(ipd)
    except pd.errors.EmptyDataError:
        raise InputError(f"{ipd} is empty; give a CSV with columns time,event.") from None
    longterm = family not in FAMILIES or any(
        v is not None
        for v in (
            cure,
            life_table,
            waning,
            external_landmarks,
            external_registry,
            horizon_years,
            cycle,
            cycle_csv,
            plots,
            cure_covariates,
        )
    )
    if longterm:
        _fit_longterm_cli(
            table,
            ipd,
            family,
            json_out=json_out,
            arm_column=arm_column,
            effect=effect,
            cure=cure or "none",
            cure_covariates=cure_covariates,
            life_table=life_table,
            age=age,
            age_column=age_column,
            sex=sex,
            sex_column=sex_column,
            year=year,
            time_unit=time_unit,
            smr=smr,
            waning=waning,
            external_landmarks=external_landmarks,
            external_registry=external_registry,
            df=df,
            extra_knots=extra_knots,
            horizon_years=horizon_years,
            discount=discount,
            cycle=cycle,
            cycle_csv=cycle_csv,
            cycle_draws=cycle_draws,
            plots=plots,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            netcdf=netcdf,
            force=force,
            times=parse_numbers(times, "--times") if times else None,
            rmst_to=rmst_to,
        )
        return
    get_family(family)
    grid = None
    if times:
        try:
            grid = [float(x) for x in times.split(",") if x.strip()]
        except ValueError:
            raise InputError(f"--times {times!r} must be numbers separated by commas.") from None
        if not grid or min(grid) < 0:
            raise InputError(f"--times {times!r} must be non-negative numbers, e.g. 12,24,60.")
    result = fit(
        table,
        family,
        seed=seed,
        arm_column=arm_column,
        effect=effect,
        times=grid,
        rmst_to=rmst_to,
        draws=draws,
        tune=tune,
        chains=chains,
        source=str(ipd),
        inputs={"ipd": ipd},
    )

    def rows(name):
        df = summarize(result, name)
        return [
            {k: (v if isinstance(v, str) else float(v)) for k, v in r.items()}
            for r in df.to_dict("records")
        ]

    q = result["derived"]
    two = "hazard_ratio" in q
    out = {
        "family": result.attrs["family"],
        "effect": result.attrs["effect"],
        "arms": _json.loads(result.attrs["arms"]),
        "survival": rows("survival")
        if two
        else [{k: v for k, v in r.items() if k != "arm"} for r in rows("survival")],
        "rmst": {
            "to": float(q.attrs["rmst_to"]),
            **{k: v for k, v in rows("rmst")[0].items() if k != "arm"},
        },
        "median": rows("median"),
        "mean": rows("mean"),
        "diagnostics": _json.loads(result.attrs["diagnostics"]),
        "provenance": _json.loads(result.attrs["provenance"]),
    }
    if two:
        out["rmst"] = {
            "to": float(q.attrs["rmst_to"]),
            "arms": rows("rmst"),
            "difference": rows("rmst_diff")[0],
        }
        out["hazard_ratio"] = rows("hazard_ratio")
        for key in ("hr", "time_ratio"):  # one ratio under PH / AFT
            if key in q:
                out[key] = rows(key)[0]
    if "mean_note" in q.attrs:
        out["mean_note"] = q.attrs["mean_note"]

    def _finite(v):  # JSON has no inf/nan: an infinite median/mean is written "inf"
        if isinstance(v, float) and not np.isfinite(v):
            return "inf" if v > 0 else ("-inf" if v < 0 else None)
        if isinstance(v, dict):
            return {k: _finite(x) for k, x in v.items()}
        if isinstance(v, list):
            return [_finite(x) for x in v]
        return v

    json_out.write_text(_json.dumps(_finite(out), indent=2, allow_nan=False))
    if netcdf is not None:
        save(result, netcdf)
    typer.echo(f"wrote {json_out}")


def _parse_waning(text: str) -> dict:
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


def _fit_longterm_cli(
    table,
    ipd_path,
    family,
    *,
    json_out,
    cure_covariates,
    life_table,
    waning,
    external_landmarks,
    external_registry,
    extra_knots,
    horizon_years,
    cycle,
    cycle_csv,
    cycle_draws,
    plots,
    netcdf,
    time_unit,
    **kw,
):
    """``bayesurv fit`` with the long-term model: JSON summary, cycle CSV, figures, NetCDF."""
    import json as _json
    import warnings

    from bayesurv.lifetable import read_life_table, us_life_table
    from bayesurv.survival.external import read_landmarks, read_registry
    from bayesurv.survival.extrapolation import cycle_csv_table, longterm_summary
    from bayesurv.survival.ipdfit import save
    from bayesurv.survival.longterm import IdentifiabilityWarning, fit_longterm

    if cycle_csv is not None and cycle is None:
        raise InputError("--cycle-csv needs --cycle weekly, monthly or yearly.")
    if plots is not None:
        refuse_overwrite(plots, kw["force"])
    lt = None
    if life_table is not None:
        lt = (
            us_life_table(kw["year"] or 2014)
            if life_table.lower() == "us"
            else read_life_table(life_table)
        )
    horizon = None
    if horizon_years is not None:
        from bayesurv.survival.cohort import units_per_year

        if time_unit is None:
            raise InputError(
                "--horizon-years needs --time-unit to convert years to the data's unit."
            )
        horizon = horizon_years * units_per_year(time_unit)[0]
    with warnings.catch_warnings():  # the notes are printed below, once, in plain words
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        result = fit_longterm(
            table,
            family,
            seed=kw["seed"],
            cure=kw["cure"],
            arm_column=kw["arm_column"],
            effect=kw["effect"],
            cure_covariates=[c.strip() for c in cure_covariates.split(",")]
            if cure_covariates
            else (),
            life_table=lt,
            age=kw["age"],
            age_column=kw["age_column"],
            sex=kw["sex"],
            sex_column=kw["sex_column"],
            year=kw["year"],
            time_unit=time_unit,
            smr=kw["smr"],
            waning=_parse_waning(waning) if waning else None,
            external_landmarks=read_landmarks(external_landmarks) if external_landmarks else None,
            external_registry=read_registry(external_registry) if external_registry else None,
            df=kw["df"],
            extra_knots=parse_numbers(extra_knots, "--extra-knots") if extra_knots else None,
            horizon=horizon,
            times=kw["times"],
            rmst_to=kw["rmst_to"],
            discount=kw["discount"],
            cycle=cycle,
            cycle_draws=cycle_draws,
            draws=kw["draws"],
            tune=kw["tune"],
            chains=kw["chains"],
            source=str(ipd_path),
            inputs={"ipd": ipd_path},
        )
    out = longterm_summary(result)
    json_out.write_text(_json.dumps(out, indent=2, allow_nan=False, default=str))
    typer.echo(f"wrote {json_out}")
    for note in out["identifiability"]:
        typer.echo(f"note: {note}", err=True)
    if cycle_csv is not None:
        cycle_csv_table(result).to_csv(cycle_csv, index=False, float_format="%.6g")
        typer.echo(f"wrote {cycle_csv}")
    if plots is not None:
        from bayesurv.plots.extrapolation import save_longterm_figures

        for path in save_longterm_figures(result, plots):
            typer.echo(f"wrote {path}")
    if netcdf is not None:
        save(result, netcdf)
        typer.echo(f"wrote {netcdf}")
