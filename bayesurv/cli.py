"""The ``bayesurv`` command line.

Each command reads files, calls one Python function that computes on plain tables, and writes
files. Bad input raises :class:`bayesurv.errors.InputError`; :func:`_guard` turns it into one
sentence on standard error and exit code 2, and nothing is written.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer

from bayesurv import __version__
from bayesurv.errors import InputError

app = typer.Typer(
    name="bayesurv",
    help=(
        "Bayesian evidence synthesis of time-to-event trials.\n\n"
        "Reconstruct individual patient data from published Kaplan-Meier curves and numbers at "
        "risk, fit Bayesian parametric survival models, pool hazard ratios hierarchically, and "
        "answer posterior probability questions. Intervals are 95% equal-tailed; every command "
        "that draws random numbers takes --seed."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"bayesurv {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Bayesian evidence synthesis of time-to-event trials."""


def fail(message: str) -> None:
    """Print one sentence to standard error and exit with code 2."""
    typer.echo(f"bayesurv: {message}", err=True)
    raise typer.Exit(code=2)


def _guard(func):
    """Turn InputError (and unreadable files) into one sentence and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            fail(str(exc))
        except (
            FileNotFoundError,
            IsADirectoryError,
            NotADirectoryError,
            FileExistsError,
            PermissionError,
        ) as exc:
            fail(f"{exc.filename}: {(exc.strerror or 'cannot use this path').lower()}; check the path.")

    return wrapper


def refuse_overwrite(path: Path, force: bool = False) -> None:
    """Refuse to overwrite a file or folder the user already has, unless ``force``."""
    if path.exists() and not force:
        raise InputError(
            f"{path} already exists; choose another output path or pass --force to replace it."
        )


# --------------------------------------------------------------------------------------------
# reconstruct
# --------------------------------------------------------------------------------------------
def _print_report(report: dict, arm: str | None, out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(stderr=False)
    acc = report["km_vs_clicks"]
    tab = Table(title=f"Reconstruction of {arm or 'the curve'} ({report['method']})", show_header=True)
    tab.add_column("")
    tab.add_column("reported / clicks", justify="right")
    tab.add_column("reconstructed", justify="right")

    def fmt(x, spec=".2f"):
        return "-" if x is None else format(x, spec)

    tab.add_row("patients", str(report["n"]["reported"]), str(report["n"]["reconstructed"]))
    tab.add_row("events", fmt(report["events"]["reported"], "d"), str(report["events"]["reconstructed"]))
    tab.add_row("median", fmt(report["median"]["clicks"]), fmt(report["median"]["reconstructed"]))
    tab.add_row(
        f"RMST to {report['rmst']['to']:g}",
        fmt(report["rmst"]["clicks"]),
        fmt(report["rmst"]["reconstructed"]),
    )
    for r in report["at_risk"]:
        tab.add_row(f"at risk at {r['time']:g}", str(r["reported"]), str(r["reconstructed"]))
    con.print(tab)
    con.print(
        f"KM of the reconstruction vs cleaned clicks: max |difference| {acc['max_abs_diff']:.4f}, "
        f"mean {acc['mean_abs_diff']:.4f}"
    )
    if "uncertainty" in report:
        u = report["uncertainty"]
        con.print(
            f"Over {u['draws']} random censoring placements: median {fmt(u['median'][0])}-"
            f"{fmt(u['median'][1])}, RMST {fmt(u['rmst'][0])}-{fmt(u['rmst'][1])} (95% range)"
        )
    for line in report["cleaning"]["log"]:
        con.print(f"  cleaning: {line}")
    for w in report["warnings"]:
        con.print(f"  [bold yellow]warning[/]: {w}")
    con.print(f"  trust: {report['trust']}")
    if out is not None:
        con.print(f"IPD written to {out}")


def run_reconstruction(
    curve_path: Path,
    *,
    at_risk: Path | None,
    total_events: int | None,
    n: int | None,
    arm: str | None,
    dataset: str | None,
    percent: bool | None,
    cumulative_incidence: bool,
    method: str,
    draws: int,
    seed: int,
):
    """Read, validate and reconstruct one arm; nothing is written here."""
    from bayesurv.evidence.curves import clean_curve, read_at_risk, read_curves, select_curve
    from bayesurv.reconstruct import reconstruct

    curves = read_curves(curve_path)
    raw = select_curve(curves, str(curve_path), dataset or arm)
    cleaned = clean_curve(
        raw, source=str(curve_path), percent=percent, cumulative_incidence=cumulative_incidence
    )
    nar = read_at_risk(at_risk, arm=arm) if at_risk is not None else None
    return reconstruct(
        cleaned,
        nar,
        total_events=total_events,
        n=n,
        method=method,
        draws=draws,
        seed=seed,
        source=str(curve_path),
        at_risk_source=str(at_risk) if at_risk else "numbers at risk",
    )


def write_reconstruction(rec, out: Path, report_path: Path, arm: str | None, command: dict, plot: Path | None):
    import json

    from bayesurv.provenance import provenance

    ipd = rec.ipd.copy()
    if arm is not None:
        ipd["arm"] = arm
    out.parent.mkdir(parents=True, exist_ok=True)
    ipd.to_csv(out, index=False, float_format="%.6g")
    report = dict(rec.report)
    report["arm"] = arm
    report["provenance"] = provenance(seed=command.get("seed"), inputs=command.pop("inputs"), command=command)
    report_path.write_text(json.dumps(report, indent=2, default=float) + "\n")
    if plot is not None:
        from bayesurv.plots.reconstruction import plot_reconstruction

        fig = plot_reconstruction(rec)
        fig.savefig(plot, dpi=120)
        import matplotlib.pyplot as plt

        plt.close(fig)


@app.command()
@_guard
def reconstruct(
    curve: Annotated[Path, typer.Argument(help="Digitized curve: CSV time,survival; WebPlotDigitizer CSV (x,y) or JSON project.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the IPD CSV (time,event[,arm]).")],
    at_risk: Annotated[Path | None, typer.Option("--at-risk", help="Numbers-at-risk CSV: time,at_risk[,arm], starting at time 0.")] = None,
    total_events: Annotated[int | None, typer.Option("--total-events", help="Reported number of events in this arm; matched exactly.")] = None,
    n: Annotated[int | None, typer.Option("--n", help="Number of patients, when there is no numbers-at-risk table.")] = None,
    arm: Annotated[str | None, typer.Option("--arm", help="Arm name: selects rows of the NAR table (and the dataset of a multi-curve file) and labels the IPD.")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Curve to use from a file with several (WebPlotDigitizer datasets), when its name differs from --arm.")] = None,
    percent: Annotated[bool | None, typer.Option("--percent/--proportion", help="Force the survival scale (default: detected, and reported).")] = None,
    cumulative_incidence: Annotated[bool, typer.Option("--cumulative-incidence", help="The figure shows 1 - S(t) (cumulative incidence).")] = False,
    method: Annotated[str, typer.Option("--method", help="bayesurv (default) or guyot (Guyot et al. 2012, for comparison).")] = "bayesurv",
    draws: Annotated[int, typer.Option("--draws", help="Repeat with random censoring times this many times to show the uncertainty the figure leaves.")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --draws.")] = 1,
    report: Annotated[Path | None, typer.Option("--report", help="Accuracy report JSON (default: next to --out, .report.json).")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Draw the reconstructed KM over the clicks with the NAR table (PNG/SVG/PDF).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace output files that already exist.")] = False,
) -> None:
    """Reconstruct individual patient data from a digitized Kaplan-Meier curve (one arm per call).

    Cleans the clicks (order along the curve, isotonic regression, anchor at (0, 1)), matches
    the numbers at risk exactly where the curve allows it (and says where it does not), matches
    --total-events exactly, and writes time,event rows with an accuracy report: KM of the
    reconstruction against the cleaned clicks, patients, events, median and RMST.
    """
    report_path = report or out.with_suffix(".report.json")
    for p in (out, report_path, plot):
        if p is not None:
            refuse_overwrite(p, force)
    if out.suffix.lower() != ".csv":
        raise InputError(f"--out {out} should be a .csv file.")
    rec = run_reconstruction(
        curve, at_risk=at_risk, total_events=total_events, n=n, arm=arm, dataset=dataset,
        percent=percent, cumulative_incidence=cumulative_incidence, method=method,
        draws=draws, seed=seed,
    )
    inputs = {"curve": curve}
    if at_risk is not None:
        inputs["at_risk"] = at_risk
    command = {"command": "reconstruct", "total_events": total_events, "n": n, "arm": arm,
               "method": method, "draws": draws, "seed": seed, "inputs": inputs}
    write_reconstruction(rec, out, report_path, arm, command, plot)
    _print_report(rec.report, arm, out)


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------
_DEMO_MARK = ".bayesurv-demo"


@app.command()
@_guard
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's results.")] = Path("results/demo"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the reconstruction draws.")] = 1,
    draws: Annotated[int | None, typer.Option("--draws", help="Posterior draws per chain for the case study (default: the spec's).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
) -> None:
    """Run the shipped case study and the reconstruction example.

    1. The case study (models/case_study.toml): blinatumomab consolidation in high-risk
       first-relapse paediatric B-ALL (study 20120215, final 5-year analysis): long-term EFS and
       OS from the reported summaries with cure and general-population mortality; hazard ratios
       pooled with COG AALL1331 and AALL1731 (adult trials as a sensitivity analysis);
       subgroups; the committee's questions. Report: OUT/case_study/report.html.
    2. Reconstruction of IPD from emulated clicks of a real trial's KM curves (GBSG-2, whose IPD
       lifelines ships; labelled so in the files), with the known truth to compare.
    """
    import warnings

    import pandas as pd

    from bayesurv.nonparametric import cox_hazard_ratio
    from bayesurv.runner import MARK, run

    here = _example_dir()
    if out.exists() and not (out / _DEMO_MARK).exists():
        raise InputError(f"{out} exists and was not made by the demo; choose another --out.")
    spec = here.parent.parent.parent / "models" / "case_study.toml"
    rec_dir = out / "reconstruction"
    rec_dir.mkdir(parents=True, exist_ok=True)
    (out / _DEMO_MARK).write_text("made by bayesurv demo; it may replace this folder's files\n")
    # 1. the case study
    case_dir = out / "case_study"
    if case_dir.exists() and not (case_dir / MARK).exists():
        raise InputError(f"{case_dir} exists and was not made by bayesurv; choose another --out.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = run(spec, case_dir, force=True, quiet=quiet, draws=draws)
    typer.echo("Case study: the committee's questions")
    for q in summary["queries"]:
        typer.echo(f"  {q['statement']:<55s} {q['probability']:.3f} (MC error {q['mcse']:.3f})")
    # 2. the reconstruction example
    totals = pd.read_csv(here / "events.csv", comment="#")
    ipds = []
    for _, row in totals.iterrows():
        arm = str(row["arm"])
        curve = here / f"clicks_{arm}.csv"
        rec = run_reconstruction(
            curve, at_risk=here / "at_risk.csv", total_events=int(row["total_events"]), n=None,
            arm=arm, dataset=None, percent=None, cumulative_incidence=False, method="bayesurv",
            draws=20, seed=seed,
        )
        command = {"command": "demo", "arm": arm, "seed": seed,
                   "inputs": {"curve": curve, "at_risk": here / "at_risk.csv"}}
        write_reconstruction(rec, rec_dir / f"ipd_{arm}.csv", rec_dir / f"ipd_{arm}.report.json", arm,
                             command, rec_dir / f"reconstruction_{arm}.png")
        if not quiet:
            _print_report(rec.report, arm, rec_dir / f"ipd_{arm}.csv")
        ipd = rec.ipd.copy()
        ipd["arm"] = arm
        ipds.append(ipd)
    both = pd.concat(ipds, ignore_index=True)
    both.to_csv(rec_dir / "ipd.csv", index=False, float_format="%.6g")
    first = str(totals["arm"].iloc[0])
    hr = cox_hazard_ratio(both["time"], both["event"], (both["arm"] == first).astype(int))
    truth = pd.read_csv(here / "truth.csv", comment="#").set_index("quantity")["value"]
    typer.echo(
        f"Reconstruction example (GBSG-2, emulated clicks): Cox hazard ratio {first} vs "
        f"{totals['arm'].iloc[1]} {hr['hr']:.3f} (95% CI {hr['lower']:.3f}-{hr['upper']:.3f}); "
        f"in the original IPD (known truth) {truth['hr']:.3f} "
        f"({truth['lower']:.3f}-{truth['upper']:.3f})"
    )
    typer.echo(f"Reconstruction results: {rec_dir}/")
    typer.echo(f"Report: {case_dir / 'report.html'}")


def _example_dir() -> Path:
    here = Path(__file__).resolve().parent.parent / "data" / "examples" / "gbsg2"
    if not here.exists():
        raise InputError(
            f"the shipped example is missing ({here}); run the demo from a bayesurv source checkout."
        )
    return here


# --------------------------------------------------------------------------------------------
# query
# --------------------------------------------------------------------------------------------
@app.command()
@_guard
def query(
    result: Annotated[Path, typer.Argument(help="A saved bayesurv result (NetCDF DataTree).")],
    statements: Annotated[list[str], typer.Argument(help='Statements such as "P(hr < 0.8)" or "P(surv_diff(60) > 0.10)".')],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Posterior probabilities of statements about a saved result.

    The grammar: named quantities (an unknown name lists those that exist), numbers,
    + - * / ^, exp/log/abs/min/max, comparisons (chains allowed: 0.5 < hr < 0.8), and, or,
    not, parentheses; a quantity over time is read at a time with name(t), one over studies or
    arms with name("label"). Each line gives the probability and its Monte Carlo error.
    """
    import json

    import xarray as xr

    from bayesurv.query import probability, quantities_from_tree

    if not result.exists():
        raise InputError(f"{result}: no such file; give a result saved by bayesurv (.nc).")
    try:
        tree = xr.open_datatree(result)
    except (OSError, ValueError) as exc:
        raise InputError(f"{result} is not a NetCDF result bayesurv can read ({type(exc).__name__}).") from None
    quantities = quantities_from_tree(tree)
    rows = [probability(s, quantities) for s in statements]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    tab = Table(title=f"Posterior probabilities ({rows[0]['draws']} draws)")
    tab.add_column("statement")
    tab.add_column("probability", justify="right")
    tab.add_column("MC error", justify="right")
    for r in rows:
        tab.add_row(r["statement"], f"{r['probability']:.3f}", f"{r['mcse']:.3f}")
    Console().print(tab)


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------
@app.command("run")
@_guard
def run_command(
    spec: Annotated[Path, typer.Argument(help="Analysis specification (TOML), e.g. models/case_study.toml.")],
    out: Annotated[Path | None, typer.Option("--out", help="Results folder (default results/<spec name>).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a results folder that bayesurv wrote before.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display (for scripts).")] = False,
    draws: Annotated[int | None, typer.Option("--draws", help="Override the spec's draws (and tuning steps), e.g. for a quick look.")] = None,
) -> None:
    """Run an analysis specification end to end: fits, pools, queries, figures, summary.json and
    a self-contained report.html. The same spec and seed give the same numbers."""
    import warnings

    from bayesurv.runner import run

    target = out if out is not None else Path("results") / spec.stem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = run(spec, target, force=force, quiet=quiet, draws=draws)
    if not quiet:
        for q in summary["queries"]:
            typer.echo(f"{q['statement']:<55s} {q['probability']:.3f} (MC error {q['mcse']:.3f})")
    typer.echo(f"Report: {target / 'report.html'}")


