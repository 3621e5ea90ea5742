"""The one predictor: ``log h(t | arm, z)`` and ``H(t | arm, z)``, written once for NumPy and
PyTensor, used by every likelihood term, by their NumPy twin and by every output.

A *profile* is an arm and a covariate pattern (profile ``p = arm G + g`` for pattern ``g`` of
``G``). :func:`profile_params` turns the sampled parameters into each profile's parameters::

    eta_p  = b arm_p + beta . z_p              (b: log_hr, log_tr, log_or, probit_shift)
    theta_p = theta(raw + anc_coef . z_anc,p + nonph arm_p)   (the family's flexsurv parameters)
    lin_p  = cure_logit + cure_effect arm_p + cure_coef . z_cure,p

and :func:`excess` evaluates the disease (excess) hazard of profiles at times::

    PH   log h_u = log h_0(t; theta) + eta          H_u = H_0(t; theta) exp(eta)
    AFT  log h_u = log h_0(t e^-eta) - eta           H_u = H_0(t e^-eta)
    flexible: the spline's linear predictor moved by eta (:mod:`bayesurv.survival.splines`)
    cure (:mod:`bayesurv.survival.cure`):  S_exc = S_u, pi + (1 - pi) S_u, pi^(1 - S_u)
    waning (:mod:`bayesurv.survival.waning`): the treated excess hazard returns to the
    control profile's from t1 (the same quadrature in the likelihood and in the outputs)

:func:`total` adds a patient's general-population hazard, ``h = smr h_pop + h_exc``, and
:func:`cohort` averages profiles over a cohort's patterns ``g`` with population curves
``P_g(t) = sum_j w_j S_pop,j(t)^smr`` and ``Q_g(t) = sum_j w_j S_pop,j^smr smr h_pop,j``::

    S_a(t) = sum_g P_g(t) S_exc(t | a, g)        h_a S_a = sum_g S_exc (Q_g + P_g h_exc)

Shapes: PyTensor parameters are scalars or one value per profile; NumPy ones lead with the
draws, ``(S, 1)`` or ``(S, P)``. :func:`take` gathers them at points of any index shape.
"""

from __future__ import annotations

import numpy as np

from bayesurv.survival.cure import excess as cure_excess
from bayesurv.survival.cure import log_fractions


def _lin(m, Z, coef):
    """``Z @ coef`` per profile: PyTensor (P,), NumPy (S, P) from draws ``coef`` (S, k)."""
    if m.name == "numpy":
        return np.einsum("pk,sk->sp", np.asarray(Z, float), np.asarray(coef, float))
    import pytensor.tensor as pt

    return pt.dot(Z, coef)


def take(m, v, idx):
    """Per-profile values ``v`` at profile indices ``idx`` (any shape); scalars pass through."""
    if m.name == "numpy":
        v = np.asarray(v, dtype=float)
        if v.ndim == 0:
            return v
        if v.shape[-1] == 1:
            return v.reshape(v.shape[:-1] + (1,) * np.ndim(idx))
        return v[..., idx]
    return v if getattr(v, "ndim", 0) == 0 else v[idx]


def profile_params(m, spec, raw: dict, prof: dict, log_ref) -> dict:
    """Each profile's ``nat`` (flexsurv parameters), ``eta``, ``cure`` (logit) and ``delta`` (a
    flexible hazard's coefficient deviation for arm 1), from the sampled ``raw`` and the
    profiles' design ``prof`` (``arm`` (P,), ``hazard``, ``cure``, ``anc:<name>`` matrices)."""
    arm = prof["arm"]
    eta = 0.0
    if spec.arm_effect:
        eta = raw[spec.arm_effect] * arm
    if spec.covariates:
        eta = eta + _lin(m, prof["hazard"], raw["beta"])
    out = {"eta": eta, "cure": None, "delta": None, "nat": {}}
    if spec.flexible:
        if spec.nonph:
            out["delta"] = raw["nonph_sd"] * raw["nonph_z"]
    else:
        r = {}
        for name, _ in spec.family.sampled:
            v = raw[name]
            if spec.effect == "separate":  # one value per arm
                v = take(m, v, arm.astype("int64") if m.name == "numpy" else _int(arm))
            if spec.nonph and name in spec.family.ancillary:
                v = v + raw[f"{name}_arm"] * arm
            r[name] = v
        for name, _ in spec.ancillary:
            r[name] = r[name] + _lin(m, prof[f"anc:{name}"], raw[f"{name}_coef"])
        out["nat"] = spec.family.natural(m, r, log_ref)
    if spec.cure != "none":
        lin = raw["cure_logit"]
        if "cure_effect" in raw:
            lin = lin + raw["cure_effect"] * arm
        if spec.cure_covariates:
            lin = lin + _lin(m, prof["cure"], raw["cure_coef"])
        out["cure"] = lin
        out["log_pi"] = log_fractions(m, lin)
    return out


