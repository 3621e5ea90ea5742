"""Simulated trials with known truth: cure models on top of general-population mortality.

Patient ``i`` (age ``a_i`` at entry, sex ``s_i``, arm ``g_i``) dies of background causes at rate
``smr * h_table(a_i + t / time_scale, s_i)`` and, unless cured, of the disease; the event time is
the first of the two, censored at the data cut. The cohort's true overall survival is::

    S(t) = mean_i S_bg,i(t) * S_exc,g_i(t),    S_bg,i(t) = exp(-smr * H_table,i(t))
    S_exc(t) = pi + (1 - pi) S_u(t)            (mixture: a proportion pi never dies of the disease)
    S_exc(t) = pi ^ (1 - S_u(t))               (non-mixture: the excess cumulative hazard
                                                -log(pi) F_u(t) is bounded by -log(pi))

``S_u`` is a parametric family of :mod:`bayesurv.survival.families` (the *uncured* survival in
the mixture model); a hazard ratio multiplies the second arm's ``S_u`` hazard (proportional
hazards, families closed under PH only). The mean over ``i`` runs over the simulated patients of
the arm, so the truth is the expected Kaplan-Meier curve of *this* cohort (for the background
part R's Ederer I expected survival,
:func:`~bayesurv.survival.population.background_survival`).

How times are drawn (all exact, vectorized over patients):

* background: ``E_i ~ Exp(1)`` and ``T_bg,i`` solves ``smr * H_table,i(T) = E_i``; the life
  table's cumulative hazard from birth is piecewise linear in age, so the solution is a sorted
  search for the age interval plus one linear step
  (:func:`bayesurv.survival.population.background_death_times`);
* excess, mixture: cured with probability ``pi`` (``T_exc = inf``), else ``T_exc ~ S_u``;
* excess, non-mixture: ``E ~ Exp(1)``; ``T_exc = inf`` if ``E >= -log(pi)``, else
  ``T_exc = F_u^-1(E / -log(pi))``;
* censoring: entry ``U_i ~ Uniform(0, accrual)``; the data cut is ``follow_up`` after the first
  entry, so patient ``i`` is censored at ``follow_up - U_i`` (all at ``follow_up`` when
  ``accrual = 0``).

Times and family parameters are in model units (``time_unit``); ages in years.

Examples
--------
>>> from bayesurv.lifetable import us_life_table
>>> sim = simulate_cure(2000, cure_fraction=0.4, family="weibull",
...                     params={"shape": 1.2, "scale": 1.5}, life_table=us_life_table(2014),
...                     ages=60.0, sexes="male", follow_up=5.0, seed=1)
>>> sim.data.columns.tolist()
['time', 'event', 'age', 'sex']
>>> round(float(sim.truth.survival(20.0)), 3)    # S_bg(20) * (0.4 + 0.6 S_u(20))
0.239
>>> round(float(sim.truth.excess_survival(20.0)), 3)   # the plateau: the cure fraction
0.4
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from bayesurv.errors import InputError
from bayesurv.evidence.reported import number

#: model time units per year (as the analysis specs use)
from bayesurv.lifetable import UNITS_PER_YEAR as TIME_UNITS  # noqa: E402
from bayesurv.lifetable import LifeTable
from bayesurv.survival.families import Family, get_family
from bayesurv.survival.population import (
    Members,
    background_death_times,
    background_hazard,
    background_survival,
    cohort_from_ages,
)

CURE_KINDS = ("mixture", "non-mixture")


# --------------------------------------------------------------------------------------------
# the truth
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CureTruth:
    """The true curves of a simulated cohort (times in model units, hazards per model unit).

    ``arms`` is ``(None,)`` for a single-arm trial; ``cohorts``, ``params`` and
    ``cure_fraction`` are keyed by arm; ``weights`` are the arms' shares of the patients;
    ``everyone`` is the whole simulated cohort. ``table=None`` means no background mortality
    (``S_bg = 1``).

    By default an arm's curves average over the arm's own patients (what its Kaplan-Meier
    estimates). ``standardize=True`` puts every arm on the whole cohort's ages and sexes instead
    (``S_arm(t) = mean over all patients of S_bg,i(t) S_exc,arm(t)``), as the cohort curves of
    :mod:`bayesurv.survival.outputs` do.
    """

    family: Family
    cure: str
    arms: tuple
    params: dict
    cure_fraction: dict
    cohorts: dict
    weights: dict
    everyone: Members
    table: LifeTable | None
    year: int | None
    smr: float
    time_scale: float

    def _arms(self, arm) -> list:
        if arm is None:
            return list(self.arms)
        if arm not in self.arms:
            raise InputError(f"arm {arm!r} is not simulated; choose one of {self.arms}.")
        return [arm]

    # ---- per arm ---------------------------------------------------------------------------
    def _sexc(self, t, arm):
        t = np.asarray(t, dtype=float)
        pi, p = self.cure_fraction[arm], self.params[arm]
        with np.errstate(divide="ignore"):
            su = np.where(t > 0, self.family.survival(np.maximum(t, 1e-300), **p), 1.0)
        if self.cure == "mixture":
            return pi + (1.0 - pi) * su
        return np.exp(math.log(pi) * (1.0 - su)) if pi > 0 else np.where(t > 0, 0.0, 1.0)

    def _hexc(self, t, arm):
        t = np.asarray(t, dtype=float)
        pi, p = self.cure_fraction[arm], self.params[arm]
        ts = np.maximum(t, 1e-300)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            f = self.family.density(ts, **p)
            if self.cure == "mixture":
                return (1.0 - pi) * f / self._sexc(t, arm)
            return -math.log(pi) * f

    def _bg(self, t, arm, std=False, hazard=False):
        """The arm's (``std``: the whole cohort's) background survival, or its hazard."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        if self.table is None:
            return np.full(t.shape, 0.0 if hazard else 1.0)
        c = self.everyone if std else self.cohorts[arm]
        f = background_hazard if hazard else background_survival
        return f(t, c, self.table, self.year, self.time_scale, self.smr)

    @staticmethod
    def _shape(t, x):
        return x.reshape(np.shape(t)) if np.ndim(t) else x.reshape(())[()]

    # ---- public ----------------------------------------------------------------------------
    def excess_survival(self, t, arm=None):
        """``S_exc(t)`` of one arm (``arm=None``: the patient-weighted mean over arms)."""
        arms = self._arms(arm)
        x = sum(self.weights[a] * self._sexc(np.atleast_1d(t), a) for a in arms)
        return self._shape(t, x / sum(self.weights[a] for a in arms))

    def background_survival(self, t, arm=None, standardize: bool = False):
        """The arm's (or the whole cohort's) general-population survival, Ederer I."""
        arms = self._arms(arm)
        x = sum(self.weights[a] * self._bg(t, a, standardize) for a in arms)
        return self._shape(t, x / sum(self.weights[a] for a in arms))

    def background_hazard(self, t, arm=None, standardize: bool = False):
        """``-d log S_bg / dt`` of the arm (or the whole cohort), per model unit."""
        arms = self._arms(arm)
        sb = {a: self.weights[a] * self._bg(t, a, standardize) for a in arms}
        x = sum(sb[a] * self._bg(t, a, standardize, hazard=True) for a in arms) / sum(sb.values())
        return self._shape(t, x)

    def survival(self, t, arm=None, standardize: bool = False):
        """Overall ``S(t) = mean_i S_bg,i(t) S_exc(t)`` of the arm (or the whole cohort)."""
        arms = self._arms(arm)
        tt = np.atleast_1d(np.asarray(t, dtype=float))
        x = sum(self.weights[a] * self._bg(tt, a, standardize) * self._sexc(tt, a) for a in arms)
        return self._shape(t, x / sum(self.weights[a] for a in arms))

    def hazard(self, t, arm=None, standardize: bool = False):
        """Overall hazard ``-d log S / dt`` per model unit (``h_bg + h_exc`` within an arm)."""
        arms = self._arms(arm)
        tt = np.atleast_1d(np.asarray(t, dtype=float))
        s = {a: self.weights[a] * self._bg(tt, a, standardize) * self._sexc(tt, a) for a in arms}
        num = sum(
            s[a] * (self._bg(tt, a, standardize, hazard=True) + self._hexc(tt, a)) for a in arms
        )
        return self._shape(t, num / sum(s.values()))

    def mean_survival(
        self, horizon: float, arm=None, standardize: bool = False, n_grid: int = 20001
    ) -> float:
        """Restricted mean survival to ``horizon`` (model units), in years (trapezoid rule)."""
        t = np.linspace(0.0, float(horizon), n_grid)
        return float(np.trapezoid(self.survival(t, arm, standardize), t) / self.time_scale)


