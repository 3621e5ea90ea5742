"""Parametric survival families, each written once, with flexsurv's parameterizations.

A family is two formulas of time ``t`` and its natural parameters: the log hazard
``log h(t)`` and the cumulative hazard ``H(t)`` (and ``log S(t) = -H(t)`` where a direct form is
more stable). Everything else follows: ``S = exp(-H)``, ``f = h S``, the censored log-likelihood
``event * log h(t) - H(t) + H(entry)``, curves, RMST. The formulas take a *math namespace* ``m``
first, so the same line of code runs with NumPy/SciPy (:data:`NP`, derived quantities) and with
PyTensor (:data:`PT`, the likelihood PyMC differentiates).

Parameterizations (identical to R flexsurv's ``d<family>`` functions):

===========  ======================  ===========================================================
family       parameters              formula
===========  ======================  ===========================================================
exponential  rate > 0                ``H(t) = rate * t``
weibull      shape a, scale b > 0    ``H(t) = (t / b)^a``                  (R ``dweibull``)
gompertz     shape a, rate b > 0     ``h(t) = b exp(a t)``; a < 0: plateau S(inf) = exp(b / a)
lognormal    meanlog mu, sdlog s     ``S(t) = Phi(-(log t - mu) / s)``     (R ``dlnorm``)
loglogistic  shape a, scale b > 0    ``S(t) = 1 / (1 + (t / b)^a)``        (flexsurv ``dllogis``)
gengamma     mu, sigma > 0, Q        Prentice (1974): ``w = (log t - mu)/sigma``, ``g = Q^-2``,
                                     ``u = g exp(Q w)``: ``S = Q(g, u)`` if Q > 0, ``P(g, u)``
                                     if Q < 0, lognormal at Q = 0       (flexsurv ``dgengamma``)
===========  ======================  ===========================================================

(``P``, ``Q`` are the regularized lower/upper incomplete gamma functions.) For ``|Q| < 0.01`` the
generalized gamma uses a second-order Edgeworth expansion about its lognormal limit (error
O(Q^3), below 1e-6 in S), so the likelihood is finite and smooth through Q = 0.

Treatment effects map parameters of the reference arm to those of another arm: ``aft(p, beta)``
gives ``S_1(t) = S_0(t exp(-beta))`` (time ratio ``exp(beta)``), ``ph(p, beta)`` gives
``h_1(t) = exp(beta) h_0(t)`` (only for families closed under PH: exponential, weibull, gompertz).
Quantiles, means and random draws are NumPy-only helpers used for derived quantities.

Examples
--------
>>> import numpy as np
>>> fam = FAMILIES["weibull"]
>>> float(np.exp(-fam.cum_hazard(NP, np.array(2.0), shape=2.0, scale=2.0)))  # S(scale) = e^-1
0.36787944117144233
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import scipy.special as sc

LOG_2PI = float(np.log(2 * np.pi))
#: log log 2: the cloglog of S = 1/2 (a median)
LOG_LOG2 = float(np.log(np.log(2.0)))
_SQRT2 = float(np.sqrt(2.0))
#: below this |Q| the generalized gamma uses its Edgeworth expansion about the lognormal
GENGAMMA_Q_SERIES = 0.01
#: below this |a t| the Gompertz cumulative hazard uses its Taylor series
_GOMPERTZ_SERIES = 1e-6


# --------------------------------------------------------------------------------------------
# math namespaces: the same names backed by NumPy/SciPy and by PyTensor
# --------------------------------------------------------------------------------------------
def _np_logsumexp(x, axis):
    """log sum exp along ``axis`` (one term: the term itself)."""
    x = np.asarray(x, dtype=float)
    if x.shape[axis] == 1:
        return np.take(x, 0, axis=axis)
    mx = np.max(x, axis=axis, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    return np.log(np.sum(np.exp(x - mx), axis=axis)) + np.squeeze(mx, axis)


def _np_namespace() -> SimpleNamespace:
    return SimpleNamespace(
        name="numpy",
        exp=np.exp,
        log=np.log,
        log1p=np.log1p,
        expm1=np.expm1,
        sqrt=np.sqrt,
        abs=np.abs,
        where=np.where,
        square=np.square,
        maximum=np.maximum,
        softplus=lambda x: np.logaddexp(0.0, x),
        log_ndtr=sc.log_ndtr,
        gammaln=sc.gammaln,
        gammainc=sc.gammainc,
        gammaincc=sc.gammaincc,
        concat=lambda xs: np.concatenate(xs, axis=-1),
        logsumexp=_np_logsumexp,
        logaddexp=np.logaddexp,
    )


def pytensor_namespace() -> SimpleNamespace:
    import pytensor.tensor as pt

    def log_ndtr(z):
        # log Phi(z), stable in both tails (as pymc's normal_lcdf)
        return pt.switch(
            pt.lt(z, -1.0),
            pt.log(pt.erfcx(-z / _SQRT2) / 2.0) - pt.square(z) / 2.0,
            pt.log1p(-pt.erfc(z / _SQRT2) / 2.0),
        )

    return SimpleNamespace(
        name="pytensor",
        exp=pt.exp,
        log=pt.log,
        log1p=pt.log1p,
        expm1=pt.expm1,
        sqrt=pt.sqrt,
        abs=pt.abs,
        where=pt.switch,
        square=pt.square,
        maximum=pt.maximum,
        softplus=pt.softplus,
        log_ndtr=log_ndtr,
        gammaln=pt.gammaln,
        gammainc=pt.gammainc,
        gammaincc=pt.gammaincc,
        concat=lambda xs: pt.concatenate(xs, axis=-1),
        logsumexp=lambda x, axis: pt.logsumexp(x, axis=axis),
        logaddexp=lambda a, b: pt.maximum(a, b) + pt.log1p(pt.exp(-pt.abs(a - b))),
    )


NP = _np_namespace()


class _LazyPT:
    """PyTensor namespace, built on first use so that NumPy-only callers never import it."""

    _ns: SimpleNamespace | None = None

    def __getattr__(self, item):
        if _LazyPT._ns is None:
            _LazyPT._ns = pytensor_namespace()
        return getattr(_LazyPT._ns, item)


PT = _LazyPT()


# --------------------------------------------------------------------------------------------
# the families
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """One parametric family: two formulas plus NumPy helpers for derived quantities."""

    name: str
    params: tuple[str, ...]
    log_hazard: Callable
    cum_hazard: Callable
    #: inverse of the cumulative hazard (NumPy): t such that H(t) = y; inf beyond H(inf)
    inv_cum_hazard: Callable
    #: mean survival time (NumPy), inf where the mean does not exist
    mean: Callable
    aft: Callable
    ph: Callable | None = None
    log_surv: Callable | None = None
    #: the parameters NUTS samples, each with its role (its default prior, survival.structure)
    sampled: tuple[tuple[str, str], ...] = ()
    #: flexsurv's parameters from the sampled ones: ``natural(m, raw, log_ref)``
    natural: Callable | None = None
    #: log f(t) without log S(t) where that is cheaper (gengamma: no incomplete gamma function;
    #: log-normal: no normal tail function)
    log_dens: Callable | None = None
    #: ``(log h(t), log S(t))`` from one evaluation where they share costly parts (gengamma)
    log_parts: Callable | None = None
    #: event times drawn directly, ``random(rng, size, **p)``, where inverting H is costly
    #: (gengamma: scipy's gammainccinv costs about 20 gamma variates)
    random: Callable | None = None

    @property
    def allows_ph(self) -> bool:
        return self.ph is not None

    @property
    def ancillary(self) -> tuple[str, ...]:
        """The sampled parameters other than the location (what flexsurv's ``anc`` moves)."""
        return tuple(name for name, _ in self.sampled[1:])

    def log_density(self, m, t, **p):
        if self.log_dens is not None:
            return self.log_dens(m, t, **p)
        return self.log_hazard(m, t, **p) + self.log_survival(m, t, **p)

    def log_hazard_survival(self, m, t, **p):
        """``(log h(t), log S(t))`` at once (one incomplete gamma function for gengamma)."""
        if self.log_parts is not None:
            return self.log_parts(m, t, **p)
        return self.log_hazard(m, t, **p), self.log_survival(m, t, **p)

    # ---- derived, all from the two formulas -------------------------------------------------
    def log_survival(self, m, t, **p):
        if self.log_surv is not None:
            return self.log_surv(m, t, **p)
        return -self.cum_hazard(m, t, **p)

    def loglik(self, m, t, event, entry=None, **p):
        """Per-patient log-likelihood: ``event log h(t) + log S(t) - log S(entry)``."""
        ll = event * self.log_hazard(m, t, **p) + self.log_survival(m, t, **p)
        if entry is not None:  # delayed entry; an entry time of 0 adds nothing
            safe = m.where(entry > 0, entry, 1.0)
            ll = ll - m.where(entry > 0, self.log_survival(m, safe, **p), 0.0)
        return ll

    def survival(self, t, **p):
        return np.exp(self.log_survival(NP, t, **p))

    def hazard(self, t, **p):
        return np.exp(self.log_hazard(NP, t, **p))

    def density(self, t, **p):
        return np.exp(self.log_hazard(NP, t, **p) + self.log_survival(NP, t, **p))

    def quantile(self, q, **p):
        """Time by which a proportion ``q`` has had the event (``S(t) = 1 - q``)."""
        return self.inv_cum_hazard(-np.log1p(-np.asarray(q, dtype=float)), **p)

    def median(self, **p):
        return self.inv_cum_hazard(np.log(2.0), **p)

    def rvs(self, rng: np.random.Generator, size, **p):
        """Random event times: drawn directly where the family says how, else by inverting the
        cumulative hazard at unit exponentials."""
        if self.random is not None:
            return self.random(rng, size, **p)
        return self.inv_cum_hazard(rng.exponential(size=size), **p)


def _tiny(m, x, eps):
    """``x`` moved away from zero (|x| >= eps, same sign), for branches not taken near 0."""
    return m.where(m.abs(x) < eps, m.where(x < 0, -eps, eps), x)


# ---- exponential -----------------------------------------------------------------------------
def _exp_logh(m, t, *, rate):
    return m.log(rate) + 0.0 * t


def _exp_H(m, t, *, rate):
    return rate * t


EXPONENTIAL = Family(
    name="exponential",
    params=("rate",),
    log_hazard=_exp_logh,
    cum_hazard=_exp_H,
    inv_cum_hazard=lambda y, *, rate: np.asarray(y) / rate,
    mean=lambda *, rate: 1.0 / np.asarray(rate, dtype=float),
    aft=lambda p, beta: {"rate": p["rate"] * np.exp(-beta)},
    ph=lambda p, beta: {"rate": p["rate"] * np.exp(beta)},
    sampled=(("log_median", "log_time"),),
    natural=lambda m, r, ref: {"rate": m.exp(LOG_LOG2 - r["log_median"])},
)


# ---- weibull (R dweibull) ------------------------------------------------------------------
def _wei_logh(m, t, *, shape, scale):
    return m.log(shape) - m.log(scale) + (shape - 1.0) * (m.log(t) - m.log(scale))


def _wei_H(m, t, *, shape, scale):
    return m.exp(shape * (m.log(t) - m.log(scale)))


WEIBULL = Family(
    name="weibull",
    params=("shape", "scale"),
    log_hazard=_wei_logh,
    cum_hazard=_wei_H,
    inv_cum_hazard=lambda y, *, shape, scale: scale * np.asarray(y, dtype=float) ** (1.0 / shape),
    mean=lambda *, shape, scale: scale * np.exp(sc.gammaln(1.0 + 1.0 / np.asarray(shape))),
    aft=lambda p, beta: {"shape": p["shape"], "scale": p["scale"] * np.exp(beta)},
    ph=lambda p, beta: {"shape": p["shape"], "scale": p["scale"] * np.exp(-beta / p["shape"])},
    sampled=(("log_median", "log_time"), ("log_shape", "log_ancillary")),
    natural=lambda m, r, ref: {
        "shape": m.exp(r["log_shape"]),
        "scale": m.exp(r["log_median"] - LOG_LOG2 * m.exp(-r["log_shape"])),
    },
)


# ---- gompertz (flexsurv dgompertz) ------------------------------------------------------------
def _gom_logh(m, t, *, shape, rate):
    return m.log(rate) + shape * t


def _gom_H(m, t, *, shape, rate):
    x = shape * t
    xs = _tiny(m, x, _GOMPERTZ_SERIES)
    ratio = m.where(m.abs(x) < _GOMPERTZ_SERIES, 1.0 + x / 2.0 + x * x / 6.0, m.expm1(xs) / xs)
    return rate * t * ratio  # = rate / shape * (exp(shape t) - 1)


def _gom_invH(y, *, shape, rate):
    y, shape, rate = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (y, shape, rate)))
    z = shape * y / rate
    small = np.abs(shape) < 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(small, y / rate * (1.0 - z / 2.0), np.log1p(z) / np.where(small, 1.0, shape))
    return np.where(z <= -1.0, np.inf, t)  # beyond the plateau: never reached


