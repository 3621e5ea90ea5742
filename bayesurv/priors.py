"""Priors as data: one type and one grammar for every prior in bayesurv.

A prior is a distribution and its numbers, written as text, ``normal(0, 1.5)``,
``halfnormal(0.5)``, ``lognormal(0.4, 0.1)``, or as a table with PyMC's argument names,
``{dist = "Normal", mu = 0, sigma = 1.5}`` (a spec's TOML, a Python dict). Both parse (no
``eval``) into a :class:`Prior` that prints, saves and reads back, gives its log density and
quantiles (SciPy) and creates itself in a PyMC model, so the exact solvers and NUTS see the same
prior. The numbers of the text form are PyMC's arguments in order:

============  ===================  ===========  =============================================
text          PyMC                 support      numbers
============  ===================  ===========  =============================================
normal        Normal               real         mu, sigma
studentt      StudentT             real         nu, mu, sigma
cauchy        Cauchy               real         alpha (location), beta (scale)
logistic      Logistic             real         mu, s
halfnormal    HalfNormal           positive     sigma
halfcauchy    HalfCauchy           positive     beta
exponential   Exponential          positive     lam (rate)
gamma         Gamma                positive     alpha (shape), beta (rate)
lognormal     LogNormal            positive     mu, sigma (of the log)
uniform       Uniform              [a, b]       lower, upper
flat          Flat                 real         (none)
============  ===================  ===========  =============================================

Clinical helpers state a prior as a belief about the quantity itself (survextrap's ``p_hr``):
:func:`hr_prior` (median and upper 95% limit of a hazard ratio), :func:`time_prior` (of a
median survival time) and :func:`fraction_prior` (of a cure fraction); each is a normal prior
on the scale the model samples (log HR, log time, logit), with the upper limit 1.96 sd above
the median.

Examples
--------
>>> parse_prior("normal(0, 1.5)").kwargs
{'mu': 0.0, 'sigma': 1.5}
>>> parse_prior({"dist": "HalfNormal", "sigma": 0.5}).text
'halfnormal(0.5)'
>>> p = hr_prior(0.7, 1.0)
>>> p.text, round(float(np.exp(p.ppf(0.975))), 3)
('normal(-0.356675, 0.18198)', 1.0)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bayesurv.errors import InputError

_INF = math.inf
#: text name -> (PyMC name, argument names, support)
DISTRIBUTIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "normal": ("Normal", ("mu", "sigma"), "real"),
    "studentt": ("StudentT", ("nu", "mu", "sigma"), "real"),
    "cauchy": ("Cauchy", ("alpha", "beta"), "real"),
    "logistic": ("Logistic", ("mu", "s"), "real"),
    "halfnormal": ("HalfNormal", ("sigma",), "positive"),
    "halfcauchy": ("HalfCauchy", ("beta",), "positive"),
    "exponential": ("Exponential", ("lam",), "positive"),
    "gamma": ("Gamma", ("alpha", "beta"), "positive"),
    "lognormal": ("LogNormal", ("mu", "sigma"), "positive"),
    "uniform": ("Uniform", ("lower", "upper"), "interval"),
    "flat": ("Flat", (), "real"),
}
_BY_PYMC = {v[0].lower(): k for k, v in DISTRIBUTIONS.items()}
#: arguments that must be positive
_POSITIVE_ARGS = {"sigma", "beta", "s", "lam", "alpha", "nu"}
_LOCATION_ARGS = {("cauchy", "alpha")}  # cauchy's alpha is a location, any sign
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*$")
_Z975 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Prior:
    """A distribution (its text name, see :data:`DISTRIBUTIONS`) and its numbers, in PyMC's
    argument order; ``label`` says where it came from (e.g. a published table)."""

    family: str
    params: tuple[float, ...] = ()
    label: str | None = None

    @property
    def text(self) -> str:
        if self.family == "flat":
            return "flat"
        return f"{self.family}({', '.join(f'{p:g}' for p in self.params)})"

    @property
    def kwargs(self) -> dict[str, float]:
        """PyMC's keyword arguments, e.g. ``{"mu": 0.0, "sigma": 1.5}``."""
        return dict(zip(DISTRIBUTIONS[self.family][1], self.params, strict=True))

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "dist": self.family,
            "params": list(self.params),
            "text": self.text,
        }
        if self.label:
            out["label"] = self.label
        return out

    @property
    def support(self) -> tuple[float, float]:
        kind = DISTRIBUTIONS[self.family][2]
        if kind == "real":
            return (-_INF, _INF)
        if kind == "interval":
            return (self.params[0], self.params[1])
        return (0.0, _INF)

    def _scipy(self):
        f, p = self.family, self.params
        if f == "normal":
            return stats.norm(p[0], p[1])
        if f == "studentt":
            return stats.t(p[0], p[1], p[2])
        if f == "cauchy":
            return stats.cauchy(p[0], p[1])
        if f == "logistic":
            return stats.logistic(p[0], p[1])
        if f == "halfnormal":
            return stats.halfnorm(scale=p[0])
        if f == "halfcauchy":
            return stats.halfcauchy(scale=p[0])
        if f == "exponential":
            return stats.expon(scale=1.0 / p[0])
        if f == "gamma":
            return stats.gamma(p[0], scale=1.0 / p[1])
        if f == "lognormal":
            return stats.lognorm(s=p[1], scale=math.exp(p[0]))
        if f == "uniform":
            return stats.uniform(p[0], p[1] - p[0])
        raise ValueError("a flat prior has no distribution")

    def logpdf(self, x):
        """Normalized log density (``0`` everywhere for ``flat``); ``-inf`` outside the support."""
        x = np.asarray(x, dtype=float)
        if self.family == "flat":
            return np.zeros_like(x)
        with np.errstate(divide="ignore"):
            return self._scipy().logpdf(x)

    def ppf(self, q):
        """Quantile function (not for ``flat``)."""
        return self._scipy().ppf(q)

    def pymc(self, name: str, **kwargs):
        """This prior as a PyMC random variable in the current model (``kwargs``: dims...)."""
        import pymc as pm

        return getattr(pm, DISTRIBUTIONS[self.family][0])(name, **self.kwargs, **kwargs)


