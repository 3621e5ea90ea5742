"""Long-term survival from IPD: cure, general-population mortality, flexible hazards, waning.

Patient ``i`` (arm ``x_i`` = 0 reference / 1 treated, cure covariates ``z_i``, entering at age
``a_i`` with sex ``s_i``) has the relative-survival hazard

    h_i(t) = smr * h_pop(a_i + t, s_i) + h_exc(t | x_i, z_i)

with ``h_pop`` from a life table (:mod:`bayesurv.survival.background`; absent without one) and the
excess (disease) hazard from the uncured survival ``S_u`` and the cure fraction
``pi_i = logistic(cure_logit + cure_effect x_i + cure_coef . (z_i - mean z))``:

    none          S_exc(t) = S_u(t)
    mixture       S_exc(t) = pi_i + (1 - pi_i) S_u(t)                 (Boag; Berkson-Gage)
    non-mixture   S_exc(t) = pi_i ^ (1 - S_u(t))                      (promotion time)

``S_u`` is any parametric family (:mod:`bayesurv.survival.families`, with the priors of
:mod:`bayesurv.survival.model`) or a flexible hazard (:mod:`bayesurv.survival.splines`: M-spline,
Royston-Parmar, piecewise exponential). The treatment acts on the uncured hazard (``log_hr``,
proportional hazards; a log time ratio ``log_tr`` for families not closed under PH), on the cure
fraction (``cure_effect``), or both (``effect``; the default is the hazard without a cure
fraction and the cure fraction with one, as in flexsurvcure, because both at once are weakly
identified by a few years of follow-up). The log-likelihood is one vectorized sum,

    log L = sum_i d_i log h_i(t_i) - smr H_pop,i(t_i) - H_exc(t_i | x_i, z_i),

and since ``h_exc >= 0`` and ``smr >= 1`` no fitted or extrapolated hazard falls below the
general population's. Cohort curves average over the patients' ages, sexes and covariates
(``S_arm(t) = mean_i S_pop,i(t)^smr S_exc(t | arm, z_i)``: every arm on the same cohort).

Treatment-effect waning (:mod:`bayesurv.survival.waning`) moves the treated excess hazard back to
the control one between ``t1`` and ``t2``, in survival, mean survival and life-years alike. When
``t1`` falls inside follow-up the waned hazard is also the likelihood's (parametric families
without cure covariates: the treated patients' cumulative hazard by Gauss-Legendre quadrature
over the waning window), so the fitted effect is the one before ``t1``; from the end of
follow-up on it changes the extrapolation only. External long-term evidence
(:mod:`bayesurv.survival.external`: landmark survival with a 95% CI, registry counts) adds
likelihood terms on the cohort survival of the arm it describes.

Default priors: the family's (``t_ref`` = median observed time) or the flexible hazard's;
``log_hr``, ``log_tr``, ``cure_logit``, ``cure_effect``, ``cure_coef`` ~ N(0, 1.5) (a cure
fraction a priori between 5% and 95% with 95% probability); ``smr`` fixed (default 1) or a
log-normal prior truncated at 1. Overrides by name as in :mod:`bayesurv.survival.model`.
"""

from __future__ import annotations

import json
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.survival.cohort import Cohort, lifetime_horizon, prepare_longterm
from bayesurv.survival.cure import CURES, excess, log_add
from bayesurv.survival.families import FAMILIES, NP, PT, get_family
from bayesurv.survival.model import (
    PARAMETERIZATION,
    ModelSpec,
    _check_prior,
    check_overrides,
    natural_params,
)

EFFECTS = ("hazard", "cure", "both")
PRIOR_SD = 1.5


class IdentifiabilityWarning(UserWarning):
    """The data cannot tell two parts of a cure model apart; the message says which."""