def _gom_mean(*, shape, rate):
    shape, rate = np.broadcast_arrays(np.asarray(shape, float), np.asarray(rate, float))
    out = np.full(shape.shape, np.inf)
    pos = shape > 1e-12
    x = np.where(pos, rate / np.where(pos, shape, 1.0), 1.0)  # b / a
    # mean = exp(x) E1(x) / a; for large x use the asymptotic series of exp(x) E1(x)
    big = x > 50.0
    with np.errstate(over="ignore"):
        e1x = np.where(
            big,
            (1 - 1 / x + 2 / x**2 - 6 / x**3 + 24 / x**4) / x,
            np.exp(np.minimum(x, 50.0)) * sc.exp1(x),
        )
    out = np.where(pos, e1x / np.where(pos, shape, 1.0), out)
    zero = np.abs(shape) <= 1e-12
    out = np.where(zero, 1.0 / rate, out)
    return out[()] if out.ndim == 0 else out


GOMPERTZ = Family(
    name="gompertz",
    params=("shape", "rate"),
    log_hazard=_gom_logh,
    cum_hazard=_gom_H,
    inv_cum_hazard=_gom_invH,
    mean=_gom_mean,
    aft=lambda p, beta: {"shape": p["shape"] * np.exp(-beta), "rate": p["rate"] * np.exp(-beta)},
    ph=lambda p, beta: {"shape": p["shape"], "rate": p["rate"] * np.exp(beta)},
    sampled=(("log_rate", "log_rate"), ("shape_tref", "gompertz_shape")),
    natural=lambda m, r, ref: {
        "shape": r["shape_tref"] * m.exp(-ref),
        "rate": m.exp(r["log_rate"]),
    },
)