class Simulated(NamedTuple):
    """What :func:`simulate_cure` returns: ``data, truth = simulate_cure(...)``.

    ``latent``: per patient ``entry``, ``t_background``, ``t_excess`` (``inf`` if never) and
    ``censor`` (potential follow-up), for tests.
    """

    data: pd.DataFrame
    truth: CureTruth
    latent: pd.DataFrame


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------
def _positive(name: str, x, allow_zero: bool = False) -> float:
    v = number(x)
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        need = ">= 0" if allow_zero else "> 0"
        raise InputError(f"simulate_cure: {name} = {x!r} must be a finite number {need}.")
    return v


def _params(fam: Family, params) -> dict:
    if not isinstance(params, Mapping) or set(params) != set(fam.params):
        raise InputError(
            f"simulate_cure: params must give exactly the {fam.name} parameters "
            f"{', '.join(fam.params)} (flexsurv's parameterization), e.g. "
            f"{ {k: 1.0 for k in fam.params} }."
        )
    out = {}
    for k in fam.params:
        v = number(params[k])
        if not math.isfinite(v):
            raise InputError(f"simulate_cure: parameter {k} = {params[k]!r} is not a number.")
        out[k] = v
    return out


def _cure_fractions(cure_fraction, arms: tuple, cure: str) -> dict:
    if isinstance(cure_fraction, Mapping):
        if set(cure_fraction) != set(arms):
            raise InputError(
                f"simulate_cure: cure_fraction gives arms {sorted(map(str, cure_fraction))}, "
                f"but the arms are {list(arms)}; give one cure fraction per arm."
            )
        vals = {a: cure_fraction[a] for a in arms}
    else:
        vals = dict.fromkeys(arms, cure_fraction)
    out = {}
    for a, v in vals.items():
        p = number(v)
        low_ok = p > 0 if cure == "non-mixture" else p >= 0
        if not (math.isfinite(p) and low_ok and p <= 1):
            rng = "(0, 1]" if cure == "non-mixture" else "[0, 1]"
            raise InputError(
                f"simulate_cure: cure_fraction {v!r} must be a proportion in {rng} for the "
                f"{cure} model."
            )
        out[a] = p
    return out