# --------------------------------------------------------------------------------------------
# the uncured hazard: a parametric family or a flexible basis, behind one small interface
# --------------------------------------------------------------------------------------------
class _Parametric:
    """A family of :mod:`bayesurv.survival.families` with the sampled parameters of
    :mod:`bayesurv.survival.model`; its design is the time itself."""

    def __init__(self, family: str):
        self.fam = get_family(family)
        self.name = self.fam.name
        self.allows_ph = self.fam.allows_ph
        self.defaults = PARAMETERIZATION[self.name][0]

    @property
    def sampled(self) -> list[str]:
        return list(self.defaults)

    def design(self, t) -> dict:
        return {"t": np.asarray(t, dtype=float)}

    def add_priors(self, log_ref, overrides: dict) -> dict:
        raw = {}
        for name, (kind, c, s) in self.defaults.items():
            if name in overrides:
                raw[name] = _rv(name, overrides[name])
            else:
                mu = {"ref": log_ref + c, "-ref": c - log_ref, "abs": c}[kind]
                raw[name] = pm.Normal(name, mu=mu, sigma=s)
        return raw

    def _nat(self, m, raw, log_ref):
        return natural_params(ModelSpec(self.name), raw, log_ref, m)

    def log_hazard(self, m, design, raw, log_ref, scale=None):
        t = design["t"] if scale is None else design["t"] * scale
        return self.fam.log_hazard(m, t, **self._nat(m, raw, log_ref))

    def log_survival(self, m, design, raw, log_ref, scale=None):
        t = design["t"] if scale is None else design["t"] * scale
        return self.fam.log_survival(m, t, **self._nat(m, raw, log_ref))


class _Flexible:
    """A flexible hazard of :mod:`bayesurv.survival.splines` (proportional hazards only)."""

    allows_ph = True

    def __init__(self, basis):
        self.basis = basis
        self.name = basis.kind

    @property
    def sampled(self) -> list[str]:
        return list(self.basis.sampled)

    def design(self, t) -> dict:
        return self.basis.design(np.asarray(t, dtype=float))

    def add_priors(self, log_ref, overrides: dict, t_ref=None, events_per_time=None) -> dict:
        return self.basis.add_priors(t_ref, events_per_time=events_per_time, priors=overrides)

    def log_hazard(self, m, design, raw, log_ref, scale=None):
        return self.basis.log_hazard(m, design, raw)

    def log_survival(self, m, design, raw, log_ref, scale=None):
        return -self.basis.cum_hazard(m, design, raw)


def _rv(name, prior, dims=None, shape=None):
    kw = {k: v for k, v in prior.items() if k != "dist"}
    return getattr(pm, prior["dist"])(name, **kw, dims=dims, shape=shape)


def _component(family: str, basis_json: str):
    if family in FAMILIES:
        return _Parametric(family)
    from bayesurv.survival import splines

    return _Flexible(splines.HazardBasis.from_dict(json.loads(basis_json)))


def _all_families() -> tuple[str, ...]:
    from bayesurv.survival.splines import SPLINE_KINDS

    return tuple(FAMILIES) + tuple(SPLINE_KINDS)


# --------------------------------------------------------------------------------------------
# what the user asked for, apart from how PyMC builds it
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LongTermSpec:
    """The structure of a long-term model (hashable: the compile-cache key)."""

    family: str
    cure: str = "none"
    n_arms: int = 1
    effect: str = "none"  # where the treatment acts: none (one arm), hazard, cure, both
    hazard_effect: str = "ph"  # ph or aft, on the uncured hazard
    n_cure_cov: int = 0
    background: bool = False
    smr_prior_json: str = ""  # "" = fixed smr (data)
    basis_json: str = ""
    priors_json: str = "{}"
    #: waning that starts inside follow-up enters the likelihood: [scheme, t1, t2] as JSON
    waning_json: str = ""

    @property
    def waning(self):
        if not self.waning_json:
            return None
        scheme, t1, t2 = json.loads(self.waning_json)
        return scheme, np.float64(t1), None if t2 is None else np.float64(t2)

    @property
    def effect_name(self) -> str | None:
        if self.effect in ("hazard", "both"):
            return "log_hr" if self.hazard_effect == "ph" else "log_tr"
        return None

    @property
    def sampled(self) -> list[str]:
        names = list(_component(self.family, self.basis_json).sampled)
        if self.effect_name:
            names.append(self.effect_name)
        if self.cure != "none":
            names.append("cure_logit")
            if self.effect in ("cure", "both"):
                names.append("cure_effect")
            if self.n_cure_cov:
                names.append("cure_coef")
        if self.smr_prior_json:
            names.append("smr")
        return names


