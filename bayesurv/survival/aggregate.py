"""Two-arm survival models fitted to reported summaries only: no curve, no invented IPD.

For a trial that published landmark Kaplan-Meier estimates with 95% CIs, event counts at a data
cut-off, medians and hazard ratios, but no figure that can be digitized, the model is

    S_a(t) = S_bg(t) * [pi_a + (1 - pi_a) * S_u(t; theta_a)]        (mixture cure)
    S_a(t) = S_bg(t) * pi_a ^ (1 - S_u(t; theta_a))                   (non-mixture cure)
    S_a(t) = S_bg(t) * S_u(t; theta_a)                                (no cure)

with ``S_u`` a parametric family (:mod:`bayesurv.survival.families`), arm a = control (0) or
experimental (1), and the treatment acting (``effect``) on the uncured hazard (``log_hr``, PH; AFT
for families not closed under PH; the default without cure), on the cure fraction (logit
``cure_logit`` + ``cure_effect``; the default with cure: the uncured share one distribution), or
both (weakly identified from summaries),
and ``S_bg`` the cohort's general-population survival (1 when no life table is given). The
all-cause hazard is ``h_a = h_bg + (1 - pi_a) f_u / (pi_a + (1 - pi_a) S_u)``.

Likelihood terms, one per reported number (each type can be switched off: ``use_landmarks``,
``use_events``, ``use_hazard_ratios``, ``use_medians``):

* landmark ``S_hat(t)`` with 95% CI ``(lo, hi)``: ``cloglog S_hat ~ N(cloglog S_a(t), se^2)``,
  ``se = (cloglog lo - cloglog hi) / (2 * 1.96)`` (the log-log scale on which KM CIs are
  usually computed; ``cloglog S = log(-log S)``);
* events ``D`` among ``n`` at a data cut-off: ``D ~ Binomial(n, E_C[1 - S_a(C)])``, with the
  potential follow-up ``C`` uniform on ``[max(0, 2 m - M), M]`` (m the reported median follow-up,
  M the maximum; ``[0, 2 m]`` when no maximum is given), the expectation by 24-point
  Gauss-Legendre quadrature. This assumes censoring only at the data cut-off.
* hazard ratio (experimental vs control) ``HR_hat`` with a 95% CI:
  ``log HR_hat ~ N(log HR_model, se^2)``, ``se = (log hi - log lo) / (2 * 1.96)``; with a
  log-rank (or Wald) p-value and no CI, ``se = |log HR_hat| / z_{1 - p/2}``. A p-value given only
  as a bound ("<0.001") gives no standard error, and a p-value without an HR gives no estimate:
  such rows are not used and :func:`hazard_ratio_terms` says why. ``log HR_model`` is the
  ``log_hr`` parameter for a PH model without cure fraction and without background mortality;
  otherwise the hazards are not proportional, and ``log HR_model`` is what a Cox fit of the
  reported cut estimates to first order: the event-weighted average of the log hazard ratio
  over follow-up,

      log HR_model = int_0^M w(t) log(h_1(t) / h_0(t)) dt / int_0^M w(t) dt,
      w(t) = (r_0 f_0(t) + r_1 f_1(t)) * G(t),

  with ``f_a = h_a S_a`` the all-cause event density, ``r_a`` the arms' shares of the patients
  (equal when unknown), and ``G(t) = P(C > t)`` the probability of still being under follow-up
  (the uniform potential follow-up above), by 2 x 32-point Gauss-Legendre quadrature on
  ``[0, 2m - M]`` and ``[2m - M, M]`` (``G`` has a kink at ``2m - M``). The exact limit of the
  Cox estimate (Struthers & Kalbfleisch, Biometrika 1986) weights by the risk sets; on large
  simulated mixture-cure trials the average agrees with the Cox fit within 0.013 on the log
  scale (``tests/test_survival_aggregate.py``).
* median ``m_hat`` with a 95% CI ``(lo, hi)``: ``log m_hat ~ N(log m_model, se^2)``,
  ``se = (log hi - log lo) / (2 * 1.96)``: the standard error from the width of the CI, which
  McGrath et al. (2025, arXiv:2503.03065, "Meta-analysis of median survival times with
  inverse-variance weighting") show estimates the median's standard error consistently for
  Brookmeyer-Crowley intervals; taken on the log scale here, where such intervals (asymmetric in
  time) are closer to symmetric and the median stays positive. The model's median need not
  exist (a cure fraction above 1/2), so the term is written through ``g(t) = cloglog S_a(t)``,
  which is finite for every model: with the slope ``b = d g / d log t = t h_a(t) / H_a(t)``
  at ``m_hat``,

      log L = log phi((g(m_hat) - cloglog 0.5) / (b se)) - log se,

  the normal density of ``log m_hat`` with ``log m_model`` replaced by one Newton step from
  ``m_hat`` (``log m_model ~ log m_hat - (g(m_hat) - g(m_model)) / b``): exact for the Weibull,
  whose ``g`` is linear in ``log t``, and first-order elsewhere. The ``- log se`` (not
  ``- log(b se)``) is the Jacobian that makes it a density of ``m_hat``. A median whose upper
  confidence limit was "not reached" gives ``se = (log m_hat - log lo) / 1.96`` (the lower half
  of the interval, flagged ``one-sided``); a median without a lower limit, or "not reached"
  itself, is not used.

The reported numbers of one cut-off come from the same patients, so they share information;
the model treats them as independent, which overstates the precision somewhat (most for an HR
next to the landmarks and events it summarises). The switches above give the sensitivity
analyses.

Default priors: the uncured family's priors of :mod:`bayesurv.survival.model` with ``t_ref`` the
reported median follow-up; ``log_hr ~ N(0, 1.5)``; ``cure_logit ~ N(0, 1.5)``,
``cure_effect ~ N(0, 1.5)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.survival.cure import excess
from bayesurv.survival.families import NP, PT, get_family
from bayesurv.survival.model import PARAMETERIZATION, natural_params

ARMS = ("control", "experimental")
CURES = ("none", "mixture", "non-mixture")
#: where the treatment acts: the uncured hazard (PH, or AFT for other families), the cure
#: fraction, or both (weakly identified from summaries: use with informative priors)
EFFECTS = ("hazard", "cure", "both")
#: the likelihood terms, each switchable
TERMS = ("landmarks", "events", "hazard_ratios", "medians")
_Z = 1.959963984540054
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)
_GL32_X, _GL32_W = np.polynomial.legendre.leggauss(32)
_CLOGLOG_HALF = float(np.log(np.log(2.0)))
_MEDIAN_COLUMNS = ["median", "lower", "upper"]


def _empty_medians() -> pd.DataFrame:
    return pd.DataFrame(columns=_MEDIAN_COLUMNS, dtype=float)


@dataclass(frozen=True)
class ReportedArm:
    """What was reported for one arm of one endpoint."""

    landmarks: pd.DataFrame  # time, survival, lower, upper
    events: pd.DataFrame  # n, events, median_followup, max_followup (may be NaN)
    medians: pd.DataFrame = field(default_factory=_empty_medians)  # median, lower, upper (NaN: NR)


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
        raise InputError(
            f"{source} lacks column(s) {', '.join(missing)}; it needs {', '.join(need)}."
        )
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
        raise InputError(
            f"{source} lacks column(s) {', '.join(missing)}; it needs {', '.join(need)}."
        )
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


def cox_nodes(median: float, maximum: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Nodes on ``[0, M]`` and weights ``GL weight x G(t)`` (``G`` the probability of still
    being under the uniform potential follow-up of :func:`followup_nodes`), 2 x 32 points."""
    hi = float(maximum) if maximum is not None and np.isfinite(maximum) else 2.0 * median
    lo = max(0.0, 2.0 * median - hi)
    nodes, weights = [], []
    for a, b in ((0.0, lo), (lo, hi)):
        if b - a <= 0:
            continue
        x = a + (b - a) * (_GL32_X + 1.0) / 2.0
        nodes.append(x)
        weights.append(_GL32_W * (b - a) / 2.0)
    t, w = np.concatenate(nodes), np.concatenate(weights)
    g = np.where(t <= lo, 1.0, (hi - t) / (hi - lo))
    return t, w * g


