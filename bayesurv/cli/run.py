"""``bayesurv run``: an analysis specification end to end into a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.batch import scheduler_option
from bayesurv.cli.common import app, count_option, guard


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
        count_option(
            "--draws",
            "Override the spec's draws (and tuning steps), e.g. for a quick look (at least 10).",
            minimum=10,
            example=200,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        scheduler_option(
            None,
            help="Where the fits run: 'serial' (this process), 'local' (a Dask cluster on this "
            "machine, cores // chains workers), 'local:N' or a Dask scheduler address "
            "(tcp://HOST:PORT). Default: the spec's execution.scheduler, else 'local' when "
            "the machine has cores for two fits at once, else 'serial'. The numbers are the "
            "same everywhere.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Keep the fits a stopped run finished (in <out>.jobs beside --out) and run "
            "only the rest.",
        ),
    ] = False,
) -> None:
    """Run an analysis specification end to end: fits, pools, queries, figures, summary.json and
    a self-contained report.html. The same spec and seed give the same numbers.

    The results folder is built beside --out and put in place only when everything succeeded:
    a refusal or an interrupt leaves --out as it was. The fits stream into <out>.jobs as they
    finish (removed after success), so --resume after a stopped run keeps the finished ones.
    Fits run where --scheduler (or the spec's execution.scheduler) says; the numbers are the
    same everywhere."""
    import warnings

    from bayesurv.analysis_report import check_figure_names
    from bayesurv.errors import InputError
    from bayesurv.outputs import OutputPlan
    from bayesurv.runner import MARK, job_folder, run
    from bayesurv.spec import load_spec

    check_figure_names(load_spec(spec)[0], source=str(spec))  # before any fit
    target = out if out is not None else Path("results") / spec.stem
    jobs = job_folder(target)
    if jobs.exists() and not resume and not force:
        raise InputError(
            f"{jobs} holds the fits of a run that stopped; pass --resume to keep them or "
            "--force to start again."
        )
    plan = OutputPlan(target, force=force, replace=True, marker=MARK, inputs=(spec,))
    with plan.writing(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = run(
            spec,
            plan.stage_folder(),
            force=True,
            quiet=quiet,
            draws=draws,
            scheduler=scheduler,
            resume=resume,
            jobs=jobs,
        )
    if not quiet:  # the value the report gives (exact where it is), and how it was computed
        from bayesurv.report_answers import console_line

        for q in summary["queries"]:
            typer.echo(console_line(q))
    typer.echo(f"Report: {target / 'report.html'}")