def _fail(where: str, what: str) -> InputError:
    example = "normal(0, 1.5) or {dist='Normal', mu=0, sigma=1.5}"
    return InputError(f"{where}: {what}; write e.g. {example}.")


def _from_table(value: dict, where: str) -> Prior:
    dist = value.get("dist")
    family = _BY_PYMC.get(str(dist).lower(), str(dist).lower()) if dist is not None else None
    if family not in DISTRIBUTIONS:
        raise InputError(
            f"{where}: {dist!r} is not a distribution bayesurv knows; choose one of "
            f"{', '.join(v[0] for v in DISTRIBUTIONS.values())}."
        )
    names = DISTRIBUTIONS[family][1]
    args = {k: v for k, v in value.items() if k != "dist"}
    if set(args) != set(names):
        shown = ", ".join([f"dist = '{DISTRIBUTIONS[family][0]}'", *(f"{n} = ..." for n in names)])
        raise InputError(
            f"{where}: {DISTRIBUTIONS[family][0]} needs exactly {', '.join(names) or 'nothing'}; "
            f"write {{{shown}}} with numbers."
        )
    try:
        params = tuple(float(args[n]) for n in names)
    except (TypeError, ValueError):
        raise _fail(where, f"the numbers of {value!r} are not all numbers") from None
    return _checked(family, params, where, str(value))


