"""What every command shares: the typer app, the one-sentence failure, option validators,
overwrite refusal.

Bad input raises :class:`bayesurv.errors.InputError`; :func:`guard` turns it (and pydantic's
validation errors and unusable paths) into one sentence on standard error and exit code 2, and
nothing is written. The app's command group does the same for Typer/Click usage errors (a
missing option, ``--draws abc``, a value a validator refuses), and keeps warnings out of the
terminal: bayesurv's own become one ``warning:`` line each when the command succeeds; numpy,
PIL, pandas and PyMC warnings are dropped (unless the warning filters make them errors, as the
tests do); on failure only the sentence is printed.
"""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click as click  # typer vendors click; its exceptions live here
from typer.core import TyperGroup

from bayesurv import __version__
from bayesurv.errors import InputError


def _sentence(text: str) -> str:
    """One line, ending in one full stop (or the question or exclamation mark it has)."""
    text = " ".join(str(text).split())
    return text if text.endswith(("?", "!")) else text.rstrip(".") + "."


class _Group(TyperGroup):
    """The bayesurv command group: usage errors in one sentence, warnings kept in."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        outer = warnings.filters[:]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
                code = code if isinstance(code, int) else 0
            except click.exceptions.NoArgsIsHelpError as exc:
                click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
                code = 0
            except click.exceptions.ClickException as exc:
                click.echo(f"bayesurv: {_usage_sentence(exc)}", err=True)
                code = exc.exit_code if exc.exit_code else 2
            except typer.Abort:
                click.echo("bayesurv: interrupted; nothing was written.", err=True)
                code = 130
        if code == 0:
            _replay(caught, outer)
        if standalone_mode:
            sys.exit(code)
        return code


def _usage_sentence(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    message = exc.format_message()
    if message:
        message = message[0].lower() + message[1:]
    where = f"'{ctx.command_path} --help'" if ctx is not None else "'bayesurv --help'"
    return _sentence(f"{message.rstrip('.')}; see {where}")


def _module_of(filename: str) -> str:
    """``.../site-packages/pymc/sampling/mcmc.py`` -> ``pymc.sampling.mcmc`` (for filters)."""
    parts = Path(filename).with_suffix("").parts
    for anchor in ("site-packages", "dist-packages"):
        if anchor in parts:
            return ".".join(parts[parts.index(anchor) + 1 :])
    if "bayesurv" in parts:
        return ".".join(parts[len(parts) - 1 - parts[::-1].index("bayesurv") :])
    return Path(filename).stem


def _replay(caught, outer_filters) -> None:
    """After a command succeeded: bayesurv's warnings as one line each, others dropped unless
    the caller's filters turn them into errors."""
    seen = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if category.__module__.startswith("bayesurv") and text and text not in seen:
            seen.add(text)
            click.echo(f"bayesurv: warning: {_sentence(text)}", err=True)

    saved_filters, saved_show = warnings.filters[:], warnings.showwarning
    warnings.filters[:] = outer_filters
    warnings.showwarning = show
    try:
        for w in caught:
            warnings.warn_explicit(
                w.message, w.category, w.filename, w.lineno, module=_module_of(w.filename)
            )
    finally:
        warnings.filters[:] = saved_filters
        warnings.showwarning = saved_show


