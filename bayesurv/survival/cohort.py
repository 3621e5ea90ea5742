"""The trial cohort as the long-term model sees it: arms, cure covariates, and each patient's
general-population hazard from a life table.

For patient ``i`` entering at age ``a_i`` (years) with probability ``m_i`` of being male (1 or 0
when the sex is known, the cohort's share of men when it is not), follow-up ``t_i`` in model units
and ``k`` model units per year::

    S_pop,i(t) = m_i exp(-H_male(a_i, t)) + (1 - m_i) exp(-H_female(a_i, t))
    h_pop,i(t) = -d log S_pop,i(t) / dt

with ``H_sex(a, t) = integral_a^{a + t/k} h_table(u, sex) du / ...`` from
:meth:`bayesurv.lifetable.LifeTable.background_cumhaz`. The cohort's curves average over *nodes*:
the patients grouped by cure-covariate pattern, age (to :data:`AGE_STEP` years) and sex, weighted
by their share of the patients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesurv.errors import InputError

#: the cohort's ages are grouped to this width (years) for the cohort curves
AGE_STEP = 0.25


from bayesurv.lifetable import UNITS_PER_YEAR as TIME_UNITS  # noqa: E402


@dataclass
class Cohort:
    """What the model knows of the patients apart from their outcomes."""

    time_scale: float  # model units per year (1 when no time unit is given)
    time_unit: str
    labels: list  # arm labels, reference first
    cov_names: list
    cov_mean: np.ndarray  # covariates are centred on these
    # covariate patterns (rows of centred covariates) and, per pattern, the population nodes
    patterns: np.ndarray  # (P, k)
    nodes: list  # per pattern: (ages, sexes, weights) with weights summing to the pattern's share
    table: object = None
    year: int | None = None

    @property
    def background(self) -> bool:
        return self.table is not None


def units_per_year(time_unit: str | None) -> tuple[float, str]:
    """Model units per year and the unit's name (``None``: 1 and "time units")."""
    if time_unit is None:
        return 1.0, "time units"
    u = str(time_unit).strip().lower()
    u = {"day": "days", "week": "weeks", "month": "months", "year": "years"}.get(u, u)
    if u not in TIME_UNITS:
        raise InputError(f"unknown time unit {time_unit!r}; choose one of {', '.join(TIME_UNITS)}.")
    return TIME_UNITS[u], u


def _column(ipd, col, source, what):
    if col not in ipd.columns:
        raise InputError(
            f"{source} has no column {col!r} ({what}); its columns are "
            f"{', '.join(map(str, ipd.columns))}."
        )
    return ipd[col]


def _ages(ipd, age, age_column, source) -> np.ndarray:
    n = len(ipd)
    if age_column is not None:
        raw = _column(ipd, age_column, source, "age at entry")
        a = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    elif age is not None:
        a = np.full(n, float(age))
    else:
        raise InputError(
            "general-population mortality needs the patients' ages at entry; give --age YEARS "
            "or --age-column NAME."
        )
    bad = np.flatnonzero(~np.isfinite(a) | (a < 0) | (a > 110))
    if bad.size:
        raise InputError(
            f"{source}, row {bad[0] + 1}: age {a[bad[0]]:g} is outside 0-110 years; give the age "
            "entry in years."
        )
    return a


def _sexes(ipd, sex, sex_column, source) -> np.ndarray:
    """Per patient: probability of being male (1, 0, or the cohort's share when unknown)."""
    from bayesurv.lifetable import _SEX_ALIASES

    n = len(ipd)
    if sex_column is not None:
        raw = _column(ipd, sex_column, source, "sex").astype(str).str.strip().str.lower()
        mapped = raw.map(_SEX_ALIASES)
        bad = np.flatnonzero(mapped.isna().to_numpy())
        if bad.size:
            raise InputError(
                f"{source}, row {bad[0] + 1}: sex {ipd[sex_column].iloc[bad[0]]!r} is not male or "
                "female; write male/female (or m/f)."
            )
        return (mapped == "male").to_numpy(float)
    if sex is None:
        raise InputError(
            "general-population mortality needs the patients' sex; give --sex male|female|0.5 "
            "(a share of men) or --sex-column NAME."
        )
    try:
        p = float(sex)
    except (TypeError, ValueError):
        s = _SEX_ALIASES.get(str(sex).strip().lower())
        if s is None:
            raise InputError(
                f"sex {sex!r} is not male, female or a share of men in [0, 1]."
            ) from None
        return np.full(n, 1.0 if s == "male" else 0.0)
    if not 0 <= p <= 1:
        raise InputError(f"the share of men {p:g} must lie in [0, 1].")
    return np.full(n, p)


def _patient_background(t, age, male, table, year, time_scale):
    """log h_pop and H_pop per patient at its time (sex unknown: the two sexes mixed)."""
    from bayesurv.survival.background import patient_background

    out_h, out_S = 0.0, 0.0
    for sex, w in (("male", male), ("female", 1.0 - male)):
        if np.all(w == 0):
            continue
        h, H = patient_background(t, age, sex, table, year, time_scale)
        S = np.exp(-H)
        out_S = out_S + w * S
        out_h = out_h + w * S * h
    return np.log(out_h / out_S), -np.log(out_S)


