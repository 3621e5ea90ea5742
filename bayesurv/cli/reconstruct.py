"""``bayesurv reconstruct``: IPD from a digitized Kaplan-Meier curve, one arm per call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import (
    app,
    count_option,
    figure_option,
    guard,
    seed_option,
)
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
        pct = f"{100 * float(u.get('ci', 0.95)):g}%"  # the width the range was computed at
        con.print(
            f"Over {u['draws']} random reconstructions: median {fmt(u['median'][0])}-"
            f"{fmt(u['median'][1])}, RMST {fmt(u['rmst'][0])}-{fmt(u['rmst'][1])} ({pct} range)"
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
    columns: str | None = None,
    censor_marks: Path | None = None,
    ci: float | None = None,
):
    """Read, validate and reconstruct one arm; nothing is written here. ``ci``: the width of
    the ``draws``' range of the median and RMST (default the width in force)."""
    from bayesurv.evidence.curves import (
        clean_curve,
        parse_columns,
        read_at_risk,
        read_censor_marks,
        read_curves,
        select_curve,
    )
    from bayesurv.reconstruct import reconstruct

    curves = read_curves(curve_path, columns=parse_columns(columns))
    raw = select_curve(curves, str(curve_path), dataset or arm)
    cleaned = clean_curve(
        raw, source=str(curve_path), percent=percent, cumulative_incidence=cumulative_incidence
    )
    nar = read_at_risk(at_risk, arm=arm) if at_risk is not None else None
    marks = read_censor_marks(censor_marks, arm=arm) if censor_marks is not None else None
    return reconstruct(
        cleaned,
        nar,
        total_events=total_events,
        n=n,
        method=method,
        draws=draws,
        seed=seed,
        censor_times=marks,
        ci=ci,
        source=str(arm or curve_path),
        at_risk_source=str(at_risk) if at_risk else "numbers at risk",
    )