def _checked(family: str, params: tuple[float, ...], where: str, shown: str) -> Prior:
    if not all(math.isfinite(v) for v in params):
        raise InputError(f"{where}: {shown!r} has a non-finite number; use finite values.")
    names = DISTRIBUTIONS[family][1]
    bad = [
        n
        for n, v in zip(names, params, strict=True)
        if n in _POSITIVE_ARGS and (family, n) not in _LOCATION_ARGS and v <= 0
    ]
    if bad:
        fixed = [abs(v) or 1.0 if n in bad else v for n, v in zip(names, params, strict=True)]
        raise InputError(
            f"{where}: the scale in {shown!r} must be positive ({', '.join(bad)} > 0); write "
            f"e.g. {Prior(family, tuple(fixed)).text}."
        )
    if family == "uniform" and not params[0] < params[1]:
        raise InputError(
            f"{where}: uniform(a, b) needs a < b (0 <= a < b for a scale), got {shown!r}; write "
            "e.g. uniform(0, 2)."
        )
    return Prior(family, params)


def parse_prior(value: Prior | str | dict, source: str | None = None) -> Prior:
    """A :class:`Prior` from text (``"normal(0, 1.5)"``), a table (``{"dist": "Normal", "mu":
    0, "sigma": 1.5}``) or a Prior; an :class:`InputError` in one sentence otherwise.

    ``source`` names where the prior came from (``--prior``, a spec key) for the message.
    """
    where = source or "the prior"
    if isinstance(value, Prior):
        return value
    if isinstance(value, dict):
        return _from_table(value, where)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "the prior is empty")
    m = _CALL.match(value)
    if not m:
        raise _fail(where, f"cannot read {value!r} as a prior")
    family, args = m.group(1).lower(), m.group(2)
    if family not in DISTRIBUTIONS:
        raise _fail(where, f"{family!r} is not a distribution bayesurv knows")
    raw = [a.strip() for a in args.split(",")] if args and args.strip() else []
    n = len(DISTRIBUTIONS[family][1])
    if len(raw) != n or not all(re.fullmatch(_NUM, a) for a in raw):
        raise InputError(
            f"{where}: {family}() takes {n} number(s), got {value.strip()!r}; write e.g. "
            f"{family}({', '.join(DISTRIBUTIONS[family][1])}) with numbers."
        )
    return _checked(family, tuple(float(a) for a in raw), where, value.strip())


def check_support(prior: Prior, support: str, name: str) -> Prior:
    """``prior`` if its support suits a parameter that is ``"real"`` or ``"positive"``."""
    kind = DISTRIBUTIONS[prior.family][2]
    ok = (
        kind == "real"
        if support == "real"
        else kind == "positive" or (kind == "interval" and prior.params[0] >= 0)
    )
    if not ok:
        allowed = [k for k, v in DISTRIBUTIONS.items() if v[2] == support]
        raise InputError(
            f"the prior {prior.text} for {name!r} does not suit a {support} parameter; choose "
            f"one of {', '.join(allowed)}."
        )
    return prior


def _belief(centre: float, upper: float, what: str) -> Prior:
    if not (math.isfinite(centre) and math.isfinite(upper) and upper > centre):
        raise InputError(f"{what}: the upper limit must lie above the median.")
    return Prior("normal", (round(centre, 6), round((upper - centre) / _Z975, 6)))


def hr_prior(median: float, upper: float) -> Prior:
    """Normal prior on the log hazard ratio with median ``median`` and upper 95% limit ``upper``
    on the HR scale (survextrap ``p_hr``)."""
    if not (median > 0 and upper > 0):
        raise InputError("hr_prior: the hazard ratio's median and upper limit must be positive.")
    return _belief(math.log(median), math.log(upper), "hr_prior")


def time_prior(median: float, upper: float) -> Prior:
    """Normal prior on a log time (e.g. ``log_median``: the median survival) from the median
    and upper 95% limit of that time, in the data's time unit."""
    if not (median > 0 and upper > 0):
        raise InputError("time_prior: the median and upper limit must be positive times.")
    return _belief(math.log(median), math.log(upper), "time_prior")


def fraction_prior(median: float, upper: float) -> Prior:
    """Normal prior on a logit (e.g. ``cure_logit``) from the median and upper 95% limit of the
    fraction itself."""
    if not (0 < median < 1 and 0 < upper < 1):
        raise InputError("fraction_prior: the median and upper limit must lie in (0, 1).")
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    return _belief(logit(median), logit(upper), "fraction_prior")