def prepare_longterm(
    ipd: pd.DataFrame,
    *,
    arm_column=None,
    cure_covariates=(),
    life_table=None,
    age=None,
    age_column=None,
    sex=None,
    sex_column=None,
    year=None,
    time_unit=None,
    source="the IPD table",
):
    """Validate the IPD and return ``(data, cohort)``: the model's arrays and the cohort."""
    from bayesurv.survival.ipdfit import prepare

    data, labels = prepare(ipd, arm_column=arm_column, source=source)
    time_scale, unit = units_per_year(time_unit)
    if life_table is not None and time_unit is None:
        raise InputError(
            "a life table needs the time unit of the data; give --time-unit "
            "days|weeks|months|years."
        )
    n = len(data["time"])
    covs = list(cure_covariates or ())
    z = np.zeros((n, 0))
    if covs:
        cols = []
        for c in covs:
            v = pd.to_numeric(_column(ipd, c, source, "cure covariate"), errors="coerce").to_numpy(
                float
            )
            bad = np.flatnonzero(~np.isfinite(v))
            if bad.size:
                raise InputError(
                    f"{source}, row {bad[0] + 1}: cure covariate {c!r} is "
                    f"{ipd[c].iloc[bad[0]]!r}, not "
                    "a number; code it numerically (e.g. 0/1)."
                )
            if np.ptp(v) == 0:
                raise InputError(f"{source}: cure covariate {c!r} takes one value only; drop it.")
            cols.append(v)
        z = np.column_stack(cols)
    z_mean = z.mean(axis=0)
    zc = z - z_mean
    data["cov"] = zc
    if life_table is not None:
        ages = _ages(ipd, age, age_column, source)
        male = _sexes(ipd, sex, sex_column, source)
        lh, H = _patient_background(data["time"], ages, male, life_table, year, time_scale)
        data["log_h_pop"], data["H_pop"] = lh, H
    else:
        ages, male = np.zeros(n), np.zeros(n)
    # covariate patterns and, within each, the population nodes (age bins x sex)
    if zc.shape[1]:
        patterns, inv = np.unique(np.round(zc, 10), axis=0, return_inverse=True)
    else:
        patterns, inv = np.zeros((1, 0)), np.zeros(n, dtype=int)
    nodes = []
    for p in range(len(patterns)):
        sel = inv.ravel() == p
        if life_table is None:
            nodes.append((np.zeros(1), np.array(["male"], dtype=object), np.array([sel.mean()])))
            continue
        a = np.round(ages[sel] / AGE_STEP) * AGE_STEP
        ab = np.concatenate([a, a])
        sx = np.array(["male"] * sel.sum() + ["female"] * sel.sum(), dtype=object)
        w = np.concatenate([male[sel], 1 - male[sel]]) / n
        keep = w > 0
        df = (
            pd.DataFrame({"age": ab[keep], "sex": sx[keep], "w": w[keep]})
            .groupby(["age", "sex"], as_index=False)["w"]
            .sum()
        )
        nodes.append(
            (df["age"].to_numpy(float), df["sex"].to_numpy(object), df["w"].to_numpy(float))
        )
    cohort = Cohort(time_scale, unit, labels, covs, z_mean, patterns, nodes, life_table, year)
    return data, cohort


def pop_nodes(cohort: Cohort, t: np.ndarray, p: int):
    """Pattern ``p``'s nodes on ``t``: general-population cumulative hazard ``H`` and hazard
    ``h`` per model unit (SMR 1), each (len(t), nodes), and the nodes' weights."""
    from bayesurv.survival.background import Cohort as Members
    from bayesurv.survival.background import _patient_curves

    ages, sexes, w = cohort.nodes[p]
    H, h = _patient_curves(
        t, Members(ages, sexes, w), cohort.table, cohort.year, cohort.time_scale, 1.0
    )
    return H, h, w


def pop_curves(cohort: Cohort, t: np.ndarray, p: int, smr: float = 1.0):
    """Pattern ``p``'s weighted population S and S*h (per model unit) on ``t``: sums over nodes."""
    H, h, w = pop_nodes(cohort, t, p)
    S = np.exp(-smr * H)
    return S @ w, (S * (smr * h)) @ w


def lifetime_horizon(cohort: Cohort, follow_up: float) -> float:
    """Model units until the cohort's general-population survival falls below 0.001 (with a
    life table), else five times the follow-up."""
    if not cohort.background:
        return 5.0 * follow_up
    years = np.arange(0.0, 131.0)
    S = sum(pop_curves(cohort, years * cohort.time_scale, p)[0] for p in range(len(cohort.nodes)))
    below = np.flatnonzero(S < 1e-3)
    end = years[below[0]] if below.size else years[-1]
    return float(max(end * cohort.time_scale, follow_up))
