"""The ``bayesurv`` command line: one module per command, sharing :mod:`bayesurv.cli.common`.

Each command reads files, calls one Python function that computes on plain tables, and writes
files. Importing this package registers every command on :data:`app`.
"""

import sys

import bayesurv.cli.batch  # noqa: F401  (bayesurv propagate)
from bayesurv.cli import demo, digitize, fit, nma, pool, query, reconstruct, run  # noqa: F401
from bayesurv.cli.common import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    app()
    sys.exit(0)