# ---- lognormal (R dlnorm) --------------------------------------------------------------------
def _ln_logS(m, t, *, meanlog, sdlog):
    return m.log_ndtr(-(m.log(t) - meanlog) / sdlog)


def _ln_logf(m, t, *, meanlog, sdlog):
    """log f = log phi(z) - log(sdlog t): no normal tail function."""
    z = (m.log(t) - meanlog) / sdlog
    return -0.5 * LOG_2PI - m.log(sdlog) - m.log(t) - 0.5 * z * z


def _ln_logh(m, t, *, meanlog, sdlog):
    z = (m.log(t) - meanlog) / sdlog
    return _ln_logf(m, t, meanlog=meanlog, sdlog=sdlog) - m.log_ndtr(-z)


def _ln_H(m, t, *, meanlog, sdlog):
    return -_ln_logS(m, t, meanlog=meanlog, sdlog=sdlog)


LOGNORMAL = Family(
    name="lognormal",
    params=("meanlog", "sdlog"),
    log_hazard=_ln_logh,
    cum_hazard=_ln_H,
    log_surv=_ln_logS,
    inv_cum_hazard=lambda y, *, meanlog, sdlog: np.exp(
        meanlog + sdlog * sc.ndtri(-np.expm1(-np.asarray(y, dtype=float)))
    ),
    mean=lambda *, meanlog, sdlog: np.exp(meanlog + np.square(sdlog) / 2.0),
    aft=lambda p, beta: {"meanlog": p["meanlog"] + beta, "sdlog": p["sdlog"]},
    sampled=(("log_median", "log_time"), ("log_sdlog", "log_ancillary")),
    natural=lambda m, r, ref: {"meanlog": r["log_median"], "sdlog": m.exp(r["log_sdlog"])},
    log_dens=_ln_logf,
)


