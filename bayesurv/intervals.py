"""Credible intervals: one helper on ArviZ's ``eti``, with the width set once.

Every interval bayesurv reports is equal-tailed: the ``(1 - ci) / 2`` and ``(1 + ci) / 2``
quantiles of the posterior draws (``arviz_stats.eti``), next to the posterior median. The width
``ci`` is 0.95 unless the caller sets it once for a block of work (:func:`ci_width`: the CLI's
``--ci``, a spec's ``ci``); functions that report intervals take ``ci=None`` and read it here.
Infinite draws (a mean survival that does not exist) sort last and stay infinite.

xarray, pandas and arviz_stats are imported by the functions that use them, not by this
module, so that :func:`check_ci` and :func:`width` (read by ``bayesurv reconstruct`` and the
other commands) do not pull them in at start-up.

Examples
--------
>>> import numpy as np
>>> draws = np.random.default_rng(1).normal(size=(4, 1000))
>>> s = summary(draws)
>>> round(s["lower"], 1), round(s["upper"], 1)
(-1.9, 2.0)
>>> with ci_width(0.5):                  # the 25% and 75% quantiles
...     round(summary(draws)["upper"], 2) == round(float(np.quantile(draws, 0.75)), 2)
True
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from bayesurv.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

#: the width of every interval unless set otherwise
DEFAULT_CI = 0.95
SAMPLE_DIMS = ("chain", "draw")
_current = [DEFAULT_CI]


def check_ci(ci: float) -> float:
    """``ci`` as a float in (0, 1), or an :class:`InputError` saying what is allowed."""
    try:
        c = float(ci)
    except (TypeError, ValueError):
        c = float("nan")
    if not 0.0 < c < 1.0:
        raise InputError(f"the interval width {ci!r} must lie in (0, 1), e.g. 0.95 or 0.9.")
    return c


def width(ci: float | None = None) -> float:
    """The interval width in force: ``ci`` when given, else the one set by :func:`ci_width`."""
    return _current[-1] if ci is None else check_ci(ci)


@contextmanager
def ci_width(ci: float | None) -> Iterator[float]:
    """Set the width of every interval computed inside the block (``None`` keeps the current)."""
    _current.append(width(ci))
    try:
        yield _current[-1]
    finally:
        _current.pop()


def _is_data_array(x) -> bool:
    """Whether ``x`` is an ``xarray.DataArray`` (never true while xarray is not imported)."""
    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(x, xr.DataArray)


def _as_draws(x, dims) -> tuple[xr.DataArray, tuple[str, ...]]:
    import xarray as xr

    if isinstance(x, xr.DataArray):
        use = tuple(d for d in dims if d in x.dims)
        return x, use
    a = np.asarray(x, dtype=float).ravel()  # plain draws: one sample dim
    return xr.DataArray(a, dims=("sample",)), ("sample",)


def interval(x, ci: float | None = None, dims=SAMPLE_DIMS) -> xr.Dataset:
    """Posterior ``median``, ``lower`` and ``upper`` of draws over ``dims`` (other dims kept)."""
    import arviz_stats as azs
    import xarray as xr

    da, use = _as_draws(x, dims)
    big = np.finfo(float).max  # infinite draws sort last and come back infinite
    finite = da.where(~np.isposinf(da), big).astype(float)
    with np.errstate(over="ignore", invalid="ignore"):  # interpolating between two big values
        bounds = azs.eti(finite, prob=width(ci), dim=list(use))
        med = finite.median(use)
    out = xr.Dataset(
        {
            "median": med,
            "lower": bounds.sel(ci_bound="lower", drop=True),
            "upper": bounds.sel(ci_bound="upper", drop=True),
        }
    )
    return out.where(out < 1e300, np.inf)


def summary(x, ci: float | None = None) -> dict[str, float]:
    """``{"median", "lower", "upper", "mean"}`` of all the draws in ``x`` (plain floats)."""
    v = np.asarray(x.values if _is_data_array(x) else x, dtype=float).ravel()
    v = v[~np.isnan(v)]
    q = interval(v, ci)
    out = {k: float(q[k]) for k in ("median", "lower", "upper")}
    with np.errstate(invalid="ignore"):
        out["mean"] = float(np.mean(v)) if v.size else float("nan")
    return out


def table(da: xr.DataArray, ci: float | None = None, dims=SAMPLE_DIMS) -> pd.DataFrame:
    """A tidy table of ``da``: one row per value of its other dims, then median, lower, upper."""
    import pandas as pd

    q = interval(da, ci, dims)
    if not q["median"].dims:
        return pd.DataFrame({k: [float(q[k])] for k in ("median", "lower", "upper")})
    df = q.to_dataframe().reset_index()
    keep = [d for d in q["median"].dims] + ["median", "lower", "upper"]
    return df[keep]
