"""What reading and reconstructing import: no statistics stack they do not use.

A fresh ``bayesurv reconstruct`` process pays for every module it imports (issue 11: one
two-arm figure in under 5 s on 2 cores). Reconstruction needs numpy, pandas and scipy (and the
OCR engine for a figure); it does not need xarray, the ArviZ packages, PyMC, PyTensor, dask or
matplotlib, which :mod:`bayesurv.intervals` used to pull in at import (xarray alone ~0.16 s,
more on a loaded machine). Each check runs in a fresh interpreter, so what an earlier test
imported does not hide what a module imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "gbsg2"

#: packages that reading and reconstructing never use
HEAVY = ("xarray", "arviz", "arviz_base", "arviz_stats", "pymc", "pytensor", "dask", "matplotlib")


def _loaded_after(code: str) -> list[str]:
    """The HEAVY packages in ``sys.modules`` once ``code`` has run in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    r = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _cli(args: list[str]) -> str:
    """Run the bayesurv app on ``args`` without exiting (the exit code must be 0)."""
    return (
        "import io, contextlib\n"
        "from bayesurv.cli import app\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = app({args!r}, standalone_mode=False)\n"
        "assert code == 0, code\n"
    )


@pytest.mark.parametrize(
    "module",
    ["bayesurv.reconstruct", "bayesurv.figure_reconstruction", "bayesurv.intervals"],
)
def test_importing_reconstruction_pulls_in_no_statistics_stack(module):
    assert _loaded_after(f"import {module}") == []


@pytest.mark.parametrize("args", [["--help"], ["reconstruct", "--help"]], ids=" ".join)
def test_cli_start_up_pulls_in_no_statistics_stack(args):
    assert _loaded_after(_cli(args)) == []


def test_reconstruct_command_pulls_in_no_statistics_stack(tmp_path):
    out = tmp_path / "ipd.csv"
    args = [
        "reconstruct",
        str(EXAMPLE / "clicks_tamoxifen.csv"),
        "--at-risk",
        str(EXAMPLE / "at_risk.csv"),
        "--arm",
        "tamoxifen",
        "--total-events",
        "94",
        "--out",
        str(out),
    ]
    assert _loaded_after(_cli(args)) == []
    lines = out.read_text().splitlines()  # it did reconstruct: 246 patients, 94 events
    assert lines[0] == "time,event,arm" and len(lines) == 247
    assert sum(int(row.split(",")[1]) for row in lines[1:]) == 94


def test_interval_still_imports_what_it_uses():
    """The deferred imports are made when an interval is computed (ArviZ brings dask too)."""
    code = (
        "import numpy as np\nfrom bayesurv.intervals import summary\n"
        "s = summary(np.arange(101.0))\n"
        "assert abs(s['median'] - 50.0) < 1e-12 and abs(s['lower'] - 2.5) < 1e-12, s\n"
    )
    assert {"arviz_stats", "xarray"} <= set(_loaded_after(code))


def test_reconstructing_a_figure_pulls_in_no_statistics_stack(tmp_path):
    """The whole figure path (OCR, tracing, reconstruction, the report and the overlay PNG)
    imports none of HEAVY: the overlay's labels use Pillow's own font, not matplotlib's."""
    from bayesurv.digitize.styles import render_style

    figure = tmp_path / "lancet.png"
    render_style("lancet", figure)  # drawn here, with matplotlib, before the fresh process
    out = tmp_path / "ipd.csv"
    assert _loaded_after(_cli(["reconstruct", str(figure), "--out", str(out)])) == []
    overlay = out.with_suffix(".overlay.png")
    assert overlay.stat().st_size > 10_000  # the overlay was drawn, with its text
    lines = out.read_text().splitlines()
    assert lines[0] == "time,event,arm" and len(lines) > 100


def test_help_reads_no_table_library():
    """``bayesurv --help`` (and every command's start-up) imports no pandas: the data sets and
    the life tables import it where they read a table (pandas is ~0.45 s of a 0.6 s start-up)."""
    probe = _cli(["--help"]) + "import sys\nprint('pandas' in sys.modules)\n"
    r = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False"
