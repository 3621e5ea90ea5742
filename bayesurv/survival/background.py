"""Background (general-population) mortality of a trial cohort, from a life table.

Each patient ``i`` enters at age ``a_i`` (years) with sex ``s_i`` and has the life-table hazard of
their attained age, times a standardized mortality ratio ``smr`` (1 = the general population;
> 1 for cured survivors who still die faster than their peers)::

    h_i(t) = smr * h_table(a_i + t / time_scale, s_i) / time_scale     (per model time unit)
    H_i(t) = smr * integral_{a_i}^{a_i + t / time_scale} h_table(a, s_i) da

The cohort's *marginal* background survival and hazard weight the patients (weights ``w_i``
summing to 1; equal weights for individual patients, proportions for age groups)::

    S_bg(t) = sum_i w_i exp(-H_i(t))
    h_bg(t) = sum_i w_i S_i(t) h_i(t) / S_bg(t)            (= -d log S_bg / dt)

``S_bg`` is R's Ederer I expected survival (``survexp(~1, ratetable=survexp.us)``). A
relative-survival model adds a patient's background hazard to the modelled excess hazard
(:func:`bayesurv.survival.predictor.total`); ``h_i(t_i)`` and ``H_i(t_i)`` are data (no
parameters), computed once (:func:`patient_background`, :mod:`bayesurv.survival.population`).

Time ``t`` is in model units; ``time_scale`` is the number of model units per year (12 for
months). The life table's year is fixed along follow-up (see :mod:`bayesurv.lifetable`).

Examples
--------
>>> from bayesurv.lifetable import us_life_table
>>> c = cohort_from_ages([60.0, 70.0], ["male", "female"])
>>> background_survival([0.0, 120.0], c, us_life_table(2014), time_scale=12).round(4).tolist()
[1.0, 0.8173]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayesurv.errors import InputError, where
from bayesurv.lifetable import SEX_ALIASES, LifeTable

#: proportions of age groups must sum to 1 within this tolerance (then they are rescaled)
PROPORTION_TOL = 0.01


@dataclass(frozen=True)
class Members:
    """Ages at entry (years), sexes and weights (summing to 1) of a cohort's members or nodes."""

    age: np.ndarray
    sex: np.ndarray
    weight: np.ndarray


def _sex_labels(sex, n: int, source: str | None = None) -> np.ndarray:
    sx = np.broadcast_to(np.asarray(sex, dtype=object), (n,))
    out = np.empty(n, dtype=object)
    for i, s in enumerate(sx):
        lab = SEX_ALIASES.get(str(s).strip().lower())
        if lab is None:
            raise InputError(f"{where(source, i + 1)}sex {s!r} is not known; write male or female.")
        out[i] = lab
    return out


def _check_ages(age: np.ndarray, source: str | None, col: str = "age") -> None:
    for i, a in enumerate(age):
        if not (math.isfinite(a) and 0 <= a <= 130):
            raise InputError(
                f"{where(source, i + 1)}{col} {a:g} is not an age in years from 0 to 130; give "
                "the age at entry in years."
            )


def cohort_from_ages(age, sex) -> Members:
    """A cohort of individual patients (equal weights): ages at entry in years and sexes.

    Examples
    --------
    >>> cohort_from_ages([50, 60], "female").weight.tolist()
    [0.5, 0.5]
    """
    a = np.atleast_1d(np.asarray(age, dtype=float))
    if a.ndim != 1 or a.size == 0:
        raise InputError("cohort: give at least one age at entry, as a flat list of years.")
    _check_ages(a, "cohort")
    return Members(
        age=a, sex=_sex_labels(sex, a.size, "cohort"), weight=np.full(a.size, 1 / a.size)
    )


