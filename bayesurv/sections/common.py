"""What every section of an analysis run shares: names, seeds, progress, interval summaries."""

from __future__ import annotations

import re
import time as _time
import zlib

import numpy as np

from bayesurv.lifetable import UNITS_PER_YEAR  # noqa: F401  (re-exported for the sections)

_Z = 1.959963984540054


def key_of(name: str) -> str:
    """A query-friendly identifier for a section name ("EFS across trials" -> efs_across_trials)."""
    k = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return k if k and not k[0].isdigit() else f"s_{k}"


def derived_seed(seed: int, *names: str) -> int:
    return (int(seed) + zlib.crc32("/".join(names).encode())) % (2**31 - 1)


class Progress:
    """A rich status line, or nothing with ``quiet``."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = _time.perf_counter()
        if not quiet:
            from rich.console import Console

            self.console = Console(stderr=True)

    def say(self, msg: str) -> None:
        if not self.quiet:
            self.console.print(f"[dim]{_time.perf_counter() - self.t0:6.1f}s[/] {msg}")


def interval_summary(x) -> dict:
    """Median, 95% equal-tailed interval and mean of finite draws."""
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975])
    return {"median": float(med), "lower": float(lo), "upper": float(hi), "mean": float(x.mean())}