def write_reconstruction(
    rec,
    out: Path,
    report_path: Path,
    arm: str | None,
    command: dict,
    plot: Path | None,
    plan=None,
):
    """Write the IPD, the report and the figure through ``plan`` (an
    :class:`~bayesurv.outputs.OutputPlan` with those files declared before the work), so that a
    failure leaves nothing behind; without one, a plan that may replace these three files."""
    import json

    from bayesurv.provenance import provenance

    ipd = rec.ipd.copy()
    if arm is not None:
        ipd["arm"] = arm
    report = dict(rec.report)
    report["arm"] = arm
    report["provenance"] = provenance(
        seed=command.get("seed"), inputs=command.pop("inputs"), command=command
    )
    if plan is None:  # a caller that owns its folder (demo): still temporary file + rename
        from bayesurv.outputs import OutputPlan

        plan = OutputPlan(force=True)
        out = plan.add(out, option="--out", kind="csv")
        report_path = plan.add(report_path, option="--report", kind="json")
        if plot is not None:
            plot = plan.add(plot, option="--plot", kind="figure")
    fig = None
    if plot is not None:
        from bayesurv.plots.reconstruction import plot_reconstruction

        fig = plot_reconstruction(rec)
    try:
        with plan.writing():
            plan.csv(out, ipd, index=False, float_format="%.6g")
            plan.text(report_path, json.dumps(report, indent=2, default=float) + "\n")
            if fig is not None:
                plan.figure(plot, fig, dpi=120)
    finally:
        if fig is not None:
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
            help="Arm name: selects rows of the NAR table and the censor marks (and the dataset "
            "of a multi-curve file) and labels the IPD.",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            help="Curve to use from a file with several (WebPlotDigitizer datasets), when its "
            "name differs from --arm.",
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
        count_option(
            "--draws",
            "Repeat this many times at random over what the figure does not pin (censoring "
            "times, the number censored after the last printed time, unseen steps' event "
            "times) to show the uncertainty the figure leaves.",
            minimum=0,
            example=50,
        ),
    ] = 0,
    seed: Annotated[int, seed_option("Seed for --draws (a whole number >= 0).")] = 1,
    ci: Annotated[
        float,
        typer.Option("--ci", help="Width of the --draws range of the median and RMST (0-1)."),
    ] = 0.95,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="The curve file's time and survival columns, when not named time,survival: "
            "TIME,SURV (e.g. time,surv_pct).",
        ),
    ] = None,
    censor_marks: Annotated[
        Path | None,
        typer.Option(
            "--censor-marks",
            help="Censor marks read off the figure: CSV with a time column (arm selects with "
            "--arm), e.g. digitize's censor_marks.csv; used as censoring times.",
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Accuracy report JSON (default: next to --out, .report.json)."
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        figure_option(
            "--plot", "Draw the reconstructed KM over the clicks with the NAR table (PNG/SVG/PDF)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace output files that already exist.")
    ] = False,
    page: Annotated[
        int | None, typer.Option("--page", help="Figure input: page of a PDF (1-based).")
    ] = None,
    panel: Annotated[
        int | None,
        typer.Option(
            "--panel", help="Figure input: panel K of a multi-panel figure (reading order)."
        ),
    ] = None,
    x_range: Annotated[
        str | None,
        typer.Option(
            "--x-range",
            help="Figure input: time axis values MIN,MAX (of the first and last tick, not "
            "the frame's edges; default: read from the tick labels).",
        ),
    ] = None,
    y_range: Annotated[
        str | None,
        typer.Option(
            "--y-range",
            help="Figure input: survival axis values MIN,MAX (of the first and last tick, "
            "e.g. 0,100 for percent; default: read from the tick labels).",
        ),
    ] = None,
    arms: Annotated[
        str | None,
        typer.Option(
            "--arms",
            help="Figure input: the arms' names 'A,B' (in --colors order), or their number.",
        ),
    ] = None,
    colors: Annotated[
        str | None,
        typer.Option(
            "--colors", help="Figure input: the arms' line colours, e.g. '#1f77b4,#d62728'."
        ),
    ] = None,
    overlay: Annotated[
        Path | None,
        typer.Option("--overlay", help="Figure input: overlay PNG (default: next to --out)."),
    ] = None,
) -> None:
    """Reconstruct individual patient data from a digitized Kaplan-Meier curve (one arm per call),
    or from the figure itself (PNG, JPEG, PDF: every arm, see below).

    With a figure, the axes, curves, censor marks and numbers-at-risk table are read from it and
    every arm is reconstructed: OUT gets time,event,arm (arms named as the figure names them),
    OUT.report.json a confidence statement per arm, OUT.overlay.png what was read.

    Cleans the clicks (order along the curve, isotonic regression, anchor at (0, 1)), matches
    the numbers at risk exactly where the curve allows it (and says where it does not), matches
    --total-events exactly, places censorings at --censor-marks where given, and writes
    time,event rows with an accuracy report: KM of the reconstruction against the cleaned
    clicks, patients, events, median and RMST. A table that runs past the last click is used up
    to it (those still at risk are censored there, and it says so); `bayesurv digitize` output
    is read as written.
    """
    from bayesurv.intervals import check_ci

    ci = check_ci(ci)  # before the work
    if is_figure(curve):
        figure_reconstruction_command(
            curve,
            out,
            at_risk=at_risk,
            total_events=total_events,
            n=n,
            method=method,
            seed=seed,
            report=report,
            force=force,
            page=page,
            panel=panel,
            x_range=x_range,
            y_range=y_range,
            arms=arms,
            colors=colors,
            overlay=overlay,
        )
        return
    from bayesurv.outputs import OutputPlan

    report_path = report or out.with_suffix(".report.json")
    if out.suffix.lower() != ".csv":
        raise InputError(f"--out {out} should be a .csv file.")
    inputs_given = tuple(p for p in (curve, at_risk, censor_marks) if p is not None)
    plan = OutputPlan(force=force, inputs=inputs_given)
    out = plan.add(out, option="--out", kind="csv")
    report_path = plan.add(report_path, option="--report", kind="json")
    if plot is not None:
        plot = plan.add(plot, option="--plot", kind="figure")
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
        columns=columns,
        censor_marks=censor_marks,
        ci=ci,
    )
    inputs = {"curve": curve}
    if at_risk is not None:
        inputs["at_risk"] = at_risk
    if censor_marks is not None:
        inputs["censor_marks"] = censor_marks
    command = {
        "command": "reconstruct",
        "total_events": total_events,
        "n": n,
        "arm": arm,
        "method": method,
        "draws": draws,
        "seed": seed,
        "ci": ci,
        "inputs": inputs,
    }
    write_reconstruction(rec, out, report_path, arm, command, plot, plan)
    print_report(rec.report, arm, out)


# --- a figure (PNG, JPEG, PDF) in: the whole job -------------------------------------------

FIGURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".pdf", ".tif", ".tiff", ".bmp", ".gif", ".webp"}


def is_figure(path: Path) -> bool:
    """An image or PDF (by suffix, or a PDF/PNG/JPEG signature), not a table of clicks."""
    if path.suffix.lower() in FIGURE_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    return head.startswith((b"%PDF-", b"\x89PNG", b"\xff\xd8\xff"))


