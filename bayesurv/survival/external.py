"""External long-term evidence as log-likelihood terms of the model's cumulative hazard.

Two kinds of evidence inform the tail of an extrapolation; both enter the model as functions of
its cumulative hazard ``H(t) = -log S(t)`` at fixed times (so they run with NumPy and with
PyTensor: ``m`` is ``bayesurv.survival.families.NP``/``PT``, or numpy / pytensor.tensor).

**Landmark survival** ``S(t*) = s`` with a 95% CI ``[lower, upper]`` (e.g. registry 10-year
survival). On the scale ``g`` (``cloglog``: ``g(S) = log(-log S)``, the default, on which
Kaplan-Meier log-log CIs are symmetric; or ``logit``: ``g(S) = log(S / (1 - S))``) the standard
error is ``se = |g(upper) - g(lower)| / (2 * 1.959964)``. The *binomial equivalent* is the
number at risk ``n`` and deaths ``d = n (1 - s)`` whose binomial estimate ``s`` has that standard
error on the ``g`` scale by the delta method::

    cloglog: n = (1 - s) / (s (log s)^2 se^2)        logit: n = 1 / (s (1 - s) se^2)
    log L(H) = log C(n, d) + d log(1 - exp(-H)) - (n - d) H        (binomial, S = exp(-H))

It is maximized at ``exp(-H) = s``, and its observed information on the ``g`` scale there is
``1 / se^2``, so its Wald 95% CI on that scale is the given CI (tests check both). The
alternative :func:`landmark_normal_loglik` is ``g(s) ~ Normal(g(S(t*)), se)``.

**Registry counts** per interval ``(start, stop]``: ``n`` at risk at ``start``, ``d`` deaths by
``stop``. The model's conditional survival is ``p = S(stop) / S(start) = exp(-(H(stop) -
H(start)))`` and::

    binomial (default): d ~ Binomial(n, 1 - p)
    poisson:            d ~ Poisson(n (1 - p))          (for large n, small 1 - p)

Constants (``log C(n, d)``, ``-log d!``) are included, with ``C`` through the gamma function, so
the values are full log-likelihoods (non-integer effective counts allowed).

Times in the CSV files are in the model's time unit (that of the trial data); nothing is
converted. For a relative-survival model pass the *overall* cumulative hazard
``H = -log S_bg(t) + H_excess(t)``.

CSV formats (one row per landmark / interval; other columns such as ``arm`` or ``source`` are
kept):

* landmarks: ``time,survival,lower,upper`` (proportions, not percentages)
* registry: ``start,stop,n_at_risk,events``

Examples
--------
>>> n, d, se = landmark_binomial(0.4, 0.3, 0.5)
>>> round(n, 1), round(d, 1)
(90.0, 54.0)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import gammaln

from bayesurv.errors import InputError, where

Z95 = 1.959963984540054
SCALES = ("cloglog", "logit")
LIKELIHOODS = ("binomial", "poisson")
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
) -> tuple[float, float, float]:
    """Binomial equivalent ``(n_eff, events_eff, se)`` of a landmark survival with its 95% CI.

    ``se`` is the standard error of ``g(S)`` on ``scale`` (see the module docstring).

    Examples
    --------
    >>> n, d, se = landmark_binomial(0.5, 0.4, 0.6, scale="logit")
    >>> round(n, 2), round(d, 2)
    (93.47, 46.73)
    """
    _check_scale(scale)
    w = where(source, row)
    try:
        vals = tuple(float(v) for v in (survival, lower, upper))
    except (TypeError, ValueError):
        vals = (math.nan,)
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
    se = abs(gl - gu) / (2 * Z95)
    s = survival
    if scale == "cloglog":
        n = (1 - s) / (s * math.log(s) ** 2 * se**2)
    else:
        n = 1 / (s * (1 - s) * se**2)
    return n, n * (1 - s), se


def _log_choose(n, d):
    return (
        gammaln(np.asarray(n, float) + 1)
        - gammaln(np.asarray(d, float) + 1)
        - gammaln(np.asarray(n, float) - np.asarray(d, float) + 1)
    )


def landmark_loglik(m, H, n_eff, events_eff):
    """Binomial-equivalent log-likelihood of a landmark, given the model's ``H(t*)``.

    ``log C(n, d) + d log(1 - exp(-H)) - (n - d) H``; elementwise for arrays of landmarks.

    Examples
    --------
    >>> n, d, _ = landmark_binomial(0.4, 0.3, 0.5)
    >>> bool(landmark_loglik(np, -np.log(0.4), n, d) > landmark_loglik(np, -np.log(0.45), n, d))
    True
    """
    return (
        _log_choose(n_eff, events_eff) + events_eff * m.log(-m.expm1(-H)) - (n_eff - events_eff) * H
    )


def link_of_cumhaz(m, H, scale: str = "cloglog"):
    """``g(S)`` from ``H = -log S``: ``log H`` (cloglog) or ``-H - log(1 - exp(-H))`` (logit)."""
    _check_scale(scale)
    if scale == "cloglog":
        return m.log(H)
    return -H - m.log(-m.expm1(-H))


def landmark_normal_loglik(m, H, survival, se, scale: str = "cloglog"):
    """Normal log-density of ``g(survival)`` given the model's ``g(exp(-H))``, with sd ``se``."""
    _check_scale(scale)
    gs = np.vectorize(lambda v: _g(v, scale))(np.asarray(survival, float))
    se = np.asarray(se, float)
    z = (link_of_cumhaz(m, H, scale) - gs) / se
    return -0.5 * z * z - np.log(se) - 0.5 * math.log(2 * math.pi)