def cohort_from_groups(
    df: pd.DataFrame, source: str | None = None, nodes_per_year: int = 1
) -> Members:
    """A cohort from a table of groups: ``sex, proportion`` and ``age`` or ``age_lower, age_upper``.

    A group ``[age_lower, age_upper)`` is spread uniformly over its ages: ``nodes_per_year`` nodes
    per year of width (the midpoints of equal sub-intervals), sharing the group's proportion.
    Proportions must sum to 1 (within :data:`PROPORTION_TOL`; then rescaled).

    Examples
    --------
    >>> g = pd.DataFrame({"age_lower": [50, 60], "age_upper": [52, 61], "sex": "male",
    ...                   "proportion": [0.4, 0.6]})
    >>> c = cohort_from_groups(g)
    >>> c.age.tolist(), c.weight.round(2).tolist()
    ([50.5, 51.5, 60.5], [0.2, 0.2, 0.6])
    """
    src = source
    if df is None or len(df) == 0:
        raise InputError(
            f"{where(src)}the cohort table is empty; give sex, proportion and age (or "
            "age_lower, age_upper), one row per group."
        )
    d = df.copy()
    d.columns = [str(c).strip().lower() for c in d.columns]
    cols = set(d.columns)
    exact = "age" in cols
    need = ["sex", "proportion"] + (["age"] if exact else ["age_lower", "age_upper"])
    miss = [c for c in need if c not in cols]
    if miss:
        raise InputError(
            f"{where(src)}column {miss[0]!r} is missing; give sex, proportion and age (or "
            "age_lower, age_upper)."
        )
    num = {}
    for c in need[1:]:
        v = pd.to_numeric(d[c], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            raise InputError(
                f"{where(src, int(bad[0]) + 1)}column {c!r} holds {d[c].iloc[bad[0]]!r}, not a "
                "number; write a plain decimal number."
            )
        num[c] = v
    p = num["proportion"]
    neg = np.flatnonzero(p < 0)
    if neg.size:
        raise InputError(
            f"{where(src, int(neg[0]) + 1)}proportion {p[neg[0]]:g} is negative; give each "
            "group's share of the cohort (0 to 1)."
        )
    if abs(p.sum() - 1) > PROPORTION_TOL:
        raise InputError(
            f"{where(src)}the proportions sum to {p.sum():g}, not 1; give shares of the cohort "
            "(divide percentages by 100)."
        )
    p = p / p.sum()
    sex = _sex_labels(d["sex"].tolist(), len(d), src)
    if exact:
        _check_ages(num["age"], src)
        return Members(age=num["age"], sex=sex, weight=p)
    lo, hi = num["age_lower"], num["age_upper"]
    _check_ages(lo, src, "age_lower")
    _check_ages(hi, src, "age_upper")
    ages, sexes, wts = [], [], []
    for i in range(len(d)):
        if hi[i] <= lo[i]:
            raise InputError(
                f"{where(src, i + 1)}age_upper {hi[i]:g} is not above age_lower {lo[i]:g}; give "
                "the group's ages as [age_lower, age_upper)."
            )
        n = max(1, math.ceil((hi[i] - lo[i]) * nodes_per_year - 1e-9))
        ages.append(lo[i] + (np.arange(n) + 0.5) * (hi[i] - lo[i]) / n)
        sexes += [sex[i]] * n
        wts.append(np.full(n, p[i] / n))
    return Members(
        age=np.concatenate(ages), sex=np.array(sexes, dtype=object), weight=np.concatenate(wts)
    )


def read_cohort(path: str | Path, nodes_per_year: int = 1) -> Members:
    """Read a cohort CSV (``sex,proportion`` and ``age`` or ``age_lower,age_upper``).

    See :func:`cohort_from_groups`; ``#`` starts a comment line. Read through the shared reader
    (:func:`bayesurv.tables.read_table`: encodings, delimiters and decimal commas, size limits).
    """
    from bayesurv.tables import Column, read_table

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: the cohort file does not exist; check the path.")
    ages = [Column(c, required=False) for c in ("age", "age_lower", "age_upper")]
    df = read_table(
        p, [Column("sex", kind="text"), Column("proportion"), *ages], what="cohort table"
    )
    return cohort_from_groups(df.reset_index(drop=True), str(p), nodes_per_year)


def check_smr(smr) -> float:
    s = float(smr)
    if not (math.isfinite(s) and s > 0):
        raise InputError(
            f"smr {smr!r} is not a positive number; give the standardized mortality ratio "
            "(1 = general population)."
        )
    return s


def member_curves(t, cohort: Members, table, year, time_scale, smr=1.0):
    """``H_i(t)`` and ``h_i(t)`` (per model unit) of each member, shape ``(len(t), n_members)``."""
    s = check_smr(smr)
    tt = np.atleast_1d(np.asarray(t, dtype=float))[:, None]
    H = s * table.background_cumhaz(tt, cohort.age[None, :], cohort.sex[None, :], year, time_scale)
    att = cohort.age[None, :] + tt / time_scale
    h = s * table.hazard_per_unit(att, cohort.sex[None, :], year, time_scale)
    return H, h


def background_survival(
    t,
    cohort: Members,
    table: LifeTable,
    year: int | None = None,
    time_scale: float = 1.0,
    smr: float = 1.0,
) -> np.ndarray:
    """The cohort's marginal background survival ``S_bg(t) = sum_i w_i exp(-H_i(t))``.

    ``t`` in model units (a 1-D grid); returns an array of the same length.
    """
    H, _ = member_curves(t, cohort, table, year, time_scale, smr)
    return np.exp(-H) @ cohort.weight


def background_hazard(
    t,
    cohort: Members,
    table: LifeTable,
    year: int | None = None,
    time_scale: float = 1.0,
    smr: float = 1.0,
) -> np.ndarray:
    """The cohort's marginal background hazard per model unit, ``sum w_i S_i h_i / S_bg``."""
    H, h = member_curves(t, cohort, table, year, time_scale, smr)
    logw = np.log(np.maximum(cohort.weight, 1e-300))[None, :] - H
    logw = logw - logw.max(axis=1, keepdims=True)  # stable when S_i underflows
    w = np.exp(logw) * (cohort.weight[None, :] > 0)
    return (w * h).sum(axis=1) / w.sum(axis=1)


def patient_background(
    t,
    age0,
    sex,
    table: LifeTable,
    year: int | None = None,
    time_scale: float = 1.0,
    smr: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's background hazard (per model unit) and cumulative hazard at time ``t_i``.

    ``t``: follow-up times (model units); ``age0``: ages at entry (years); ``sex``: labels (or one
    label). Returns ``(h_bg, H_bg)``, arrays like ``t``: the data a relative-survival likelihood
    needs (:func:`bayesurv.survival.predictor.total`).

    Examples
    --------
    >>> from bayesurv.lifetable import us_life_table
    >>> h, H = patient_background([12.0, 24.0], [70, 70], "male", us_life_table(2014),
    ...                           time_scale=12)
    >>> (h * 12).round(4).tolist(), H.round(4).tolist()
    ([0.0252, 0.0277], [0.023, 0.0482])
    """
    s = check_smr(smr)
    t = np.asarray(t, dtype=float)
    a0 = np.broadcast_to(np.asarray(age0, dtype=float), t.shape)
    sx = _sex_labels(sex, t.size, "patients").reshape(t.shape)
    _check_ages(a0.ravel(), "patients")
    H = s * table.background_cumhaz(t, a0, sx, year, time_scale)
    h = s * table.hazard_per_unit(a0 + t / time_scale, sx, year, time_scale)
    return h, H
