"""``bayesurv run``: an analysis specification end to end into a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import app, guard


@app.command("run")
@guard
def run_command(
    spec: Annotated[
        Path, typer.Argument(help="Analysis specification (TOML), e.g. models/case_study.toml.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Results folder (default results/<spec name>).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a results folder that bayesurv wrote before.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="No progress display (for scripts).")
    ] = False,
    draws: Annotated[
        int | None,
        typer.Option(
            "--draws", help="Override the spec's draws (and tuning steps), e.g. for a quick look."
        ),
    ] = None,
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