def make_longterm_spec(
    family: str,
    *,
    cure: str = "none",
    n_arms: int = 1,
    effect: str | None = None,
    n_cure_cov: int = 0,
    background: bool = False,
    smr_prior: dict | None = None,
    basis=None,
    priors: dict | None = None,
    waning=None,
) -> LongTermSpec:
    """Validate a long-term model request (one sentence per problem). ``waning``: a checked
    ``(scheme, t1, t2)`` that starts inside follow-up and so enters the likelihood."""
    fam_names = _all_families()
    if family not in fam_names:
        raise InputError(f"unknown family {family!r}; choose one of {', '.join(fam_names)}.")
    if cure not in CURES:
        raise InputError(f"unknown cure model {cure!r}; choose one of {', '.join(CURES)}.")
    comp_ph = family not in FAMILIES or get_family(family).allows_ph
    if n_arms == 1:
        effect = "none"
    else:
        effect = effect or ("cure" if cure != "none" else "hazard")
        if effect not in EFFECTS or (cure == "none" and effect != "hazard"):
            raise InputError(
                f"treatment effect {effect!r} does not fit cure={cure!r}; choose 'hazard' "
                "without a cure fraction, and 'hazard', 'cure' or 'both' with one."
            )
    if n_cure_cov and cure == "none":
        raise InputError("cure covariates need a cure model; add --cure mixture or non-mixture.")
    basis_json = json.dumps(basis.to_dict(), sort_keys=True) if basis is not None else ""
    if family not in FAMILIES and basis is None:
        raise InputError(f"the {family} hazard needs its knots; build it with choose_basis().")
    smr_json = ""
    if smr_prior is not None:
        if not background:
            raise InputError("an SMR prior needs a life table (general-population mortality).")
        if not (
            isinstance(smr_prior, dict)
            and smr_prior.get("dist") == "LogNormal"
            and set(smr_prior) == {"dist", "mu", "sigma"}
        ):
            raise InputError(
                "the SMR prior must be {dist='LogNormal', mu=..., sigma=...} (log scale; it is "
                "truncated at 1)."
            )
        p = {"dist": "LogNormal", "mu": float(smr_prior["mu"]), "sigma": float(smr_prior["sigma"])}
        smr_json = json.dumps(p, sort_keys=True)
    waning_json = ""
    if waning is not None:
        if family not in FAMILIES or n_cure_cov or n_arms != 2:
            raise InputError(
                "waning inside follow-up needs two arms, a parametric family and no cure "
                "covariates."
            )
        scheme, t1, t2 = waning
        waning_json = json.dumps([scheme, float(t1), None if t2 is None else float(t2)])
    spec = LongTermSpec(
        family,
        cure,
        n_arms,
        effect,
        "ph" if comp_ph else "aft",
        int(n_cure_cov),
        bool(background),
        smr_json,
        basis_json,
        "{}",
        waning_json,
    )

    def check(name, prior):
        if basis is not None and name in basis.sampled:
            return basis.check_priors({name: prior})[name]
        return _check_prior(name, prior)

    clean = check_overrides(priors, spec.sampled, check)
    return LongTermSpec(
        family,
        cure,
        n_arms,
        effect,
        spec.hazard_effect,
        int(n_cure_cov),
        bool(background),
        smr_json,
        basis_json,
        json.dumps(clean, sort_keys=True),
        waning_json,
    )


# --------------------------------------------------------------------------------------------
# the model: one formula for the PyMC likelihood and the NumPy posterior quantities
# --------------------------------------------------------------------------------------------
def _uncured(m, spec, comp, design, raw, x, log_ref):
    """log h_u and log S_u of the uncured, with the treatment effect on the hazard (arm ``x``)."""
    name = spec.effect_name
    if name is None:
        return (
            comp.log_hazard(m, design, raw, log_ref),
            comp.log_survival(m, design, raw, log_ref),
        )
    beta = raw[name]
    if spec.hazard_effect == "ph":
        return (
            comp.log_hazard(m, design, raw, log_ref) + beta * x,
            comp.log_survival(m, design, raw, log_ref) * m.exp(beta * x),
        )
    scale = m.exp(-beta * x)  # AFT: S_u(t | x) = S_0(t exp(-beta x))
    return (
        comp.log_hazard(m, design, raw, log_ref, scale) - beta * x,
        comp.log_survival(m, design, raw, log_ref, scale),
    )


