"""Priors for the pooled log hazard ratio ``mu`` and the heterogeneity ``tau``, as data.

A prior is written as a short string -- ``normal(0, 4)``, ``halfnormal(0.5)``, ``halfcauchy(0.5)``,
``uniform(0, 2)``, ``lognormal(-2, 0.7)``, ``flat`` (``mu`` only) or ``turner(OUTCOME, COMPARISON)``
(``tau`` only) -- and parsed by a small grammar (no ``eval``) into a :class:`Prior`: a name and
numbers that can be printed, saved and read back (the one prior type of
:mod:`bayesurv.priors`, whose grammar this module uses). Each prior gives its log density in
numpy (for the exact quadrature in :mod:`bayesurv.synthesis.normal_normal`) and a PyMC random
variable (for :mod:`bayesurv.synthesis.model`), so both solvers see the same prior.

Turner et al. (2015) and Rhodes et al. (2015) empirical priors
--------------------------------------------------------------
Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT. Predictive distributions for between-study
heterogeneity and simple methods for their application in Bayesian meta-analysis. Stat Med
2015;34(6):984-998, doi:10.1002/sim.6381, Table IV: log-normal priors for ``tau^2`` (log odds
ratios, Cochrane binary outcomes), all 16 outcome types x 5 comparison types, and the marginal
setting ``mu = -2.56, sigma = 1.74`` (p.993): ``turner(OUTCOME, COMPARISON)``. Rhodes KM, Turner
RM, Higgins JPT. Predictive distributions were developed for the extent of heterogeneity in
meta-analyses of continuous outcome data. J Clin Epidemiol 2015;68(1):52-60, Table 3 (and Tables
A.3.1 and A.3.2 for respiratory and cancer meta-analyses): log-t priors with 5 degrees of freedom
for ``tau^2`` of standardized mean differences, 8 outcome types x 3 comparison types x 3 medical
areas, and the general setting ``location -3.44, scale 2.59`` (Sec. 3.3):
``rhodes(OUTCOME, COMPARISON[, AREA])``. The numbers are copied from the transcription of both
tables in the R package bayesmeta (``R/bayesmeta.R``: ``TurnerEtAlParameters``,
``RhodesEtAlParameters``), read through the search tool; the papers themselves could not be read
here, so they are verified against bayesmeta's copy only. Turner's priors were derived for log
odds ratios: using them for log hazard ratios is an approximation to state in a report (for OS
``mortality``, for EFS/DFS/RFS ``composite``). A log-normal (log-t) prior on ``tau^2`` with
location m and scale s is a log-normal (log-t) prior on ``tau`` with m/2 and s/2.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bayesurv.errors import InputError
from bayesurv.priors import Prior  # the one prior type (re-exported here)
from bayesurv.priors import parse_prior as _parse

# Turner et al. 2015, Table IV, via bayesmeta R/bayesmeta.R: (mu, sigma) of log(tau^2).
TURNER_COMPARISONS = (
    "pharma-placebo",  # pharmacological vs. placebo / control
    "pharma-pharma",  # pharmacological vs. pharmacological
    "nonpharma-placebo",  # non-pharmacological vs. placebo / control
    "nonpharma-pharma",  # non-pharmacological vs. pharmacological
    "nonpharma-nonpharma",  # non-pharmacological vs. non-pharmacological
)
#: short name -> Turner et al.'s outcome type (Table IV, in its order)
TURNER_OUTCOMES = {
    "mortality": "all-cause mortality",
    "obstetric": "obstetric outcomes",
    "composite": "cause-specific mortality / major morbidity event / composite (mortality or "
    "morbidity)",
    "resource-use": "resource use / hospital stay / process",
    "surgical": "surgical / device related success / failure",
    "withdrawals": "withdrawals / drop-outs",
    "internal": "internal / structure-related outcomes",
    "general-health": "general physical health indicators",
    "adverse-events": "adverse events",
    "infection": "infection / onset of new disease",
    "signs-symptoms": "signs / symptoms reflecting continuation / end of condition",
    "pain": "pain",
    "quality-of-life": "quality of life / functioning (dichotomized)",
    "mental-health": "mental health indicators",
    "biomarkers": "biological markers (dichotomized)",
    "subjective": "subjective outcomes (various)",
}
# bayesmeta's meanmat (negated) and sdmat: one row per comparison type (TURNER_COMPARISONS),
# one column per outcome type (TURNER_OUTCOMES)
# fmt: off
_TURNER_MU = (
    (3.95, 3.52, 3.71, 2.34, 2.14, 2.99, 2.71, 2.29,
     1.87, 2.49, 2.06, 1.83, 2.54, 2.12, 1.77, 2.70),
    (4.18, 3.75, 3.95, 2.58, 2.37, 3.23, 2.94, 2.53,
     2.10, 2.73, 2.29, 2.06, 2.78, 2.35, 2.00, 2.93),
    (4.17, 3.74, 3.93, 2.56, 2.36, 3.21, 2.93, 2.51,
     2.10, 2.71, 2.28, 2.05, 2.77, 2.34, 1.99, 2.92),
    (2.92, 2.49, 2.68, 1.31, 1.11, 1.96, 1.67, 1.26,
     0.84, 1.46, 1.03, 0.80, 1.51, 1.09, 0.74, 1.67),
    (3.50, 3.08, 3.27, 1.90, 1.69, 2.55, 2.26, 1.85,
     1.43, 2.05, 1.61, 1.38, 2.10, 1.67, 1.33, 2.26),
)
_TURNER_SD = (
    (1.34, 1.74, 1.74, 1.74, 1.74, 1.74, 1.74, 1.53,
     1.52, 1.52, 1.51, 1.52, 1.54, 1.53, 1.52, 1.52),
    (1.41, 1.79, 1.79, 1.79, 1.79, 1.79, 1.79, 1.58,
     1.58, 1.58, 1.58, 1.58, 1.60, 1.60, 1.58, 1.58),
    (1.55, 1.91, 1.91, 1.91, 1.91, 1.91, 1.92, 1.72,
     1.71, 1.71, 1.71, 1.71, 1.73, 1.72, 1.71, 1.71),
    (1.02, 1.50, 1.51, 1.50, 1.50, 1.51, 1.51, 1.25,
     1.24, 1.24, 1.24, 1.25, 1.27, 1.27, 1.24, 1.25),
    (1.26, 1.68, 1.68, 1.68, 1.68, 1.68, 1.68, 1.46,
     1.45, 1.45, 1.45, 1.45, 1.47, 1.47, 1.45, 1.45),
)
# fmt: on
#: (outcome, comparison) -> (mu, sigma) of log(tau^2), Turner et al. 2015 Table IV
TURNER_TAU2: dict[tuple[str, str], tuple[float, float]] = {
    (outcome, comparison): (-_TURNER_MU[j][i], _TURNER_SD[j][i])
    for j, comparison in enumerate(TURNER_COMPARISONS)
    for i, outcome in enumerate(TURNER_OUTCOMES)
}
# The marginal setting (any outcome, any comparison), Turner et al. 2015 p.993.
TURNER_TAU2_ANY = (-2.56, 1.74)

# Rhodes et al. 2015, Tables 3, A.3.1, A.3.2, via bayesmeta: (location, scale) of log(tau^2)
RHODES_COMPARISONS = (
    "pharma-placebo",  # pharmacological vs. placebo / control
    "pharma-pharma",  # pharmacological vs. pharmacological
    "nonpharma",  # non-pharmacological (any)
)
RHODES_AREAS = ("other", "respiratory", "cancer")
#: short name -> Rhodes et al.'s outcome type (Table 3, in its order)
RHODES_OUTCOMES = {
    "obstetric": "obstetric outcome",
    "resource-use": "resource use and hospital stay / process",
    "internal-external": "internal and external structure-related outcome",
    "general-health": "general physical health and adverse event and pain and quality of life "
    "/ functioning",
    "signs-symptoms": "signs / symptoms reflecting continuation / end of condition and infection "
    "/ onset of new acute / chronic disease",
    "mental-health": "mental health outcome",
    "biomarkers": "biological marker",
    "subjective": "various subjectively measured outcomes",
}
_RHODES_LOC = {  # negated: one row per comparison type, one column per outcome type
    "other": (
        (4.13, 2.55, 2.43, 3.16, 3.00, 2.99, 3.41, 2.76),
        (4.40, 2.83, 2.70, 3.44, 3.27, 3.27, 3.68, 3.03),
        (3.99, 2.41, 2.29, 3.02, 2.86, 3.85, 3.27, 2.62),
    ),
    "respiratory": (
        (6.03, 4.46, 4.33, 5.07, 4.90, 4.90, 5.31, 4.66),
        (6.31, 4.73, 4.61, 5.34, 5.18, 5.17, 5.59, 4.94),
        (5.89, 4.32, 4.19, 4.93, 4.76, 4.76, 5.17, 4.52),
    ),
    "cancer": (
        (1.57, -0.01, 0.13, 0.60, 0.44, 0.43, 0.85, 0.20),
        (1.85, 0.27, 0.14, 0.88, 0.71, 0.71, 1.13, 0.48),
        (1.43, -0.15, -0.27, 0.46, 0.30, 0.29, 0.71, 0.06),
    ),
}
_RHODES_SCALE = {
    "other": (
        (2.34, 2.73, 2.50, 2.50, 2.50, 2.16, 2.83, 2.58),
        (2.31, 2.70, 2.46, 2.44, 2.47, 2.14, 2.78, 2.59),
        (2.11, 2.57, 2.32, 2.27, 2.33, 1.93, 2.66, 2.41),
    ),
    "respiratory": (
        (2.36, 2.74, 2.51, 2.51, 2.50, 2.17, 2.83, 2.59),
        (2.31, 2.70, 2.46, 2.45, 2.47, 2.14, 2.78, 2.59),
        (2.21, 2.57, 2.33, 2.28, 2.33, 1.94, 2.66, 2.41),
    ),
    "cancer": (
        (2.45, 2.83, 2.61, 2.61, 2.60, 2.28, 2.93, 2.68),
        (2.41, 2.79, 2.56, 2.55, 2.57, 2.25, 2.87, 2.68),
        (2.24, 2.68, 2.45, 2.40, 2.46, 2.08, 2.78, 2.53),
    ),
}
#: (outcome, comparison, area) -> (location, scale) of log(tau^2), t with RHODES_DF df
RHODES_TAU2: dict[tuple[str, str, str], tuple[float, float]] = {
    (outcome, comparison, area): (-_RHODES_LOC[area][j][i], _RHODES_SCALE[area][j][i])
    for area in RHODES_AREAS
    for j, comparison in enumerate(RHODES_COMPARISONS)
    for i, outcome in enumerate(RHODES_OUTCOMES)
}
RHODES_TAU2_ANY = (-3.44, 2.59)  # the general setting, Rhodes et al. 2015 Sec. 3.3
RHODES_DF = 5


@dataclass(frozen=True)
class LogStudentTPrior(Prior):
    """``log tau ~ t_nu(location, scale)``: Rhodes et al.'s priors (``params = (location,
    scale, nu)``; not in the core grammar, so it is made by :func:`rhodes_prior` only)."""

    family: str = "logstudentt"

    @property
    def text(self) -> str:
        loc, scale, nu = self.params
        return f"logstudentt({loc:g}, {scale:g}, {nu:g})"

    @property
    def kwargs(self) -> dict[str, float]:
        loc, scale, nu = self.params
        return {"mu": loc, "sigma": scale, "nu": nu}

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def logpdf(self, x):
        loc, scale, nu = self.params
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            lx = np.log(x)
            out = stats.t.logpdf((lx - loc) / scale, nu) - math.log(scale) - lx
        return np.where(x > 0, out, -np.inf)

    def ppf(self, q):
        loc, scale, nu = self.params
        return np.exp(loc + scale * stats.t.ppf(q, nu))

    def pymc(self, name: str, **kwargs):
        import pymc as pm

        loc, scale, nu = self.params
        log_tau = pm.StudentT(f"log_{name}", nu=nu, mu=loc, sigma=scale, **kwargs)
        return pm.Deterministic(name, pm.math.exp(log_tau), **kwargs)


def rhodes_prior(outcome: str = "any", comparison: str | None = None, area: str = "other") -> Prior:
    """Rhodes et al. (2015) empirical prior for the heterogeneity of standardized mean
    differences, as a log-t prior (5 df) on ``tau``.

    Examples
    --------
    >>> rhodes_prior("obstetric", "pharma-placebo").params
    (-2.065, 1.17, 5.0)
    """
    if outcome == "any":
        m, s = RHODES_TAU2_ANY
        label = "Rhodes et al. 2015, any outcome, any comparison (Sec. 3.3)"
    else:
        key = (outcome, comparison or "", area)
        if key not in RHODES_TAU2:
            raise InputError(
                f"rhodes({outcome}, {comparison}, {area}): unknown setting; use an outcome among "
                f"{', '.join(RHODES_OUTCOMES)}, a comparison among "
                f"{', '.join(RHODES_COMPARISONS)} and an area among {', '.join(RHODES_AREAS)}."
            )
        m, s = RHODES_TAU2[key]
        label = f"Rhodes et al. 2015 Table 3/A.3, {outcome}, {comparison}, {area}"
    return LogStudentTPrior("logstudentt", (m / 2.0, s / 2.0, float(RHODES_DF)), label=label)


_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*$")

_TAU_FAMILIES = {"halfnormal": 1, "halfcauchy": 1, "uniform": 2, "lognormal": 2}
_MU_FAMILIES = {"normal": 2}
_EXAMPLES = {
    "tau": "halfnormal(0.5), halfcauchy(0.5), uniform(0, 2), lognormal(-2, 0.7) or "
    "turner(mortality, pharma-pharma)",
    "mu": "normal(0, 4) or flat",
}


def turner_prior(outcome: str = "any", comparison: str | None = None) -> Prior:
    """Turner et al. (2015) empirical prior, as a log-normal prior on ``tau``.

    Parameters
    ----------
    outcome : a key of :data:`TURNER_OUTCOMES`: ``"mortality"`` (all-cause mortality; use for
        OS), ``"composite"`` (cause-specific mortality / major morbidity / composite; use for
        EFS, DFS, RFS) ... or ``"any"`` (marginal).
    comparison : one of :data:`TURNER_COMPARISONS` (not used with ``"any"``).

    Examples
    --------
    >>> turner_prior("mortality", "pharma-pharma").params
    (-2.09, 0.705)
    """
    if outcome == "any":
        m, s = TURNER_TAU2_ANY
        label = "Turner et al. 2015, any outcome, any comparison (p.993)"
    else:
        key = (outcome, comparison or "")
        if key not in TURNER_TAU2:
            raise InputError(
                f"turner({outcome}, {comparison}): unknown setting; use an outcome among "
                f"{', '.join(TURNER_OUTCOMES)} (or any) and a comparison among "
                f"{', '.join(TURNER_COMPARISONS)}."
            )
        m, s = TURNER_TAU2[key]
        label = f"Turner et al. 2015 Table IV, {outcome}, {comparison}"
    return Prior("lognormal", (m / 2.0, s / 2.0), label=label)


def parse_prior(text: str, role: str, source: str | None = None) -> Prior:
    """Parse a prior string for ``role`` ``"mu"`` or ``"tau"``; raise InputError if malformed.

    The grammar is :func:`bayesurv.priors.parse_prior`'s; a role admits the families of
    ``_MU_FAMILIES`` / ``_TAU_FAMILIES`` (and ``flat`` for mu, ``turner(...)`` for tau).

    Parameters
    ----------
    text : e.g. ``"normal(0, 4)"``, ``"halfnormal(0.5)"``, ``"turner(mortality, pharma-pharma)"``.
    role : ``"mu"`` or ``"tau"``.
    source : where the string came from (e.g. ``"--tau-prior"``), for error messages.

    Examples
    --------
    >>> parse_prior("normal(0, 4)", "mu").params
    (0.0, 4.0)
    >>> parse_prior("turner(composite, pharma-pharma)", "tau").text
    'lognormal(-1.975, 0.895)'
    """
    where = source or f"the {role} prior"
    m = _CALL.match(text) if isinstance(text, str) else None
    family = m.group(1).lower() if m else ""
    if role == "tau" and family == "turner":
        parts = [a.strip().lower() for a in (m.group(2) or "").split(",") if a.strip()]
        if parts == ["any"]:
            return turner_prior("any")
        if len(parts) != 2:
            raise InputError(
                f"{where}: turner() takes an outcome and a comparison, e.g. "
                "turner(mortality, pharma-pharma), or turner(any)."
            )
        return turner_prior(parts[0], parts[1])
    if role == "tau" and family == "rhodes":
        parts = [a.strip().lower() for a in (m.group(2) or "").split(",") if a.strip()]
        if parts == ["any"]:
            return rhodes_prior("any")
        if len(parts) not in (2, 3):
            raise InputError(
                f"{where}: rhodes() takes an outcome, a comparison and optionally an area, e.g. "
                "rhodes(mental-health, pharma-placebo, other), or rhodes(any)."
            )
        return rhodes_prior(*parts)
    families = _TAU_FAMILIES if role == "tau" else {**_MU_FAMILIES, "flat": 0}
    if m and family not in families:
        raise InputError(
            f"{where}: {family!r} is not a prior for {role}; write e.g. {_EXAMPLES[role]}."
        )
    prior = _parse(text, where)
    if role == "tau" and prior.family == "uniform" and prior.params[0] < 0:
        raise InputError(f"{where}: uniform(a, b) for tau needs 0 <= a < b, got {text.strip()!r}.")
    return prior


def as_prior(value: Prior | str | None, role: str, default: str) -> Prior:
    """Accept a :class:`Prior`, a prior string or ``None`` (meaning ``default``)."""
    if value is None:
        value = default
    if isinstance(value, Prior):
        return value
    return parse_prior(value, role)
