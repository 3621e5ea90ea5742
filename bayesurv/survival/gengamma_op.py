"""The generalized gamma's log S and log f of ``W = (log T - mu) / sigma`` as one PyTensor Op.

:mod:`bayesurv.survival.families` writes the generalized gamma once for NumPy and PyTensor; in
a PyTensor graph every branch (the Edgeworth expansion near the lognormal limit, the exact
incomplete gamma function, the far-tail formula) is evaluated for every element and joined by
``switch``, and its gradient is as large again. This module computes the same numbers elementwise
in numba, each element through the one branch it takes, with the value's first derivatives in
``w`` and ``Q`` from the same pass (PyTensor's ``gammainc_grad`` series and continued fraction,
restated in numba, for the shape derivative of the incomplete gamma function).

:func:`gg_log_parts` is the entry point: ``(log S, log f_W)`` of ``w`` and ``Q`` (either one
alone where that is all a caller needs), each a PyTensor tensor whose gradient is the Op's
derivative outputs. Second derivatives are not implemented.

The formulas are those of ``families._gg_edgeworth``, ``_gg_exact`` and ``_gg_log_tail``
(same branch thresholds, same clipping); ``tests/test_gengamma_op.py`` checks the values against
that graph and the NumPy twin, and the derivatives against finite differences.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numba
import numpy as np
import pytensor.scalar as ps
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.link.numba.dispatch import basic as _nb
from pytensor.link.numba.dispatch import scalar as _nb_scalar  # noqa: F401  (registers them)
from pytensor.tensor.elemwise import Elemwise

#: below this |Q| the Edgeworth branch (families.GENGAMMA_Q_SERIES: equal, tested; families
#: imports this module, so it cannot import families)
GENGAMMA_Q_SERIES = 0.01
LOG_2PI = math.log(2.0 * math.pi)
_SQRT2 = math.sqrt(2.0)
_EPS = float(np.finfo(np.float64).eps)
_LOG_TINY = math.log(float(np.finfo(np.float64).tiny))
#: PyTensor's numba cache key of the kernels: this file's bytes (an edit recompiles them)
_SOURCE_HASH = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _scalar_fn(op, nin):
    """PyTensor's own numba lowering of a scalar op (scipy's Cephes through cython_special,
    resolved at run time, so that functions calling it stay cacheable)."""
    node = op(*[ps.float64() for _ in range(nin)]).owner
    fn, _key = _nb.numba_funcify_and_cache_key(op, node=node)
    return fn


_gammainc = _scalar_fn(ps.gammainc, 2)
_gammaincc = _scalar_fn(ps.gammaincc, 2)
_psi = _scalar_fn(ps.psi, 1)
_erfcx = _scalar_fn(ps.erfcx, 1)
_jit = numba.njit(cache=False, fastmath=False, no_cpython_wrapper=True, no_cfunc_wrapper=True)


# ---- numba kernels ---------------------------------------------------------------------------
@_jit
def _log_ndtr(z):
    """log Phi(z) as families.pytensor_namespace's ``log_ndtr``."""
    if z < -1.0:
        return math.log(_erfcx(-z / _SQRT2) / 2.0) - z * z / 2.0
    return math.log1p(-math.erfc(z / _SQRT2) / 2.0)


@_jit
def _gammainc_grad_series(k, x):
    """dP/dk from P's power series (as pytensor.scalar.math._gammainc_grad_series)."""
    s, ds, t, dt, kn = 1.0, 0.0, 1.0, 0.0, k
    converged = False
    for _ in range(100000):
        kn += 1.0
        r = x / kn
        dt = r * (dt - t / kn)
        t = t * r
        s += t
        ds += dt
        if t <= _EPS * s and abs(dt) <= _EPS * abs(ds):
            converged = True
            break
    if not converged:
        return np.nan
    log_x = math.log(x)
    return math.exp(k * log_x - x - math.lgamma(k + 1.0)) * (s * (log_x - _psi(k + 1.0)) + ds)