def _num(x) -> float:
    """A number from a CSV cell; NaN for blanks."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def hazard_ratio_terms(df: pd.DataFrame, source: str = "hazard ratios") -> pd.DataFrame:
    """Which reported hazard ratios can enter the likelihood, and with which standard error.

    ``df`` has ``hr`` and some of ``lower, upper`` (95% CI), ``p`` (two-sided p-value: a number,
    or a bound such as ``<0.001``), ``median_followup``, ``max_followup``. Returns the rows with
    ``log_hr``, ``se``, ``se_from`` and ``used`` / ``reason`` (why a row is not used). Bad numbers
    raise :class:`InputError`.

    Examples
    --------
    >>> t = hazard_ratio_terms(pd.DataFrame({"hr": [0.38, 0.34, 0.35, None],
    ...     "lower": [0.22, None, None, None], "upper": [0.65, None, None, None],
    ...     "p": ["<0.001", "0.002", "<0.001", "0.001"], "median_followup": [51.9] * 4}))
    >>> t["se"].round(3).tolist()[:2], t["used"].tolist()
    ([0.276, 0.349], [True, True, False, False])
    """
    from scipy import stats

    rows = []
    for k, r in enumerate(df.to_dict(orient="records"), start=1):
        hr, lo, hi = _num(r.get("hr")), _num(r.get("lower")), _num(r.get("upper"))
        p_raw = r.get("p")
        p_txt = (
            ""
            if p_raw is None or (isinstance(p_raw, float) and np.isnan(p_raw))
            else str(p_raw).strip()
        )
        p = _num(p_txt)
        fu = _num(r.get("median_followup"))
        out = dict(r, log_hr=np.nan, se=np.nan, se_from="", used=False, reason="")
        if np.isfinite(hr) and hr <= 0:
            raise InputError(f"{source}, row {k}: the hazard ratio {hr:g} must be positive.")
        if np.isfinite(lo) != np.isfinite(hi):
            raise InputError(f"{source}, row {k}: give both limits of the 95% CI or neither.")
        if np.isfinite(lo) and np.isfinite(hr) and not (0 < lo < hr < hi):
            raise InputError(
                f"{source}, row {k}: the hazard ratio {hr:g} must lie strictly inside its 95% CI "
                f"({lo:g}, {hi:g}); check the numbers."
            )
        if p_txt and not np.isfinite(p) and not p_txt.startswith(("<", ">", "≤")):
            raise InputError(
                f"{source}, row {k}: p = {p_txt!r} is neither a number nor a bound like <0.001."
            )
        if np.isfinite(p) and not 0 < p <= 1:
            raise InputError(f"{source}, row {k}: p = {p:g} must lie in (0, 1].")
        if not np.isfinite(hr):
            out["reason"] = "no hazard ratio published (a p-value alone gives no estimate)"
        elif np.isfinite(lo):
            out.update(log_hr=np.log(hr), se=(np.log(hi) - np.log(lo)) / (2 * _Z), se_from="95% CI")
        elif np.isfinite(p):
            z = stats.norm.isf(p / 2)
            if hr == 1 or z <= 0:
                out["reason"] = "HR of 1 or p = 1: the p-value gives no standard error"
            else:
                out.update(log_hr=np.log(hr), se=abs(np.log(hr)) / z, se_from=f"p = {p:g}")
        elif p_txt:
            out["reason"] = f"no CI and p given only as a bound ({p_txt}): no standard error"
        else:
            out["reason"] = "no CI and no p-value: no standard error"
        if np.isfinite(out["se"]):
            if not np.isfinite(fu) or fu <= 0:
                out["reason"] = (
                    "no follow-up reported for this data cut "
                    "(needed to weight the model's HR over time)"
                )
            else:
                out["used"] = True
        rows.append(out)
    return pd.DataFrame(rows)


def check_medians(df: pd.DataFrame, source: str = "medians") -> pd.DataFrame:
    """Validate median rows (``median, lower, upper``; a blank upper limit = "not reached") and
    add ``log_median``, ``se`` (log scale), ``se_from``, ``used`` and ``reason``."""
    missing = [c for c in _MEDIAN_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{source} lacks column(s) {', '.join(missing)}; it needs {', '.join(_MEDIAN_COLUMNS)}."
        )
    rows = []
    for k, r in enumerate(df.to_dict(orient="records"), start=1):
        m, lo, hi = _num(r["median"]), _num(r["lower"]), _num(r["upper"])
        out = dict(r, log_median=np.nan, se=np.nan, se_from="", used=False, reason="")
        if np.isfinite(m) and m <= 0:
            raise InputError(f"{source}, row {k}: the median {m:g} must be positive.")
        if np.isfinite(m) and (
            (np.isfinite(lo) and not 0 < lo < m) or (np.isfinite(hi) and not hi > m)
        ):
            raise InputError(
                f"{source}, row {k}: the median {m:g} must lie strictly inside its 95% CI "
                f"({lo:g}, {hi:g}); check the numbers."
            )
        if not np.isfinite(m):
            out["reason"] = "median not reached: no term"
        elif not np.isfinite(lo):
            out["reason"] = "no lower confidence limit: no standard error"
        elif np.isfinite(hi):
            out.update(
                log_median=np.log(m),
                se=(np.log(hi) - np.log(lo)) / (2 * _Z),
                se_from="95% CI",
                used=True,
            )
        else:
            out.update(
                log_median=np.log(m),
                se=(np.log(m) - np.log(lo)) / _Z,
                se_from="one-sided: upper limit not reached",
                used=True,
            )
        rows.append(out)
    return pd.DataFrame(
        rows, columns=list(df.columns) + ["log_median", "se", "se_from", "used", "reason"]
    )


def background_hazard(bg, t) -> np.ndarray:
    """The background hazard ``-d log S_bg / dt`` by a central difference (0 without one)."""
    t = np.asarray(t, dtype=float)
    if bg is None:
        return np.zeros_like(t)
    d = np.maximum(1e-4 * t, 1e-6)
    lo = np.log(np.clip(bg(np.maximum(t - d, 0.0)), 1e-300, None))
    hi = np.log(np.clip(bg(t + d), 1e-300, None))
    return np.maximum((lo - hi) / (np.minimum(d, t) + d), 0.0)


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

    def cure_fraction(self, arm):
        m = self.m
        logit = self.p["cure_logit"] + (self.p.get("cure_effect", 0.0) if arm == 1 else 0.0)
        return 1.0 / (1.0 + m.exp(-logit))

    def _excess(self, t, arm):
        """(log h_exc, H_exc) of arm ``arm`` (:func:`bayesurv.survival.cure.excess`)."""
        lin = None
        if self.cure != "none":
            lin = self.p["cure_logit"] + (self.p.get("cure_effect", 0.0) if arm == 1 else 0.0)
        return excess(
            self.m, self.cure, self.uncured_log_h(t, arm), self.uncured_log_s(t, arm), lin
        )

    def surv(self, t, arm, s_bg=1.0):
        return s_bg * self.m.exp(-self._excess(t, arm)[1])

    def uncured_log_h(self, t, arm):
        fam, m, p = self.fam, self.m, self.p
        nat = p["nat"]
        if arm == 0 or "log_hr" not in p:
            return fam.log_hazard(m, t, **nat)
        if fam.allows_ph:
            return fam.log_hazard(m, t, **nat) + p["log_hr"]
        return fam.log_hazard(m, t * m.exp(-p["log_hr"]), **nat) - p["log_hr"]

    def log_hazard(self, t, arm, h_bg=None):
        """log of the all-cause hazard ``h_bg + h_disease``."""
        m = self.m
        log_h = self._excess(t, arm)[0]
        if h_bg is None or not np.any(h_bg):
            return log_h
        return m.log(h_bg + m.exp(log_h))

    def ph_parameter(self, has_background: bool) -> bool:
        """Whether the model's hazard ratio is the constant ``exp(log_hr)``."""
        return (
            self.cure == "none" and "log_hr" in self.p and self.fam.allows_ph and not has_background
        )

    def average_log_hr(self, nodes, gw, bg_s, bg_h, shares=(0.5, 0.5)):
        """Event-weighted average of log(h_1 / h_0) over follow-up (the module docstring)."""
        m = self.m
        lh0, lh1 = self.log_hazard(nodes, 0, bg_h), self.log_hazard(nodes, 1, bg_h)
        f = shares[0] * m.exp(lh0) * self.surv(nodes, 0, bg_s) + shares[1] * m.exp(lh1) * self.surv(
            nodes, 1, bg_s
        )
        w = gw * f
        return (w * (lh1 - lh0)).sum(axis=-1) / w.sum(axis=-1)

    def median_loglik(self, med, se, arm, bg_s, bg_h):
        """Log-likelihood of reported medians ``med`` (log-scale ``se``) (the module docstring)."""
        m = self.m
        s = self.surv(med, arm, bg_s)
        s = m.where(s < 1e-12, 1e-12, m.where(s > 1 - 1e-12, 1 - 1e-12, s))
        big_h = -m.log(s)
        slope = med * m.exp(self.log_hazard(med, arm, bg_h)) / big_h
        z = (m.log(big_h) - _CLOGLOG_HALF) / (slope * se)
        return -0.5 * z * z - 0.5 * np.log(2 * np.pi) - np.log(se)


