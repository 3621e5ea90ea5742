"""Reported summaries of a trial and external long-term evidence: read, checked, and each
number's standard error.

Each becomes one likelihood term on the cohort's ``S_a(t)``: the arrays are made by
:mod:`bayesurv.survival.data` (with the nodes of :mod:`bayesurv.survival.evidence`), the
formulas are in :mod:`bayesurv.survival.terms`, the reasons for them in ARCHITECTURE.md ("why
the terms are written as they are"). Here each number gets its standard error from its CI on
the term's scale (``cloglog S = log(-log S)``, that of KM log-log CIs), by the one rule of
:func:`bayesurv.evidence.ci.centre_se`: a two-sided CI at level ``c`` (the row's ``ci_level``, a
proportion; 0.95 when the column is absent or blank) has ``z = Phi^-1((1 + c) / 2)`` (1.959964
for 95%, 1.644854 for 90%, 2.241403 for 97.5%):

* landmark ``S_hat(t)``, CI ``(lo, hi)``: ``se = (cloglog lo - cloglog hi) / (2 z)``;
* events ``D`` among ``n`` at a cut-off (median follow-up ``m``, maximum ``M``): the potential
  follow-up ``C`` is uniform on ``[max(0, 2 m - M), M]`` (``[0, 2 m]`` without ``M``), by 24-point
  Gauss-Legendre (:func:`bayesurv.survival.evidence.followup_nodes`; censoring only at the
  cut-off);
* hazard ratio, CI ``(lo, hi)``: ``se = (log hi - log lo) / (2 z)``; with a p-value and no
  CI, ``se = |log HR_hat| / z_{1 - p/2}``; a p-value given as a bound ("<0.001"), or without an
  HR, gives no term (:func:`hazard_ratio_terms` says why); the model's HR is weighted over
  2 x 32 nodes on ``[0, 2 m - M]`` and ``[2 m - M, M]``
  (:func:`bayesurv.survival.evidence.cox_nodes`);
* median ``m_hat``, CI ``(lo, hi)``: ``se = (log hi - log lo) / (2 z)`` (McGrath et al.
  2025); an upper limit "not reached" gives ``se = (log m_hat - log lo) / z`` (``one-sided``);
  no lower limit, or a median not reached, gives no term;
* external landmark ``s``, CI ``[lower, upper]``, on ``g`` = ``cloglog`` (default) or ``logit``:
  ``se = |g(upper) - g(lower)| / (2 z)`` and its *binomial equivalent* ``n``, ``d = n (1 -
  s)``, whose binomial estimate ``s`` has that standard error on the ``g`` scale::

    cloglog: n = (1 - s) / (s (log s)^2 se^2)        logit: n = 1 / (s (1 - s) se^2)

* registry counts per interval ``(start, stop]``: ``n`` at risk at ``start``, ``d`` deaths by
  ``stop``, ``d ~ Binomial(n, 1 - S(stop) / S(start))``.

The reported numbers of one cut-off come from the same patients; the model treats them as
independent, which overstates the precision somewhat (most for an HR next to the landmarks and
events it summarises); ``bayesurv.survival.data.Summaries.use`` switches terms off for the
sensitivity analyses.

CSV formats (one row per landmark / interval; other columns such as ``arm`` or ``source`` are
kept): landmarks ``time,survival,lower,upper`` (proportions, not percentages); registry
``start,stop,n_at_risk,events``. Landmark, hazard-ratio and median files take an optional
``ci_level`` column (a proportion such as 0.9 or 0.975; a percentage such as 95 is refused in one
sentence naming the file and row). Times are in the model's time unit; nothing is converted.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from bayesurv.errors import InputError, where
from bayesurv.evidence.ci import (
    LEVEL_ALIASES,
    LEVEL_COLUMN,
    centre_se,
    level_text,
    levels,
    parse_level,
)
from bayesurv.tables import Column, read_table

_MEDIAN_COLUMNS = ["median", "lower", "upper"]


def _rows(df: pd.DataFrame) -> list[int]:
    """The row numbers to name in messages: the file's 1-based data rows when the table came
    from :func:`bayesurv.tables.read_table` (its index is named ``row``), else 1, 2, ..."""
    if df.index.name == "row":
        return [int(i) for i in df.index]
    return list(range(1, len(df) + 1))


def _need(df: pd.DataFrame, need, source: str) -> None:
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(
            f"{source} lacks column(s) {', '.join(missing)}; it needs {', '.join(need)}."
        )


def check_landmarks(df: pd.DataFrame, source: str = "landmarks") -> pd.DataFrame:
    """Validate landmark rows (``time, survival, lower, upper``, optional ``ci_level``), one
    sentence per problem."""
    need = ["time", "survival", "lower", "upper"]
    _need(df, need, source)
    ci_levels = levels(df, source, _rows(df))
    for k, lv, row in zip(_rows(df), ci_levels, df[need].itertuples(index=False), strict=True):
        t, s, lo, hi = (float(v) for v in row)
        if not (0 < lo < s < hi < 1):
            raise InputError(
                f"{source}, row {k}: the estimate {s:g} must lie strictly inside its "
                f"{level_text(lv)} CI "
                f"({lo:g}, {hi:g}) within (0, 1); check the numbers."
            )
        if t <= 0:
            raise InputError(
                f"{source}, row {k}: the landmark time {t:g} must be positive; give the time "
                "from the start of follow-up."
            )
    return df


def check_events(df: pd.DataFrame, source: str = "events") -> pd.DataFrame:
    _need(df, ["n", "events", "median_followup"], source)
    for k, row in zip(_rows(df), df.itertuples(index=False), strict=True):
        n, d, m = int(row.n), int(row.events), float(row.median_followup)
        if not 0 <= d <= n:
            raise InputError(
                f"{source}, row {k}: {d} events among {n} patients is impossible; check both "
                "counts."
            )
        if m <= 0:
            raise InputError(
                f"{source}, row {k}: the median follow-up {m:g} must be positive; fix that row."
            )
        mx = getattr(row, "max_followup", np.nan)
        if np.isfinite(mx) and mx < m:
            raise InputError(
                f"{source}, row {k}: the maximum follow-up {mx:g} is below the median {m:g}; "
                "check both."
            )
    return df


def number(x) -> float:
    """A number from a CSV cell; NaN for blanks."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def hazard_ratio_terms(df: pd.DataFrame, source: str = "hazard ratios") -> pd.DataFrame:
    """Which reported hazard ratios can enter the likelihood, and with which standard error.

    ``df`` has ``hr`` and some of ``lower, upper`` (a CI at the row's ``ci_level``, default
    0.95), ``p`` (two-sided p-value: a number,
    or a bound such as ``<0.001``), ``median_followup``, ``max_followup``. Returns the rows with
    ``log_hr``, ``se``, ``se_from`` and ``used`` / ``reason`` (why a row is not used). Bad numbers
    raise :class:`InputError`.

    Examples
    --------
    >>> t = hazard_ratio_terms(pd.DataFrame({"hr": [0.38, 0.34, 0.35, None],
    ...     "lower": [0.22, None, None, None], "upper": [0.65, None, None, None],
    ...     "p": ["<0.001", "0.002", "<0.001", "0.001"], "median_followup": [51.9] * 4}))
    >>> t["se"].round(3).tolist()[:2], t["used"].tolist()
    ([0.276, 0.349], [True, True, False, False])
    """
    from scipy import stats

    rows = []
    for k, r in zip(_rows(df), df.to_dict(orient="records"), strict=True):
        hr, lo, hi = number(r.get("hr")), number(r.get("lower")), number(r.get("upper"))
        p_raw = r.get("p")
        p_txt = (
            ""
            if p_raw is None or (isinstance(p_raw, float) and np.isnan(p_raw))
            else str(p_raw).strip()
        )
        p = number(p_txt)
        fu = number(r.get("median_followup"))
        lv = parse_level(r.get(LEVEL_COLUMN), source, k)
        out = dict(r, log_hr=np.nan, se=np.nan, se_from="", used=False, reason="")
        if np.isfinite(hr) and hr <= 0:
            raise InputError(
                f"{source}, row {k}: the hazard ratio {hr:g} must be positive; fix that row."
            )
        if np.isfinite(lo) != np.isfinite(hi):
            raise InputError(
                f"{source}, row {k}: give both limits of the {level_text(lv)} CI or neither."
            )
        if np.isfinite(lo) and np.isfinite(hr) and not (0 < lo < hr < hi):
            raise InputError(
                f"{source}, row {k}: the hazard ratio {hr:g} must lie strictly inside its "
                f"{level_text(lv)} CI ({lo:g}, {hi:g}); check the numbers."
            )
        if p_txt and not np.isfinite(p) and not p_txt.startswith(("<", ">", "≤")):
            raise InputError(
                f"{source}, row {k}: p = {p_txt!r} is neither a number nor a bound; write it "
                "as 0.002 or <0.001."
            )
        if np.isfinite(p) and not 0 < p <= 1:
            raise InputError(f"{source}, row {k}: p = {p:g} must lie in (0, 1]; fix that row.")
        if not np.isfinite(hr):
            out["reason"] = "no hazard ratio published (a p-value alone gives no estimate)"
        elif np.isfinite(lo):
            log_hr, se = centre_se(hr, lo, hi, lv, "log", source, k)
            out.update(log_hr=log_hr, se=se, se_from=f"{level_text(lv)} CI")
        elif np.isfinite(p):
            z = stats.norm.isf(p / 2)
            if hr == 1 or z <= 0:
                out["reason"] = "HR of 1 or p = 1: the p-value gives no standard error"
            else:
                out.update(log_hr=np.log(hr), se=abs(np.log(hr)) / z, se_from=f"p = {p:g}")
        elif p_txt:
            out["reason"] = f"no CI and p given only as a bound ({p_txt}): no standard error"
        else:
            out["reason"] = "no CI and no p-value: no standard error"
        if np.isfinite(out["se"]):
            if not np.isfinite(fu) or fu <= 0:
                out["reason"] = (
                    "no follow-up reported for this data cut "
                    "(needed to weight the model's HR over time)"
                )
            else:
                out["used"] = True
        rows.append(out)
    return pd.DataFrame(rows)


