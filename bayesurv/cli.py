"""The ``bayesurv`` command line.

Each command reads files, calls one Python function that computes on plain tables, and writes
files. Bad input raises :class:`bayesurv.errors.InputError`; :func:`_guard` turns it into one
sentence on standard error and exit code 2, and nothing is written.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Optional

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
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            fail(f"{exc.filename}: {exc.strerror.lower()}; check the path.")

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
    at_risk: Annotated[Optional[Path], typer.Option("--at-risk", help="Numbers-at-risk CSV: time,at_risk[,arm], starting at time 0.")] = None,
    total_events: Annotated[Optional[int], typer.Option("--total-events", help="Reported number of events in this arm; matched exactly.")] = None,
    n: Annotated[Optional[int], typer.Option("--n", help="Number of patients, when there is no numbers-at-risk table.")] = None,
    arm: Annotated[Optional[str], typer.Option("--arm", help="Arm name: selects rows of the NAR table (and the dataset of a multi-curve file) and labels the IPD.")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Curve to use from a file with several (WebPlotDigitizer datasets), when its name differs from --arm.")] = None,
    percent: Annotated[Optional[bool], typer.Option("--percent/--proportion", help="Force the survival scale (default: detected, and reported).")] = None,
    cumulative_incidence: Annotated[bool, typer.Option("--cumulative-incidence", help="The figure shows 1 - S(t) (cumulative incidence).")] = False,
    method: Annotated[str, typer.Option("--method", help="bayesurv (default) or guyot (Guyot et al. 2012, for comparison).")] = "bayesurv",
    draws: Annotated[int, typer.Option("--draws", help="Repeat with random censoring times this many times to show the uncertainty the figure leaves.")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --draws.")] = 1,
    report: Annotated[Optional[Path], typer.Option("--report", help="Accuracy report JSON (default: next to --out, .report.json).")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Draw the reconstructed KM over the clicks with the NAR table (PNG/SVG/PDF).")] = None,
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
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
) -> None:
    """Run the shipped example: reconstruct both arms of GBSG-2 from emulated clicks.

    The clicks are emulated from real trial IPD (GBSG-2, shipped by lifelines) and labelled so
    in the files; the demo reconstructs each arm with its numbers at risk and total events,
    reports accuracy against the clicks, and the Cox hazard ratio of the reconstruction.
    """
    import pandas as pd

    from bayesurv.nonparametric import cox_hazard_ratio

    here = _example_dir()
    if out.exists() and not (out / _DEMO_MARK).exists():
        raise InputError(f"{out} exists and was not made by the demo; choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    (out / _DEMO_MARK).write_text("made by bayesurv demo; it may replace this folder's files\n")
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
        write_reconstruction(rec, out / f"ipd_{arm}.csv", out / f"ipd_{arm}.report.json", arm,
                             command, out / f"reconstruction_{arm}.png")
        _print_report(rec.report, arm, out / f"ipd_{arm}.csv")
        ipd = rec.ipd.copy()
        ipd["arm"] = arm
        ipds.append(ipd)
    both = pd.concat(ipds, ignore_index=True)
    both.to_csv(out / "ipd.csv", index=False, float_format="%.6g")
    first = str(totals["arm"].iloc[0])
    hr = cox_hazard_ratio(both["time"], both["event"], (both["arm"] == first).astype(int))
    typer.echo(
        f"Cox hazard ratio {first} vs {totals['arm'].iloc[1]} from the reconstructed IPD: "
        f"{hr['hr']:.3f} (95% CI {hr['lower']:.3f}-{hr['upper']:.3f})"
    )
    truth = pd.read_csv(here / "truth.csv", comment="#").set_index("quantity")["value"]
    typer.echo(
        f"Cox hazard ratio in the original IPD (known truth): {truth['hr']:.3f} "
        f"(95% CI {truth['lower']:.3f}-{truth['upper']:.3f})"
    )
    typer.echo(f"Results are in {out}/ (ipd.csv, per-arm reports and figures).")


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


def main() -> None:  # pragma: no cover - console entry point
    app()
    sys.exit(0)
