"""``bayesurv nma``: network meta-analysis of trials given as contrasts, arm counts or IPD."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import (
    app,
    count_option,
    guard,
    refuse_overwrite,
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
    import json

    import matplotlib.pyplot as plt

    from bayesurv.synthesis.nma import nma_file

    for out in (json_out, netcdf):
        if out is not None:
            refuse_overwrite(out, force)
    if plots is not None:
        refuse_overwrite(plots, force)
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
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    if netcdf is not None:
        netcdf.parent.mkdir(parents=True, exist_ok=True)
        if netcdf.exists():
            netcdf.unlink()
        res.to_datatree().to_netcdf(netcdf)
    if plots is not None:
        from bayesurv.plots.forest import nma_forest
        from bayesurv.plots.network import league_plot, network_plot

        plots.mkdir(parents=True, exist_ok=True)
        for name, fig in (
            ("network", network_plot(res.network)),
            ("league", league_plot(res, ci)),
            ("forest", nma_forest(res, level=ci)),
        ):
            fig.savefig(plots / f"{name}.png", dpi=150, bbox_inches="tight")
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