def check_medians(df: pd.DataFrame, source: str = "medians") -> pd.DataFrame:
    """Validate median rows (``median, lower, upper``; a blank upper limit = "not reached";
    optional ``ci_level``, default 0.95) and add ``log_median``, ``se`` (log scale),
    ``se_from``, ``used`` and ``reason``."""
    _need(df, _MEDIAN_COLUMNS, source)
    rows = []
    for k, r in zip(_rows(df), df.to_dict(orient="records"), strict=True):
        m, lo, hi = number(r["median"]), number(r["lower"]), number(r["upper"])
        lv = parse_level(r.get(LEVEL_COLUMN), source, k)
        out = dict(r, log_median=np.nan, se=np.nan, se_from="", used=False, reason="")
        if np.isfinite(m) and m <= 0:
            raise InputError(f"{source}, row {k}: the median {m:g} must be positive; fix that row.")
        if np.isfinite(m) and (
            (np.isfinite(lo) and not 0 < lo < m) or (np.isfinite(hi) and not hi > m)
        ):
            raise InputError(
                f"{source}, row {k}: the median {m:g} must lie strictly inside its "
                f"{level_text(lv)} CI ({lo:g}, {hi:g}); check the numbers."
            )
        if not np.isfinite(m):
            out["reason"] = "median not reached: no term"
        elif not np.isfinite(lo):
            out["reason"] = "no lower confidence limit: no standard error"
        else:  # two-sided, or one-sided on the lower limit when the upper is blank
            log_m, se = centre_se(m, lo, hi, lv, "log", source, k)
            two = np.isfinite(hi)
            out.update(
                log_median=log_m,
                se=se,
                se_from=f"{level_text(lv)} CI" if two else "one-sided: upper limit not reached",
                used=True,
            )
        rows.append(out)
    return pd.DataFrame(
        rows, columns=list(df.columns) + ["log_median", "se", "se_from", "used", "reason"]
    )


