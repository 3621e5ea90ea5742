"""``bayesurv nma``: network meta-analysis of trials given as contrasts, arm counts or IPD."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import (
    app,
    count_option,
    guard,
    seed_option,
)


@app.command("nma")
@guard
def nma_command(
    data: Annotated[
        Path,
        typer.Argument(
            help="DATA.csv: one row per contrast (study,treatment,comparator,hr,lower,upper "
            "[,ci_level] or log_hr,se), arm (study,treatment,events,n,time) or IPD arm "
            "(study,treatment,ipd=FILE); forms may be mixed, one per study."
        ),
    ],
    json_out: Annotated[Path, typer.Option("--json", help="Write the results here (JSON).")],
    reference: Annotated[
        str | None, typer.Option("--reference", help="Treatment every HR is expressed against.")
    ] = None,
    effects: Annotated[
        str, typer.Option("--effects", help="fixed or random (between-trial heterogeneity).")
    ] = "random",
    netcdf: Annotated[
        Path | None,
        typer.Option(
            "--netcdf",
            help="Write the posterior here (NetCDF DataTree); query it with "
            'bayesurv query OUT.nc \'P(hr("A", "B") < 1)\'.',
        ),
    ] = None,
    plots: Annotated[
        Path | None,
        typer.Option("--plots", help="Folder for the network plot, league table and forest plot."),
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="auto (exact for contrasts only), exact or mcmc.")
    ] = "auto",
    d_prior: Annotated[
        str, typer.Option("--d-prior", help="Prior of each log HR vs the reference.")
    ] = "normal(0, 4)",
    tau_prior: Annotated[
        str, typer.Option("--tau-prior", help="Heterogeneity prior (random effects).")
    ] = "halfnormal(0.5)",
    link: Annotated[
        str, typer.Option("--link", help="cloglog (arm counts give log HRs) or logit (log ORs).")
    ] = "cloglog",
    covariate: Annotated[
        str | None,
        typer.Option(
            "--covariate",
            help="Network meta-regression on this numeric study column "
            "(centred; one interaction per treatment vs the reference).",
        ),
    ] = None,
    consistency: Annotated[
        bool,
        typer.Option(
            "--consistency/--no-consistency",
            help="Check consistency: unrelated mean effects (DIC, LOO) and node-splits.",
        ),
    ] = True,
    seed: Annotated[int, seed_option()] = 1,
    draws: Annotated[int, count_option("--draws", "Posterior draws per chain (MCMC).")] = 1000,
    ci: Annotated[float, typer.Option("--ci", help="Interval level.")] = 0.95,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
) -> None:
    """Network meta-analysis of hazard ratios: every pairwise HR with credible and predictive
    intervals, P(HR < 1), ranks and SUCRA, DIC and LOO, consistency checks."""
    import matplotlib.pyplot as plt

    from bayesurv.outputs import OutputPlan
    from bayesurv.synthesis.nma import nma_file

    # every output resolved and checked before any work: distinct, writable, never the input
    plan = OutputPlan(force=force, inputs=(data,))
    json_out = plan.add(json_out, option="--json", kind="json")
    if netcdf is not None:
        netcdf = plan.add(netcdf, option="--netcdf", kind="netcdf")
    figures = {}
    if plots is not None:
        plan.folder(plots, option="--plots")
        for name in ("network", "league", "forest"):
            figures[name] = plan.add(plots / f"{name}.png", option=f"--plots {name}.png")
    from bayesurv.cli.common import stderr_console
    from bayesurv.progress import sampling_progress

    # a bar over the NUTS draws of every fit (the network, the UME and node-split models), on a
    # terminal only; an exact fit samples nothing and shows nothing
    with sampling_progress("sampling the network model", console=stderr_console()):
        doc, res = nma_file(
            data,
            reference=reference,
            effects=effects,
            method=method,
            seed=seed,
            level=ci,
            draws=draws,
            d_prior=d_prior,
            tau_prior=tau_prior,
            consistency_checks=consistency,
            link=link,
            covariate=covariate,
        )
    tree = res.to_datatree() if netcdf is not None else None
    made = []
    try:
        if plots is not None:
            from bayesurv.plots.forest import nma_forest
            from bayesurv.plots.network import league_plot, network_plot

            made.append(("network", network_plot(res.network)))
            made.append(("league", league_plot(res, ci)))
            made.append(("forest", nma_forest(res, level=ci)))
        with plan.writing():
            plan.json(json_out, doc)
            if tree is not None:
                plan.netcdf(netcdf, tree)
            for name, fig in made:
                plan.figure(figures[name], fig, dpi=150, bbox_inches="tight")
    finally:
        for _, fig in made:
            plt.close(fig)
    ref = res.network.reference
    typer.echo(
        f"{effects} effects NMA ({res.method}) of {len(res.network.studies)} trials, "
        f"{len(res.treatments)} treatments; HR vs {ref}:"
    )
    for t in res.treatments:
        if t == ref:
            continue
        d = res.effect(t, ref)
        lo, hi = d.interval(ci)
        import math

        typer.echo(
            f"  {t}: {math.exp(d.median()):.2f} ({math.exp(lo):.2f} to "
            f"{math.exp(hi):.2f}), P(HR < 1) = {d.cdf(0.0):.3f}"
        )
    best = min(doc["ranks"], key=lambda r: r["mean_rank"])
    typer.echo(f"  highest SUCRA: {best['treatment']} ({best['sucra']:.2f}); wrote {json_out}")
    from bayesurv.sections.nma import loo_warnings

    for sentence in loo_warnings(doc):
        typer.echo(f"  Note: {sentence}.")
