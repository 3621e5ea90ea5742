"""Numbers as a committee reads them: the one formatter of every value in ``report.html``.

Every table cell and every number in a sentence of the report goes through these functions:

* a probability as a percentage with one decimal (``95.9%``), ``> 99.9%`` and ``< 0.1%``
  beyond that (a share of draws cannot say more);
* any other number to three significant digits without exponents (``0.00123``, ``12.3``), and
  from 1,000 on as a rounded whole number with thousands separators (``1,190``, never
  ``1.19e+03``); at most ten decimals, and a non-zero value that ten decimals would show as 0
  as ``< 0.0000000001`` (never a 0); whole numbers as whole numbers; R-hat to three decimals;
* a threshold of a query as typed (:func:`plain`: ``7``, not ``7.00`` or ``7.000000000000001``);
* a share of posterior draws with its Monte Carlo error, or - when every draw or none agrees -
  the rule of three's bound ``above 99.7%`` for 1,000 draws (:func:`share_of_draws`);
* ``yes`` / ``no`` for booleans, an empty cell for a missing value;
* an interval as ``0.58 (0.41 to 0.83)`` ("to", not "-", so negative limits read right).

Examples
--------
>>> number(1190.4), number(0.0012345), number(2.0), number(True)
('1,190', '0.00123', '2', 'yes')
>>> percent(0.95858), percent(0.99991), percent(0.99991, words=True)
('95.9%', '> 99.9%', 'more than 99.9%')
>>> interval({"median": 0.581, "lower": 0.412, "upper": 0.833})
'0.581 (0.412 to 0.833)'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

#: significant digits of a number that no column rule covers
DIGITS = 3
#: the most decimals a number is written with; a smaller non-zero value is ``< 0.0000000001``
MAX_DECIMALS = 10
#: column names read as probabilities (shown as percentages)
_PERCENT_COLUMN = re.compile(r"^P\(|probabilit|^p_(hr|below|above|better|best)|_lt_\d|share")
#: column names shown to three decimals (a convergence check reads the third decimal)
_RHAT_COLUMN = re.compile(r"r-?hat", re.I)
#: effective sample sizes: whole numbers
_ESS_COLUMN = re.compile(r"(^|[^a-z])ess([^a-z]|$)", re.I)


def _is_missing(x) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(isinstance(x, float | np.floating) and math.isnan(x))
    except TypeError:
        return False


def number(x, digits: int = DIGITS, decimals: int | None = None, trim: bool = False) -> str:
    """``x`` for people: ``digits`` significant digits (or fixed ``decimals``), no exponent,
    thousands separated from 1,000 on, whole numbers without decimals, booleans as yes/no;
    ``trim`` drops trailing zeros (for a sentence: ``3.5%``, not ``3.50%``)."""
    text = _number(x, digits, decimals)
    if trim and "." in text and text[-1].isdigit():
        text = text.rstrip("0").rstrip(".")
    return text


def _number(x, digits: int, decimals: int | None) -> str:
    if _is_missing(x):
        return ""
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return f"{int(x):,}"
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if decimals is not None:
        text = f"{x:,.{decimals}f}"
        return "0" if float(text.replace(",", "")) == 0 and decimals == 0 else text
    if x == 0:
        return "0"
    if abs(x) >= 1000 or (x == round(x) and abs(x) < 1e15):
        return f"{round(x):,}"
    places = digits - 1 - math.floor(math.log10(abs(x)))
    places = max(0, min(places, MAX_DECIMALS))
    text = f"{x:.{places}f}"
    if float(text) == 0:  # below half the last of MAX_DECIMALS: a bound, never a 0
        smallest = f"{10.0**-MAX_DECIMALS:.{MAX_DECIMALS}f}"
        return f"< {smallest}" if x > 0 else f"> -{smallest}"
    if float(text) == round(float(text)) and abs(float(text)) >= 1000:
        return f"{round(float(text)):,}"
    return text


def percent(p: float, words: bool = False, decimals: int = 1) -> str:
    """A probability as a percentage: ``95.9%``; ``> 99.9%`` / ``< 0.1%`` beyond the
    decimals shown (``words``: ``more than 99.9%`` / ``less than 0.1%``, for sentences)."""
    if _is_missing(p):
        return ""
    p = float(p)
    step = 10.0 ** (-decimals) / 100.0  # 0.001 with one decimal
    hi, lo = ("more than ", "less than ") if words else ("> ", "< ")
    if p >= 1.0 - step / 2:
        return f"{hi}{100 * (1 - step):.{decimals}f}%"
    if p < step / 2:
        return f"{lo}{100 * step:.{decimals}f}%"
    return f"{100 * p:.{decimals}f}%"


def error_percent(err: float) -> str:
    """A Monte Carlo error (a probability's standard error) in percentage points: ``0.3%``,
    two significant digits below 0.1 points (``0.04%``), ``< 0.01%`` below that."""
    if _is_missing(err):
        return ""
    e = 100.0 * float(err)
    if e < 0.01:
        return "< 0.01%"
    if e < 0.1:
        return f"{e:.2f}%"
    return f"{e:.1f}%"


def plain(x: float, places: int = 9) -> str:
    """A number as it was typed (a query's threshold): up to ``places`` decimals, trailing
    zeros dropped, thousands separated, no exponent and no float noise (``100 * 0.07`` is
    ``7``, not ``7.000000000000001``); a non-zero value below that precision by :func:`number`.

    >>> plain(100 * 0.07), plain(-5.0), plain(0.8125), plain(2500)
    ('7', '-5', '0.8125', '2,500')
    """
    if _is_missing(x) or isinstance(x, bool | np.bool_):
        return number(x)
    x = float(x)
    if math.isinf(x):
        return number(x)
    if x != 0 and abs(x) < 10.0**-places:
        return number(x)
    text = f"{round(x, places):,.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def share_of_draws(p: float, mcse: float, draws: int, of: str = "") -> tuple[str, str]:
    """A probability estimated as the share of ``draws`` posterior draws where a statement
    holds, for a sentence: the value and what it rests on (``of``: which draws, e.g.
    ``" of the weibull model"``).

    Usually the share with its Monte Carlo error. When every draw (or none) satisfies the
    statement the share is 1 (or 0) and its estimated error 0, which say more than the draws
    do: the value given is then the rule of three's bound, P > 1 - 3 / draws (P < 3 / draws;
    3 / n is the 95% upper limit of a rate with no event in n independent trials), written
    with the digits of 3 / draws and rounded so that it stays true; with 3 draws or fewer
    nothing is bounded.

    >>> share_of_draws(0.954375, 0.004857, 8000)
    ('95.4%', 'Monte Carlo error 0.5%; 8,000 posterior draws')
    >>> share_of_draws(1.0, 0.0, 1000)[0], share_of_draws(0.0, 0.0, 8000)[0]
    ('above 99.7%', 'below 0.04%')
    """
    n = max(int(draws), 1)
    if p not in (0.0, 1.0):
        return percent(
            p, words=True
        ), f"Monte Carlo error {error_percent(mcse)}; {n:,} posterior draws{of}"
    holds = f"all {n:,}" if p == 1.0 else f"none of the {n:,}"
    bound = 300.0 / n  # in percentage points
    if bound >= 100:
        return "unknown", f"it holds in {holds} posterior draws{of}, too few to bound it"
    decimals = max(0, -math.floor(math.log10(bound)))  # one significant digit of 3 / n
    scale = 10.0**decimals
    if p == 1.0:
        text = f"above {math.floor((100.0 - bound) * scale + 1e-9) / scale:.{decimals}f}%"
    else:
        text = f"below {math.ceil(bound * scale - 1e-9) / scale:.{decimals}f}%"
    return text, f"it holds in {holds} posterior draws{of}; 95% bound by the rule of three"


def interval(d: Mapping, digits: int = DIGITS, pct: bool = False, decimals=None) -> str:
    """``median (lower to upper)`` of a summary dict (``pct``: as percentages, one decimal)."""
    if pct:
        return f"{100 * d['median']:.1f}% ({100 * d['lower']:.1f}% to {100 * d['upper']:.1f}%)"
    parts = [number(d[k], digits, decimals) for k in ("median", "lower", "upper")]
    return f"{parts[0]} ({parts[1]} to {parts[2]})"


def header(name) -> str:
    """A column name for people: ``within_published_ci`` -> ``within published CI``."""
    text = str(name)
    if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", text):
        words = text.split("_")
        words = [
            w.upper() if w in ("ci", "hr", "ess", "waic", "loo", "se", "aic", "bic") else w
            for w in words
        ]
        text = " ".join(words)
    return text


def rhat(x, threshold: float = 1.01) -> str:
    """R-hat to three decimals, or four where three would put it on the other side of the
    convergence threshold (1.0104 is ``1.0104``, not ``1.010``).

    >>> rhat(1.0039), rhat(1.0104)
    ('1.004', '1.0104')
    """
    if _is_missing(x):
        return ""
    x = float(x)
    if not math.isfinite(x):
        return number(x)
    three = round(x, 3)
    if (three > threshold) != (x > threshold):
        return f"{x:.4f}"
    return f"{x:.3f}"


def _legacy(float_format: str | None) -> tuple[int, int | None]:
    """``"{:.3f}"`` -> 3 fixed decimals, ``"{:.4g}"`` -> 4 significant digits (callers that
    still pass a format string get the same rules, never an exponent)."""
    if not float_format:
        return DIGITS, None
    m = re.fullmatch(r"\{:[,]?\.(\d+)([fg])\}", float_format)
    if not m:
        return DIGITS, None
    n = int(m.group(1))
    return (n, None) if m.group(2) == "g" else (DIGITS, n)


def format_table(
    df: pd.DataFrame,
    float_format: str | None = None,
    percent_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """Every cell of ``df`` as text by the rules above: columns named like probabilities
    (``P(...)``, ``probability``) or listed in ``percent_columns`` as percentages, R-hat
    columns to three decimals, ESS columns as whole numbers, headers without underscores."""
    digits, decimals = _legacy(float_format)
    pct = set(percent_columns)
    out = {}
    for col in df.columns:
        name = str(col)
        values = df[col].tolist()
        if name in pct or _PERCENT_COLUMN.search(name):
            out[header(col)] = [
                percent(v)
                if isinstance(v, float | int | np.number) and not isinstance(v, bool)
                else cell(v)
                for v in values
            ]
        elif _RHAT_COLUMN.search(name):
            out[header(col)] = [
                rhat(v) if isinstance(v, float | int | np.number) else cell(v) for v in values
            ]
        elif _ESS_COLUMN.search(name):
            out[header(col)] = [cell(v, decimals=0) for v in values]
        else:
            out[header(col)] = [cell(v, digits, decimals) for v in values]
    return pd.DataFrame(out, index=df.index)


def cell(v, digits: int = DIGITS, decimals: int | None = None) -> str:
    """One table cell: numbers by :func:`number`, text as it is, missing as empty."""
    if _is_missing(v):
        return ""
    if isinstance(v, bool | np.bool_ | int | np.integer | float | np.floating):
        return number(v, digits, decimals)
    if isinstance(v, list | tuple):
        return ", ".join(cell(x, digits, decimals) for x in v)
    return str(v)


#: what a fit of one chain says instead of "R-hat is nan" (JSON: ``rhat_max`` null beside it)
RHAT_NOTE = (
    "R-hat needs 2 or more chains and this fit ran one, so convergence is judged by ESS alone; "
    "run 4 chains (the default) for a result to report"
)


def level_percent(level: float | None = None) -> str:
    """An interval's width as a percentage label: ``90%``, ``95%``, ``97.5%`` (default the width
    in force, :func:`bayesurv.intervals.width`).

    >>> level_percent(0.975), level_percent(0.9)
    ('97.5%', '90%')
    """
    if level is None:
        from bayesurv.intervals import width

        level = width()
    return f"{100 * level:.4g}%"
