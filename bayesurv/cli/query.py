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
    result: Annotated[
        Path,
        typer.Argument(
            help="A saved bayesurv result (NetCDF DataTree), or the results folder of bayesurv "
            "run (its statements as the report prints them)."
        ),
    ],
    statements: Annotated[
        list[str] | None,
        typer.Argument(help='Statements such as "P(hr < 0.8)" or "P(surv_diff(5 years) > 0.10)".'),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    list_names: Annotated[
        bool, typer.Option("--list", help="List every name the result holds, its meaning and unit.")
    ] = False,
) -> None:
    """Posterior probabilities of statements about a saved result.

    The grammar: named quantities (an unknown name lists those that exist), numbers,
    + - * / ^, exp/log/abs/min/max, comparisons (chains allowed: 0.5 < hr < 0.8), and, or,
    not, parentheses; a quantity over time is read at a time with name(t) (t in the data's
    unit, or with its unit: name(5 years), name(60 months), name(52 weeks)), one over studies
    or arms with name("label") or name[label], a network's hr[A vs B]. 10% is 0.10. Each line
    gives the probability ("> 0.999" when every draw agrees) and its Monte Carlo error.
    """
    import xarray as xr

    from bayesurv.query import quantities_from_tree

    fix = "give a result saved by bayesurv (fit --netcdf, or a <section>.nc of bayesurv run)"
    if not result.exists():
        raise InputError(f"{result}: no such file; {fix}.")
    if not statements and not list_names:
        raise InputError(
            f'give a statement after {result}, e.g. "P(hr < 0.8)", or --list for the names it '
            "holds."
        )
    if result.is_dir() and (result / "summary.json").exists():
        from bayesurv.query_names import by_suffix
        from bayesurv.runner import quantities_from_results

        quantities = by_suffix(quantities_from_results(result))
        _answer(quantities, statements, as_json, list_names)
        return
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
        # read into memory and close: no file handle outlives the command (HDF5 handles left
        # in xarray's cache across many opens have crashed the library)
        with xr.open_datatree(result) as opened:
            tree = opened.load()
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(
            f"{result} is not a NetCDF result bayesurv can read ({type(exc).__name__}); {fix}."
        ) from None
    if not any(g in tree.children for g in ("posterior", "derived")):
        raise InputError(
            f"{result} is NetCDF but holds no posterior draws (no posterior or derived group); "
            f"{fix}."
        )
    quantities = quantities_from_tree(tree, section_key=result.stem)
    _answer(quantities, statements, as_json, list_names)


def _answer(quantities, statements, as_json: bool, list_names: bool) -> None:
    import json

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from bayesurv.query import probability
    from bayesurv.query_names import listing

    if list_names:
        names = listing(quantities)
        if as_json:
            typer.echo(json.dumps(names.to_dict(orient="records"), indent=2))
        else:
            tab = Table(title="Names a query can use")
            for col in names.columns:
                tab.add_column(col)
            for row in names.itertuples(index=False):
                tab.add_row(*[escape(str(x)) for x in row])  # hr[A vs B] is not markup
            Console(width=160).print(tab)
        if not statements:
            return
    rows = [probability(s, quantities) for s in statements]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    tab = Table(title=f"Posterior probabilities ({rows[0]['draws']:,} draws)")
    tab.add_column("statement")
    tab.add_column("probability", justify="right")
    tab.add_column("MC error", justify="right")
    for r in rows:
        tab.add_row(escape(r["statement"]), r["probability_text"], r["mcse_text"])
    Console().print(tab)