def registry_loglik(m, H_start, H_stop, n_at_risk, events, likelihood: str = "binomial"):
    """Log-likelihood of registry deaths given the model's ``H`` at each interval's ends.

    Examples
    --------
    >>> ll = [registry_loglik(np, 0.0, -np.log(p), 100, 20) for p in (0.7, 0.8, 0.9)]
    >>> int(np.argmax(ll))           # maximized at p = 1 - 20/100
    1
    """
    if likelihood not in LIKELIHOODS:
        raise InputError(
            f"registry likelihood {likelihood!r} is not known; choose one of "
            f"{', '.join(LIKELIHOODS)}."
        )
    dH = H_stop - H_start
    n = np.asarray(n_at_risk, float)
    d = np.asarray(events, float)
    log_q = m.log(-m.expm1(-dH))  # log(1 - p), p = S(stop) / S(start)
    if likelihood == "binomial":
        return _log_choose(n, d) + d * log_q - (n - d) * dH
    mu = n * (-m.expm1(-dH))
    return d * (np.log(n) + log_q) - mu - gammaln(d + 1)


# ---- readers --------------------------------------------------------------------------------
def _numbers(df: pd.DataFrame, cols, src) -> dict:
    out = {}
    for c in cols:
        vals = []
        for i, v in enumerate(df[c].tolist()):
            try:
                x = float(str(v).strip())
            except ValueError:
                x = math.nan
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
    """Check a landmark table and add ``se``, ``n_eff`` and ``events_eff``; return a new frame.

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
    res = []
    for i in range(len(d)):
        if x["time"][i] <= 0:
            raise InputError(
                f"{where(source, i + 1)}time {x['time'][i]:g} is not positive; give the landmark "
                "time in the model's time unit."
            )
        res.append(
            landmark_binomial(x["survival"][i], x["lower"][i], x["upper"][i], scale, source, i + 1)
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


def _read(path: str | Path) -> tuple[pd.DataFrame, str]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: the file does not exist; check the path.")
    try:
        return pd.read_csv(p, comment="#", dtype=str, skipinitialspace=True), p.name
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return None, p.name


def read_landmarks(path: str | Path, scale: str = "cloglog") -> pd.DataFrame:
    """Read and validate a landmark CSV (``time,survival,lower,upper``)."""
    df, name = _read(path)
    return validate_landmarks(df, name, scale)


def read_registry(path: str | Path) -> pd.DataFrame:
    """Read and validate a registry CSV (``start,stop,n_at_risk,events``)."""
    df, name = _read(path)
    return validate_registry(df, name)