def _cure_lin(m, spec, raw, x, cov):
    if spec.cure == "none":
        return None
    lin = raw["cure_logit"]
    if "cure_effect" in raw:
        lin = lin + raw["cure_effect"] * x
    if spec.n_cure_cov:
        if m is NP:
            lin = lin + np.einsum("nk,...k->...n", cov, raw["cure_coef"])
        else:
            lin = lin + pt.dot(cov, raw["cure_coef"])
    return lin


def _total(m, spec, lh_exc, H_exc, log_h_pop, H_pop, smr):
    if not spec.background:
        return lh_exc, H_exc
    return log_add(m, m.log(smr) + log_h_pop, lh_exc), smr * H_pop + H_exc


def patient_loglik(m, spec, comp, design, raw, data, log_ref, smr=1.0):
    """Each patient's log-likelihood ``d_i log h_i(t_i) - H_i(t_i)`` (NumPy or PyTensor)."""
    x = data["arm"]
    if spec.waning is not None:
        lh_exc, H_exc = _waned_excess(m, spec, comp, design, raw, data, log_ref)
    else:
        lh_u, ls_u = _uncured(m, spec, comp, design, raw, x, log_ref)
        lh_exc, H_exc = excess(m, spec.cure, lh_u, ls_u, _cure_lin(m, spec, raw, x, data["cov"]))
    lh, H = _total(m, spec, lh_exc, H_exc, data.get("log_h_pop"), data.get("H_pop"), smr)
    return m.where(data["event"] > 0, lh, 0.0) - H


def _waned_excess(m, spec, comp, design, raw, data, log_ref):
    """Excess log hazard and cumulative hazard when the effect wanes inside follow-up: the
    treated patients' excess hazard follows :mod:`bayesurv.survival.waning` from ``t1``, the
    family's formulas evaluated at the quadrature nodes (parametric families, no cure
    covariates: the log HR at ``t1`` is then one number per draw)."""
    from bayesurv.survival.waning import waned_cumhaz, waned_log_hazard

    scheme, t1, t2 = spec.waning
    t, x = design["t"], data["arm"]

    def exc(s, a):  # (log h_exc, H_exc) of arm a at times s (any shape)
        lh_u, ls_u = _uncured(m, spec, comp, {"t": s}, raw, float(a), log_ref)
        return excess(m, spec.cure, lh_u, ls_u, _cure_lin(m, spec, raw, float(a), None))

    lh_c, H_c = exc(t, 0)
    lh_t, H_t = exc(t, 1)
    b = exc(t1, 1)[0] - exc(t1, 0)[0] if scheme == "linear_loghr" else None
    H_w = waned_cumhaz(
        m, t, lambda u: exc(u, 0)[1], lambda u: exc(u, 1)[1], scheme, t1, t2, loghr_t1=b
    )
    lh_w = waned_log_hazard(m, t, lh_c, lh_t, scheme, t1, t2, loghr_t1=b)
    treated = x > 0
    return m.where(treated, lh_w, lh_c), m.where(treated, H_w, H_c)


def _data_arrays(spec, comp, data) -> dict[str, np.ndarray]:
    out = {f"design_{k}": v for k, v in comp.design(data["time"]).items()}
    out.update(
        {
            "event": data["event"],
            "arm_index": data["arm"],
            "cov": data["cov"],
            "log_t_ref": np.asarray(data["log_t_ref"]),
        }
    )
    if spec.background:
        out["log_h_pop"], out["H_pop"] = data["log_h_pop"], data["H_pop"]
        out["smr_fixed"] = np.asarray(float(data.get("smr", 1.0)))
    return out


