"""What every command shares: usage errors, refused options and pydantic errors come out as one
sentence with exit code 2, and warnings never reach the terminal as library noise."""

import warnings
from typing import Annotated

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from bayesurv.cli.common import _Group, count_option, figure_option, guard, seed_option
from bayesurv.errors import InputError


class BayesurvNote(UserWarning):
    """A warning bayesurv means the user to read."""


BayesurvNote.__module__ = "bayesurv.testing"


def make_app():
    app = typer.Typer(cls=_Group, add_completion=False, pretty_exceptions_enable=False)

    @app.command("go")
    @guard
    def go(
        seed: Annotated[int, seed_option()] = 1,
        draws: Annotated[int, count_option("--draws", "Draws.", minimum=1)] = 10,
        plot: Annotated[str | None, figure_option()] = None,
        mode: Annotated[str, typer.Option()] = "ok",
    ) -> None:
        if mode == "numpy":
            np.log(np.zeros(1))  # a RuntimeWarning from numpy
        if mode == "note":
            warnings.warn("the curve was clipped at 1", BayesurvNote, stacklevel=1)
            warnings.warn("the curve was clipped at 1", BayesurvNote, stacklevel=1)
        if mode == "fail":
            np.log(np.zeros(1))
            raise InputError("x.csv, row 2: time is 'inf'; write the number")
        if mode == "pydantic":
            from pydantic import BaseModel, Field

            class M(BaseModel):
                draws: int = Field(ge=1)

            M(draws=0)
        typer.echo(f"seed {seed} draws {draws}")

    @app.command("other")
    def other() -> None:
        pass

    return app


@pytest.mark.parametrize(
    "args, match",
    [
        (
            ["go", "--seed", "-1"],
            "invalid value for '--seed': -1 is not allowed; give a whole "
            "number of at least 0, e.g. --seed 1",
        ),
        (["go", "--draws", "0"], "'--draws': 0 is not allowed; give a whole number of at least 1"),
        (["go", "--draws", "abc"], "invalid value for '--draws'"),
        (["go", "--plot", "fig.xyz"], "matplotlib cannot write '.xyz'; use one of .png, .svg"),
        (["go", "--nope"], "no such option: --nope"),
        (["nosuch"], "no such command 'nosuch'"),
        (
            ["go", "--mode", "pydantic"],
            "draws: Input should be greater than or equal to 1 \\(got 0\\)",
        ),
        (["go", "--mode", "fail"], "x.csv, row 2: time is 'inf'; write the number.$"),
    ],
)
def test_failures_are_one_sentence_with_exit_code_2(args, match):
    r = CliRunner().invoke(make_app(), args)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bayesurv: "), r.output
    assert __import__("re").search(match, lines[0]), lines[0]
    assert "Traceback" not in r.output


def test_valid_options_pass():
    r = CliRunner().invoke(make_app(), ["go", "--seed", "0", "--draws", "1", "--plot", "a.svg"])
    assert r.exit_code == 0 and r.output.strip() == "seed 0 draws 1"


def test_bayesurv_warnings_become_one_line_each(recwarn):
    r = CliRunner().invoke(make_app(), ["go", "--mode", "note"])
    assert r.exit_code == 0
    assert r.output.count("bayesurv: warning: the curve was clipped at 1.") == 1


def test_library_warnings_stay_out_of_the_terminal():
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a user's terminal
        r = CliRunner().invoke(make_app(), ["go", "--mode", "numpy"])
    assert r.exit_code == 0 and r.output.strip() == "seed 1 draws 10"


def test_library_warnings_still_fail_tests_that_make_them_errors():
    """pytest's filterwarnings = error still sees a warning raised inside a command."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = CliRunner().invoke(make_app(), ["go", "--mode", "numpy"])
    assert r.exit_code == 1 and isinstance(r.exception, RuntimeWarning)
