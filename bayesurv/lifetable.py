"""General-population life tables: read, validate, and look up hazards by attained age.

A life table gives, for each sex (and optionally calendar year), one annual hazard per single year
of age. The hazard is constant within a year of age and the oldest age's hazard extends for
ever::

    h(a) = hazard[floor(a)]                   (a in years, a >= the youngest age in the table)
    H(t | age0) = integral_{age0}^{age0 + t / time_scale} h(a) da

``time_scale`` is the number of model time units per year (:data:`UNITS_PER_YEAR`: 1 for
years, 12 for months, 365.25 / 7 for weeks, 365.25 for days); a cumulative hazard has no unit, a
hazard is per year from :meth:`LifeTable.hazard` and per model time unit from
:meth:`LifeTable.hazard_per_unit`.

**Coverage.** A table must cover the cohort: start at or below the youngest age at entry, and
reach the oldest attained age (the oldest age at entry plus the horizon), or end at
:data:`OPEN_AGE` or older, where its last row stands for every older age (an open age group, as
``survexp.us``'s 109 and the 100+ of national tables). :func:`check_coverage` refuses any other
table in one sentence before the work, or extends it by one stated rule (``extend="constant"``:
the hazard of the last age for every older age, with a :class:`LifeTableWarning` naming the ages
it fills in).

The year of the table is fixed along follow-up (a *period* table): R's ``survexp`` instead also
advances the calendar year as the cohort ages, and it reads the rate of age ``a`` from the column
of the calendar year of the last birthday (the US tables give the risk of those who *turn* ``a``
in that year). Both agree when one calendar year's rates apply throughout: for the 2014 table,
enter R's cohort on 2015-01-01 or later (the tests do; R then uses its last year, 2014).

CSV format: ``age,sex,hazard`` (annual hazard) or ``age,sex,qx`` (1-year probability of death,
``hazard = -log(1 - qx)``), optional ``year``; ``#`` starts a comment line. Ages are whole years,
one row per age without gaps, the same ages for every sex and year; sex is ``male`` or
``female`` (also ``m``/``f``, any case).

Examples
--------
>>> lt = us_life_table(2014)
>>> round(float(lt.hazard(70.5, "male")), 5)                      # annual hazard at 70
0.02296
>>> round(float(np.exp(-lt.background_cumhaz(10.0, 70.0, "male"))), 4)  # P(alive at 80 | 70)
0.6982
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayesurv import datasets
from bayesurv.errors import InputError, where

#: the folder of the shipped life tables (inside an installed wheel, or the checkout's data/)
LIFETABLE_DIR = datasets.root() / "data" / "lifetables"
#: the US table exported from R survival's ``survexp.us`` (see its README)
US_TABLE = LIFETABLE_DIR / "survexp_us.csv"
SEXES = ("male", "female")
#: spellings of the two sexes a table or a patient may use
SEX_ALIASES = {"male": "male", "m": "male", "female": "female", "f": "female"}
MAX_AGE = 130
#: a table whose last age is this old or older ends in an open age group (its hazard extends)
OPEN_AGE = 100
#: the rules that may extend a table past its last age (:func:`check_coverage`)
EXTEND_RULES = ("constant",)
#: model time units per (Julian) year, the one table every module uses
UNITS_PER_YEAR = {"days": 365.25, "weeks": 365.25 / 7.0, "months": 12.0, "years": 1.0}


class LifeTableWarning(UserWarning):
    """A life table extended past its last age by a stated rule (:func:`check_coverage`)."""


@dataclass(frozen=True)
class LifeTable:
    """Annual hazards by single year of age, sex and (optionally) calendar year.

    Attributes
    ----------
    ages : the whole ages ``a0, a0 + 1, ..., a_max``; row ``k`` covers ``[ages[k], ages[k] + 1)``.
    rates : dict ``(sex, year) -> annual hazard per age`` (``year`` is None without a year).
    years : the calendar years in the table (empty without a ``year`` column).
    source : where it came from, for messages.
    """

    ages: np.ndarray
    rates: dict
    years: tuple
    source: str | None = None

    # ---- lookup helpers --------------------------------------------------------------------
    def _key(self, sex: str, year: int | None) -> tuple:
        s = SEX_ALIASES.get(str(sex).strip().lower())
        if s is None:
            raise InputError(
                f"{where(self.source)}sex {sex!r} is not in the life table; give 'male' or "
                "'female'."
            )
        if not self.years:
            if year is not None:
                raise InputError(
                    f"{where(self.source)}the life table has no year column, yet year={year} "
                    "was asked; leave year out or use a table with a year column."
                )
            key = (s, None)
        elif year is None:
            if len(self.years) != 1:
                raise InputError(
                    f"{where(self.source)}the life table holds the years "
                    f"{', '.join(map(str, self.years))}; choose one with year=."
                )
            key = (s, self.years[0])
        else:
            y = int(year)
            below = [t for t in self.years if t <= y]
            if not below:
                raise InputError(
                    f"{where(self.source)}year {y} is before the first year of the life table "
                    f"({self.years[0]}); choose a year from {self.years[0]} on."
                )
            key = (s, below[-1])  # the latest table year not after the year asked
        if key not in self.rates:
            raise InputError(
                f"{where(self.source)}sex {sex!r} is not in the life table; give a sex the "
                "table has, or a table with both sexes."
            )
        return key

    def _check_ages(self, a: np.ndarray) -> None:
        if not np.all(np.isfinite(a)) or np.any(a < self.ages[0]):
            bad = a[~(np.isfinite(a) & (a >= self.ages[0]))].ravel()[0]
            raise InputError(
                f"{where(self.source)}attained age {bad:g} is outside the life table, which "
                f"starts at age {self.ages[0]:g}; give ages in years from {self.ages[0]:g} on."
            )

    def _per_sex(self, sex, shape) -> tuple[np.ndarray, list]:
        """Indices into the list of distinct sexes, broadcast to ``shape``."""
        sx = np.asarray(sex, dtype=object)
        labels = sorted({str(v) for v in sx.ravel()})
        idx = np.searchsorted(labels, sx.astype(str))
        return np.broadcast_to(idx, shape), labels

    # ---- public ----------------------------------------------------------------------------
    def hazard(self, attained_age, sex, year: int | None = None) -> np.ndarray:
        """Annual hazard at each attained age (years); ``sex`` a label or an array of labels.

        Examples
        --------
        >>> lt = LifeTable.from_frame(pd.DataFrame({"age": [0, 1], "sex": "male",
        ...                                         "hazard": [0.1, 0.2]}))
        >>> lt.hazard([0.5, 1.0, 40.0], "male").tolist()    # the oldest age extends
        [0.1, 0.2, 0.2]
        """
        a = np.asarray(attained_age, dtype=float)
        shape = np.broadcast_shapes(a.shape, np.shape(sex))
        a = np.broadcast_to(a, shape)
        self._check_ages(a)
        k = np.clip(np.floor(a - self.ages[0]).astype(int), 0, len(self.ages) - 1)
        idx, labels = self._per_sex(sex, shape)
        out = np.empty(shape)
        for j, lab in enumerate(labels):
            sel = idx == j
            out[sel] = self.rates[self._key(lab, year)][k[sel]]
        return out

    def hazard_per_unit(
        self, attained_age, sex, year: int | None = None, time_scale: float = 1.0
    ) -> np.ndarray:
        """Hazard per model time unit (``hazard / time_scale``) at each attained age in years."""
        return self.hazard(attained_age, sex, year) / _check_scale(time_scale)

    def cumhaz_from_birth(self, attained_age, sex, year: int | None = None) -> np.ndarray:
        """``Lambda(a)`` = integral of the hazard from the youngest age of the table to ``a``."""
        a = np.asarray(attained_age, dtype=float)
        shape = np.broadcast_shapes(a.shape, np.shape(sex))
        a = np.broadcast_to(a, shape)
        self._check_ages(a)
        idx, labels = self._per_sex(sex, shape)
        knots = np.append(self.ages, self.ages[-1] + 1.0)
        out = np.empty(shape)
        for j, lab in enumerate(labels):
            sel = idx == j
            h = self.rates[self._key(lab, year)]
            cum = np.concatenate([[0.0], np.cumsum(h)])  # Lambda at the integer knots
            x = a[sel]
            inside = np.interp(np.minimum(x, knots[-1]), knots, cum)
            out[sel] = inside + h[-1] * np.maximum(x - knots[-1], 0.0)
        return out

    def background_cumhaz(
        self, t, age0, sex, year: int | None = None, time_scale: float = 1.0
    ) -> np.ndarray:
        """Cumulative hazard from age ``age0`` (years) over time ``t`` (model units).

        ``H(t) = Lambda(age0 + t / time_scale) - Lambda(age0)``, exact for the piecewise-constant
        hazard. ``t``, ``age0`` and ``sex`` broadcast together.

        Examples
        --------
        >>> lt = LifeTable.from_frame(pd.DataFrame({"age": [0, 1], "sex": "male",
        ...                                         "hazard": [0.1, 0.2]}))
        >>> round(float(lt.background_cumhaz(18.0, 0.5, "male", time_scale=12)), 6)  # months
        0.25
        """
        ts = _check_scale(time_scale)
        t = np.asarray(t, dtype=float)
        if np.any(~np.isfinite(t)) or np.any(t < 0):
            raise InputError(
                "background_cumhaz: follow-up times must be finite and >= 0; check the time column."
            )
        a0 = np.asarray(age0, dtype=float)
        shape = np.broadcast_shapes(t.shape, a0.shape, np.shape(sex))
        a0 = np.broadcast_to(a0, shape)
        end = a0 + np.broadcast_to(t, shape) / ts
        sx = np.broadcast_to(np.asarray(sex, dtype=object), shape)
        return self.cumhaz_from_birth(end, sx, year) - self.cumhaz_from_birth(a0, sx, year)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, source: str | None = None) -> LifeTable:
        """Validate a table (``age,sex,hazard`` or ``age,sex,qx``, optional ``year``)."""
        return _validate(df, source)


def _float(x) -> float:
    try:
        return float(str(x).strip())
    except ValueError:
        return math.nan


def _check_scale(time_scale: float) -> float:
    ts = float(time_scale)
    if not (math.isfinite(ts) and ts > 0):
        raise InputError(
            f"time_scale {time_scale!r} is not a positive number; give the number of model "
            "time units per year (1 for years, 12 for months, 365.25 for days)."
        )
    return ts


def _validate(df: pd.DataFrame, src: str | None) -> LifeTable:
    if df is None or len(df) == 0:
        raise InputError(
            f"{where(src)}the life table is empty; give a header age,sex,hazard (or "
            "age,sex,qx) and one row per age and sex."
        )
    df = df.copy()
    df.columns = [str(c).strip().lower() for c in df.columns]
    cols = set(df.columns)
    missing = [c for c in ("age", "sex") if c not in cols]
    if missing:
        raise InputError(
            f"{where(src)}column {missing[0]!r} is missing; give the columns age,sex,hazard "
            "(or age,sex,qx), optionally year."
        )
    if ("hazard" in cols) == ("qx" in cols):
        raise InputError(
            f"{where(src)}give exactly one of the columns 'hazard' (annual hazard) and 'qx' "
            "(1-year probability of death)."
        )
    rate_col = "hazard" if "hazard" in cols else "qx"
    has_year = "year" in cols
    num_cols = ["age", rate_col] + (["year"] if has_year else [])
    vals = {}
    for c in num_cols:
        v = np.array([_float(x) for x in df[c].tolist()])  # exact decimal parsing
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            raise InputError(
                f"{where(src, int(bad[0]) + 1)}column {c!r} holds {df[c].iloc[bad[0]]!r}, not a "
                "finite number; write a plain decimal number."
            )
        vals[c] = v
    age, rate = vals["age"], vals[rate_col]
    for i in range(len(df)):
        w = where(src, i + 1)
        if age[i] != round(age[i]) or not (0 <= age[i] <= MAX_AGE):
            raise InputError(
                f"{w}age {age[i]:g} is not a whole number of years from 0 to {MAX_AGE}; give "
                "one row per single year of age."
            )
        if has_year and vals["year"][i] != round(vals["year"][i]):
            raise InputError(f"{w}year {vals['year'][i]:g} is not a whole calendar year; fix it.")
        if rate[i] < 0:
            raise InputError(
                f"{w}{rate_col} {rate[i]:g} is negative; rates and probabilities of death are >= 0."
            )
        if rate_col == "qx" and rate[i] >= 1:
            raise InputError(
                f"{w}qx {rate[i]:g} is not below 1; give the 1-year probability of death "
                "(a proportion, not a percentage), or the annual hazard (column hazard) for "
                "the open last age."
            )
    sexes = []
    for i, s in enumerate(df["sex"].tolist()):
        lab = SEX_ALIASES.get(str(s).strip().lower())
        if lab is None:
            raise InputError(f"{where(src, i + 1)}sex {s!r} is not known; write male or female.")
        sexes.append(lab)
    years = vals["year"].astype(int) if has_year else np.zeros(len(df), dtype=int)
    hazard = -np.log1p(-rate) if rate_col == "qx" else rate
    keys = list(zip(sexes, years.tolist(), age.astype(int).tolist(), strict=True))
    seen: dict = {}
    for i, k in enumerate(keys):
        if k in seen:
            what = f"age {k[2]}, sex {k[0]}" + (f", year {k[1]}" if has_year else "")
            raise InputError(
                f"{where(src, i + 1)}{what} repeats row {seen[k]}; keep one row per age and sex"
                + (" and year." if has_year else ".")
            )
        seen[k] = i + 1
    rates: dict = {}
    ref_ages = None
    for s, y in sorted({(k[0], k[1]) for k in keys}):
        rows = [i for i, k in enumerate(keys) if k[0] == s and k[1] == y]
        a = age[rows].astype(int)
        order = np.argsort(a)
        a = a[order]
        what = f"sex {s}" + (f", year {y}" if has_year else "")
        gap = np.flatnonzero(np.diff(a) != 1)
        if gap.size:
            raise InputError(
                f"{where(src)}{what}: ages jump from {a[gap[0]]} to {a[gap[0] + 1]}; give one "
                "row for every single year of age, with no gaps."
            )
        if ref_ages is None:
            ref_ages = a
        elif a.size != ref_ages.size or np.any(a != ref_ages):
            raise InputError(
                f"{where(src)}{what}: ages {a[0]}-{a[-1]} differ from {ref_ages[0]}-"
                f"{ref_ages[-1]} of the other rows; give the same ages for every sex and year."
            )
        rates[(s, int(y) if has_year else None)] = hazard[np.asarray(rows)[order]]
    present = {k[0] for k in rates}
    yrs = tuple(sorted({k[1] for k in rates})) if has_year else ()
    for s in present:
        for y in yrs or (None,):
            if (s, y) not in rates:
                raise InputError(
                    f"{where(src)}sex {s} has no rows for year {y}; give every sex for every year."
                )
    return LifeTable(ages=ref_ages.astype(float), rates=rates, years=yrs, source=src)


def read_life_table(path: str | Path) -> LifeTable:
    """Read and validate a life table CSV (see the module docstring for the format), through
    the shared reader (:func:`bayesurv.tables.read_table`: encodings, delimiters and decimal
    commas, ``#`` comments, size limits)."""
    from bayesurv.tables import Column, read_table

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: the life table file does not exist; check the path.")
    optional = [Column(c, required=False) for c in ("hazard", "qx", "year")]
    df = read_table(p, [Column("age"), Column("sex", kind="text"), *optional], what="life table")
    return _validate(df.reset_index(drop=True), str(p))


def check_coverage(
    table: LifeTable,
    ages,
    horizon: float | None = None,
    *,
    source: str | None = None,
    extend: str | None = None,
    horizon_option: str = "--horizon-years",
    extend_option: str = "--life-table-extend constant",
    follow_up: float = 0.0,
) -> str | None:
    """Refuse a life table that does not cover a cohort's ages over the horizon, before the work.

    Parameters
    ----------
    table : the life table.
    ages : the ages at entry (years) of the patients or of the cohort's nodes.
    horizon : years of follow-up and extrapolation from entry; ``None`` for a lifetime.
    source : the table's name in messages (default: ``table.source``).
    extend : ``None`` refuses a table that falls short; ``"constant"`` extends it with the hazard
        of its last age and warns (:class:`LifeTableWarning`) naming the rule and the ages.
    horizon_option, extend_option : how the caller's user sets the horizon and the extension
        (the CLI's flags by default; a spec names its keys), for the fix in the message.
    follow_up : years the data themselves follow the cohort: the horizon is never shorter, so
        a shorter horizon is offered as a fix only when the follow-up fits in the table.

    Returns
    -------
    The warning's text when the table was extended, else ``None``.

    A table covers the cohort when its first age is at most the youngest age at entry and it
    reaches the oldest attained age (``max(ages) + horizon``) or ends at :data:`OPEN_AGE` or
    older (an open last age group). A lifetime horizon needs the open age group (or the rule).

    Examples
    --------
    >>> lt = LifeTable.from_frame(pd.DataFrame({"age": [0, 1], "sex": "male",
    ...                                         "hazard": [0.1, 0.2]}), "infant.csv")
    >>> check_coverage(lt, [0.5], horizon=1.0) is None
    True
    >>> check_coverage(lt, [60.0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bayesurv.errors.InputError: infant.csv: the life table covers ages 0-1, yet ... age 60 ...
    """
    src = source or table.source or "the life table"
    a = np.asarray(ages, dtype=float).ravel()
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise InputError(f"{src}: the cohort's ages at entry must be finite numbers of years.")
    if horizon is not None and not (math.isfinite(float(horizon)) and float(horizon) >= 0):
        raise InputError(f"{src}: the horizon {horizon!r} must be a finite number of years >= 0.")
    if extend is not None and extend not in EXTEND_RULES:
        raise InputError(
            f"unknown life-table extension {extend!r}; the one rule is 'constant' (the hazard "
            "of the last age for every older age)."
        )
    first, last = float(table.ages[0]), float(table.ages[-1])
    covers = f"{src}: the life table covers ages {first:g}-{last:g}"
    young, old = float(a.min()), float(a.max())
    entry = f"age {young:g}" if young == old else f"ages {young:g}-{old:g}"
    if young < first:
        raise InputError(
            f"{covers}, yet the cohort enters at {entry}; give a table from age "
            f"{math.floor(young):g} or younger."
        )
    reach = None if horizon is None else old + float(horizon)
    if last >= OPEN_AGE or (reach is not None and reach <= last + 1):
        return None
    followed = (
        "for a lifetime" if reach is None else f"to age {reach:.4g} ({float(horizon):.4g} years)"
    )
    if extend is None:
        shorter = (
            f" a {horizon_option} that ends by age {last + 1:g},"
            if old + max(float(follow_up), 0.0) <= last + 1
            else ""
        )
        raise InputError(
            f"{covers}, yet the cohort enters at {entry} and is followed {followed}; give a "
            f"table that reaches age {OPEN_AGE} (its last age then stands for every older "
            f"age),{shorter} or {extend_option} to carry the hazard of age {last:g} on."
        )
    note = (
        f"{src} ends at age {last:g}; the cohort (entry at {entry}, followed {followed}) takes "
        f"the hazard of age {last:g} at every age from {last + 1:g} on (rule: constant hazard "
        "beyond the last age)."
    )
    warnings.warn(note, LifeTableWarning, stacklevel=2)
    return note


def us_life_table(year: int | None = 2014) -> LifeTable:
    """The US total-population table from R ``survival::survexp.us`` for one calendar year.

    ``year`` is 2010, 2012 or 2014 (the years shipped); another year uses the latest shipped year
    not after it. See ``data/lifetables/README.md`` for the source and the conversion.
    """
    lt = read_life_table(US_TABLE)
    if year is None:
        return lt
    s, y = lt._key("male", year)
    rates = {k: v for k, v in lt.rates.items() if k[1] == y}
    return LifeTable(ages=lt.ages, rates=rates, years=(y,), source=f"{US_TABLE.name} (year {y})")
