"""What a saved result needs to be re-made: versions, seed, input hashes.

Every NetCDF, JSON or CSV that bayesurv writes carries :func:`provenance` so that an assessor can
tell which code, libraries, inputs and seed produced it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_LIBRARIES = (
    "bayesurv",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "pymc",
    "pytensor",
    "nutpie",
    "arviz",
    "arviz-base",
    "arviz-stats",
)


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries that shape bayesurv's numbers."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def provenance(
    *, seed: int | None = None, inputs: dict[str, str | Path] | None = None, **extra: object
) -> dict[str, object]:
    """A flat, JSON-serializable record of how a result was made.

    Parameters
    ----------
    seed : the random seed used, if any.
    inputs : role -> path of each input file; each is recorded with its SHA-256.
    extra : anything else worth recording (the command line, the spec text, ...).

    Examples
    --------
    >>> p = provenance(seed=1)
    >>> p["seed"], "pymc" in p["versions"]
    (1, True)
    """
    rec: dict[str, object] = {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "versions": library_versions(),
    }
    if inputs:
        rec["inputs"] = {
            role: {"path": str(p), "sha256": file_sha256(p)} for role, p in inputs.items()
        }
    rec.update(extra)
    return rec