def build_longterm_model(
    spec: LongTermSpec, data: dict, cohort: Cohort | None = None, external: dict | None = None
) -> pm.Model:
    """The PyMC model of :class:`LongTermSpec` with ``data`` (from :func:`prepare_longterm`).

    ``external``: ``{"landmarks": frame, "registry": frame}`` from
    :mod:`bayesurv.survival.external`, each with an ``arm`` column when there are two arms.
    """
    comp = _component(spec.family, spec.basis_json)
    overrides = json.loads(spec.priors_json)
    arrays = _data_arrays(spec, comp, data)
    with pm.Model() as model:
        dd = {k: pm.Data(k, v) for k, v in arrays.items()}
        log_ref = dd["log_t_ref"]
        design = {k[len("design_") :]: v for k, v in dd.items() if k.startswith("design_")}
        comp_over = {k: v for k, v in overrides.items() if k in comp.sampled}
        if isinstance(comp, _Flexible):
            events = float(data["event"].sum())
            raw = comp.add_priors(
                log_ref,
                comp_over,
                t_ref=float(np.exp(data["log_t_ref"])),
                events_per_time=events / float(data["time"].sum()),
            )
        else:
            raw = comp.add_priors(log_ref, comp_over)
        raw = dict(raw)
        for name in spec.sampled:
            if name in raw or name == "smr":
                continue
            if name in overrides:
                prior = overrides[name]
            else:
                prior = {"dist": "Normal", "mu": 0.0, "sigma": PRIOR_SD}
            shape = spec.n_cure_cov if name == "cure_coef" else None
            raw[name] = _rv(name, prior, shape=shape)
        if spec.background:
            if spec.smr_prior_json:
                p = json.loads(spec.smr_prior_json)
                smr = pm.Truncated(
                    "smr", pm.LogNormal.dist(mu=p["mu"], sigma=p["sigma"]), lower=1.0
                )
            else:
                smr = dd["smr_fixed"]
        else:
            smr = 1.0
        tensors = {
            "arm": dd["arm_index"],
            "cov": dd["cov"],
            "event": dd["event"],
            "log_h_pop": dd.get("log_h_pop"),
            "H_pop": dd.get("H_pop"),
        }
        ll = patient_loglik(PT, spec, comp, design, raw, tensors, log_ref, smr).sum()
        if external:
            ll = ll + _external_loglik(spec, comp, raw, log_ref, smr, cohort, external)
        pm.Potential("loglik", ll)
    return model


def _cohort_cumhaz_pt(spec, comp, raw, log_ref, smr, cohort, times, arm):
    """-log S_arm(t) of the cohort at fixed ``times`` (PyTensor), for external evidence."""
    times = np.asarray(times, dtype=float)
    design = {k: pt.as_tensor(v) for k, v in comp.design(times).items()}
    lh_u, ls_u = _uncured(PT, spec, comp, design, raw, float(arm), log_ref)
    total = 0.0
    for p, (ages, sexes, w) in enumerate(cohort.nodes):
        lin = _cure_lin(PT, spec, raw, float(arm), np.asarray(cohort.patterns[p : p + 1], float))
        if lin is not None and spec.n_cure_cov:
            lin = lin[0]
        _, H_exc = excess(PT, spec.cure, lh_u, ls_u, lin)
        if cohort.background:
            Hp = np.stack(
                [
                    cohort.table.background_cumhaz(times, a, s, cohort.year, cohort.time_scale)
                    for a, s in zip(ages, sexes, strict=True)
                ],
                axis=1,
            )  # (T, nodes)
            total = total + pt.sum(w[None, :] * pt.exp(-smr * Hp - H_exc[:, None]), axis=1)
        else:
            total = total + float(w.sum()) * pt.exp(-H_exc)
    return -pt.log(total)


def _external_loglik(spec, comp, raw, log_ref, smr, cohort, external):
    from bayesurv.survival import external as ext

    ll = 0.0
    for kind, df in external.items():
        if df is None or not len(df):
            continue
        arms = (
            df["arm"].astype(str).to_numpy()
            if "arm" in df
            else np.array([cohort.labels[0]] * len(df))
        )
        for a, label in enumerate(cohort.labels):
            sel = arms == str(label)
            if not sel.any():
                continue
            d = df[sel]
            if kind == "landmarks":
                H = _cohort_cumhaz_pt(spec, comp, raw, log_ref, smr, cohort, d["time"], a)
                ll = ll + pt.sum(
                    ext.landmark_loglik(
                        PT, H, d["n_eff"].to_numpy(float), d["events_eff"].to_numpy(float)
                    )
                )
            else:
                H0 = _cohort_cumhaz_pt(
                    spec,
                    comp,
                    raw,
                    log_ref,
                    smr,
                    cohort,
                    np.maximum(d["start"].to_numpy(float), 1e-9),
                    a,
                )
                H1 = _cohort_cumhaz_pt(spec, comp, raw, log_ref, smr, cohort, d["stop"], a)
                ll = ll + pt.sum(
                    ext.registry_loglik(
                        PT, H0, H1, d["n_at_risk"].to_numpy(float), d["events"].to_numpy(float)
                    )
                )
        unknown = sorted(set(arms) - {str(x) for x in cohort.labels})
        if unknown:
            raise InputError(
                f"external {kind}: arm {unknown[0]!r} is not an arm of the data; use one of "
                f"{', '.join(map(str, cohort.labels))}."
            )
    return ll


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


