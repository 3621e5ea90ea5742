"""``bayesurv propagate``: a two-arm fit that carries the reconstruction's uncertainty, run as
tasks on the execution layer; and the ``--scheduler`` / ``--resume`` options every many-fit
command shares (:func:`scheduler_option`, :func:`resume_option`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bayesurv.cli.common import app, count_option, guard, seed_option
from bayesurv.errors import InputError

SCHEDULER_HELP = (
    "Where the fits run: 'local' (default: a Dask cluster on this machine sized to its cores), "
    "'local:N' (N workers), 'serial' (this process) or a Dask scheduler address "
    "(tcp://HOST:PORT). The numbers are the same everywhere."
)


def scheduler_option(default: str | None = "local", help: str = SCHEDULER_HELP) -> Any:
    """``--scheduler``: checked before any work (:func:`bayesurv.batch.parse_scheduler`)."""

    def check(value):
        from bayesurv.batch import parse_scheduler

        if value is None:  # not given: the command's own default
            return value

        try:
            parse_scheduler(value)
        except InputError as exc:
            raise typer.BadParameter(str(exc).rstrip("."), param_hint="'--scheduler'") from None
        return value

    return typer.Option("--scheduler", help=help, callback=check)


def resume_option() -> Any:
    """``--resume``: finish a job in --out, skipping tasks already done with the same inputs."""
    return typer.Option(
        "--resume", help="Finish the job in --out: tasks done with the same inputs are skipped."
    )


def _pairs(text: str | None, option: str) -> dict[str, int]:
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit():
            raise InputError(
                f"{option} {text!r} must be ARM=N pairs, e.g. {option} control=120,treated=98."
            )
        out[name.strip()] = int(value)
    return out


@app.command("propagate")
@guard
def propagate_command(
    curves: Annotated[
        Path,
        typer.Argument(
            help="Digitized curves of both arms: CSV time,survival,arm, or a "
            "WebPlotDigitizer CSV/JSON with one dataset per arm."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Job folder for the fits and tables.")],
    at_risk: Annotated[
        Path | None,
        typer.Option("--at-risk", help="Numbers-at-risk CSV time,at_risk,arm (one block per arm)."),
    ] = None,
    arms: Annotated[
        str | None,
        typer.Option("--arms", help="REFERENCE,TREATED (default: the two curves' names, sorted)."),
    ] = None,
    total_events: Annotated[
        str | None, typer.Option("--total-events", help="Reported events per arm: ARM=N,ARM=N.")
    ] = None,
    n: Annotated[
        str | None, typer.Option("--n", help="Patients per arm without a table: ARM=N,ARM=N.")
    ] = None,
    draws: Annotated[
        int,
        count_option(
            "--draws",
            "Random reconstructions to fit and pool (K, at least 2).",
            minimum=2,
            example=20,
        ),
    ] = 20,
    family: Annotated[
        str, typer.Option("--family", help="Parametric family of both arms.")
    ] = "weibull",
    fit: Annotated[
        str,
        typer.Option(
            "--fit",
            help="laplace (normal approximation, seconds) or nuts (the full "
            "Bayesian fit of the survival core, one per reconstruction).",
        ),
    ] = "laplace",
    rmst_to: Annotated[
        float | None, typer.Option("--rmst-to", help="RMST horizon (default: the last time).")
    ] = None,
    ci: Annotated[float, typer.Option("--ci", help="Interval width.")] = 0.95,
    chains: Annotated[int, count_option("--chains", "NUTS chains per fit.", example=4)] = 4,
    nuts_draws: Annotated[
        int, count_option("--nuts-draws", "NUTS draws per chain.", minimum=10, example=1000)
    ] = 1000,
    seed: Annotated[int, seed_option()] = 1,
    scheduler: Annotated[str, scheduler_option()] = "local",
    resume: Annotated[bool, resume_option()] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Run again into an existing --out.")
    ] = False,
) -> None:
    """Fit a two-arm model to K random reconstructions of the curves and pool them (a mixture of
    the K posteriors), so that the intervals carry what the figure does not show (where patients
    were censored). Prints how much wider each interval became; writes widening.csv, rubin.csv,
    pooled.nc and every fit (tasks/) to --out, as each finishes (--resume picks up a killed job)."""
    from rich.console import Console
    from rich.table import Table

    from bayesurv.evidence.curves import read_at_risk, read_curves
    from bayesurv.propagation import propagate

    if fit not in ("laplace", "nuts"):
        raise InputError(f"--fit {fit!r}: choose laplace or nuts.")
    if not 0 < ci < 1:
        raise InputError(f"--ci {ci!r} must lie between 0 and 1, e.g. --ci 0.95.")
    found = read_curves(curves)
    labels = [a.strip() for a in arms.split(",")] if arms else sorted(found)
    if len(labels) != 2 or any(a not in found for a in labels):
        raise InputError(
            f"{curves} holds curves {', '.join(sorted(found))}; a two-arm fit needs two of them "
            "(name them with --arms REFERENCE,TREATED)."
        )
    events, sizes = _pairs(total_events, "--total-events"), _pairs(n, "--n")
    spec = {}
    for a in labels:
        kw: dict[str, Any] = {"curve": found[a], "source": f"{curves} ({a})"}
        if at_risk is not None:
            kw["at_risk"] = read_at_risk(at_risk, arm=a)
        elif a in sizes:
            kw["n"] = sizes[a]
        else:
            raise InputError(f"arm {a!r} needs --at-risk or its size (--n {a}=N).")
        if a in events:
            kw["total_events"] = events[a]
        spec[a] = kw
    if fit == "laplace":
        fn, inputs, threads = (
            "bayesurv.laplace:laplace_fit",
            {"family": family, "rmst_to": rmst_to, "arms": tuple(labels)},
            1,
        )
    else:
        fn = "bayesurv.batch.fits:fit_task"
        inputs = {
            "model": family,
            "draws": nuts_draws,
            "tune": nuts_draws,
            "chains": chains,
            "rmst_to": rmst_to,
            "keep": ["posterior", "derived"],
            "spec": {"arm": "arm"},
        }
        threads = chains
    if out.exists() and any(out.iterdir()) and not (resume or force):
        raise InputError(
            f"{out} is not empty; pass --resume to finish that job or --force to redo it."
        )
    res = propagate(
        spec,
        seed=seed,
        draws=draws,
        fit=fn,
        fit_inputs=inputs,
        threads=threads,
        scheduler=scheduler,
        out=out,
        resume=resume,
        ci=ci,
        progress=True,
    )
    tab = Table(
        title=f"{family} fit of {labels[1]} vs {labels[0]}: one reconstruction vs {draws} "
        f"pooled ({ci:.0%} intervals)"
    )
    for col in ("quantity", "one reconstruction", "pooled", "width ratio", "missing info"):
        tab.add_column(col, justify="left" if col == "quantity" else "right")
    mi = res.rubin.set_index("quantity")["missing_information"]
    for _, r in res.widening.iterrows():
        tab.add_row(
            r["quantity"],
            f"{r['single_median']:.3g} ({r['single_lower']:.3g}, {r['single_upper']:.3g})",
            f"{r['pooled_median']:.3g} ({r['pooled_lower']:.3g}, {r['pooled_upper']:.3g})",
            f"{r['width_ratio']:.3f}",
            f"{mi.get(r['quantity'], float('nan')):.1%}",
        )
    Console().print(tab)
    for key, why in res.failed.items():
        typer.echo(f"bayesurv: warning: {key} failed: {why}", err=True)
    typer.echo(f"Written to {out}: widening.csv, rubin.csv, pooled.nc, tasks/")
