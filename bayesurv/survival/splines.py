"""Flexible hazards with fixed knots: M-spline, Royston-Parmar and piecewise exponential.

Each model is two formulas of ``t`` -- ``log h(t)`` and ``H(t)`` -- written once with a math
namespace ``m`` (:data:`~bayesurv.survival.families.NP` or ``PT``), like the parametric families.
The knots are data chosen once from the observed times (:func:`choose_basis`); a
:class:`HazardBasis` holds them and evaluates the basis arrays at any times with NumPy
(:meth:`HazardBasis.design`). Default priors are in the one table of
:mod:`bayesurv.survival.structure` (by role, :attr:`HazardBasis.roles`); ``rate`` below is the
events / exposure of the data (:meth:`HazardBasis.prior_shift`).

``mspline`` (survextrap, Jackson 2023): ``h(t) = eta sum_k p_k M_k(t)``,
``H(t) = eta sum_k p_k I_k(t)``; ``M_k`` cubic M-splines on ``[0, U]`` (each integrates to 1),
``I_k`` their integrals. Knots: ``df - 4`` interior knots at equally spaced quantiles of the
event times (``df`` = 10 basis functions by default), upper boundary ``U`` = last observed time.
Beyond ``U`` each ``M_k`` is held at its value at ``U``: the hazard is constant there (as
survextrap). ``extra_knots`` keep the default knots, make the last observed time an interior
knot and move ``U`` to the last extra knot, so the hazard may change after follow-up (driven by
the prior there). ``p = softmax(c)``, ``c_1 = 0``, ``c_k = log(p0_k / p0_1) + sd (zE)_k`` with
``p0`` the coefficients of a constant hazard (``p0_k = (t_{k+4} - t_k) / (4 U)``), ``z ~ N(0, 1)``
(``smooth="rw"``, the default: ``c`` a random walk, which extrapolates the last hazard trend
smoothly and samples better beyond follow-up (ARCHITECTURE.md); ``"iid"``: survextrap's
exchangeable prior); ``sd ~ Gamma(2, 1)``; ``log eta ~ N(log(rate U), 2)`` (at ``p = p0`` the
hazard is ``eta / U``).

``rp`` (Royston-Parmar 2002, flexsurvspline): ``g(S(t)) = s(x)``, ``x = log t``, on the
``hazard`` scale ``g(S) = log(-log S)`` (``log H``), the ``odds`` scale ``log((1 - S) / S)``
(``H = log(1 + e^s)``) or the ``normal`` scale ``-Phi^-1(S)`` (``H = -log Phi(-s)``), with
``s(x) = g0 + g1 (x - x0) + sum_j g_{j+1} v_j(x) / R^3`` with flexsurv's natural cubic basis
``v_j(x) = (x - k_j)_+^3 - l_j (x - k_min)_+^3 - (1 - l_j) (x - k_max)_+^3``,
``l_j = (k_max - k_j) / R``, ``R = k_max - k_min``, ``x0 = (k_min + k_max) / 2``; linear in ``x``
outside ``[k_min, k_max]`` (Weibull, log-logistic, log-normal tails on the three scales).
``h(t) = (dH / ds) s'(x) / t``. A linear predictor (arm, covariates) moves ``s`` (PH on the
hazard scale, proportional odds on the odds scale). Boundary knots: the first
and last event times; ``df - 1`` interior knots at centiles of the log event times (flexsurv's
default; ``df`` = 3, two interior knots, by default); ``extra_knots`` add knots after the last
observed time (itself made a knot), the last one the new upper boundary. The centring and the
``R^3`` scaling make the priors scale-free: ``g0 ~ N(log(rate t0), 2.5)`` (``t0 = e^x0``),
``g1 ~ N(1, 2)`` (the Weibull shape), ``g_j ~ N(0, 20)`` (the scaled ``v_j / R^3`` spans only
about 0.3 on ``[k_min, k_max]``; ARCHITECTURE.md, TSD 14 table); flexsurv's gammas are
``g0 - g1 x0``, ``g1``, ``g_j / R^3``. Only ``g0, g1``: Weibull with shape ``g1``, scale
``t0 exp(-g0 / g1)``. A non-monotone ``H`` (``s' <= 0``) has no hazard; the log hazard uses
``log(e softplus(s' / e))``, ``e`` = 1e-3 (:data:`RP_FLOOR`): ``log s'`` to relative 1e-8 for
``s' > 0.02``, ``s' / e + log e`` below zero, a smooth finite penalty whose gradient points back
to monotone curves where the likelihood looks (event times).

``pwexp``: ``h(t) = lambda_k`` on ``[c_{k-1}, c_k)``, ``c_0 = 0``, the last interval open;
``H(t) = sum_k lambda_k e_k(t)``, ``e_k(t) = clip(t - c_{k-1}, 0, c_k - c_{k-1})``. Cuts: at
quantiles of the event times (``df`` = 6 intervals by default); ``extra_knots`` add cuts beyond
follow-up, whose intervals are informed by the random-walk prior only. ``log lambda`` is a
random walk: ``log lambda_1 ~ N(log rate, 2)``, steps ``sd z_k``, ``sd ~ HalfNormal(0.5)``.

Beyond the last knot: mspline constant hazard, rp Weibull-like (log H linear in log t),
pwexp the last rate.

Examples
--------
>>> import numpy as np
>>> from bayesurv.survival.families import NP
>>> rng = np.random.default_rng(1)
>>> time = rng.weibull(1.5, 200) * 10.0
>>> basis = choose_basis("pwexp", time, np.ones(200), df=3)
>>> len(basis.knots), basis.sampled
(2, ['pwexp_log_rate0', 'pwexp_sd', 'pwexp_z'])
>>> raw = {"pwexp_log_rate0": np.array([np.log(0.1)]), "pwexp_sd": np.array([1.0]),
...        "pwexp_z": np.zeros((1, 2))}
>>> basis.curves(NP, basis.design(np.array([0.0, 5.0])), raw)[1].round(6).tolist()
[[0.0, 0.5]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import BSpline

from bayesurv.errors import InputError

SPLINE_KINDS = ("mspline", "rp", "pwexp")
#: Royston-Parmar scales: s(log t) is log H (hazard), log((1 - S) / S) (odds), -probit S (normal)
RP_SCALES = ("hazard", "odds", "normal")
DEFAULT_DF = {"mspline": 10, "rp": 3, "pwexp": 6}
#: the smoothing priors each hazard allows, its default last
SMOOTHS = {"mspline": ("iid", "rw"), "rp": ("",), "pwexp": ("rw",)}
#: RP: width of the smooth floor on s'(log t) (see the module docstring)
RP_FLOOR = 1e-3


def _asnp(m, x):
    return np.asarray(x, dtype=float) if m.name == "numpy" else x


def _log_softplus(m, y):
    """log(log(1 + e^y)), finite for every y (= y below -30)."""
    return m.where(y < -30.0, y, m.log(m.softplus(m.maximum(y, -30.0))))


@dataclass(frozen=True)
class HazardBasis:
    """Knots (times, not log times) and the choices that fix the model; hashable.

    ``knots``: mspline -- interior knots then the upper boundary (the lower boundary is 0);
    rp -- both boundary knots and the interior knots; pwexp -- the cuts (after 0).
    ``smooth``: mspline "rw" (default) or "iid"; pwexp "rw"; rp "". ``follow_up``: last
    observed time.
    """

    kind: str
    knots: tuple[float, ...]
    smooth: str = ""
    follow_up: float = 0.0
    scale: str = "hazard"

    def __post_init__(self):
        if self.kind not in SPLINE_KINDS:
            raise InputError(
                f"unknown spline kind {self.kind!r}; choose one of {', '.join(SPLINE_KINDS)}."
            )
        k = np.asarray(self.knots, dtype=float)
        if k.ndim != 1 or not np.all(np.isfinite(k) & (k > 0)):
            raise InputError(
                f"{self.kind} knots must be finite times in (0, inf), got {list(self.knots)}."
            )
        if np.any(np.diff(k) <= 0):
            raise InputError(
                f"{self.kind} knots must be strictly increasing, got "
                f"{list(self.knots)}; drop repeated knots or lower df."
            )
        need = {"mspline": 1, "rp": 2, "pwexp": 1}[self.kind]
        if k.size < need:
            raise InputError(f"{self.kind} needs at least {need} knot(s), got {k.size}.")
        if self.smooth not in SMOOTHS[self.kind]:
            raise InputError(
                f"smooth={self.smooth!r} does not apply to {self.kind}; use one of "
                f"{', '.join(repr(s) for s in SMOOTHS[self.kind])}."
            )
        if self.scale not in (RP_SCALES if self.kind == "rp" else ("hazard",)):
            raise InputError(
                f"scale={self.scale!r} does not apply to {self.kind}; the Royston-Parmar scales "
                f"are {', '.join(RP_SCALES)} (the other hazards model the hazard)."
            )
        object.__setattr__(self, "knots", tuple(float(v) for v in k))

    # ---- sizes and names --------------------------------------------------------------------
    @property
    def n_basis(self) -> int:
        """Basis functions (mspline), spline terms g0.. (rp) or intervals (pwexp)."""
        n = len(self.knots)
        return {"mspline": n + 3, "rp": n, "pwexp": n + 1}[self.kind]

    @property
    def sampled(self) -> list[str]:
        if self.kind == "rp":
            return ["rp_gamma0", "rp_gamma1"] + (["rp_gamma"] if self.n_basis > 2 else [])
        if self.kind == "mspline":
            return ["mspline_log_eta", "mspline_sd", "mspline_z"]
        return ["pwexp_log_rate0", "pwexp_sd", "pwexp_z"]

    @property
    def vector_dims(self) -> dict[str, tuple[str, int]]:
        """Vector parameters: name -> (dim name, length)."""
        n = self.n_basis
        return {
            "mspline": {"mspline_z": ("mspline_coef", n - 1)},
            "rp": {"rp_gamma": ("rp_basis", n - 2)} if n > 2 else {},
            "pwexp": {"pwexp_z": ("pwexp_interval", n - 1)},
        }[self.kind]

    @property
    def roles(self) -> dict[str, str]:
        """Each sampled parameter's role (its default prior, :mod:`bayesurv.survival.structure`):
        its own name, but ``std_normal`` for the standardized steps ``*_z``; roles ending in
        ``_sd`` are smoothing hyperparameters."""
        return {n: "std_normal" if n.endswith("_z") else n for n in self.sampled}

    @property
    def nonph_size(self) -> int:
        """Coefficients that may differ by arm (all but the overall level)."""
        return self.n_basis - 1

    def prior_shift(self, log_rate: float) -> dict[str, float]:
        """Data-dependent prior locations: the level that gives a constant hazard ``rate``."""
        first = self.sampled[0]
        if self.kind == "mspline":
            return {first: log_rate + float(np.log(self.knots[-1]))}
        if self.kind == "rp":
            return {first: log_rate + self._rp_centre()[0]}
        return {first: log_rate}

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "knots": list(self.knots),
            "smooth": self.smooth,
            "follow_up": self.follow_up,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, d: dict) -> HazardBasis:
        return cls(
            str(d["kind"]),
            tuple(d["knots"]),
            str(d.get("smooth", "")),
            float(d.get("follow_up", 0.0)),
            str(d.get("scale", "hazard")),
        )

    # ---- knot-derived constants -------------------------------------------------------------
    def _mspline_knots(self) -> np.ndarray:
        U = self.knots[-1]
        return np.r_[[0.0] * 4, self.knots[:-1], [U] * 4]

    def _mspline_const(self) -> np.ndarray:
        """p giving a constant hazard on [0, U]: sum_k p_k M_k = 1 / U (B-splines sum to 1)."""
        tk = self._mspline_knots()
        return (tk[4:] - tk[:-4]) / (4.0 * self.knots[-1])

    def _rp_centre(self) -> tuple[float, float]:
        lo, hi = np.log(self.knots[0]), np.log(self.knots[-1])
        return (lo + hi) / 2.0, hi - lo

    def _walk(self) -> np.ndarray:
        """(K-1, K): z @ E adds z to c_2..c_K (iid) or their partial sums (random walk)."""
        n = self.n_basis
        if self.smooth == "rw":
            return np.triu(np.ones((n - 1, n)), k=1)
        return np.eye(n - 1, n, k=1)

    # ---- NumPy basis arrays -----------------------------------------------------------------
    def design(self, t) -> dict[str, np.ndarray]:
        """Basis arrays at times ``t >= 0`` (1-D), rows = times."""
        t = np.asarray(t, dtype=float).ravel()
        if not np.all(np.isfinite(t) & (t >= 0)):
            raise InputError("spline design times must be finite and >= 0.")
        if self.kind == "mspline":
            tk, U = self._mspline_knots(), self.knots[-1]
            n = self.n_basis
            scale = 4.0 / (tk[4:] - tk[:-4])
            spl = BSpline(tk, np.diag(scale), 3)
            ispl = spl.antiderivative()
            tc = np.minimum(t, U)
            M = spl(tc).reshape(t.size, n)
            beyond = np.maximum(t - U, 0.0)[:, None]
            I_ = ispl(tc).reshape(t.size, n) - ispl(0.0) + M * beyond
            c0 = np.log(self._mspline_const())
            return {"M": M, "I": np.maximum(I_, 0.0), "c0": c0 - c0[0]}
        if self.kind == "rp":
            x0, R = self._rp_centre()
            kx = np.log(self.knots)
            kmin, kmax, inner = kx[0], kx[-1], kx[1:-1]
            pos = t > 0
            logt = np.log(np.where(pos, t, self.knots[0]))
            lam = (kmax - inner) / R

            def cube(a, p):
                return np.maximum(logt[:, None] - a, 0.0) ** p

            V = cube(inner, 3) - lam * cube(kmin, 3) - (1 - lam) * cube(kmax, 3)
            dV = 3 * (cube(inner, 2) - lam * cube(kmin, 2) - (1 - lam) * cube(kmax, 2))
            one = np.ones((t.size, 1))
            return {  # s = gamma @ B, ds/dlog t = gamma @ dB
                "B": np.hstack([one, (logt - x0)[:, None], V / R**3]),
                "dB": np.hstack([0 * one, one, dV / R**3]),
                "logt": logt,
                "pos": pos.astype(float),
            }
        c = np.r_[0.0, self.knots]
        width = np.r_[np.diff(c), np.inf]
        E = np.clip(t[:, None] - c, 0.0, width)
        X = np.zeros_like(E)
        X[np.arange(t.size), np.searchsorted(self.knots, t, side="right")] = 1.0
        return {"E": E, "X": X}

    # ---- the two formulas -------------------------------------------------------------------
    def coefficients(self, m, raw: dict, delta=None):
        """The coefficient vector (..., K) of the formulas: mspline c (log weights, c_1 = 0 at
        the constant hazard), rp gamma, pwexp log lambda; ``delta`` (..., K - 1) moves all but
        the first (a non-PH arm's deviation)."""
        n = self.n_basis
        if self.kind == "rp":
            parts = [raw["rp_gamma0"], raw["rp_gamma1"]]
            if n > 2:
                parts.append(raw["rp_gamma"])
            c = m.concat([_last(m, v) for v in parts])
        elif self.kind == "mspline":
            c = _asnp(m, raw["mspline_sd"]) * (_asnp(m, raw["mspline_z"]) @ self._walk())
        else:
            z = _asnp(m, raw["pwexp_z"])
            c = _asnp(m, raw["pwexp_log_rate0"]) + _asnp(m, raw["pwexp_sd"]) * (z @ self._walk())
        if delta is not None:
            c = c + _asnp(m, delta) @ np.eye(n - 1, n, k=1)
        return c

    def curves(self, m, design: dict, raw: dict, shift=0.0, delta=None, rows=None):
        """``(log h, H)`` at the design's times: (n,) with PyTensor, (..., n) with NumPy.

        ``shift`` is added to the linear predictor: the log hazard (mspline, pwexp) or s (rp, on
        its scale); ``delta`` see :meth:`coefficients`; ``rows(a)`` reshapes the design's rows
        (last axis) to the shape of the points before ``shift`` (which may vary by profile)."""
        r = rows or (lambda a: a)
        c = self.coefficients(m, raw, delta)
        if self.kind == "mspline":
            c = c + design["c0"]
            w = m.exp(c - c.max(axis=-1, keepdims=True))
            tot = w.sum(axis=-1, keepdims=True)
            level = _asnp(m, raw["mspline_log_eta"]) - m.log(tot)
            lh = r(level + m.log(w @ design["M"].T)) + shift
            return lh, r(m.exp(level) * (w @ design["I"].T)) * m.exp(shift)
        if self.kind == "pwexp":
            return r(c @ design["X"].T) + shift, r(m.exp(c) @ design["E"].T) * m.exp(shift)
        s_ = r(c @ design["B"].T) + shift
        floor = r(np.log(RP_FLOOR) + _log_softplus(m, (c @ design["dB"].T) / RP_FLOOR))
        logt, pos = r(design["logt"]), r(design["pos"])
        if self.scale == "hazard":
            log_H, log_ratio = s_, 0.0  # log(dH/ds) - log H
            H = m.exp(s_)
        elif self.scale == "odds":
            H = m.softplus(s_)  # -log S, S = 1 / (1 + e^s)
            log_H = m.log(m.maximum(H, 1e-300))
            log_ratio = -m.softplus(-s_) - log_H  # dH/ds = sigmoid(s)
        else:
            log_S = m.log_ndtr(-s_)  # S = Phi(-s)
            H = -log_S
            log_H = m.log(m.maximum(H, 1e-300))
            log_ratio = -0.5 * s_ * s_ - 0.5 * np.log(2 * np.pi) - log_S - log_H
        return log_H + log_ratio + floor - logt, pos * H


def _last(m, v):
    """A scalar as a length-1 vector on the last axis (NumPy draws keep their leading axes)."""
    v = _asnp(m, v)
    return v if v.ndim else v[None]


# ---- knots from data --------------------------------------------------------------------------
def _quantile_knots(x: np.ndarray, n: int, what: str) -> np.ndarray:
    """n knots at equally spaced inner quantiles of x; of the distinct values if x has ties."""
    probs = np.arange(1, n + 1) / (n + 1)
    q = np.quantile(x, probs)
    if np.any(np.diff(q) <= 0):
        q = np.quantile(np.unique(x), probs)
    if np.any(np.diff(q) <= 0):
        raise InputError(f"too few distinct event times for {n} {what}; lower df.")
    return q


def choose_basis(
    kind: str,
    time,
    event,
    *,
    df: int | None = None,
    knots=None,
    extra_knots=None,
    smooth: str | None = None,
) -> HazardBasis:
    """A :class:`HazardBasis` with default or given knots for the data ``time``, ``event``.

    ``df``: mspline -- basis functions (>= 4, default 10); rp -- flexsurv's df = interior knots
    + 1 (>= 1, default 3); pwexp -- intervals (>= 2, default 6). ``knots`` (times) replaces the
    default knots entirely (same layout as :attr:`HazardBasis.knots`). ``extra_knots``: times
    beyond the last observed time, added to the knots (see the module docstring).
    """
    if kind not in SPLINE_KINDS:
        raise InputError(f"unknown spline kind {kind!r}; choose one of {', '.join(SPLINE_KINDS)}.")
    time = np.asarray(time, dtype=float).ravel()
    event = np.asarray(event, dtype=float).ravel()
    if time.size == 0 or time.size != event.size or not np.all(np.isfinite(time) & (time > 0)):
        raise InputError("time must be positive numbers, one per event indicator.")
    follow = float(time.max())
    ev = np.sort(time[event > 0])
    df = DEFAULT_DF[kind] if df is None else int(df)
    lowest = {"mspline": 4, "rp": 1, "pwexp": 2}[kind]
    if df < lowest:
        raise InputError(f"df for {kind} must be at least {lowest}, got {df}.")
    n_par = {"mspline": df, "rp": df + 1, "pwexp": df}[kind]
    if knots is None and ev.size < max(n_par, 2):
        raise InputError(
            f"{ev.size} events are too few for a {kind} with df={df}; "
            f"lower df to at most {max(ev.size - (kind == 'rp'), 0)}."
        )
    if knots is not None:
        kn = np.asarray(knots, dtype=float).ravel()
    elif kind == "mspline":
        kn = np.r_[_quantile_knots(ev, df - 4, "interior knots"), follow]
        kn = kn[np.r_[np.diff(kn) > 0, True]]  # a last quantile equal to follow-up
    elif kind == "rp":
        if ev[-1] <= ev[0]:
            raise InputError("rp needs at least two distinct event times.")
        inner = _quantile_knots(np.log(ev), df - 1, "interior knots") if df > 1 else []
        kn = np.r_[ev[0], np.exp(inner), ev[-1]]
    else:
        kn = _quantile_knots(ev, df - 1, "cuts")
    if extra_knots is not None and len(np.atleast_1d(extra_knots)):
        extra = np.sort(np.asarray(extra_knots, dtype=float).ravel())
        if not np.all(np.isfinite(extra) & (extra > follow)):
            raise InputError(
                f"extra_knots must be times beyond the last observed time "
                f"{follow:g}, got {extra.tolist()}."
            )
        if kind in ("mspline", "rp") and kn[-1] < follow:
            kn = np.r_[kn, follow]
        kn = np.r_[kn, extra]
    return HazardBasis(kind, tuple(kn), SMOOTHS[kind][-1] if smooth is None else smooth, follow)
