"""Two-arm survival models fitted to reported summaries only: no curve, no invented IPD.

For a trial that published landmark Kaplan-Meier estimates with 95% CIs and event counts at a
data cut-off, but no figure that can be digitized, the model is

    S_a(t) = S_bg(t) * [pi_a + (1 - pi_a) * S_u(t; theta_a)]        (mixture cure)
    S_a(t) = S_bg(t) * S_u(t; theta_a)                                (no cure)

with ``S_u`` a parametric family (:mod:`bayesurv.survival.families`), arm a = control (0) or
experimental (1), and the treatment acting (``effect``) on the uncured hazard (``log_hr``, PH; AFT
for families not closed under PH; the default without cure), on the cure fraction (logit
``cure_logit`` + ``cure_effect``; the default with cure: the uncured share one distribution), or
both (weakly identified from summaries),
and ``S_bg`` the cohort's general-population survival (1 when no life table is given).

Likelihood terms, one per reported number:

* landmark ``S_hat(t)`` with 95% CI ``(lo, hi)``: ``cloglog S_hat ~ N(cloglog S_a(t), se^2)``,
  ``se = (cloglog lo - cloglog hi) / (2 * 1.96)`` (the log-log scale on which KM CIs are
  usually computed; ``cloglog S = log(-log S)``);
* events ``D`` among ``n`` at a data cut-off: ``D ~ Binomial(n, E_C[1 - S_a(C)])``, with the
  potential follow-up ``C`` uniform on ``[max(0, 2 m - M), M]`` (m the reported median follow-up,
  M the maximum; ``[0, 2 m]`` when no maximum is given), the expectation by 24-point
  Gauss-Legendre quadrature. This assumes censoring only at the data cut-off.

The landmark and the event count of one cut-off come from the same patients, so they share
information; the model treats them as independent, which overstates the precision somewhat.
``fit_reported(..., use_events=False)`` drops the counts for a sensitivity analysis.

Default priors: the uncured family's priors of :mod:`bayesurv.survival.model` with ``t_ref`` the
reported median follow-up; ``log_hr ~ N(0, 1.5)``; ``cure_logit ~ N(0, 1.5)``,
``cure_effect ~ N(0, 1.5)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.survival.families import NP, PT, get_family
from bayesurv.survival.model import PARAMETERIZATION, natural_params

ARMS = ("control", "experimental")
CURES = ("none", "mixture")
#: where the treatment acts: the uncured hazard (PH, or AFT for other families), the cure
#: fraction, or both (weakly identified from summaries: use with informative priors)
EFFECTS = ("hazard", "cure", "both")
_Z = 1.959963984540054
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


@dataclass(frozen=True)
class ReportedArm:
    """What was reported for one arm of one endpoint."""

    landmarks: pd.DataFrame  # time, survival, lower, upper
    events: pd.DataFrame  # n, events, median_followup, max_followup (may be NaN)


def _cloglog(s):
    return np.log(-np.log(s))


def landmark_scale(lm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each landmark estimate on the cloglog scale and its standard error from the 95% CI."""
    y = _cloglog(lm["survival"].to_numpy(float))
    se = (_cloglog(lm["lower"].to_numpy(float)) - _cloglog(lm["upper"].to_numpy(float))) / (2 * _Z)
    return y, se