# ---- log-logistic (flexsurv dllogis) ---------------------------------------------------------
def _ll_H(m, t, *, shape, scale):
    return m.softplus(shape * (m.log(t) - m.log(scale)))  # log(1 + (t/b)^a)


def _ll_logh(m, t, *, shape, scale):
    x = m.log(t) - m.log(scale)
    return m.log(shape) - m.log(scale) + (shape - 1.0) * x - m.softplus(shape * x)


def _ll_mean(*, shape, scale):
    shape, scale = np.broadcast_arrays(np.asarray(shape, float), np.asarray(scale, float))
    ok = shape > 1.0
    a = np.where(ok, shape, 2.0)
    out = np.where(ok, scale * (np.pi / a) / np.sin(np.pi / a), np.inf)
    return out[()] if out.ndim == 0 else out


LOGLOGISTIC = Family(
    name="loglogistic",
    params=("shape", "scale"),
    log_hazard=_ll_logh,
    cum_hazard=_ll_H,
    inv_cum_hazard=lambda y, *, shape, scale: (
        scale * np.expm1(np.asarray(y, dtype=float)) ** (1.0 / shape)
    ),
    mean=_ll_mean,
    aft=lambda p, beta: {"shape": p["shape"], "scale": p["scale"] * np.exp(beta)},
    sampled=(("log_median", "log_time"), ("log_shape", "log_ancillary")),
    natural=lambda m, r, ref: {"shape": m.exp(r["log_shape"]), "scale": m.exp(r["log_median"])},
)