def compiled_longterm(spec: LongTermSpec, data: dict, cohort=None, external=None):
    """A nutpie-compiled model carrying ``data``; compiled once per structure (not with
    external evidence, whose terms are built from constants)."""
    from bayesurv.sampling import compile_model

    if external or spec.basis_json:
        return compile_model(build_longterm_model(spec, data, cohort, external))
    arrays = _data_arrays(spec, _component(spec.family, spec.basis_json), data)
    if spec in _CACHE:
        _CACHE.move_to_end(spec)
        compiled = _CACHE[spec]
        known = {v.name for v in getattr(compiled, "shared_var_keys", {})}
        return compiled.with_data(**{k: v for k, v in arrays.items() if k in known})
    compiled = compile_model(build_longterm_model(spec, data, cohort, external))
    _CACHE[spec] = compiled
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


# --------------------------------------------------------------------------------------------
# the public fit
# --------------------------------------------------------------------------------------------
def check_waning_window(waning, follow_up: float, n_arms: int, inside_ok: bool = False):
    """Validate ``(scheme, t1[, t2])`` against the data: two arms, and a start at or after the
    end of follow-up unless the model can carry waning in its likelihood (``inside_ok``)."""
    from bayesurv.survival.waning import check_waning

    if waning is None:
        return None
    if isinstance(waning, dict):
        w = check_waning(waning.get("scheme"), waning.get("t1"), waning.get("t2"))
    else:
        w = check_waning(*waning)
    if n_arms != 2:
        raise InputError("waning needs two arms: the treated arm's effect wanes to the control's.")
    if w[1] < follow_up * (1 - 1e-9) and not inside_ok:
        raise InputError(
            f"waning starts at {w[1]:g}, before the end of follow-up ({follow_up:g}); inside "
            "follow-up it must enter the likelihood, which bayesurv does for the parametric "
            "families without cure covariates: use one, or start the waning at or after the last "
            "observed time."
        )
    return w