def main() -> None:  # pragma: no cover - console entry point
    app()
    sys.exit(0)


@app.command("fit")
@_guard
def fit_command(
    ipd: Annotated[Path, typer.Argument(help="IPD CSV: columns time,event (and an arm column).")],
    family: Annotated[str, typer.Option(help="exponential, weibull, gompertz, lognormal, "
                                        "loglogistic, gengamma; or a flexible hazard: mspline, "
                                        "rp (Royston-Parmar), pwexp (piecewise exponential).")] = ...,
    json_out: Annotated[Path, typer.Option("--json", help="Summary JSON to write.")] = ...,
    times: Annotated[str | None, typer.Option(help="Landmark times, e.g. 12,24,60.")] = None,
    rmst_to: Annotated[float | None, typer.Option(help="RMST horizon (default: last time)")] = None,
    arm_column: Annotated[str | None, typer.Option(help="Column naming two arms.")] = None,
    effect: Annotated[str | None, typer.Option(help="ph, aft or separate (two arms); with "
                                               "--cure: hazard, cure or both.")] = None,
    cure: Annotated[str | None, typer.Option(help="Cure model: mixture or non-mixture.")] = None,
    cure_covariates: Annotated[str | None, typer.Option(
        help="Numeric columns acting on the cure fraction (logit), e.g. age,mrd.")] = None,
    life_table: Annotated[str | None, typer.Option(
        help="General-population mortality: 'us' (US 2014, shipped) or a life-table CSV "
             "(age,sex,hazard or qx[,year]).")] = None,
    age: Annotated[float | None, typer.Option(help="Age at entry (years) of every patient.")] = None,
    age_column: Annotated[str | None, typer.Option(help="Column with each patient's age.")] = None,
    sex: Annotated[str | None, typer.Option(help="male, female, or the share of men (0.5).")] = None,
    sex_column: Annotated[str | None, typer.Option(help="Column with each patient's sex.")] = None,
    year: Annotated[int | None, typer.Option(help="Calendar year of the life table.")] = None,
    time_unit: Annotated[str | None, typer.Option(
        help="Unit of the time column: days, weeks, months or years.")] = None,
    smr: Annotated[float, typer.Option(help="Excess-mortality ratio on the life table (>= 1).")] = 1.0,
    waning: Annotated[str | None, typer.Option(
        help="Treatment-effect waning: abrupt:T1, linear_loghr:T1:T2 or "
             "linear_hazard:T1:T2 (times in the data's unit).")] = None,
    external_landmarks: Annotated[Path | None, typer.Option(
        help="CSV of long-term survival (time,survival,lower,upper[,arm]) as likelihood.")] = None,
    external_registry: Annotated[Path | None, typer.Option(
        help="CSV of registry counts (start,stop,n_at_risk,events[,arm]) as likelihood.")] = None,
    df: Annotated[int | None, typer.Option(help="Flexible hazards: number of basis functions "
                                           "(or intervals).")] = None,
    extra_knots: Annotated[str | None, typer.Option(
        help="Flexible hazards: knots beyond follow-up, e.g. 120,240.")] = None,
    horizon_years: Annotated[float | None, typer.Option(
        help="Extrapolation horizon in years (default: lifetime with a life table).")] = None,
    discount: Annotated[float, typer.Option(help="Annual discount rate of life-years.")] = 0.035,
    cycle: Annotated[str | None, typer.Option(help="Export S(t) draws per model cycle: weekly, "
                                              "monthly or yearly (with --cycle-csv).")] = None,
    cycle_csv: Annotated[Path | None, typer.Option(help="CSV of S(t) draws per cycle.")] = None,
    cycle_draws: Annotated[int, typer.Option(min=1, help="Posterior draws exported per cycle.")] = 200,
    plots: Annotated[Path | None, typer.Option(help="Folder for the extrapolation, hazard and "
                                               "cure-fraction figures (PNG).")] = None,
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
    from bayesurv.survival.fit import fit, save, summarize

    refuse_overwrite(json_out, force)
    for extra in (netcdf, cycle_csv):
        if extra is not None:
            refuse_overwrite(extra, force)
    try:
        table = pd.read_csv(ipd)
    except pd.errors.EmptyDataError:
        raise InputError(f"{ipd} is empty; give a CSV with columns time,event.") from None
    longterm = (family not in FAMILIES or any(
        v is not None for v in (cure, life_table, waning, external_landmarks, external_registry,
                                horizon_years, cycle, cycle_csv, plots, cure_covariates)))
    if longterm:
        _fit_longterm_cli(
            table, ipd, family, json_out=json_out, arm_column=arm_column, effect=effect,
            cure=cure or "none", cure_covariates=cure_covariates, life_table=life_table, age=age,
            age_column=age_column, sex=sex, sex_column=sex_column, year=year,
            time_unit=time_unit, smr=smr, waning=waning, external_landmarks=external_landmarks,
            external_registry=external_registry, df=df, extra_knots=extra_knots,
            horizon_years=horizon_years, discount=discount, cycle=cycle, cycle_csv=cycle_csv,
            cycle_draws=cycle_draws, plots=plots, draws=draws, tune=tune, chains=chains,
            seed=seed, netcdf=netcdf, force=force, times=_numbers(times, "--times") if times else
            None, rmst_to=rmst_to)
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
    result = fit(table, family, seed=seed, arm_column=arm_column, effect=effect, times=grid,
                 rmst_to=rmst_to, draws=draws, tune=tune, chains=chains, source=str(ipd),
                 inputs={"ipd": ipd})

    def rows(name):
        df = summarize(result, name)
        return [{k: (v if isinstance(v, str) else float(v)) for k, v in r.items()}
                for r in df.to_dict("records")]

    q = result["derived"]
    two = "hazard_ratio" in q
    out = {
        "family": result.attrs["family"],
        "effect": result.attrs["effect"],
        "arms": _json.loads(result.attrs["arms"]),
        "survival": rows("survival") if two else [
            {k: v for k, v in r.items() if k != "arm"} for r in rows("survival")],
        "rmst": {"to": float(q.attrs["rmst_to"]),
                 **{k: v for k, v in rows("rmst")[0].items() if k != "arm"}},
        "median": rows("median"),
        "mean": rows("mean"),
        "diagnostics": _json.loads(result.attrs["diagnostics"]),
        "provenance": _json.loads(result.attrs["provenance"]),
    }
    if two:
        out["rmst"] = {"to": float(q.attrs["rmst_to"]), "arms": rows("rmst"),
                       "difference": rows("rmst_diff")[0]}
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


def _numbers(text: str, option: str) -> list[float]:
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{option} {text!r} must be numbers separated by commas.") from None
    if not out:
        raise InputError(f"{option} {text!r} must list at least one number.")
    return out


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


def _fit_longterm_cli(table, ipd_path, family, *, json_out, cure_covariates, life_table,
                      waning, external_landmarks, external_registry, extra_knots, horizon_years,
                      cycle, cycle_csv, cycle_draws, plots, netcdf, time_unit, **kw):
    """``bayesurv fit`` with the long-term model: JSON summary, cycle CSV, figures, NetCDF."""
    import json as _json
    import warnings

    from bayesurv.lifetable import read_life_table, us_life_table
    from bayesurv.survival.external import read_landmarks, read_registry
    from bayesurv.survival.extrapolation import cycle_csv_table, longterm_summary
    from bayesurv.survival.fit import save
    from bayesurv.survival.longterm import IdentifiabilityWarning, fit_longterm

    if cycle_csv is not None and cycle is None:
        raise InputError("--cycle-csv needs --cycle weekly, monthly or yearly.")
    if plots is not None:
        refuse_overwrite(plots, kw["force"])
    lt = None
    if life_table is not None:
        lt = us_life_table(kw["year"] or 2014) if life_table.lower() == "us" else read_life_table(
            life_table)
    horizon = None
    if horizon_years is not None:
        from bayesurv.survival.cohort import units_per_year

        if time_unit is None:
            raise InputError("--horizon-years needs --time-unit to convert years to the data's unit.")
        horizon = horizon_years * units_per_year(time_unit)[0]
    with warnings.catch_warnings():  # the notes are printed below, once, in plain words
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        result = fit_longterm(
            table, family, seed=kw["seed"], cure=kw["cure"], arm_column=kw["arm_column"],
            effect=kw["effect"],
            cure_covariates=[c.strip() for c in cure_covariates.split(",")] if cure_covariates else (),
            life_table=lt, age=kw["age"], age_column=kw["age_column"], sex=kw["sex"],
            sex_column=kw["sex_column"], year=kw["year"], time_unit=time_unit, smr=kw["smr"],
            waning=_parse_waning(waning) if waning else None,
            external_landmarks=read_landmarks(external_landmarks) if external_landmarks else None,
            external_registry=read_registry(external_registry) if external_registry else None,
            df=kw["df"], extra_knots=_numbers(extra_knots, "--extra-knots") if extra_knots else None,
            horizon=horizon, times=kw["times"], rmst_to=kw["rmst_to"], discount=kw["discount"],
            cycle=cycle, cycle_draws=cycle_draws,
            draws=kw["draws"], tune=kw["tune"], chains=kw["chains"], source=str(ipd_path),
            inputs={"ipd": ipd_path})
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


@app.command("pool")
@_guard
def pool_command(
    effects: Annotated[
        Path, typer.Argument(help="EFFECTS.csv: study + hr,lower,upper (95% CI) or log_hr,se.")
    ],
    json_out: Annotated[Path, typer.Option("--json", help="Write the results here (JSON).")],
    mu_prior: Annotated[
        str, typer.Option("--mu-prior", help='Prior of the pooled log HR: "normal(m, s)" or flat.')
    ] = "normal(0, 4)",
    tau_prior: Annotated[
        str,
        typer.Option(
            "--tau-prior",
            help='Heterogeneity prior: "halfnormal(s)", "halfcauchy(s)", "uniform(a, b)", '
            '"lognormal(m, s)" or "turner(mortality|composite, pharma-pharma|...)".',
        ),
    ] = "halfnormal(0.5)",
    method: Annotated[
        str, typer.Option("--method", help="exact (quadrature) or mcmc (PyMC + nutpie).")
    ] = "exact",
    seed: Annotated[int, typer.Option("--seed", help="Random seed (MCMC).")] = 1,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="Keep rows with COLUMN=VALUE (repeatable)."),
    ] = None,
    ci: Annotated[float, typer.Option("--ci", help="Interval level.")] = 0.95,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
) -> None:
    """Pool reported hazard ratios with a Bayesian normal-normal hierarchical model."""
    import json

    from bayesurv.synthesis.pool import pool_file

    refuse_overwrite(json_out, force)
    doc = pool_file(effects, where=where, mu_prior=mu_prior, tau_prior=tau_prior,
                    method=method, seed=seed, level=ci)
    text = json.dumps(doc, indent=2, default=str)
    json_out.write_text(text + "\n")
    p = doc["pooled"]["hr"]
    typer.echo(
        f"pooled HR {p['median']:.2f} ({p['lower']:.2f} to {p['upper']:.2f}), "
        f"P(HR < 1) = {doc['probabilities']['pooled_hr_lt_1']:.3f}; wrote {json_out}"
    )


