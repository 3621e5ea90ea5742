"""The one population concept: a life table plus who the patients are, and the one SMR rule.

General-population mortality enters every model the same way: each patient (or each node of a
cohort) ``j`` entering at age ``a_j`` with probability ``m_j`` of being male has::

    S_pop,j(t) = m_j exp(-H_male(a_j, t)) + (1 - m_j) exp(-H_female(a_j, t))
    h_pop,j(t) = -d log S_pop,j(t) / dt          (per model time unit; k units per year)

with ``H_sex(a, t) = integral_a^{a + t / k} h_table(u, sex) du``
(:meth:`bayesurv.lifetable.LifeTable.background_cumhaz`), all multiplied by the standardized
mortality ratio. Who the patients are comes from the IPD (an age column or one age; a sex
column or a share of men) or, for a trial known only by its reported summaries, from an age
distribution (uniform, or normal within a range). A cohort's curves average over *nodes*:
patients grouped by covariate pattern, age (to :data:`AGE_STEP` years) and sex, weighted by
their share ``w_j`` (Ederer I, R's ``survexp(~1, ratetable=survexp.us)``)::

    S_bg(t) = sum_j w_j exp(-H_j(t))
    h_bg(t) = sum_j w_j S_j(t) h_j(t) / S_bg(t)            (= -d log S_bg / dt)

**One SMR rule** (:func:`check_smr`, used by :class:`Population`, the curves here and the
simulator): the SMR is any finite positive number, fixed, or estimated under a log-normal prior
(``ModelSpec.smr_prior``, on (0, inf), not truncated). Values below 1 are allowed on purpose:
trial populations are selected (performance status, no serious comorbidity) and can die of
other causes less than the general population of their age and sex (the healthy-volunteer
effect), and relative-survival tools take any positive multiplier (popEpi's ``r``; flexsurv
and survextrap take the background hazard as given). An SMR below 1 makes cured patients
outlive their peers, which an appraisal has to justify, so a fit with a fixed SMR below 1 says
so in its notes; the prior is the place to state belief about it.

Time ``t`` is in model units; ``time_scale`` (``k``) is the number of model units per year (12
for months). The life table's year is fixed along follow-up (see :mod:`bayesurv.lifetable`).

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

import numpy as np
import pandas as pd

from bayesurv.errors import InputError, where
from bayesurv.evidence.reported import number
from bayesurv.lifetable import SEX_ALIASES, UNITS_PER_YEAR, LifeTable

#: ages are grouped to this width (years) for a cohort's nodes
AGE_STEP = 0.25
#: the one age rule: an age at entry is a finite number of years from 0 to this
AGE_MAX = 110


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
        if not (math.isfinite(a) and 0 <= a <= AGE_MAX):
            raise InputError(
                f"{where(source, i + 1)}{col} {a:g} is outside 0-{AGE_MAX} years; give the age at "
                "entry in years."
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


def check_smr(smr) -> float:
    """The one SMR rule: a finite number above 0 (see the module docstring for why below 1 is
    allowed)."""
    try:
        s = float(smr)
    except (TypeError, ValueError):
        s = math.nan
    if not (math.isfinite(s) and s > 0):
        raise InputError(
            f"smr {smr!r} is not a positive number; give the standardized mortality ratio "
            "(1 = general-population mortality)."
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


def background_death_times(
    age,
    sex,
    table: LifeTable,
    exp_draws,
    *,
    year: int | None = None,
    time_scale: float = 1.0,
    smr: float = 1.0,
) -> np.ndarray:
    """Times (model units) at which ``smr * H_table`` from age ``age`` reaches ``exp_draws``.

    With ``exp_draws ~ Exp(1)`` these are background death times. ``Lambda(a)``, the table's
    cumulative hazard from birth, is linear between whole ages; the age at death solves
    ``Lambda(a_d) = Lambda(age) + E / smr``: find the interval by a sorted search over the
    whole-age knots, then step linearly (exact; ``inf`` where the oldest hazard is 0).

    Examples
    --------
    >>> lt = LifeTable.from_frame(pd.DataFrame({"age": [0, 1], "sex": "male",
    ...                                         "hazard": [0.1, 0.2]}))
    >>> background_death_times([0.5], "male", lt, [0.25], time_scale=12).round(6).tolist()
    [18.0]
    """
    a = np.atleast_1d(np.asarray(age, dtype=float))
    e = np.broadcast_to(np.asarray(exp_draws, dtype=float), a.shape)
    sx = np.broadcast_to(np.asarray(sex, dtype=object), a.shape)
    if np.any(~np.isfinite(e)) or np.any(e < 0):
        raise InputError("background_death_times: exp_draws must be finite and >= 0.")
    smr = check_smr(smr)
    knots = np.append(table.ages, table.ages[-1] + 1.0)
    out = np.empty(a.shape)
    labels = sorted({str(s) for s in sx.ravel()})
    for lab in labels:
        sel = sx.astype(str) == lab
        cum = table.cumhaz_from_birth(knots, lab, year)  # Lambda at the whole-age knots
        h = table.hazard(knots[:-1], lab, year)  # annual hazard on [knot k, knot k + 1)
        target = table.cumhaz_from_birth(a[sel], lab, year) + e[sel] / float(smr)
        k = np.searchsorted(cum, target, side="right") - 1  # cum[k] <= target (< cum[k + 1])
        hk = h[np.minimum(k, h.size - 1)]  # beyond the last knot the oldest hazard extends
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(target > cum[k], (target - cum[k]) / hk, 0.0)
        out[sel] = (knots[k] + step - a[sel]) * float(time_scale)
    return out


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


def units_per_year(time_unit: str | None) -> float:
    """Model time units per year for a unit name (``None``: 1, and nothing is called years)."""
    if time_unit is None:
        return 1.0
    u = str(time_unit).strip().lower()
    u = {"day": "days", "week": "weeks", "month": "months", "year": "years"}.get(u, u)
    if u not in UNITS_PER_YEAR:
        raise InputError(
            f"unknown time unit {time_unit!r}; choose one of {', '.join(UNITS_PER_YEAR)}."
        )
    return UNITS_PER_YEAR[u]


@dataclass(frozen=True)
class Population:
    """General-population mortality: the life table (``year`` of its rates), the SMR, and who
    the patients are: ``age`` (everyone), ``age_column`` (IPD) or ``ages`` (a distribution:
    ``("uniform", lo, hi)`` or ``("normal", mean, sd, lo, hi)``), and ``male`` (a share, or
    ``"male"``/``"female"``) or ``sex_column``. ``extend``: ``None`` refuses a table that does
    not cover the cohort's ages to the horizon, ``"constant"`` carries its last age's hazard on
    (:func:`bayesurv.lifetable.check_coverage`, run by every fit before sampling)."""

    table: LifeTable
    year: int | None = None
    smr: float = 1.0
    age: float | None = None
    age_column: str | None = None
    ages: tuple | None = None
    male: float | str | None = None
    sex_column: str | None = None
    extend: str | None = None

    def __post_init__(self):
        from bayesurv.lifetable import EXTEND_RULES

        if self.extend is not None and self.extend not in EXTEND_RULES:
            raise InputError(
                f"unknown life-table extension {self.extend!r}; the one rule is 'constant' (the "
                "hazard of the last age for every older age)."
            )
        check_smr(self.smr)
        if sum(x is not None for x in (self.age, self.age_column, self.ages)) != 1:
            raise InputError(
                "general-population mortality needs the patients' ages at entry; give one of "
                "--age YEARS, --age-column NAME or an age distribution."
            )
        if (self.male is None) == (self.sex_column is None):
            raise InputError(
                "general-population mortality needs the patients' sex; give --sex "
                "male|female|0.5 (a share of men) or --sex-column NAME."
            )
        if self.ages is not None:
            kind, *num = self.ages
            if kind not in ("uniform", "normal") or len(num) != (2 if kind == "uniform" else 4):
                raise InputError(
                    "an age distribution is ('uniform', lo, hi) or ('normal', mean, sd, lo, hi)."
                )
            if not 0 <= num[-2] < num[-1] <= AGE_MAX:
                raise InputError(f"the age range must lie within 0-{AGE_MAX} years, lowest first.")

    def describe(self) -> str:
        who = (
            f"age {self.age:g}"
            if self.age is not None
            else f"ages from column {self.age_column!r}"
            if self.age_column
            else f"age at entry {self.ages[0]} on {self.ages[-2]:g}-{self.ages[-1]:g}"
        )
        sex = (
            f"sex from column {self.sex_column!r}"
            if self.sex_column
            else f"{self.male_share():.0%} male"
        )
        year = self.year if self.year is not None else "latest"
        return (
            f"general-population mortality from {self.table.source or 'the life table'} "
            f"(year {year}), {who}, {sex}, SMR {self.smr:g}"
        )

    def male_share(self) -> float:
        """The share of men: ``male`` as a number, or 1 / 0 for "male" / "female"."""
        sex = SEX_ALIASES.get(str(self.male).strip().lower())
        p = number(self.male) if sex is None else float(sex == "male")
        if not 0 <= p <= 1:
            raise InputError(f"sex {self.male!r} is not male, female or a share of men in [0, 1].")
        return p

    # ---- who the patients are ------------------------------------------------------------
    def patients(self, ipd: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
        """Each patient's age at entry (years) and probability of being male."""
        n = len(ipd)
        if self.age_column is not None:
            a = pd.to_numeric(_column(ipd, self.age_column, source), errors="coerce")
            a = a.to_numpy(float)
        elif self.age is not None:
            a = np.full(n, float(self.age))
        else:
            raise InputError("an age distribution describes a cohort, not patients; give ages.")
        _check_ages(a, source)
        if self.sex_column is None:
            return a, np.full(n, self.male_share())
        sex = _sex_labels(_column(ipd, self.sex_column, source).to_numpy(object), n, source)
        return a, (sex == "male").astype(float)

    def patient_curves(self, t, ages, male, time_scale: float):
        """Each patient's ``log h_pop`` (per model unit) and ``H_pop`` at times ``t`` (SMR 1)."""
        t = np.asarray(t, dtype=float)
        h_S, S = 0.0, 0.0
        for sex, w in (("male", male), ("female", 1.0 - male)):
            if np.all(w == 0):
                continue
            h, H = patient_background(t, ages, sex, self.table, self.year, time_scale)
            S = S + w * np.exp(-H)
            h_S = h_S + w * np.exp(-H) * h
        return np.log(h_S / S), -np.log(S)

    def members(self, ages=None, male=None, pattern=None) -> tuple[Members, np.ndarray]:
        """The nodes of the cohort (ages grouped to :data:`AGE_STEP`, both sexes by weight) and
        each node's covariate pattern: from the patients' ``ages`` and ``male`` shares (and
        their ``pattern`` indices), or from the age distribution."""
        if ages is None:
            kind, *num = self.ages if self.ages is not None else ("point", self.age, self.age)
            lo, hi = num[-2], num[-1]
            grid = np.arange(np.floor(lo), np.ceil(hi) + 1e-9, AGE_STEP)
            grid = grid[(grid >= lo) & (grid <= hi)] if kind != "point" else np.array([lo])
            w = np.ones(grid.size)
            if kind == "normal":
                w = np.exp(-0.5 * ((grid - num[0]) / num[1]) ** 2) if num[1] > 0 else grid == num[0]
                if not w.any():
                    grid, w = np.array([num[0]]), np.ones(1)
            ages, male = grid, np.full(grid.size, self.male_share())
            weight = np.asarray(w, float) / np.sum(w)
            pattern = np.zeros(grid.size, dtype=int)
        else:
            weight = np.full(len(ages), 1.0 / len(ages))
            pattern = np.zeros(len(ages), dtype=int) if pattern is None else np.asarray(pattern)
        a = np.round(np.asarray(ages, float) / AGE_STEP) * AGE_STEP
        df = pd.DataFrame(
            {
                "pattern": np.concatenate([pattern, pattern]),
                "age": np.concatenate([a, a]),
                "sex": ["male"] * a.size + ["female"] * a.size,
                "w": np.concatenate([weight * male, weight * (1 - male)]),
            }
        )
        df = df[df["w"] > 0].groupby(["pattern", "age", "sex"], as_index=False)["w"].sum()
        sexes = df["sex"].to_numpy(object)
        return Members(df["age"].to_numpy(float), sexes, df["w"].to_numpy(float)), df[
            "pattern"
        ].to_numpy(int)

    def node_curves(self, t, members: Members, time_scale: float):
        """``H_pop`` and ``h_pop`` (per model unit, SMR 1) of each node at times ``t``: (T, J)."""
        return member_curves(np.ravel(t), members, self.table, self.year, time_scale)

    def at_points(self, t, members: Members, node_pattern, time_scale: float, n_patterns: int):
        """What the predictor's cohort averages over at times ``t``: the nodes' ``H_pop`` and
        ``h_pop`` (T, J), weights ``w`` (J,) and membership ``M`` (J, G) of the patterns."""
        H, h = self.node_curves(t, members, time_scale)
        M = (np.asarray(node_pattern)[:, None] == np.arange(n_patterns)[None, :]).astype(float)
        return {"H_pop": H, "h_pop": h, "w": members.weight, "M": M}

    def lifetime(
        self, members: Members, time_scale: float, follow_up: float, smr: float | None = None
    ) -> float:
        """Model units until the cohort's population survival at ``smr`` (default: the
        population's own) falls below 0.001 (at most 130 years)."""
        s = check_smr(self.smr if smr is None else smr)
        years = np.arange(0.0, 131.0)
        H, _ = self.node_curves(years * time_scale, members, time_scale)
        S = np.exp(-s * H) @ members.weight
        below = np.flatnonzero(S < 1e-3)
        end = years[below[0]] if below.size else years[-1]
        return float(max(end * time_scale, follow_up))


def _column(ipd, col, source):
    if col not in ipd.columns:
        raise InputError(
            f"{source} has no column {col!r}; its columns are {', '.join(map(str, ipd.columns))}."
        )
    return ipd[col]