def _hr_rows(hazard_ratios: pd.DataFrame | None) -> pd.DataFrame:
    if hazard_ratios is None or len(hazard_ratios) == 0:
        return pd.DataFrame(columns=["log_hr", "se", "median_followup", "max_followup", "used"])
    hr = hazard_ratios if "used" in hazard_ratios else hazard_ratio_terms(hazard_ratios)
    return hr[hr["used"].astype(bool)].reset_index(drop=True)


def _med_rows(arm: ReportedArm) -> pd.DataFrame:
    med = arm.medians
    if med is None or len(med) == 0:
        return pd.DataFrame(columns=["log_median", "se", "used"])
    med = med if "used" in med else check_medians(med)
    return med[med["used"].astype(bool)].reset_index(drop=True)


def arm_shares(arms: dict[str, ReportedArm]) -> tuple[float, float]:
    """Each arm's share of the patients (from the largest reported n; equal when unknown)."""
    n = []
    for arm in ARMS:
        ev = arms[arm].events
        n.append(float(ev["n"].max()) if len(ev) else np.nan)
    if not all(np.isfinite(n)) or sum(n) <= 0:
        return 0.5, 0.5
    return n[0] / sum(n), n[1] / sum(n)


def build_reported_model(
    family: str,
    arms: dict[str, ReportedArm],
    *,
    cure: str = "mixture",
    effect: str | None = None,
    hazard_ratios: pd.DataFrame | None = None,
    use_landmarks: bool = True,
    use_events: bool = True,
    use_hazard_ratios: bool = True,
    use_medians: bool = True,
    background: callable | None = None,
    t_ref: float | None = None,
) -> pm.Model:
    """PyMC model of one endpoint's reported summaries for both arms (see the module docstring).

    ``hazard_ratios``: rows of :func:`hazard_ratio_terms` (or its input), experimental vs control.
    ``background(t)`` returns the cohort's general-population survival at times ``t`` (NumPy).
    The model's hazard ratio as a Cox fit of each used HR row would see it is recorded as the
    deterministic ``model_log_hr_<k>`` (k = 0, 1, ... over the used rows).
    """
    if cure not in CURES:
        raise InputError(f"unknown cure model {cure!r}; choose one of {', '.join(CURES)}.")
    effect = effect or ("cure" if cure != "none" else "hazard")
    if effect not in EFFECTS or (cure == "none" and effect != "hazard"):
        raise InputError(
            f"treatment effect {effect!r} does not fit cure={cure!r}; choose 'hazard' without "
            "a cure fraction, and 'cure', 'hazard' or 'both' with one."
        )
    if set(arms) != set(ARMS):
        raise InputError(f"both arms are needed ({', '.join(ARMS)}); got {', '.join(arms)}.")
    fam = get_family(family)
    bg = background or (lambda t: np.ones_like(np.asarray(t, dtype=float)))
    if t_ref is None:
        fus = [a.events["median_followup"] for a in arms.values() if len(a.events)]
        t_ref = (
            float(pd.concat(fus).median())
            if fus
            else float(pd.concat([a.landmarks["time"] for a in arms.values()]).median())
        )
    log_ref = float(np.log(t_ref))
    defaults = PARAMETERIZATION[fam.name][0]
    hr_rows = _hr_rows(hazard_ratios) if use_hazard_ratios else _hr_rows(None)
    shares = arm_shares(arms)
    with pm.Model() as model:
        raw = {}
        for name, (kind, c, s) in defaults.items():
            mu = {"ref": log_ref + c, "-ref": c - log_ref, "abs": c}[kind]
            raw[name] = pm.Normal(name, mu=mu, sigma=s)
        params = {"nat": natural_params_any(fam.name, raw, log_ref)}
        if effect in ("hazard", "both"):
            params["log_hr"] = pm.Normal("log_hr", 0.0, 1.5)
        if cure != "none":
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
            if use_landmarks and len(lm):
                t = lm["time"].to_numpy(float)
                s_model = model_s.surv(pt.as_tensor(t), a, bg(t))
                y, se = landmark_scale(lm)
                s_model = pt.clip(s_model, 1e-12, 1 - 1e-12)
                pm.Normal(f"landmark_{arm}", mu=pt.log(-pt.log(s_model)), sigma=se, observed=y)
            if use_events:
                for k, row in enumerate(rep.events.itertuples(index=False)):
                    nodes, w = followup_nodes(
                        float(row.median_followup), getattr(row, "max_followup", None)
                    )
                    s_nodes = model_s.surv(pt.as_tensor(nodes), a, bg(nodes))
                    p_event = pt.clip(pt.sum(w * (1.0 - s_nodes)), 1e-9, 1 - 1e-9)
                    pm.Binomial(
                        f"events_{arm}_{k}", n=int(row.n), p=p_event, observed=int(row.events)
                    )
            med = _med_rows(rep) if use_medians else _med_rows(ReportedArm(lm, rep.events))
            if len(med):
                t = np.exp(med["log_median"].to_numpy(float))
                ll = model_s.median_loglik(
                    pt.as_tensor(t),
                    med["se"].to_numpy(float),
                    a,
                    bg(t),
                    background_hazard(background, t),
                )
                pm.Potential(f"median_{arm}", pt.sum(ll))
        for k, row in enumerate(hr_rows.itertuples(index=False)):
            mu = _model_log_hr(model_s, row, background, bg, shares, PT)
            pm.Deterministic(f"model_log_hr_{k}", mu)
            pm.Normal(f"hazard_ratio_{k}", mu=mu, sigma=float(row.se), observed=float(row.log_hr))
    return model