def _int(x):
    import pytensor.tensor as pt

    return pt.cast(x, "int64")


def uncured(m, spec, raw, pp, x, idx, arm):
    """log h_u, H_u of the uncured at design ``x`` (times ``x["t"]``) for profiles ``idx``."""
    if m.name != "numpy" and _eta_is_arm(spec):
        # eta depends on the arm alone: b * arm at the points, not a gather of the profiles'
        # eta (an n-long gather and, in the gradient, an n-long scatter-add; same numbers)
        eta = raw[spec.arm_effect] * arm
    else:
        eta = take(m, pp["eta"], idx)
    t = x["t"]
    if spec.flexible:
        return _flexible(m, spec.basis, x, raw, eta, pp["delta"], arm)
    fam = spec.family
    nat = {k: take(m, v, idx) for k, v in pp["nat"].items()}
    if spec.mode == "aft":
        lh, lS = fam.log_hazard_survival(m, aft_time(m, t, eta), **nat)
        return lh - eta, -lS
    lh, lS = fam.log_hazard_survival(m, t, **nat)
    return lh + eta, -lS * m.exp(eta)


def _eta_is_arm(spec) -> bool:
    """Whether every point's ``eta`` is ``b arm`` (no covariates, no waning's control-profile
    look-ups; cure models keep the gather, whose sampler trajectories their tests pin down)."""
    return (
        bool(spec.arm_effect)
        and not spec.covariates
        and spec.waning is None
        and (spec.cure == "none")
    )


def aft_time(m, t, eta):
    """``t e^-eta``, the time an AFT linear predictor moves ``t`` to; its log, ``log t - eta``,
    is told to a namespace that remembers logs (the builder's: ``log t`` is data there)."""
    ts = t * m.exp(-eta)
    remember = getattr(m, "remember_log", None)
    if remember is not None:
        remember(ts, m.log(t) - eta)
    return ts


def log_density(m, spec, raw, pp, x, idx):
    """``log f(t) = log h(t) - H(t)`` of profiles ``idx`` at design ``x`` from the family's
    density (``spec.density_path``: a plain family, AFT or no linear predictor)::

        AFT  log f(t) = log f_0(t e^-eta) - eta          none  log f(t) = log f_0(t)
    """
    fam, t = spec.family, x["t"]
    nat = {k: take(m, v, idx) for k, v in pp["nat"].items()}
    if spec.mode == "aft":
        eta = take(m, pp["eta"], idx)
        return fam.log_density(m, aft_time(m, t, eta), **nat) - eta
    return fam.log_density(m, t, **nat)


def _flexible(m, basis, x, raw, eta, delta, arm):
    """A spline at the points ``x["t"]`` (NumPy builds the design when ``x`` has none), moved by
    ``eta``, with the arm's coefficient deviation ``delta`` where ``arm`` is 1 (non-PH)."""
    t = x["t"]
    if m.name == "numpy":
        t = np.asarray(t, dtype=float)
        if not any(k in x for k in ("M", "B", "E")):
            x = basis.design(t.ravel())

        def rows(a):
            return a.reshape(a.shape[:-1] + t.shape)
    else:

        def rows(a):
            return a.reshape(t.shape)

    lh, H = basis.curves(m, x, raw, eta, None, rows)
    if delta is not None:
        lh1, H1 = basis.curves(m, x, raw, eta, delta, rows)
        lh, H = m.where(arm > 0, lh1, lh), m.where(arm > 0, H1, H)
    return lh, H


def excess(m, spec, raw, pp, x, idx, arm=None, g=None, n_patterns=None, dense=False):
    """``(log h_exc, H_exc)`` at design ``x`` for profiles ``idx``; ``arm`` (0/1 at the points)
    and, with waning, ``g`` (their patterns) and ``n_patterns`` locate the control profiles.

    With waning the treated cumulative hazard is Gauss-Legendre quadrature of the waned hazard
    (:func:`bayesurv.survival.waning.waned_cumhaz`); ``dense`` (NumPy, a cohort's points (R, 1)
    by patterns) integrates the same hazard by the trapezoid rule on 2,049 points instead, which
    is what many output times at once need (the two agree to about 1e-6)."""
    if arm is None:
        arm = 0.0

    def at(xx, ii):
        lh_u, H_u = uncured(m, spec, raw, pp, xx, ii, arm)
        if pp["cure"] is None:
            return lh_u, H_u
        lp = tuple(take(m, v, ii) for v in pp["log_pi"])
        return cure_excess(m, spec.cure, lh_u, -H_u, log_pi=lp)

    lh, H = at(x, idx)
    if spec.waning is None:
        return lh, H
    from bayesurv.survival.waning import waned_cumhaz, waned_log_hazard

    scheme, t1, t2 = spec.waning
    t1, t2 = np.float64(t1), None if t2 is None else np.float64(t2)
    ctl, trt = g, g + n_patterns

    def ex(s, ii):  # excess at times s; quadrature nodes add a trailing axis
        if s.ndim > np.ndim(x["t"]) if m.name == "numpy" else s.ndim > x["t"].ndim:
            ii = ii[..., None]
        return at({"t": s}, ii)

    if dense:
        return _waned_dense(m, spec, at, x["t"][:, 0], g[0], n_patterns, arm, lh, H)
    b = None
    if scheme == "linear_loghr":
        t1v = t1 + 0.0 * x["t"]
        b = at({"t": t1v}, trt)[0] - at({"t": t1v}, ctl)[0]
    lh_c, H_c = at(x, ctl)
    lh_t, H_t = at(x, trt)
    H_w = waned_cumhaz(
        m, x["t"], lambda s: ex(s, ctl)[1], lambda s: ex(s, trt)[1], scheme, t1, t2, loghr_t1=b
    )
    lh_w = waned_log_hazard(m, x["t"], lh_c, lh_t, scheme, t1, t2, loghr_t1=b)
    treated = arm > 0
    return m.where(treated, lh_w, lh), m.where(treated, H_w, H)