def figure_reconstruction_command(
    figure: Path,
    out: Path,
    *,
    at_risk: Path | None,
    total_events: int | None,
    n: int | None,
    method: str,
    seed: int,
    report: Path | None,
    force: bool,
    page: int | None,
    panel: int | None,
    x_range: str | None,
    y_range: str | None,
    arms: str | None,
    colors: str | None,
    overlay: Path | None,
) -> None:
    """``bayesurv reconstruct FIGURE --out IPD.csv``: read the figure, reconstruct every arm,
    write IPD.csv (time,event,arm), IPD.report.json and IPD.overlay.png."""
    import json

    from bayesurv.digitize.arms import parse_colors
    from bayesurv.digitize.frame import parse_range
    from bayesurv.evidence.curves import check_at_risk
    from bayesurv.figure_reconstruction import reconstruct_figure
    from bayesurv.outputs import OutputPlan
    from bayesurv.provenance import provenance

    report_path = report or out.with_suffix(".report.json")
    overlay_path = overlay or out.with_suffix(".overlay.png")
    if out.suffix.lower() != ".csv":
        raise InputError(f"--out {out} should be a .csv file.")
    plan = OutputPlan(force=force, inputs=tuple(p for p in (figure, at_risk) if p is not None))
    out = plan.add(out, option="--out", kind="csv")
    report_path = plan.add(report_path, option="--report", kind="json")
    overlay_path = plan.add(overlay_path, option="--overlay", kind="image")
    names, n_arms = None, None
    if arms is not None:
        if arms.strip().isdigit():
            n_arms = int(arms)
        else:
            names = [a.strip() for a in arms.split(",") if a.strip()]
    nar = _read_every_arm_at_risk(at_risk, check_at_risk) if at_risk is not None else None
    per_arm_events = None
    per_arm_n = None
    rec = reconstruct_figure(
        figure,
        page=page,
        panel=panel,
        x_range=parse_range(x_range, "--x-range") if x_range is not None else None,
        y_range=parse_range(y_range, "--y-range") if y_range is not None else None,
        at_risk=nar,
        n_arms=n_arms,
        colors=parse_colors(colors) if colors is not None else None,
        names=names,
        total_events=per_arm_events,
        n=per_arm_n,
        method=method,
        seed=seed,
    )
    if total_events is not None or n is not None:
        rec.warnings.append(
            "--total-events and --n apply to one arm of a clicks file; with a figure they are "
            "not used (give --at-risk for every arm instead)."
        )
    inputs = {"figure": figure}
    if at_risk is not None:
        inputs["at_risk"] = at_risk
    body = dict(rec.report)
    body["provenance"] = provenance(
        seed=seed,
        inputs=inputs,
        command={"command": "reconstruct", "figure": str(figure), "method": method},
    )
    with plan.writing():
        plan.csv(out, rec.ipd, index=False, float_format="%.6g")
        plan.text(report_path, json.dumps(body, indent=2, default=_json_default) + "\n")
        plan.image(overlay_path, rec.overlay)
    print_figure_report(rec, out, report_path, overlay_path)


def _read_every_arm_at_risk(path: Path, check):
    """A numbers-at-risk table for a figure: ``time,at_risk`` and an optional ``arm`` column
    (every arm's rows kept, each arm checked alone), through the shared reader."""
    import pandas as pd

    from bayesurv.tables import Column, read_table

    table = read_table(
        path,
        [
            Column("time"),
            Column("at_risk", aliases=("n_at_risk", "nrisk", "n_risk")),
            Column("arm", kind="text", required=False),
        ],
        what="numbers-at-risk table",
    )
    rows = table.index.to_numpy()
    table = table.reset_index(drop=True).assign(row=rows)
    if "arm" not in table.columns:
        return check(table, source=str(path))
    names = table["arm"].fillna("").astype(str).str.strip()
    parts = [
        check(table[names == arm], source=f"{path} (arm {arm})").assign(arm=arm)
        for arm in names.unique()
    ]
    return pd.concat(parts, ignore_index=True)


def _json_default(x):
    import numpy as np

    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating | float):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def print_figure_report(rec, out: Path, report_path: Path, overlay_path: Path) -> None:
    from rich.console import Console

    con = Console(stderr=False)
    axes = rec.digitized.report.get("axes") or {}
    if axes:
        x_t = [t["value"] for t in axes["x"]["ticks"] if t["used"]]
        y_t = [t["value"] for t in axes["y"]["ticks"] if t["used"]]
        con.print(
            f"axes: time {min(x_t):g}-{max(x_t):g} ({len(x_t)} ticks), {axes['kind']} "
            f"{min(y_t):g}-{max(y_t):g} ({axes['scale']}, {len(y_t)} ticks"
            f"{', truncated' if axes['truncated'] else ''})"
        )
    for line in rec.summary().splitlines():
        con.print(line)
    for w in rec.warnings:
        con.print(f"  [bold yellow]warning[/]: {w}")
    con.print(f"IPD written to {out}; report {report_path}; overlay {overlay_path}")
