"""``bayesurv query``: posterior probabilities of statements about a saved result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import app, guard
from bayesurv.errors import InputError


@app.command()
@guard
def query(
    result: Annotated[Path, typer.Argument(help="A saved bayesurv result (NetCDF DataTree).")],
    statements: Annotated[
        list[str],
        typer.Argument(help='Statements such as "P(hr < 0.8)" or "P(surv_diff(60) > 0.10)".'),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Posterior probabilities of statements about a saved result.

    The grammar: named quantities (an unknown name lists those that exist), numbers,
    + - * / ^, exp/log/abs/min/max, comparisons (chains allowed: 0.5 < hr < 0.8), and, or,
    not, parentheses; a quantity over time is read at a time with name(t), one over studies or
    arms with name("label"). Each line gives the probability and its Monte Carlo error.
    """
    import json

    import xarray as xr

    from bayesurv.query import probability, quantities_from_tree

    fix = "give a result saved by bayesurv (fit --netcdf, or a <section>.nc of bayesurv run)"
    if not result.exists():
        raise InputError(f"{result}: no such file; {fix}.")
    if result.is_dir():
        found = sorted(result.glob("*.nc"))
        hint = f", e.g. {found[0]}" if found else ""
        raise InputError(f"{result} is a folder; give one of its .nc results{hint}.")
    if result.stat().st_size == 0:
        raise InputError(f"{result} is empty; {fix}.")
    with result.open("rb") as fh:
        head = fh.read(8)
    if not head.startswith((b"CDF", b"\x89HDF")):
        raise InputError(f"{result} is not a NetCDF file; {fix}.")
    try:
        tree = xr.open_datatree(result)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(
            f"{result} is not a NetCDF result bayesurv can read ({type(exc).__name__}); {fix}."
        ) from None
    if not any(g in tree.children for g in ("posterior", "derived")):
        raise InputError(
            f"{result} is NetCDF but holds no posterior draws (no posterior or derived group); "
            f"{fix}."
        )
    quantities = quantities_from_tree(tree)
    rows = [probability(s, quantities) for s in statements]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    tab = Table(title=f"Posterior probabilities ({rows[0]['draws']} draws)")
    tab.add_column("statement")
    tab.add_column("probability", justify="right")
    tab.add_column("MC error", justify="right")
    for r in rows:
        tab.add_row(r["statement"], f"{r['probability']:.3f}", f"{r['mcse']:.3f}")
    Console().print(tab)
