"""Priors for the pooled log hazard ratio ``mu`` and the heterogeneity ``tau``, as data.

A prior is written as a short string -- ``normal(0, 4)``, ``halfnormal(0.5)``, ``halfcauchy(0.5)``,
``uniform(0, 2)``, ``lognormal(-2, 0.7)``, ``flat`` (``mu`` only) or ``turner(OUTCOME, COMPARISON)``
(``tau`` only) -- and parsed by a small grammar (no ``eval``) into a :class:`Prior`: a name and
numbers that can be printed, saved and read back (the one prior type of
:mod:`bayesurv.priors`, whose grammar this module uses). Each prior gives its log density in
numpy (for the exact quadrature in :mod:`bayesurv.synthesis.normal_normal`) and a PyMC random
variable (for :mod:`bayesurv.synthesis.model`), so both solvers see the same prior.

Turner et al. (2015) empirical priors
-------------------------------------
Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT. Predictive distributions for between-study
heterogeneity and simple methods for their application in Bayesian meta-analysis. Stat Med
2015;34(6):984-998, doi:10.1002/sim.6381, Table IV: log-normal priors for ``tau^2`` (log odds
ratios, Cochrane binary outcomes). The numbers below are copied from the transcription of Table IV
in the R package bayesmeta (``R/bayesmeta.R``, objects ``meanmat``/``sdmat`` and the marginal
setting ``mu = -2.56, sigma = 1.74`` "see p.993"), read through the search tool; the paper itself
could not be read here, so they are verified against bayesmeta's copy only. Only the outcome types
a time-to-event synthesis needs are included (all-cause mortality for OS; cause-specific mortality /
major morbidity / composite for EFS, DFS, RFS; and the marginal "any" setting). They were derived
for log odds ratios; using them for log hazard ratios is an approximation to state in a report.
A log-normal prior on ``tau^2`` with (m, s) is a log-normal prior on ``tau`` with (m/2, s/2).
"""

from __future__ import annotations

import re

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
TURNER_TAU2: dict[tuple[str, str], tuple[float, float]] = {
    # all-cause mortality
    ("mortality", "pharma-placebo"): (-3.95, 1.34),
    ("mortality", "pharma-pharma"): (-4.18, 1.41),
    ("mortality", "nonpharma-placebo"): (-4.17, 1.55),
    ("mortality", "nonpharma-pharma"): (-2.92, 1.02),
    ("mortality", "nonpharma-nonpharma"): (-3.50, 1.26),
    # cause-specific mortality / major morbidity event / composite (mortality or morbidity)
    ("composite", "pharma-placebo"): (-3.71, 1.74),
    ("composite", "pharma-pharma"): (-3.95, 1.79),
    ("composite", "nonpharma-placebo"): (-3.93, 1.91),
    ("composite", "nonpharma-pharma"): (-2.68, 1.51),
    ("composite", "nonpharma-nonpharma"): (-3.27, 1.68),
}
# The marginal setting (any outcome, any comparison), Turner et al. 2015 p.993.
TURNER_TAU2_ANY = (-2.56, 1.74)

_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*$")

_TAU_FAMILIES = {"halfnormal": 1, "halfcauchy": 1, "uniform": 2, "lognormal": 2}
_MU_FAMILIES = {"normal": 2}
_EXAMPLES = {
    "tau": 'halfnormal(0.5), halfcauchy(0.5), uniform(0, 2), lognormal(-2, 0.7) or '
    "turner(mortality, pharma-pharma)",
    "mu": "normal(0, 4) or flat",
}


def turner_prior(outcome: str = "any", comparison: str | None = None) -> Prior:
    """Turner et al. (2015) empirical prior, as a log-normal prior on ``tau``.

    Parameters
    ----------
    outcome : ``"mortality"`` (all-cause mortality; use for OS), ``"composite"`` (cause-specific
        mortality / major morbidity / composite; use for EFS, DFS, RFS) or ``"any"`` (marginal).
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
                f"turner({outcome}, {comparison}): unknown setting; use outcome mortality, "
                f"composite or any and a comparison among {', '.join(TURNER_COMPARISONS)}."
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