@_jit
def _gammaincc_grad_cf(k, x):
    """dQ/dk from Q's continued fraction (as pytensor.scalar.math._gammaincc_grad_cf)."""
    log_x = math.log(x)
    log_prefactor = k * log_x - x - math.lgamma(k)
    if log_prefactor < _LOG_TINY and k > 0:
        return 0.0
    pm1 = x + 1.0
    qm1 = (x + 2.0 - k) * x
    f = pm1 / qm1
    df = f * x / qm1
    pm2, qm2, dpm2, dpm1, dqm2, dqm1, n = 1.0, x, 0.0, 0.0, 0.0, -x, 0.0
    converged = False
    for _ in range(100000):
        n += 1.0
        z = x + 2.0 * n + 2.0 - k
        yn = (n + 1.0 - k) * n
        p = pm1 * z - pm2 * yn
        q = qm1 * z - qm2 * yn
        dp = dpm1 * z - pm1 - dpm2 * yn + pm2 * n
        dq = dqm1 * z - qm1 - dqm2 * yn + qm2 * n
        if q != 0.0:
            f_new = p / q
            df_new = (dp - f_new * dq) / q
            converged = abs(f_new - f) <= _EPS * abs(f_new) and abs(df_new - df) <= _EPS * abs(
                df_new
            )
        else:
            f_new, df_new = f, df
        sc = _EPS if abs(p) > 1.0 / _EPS else 1.0
        f, df = f_new, df_new
        pm2, pm1, qm2, qm1 = pm1 * sc, p * sc, qm1 * sc, q * sc
        dpm2, dpm1, dqm2, dqm1 = dpm1 * sc, dp * sc, dqm1 * sc, dq * sc
        if converged:
            break
    if not converged:
        return np.nan
    return math.exp(log_prefactor) * (f * (log_x - _psi(k)) + df)


@_jit
def _gammainc_grad(k, x):
    """dP(k, x)/dk (as pytensor.scalar.math.gammainc_grad; dQ/dk is its negative)."""
    if k < 0.0 or x < 0.0:
        return np.nan
    if x == 0.0 or math.isinf(x):
        return 0.0
    if x <= 1.0 or x <= k:
        return _gammainc_grad_series(k, x)
    return -_gammaincc_grad_cf(k, x)


@_jit
def _edgeworth_common(w, Q):
    s = math.sqrt(1.0 + Q * Q / 2.0)
    s_Q = Q / (2.0 * s)
    z = (w + Q / 2.0) / s
    z_w = 1.0 / s
    z_Q = 0.5 / s - z * s_Q / s
    g1 = -Q / s**3
    g1_Q = -1.0 / s**3 + 3.0 * Q * s_Q / s**4
    g2 = 2.0 * Q * Q / s**4
    g2_Q = 4.0 * Q / s**4 - 8.0 * Q * Q * s_Q / s**5
    return s, s_Q, z, z_w, z_Q, g1, g1_Q, g2, g2_Q


@_jit
def _edgeworth_S(w, Q):
    """log S of _gg_edgeworth and its derivatives in w and Q."""
    s, s_Q, z, z_w, z_Q, g1, g1_Q, g2, g2_Q = _edgeworth_common(w, Q)
    z2 = z * z
    he2 = z2 - 1.0
    he3 = z * (z2 - 3.0)
    he4 = z2 * z2 - 6.0 * z2 + 3.0
    he5 = z * (z2 * z2 - 10.0 * z2 + 15.0)
    log_phi = -0.5 * LOG_2PI - 0.5 * z2
    corr = g1 / 6.0 * he2 + g2 / 24.0 * he3 + g1 * g1 / 72.0 * he5
    corr_z = g1 / 3.0 * z + g2 / 8.0 * he2 + g1 * g1 * 5.0 / 72.0 * he4
    corr_Q = (he2 / 6.0 + g1 * he5 / 36.0) * g1_Q + he3 / 24.0 * g2_Q
    log_Pn = _log_ndtr(-z)
    r = math.exp(log_phi - log_Pn)  # phi(z) / Phi(-z); d log Phi(-z) / dz = -r
    x = r * corr
    if x > -0.99:
        val = log_Pn + math.log1p(x)
        d_z = -r + (r * (r - z) * corr + r * corr_z) / (1.0 + x)
        d_Q = r * corr_Q / (1.0 + x)
    else:  # the far-tail guard: clipped, flat in the correction
        val = log_Pn + math.log1p(-0.99)
        d_z = -r
        d_Q = 0.0
    return val, d_z * z_w, d_z * z_Q + d_Q


