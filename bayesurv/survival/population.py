"""The one population concept: a life table plus who the patients are.

General-population mortality enters every model the same way: each patient (or each node of a
cohort) ``j`` entering at age ``a_j`` with probability ``m_j`` of being male has::

    S_pop,j(t) = m_j exp(-H_male(a_j, t)) + (1 - m_j) exp(-H_female(a_j, t))
    h_pop,j(t) = -d log S_pop,j(t) / dt          (per model time unit; k units per year)

with ``H_sex(a, t) = integral_a^{a + t / k} h_table(u, sex) du``
(:meth:`bayesurv.lifetable.LifeTable.background_cumhaz`), all scaled by one SMR rule: a fixed
``smr >= 1`` (cured patients do not die less than their peers), or a log-normal prior on it
truncated at 1 (:class:`bayesurv.survival.structure.ModelSpec`). Who the patients are comes from
the IPD (an age column or one age; a sex column or a share of men) or, for a trial known only
by its reported summaries, from an age distribution (uniform, or normal within a range). A
cohort's curves average over *nodes*: patients grouped by covariate pattern, age (to
:data:`AGE_STEP` years) and sex, weighted by their share (Ederer I:
:mod:`bayesurv.survival.background`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesurv.errors import InputError
from bayesurv.lifetable import SEX_ALIASES, UNITS_PER_YEAR, LifeTable
from bayesurv.survival.background import Members, member_curves
from bayesurv.survival.evidence import number

#: ages are grouped to this width (years) for a cohort's nodes
AGE_STEP = 0.25


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
        smr = float(self.smr)
        if not (np.isfinite(smr) and smr >= 1):
            raise InputError(
                f"smr {smr:g} must be at least 1: cured patients do not die less than their "
                "peers (1 = general-population mortality)."
            )
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
            if not 0 <= num[-2] < num[-1] <= 110:
                raise InputError("the age range must lie within 0-110 years, lowest first.")

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
        bad = np.flatnonzero(~np.isfinite(a) | (a < 0) | (a > 110))
        if bad.size:
            raise InputError(
                f"{source}, row {bad[0] + 1}: age {a[bad[0]]:g} is outside 0-110 years; give "
                "the age at entry in years."
            )
        if self.sex_column is None:
            return a, np.full(n, self.male_share())
        raw = _column(ipd, self.sex_column, source).astype(str).str.strip().str.lower()
        mapped = raw.map(SEX_ALIASES)
        bad = np.flatnonzero(mapped.isna().to_numpy())
        if bad.size:
            raise InputError(
                f"{source}, row {bad[0] + 1}: sex {ipd[self.sex_column].iloc[bad[0]]!r} is not "
                "male or female; write male/female (or m/f)."
            )
        return a, (mapped == "male").to_numpy(float)

    def patient_curves(self, t, ages, male, time_scale: float):
        """Each patient's ``log h_pop`` (per model unit) and ``H_pop`` at times ``t`` (SMR 1)."""
        from bayesurv.survival.background import patient_background

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

    def lifetime(self, members: Members, time_scale: float, follow_up: float) -> float:
        """Model units until the cohort's population survival falls below 0.001."""
        years = np.arange(0.0, 131.0)
        H, _ = self.node_curves(years * time_scale, members, time_scale)
        S = np.exp(-H) @ members.weight
        below = np.flatnonzero(S < 1e-3)
        end = years[below[0]] if below.size else years[-1]
        return float(max(end * time_scale, follow_up))


def _column(ipd, col, source):
    if col not in ipd.columns:
        raise InputError(
            f"{source} has no column {col!r}; its columns are {', '.join(map(str, ipd.columns))}."
        )
    return ipd[col]