# ---- generalized gamma (flexsurv dgengamma, Prentice 1974) -----------------------------------
def _gg_edgeworth(m, w, Q, want_S=True):
    """log S (None unless ``want_S``) and log f of W = (log T - mu) / sigma for small |Q|
    (second-order Edgeworth).

    Cumulants of W = log(X / g) / Q with X ~ Gamma(g = Q^-2): k1 = -Q/2, k2 = 1 + Q^2/2,
    k3 = -Q, k4 = 2 Q^2 (+ O(Q^3)), from the polygamma expansions of log-gamma's cumulants.
    """
    s = m.sqrt(1.0 + Q * Q / 2.0)
    z = (w + Q / 2.0) / s
    g1 = -Q / s**3
    g2 = 2.0 * Q * Q / s**4
    z2 = z * z
    he2 = z2 - 1.0
    he3 = z * (z2 - 3.0)
    he4 = z2 * z2 - 6.0 * z2 + 3.0
    he5 = z * (z2 * z2 - 10.0 * z2 + 15.0)
    he6 = z2 * z2 * z2 - 15.0 * z2 * z2 + 45.0 * z2 - 15.0
    log_phi = -0.5 * LOG_2PI - 0.5 * z2
    log_S = None
    if want_S:
        corr_S = g1 / 6.0 * he2 + g2 / 24.0 * he3 + g1 * g1 / 72.0 * he5  # S = Phi(-z) + phi c
        log_Phi_neg = m.log_ndtr(-z)
        # guarded far out in the tails (|z| > 7), where no data point of a sane fit lies
        log_S = log_Phi_neg + m.log1p(m.maximum(m.exp(log_phi - log_Phi_neg) * corr_S, -0.99))
    corr_f = 1.0 + g1 / 6.0 * he3 + g2 / 24.0 * he4 + g1 * g1 / 72.0 * he6
    log_f = log_phi - m.log(s) + m.log(m.maximum(corr_f, 0.01))
    return log_S, log_f


def _gg_log_tail(m, g, qw, Q):
    """log S far in the right tail, where Q(g, u) or P(g, u) underflow (S < 1e-250).

    Q(g, u) ~ u^(g-1) e^-u / Gamma(g) * u / (u - g + 1) for u >> g (first convergent of the
    continued fraction); P(g, u) ~ u^g e^-u / Gamma(g + 1) * (1 + u / (g + 1)) for u << g.
    """
    log_u = m.log(g) + qw
    u = m.exp(log_u)
    upper = (g - 1.0) * log_u - u - m.gammaln(g) + m.log(u / m.maximum(u - g + 1.0, 1e-300))
    lower = g * log_u - u - m.gammaln(g + 1.0) + m.log1p(u / (g + 1.0))
    return m.where(Q > 0, upper, lower)