app = typer.Typer(
    name="bayesurv",
    cls=_Group,
    help=(
        "Bayesian evidence synthesis of time-to-event trials.\n\n"
        "Reconstruct individual patient data from published Kaplan-Meier curves and numbers at "
        "risk, fit Bayesian parametric survival models, pool hazard ratios hierarchically, and "
        "answer posterior probability questions. Intervals are equal-tailed, 95% unless --ci "
        "(a spec's ci) sets another width; every command that draws random numbers takes --seed."
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
    typer.echo(f"bayesurv: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(code=2)


def guard(func):
    """Turn InputError, pydantic validation errors, unusable paths and a failed write (the
    output plan has removed what it made) into one sentence and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            fail(_sentence(exc))
        except (
            FileNotFoundError,
            IsADirectoryError,
            NotADirectoryError,
            FileExistsError,
            PermissionError,
        ) as exc:
            reason = (exc.strerror or "cannot use this path").lower()
            fail(f"{exc.filename}: {reason}; check the path.")
        except OSError as exc:  # a disk that fills or fails while the outputs are written
            reason = (exc.strerror or str(exc) or "the system refused").lower()
            where = f"{exc.filename}: " if exc.filename else ""
            fail(
                f"{where}could not write the results ({reason}); nothing was written, free "
                "some space or choose another folder."
            )
        except Exception as exc:
            if type(exc).__module__.startswith("pydantic") and hasattr(exc, "errors"):
                fail(_pydantic_sentence(exc))
            raise

    return wrapper


def _pydantic_sentence(exc: Any) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or getattr(exc, "title", "the input")
    msg = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
    return _sentence(f"{loc}: {msg}{shown}; fix that value")


# ------------------------------------------------------------------------------------------
# option validators: typer.Option factories whose callbacks refuse bad values in one sentence
# ------------------------------------------------------------------------------------------
def _whole(option: str, minimum: int, example: int):
    def check(value):
        if value is None:
            return value
        if value < minimum:
            raise typer.BadParameter(
                f"{value} is not allowed; give a whole number of at least {minimum}, e.g. "
                f"{option} {example}",
                param_hint=f"'{option}'",
            )
        return value

    return check


def seed_option(help: str = "Random seed (a whole number >= 0).") -> Any:
    """``--seed``: a whole number >= 0 (numpy's generators refuse negative seeds)."""
    return typer.Option("--seed", help=help, callback=_whole("--seed", 0, 1))


def count_option(option: str, help: str, *, minimum: int = 1, example: int = 1000) -> Any:
    """A count such as ``--draws``, ``--tune`` or ``--chains``: a whole number >= minimum."""
    return typer.Option(option, help=help, callback=_whole(option, minimum, example))


def _figure_path(option: str):
    def check(value):
        if value is None:
            return value
        from bayesurv.outputs import SUFFIXES

        suffix = Path(value).suffix.lower()
        if suffix not in SUFFIXES["figure"]:
            raise typer.BadParameter(
                f"{value}: matplotlib cannot write '{suffix or 'no suffix'}'; use one of "
                f"{', '.join(SUFFIXES['figure'])}",
                param_hint=f"'{option}'",
            )
        return value

    return check


def figure_option(option: str = "--plot", help: str = "Figure to write (PNG/SVG/PDF).") -> Any:
    """A figure path whose suffix matplotlib can write (checked before any work)."""
    return typer.Option(option, help=help, callback=_figure_path(option))


def refuse_overwrite(path: Path, force: bool = False) -> None:
    """Refuse to overwrite a file or folder the user already has, unless ``force``."""
    if path.exists() and not force:
        raise InputError(
            f"{path} already exists; choose another output path or pass --force to replace it."
        )


def stderr_console():
    """The console progress goes to: standard error (standard output stays the results)."""
    from rich.console import Console

    return Console(stderr=True)


def progress_bar(console=None):
    """The one progress bar (:func:`bayesurv.progress.progress_bar`) on standard error, shown
    only when it is a terminal (a pipe, a log file, the tests: nothing).

    Examples
    --------
    >>> with progress_bar() as bar:                       # not a terminal here: nothing shown
    ...     task = bar.add_task("fitting", total=2)
    ...     bar.advance(task, 2)
    """
    from bayesurv.progress import progress_bar as bar

    return bar(None, console or stderr_console())


def parse_numbers(text: str, option: str) -> list[float]:
    """``"12,24,60"`` -> ``[12.0, 24.0, 60.0]``; one sentence naming the option otherwise."""
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{option} {text!r} must be numbers separated by commas.") from None
    if not out:
        raise InputError(f"{option} {text!r} must list at least one number.")
    return out