def _model_log_hr(model_s: _Surv, row, background, bg, shares, m):
    if model_s.ph_parameter(background is not None):
        return model_s.p["log_hr"]
    nodes, gw = cox_nodes(float(row.median_followup), _num(getattr(row, "max_followup", np.nan)))
    if m is PT:
        nodes_t = pt.as_tensor(nodes)
    else:
        nodes_t = nodes
    return model_s.average_log_hr(
        nodes_t, gw, bg(nodes), background_hazard(background, nodes), shares
    )


def _np_surv(post: xr.Dataset, family: str, cure: str, t_ref: float) -> _Surv:
    from bayesurv.survival.model import ModelSpec

    raw = {k: post[k].values[..., None] for k in PARAMETERIZATION[family][0]}
    nat = natural_params(ModelSpec(family), raw, np.log(t_ref), NP)
    params = {"nat": nat}
    for name in ("log_hr", "cure_logit", "cure_effect"):
        if name in post:
            params[name] = post[name].values[..., None]
    return _Surv(family, cure, params, NP)


def model_hazard_ratio(
    post: xr.Dataset,
    family: str,
    cure: str,
    *,
    t_ref: float,
    median_followup: float,
    max_followup: float | None = None,
    background: callable | None = None,
    shares: tuple[float, float] = (0.5, 0.5),
) -> np.ndarray:
    """Posterior draws (chain, draw) of the model's log hazard ratio as a Cox fit of a cut with
    this follow-up would see it (the ``log_hr`` parameter for PH without cure or background)."""
    s = _np_surv(post, family, cure, t_ref)
    bg = background or (lambda t: np.ones_like(np.asarray(t, dtype=float)))
    row = pd.Series(
        {
            "median_followup": median_followup,
            "max_followup": np.nan if max_followup is None else max_followup,
        }
    )
    out = _model_log_hr(s, row, background, bg, shares, NP)
    out = np.asarray(out, dtype=float)
    shape = post["chain"].size, post["draw"].size
    return np.broadcast_to(out.reshape(out.shape[:2]) if out.ndim >= 2 else out, shape).copy()