def check_landmarks(df: pd.DataFrame, source: str = "landmarks") -> pd.DataFrame:
    """Validate landmark rows (``time, survival, lower, upper``), one sentence per problem."""
    need = ["time", "survival", "lower", "upper"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{source} lacks column(s) {', '.join(missing)}; it needs {', '.join(need)}.")
    for k, row in enumerate(df[need].itertuples(index=False), start=1):
        t, s, lo, hi = (float(v) for v in row)
        if not (0 < lo < s < hi < 1):
            raise InputError(
                f"{source}, row {k}: the estimate {s:g} must lie strictly inside its 95% CI "
                f"({lo:g}, {hi:g}) within (0, 1); check the numbers."
            )
        if t <= 0:
            raise InputError(f"{source}, row {k}: the landmark time {t:g} must be positive.")
    return df


def check_events(df: pd.DataFrame, source: str = "events") -> pd.DataFrame:
    need = ["n", "events", "median_followup"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{source} lacks column(s) {', '.join(missing)}; it needs {', '.join(need)}.")
    for k, row in enumerate(df.itertuples(index=False), start=1):
        n, d, m = int(row.n), int(row.events), float(row.median_followup)
        if not 0 <= d <= n:
            raise InputError(f"{source}, row {k}: {d} events among {n} patients is impossible.")
        if m <= 0:
            raise InputError(f"{source}, row {k}: the median follow-up {m:g} must be positive.")
        mx = getattr(row, "max_followup", np.nan)
        if np.isfinite(mx) and mx < m:
            raise InputError(
                f"{source}, row {k}: the maximum follow-up {mx:g} is below the median {m:g}."
            )
    return df


def followup_nodes(median: float, maximum: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights (summing to 1) of the uniform potential follow-up."""
    hi = float(maximum) if maximum is not None and np.isfinite(maximum) else 2.0 * median
    lo = max(0.0, 2.0 * median - hi)
    nodes = lo + (hi - lo) * (_GL_X + 1.0) / 2.0
    return nodes, _GL_W / 2.0


class _Surv:
    """S_a(t) for both arms from the sampled parameters (NumPy or PyTensor namespace)."""

    def __init__(self, family, cure, params, m):
        self.fam = get_family(family)
        self.cure = cure
        self.p = params
        self.m = m

    def uncured_log_s(self, t, arm):
        fam, m, p = self.fam, self.m, self.p
        nat = p["nat"]
        if arm == 0 or "log_hr" not in p:
            return fam.log_survival(m, t, **nat)
        if fam.allows_ph:
            return fam.log_survival(m, t, **nat) * m.exp(p["log_hr"])
        return fam.log_survival(m, t * m.exp(-p["log_hr"]), **nat)  # AFT: log time ratio

    def surv(self, t, arm, s_bg=1.0):
        m = self.m
        s_u = m.exp(self.uncured_log_s(t, arm))
        if self.cure == "mixture":
            logit = self.p["cure_logit"] + (self.p.get("cure_effect", 0.0) if arm == 1 else 0.0)
            pi = 1.0 / (1.0 + m.exp(-logit))
            s_u = pi + (1.0 - pi) * s_u
        return s_bg * s_u


def build_reported_model(
    family: str,
    arms: dict[str, ReportedArm],
    *,
    cure: str = "mixture",
    effect: str | None = None,
    use_events: bool = True,
    background: callable | None = None,
    t_ref: float | None = None,
) -> pm.Model:
    """PyMC model of one endpoint's reported summaries for both arms (see the module docstring).

    ``background(t)`` returns the cohort's general-population survival at times ``t`` (NumPy).
    """
    if cure not in CURES:
        raise InputError(f"unknown cure model {cure!r}; choose one of {', '.join(CURES)}.")
    effect = effect or ("cure" if cure == "mixture" else "hazard")
    if effect not in EFFECTS or (cure == "none" and effect != "hazard"):
        raise InputError(
            f"treatment effect {effect!r} does not fit cure={cure!r}; choose 'hazard' without a cure "
            "fraction, and 'cure', 'hazard' or 'both' with one."
        )
    if set(arms) != set(ARMS):
        raise InputError(f"both arms are needed ({', '.join(ARMS)}); got {', '.join(arms)}.")
    fam = get_family(family)
    bg = background or (lambda t: np.ones_like(np.asarray(t, dtype=float)))
    if t_ref is None:
        t_ref = float(pd.concat([a.events["median_followup"] for a in arms.values()]).median())
    log_ref = float(np.log(t_ref))
    defaults = PARAMETERIZATION[fam.name][0]
    with pm.Model() as model:
        raw = {}
        for name, (kind, c, s) in defaults.items():
            mu = {"ref": log_ref + c, "-ref": c - log_ref, "abs": c}[kind]
            raw[name] = pm.Normal(name, mu=mu, sigma=s)
        params = {"nat": natural_params_any(fam.name, raw, log_ref)}
        if effect in ("hazard", "both"):
            params["log_hr"] = pm.Normal("log_hr", 0.0, 1.5)
        if cure == "mixture":
            params["cure_logit"] = pm.Normal("cure_logit", 0.0, 1.5)
            if effect in ("cure", "both"):
                params["cure_effect"] = pm.Normal("cure_effect", 0.0, 1.5)
            pm.Deterministic("cure_fraction_control", pm.math.sigmoid(params["cure_logit"]))
            pm.Deterministic(
                "cure_fraction_experimental",
                pm.math.sigmoid(params["cure_logit"] + params.get("cure_effect", 0.0)),
            )
        model_s = _Surv(fam.name, cure, params, PT)
        for a, arm in enumerate(ARMS):
            rep = arms[arm]
            lm = rep.landmarks
            if len(lm):
                t = lm["time"].to_numpy(float)
                s_model = model_s.surv(pt.as_tensor(t), a, bg(t))
                y, se = landmark_scale(lm)
                s_model = pt.clip(s_model, 1e-12, 1 - 1e-12)
                pm.Normal(f"landmark_{arm}", mu=pt.log(-pt.log(s_model)), sigma=se, observed=y)
            if use_events:
                for k, row in enumerate(rep.events.itertuples(index=False)):
                    nodes, w = followup_nodes(float(row.median_followup), getattr(row, "max_followup", None))
                    s_nodes = model_s.surv(pt.as_tensor(nodes), a, bg(nodes))
                    p_event = pt.clip(pt.sum(w * (1.0 - s_nodes)), 1e-9, 1 - 1e-9)
                    pm.Binomial(f"events_{arm}_{k}", n=int(row.n), p=p_event, observed=int(row.events))
    return model


def reported_loglik(surv_fn, arms: dict[str, ReportedArm]) -> np.ndarray:
    """The model's likelihood terms (see :func:`build_reported_model`) evaluated on posterior
    draws, one per reported number: shape (chain, draw, n_reported). ``surv_fn(times)`` gives
    S_a(t) with dims (chain, draw, arm, time)."""
    from scipy import stats

    out = []
    for a, arm in enumerate(ARMS):
        rep = arms[arm]
        if len(rep.landmarks):
            y, se = landmark_scale(rep.landmarks)
            s = np.clip(surv_fn(rep.landmarks["time"].to_numpy(float))[..., a, :], 1e-12, 1 - 1e-12)
            ll = stats.norm.logpdf(y, np.log(-np.log(s)), se)
            out.extend(np.moveaxis(ll, -1, 0))
        for row in rep.events.itertuples(index=False):
            nodes, w = followup_nodes(float(row.median_followup), getattr(row, "max_followup", None))
            p = np.clip(np.sum(w * (1 - surv_fn(nodes)[..., a, :]), axis=-1), 1e-9, 1 - 1e-9)
            out.append(stats.binom.logpmf(int(row.events), int(row.n), p))
    return np.stack(out, axis=-1)


def natural_params_any(family, raw, log_ref):
    """flexsurv parameters from sampled ones for a family (PyTensor)."""
    from bayesurv.survival.model import ModelSpec

    return natural_params(ModelSpec(family), raw, log_ref, PT)


def survival_draws(
    post: xr.Dataset,
    family: str,
    cure: str,
    times: np.ndarray,
    background: callable | None = None,
    *,
    t_ref: float,
) -> xr.DataArray:
    """Posterior draws of S_a(t): dims (chain, draw, arm, time). ``t_ref`` must be the one the
    model was built with (it sets the scale of some families' parameters)."""
    from bayesurv.survival.model import ModelSpec

    bg = background or (lambda t: np.ones_like(np.asarray(t, dtype=float)))
    times = np.asarray(times, dtype=float)
    # S(0) = 1 in every family; evaluate a hair after 0 so that no log(0) is taken
    safe = np.where(times > 0, times, np.finfo(float).tiny ** 0.25)
    raw = {k: post[k].values[..., None] for k in PARAMETERIZATION[family][0]}
    nat = natural_params(ModelSpec(family), raw, np.log(t_ref), NP)
    params = {"nat": nat}
    for name in ("log_hr", "cure_logit", "cure_effect"):
        if name in post:
            params[name] = post[name].values[..., None]
    s = _Surv(family, cure, params, NP)
    out = np.stack([s.surv(safe, a, bg(times)) for a in range(2)], axis=-2)
    return xr.DataArray(
        out,
        dims=("chain", "draw", "arm", "time"),
        coords={"chain": post["chain"], "draw": post["draw"], "arm": list(ARMS), "time": times},
        name="survival",
    )
