"""``bayesurv pool``: hierarchical pooling (and meta-regression) of reported hazard ratios."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import (
    app,
    figure_option,
    guard,
    seed_option,
)

#: the most studies a forest plot draws (one row each: beyond, nobody can read it, and the
#: figure outgrows what matplotlib renders)
MAX_FOREST_STUDIES = 300


@app.command("pool")
@guard
def pool_command(
    effects: Annotated[
        Path,
        typer.Argument(
            help="EFFECTS.csv: study + hr,lower,upper (95% CI, or a ci_level column) or "
            "log_hr,se; headers case-insensitive (Study,HR,LCI,UCI...), ',' or ';' separated."
        ),
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
            '"lognormal(m, s)", "turner(OUTCOME, COMPARISON)" or "rhodes(...)".',
        ),
    ] = "halfnormal(0.5)",
    method: Annotated[
        str, typer.Option("--method", help="exact (quadrature) or mcmc (PyMC + nutpie).")
    ] = "exact",
    seed: Annotated[int, seed_option("Random seed (MCMC; draws saved with --netcdf).")] = 1,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="Keep rows with COLUMN=VALUE (repeatable)."),
    ] = None,
    ci: Annotated[float, typer.Option("--ci", help="Interval level.")] = 0.95,
    interval: Annotated[
        str, typer.Option("--interval", help="equal-tailed (default) or hpd (shortest).")
    ] = "equal-tailed",
    covariates: Annotated[
        str | None,
        typer.Option(
            "--covariates",
            help="Meta-regression on these study columns: x1,x2 "
            "(numeric, centred at their mean, or categorical).",
        ),
    ] = None,
    predict: Annotated[
        list[str] | None,
        typer.Option("--predict", help="Predict at COVARIATE=VALUE[,...] (repeatable)."),
    ] = None,
    coef_prior: Annotated[
        str,
        typer.Option(
            "--coef-prior", help='Prior of each covariate coefficient: "flat" or "normal(m, s)".'
        ),
    ] = "flat",
    sensitivity: Annotated[
        str | None,
        typer.Option(
            "--sensitivity",
            help="Tau priors for the sensitivity table, separated by "
            '";" (default: halfnormal(0.25);halfnormal(0.5);halfnormal(1);'
            'halfcauchy(0.5);uniform(0, 2); "none" for no table).',
        ),
    ] = None,
    plan_events: Annotated[
        float | None,
        typer.Option(
            "--plan-events",
            help="Events of a planned trial that borrows through the "
            "robust MAP prior: writes the MAP prior, its ESS in events, power, type I "
            "error and probability of success.",
        ),
    ] = None,
    plan_allocation: Annotated[
        float,
        typer.Option("--plan-allocation", help="Planned allocation k:1 (experimental:control)."),
    ] = 1.0,
    robust_weight: Annotated[
        float, typer.Option("--robust-weight", help="Weight of the vague part of the robust MAP.")
    ] = 0.2,
    netcdf: Annotated[
        Path | None,
        typer.Option(
            "--netcdf",
            help="Write the posterior here (NetCDF DataTree; "
            "bayesurv query reads it: pooled_hr, predictive_hr, tau, study_hr; with "
            '--covariates also coefficient_hr["NAME"], coefficient["NAME"], residual_tau).',
        ),
    ] = None,
    forest: Annotated[
        Path | None, figure_option("--forest", "Write a forest plot here (.png, .svg, .pdf).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
) -> None:
    """Pool reported hazard ratios with a Bayesian normal-normal hierarchical model.

    Beside the Bayesian answer OUT.json holds the frequentist reference points (REML, I^2,
    Q-profile CI for tau^2, Knapp-Hartung, prediction interval, leave-one-out), Bayes factors
    for tau = 0 and mu = 0, predictive p-values and a tau-prior sensitivity table.
    """
    from bayesurv.errors import InputError
    from bayesurv.outputs import OutputPlan
    from bayesurv.synthesis.pool import DEFAULT_SENSITIVITY, pool_file

    # every output resolved and checked before any work: distinct, writable, never the input
    plan = OutputPlan(force=force, inputs=(effects,))
    json_out = plan.add(json_out, option="--json", kind="json")
    if netcdf is not None:
        netcdf = plan.add(netcdf, option="--netcdf", kind="netcdf")
    if forest is not None:
        forest = plan.add(forest, option="--forest", kind="figure")
    if sensitivity is None:
        sens = list(DEFAULT_SENSITIVITY)
    elif sensitivity.strip().lower() == "none":
        sens = []
    else:
        sens = [t.strip() for t in sensitivity.split(";") if t.strip()]
    covs = [c.strip() for c in covariates.split(",") if c.strip()] if covariates else None
    import contextlib

    from bayesurv.cli.common import stderr_console
    from bayesurv.progress import sampling_progress

    sampling = (  # a bar over the NUTS draws (on a terminal only); the exact solver is quick
        sampling_progress("sampling the pooled model", console=stderr_console())
        if method == "mcmc"
        else contextlib.nullcontext()
    )
    with sampling:
        doc, result = pool_file(
            effects,
            where=where,
            mu_prior=mu_prior,
            tau_prior=tau_prior,
            method=method,
            seed=seed,
            level=ci,
            interval=interval,
            covariates=covs,
            predict=predict,
            coef_prior=coef_prior,
            sensitivity_priors=sens,
            plan_events=plan_events,
            plan_allocation=plan_allocation,
            robust_weight=robust_weight,
        )
    pooled = result[0] if isinstance(result, tuple) else result
    if forest is not None and len(pooled.studies) > MAX_FOREST_STUDIES:
        raise InputError(
            f"--forest {forest}: a forest plot of {len(pooled.studies):,} studies has more rows "
            f"than anyone can read (at most {MAX_FOREST_STUDIES}); select studies with --where, "
            "or drop --forest (the JSON holds every study)."
        )
    tree = fig = None
    if netcdf is not None:
        tree = pooled.to_datatree(seed=seed)
        if isinstance(result, tuple):
            reg = result[1].to_datatree(seed=seed)
            tree["meta_regression"] = reg["posterior"]
    if forest is not None:
        from bayesurv.plots.forest import forest as forest_plot

        fig = forest_plot(pooled, level=ci)
    try:
        with plan.writing():
            plan.json(json_out, doc)
            if tree is not None:
                plan.netcdf(netcdf, tree)
            if fig is not None:
                plan.figure(forest, fig, dpi=150, bbox_inches="tight")
    finally:
        if fig is not None:
            import matplotlib.pyplot as plt

            plt.close(fig)
    p = doc["pooled"]["hr"]
    written = ", ".join(str(o) for o in (json_out, netcdf, forest) if o is not None)
    typer.echo(
        f"pooled HR {p['median']:.2f} ({p['lower']:.2f} to {p['upper']:.2f}), "
        f"P(HR < 1) = {doc['probabilities']['pooled_hr_lt_1']:.3f}; wrote {written}"
    )
    if "map_prior" in doc:
        pt_ = doc["map_prior"]["planned_trial"]
        ess = doc["map_prior"]["ess_events"]["robust"]["elir"]
        typer.echo(
            f"  planned trial ({pt_['events']:g} events) borrowing through the robust MAP "
            f"prior (ESS {ess:.0f} events): type I error {pt_['type_one_error']:.3f}, "
            f"probability of success {pt_['probability_of_success']:.2f}"
        )
    for c in doc.get("coefficients", []):
        typer.echo(f"  {c['name']}: {c['median']:.3f} ({c['lower']:.3f} to {c['upper']:.3f})")