SCALES = ("cloglog", "logit")
#: a CI's longer arm may be at most this many times the shorter one on the chosen scale
MAX_ARM_RATIO = 2.0


def _g(s: float, scale: str) -> float:
    return math.log(-math.log(s)) if scale == "cloglog" else math.log(s / (1 - s))


def _check_scale(scale: str) -> None:
    if scale not in SCALES:
        raise InputError(f"scale {scale!r} is not known; choose one of {', '.join(SCALES)}.")


def landmark_binomial(
    survival: float,
    lower: float,
    upper: float,
    scale: str = "cloglog",
    source: str | None = None,
    row: int | None = None,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Binomial equivalent ``(n_eff, events_eff, se)`` of a landmark survival with its CI at
    ``level`` (a proportion, default 0.95).

    ``se`` is the standard error of ``g(S)`` on ``scale`` (see the module docstring).

    Examples
    --------
    >>> n, d, se = landmark_binomial(0.5, 0.4, 0.6, scale="logit")
    >>> round(n, 2), round(d, 2)
    (93.47, 46.73)
    """
    _check_scale(scale)
    w = where(source, row)
    level = parse_level(level, source, row)
    vals = tuple(number(v) for v in (survival, lower, upper))
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"{w}survival, lower and upper must be finite numbers; fill them in.")
    survival, lower, upper = vals
    if max(vals) > 1:
        raise InputError(
            f"{w}survival {survival:g} [{lower:g}, {upper:g}] is above 1; give proportions "
            "(divide percentages by 100)."
        )
    if min(vals) <= 0 or max(vals) >= 1:
        raise InputError(
            f"{w}survival {survival:g} [{lower:g}, {upper:g}] must lie strictly between 0 and 1; "
            "a CI touching 0 or 1 carries no usable information, drop the row."
        )
    if lower >= upper:
        raise InputError(
            f"{w}lower ({lower:g}) is not below upper ({upper:g}); swap them or correct the CI."
        )
    if not (lower <= survival <= upper):
        raise InputError(
            f"{w}the survival {survival:g} lies outside its CI [{lower:g}, {upper:g}]; check "
            "that the three numbers belong to the same time point."
        )
    gs, gl, gu = _g(survival, scale), _g(lower, scale), _g(upper, scale)
    arms = sorted([abs(gs - gl), abs(gu - gs)])
    if arms[0] <= 0 or arms[1] / arms[0] > MAX_ARM_RATIO:
        other = SCALES[1 - SCALES.index(scale)]
        raise InputError(
            f"{w}the CI [{lower:g}, {upper:g}] is not centred on {survival:g} on the {scale} "
            f"scale (one arm is more than {MAX_ARM_RATIO:g} times the other); check the "
            f"numbers, or try scale={other!r}."
        )
    se = centre_se(survival, lower, upper, level, scale, source, row)[1]
    s = survival
    if scale == "cloglog":
        n = (1 - s) / (s * math.log(s) ** 2 * se**2)
    else:
        n = 1 / (s * (1 - s) * se**2)
    return n, n * (1 - s), se


# ---- readers --------------------------------------------------------------------------------
def _numbers(df: pd.DataFrame, cols, src) -> dict:
    out = {}
    for c in cols:
        vals = []
        for i, v in enumerate(df[c].tolist()):
            x = number(str(v).strip())
            if not math.isfinite(x):
                raise InputError(
                    f"{where(src, i + 1)}column {c!r} holds {v!r}, not a finite number; write a "
                    "plain decimal number."
                )
            vals.append(x)
        out[c] = np.array(vals)
    return out


def _frame(df: pd.DataFrame | None, cols, src, what: str) -> pd.DataFrame:
    if df is None or len(df) == 0:
        raise InputError(
            f"{where(src)}the {what} table is empty; give a header {','.join(cols)} and one "
            f"row per {what}."
        )
    d = df.copy()
    d.columns = [str(c).strip().lower() for c in d.columns]
    miss = [c for c in cols if c not in d.columns]
    if miss:
        raise InputError(
            f"{where(src)}column {miss[0]!r} is missing; give the columns {','.join(cols)}."
        )
    return d


def validate_landmarks(
    df: pd.DataFrame, source: str | None = None, scale: str = "cloglog"
) -> pd.DataFrame:
    """Check a landmark table (``time, survival, lower, upper``, optional ``ci_level``) and add
    ``se``, ``n_eff`` and ``events_eff``; return a new frame.

    Examples
    --------
    >>> t = validate_landmarks(pd.DataFrame({"time": [120], "survival": [0.4], "lower": [0.3],
    ...                                      "upper": [0.5]}))
    >>> t["n_eff"].round(1).tolist()
    [90.0]
    """
    cols = ("time", "survival", "lower", "upper")
    d = _frame(df, cols, source, "landmark")
    x = _numbers(d, cols, source)
    ci_levels = levels(d, source)
    res = []
    for i in range(len(d)):
        if x["time"][i] <= 0:
            raise InputError(
                f"{where(source, i + 1)}time {x['time'][i]:g} is not positive; give the landmark "
                "time in the model's time unit."
            )
        res.append(
            landmark_binomial(
                x["survival"][i], x["lower"][i], x["upper"][i], scale, source, i + 1, ci_levels[i]
            )
        )
    for c in cols:
        d[c] = x[c]
    d["n_eff"], d["events_eff"], d["se"] = (np.array(v) for v in zip(*res, strict=True))
    d["scale"] = scale
    return d


def validate_registry(df: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    """Check a registry table (``start,stop,n_at_risk,events``); return a new frame.

    Examples
    --------
    >>> validate_registry(pd.DataFrame({"start": [0], "stop": [12], "n_at_risk": [50],
    ...                                 "events": [5]}))["events"].tolist()
    [5.0]
    """
    cols = ("start", "stop", "n_at_risk", "events")
    d = _frame(df, cols, source, "registry interval")
    x = _numbers(d, cols, source)
    for i in range(len(d)):
        w = where(source, i + 1)
        a, b, n, e = (x[c][i] for c in cols)
        if a < 0:
            raise InputError(
                f"{w}start {a:g} is negative; give times from 0 in the model's time unit."
            )
        if b <= a:
            raise InputError(
                f"{w}stop {b:g} is not after start {a:g}; give intervals with start < stop."
            )
        if n <= 0:
            raise InputError(f"{w}n_at_risk {n:g} is not positive; give the number alive at start.")
        if e < 0:
            raise InputError(
                f"{w}events {e:g} is negative; give the number of deaths in the interval."
            )
        if e > n:
            raise InputError(
                f"{w}events {e:g} exceed n_at_risk {n:g}; check that both count the same cohort "
                "and interval."
            )
    for c in cols:
        d[c] = x[c]
    return d


#: the columns of each file of reported numbers a ``[[survival]]`` section names (other columns,
#: such as ``tag`` or ``source``, are kept as text); ``analysis`` and ``endpoint`` select rows
_SELECT = (
    Column("analysis", kind="text", required=False, missing=True),
    Column("endpoint", kind="text", required=False, missing=True),
)
_ARM = Column("arm", kind="text")
_MEDIAN_FU = Column("median_followup", aliases=("median_followup_months",), lower=0)
_MAX_FU = Column("max_followup", aliases=("max_followup_months",), lower=0)
_OPTIONAL = {"required": False, "missing": True}
#: a row's CI level (a proportion; blank: 0.95), read as text and checked by
#: :func:`bayesurv.evidence.ci.parse_level` (one message for every reader)
_LEVEL = Column(LEVEL_COLUMN, aliases=LEVEL_ALIASES, kind="text", **_OPTIONAL)
REPORTED_COLUMNS: dict[str, tuple[Column, ...]] = {
    "landmarks": (
        *_SELECT,
        _ARM,
        Column("time", aliases=("time_months",)),
        Column("survival"),
        Column("lower"),
        Column("upper"),
        _LEVEL,
    ),
    "events": (
        *_SELECT,
        _ARM,
        Column("n", kind="integer", lower=0),
        Column("events", kind="integer", lower=0),
        _MEDIAN_FU,
        replace(_MAX_FU, **_OPTIONAL),
    ),
    "hazard_ratios": (
        *_SELECT,
        Column("hr", missing=True),
        Column("lower", required=False, missing=True),
        Column("upper", required=False, missing=True),
        Column("p", kind="text", required=False, missing=True),
        _LEVEL,
        replace(_MEDIAN_FU, **_OPTIONAL),
        replace(_MAX_FU, **_OPTIONAL),
    ),
    "medians": (
        *_SELECT,
        _ARM,
        Column("median", missing=True),
        Column("lower", missing=True),
        Column("upper", missing=True),
        _LEVEL,
    ),
}
_REPORTED_WHAT = {
    "landmarks": "landmark table",
    "events": "events table",
    "hazard_ratios": "hazard-ratio table",
    "medians": "medians table",
}


def read_reported(path: str | Path, kind: str) -> pd.DataFrame:
    """A file of reported numbers (``kind``: a key of :data:`REPORTED_COLUMNS`) through
    :func:`bayesurv.tables.read_table`: encodings, the delimiter, decimal commas and every cell
    checked, one sentence naming the file, row and column otherwise. The index is the 1-based
    data row of the file; optional columns absent from the file are added as blanks."""
    cols = REPORTED_COLUMNS[kind]
    df = read_table(path, cols, what=_REPORTED_WHAT[kind])
    for c in cols:
        if c.name not in df and not c.required:
            df[c.name] = None if c.kind == "text" else np.nan
    return df


def _read(
    path: str | Path, cols: tuple[str, ...], what: str, extra: tuple[Column, ...] = ()
) -> tuple[pd.DataFrame, str]:
    p = Path(path)
    return read_table(p, [*(Column(c) for c in cols), *extra], what=f"{what} table"), str(p)


def read_landmarks(path: str | Path, scale: str = "cloglog") -> pd.DataFrame:
    """Read and validate a landmark CSV (``time,survival,lower,upper``, optional ``ci_level``)."""
    df, name = _read(path, ("time", "survival", "lower", "upper"), "landmark", (_LEVEL,))
    return validate_landmarks(df.reset_index(drop=True), name, scale)


def read_registry(path: str | Path) -> pd.DataFrame:
    """Read and validate a registry CSV (``start,stop,n_at_risk,events``)."""
    df, name = _read(path, ("start", "stop", "n_at_risk", "events"), "registry")
    return validate_registry(df.reset_index(drop=True), name)