def _gg_exact_log_S_np(g, qw, Qs):
    """NumPy's log S of the exact branch, each element through the one function it takes:
    Q(g, u) where Q > 0, P(g, u) where Q < 0, the far-tail formula only where that underflows
    (the same numbers as the PyTensor ``where``, which evaluates every branch everywhere: in
    pointwise log-likelihoods and curves this halves the incomplete gamma evaluations)."""
    g, qw, Qs = np.broadcast_arrays(g, qw, Qs)
    u = g * np.exp(qw)
    s_reg = np.empty(u.shape)
    pos = Qs > 0
    s_reg[pos] = sc.gammaincc(g[pos], u[pos])
    s_reg[~pos] = sc.gammainc(g[~pos], u[~pos])
    ok = s_reg > 1e-250
    log_S = np.empty(u.shape)
    log_S[ok] = np.log(s_reg[ok])
    if not ok.all():
        bad = ~ok
        log_S[bad] = _gg_log_tail(NP, g[bad], qw[bad], Qs[bad])
    return log_S


def _gg_exact(m, w, Q, want_S=True):
    Qs = _tiny(m, Q, GENGAMMA_Q_SERIES)
    g = 1.0 / (Qs * Qs)
    qw = Qs * w
    log_S = None
    if want_S and m.name == "numpy":
        log_S = _gg_exact_log_S_np(g, qw, Qs)
    elif want_S:
        u = g * m.exp(qw)
        s_reg = m.where(Qs > 0, m.gammaincc(g, u), m.gammainc(g, u))
        ok = s_reg > 1e-250
        log_S = m.where(ok, m.log(m.where(ok, s_reg, 1.0)), _gg_log_tail(m, g, qw, Qs))
    # log f_W = log|Q| + g log g - lgamma(g) + g (Q w - exp(Q w)); written without cancellation
    log_f = m.log(m.abs(Qs)) + g * m.log(g) - g - m.gammaln(g) - g * (m.expm1(qw) - qw)
    return log_S, log_f


def _gg_parts(m, t, mu, sigma, Q, want_S=True, want_f=True):
    w = (m.log(t) - mu) / sigma
    if m.name != "numpy":
        # one numba Op, each element through its own branch (survival.gengamma_op); the where
        # below would evaluate every branch everywhere (and its gradient is as large again)
        from bayesurv.survival.gengamma_op import gg_log_parts

        log_S, log_fw = gg_log_parts(w, Q, want_S, want_f)
        return log_S, (log_fw - m.log(sigma) - m.log(t) if want_f else None)
    small = m.abs(Q) < GENGAMMA_Q_SERIES
    # NumPy knows which branch every element takes: evaluate each on its own elements (the
    # exact branch's incomplete gamma function is most of the cost of pointwise
    # log-likelihoods and curves)
    w, Q, small = np.broadcast_arrays(w, Q, small)
    log_S, log_f = (np.empty(w.shape) if want_S else None), np.empty(w.shape)
    for sel, branch in ((small, _gg_edgeworth), (~small, _gg_exact)):
        if sel.any():
            ls, log_f[sel] = branch(m, w[sel], Q[sel], want_S)
            if want_S:
                log_S[sel] = ls
    return log_S, log_f - m.log(sigma) - m.log(t)


def _gg_log_parts(m, t, *, mu, sigma, Q):
    log_S, log_f = _gg_parts(m, t, mu, sigma, Q)
    return log_f - log_S, log_S


def _gg_logf(m, t, mu, sigma, Q):
    """log f alone: no incomplete gamma function (nor its costly gradient in the shape)."""
    return _gg_parts(m, t, mu, sigma, Q, want_S=False)[1]


def _gg_logS(m, t, *, mu, sigma, Q):
    return _gg_parts(m, t, mu, sigma, Q, want_f=False)[0]


