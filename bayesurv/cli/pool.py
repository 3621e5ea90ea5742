"""``bayesurv pool``: hierarchical pooling of reported hazard ratios."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import app, guard, refuse_overwrite


@app.command("pool")
@guard
def pool_command(
    effects: Annotated[
        Path, typer.Argument(help="EFFECTS.csv: study + hr,lower,upper (95% CI) or log_hr,se.")
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
            '"lognormal(m, s)" or "turner(mortality|composite, pharma-pharma|...)".',
        ),
    ] = "halfnormal(0.5)",
    method: Annotated[
        str, typer.Option("--method", help="exact (quadrature) or mcmc (PyMC + nutpie).")
    ] = "exact",
    seed: Annotated[int, typer.Option("--seed", help="Random seed (MCMC).")] = 1,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="Keep rows with COLUMN=VALUE (repeatable)."),
    ] = None,
    ci: Annotated[float, typer.Option("--ci", help="Interval level.")] = 0.95,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
) -> None:
    """Pool reported hazard ratios with a Bayesian normal-normal hierarchical model."""
    import json

    from bayesurv.synthesis.pool import pool_file

    refuse_overwrite(json_out, force)
    doc = pool_file(
        effects,
        where=where,
        mu_prior=mu_prior,
        tau_prior=tau_prior,
        method=method,
        seed=seed,
        level=ci,
    )
    text = json.dumps(doc, indent=2, default=str)
    json_out.write_text(text + "\n")
    p = doc["pooled"]["hr"]
    typer.echo(
        f"pooled HR {p['median']:.2f} ({p['lower']:.2f} to {p['upper']:.2f}), "
        f"P(HR < 1) = {doc['probabilities']['pooled_hr_lt_1']:.3f}; wrote {json_out}"
    )
