"""``bayesurv demo``: the shipped case study and the reconstruction example."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv import datasets
from bayesurv.cli.common import app, count_option, guard, seed_option
from bayesurv.cli.reconstruct import print_report, run_reconstruction, write_reconstruction
from bayesurv.errors import InputError
from bayesurv.outputs import OutputPlan

_DEMO_MARK = ".bayesurv-demo"


@app.command()
@guard
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's results.")] = Path(
        "results/demo"
    ),
    seed: Annotated[int, seed_option("Random seed of the reconstruction draws (>= 0).")] = 1,
    draws: Annotated[
        int | None,
        count_option(
            "--draws",
            "Posterior draws per chain for the case study (default: the spec's; at least 10).",
            minimum=10,
            example=200,
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the results of an earlier demo in --out.")
    ] = False,
) -> None:
    """Run the shipped case study and the reconstruction example.

    1. The case study (models/case_study.toml): blinatumomab consolidation in high-risk
       first-relapse paediatric B-ALL (study 20120215, final 5-year analysis): long-term EFS and
       OS from the reported summaries with cure and general-population mortality; hazard ratios
       pooled with COG AALL1331 and AALL1731 (adult trials as a sensitivity analysis);
       subgroups; the committee's questions. Report: OUT/case_study/report.html. Then the
       indirect comparison of blinatumomab with inotuzumab in relapsed/refractory adult B-ALL
       (models/ball_nma.toml: TOWER and INO-VATE through chemotherapy): OUT/ball_nma/.
    2. Reconstruction of IPD from emulated clicks of a real trial's KM curves (GBSG-2, whose IPD
       lifelines ships; labelled so in the files), with the known truth to compare.

    The specs and data ship with bayesurv (bayesurv.datasets), so the demo runs from an installed
    wheel in any folder; --out is relative to the current folder. An earlier demo's results are
    replaced only with --force; a folder the demo did not write is never replaced.
    """
    here = _example_dir()
    if out.is_dir() and any(out.iterdir()) and not (out / _DEMO_MARK).exists():
        raise InputError(
            f"{out} holds files the demo did not write; choose another --out (it is not replaced "
            "even with --force)."
        )
    # the demo's folder is built beside --out and swapped in when every step succeeded
    plan = OutputPlan(out, force=force, replace=True, marker=_DEMO_MARK)
    with plan.writing():
        _demo(here, plan.stage_folder(), out, seed=seed, draws=draws, quiet=quiet)


def _demo(here: Path, stage: Path, out: Path, *, seed: int, draws: int | None, quiet: bool):
    import warnings

    import pandas as pd

    from bayesurv.nonparametric import cox_hazard_ratio
    from bayesurv.report_answers import console_line
    from bayesurv.runner import run

    spec = datasets.path("models/case_study.toml")
    rec_dir = stage / "reconstruction"
    rec_dir.mkdir(parents=True, exist_ok=True)
    # 1. the case study
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = run(spec, stage / "case_study", force=True, quiet=quiet, draws=draws)
    typer.echo("Case study: the committee's questions (the values the report gives)")
    for q in summary["queries"]:
        typer.echo(f"  {console_line(q)}")
    # 1b. blinatumomab vs inotuzumab in adults, indirectly through chemotherapy (exact, seconds)
    nma = run(
        datasets.path("models/ball_nma.toml"),
        stage / "ball_nma",
        force=True,
        quiet=quiet,
        draws=draws,
    )
    q = nma["queries"][0]
    typer.echo(
        f"Indirect comparison (TOWER, INO-VATE): {console_line(q, width=0)}; "
        f"report: {out / 'ball_nma' / 'report.html'}"
    )
    # 2. the reconstruction example
    totals = pd.read_csv(here / "events.csv", comment="#")
    ipds = []
    for _, row in totals.iterrows():
        arm = str(row["arm"])
        curve = here / f"clicks_{arm}.csv"
        rec = run_reconstruction(
            curve,
            at_risk=here / "at_risk.csv",
            total_events=int(row["total_events"]),
            n=None,
            arm=arm,
            dataset=None,
            percent=None,
            cumulative_incidence=False,
            method="bayesurv",
            draws=20,
            seed=seed,
        )
        command = {
            "command": "demo",
            "arm": arm,
            "seed": seed,
            "inputs": {"curve": curve, "at_risk": here / "at_risk.csv"},
        }
        write_reconstruction(
            rec,
            rec_dir / f"ipd_{arm}.csv",
            rec_dir / f"ipd_{arm}.report.json",
            arm,
            command,
            rec_dir / f"reconstruction_{arm}.png",
        )
        if not quiet:
            print_report(rec.report, arm, out / "reconstruction" / f"ipd_{arm}.csv")
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
    typer.echo(f"Reconstruction results: {out / 'reconstruction'}/")
    typer.echo(f"Report: {out / 'case_study' / 'report.html'}")


def _example_dir() -> Path:
    here = datasets.root() / datasets.GBSG2
    if not here.is_dir():
        raise InputError(
            f"the shipped example is missing ({here}); reinstall bayesurv (the wheel carries "
            "it under bayesurv/_data) or run from a source checkout."
        )
    return here