@_jit
def _edgeworth_f(w, Q):
    """log f_W of _gg_edgeworth and its derivatives in w and Q."""
    s, s_Q, z, z_w, z_Q, g1, g1_Q, g2, g2_Q = _edgeworth_common(w, Q)
    z2 = z * z
    he2 = z2 - 1.0
    he3 = z * (z2 - 3.0)
    he4 = z2 * z2 - 6.0 * z2 + 3.0
    he5 = z * (z2 * z2 - 10.0 * z2 + 15.0)
    he6 = z2 * z2 * z2 - 15.0 * z2 * z2 + 45.0 * z2 - 15.0
    log_phi = -0.5 * LOG_2PI - 0.5 * z2
    cf = 1.0 + g1 / 6.0 * he3 + g2 / 24.0 * he4 + g1 * g1 / 72.0 * he6
    if cf > 0.01:
        val = log_phi - math.log(s) + math.log(cf)
        cf_z = g1 / 2.0 * he2 + g2 / 6.0 * he3 + g1 * g1 / 12.0 * he5
        cf_Q = (he3 / 6.0 + g1 * he6 / 36.0) * g1_Q + he4 / 24.0 * g2_Q
        d_z = -z + cf_z / cf
        d_Q = cf_Q / cf
    else:
        val = log_phi - math.log(s) + math.log(0.01)
        d_z = -z
        d_Q = 0.0
    return val, d_z * z_w, d_z * z_Q - s_Q / s + d_Q


@_jit
def _exact_f(w, Q):
    """log f_W of _gg_exact and its derivatives in w and Q."""
    g = 1.0 / (Q * Q)
    g_Q = -2.0 / (Q * Q * Q)
    qw = Q * w
    em = math.expm1(qw)
    val = math.log(abs(Q)) + g * math.log(g) - g - math.lgamma(g) - g * (em - qw)
    d_w = -g * Q * em
    d_Q = 1.0 / Q + g_Q * (math.log(g) - _psi(g) - (em - qw)) - g * w * em
    return val, d_w, d_Q


@_jit
def _exact_S(w, Q):
    """log S of _gg_exact (Q(g, u) or P(g, u), the far-tail formula where that underflows)
    and its derivatives in w and Q."""
    g = 1.0 / (Q * Q)
    g_Q = -2.0 / (Q * Q * Q)
    qw = Q * w
    upper = Q > 0
    u = g * math.exp(qw)
    s_reg = _gammaincc(g, u) if upper else _gammainc(g, u)
    if s_reg > 1e-250:
        val = math.log(s_reg)
        # d S / d u = -+ the gamma density at u; d S / d g = -+ dP/dg
        ratio_u = math.exp(-u + (g - 1.0) * math.log(u) - math.lgamma(g) - val)
        dP_dg = _gammainc_grad(g, u)
        if upper:
            ratio_u, ratio_g = -ratio_u, -dP_dg / s_reg
        else:
            ratio_g = dP_dg / s_reg
        return val, ratio_u * u * Q, ratio_u * u * (w - 2.0 / Q) + ratio_g * g_Q
    # _gg_log_tail
    log_u = math.log(g) + qw
    u = math.exp(log_u)
    lu_Q = w - 2.0 / Q  # d log u / d Q; d log u / d w = Q
    if upper:
        den = u - g + 1.0
        clipped = not (den > 1e-300)
        val = (g - 1.0) * log_u - u - math.lgamma(g) + math.log(u / max(den, 1e-300))
        d_w = g * Q - u * Q
        d_Q = g_Q * log_u + g * lu_Q - u * lu_Q - _psi(g) * g_Q
        if not clipped:
            d_w -= u * Q / den
            d_Q -= (u * lu_Q - g_Q) / den
        return val, d_w, d_Q
    v = u / (g + 1.0)
    val = g * log_u - u - math.lgamma(g + 1.0) + math.log1p(v)
    d_w = g * Q - u * Q + v * Q / (1.0 + v)
    d_Q = (
        g_Q * log_u
        + g * lu_Q
        - u * lu_Q
        - (_psi(g) + 1.0 / g) * g_Q
        + v * (lu_Q - g_Q / (g + 1.0)) / (1.0 + v)
    )
    return val, d_w, d_Q