@app.command("digitize")
@_guard
def digitize_command(
    figure: Annotated[Path, typer.Argument(help="PNG, JPEG or PDF of a Kaplan-Meier figure.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write (must not exist).")],
    x_range: Annotated[
        str | None, typer.Option("--x-range", help="Time at the frame's left,right: MIN,MAX.")
    ] = None,
    y_range: Annotated[
        str | None,
        typer.Option("--y-range", help="Survival at the frame's bottom,top (0-1 or 0-100)."),
    ] = None,
    arms: Annotated[
        int | None, typer.Option("--arms", help="Number of curves to separate by colour.")
    ] = None,
    colors: Annotated[
        str | None, typer.Option("--colors", help="The arms' line colours, e.g. '#1f77b4,#d62728'.")
    ] = None,
    page: Annotated[int | None, typer.Option("--page", help="Page of a PDF (1-based).")] = None,
    x_calib: Annotated[
        str | None,
        typer.Option("--x-calib", help="Two x points as COLUMN:VALUE,COLUMN:VALUE (pixels)."),
    ] = None,
    y_calib: Annotated[
        str | None, typer.Option("--y-calib", help="Two y points as ROW:VALUE,ROW:VALUE (pixels).")
    ] = None,
    crop: Annotated[
        str | None,
        typer.Option("--crop", help="Keep only this box of the image: LEFT,TOP,RIGHT,BOTTOM (pixels)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Unused: digitizing is deterministic.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace files in --out.")] = False,
) -> None:
    """Read the Kaplan-Meier curves of a figure: one time,survival CSV per arm.

    Writes OUT/arm1.csv, arm2.csv, ... (survival as a proportion, both corners of every drop),
    OUT/censor_marks.csv (arm,time,survival), OUT/overlay.png (what was read, over the figure)
    and OUT/digitize.json (frame, calibration, colours).
    """
    import json

    from bayesurv.digitize import digitize_file
    from bayesurv.digitize.arms import parse_colors
    from bayesurv.digitize.frame import parse_calib, parse_range

    if x_range is None and x_calib is None:
        raise InputError(f"{figure}: the time axis needs --x-range MIN,MAX (or --x-calib).")
    if y_range is None and y_calib is None:
        raise InputError(f"{figure}: the survival axis needs --y-range MIN,MAX (or --y-calib).")
    box = None
    if crop is not None:
        try:
            box = tuple(int(v) for v in crop.split(","))
        except ValueError:
            box = ()
        if len(box) != 4:
            raise InputError(f"--crop {crop!r} is not four pixel numbers; give LEFT,TOP,RIGHT,BOTTOM.")
    result = digitize_file(
        figure,
        parse_range(x_range, "--x-range") if x_range is not None else None,
        parse_range(y_range, "--y-range") if y_range is not None else None,
        page=page,
        crop=box,
        n_arms=arms,
        colors=parse_colors(colors) if colors is not None else None,
        x_calib=parse_calib(x_calib, "--x-calib") if x_calib is not None else None,
        y_calib=parse_calib(y_calib, "--y-calib") if y_calib is not None else None,
    )
    refuse_overwrite(out, force)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the digitized curves.")
    out.mkdir(parents=True, exist_ok=True)
    for name, curve in result.curves.items():
        curve.to_csv(out / f"{name}.csv", index=False, float_format="%.6g")
    result.censor_marks.to_csv(out / "censor_marks.csv", index=False, float_format="%.6g")
    result.overlay.save(out / "overlay.png")
    (out / "digitize.json").write_text(json.dumps(result.report, indent=2) + "\n")
    names = ", ".join(f"{name} ({color})" for name, color in result.colors.items())
    typer.echo(f"digitized {len(result.curves)} arm(s): {names}; wrote {out}")