def fit_longterm(
    ipd: pd.DataFrame,
    family: str,
    *,
    seed: int,
    cure: str = "none",
    arm_column: str | None = None,
    effect: str | None = None,
    cure_covariates=(),
    life_table=None,
    age: float | None = None,
    age_column: str | None = None,
    sex=None,
    sex_column: str | None = None,
    year: int | None = None,
    time_unit: str | None = None,
    smr: float = 1.0,
    smr_prior: dict | None = None,
    waning=None,
    external_landmarks: pd.DataFrame | None = None,
    external_registry: pd.DataFrame | None = None,
    df: int | None = None,
    knots=None,
    extra_knots=None,
    priors: dict | None = None,
    horizon: float | None = None,
    times=None,
    rmst_to: float | None = None,
    discount: float = 0.035,
    cycle: str | None = None,
    cycle_draws: int = 200,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float | None = None,
    source: str = "the IPD table",
    inputs: dict | None = None,
) -> xr.DataTree:
    """Fit a long-term model (see the module docstring) to IPD and return a DataTree.

    Groups: ``posterior`` (sampled parameters, ``cure_fraction`` by arm), ``sample_stats``,
    ``observed_data``/``constant_data`` (ArviZ's censored layout), ``log_likelihood`` (per
    patient, for LOO, when small enough) and ``derived``: ``survival``, ``hazard`` (arm, time; the
    cohort's overall curves), ``background_survival``/``background_hazard`` (the general
    population of the same ages and sexes), ``cure_fraction``, ``mean_survival`` (+
    ``_discounted``), and with two arms ``life_years_gained`` (+ ``_discounted``), ``surv_diff``,
    ``hazard_ratio`` (time), ``hr`` or ``time_ratio``, ``cure_diff``; with ``cycle`` also
    ``cycle_survival`` (draws of S at the model cycles). Times are in the data's unit; mean
    survival and life-years in years when ``time_unit`` is given. ``horizon`` (model units)
    defaults to a lifetime with a life table (see :func:`lifetime_horizon`). ``times`` (model
    units) are put on the grid exactly (the summary's survival rows); ``rmst`` is restricted to
    ``rmst_to`` (default: the end of follow-up). ``target_accept`` defaults to 0.95 for the
    flexible hazards (their smoothing priors are funnel-shaped) and 0.9 otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> ipd = pd.DataFrame({"time": [5., 8., 12., 20., 3., 30.], "event": [1, 1, 0, 1, 1, 0]})
    >>> res = fit_longterm(ipd, "weibull", cure="mixture", seed=1, draws=200)  # doctest: +SKIP
    """
    from bayesurv.provenance import provenance
    from bayesurv.sampling import check, diagnostics, sample
    from bayesurv.survival.ipdfit import MAX_POINTWISE

    if family not in _all_families():
        raise InputError(f"unknown family {family!r}; choose one of {', '.join(_all_families())}.")
    data, cohort = prepare_longterm(
        ipd,
        arm_column=arm_column,
        cure_covariates=cure_covariates,
        life_table=life_table,
        age=age,
        age_column=age_column,
        sex=sex,
        sex_column=sex_column,
        year=year,
        time_unit=time_unit,
        source=source,
    )
    follow_up = float(data["time"].max())
    smr = float(smr)
    if not (np.isfinite(smr) and smr >= 1):
        raise InputError(
            f"smr {smr:g} must be at least 1: cured patients do not die less than their peers "
            "(1 = general-population mortality)."
        )
    if smr != 1.0 and life_table is None:
        raise InputError("an SMR needs a life table (general-population mortality).")
    data["smr"] = smr
    inside_ok = family in FAMILIES and not cohort.cov_names
    waning = check_waning_window(waning, follow_up, len(cohort.labels), inside_ok)
    waning_in_fit = waning is not None and waning[1] < follow_up
    if horizon is None:
        horizon = lifetime_horizon(cohort, follow_up)
    horizon = float(horizon)
    if not horizon > 0:
        raise InputError(f"the horizon {horizon:g} must be positive.")
    if cycle is not None and time_unit is None:
        raise InputError(
            "model cycles are weeks, months or years of calendar time; give the data's time unit "
            "(--time-unit days|weeks|months|years)."
        )
    times = [] if times is None else [float(x) for x in np.atleast_1d(times)]
    if any(not (np.isfinite(x) and 0 <= x <= horizon) for x in times):
        raise InputError(f"times must lie between 0 and the horizon ({horizon:g}).")
    if rmst_to is not None and not (np.isfinite(rmst_to) and 0 < rmst_to <= horizon):
        raise InputError(f"the RMST horizon must lie in (0, {horizon:g}], got {rmst_to!r}.")
    if waning is not None and waning[1] >= horizon:
        raise InputError(f"waning starts at {waning[1]:g}, after the horizon {horizon:g}.")
    basis = None
    if family not in FAMILIES:
        from bayesurv.survival.splines import choose_basis

        basis = choose_basis(
            family, data["time"], data["event"], df=df, knots=knots, extra_knots=extra_knots
        )
    spec = make_longterm_spec(
        family,
        cure=cure,
        n_arms=len(cohort.labels),
        effect=effect,
        n_cure_cov=len(cohort.cov_names),
        background=life_table is not None,
        smr_prior=smr_prior,
        basis=basis,
        priors=priors,
        waning=waning if waning_in_fit else None,
    )
    external = {}
    if external_landmarks is not None:
        from bayesurv.survival.external import validate_landmarks

        external["landmarks"] = validate_landmarks(external_landmarks, "external landmarks")
    if external_registry is not None:
        from bayesurv.survival.external import validate_registry

        external["registry"] = validate_registry(external_registry, "external registry")
    if spec.waning is not None and any(
        "arm" in df and (df["arm"].astype(str) == str(cohort.labels[1])).any()
        for df in external.values()
    ):
        raise InputError(
            "external evidence on the treated arm cannot be combined with waning inside "
            "follow-up; give it for the control arm, or start the waning after follow-up."
        )
    compiled = compiled_longterm(spec, data, cohort, external or None)
    if target_accept is None:  # flexible hazards have funnel-shaped smoothing priors
        target_accept = 0.95 if basis is not None else 0.9
    tree = sample(
        compiled,
        seed=seed,
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        adaptation="low_rank",
    )
    post = tree["posterior"].to_dataset()
    diag = check(diagnostics(tree, var_names=spec.sampled), what=f"the {family} {cure}-cure fit")
    log_ref = float(data["log_t_ref"])
    from bayesurv.survival.extrapolation import identifiability, longterm_derived

    derived = longterm_derived(
        post,
        spec,
        cohort,
        log_ref=log_ref,
        follow_up=follow_up,
        horizon=horizon,
        discount=discount,
        smr=smr,
        waning=waning,
        cycle=cycle,
        cycle_draws=cycle_draws,
        times=times,
        rmst_to=rmst_to,
        seed=seed,
    )
    derived.attrs["times"] = json.dumps(times)
    if "cure_fraction" in derived:
        post["cure_fraction"] = derived["cure_fraction"]
    notes = identifiability(post, spec, derived, log_ref=log_ref, follow_up=follow_up, seed=seed)
    for note in notes:
        warnings.warn(note, IdentifiabilityWarning, stacklevel=2)

    n = len(data["time"])
    patient = np.arange(n)
    groups = {
        "posterior": post,
        "sample_stats": tree["sample_stats"].to_dataset(),
        "observed_data": xr.Dataset(
            {"time": ("patient", data["time"])}, coords={"patient": patient}
        ),
        "constant_data": xr.Dataset(
            {
                "time": ("patient", data["event"].astype(int)),
                "arm": ("patient", np.asarray(cohort.labels)[data["arm"].astype(int)]),
            },
            coords={"patient": patient},
        ),
        "derived": derived,
    }
    if n * chains * draws <= MAX_POINTWISE:
        groups["log_likelihood"] = xr.Dataset({"time": pointwise_loglik(post, spec, data)})
    result = xr.DataTree.from_dict(groups)
    result.attrs.update(
        {
            "model": "longterm",
            "family": family,
            "cure": cure,
            "effect": spec.effect,
            "arms": json.dumps([str(x) for x in cohort.labels]),
            "spec": json.dumps(spec.__dict__),
            "cure_covariates": json.dumps(cohort.cov_names),
            "life_table": getattr(life_table, "source", "") if life_table is not None else "",
            "smr": smr,
            "waning": json.dumps(
                None
                if waning is None
                else [waning[0], float(waning[1]), None if waning[2] is None else float(waning[2])]
            ),
            "time_unit": cohort.time_unit,
            "time_scale": cohort.time_scale,
            "follow_up": follow_up,
            "horizon": horizon,
            "diagnostics": json.dumps(diag.as_dict()),
            "identifiability": json.dumps(notes),
            "provenance": json.dumps(provenance(seed=seed, inputs=inputs), default=str),
        }
    )
    return result