def _waned_dense(m, spec, at, t, g, n_patterns, arm, lh, H):
    """The waned treated excess hazard on a fine grid, integrated by the trapezoid rule."""
    from bayesurv.survival.waning import waned_log_hazard

    scheme, t1, t2 = spec.waning
    ends = [t1] + ([t2] if t2 is not None else [])
    grid = np.unique(np.concatenate([np.linspace(0.0, float(t.max()), 2049), ends, t]))
    grid = grid[grid <= max(float(t.max()), t1)]
    safe = np.maximum(grid, 1e-9 * max(float(grid.max()), 1.0))[:, None]
    lh_c, _ = at({"t": safe}, g[None, :])
    lh_t, H_t = at({"t": safe}, (g + n_patterns)[None, :])
    k1 = int(np.searchsorted(grid, t1))
    b = lh_t[..., k1 : k1 + 1, :] - lh_c[..., k1 : k1 + 1, :] if scheme == "linear_loghr" else None
    lh_w = waned_log_hazard(m, safe, lh_c, lh_t, scheme, t1, t2, loghr_t1=b)
    h = np.exp(lh_w)
    seg = (h[..., 1:, :] + h[..., :-1, :]) / 2 * np.diff(grid)[:, None]
    cum = np.concatenate([np.zeros(seg[..., :1, :].shape), np.cumsum(seg, axis=-2)], axis=-2)
    H_w = np.where(
        grid[:, None] >= t1, H_t[..., k1 : k1 + 1, :] + cum - cum[..., k1 : k1 + 1, :], H_t
    )
    pos = np.searchsorted(grid, t)
    treated = arm > 0
    return np.where(treated, lh_w[..., pos, :], lh), np.where(treated, H_w[..., pos, :], H)


def total(m, lh_exc, H_exc, log_h_pop, H_pop, smr):
    """All-cause ``(log h, H)`` of a patient: ``smr h_pop + h_exc`` and ``smr H_pop + H_exc``."""
    return m.logaddexp(m.log(smr) + log_h_pop, lh_exc), smr * H_pop + H_exc


def population(m, pop: dict, smr):
    """Each pattern's ``log P_g`` and ``log Q_g`` (see the module docstring) at the points, from
    the nodes' ``H_pop``, ``h_pop`` (R, J), weights ``w`` (J,) and membership ``M`` (J, G);
    ``log Q`` is None without general-population mortality."""
    if "H_pop" not in pop:
        return m.log(pop["share"]), None
    S = pop["w"] * m.exp(-smr * pop["H_pop"])
    P = S @ pop["M"]
    Q = (S * (smr * pop["h_pop"])) @ pop["M"]
    return m.log(m.maximum(P, 1e-300)), m.log(m.maximum(Q, 1e-300))


def cohort(m, spec, raw, pp, x, arm, pop: dict, smr, log_PQ=None, dense=False):
    """The cohort's ``log S_a(t)`` and ``log h_a(t)`` at points (times ``x["t"]`` (R,), arms
    ``arm`` (R,)): shape (R,) or NumPy (S, R). ``pop["idx"]`` (R, G) holds each point's profile
    per pattern; ``log_PQ`` the precomputed :func:`population` (NumPy, fixed SMR)."""
    idx = pop["idx"]
    log_P, log_Q = log_PQ if log_PQ is not None else population(m, pop, smr)
    xx = {k: v for k, v in x.items()}
    xx["t"] = x["t"][:, None]
    g = pop["g"]
    n_g = pop["n_patterns"]
    lh, H = excess(m, spec, raw, pp, xx, idx, arm[:, None], g, n_g, dense)
    log_S = m.logsumexp(log_P - H, axis=-1)
    rate = log_P + lh if log_Q is None else m.logaddexp(log_Q, log_P + lh)
    log_h = m.logsumexp(rate - H, axis=-1) - log_S
    return log_S, log_h