def _kernel_S(w, Q):
    if abs(Q) < GENGAMMA_Q_SERIES:
        return _edgeworth_S(w, Q)
    return _exact_S(w, Q)


def _kernel_f(w, Q):
    if abs(Q) < GENGAMMA_Q_SERIES:
        return _edgeworth_f(w, Q)
    return _exact_f(w, Q)


def _kernel_Sf(w, Q):
    if abs(Q) < GENGAMMA_Q_SERIES:
        s, s_w, s_Q = _edgeworth_S(w, Q)
        f, f_w, f_Q = _edgeworth_f(w, Q)
    else:
        s, s_w, s_Q = _exact_S(w, Q)
        f, f_w, f_Q = _exact_f(w, Q)
    return s, s_w, s_Q, f, f_w, f_Q


_KERNELS = {"S": _kernel_S, "f": _kernel_f, "Sf": _kernel_Sf}
_PY_KERNELS: dict = {}  # callable from Python (the py linker, perform), compiled on first use


# ---- the Op ----------------------------------------------------------------------------------
class GenGammaLogParts(ps.ScalarOp):
    """``(w, Q) -> value, d value / d w, d value / d Q`` for each value of ``mode``: ``"S"``
    (log S), ``"f"`` (log f_W, the density of W), ``"Sf"`` (both: six outputs)."""

    nin = 2

    def __init__(self, mode: str):
        if mode not in _KERNELS:
            raise ValueError(f"mode must be one of {', '.join(_KERNELS)}, not {mode!r}")
        super().__init__(name=f"gengamma_log_{mode}")
        self.mode = mode
        self.nout = 3 * len(mode)

    def output_types(self, types):
        return [ps.float64] * self.nout

    def impl(self, w, Q):
        fn = _PY_KERNELS.get(self.mode)
        if fn is None:
            fn = _PY_KERNELS[self.mode] = numba.njit(_KERNELS[self.mode])
        return fn(float(w), float(Q))

    def pullback(self, inputs, outputs, output_gradients):
        grad_w, grad_Q = None, None
        for i in range(len(self.mode)):
            g_val, g_dw, g_dQ = output_gradients[3 * i : 3 * i + 3]
            if not (
                isinstance(g_dw.type, DisconnectedType) and isinstance(g_dQ.type, DisconnectedType)
            ):
                raise NotImplementedError("gengamma log S / log f: no second derivatives")
            if isinstance(g_val.type, DisconnectedType):
                continue
            gw, gQ = g_val * outputs[3 * i + 1], g_val * outputs[3 * i + 2]
            grad_w = gw if grad_w is None else grad_w + gw
            grad_Q = gQ if grad_Q is None else grad_Q + gQ
        if grad_w is None:
            return [inputs[0].zeros_like(), inputs[1].zeros_like()]
        return [grad_w, grad_Q]

    def __eq__(self, other):
        return type(self) is type(other) and self.mode == other.mode

    def __hash__(self):
        return hash((type(self), self.mode))

    def c_code(self, *args, **kwargs):
        raise NotImplementedError("numba or Python only")


@_nb.register_funcify_and_cache_key(GenGammaLogParts)
def _numba_funcify_gengamma(op, node=None, **kwargs):
    key = hashlib.sha256(f"GenGammaLogParts|{op.mode}|{_SOURCE_HASH}".encode()).hexdigest()
    return _nb.numba_njit(_KERNELS[op.mode]), key


_OPS = {mode: Elemwise(GenGammaLogParts(mode)) for mode in _KERNELS}


def gg_log_parts(w, Q, want_S: bool = True, want_f: bool = True):
    """``(log S, log f_W)`` of the generalized gamma at ``W = w`` (PyTensor tensors; either is
    None where not wanted), differentiable in ``w`` and ``Q``."""
    mode = "S" * want_S + "f" * want_f
    if not mode:
        return None, None
    w = pt.as_tensor_variable(w).astype("float64")
    Q = pt.as_tensor_variable(Q).astype("float64")
    outs = _OPS[mode](w, Q)
    log_S = outs[0] if want_S else None
    log_f = outs[3 if want_S else 0] if want_f else None
    return log_S, log_f
