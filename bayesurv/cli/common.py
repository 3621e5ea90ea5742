"""What every command shares: the typer app, the one-sentence failure, overwrite refusal.

Bad input raises :class:`bayesurv.errors.InputError`; :func:`guard` turns it into one sentence
on standard error and exit code 2, and nothing is written.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from bayesurv import __version__
from bayesurv.errors import InputError

app = typer.Typer(
    name="bayesurv",
    help=(
        "Bayesian evidence synthesis of time-to-event trials.\n\n"
        "Reconstruct individual patient data from published Kaplan-Meier curves and numbers at "
        "risk, fit Bayesian parametric survival models, pool hazard ratios hierarchically, and "
        "answer posterior probability questions. Intervals are 95% equal-tailed; every command "
        "that draws random numbers takes --seed."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"bayesurv {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Bayesian evidence synthesis of time-to-event trials."""


def fail(message: str) -> None:
    """Print one sentence to standard error and exit with code 2."""
    typer.echo(f"bayesurv: {message}", err=True)
    raise typer.Exit(code=2)


def guard(func):
    """Turn InputError (and unreadable files) into one sentence and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            fail(str(exc))
        except (
            FileNotFoundError,
            IsADirectoryError,
            NotADirectoryError,
            FileExistsError,
            PermissionError,
        ) as exc:
            fail(
                f"{exc.filename}: {(exc.strerror or 'cannot use this path').lower()}; check the path."
            )

    return wrapper


def refuse_overwrite(path: Path, force: bool = False) -> None:
    """Refuse to overwrite a file or folder the user already has, unless ``force``."""
    if path.exists() and not force:
        raise InputError(
            f"{path} already exists; choose another output path or pass --force to replace it."
        )


def parse_numbers(text: str, option: str) -> list[float]:
    """``"12,24,60"`` -> ``[12.0, 24.0, 60.0]``; one sentence naming the option otherwise."""
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{option} {text!r} must be numbers separated by commas.") from None
    if not out:
        raise InputError(f"{option} {text!r} must list at least one number.")
    return out