def reported_loglik(
    post: xr.Dataset,
    family: str,
    cure: str,
    arms: dict[str, ReportedArm],
    *,
    t_ref: float,
    background: callable | None = None,
    hazard_ratios: pd.DataFrame | None = None,
    use_landmarks: bool = True,
    use_events: bool = True,
    use_hazard_ratios: bool = True,
    use_medians: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """The model's likelihood terms (see :func:`build_reported_model`, same switches) evaluated
    on posterior draws, one per reported number: an array (chain, draw, n_reported) and the
    name of each number."""
    from scipy import stats

    s = _np_surv(post, family, cure, t_ref)
    bg = background or (lambda t: np.ones_like(np.asarray(t, dtype=float)))
    out, names = [], []
    for a, arm in enumerate(ARMS):
        rep = arms[arm]
        if use_landmarks and len(rep.landmarks):
            t = rep.landmarks["time"].to_numpy(float)
            y, se = landmark_scale(rep.landmarks)
            sv = np.clip(s.surv(t, a, bg(t)), 1e-12, 1 - 1e-12)
            ll = stats.norm.logpdf(y, np.log(-np.log(sv)), se)
            out.extend(np.moveaxis(ll, -1, 0))
            names.extend(f"landmark {arm} t={x:g}" for x in t)
        if use_events:
            for row in rep.events.itertuples(index=False):
                nodes, w = followup_nodes(
                    float(row.median_followup), getattr(row, "max_followup", None)
                )
                p = np.clip(np.sum(w * (1 - s.surv(nodes, a, bg(nodes))), axis=-1), 1e-9, 1 - 1e-9)
                out.append(stats.binom.logpmf(int(row.events), int(row.n), p))
                names.append(f"events {arm} n={int(row.n)}")
        if use_medians:
            med = _med_rows(rep)
            if len(med):
                t = np.exp(med["log_median"].to_numpy(float))
                ll = s.median_loglik(
                    t, med["se"].to_numpy(float), a, bg(t), background_hazard(background, t)
                )
                out.extend(np.moveaxis(np.broadcast_to(ll, ll.shape[:2] + (t.size,)), -1, 0))
                names.extend(f"median {arm} {x:g}" for x in t)
    if use_hazard_ratios:
        shares = arm_shares(arms)
        for row in _hr_rows(hazard_ratios).itertuples(index=False):
            mu = np.asarray(_model_log_hr(s, row, background, bg, shares, NP))
            mu = mu.reshape(mu.shape[:2])
            out.append(stats.norm.logpdf(float(row.log_hr), mu, float(row.se)))
            names.append(f"hazard ratio {np.exp(row.log_hr):.2f}")
    shape = post["chain"].size, post["draw"].size
    return np.stack([np.broadcast_to(x, shape) for x in out], axis=-1), names


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
    bg = background or (lambda t: np.ones_like(np.asarray(t, dtype=float)))
    times = np.asarray(times, dtype=float)
    # S(0) = 1 in every family; evaluate a hair after 0 so that no log(0) is taken
    safe = np.where(times > 0, times, np.finfo(float).tiny ** 0.25)
    s = _np_surv(post, family, cure, t_ref)
    out = np.stack([s.surv(safe, a, bg(times)) for a in range(2)], axis=-2)
    return xr.DataArray(
        out,
        dims=("chain", "draw", "arm", "time"),
        coords={"chain": post["chain"], "draw": post["draw"], "arm": list(ARMS), "time": times},
        name="survival",
    )