def _gg_logh(m, t, *, mu, sigma, Q):
    log_S, log_f = _gg_parts(m, t, mu, sigma, Q)
    return log_f - log_S


def _gg_H(m, t, *, mu, sigma, Q):
    return -_gg_logS(m, t, mu=mu, sigma=sigma, Q=Q)


def _gg_invH(y, *, mu, sigma, Q):
    y, mu, sigma, Q = np.broadcast_arrays(*(np.asarray(v, float) for v in (y, mu, sigma, Q)))
    surv = np.exp(-y)
    small = np.abs(Q) < 1e-6
    Qs = np.where(small, 1e-6, Q)
    g = 1.0 / Qs**2
    u = np.where(Qs > 0, sc.gammainccinv(g, surv), sc.gammaincinv(g, surv))
    with np.errstate(divide="ignore"):
        w = np.where(small, sc.ndtri(-np.expm1(-y)), np.log(u / g) / Qs)
    out = np.exp(mu + sigma * w)
    return out[()] if out.ndim == 0 else out


def _gg_random(rng, size, *, mu, sigma, Q):
    """T = exp(mu + sigma w), w = log(X / g) / Q with X ~ Gamma(g = Q^-2) (flexsurv
    rgengamma; either sign of Q), w ~ N(0, 1) at Q = 0."""
    mu, sigma, Q = (np.broadcast_to(np.asarray(v, float), size) for v in (mu, sigma, Q))
    small = np.abs(Q) < 1e-6
    Qs = np.where(small, 1e-6, Q)
    g = 1.0 / Qs**2
    with np.errstate(divide="ignore"):
        w = np.where(small, rng.standard_normal(size), np.log(rng.standard_gamma(g) / g) / Qs)
    return np.exp(mu + sigma * w)


def _gg_mean(*, mu, sigma, Q):
    mu, sigma, Q = np.broadcast_arrays(*(np.asarray(v, float) for v in (mu, sigma, Q)))
    small = np.abs(Q) < 1e-3
    Qs = np.where(small, 1e-3, Q)
    g = 1.0 / Qs**2
    c = sigma / Qs
    ok = g + c > 0
    with np.errstate(invalid="ignore"):
        exact = mu - c * np.log(g) + sc.gammaln(np.where(ok, g + c, 1.0)) - sc.gammaln(g)
    # log E[exp(sigma W)] from the cumulants k1..k3 of W (see _gg_edgeworth); error O(Q^2)
    series = mu + sigma**2 / 2.0 - sigma * Q / 2.0 - sigma**3 * Q / 6.0
    out = np.where(small, np.exp(series), np.where(ok, np.exp(exact), np.inf))
    return out[()] if out.ndim == 0 else out


GENGAMMA = Family(
    name="gengamma",
    params=("mu", "sigma", "Q"),
    log_hazard=_gg_logh,
    cum_hazard=_gg_H,
    log_surv=_gg_logS,
    inv_cum_hazard=_gg_invH,
    mean=_gg_mean,
    aft=lambda p, beta: {"mu": p["mu"] + beta, "sigma": p["sigma"], "Q": p["Q"]},
    sampled=(("mu", "log_time"), ("log_sigma", "log_ancillary"), ("Q", "gengamma_Q")),
    natural=lambda m, r, ref: {"mu": r["mu"], "sigma": m.exp(r["log_sigma"]), "Q": r["Q"]},
    log_dens=lambda m, t, *, mu, sigma, Q: _gg_logf(m, t, mu, sigma, Q),
    log_parts=_gg_log_parts,
    random=_gg_random,
)


FAMILIES: dict[str, Family] = {
    f.name: f for f in (EXPONENTIAL, WEIBULL, GOMPERTZ, LOGNORMAL, LOGLOGISTIC, GENGAMMA)
}


def get_family(name: str) -> Family:
    """The family called ``name``; an :class:`~bayesurv.errors.InputError` naming the choices."""
    from bayesurv.errors import InputError

    key = str(name).strip().lower()
    if key not in FAMILIES:
        raise InputError(f"unknown family {name!r}; choose one of {', '.join(FAMILIES)}.")
    return FAMILIES[key]
