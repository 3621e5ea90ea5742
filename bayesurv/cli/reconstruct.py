"""``bayesurv reconstruct``: IPD from a digitized Kaplan-Meier curve, one arm per call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import app, guard, refuse_overwrite
from bayesurv.errors import InputError


def print_report(report: dict, arm: str | None, out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(stderr=False)
    acc = report["km_vs_clicks"]
    tab = Table(
        title=f"Reconstruction of {arm or 'the curve'} ({report['method']})", show_header=True
    )
    tab.add_column("")
    tab.add_column("reported / clicks", justify="right")
    tab.add_column("reconstructed", justify="right")

    def fmt(x, spec=".2f"):
        return "-" if x is None else format(x, spec)

    tab.add_row("patients", str(report["n"]["reported"]), str(report["n"]["reconstructed"]))
    tab.add_row(
        "events", fmt(report["events"]["reported"], "d"), str(report["events"]["reconstructed"])
    )
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


def write_reconstruction(
    rec, out: Path, report_path: Path, arm: str | None, command: dict, plot: Path | None
):
    import json

    from bayesurv.provenance import provenance

    ipd = rec.ipd.copy()
    if arm is not None:
        ipd["arm"] = arm
    out.parent.mkdir(parents=True, exist_ok=True)
    ipd.to_csv(out, index=False, float_format="%.6g")
    report = dict(rec.report)
    report["arm"] = arm
    report["provenance"] = provenance(
        seed=command.get("seed"), inputs=command.pop("inputs"), command=command
    )
    report_path.write_text(json.dumps(report, indent=2, default=float) + "\n")
    if plot is not None:
        from bayesurv.plots.reconstruction import plot_reconstruction

        fig = plot_reconstruction(rec)
        fig.savefig(plot, dpi=120)
        import matplotlib.pyplot as plt

        plt.close(fig)


@app.command()
@guard
def reconstruct(
    curve: Annotated[
        Path,
        typer.Argument(
            help="Digitized curve: CSV time,survival; WebPlotDigitizer CSV (x,y) or JSON project."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the IPD CSV (time,event[,arm]).")
    ],
    at_risk: Annotated[
        Path | None,
        typer.Option(
            "--at-risk", help="Numbers-at-risk CSV: time,at_risk[,arm], starting at time 0."
        ),
    ] = None,
    total_events: Annotated[
        int | None,
        typer.Option(
            "--total-events", help="Reported number of events in this arm; matched exactly."
        ),
    ] = None,
    n: Annotated[
        int | None,
        typer.Option("--n", help="Number of patients, when there is no numbers-at-risk table."),
    ] = None,
    arm: Annotated[
        str | None,
        typer.Option(
            "--arm",
            help="Arm name: selects rows of the NAR table (and the dataset of a multi-curve file) and labels the IPD.",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            help="Curve to use from a file with several (WebPlotDigitizer datasets), when its name differs from --arm.",
        ),
    ] = None,
    percent: Annotated[
        bool | None,
        typer.Option(
            "--percent/--proportion",
            help="Force the survival scale (default: detected, and reported).",
        ),
    ] = None,
    cumulative_incidence: Annotated[
        bool,
        typer.Option(
            "--cumulative-incidence", help="The figure shows 1 - S(t) (cumulative incidence)."
        ),
    ] = False,
    method: Annotated[
        str,
        typer.Option(
            "--method", help="bayesurv (default) or guyot (Guyot et al. 2012, for comparison)."
        ),
    ] = "bayesurv",
    draws: Annotated[
        int,
        typer.Option(
            "--draws",
            help="Repeat with random censoring times this many times to show the uncertainty the figure leaves.",
        ),
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --draws.")] = 1,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Accuracy report JSON (default: next to --out, .report.json)."
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Draw the reconstructed KM over the clicks with the NAR table (PNG/SVG/PDF).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace output files that already exist.")
    ] = False,
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
        curve,
        at_risk=at_risk,
        total_events=total_events,
        n=n,
        arm=arm,
        dataset=dataset,
        percent=percent,
        cumulative_incidence=cumulative_incidence,
        method=method,
        draws=draws,
        seed=seed,
    )
    inputs = {"curve": curve}
    if at_risk is not None:
        inputs["at_risk"] = at_risk
    command = {
        "command": "reconstruct",
        "total_events": total_events,
        "n": n,
        "arm": arm,
        "method": method,
        "draws": draws,
        "seed": seed,
        "inputs": inputs,
    }
    write_reconstruction(rec, out, report_path, arm, command, plot)
    print_report(rec.report, arm, out)