def _flat(post: xr.Dataset, name: str) -> np.ndarray:
    v = post[name].values
    v = v.reshape(v.shape[0] * v.shape[1], *v.shape[2:])
    return v[:, None] if v.ndim == 1 else v


def pointwise_loglik(post, spec, data) -> xr.DataArray:
    """Per-patient log-likelihood draws (chain, draw, patient), the model's own formula."""
    comp = _component(spec.family, spec.basis_json)
    design = comp.design(data["time"])
    raw = {name: _flat(post, name) for name in spec.sampled}
    smr = raw["smr"] if "smr" in raw else float(data.get("smr", 1.0))
    log_ref = float(data["log_t_ref"])
    if spec.waning is not None:  # the waning quadrature has its own axis: one draw at a time
        ll = np.stack(
            [
                patient_loglik(
                    NP,
                    spec,
                    comp,
                    design,
                    {k: v[d] for k, v in raw.items()},
                    data,
                    log_ref,
                    smr[d] if np.ndim(smr) else smr,
                )
                for d in range(next(iter(raw.values())).shape[0])
            ]
        )
    else:
        ll = patient_loglik(NP, spec, comp, design, raw, data, log_ref, smr)
    c, d = post.sizes["chain"], post.sizes["draw"]
    return xr.DataArray(
        ll.reshape(c, d, -1),
        dims=("chain", "draw", "patient"),
        coords={"chain": post["chain"], "draw": post["draw"]},
    )