def _broadcast(name: str, x, n: int, dtype) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(x, dtype=dtype))
    if arr.ndim != 1 or arr.size not in (1, n):
        raise InputError(
            f"simulate_cure: {name} has {arr.size} values for n = {n} patients; give one value "
            "or one per patient."
        )
    return np.broadcast_to(arr, (n,)).copy()


# --------------------------------------------------------------------------------------------
# the simulator
# --------------------------------------------------------------------------------------------
def simulate_cure(
    n: int,
    *,
    cure_fraction: float | Mapping,
    family: str,
    params: Mapping,
    life_table: LifeTable | None = None,
    ages=None,
    sexes=None,
    year: int | None = None,
    smr: float = 1.0,
    cure: str = "mixture",
    time_unit: str = "years",
    follow_up: float,
    accrual: float = 0.0,
    hazard_ratio: float | None = None,
    arms: Sequence[str] = ("control", "experimental"),
    allocation: float = 0.5,
    seed: int | np.random.Generator | None,
) -> Simulated:
    """Simulate individual patient data from a cure model with background mortality.

    Parameters
    ----------
    n : number of patients.
    cure_fraction : ``pi`` (a proportion), or a mapping ``arm -> pi`` (then two arms).
    family, params : the uncured (excess) distribution ``S_u``: a family name of
        :data:`~bayesurv.survival.families.FAMILIES` and its parameters, in model time units.
    life_table : general-population mortality; ``None`` for none (``S_bg = 1``).
    ages, sexes : age at entry (years) and sex of each patient, or one value for all.
    year, smr : the life table's year; standardized mortality ratio on the background hazard.
    cure : ``"mixture"`` or ``"non-mixture"`` (see the module docstring).
    time_unit : ``years``, ``months``, ``weeks`` or ``days``: the unit of the times, of
        ``follow_up``, ``accrual`` and of the family's parameters.
    follow_up : time from the first entry to the data cut (model units).
    accrual : entries are uniform on ``[0, accrual)``; must be below ``follow_up``.
    hazard_ratio : the second arm's uncured hazard relative to the first (PH); gives two arms.
    arms, allocation : labels of the two arms and the share of patients in the second (the
        numbers are exact: ``round(n * allocation)``; who goes where is random).
    seed : seed or generator; the same seed gives the same trial.

    Returns
    -------
    :class:`Simulated` ``(data, truth, latent)``: ``data`` has columns ``time``, ``event`` (1 =
    death), ``arm`` (two arms only), ``age``, ``sex``; ``truth`` is a :class:`CureTruth`.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputError(f"simulate_cure: n = {n!r} must be a whole number of patients >= 1.")
    n = int(n)
    if cure not in CURE_KINDS:
        raise InputError(
            f"simulate_cure: cure {cure!r} is not known; choose mixture or non-mixture."
        )
    if time_unit not in TIME_UNITS:
        raise InputError(
            f"simulate_cure: time_unit {time_unit!r} is not known; choose one of "
            f"{', '.join(TIME_UNITS)}."
        )
    ts = TIME_UNITS[time_unit]
    fam = get_family(family)
    base = _params(fam, params)
    fu = _positive("follow_up", follow_up)
    acc = _positive("accrual", accrual, allow_zero=True)
    if acc >= fu:
        raise InputError(
            f"simulate_cure: accrual {accrual!r} is not below follow_up {follow_up!r}; the data "
            "cut must come after the last entry."
        )
    smr = _positive("smr", smr)
    two = hazard_ratio is not None or isinstance(cure_fraction, Mapping)
    if two:
        arms = tuple(arms)
        if len(arms) != 2 or len(set(arms)) != 2:
            raise InputError(f"simulate_cure: arms {arms!r} must be two distinct labels.")
        alloc = _positive("allocation", allocation)
        if alloc >= 1:
            raise InputError(f"simulate_cure: allocation {allocation!r} must be in (0, 1).")
    else:
        arms, alloc = (None,), 0.0
    pis = _cure_fractions(cure_fraction, arms, cure)
    par = {a: base for a in arms}
    if hazard_ratio is not None:
        hr = _positive("hazard_ratio", hazard_ratio)
        if not fam.allows_ph:
            raise InputError(
                f"simulate_cure: the {fam.name} family is not closed under proportional hazards; "
                "give hazard_ratio only with exponential, weibull or gompertz."
            )
        par[arms[1]] = {k: float(v) for k, v in fam.ph(base, math.log(hr)).items()}
    if life_table is not None and ages is None:
        raise InputError("simulate_cure: with a life table, give ages (years at entry).")
    if life_table is not None and sexes is None:
        raise InputError("simulate_cure: with a life table, give sexes (male or female).")
    age = _broadcast("ages", 50.0 if ages is None else ages, n, float)
    sex_in = _broadcast("sexes", "female" if sexes is None else sexes, n, object)
    everyone = cohort_from_ages(age, sex_in)  # validates ages (0-130) and sex labels
    sex = everyone.sex

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    # the order of the draws is fixed: arms, entries, background, excess
    group = np.zeros(n, dtype=int)
    if two:
        n1 = round(n * alloc)
        if not 0 < n1 < n:
            raise InputError(
                f"simulate_cure: n = {n} with allocation {allocation!r} leaves an arm empty; "
                "give more patients or a more even allocation."
            )
        group[rng.permutation(n)[:n1]] = 1
    entry = rng.uniform(0.0, acc, size=n) if acc > 0 else np.zeros(n)
    e_bg = rng.exponential(size=n)
    if life_table is None:
        t_bg = np.full(n, np.inf)
    else:
        t_bg = background_death_times(age, sex, life_table, e_bg, year=year, time_scale=ts, smr=smr)
    u = rng.random(n)
    e_exc = rng.exponential(size=n)
    t_exc = np.full(n, np.inf)
    for g, a in enumerate(arms):
        sel = group == g
        pi = pis[a]
        if cure == "mixture":
            unc = sel & (u >= pi)
            t_exc[unc] = fam.inv_cum_hazard(e_exc[unc], **par[a])
        elif pi < 1:
            hmax = -math.log(pi)
            die = sel & (e_exc < hmax)
            t_exc[die] = fam.quantile(e_exc[die] / hmax, **par[a])
    censor = fu - entry
    t_event = np.minimum(t_bg, t_exc)
    event = (t_event <= censor).astype(int)
    time = np.where(event == 1, t_event, censor)

    cols = {"time": time, "event": event}
    if two:
        cols["arm"] = np.asarray(arms, dtype=object)[group]
    cols["age"] = age
    cols["sex"] = sex
    data = pd.DataFrame(cols)
    cohorts: dict = {}
    weights: dict = {}
    for g, a in enumerate(arms):
        sel = group == g
        cohorts[a] = Members(age=age[sel], sex=sex[sel], weight=np.full(sel.sum(), 1 / sel.sum()))
        weights[a] = float(sel.mean())
    truth = CureTruth(
        family=fam,
        cure=cure,
        arms=arms,
        params=par,
        cure_fraction=pis,
        cohorts=cohorts,
        weights=weights,
        everyone=everyone,
        table=life_table,
        year=year,
        smr=smr,
        time_scale=ts,
    )
    latent = pd.DataFrame(
        {"entry": entry, "t_background": t_bg, "t_excess": t_exc, "censor": censor}
    )
    return Simulated(data=data, truth=truth, latent=latent)
