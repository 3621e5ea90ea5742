"""A reported confidence interval as a centre and a standard error: the one rule for every
reader of published numbers.

A trial publishes an estimate with a two-sided CI at level ``c`` (0.95 unless it says
otherwise: 0.90, 0.99, or 0.975 for an interim analysis). On the scale ``g`` where the estimate
is normal (``log`` for a hazard ratio or a median, ``cloglog`` or ``logit`` for a survival
proportion) the interval is ``g(estimate) -+ z se`` with ``z = Phi^-1((1 + c) / 2)``, so

    centre = g(estimate),   se = |g(upper) - g(lower)| / (2 z)        (z = 1.959964 for 95%);

with one limit only (an upper limit "not reached"), ``se = |g(estimate) - g(limit)| / z``.

The level is a proportion in (0, 1), given per row in an optional ``ci_level`` column (aliases
``conf_level``, ``confidence_level``; a blank cell means 0.95). A percentage such as ``95`` or
``97.5`` is refused, with the proportion to write instead, in one sentence naming the file and
row: the same rule in effects files (``bayesurv pool``), network files (``bayesurv nma``) and
the landmark, hazard-ratio and median files of a ``[[survival]]`` section or of external
evidence (:mod:`bayesurv.evidence.effects`, :mod:`bayesurv.evidence.reported`,
:mod:`bayesurv.survival.evidence`).

Examples
--------
A 90% CI of an HR 0.7 (0.55, 0.89):

>>> c, se = centre_se(0.7, 0.55, 0.89, level=0.90)
>>> round(se, 4)
0.1463
>>> z_of_level(95)  # doctest: +ELLIPSIS
Traceback (most recent call last):
bayesurv.errors.InputError: the CI level 95 is outside (0, 1) (write 0.95 for 95%); give it ...
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from bayesurv.errors import InputError, where

#: the level of a CI that states none
DEFAULT_LEVEL = 0.95
#: Phi^-1(0.975), the z of a 95% CI
Z95 = float(stats.norm.ppf(0.975))
#: the column that gives a row's CI level, and its other accepted spellings
LEVEL_COLUMN = "ci_level"
LEVEL_ALIASES = ("conf_level", "confidence_level")
#: what :func:`ci_label` calls CIs whose rows are at different levels
PER_ROW_LABEL = "CI (level per row)"
#: the scales a CI may be symmetric on
SCALES = ("log", "cloglog", "logit", "identity")


def z_of_level(level: float, source: str | None = None, row: int | None = None) -> float:
    """``Phi^-1((1 + level) / 2)``; a level outside (0, 1) is refused in one sentence naming
    the file and row (a percentage gets the proportion to write instead)."""
    ok = isinstance(level, int | float) and not isinstance(level, bool)
    if not (ok and math.isfinite(level) and 0 < level < 1):
        hint = f" (write {level / 100:g} for {level:g}%)" if ok and 1 < level < 100 else ""
        shown = f"{level:g}" if ok else repr(level)
        raise InputError(
            f"{where(source, row)}the CI level {shown} is outside (0, 1){hint}; give it as a "
            "proportion such as 0.95 or 0.975."
        )
    return float(stats.norm.ppf(0.5 + level / 2))


def level_text(level: float) -> str:
    """``0.975`` -> ``"97.5%"``, for messages and the ``se_from`` of a row."""
    return f"{100 * level:.10g}%"


def ci_label(row_levels) -> str:
    """What a table or figure of reported CIs calls them, from the rows' levels (each a checked
    proportion, e.g. :func:`levels`): ``"95% CI"`` when every row is at 0.95 (or there are no
    rows), ``"97.5% CI"`` when every row is at 0.975, ``"CI (level per row)"`` when they differ.

    >>> ci_label([0.975, 0.975]), ci_label([]), ci_label([0.95, 0.975])
    ('97.5% CI', '95% CI', 'CI (level per row)')
    """
    found = sorted({round(float(v), 12) for v in np.atleast_1d(np.asarray(row_levels, float))})
    if len(found) > 1:
        return PER_ROW_LABEL
    return f"{level_text(found[0] if found else DEFAULT_LEVEL)} CI"


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""


def parse_level(value, source: str | None = None, row: int | None = None) -> float:
    """One ``ci_level`` cell as a checked proportion: blank is :data:`DEFAULT_LEVEL`; text that
    is not a number, or a number outside (0, 1), is refused in one sentence."""
    if _blank(value):
        return DEFAULT_LEVEL
    text = str(value).strip() if isinstance(value, str) else None
    if text is not None and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")  # a decimal comma, as a ';' file writes 0,95
    try:
        level = float(text) if text is not None else float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{where(source, row)}column 'ci_level' holds {value!r}, not a number; give the CI "
            "level as a proportion such as 0.95."
        ) from None
    z_of_level(level, source, row)
    return level


def levels(df: pd.DataFrame, source: str | None = None, rows=None) -> np.ndarray:
    """Each row's CI level from the ``ci_level`` column (all :data:`DEFAULT_LEVEL` without one);
    ``rows`` are the 1-based file rows named in messages (default 1, 2, ...)."""
    rows = list(range(1, len(df) + 1)) if rows is None else list(rows)
    if LEVEL_COLUMN not in df.columns:
        return np.full(len(df), DEFAULT_LEVEL)
    return np.array(
        [parse_level(v, source, k) for v, k in zip(df[LEVEL_COLUMN].tolist(), rows, strict=True)],
        dtype=float,
    )


def transform(x, scale: str):
    """``g(x)`` on ``scale`` (one of :data:`SCALES`), elementwise."""
    x = np.asarray(x, dtype=float)
    if scale == "log":
        return np.log(x)
    if scale == "cloglog":
        return np.log(-np.log(x))
    if scale == "logit":
        return np.log(x / (1 - x))
    if scale == "identity":
        return x
    raise InputError(f"scale {scale!r} is not known; choose one of {', '.join(SCALES)}.")


def centre_se(
    estimate,
    lower,
    upper,
    level=DEFAULT_LEVEL,
    scale: str = "log",
    source: str | None = None,
    rows=None,
):
    """``(g(estimate), se)`` of estimates with their CIs at ``level`` (the formulas in the
    module docstring); arrays or scalars (returned as floats).

    A NaN ``upper`` (or ``lower``) is a one-sided interval on the other limit. The limits'
    order and the estimate's place inside them are the caller's checks; the level is checked
    here, row by row (``rows``: the 1-based file rows named in messages).

    Examples
    --------
    >>> c, se = centre_se([0.75, 0.71], [0.57, 0.55], [0.99, 0.93], [0.975, 0.95])
    >>> se.round(4).tolist()
    [0.1232, 0.134]
    """
    scalar = all(np.ndim(a) == 0 for a in (estimate, lower, upper, level))
    arrays = (np.asarray(a, dtype=float) for a in (estimate, lower, upper, level))
    est, lo, hi, lv = (np.atleast_1d(a).ravel() for a in np.broadcast_arrays(*arrays))
    rows = list(range(1, est.size + 1)) if rows is None else list(np.atleast_1d(rows))
    z = np.array([z_of_level(float(v), source, int(k)) for v, k in zip(lv, rows, strict=True)])
    g_est, g_lo, g_hi = (transform(a, scale) for a in (est, lo, hi))
    two = np.abs(g_hi - g_lo) / (2 * z)
    one = np.abs(g_est - np.where(np.isnan(hi), g_lo, g_hi)) / z
    se = np.where(np.isnan(hi) | np.isnan(lo), one, two)
    if scalar:
        return float(g_est[0]), float(se[0])
    return g_est, se
