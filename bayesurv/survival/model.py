"""Build a PyMC model from IPD and a small spec: one arm, or two arms with a PH or AFT effect.

The model, for patient i with time t_i, event d_i, optional entry time e_i and arm x_i (0/1):

    log L = sum_i  d_i log h(t_i | theta, x_i) - H(t_i | theta, x_i) + H(e_i | theta, x_i)

with ``h``, ``H`` the family's two formulas (:mod:`bayesurv.survival.families`) and the effect
applied generically: proportional hazards ``h(t | x) = exp(x log_hr) h_0(t)`` (exponential,
weibull, gompertz) or accelerated failure time ``S(t | x) = S_0(t exp(-x log_tr))`` (every
family); ``effect="separate"`` gives each arm its own parameters. Right censoring via ``d_i = 0``;
left truncation (delayed entry) via ``e_i``. The likelihood is one vectorized ``pm.Potential``.

Default priors, weakly informative on interpretable scales (``t_ref`` = median observed time,
so the priors follow the data's time unit; every prior is overridable by name):

===========  ===============================================================================
family       sampled parameters (default prior)
===========  ===============================================================================
exponential  log_median ~ N(log t_ref, 2)
weibull      log_median ~ N(log t_ref, 2), log_shape ~ N(0, 1)
gompertz     log_rate ~ N(log(log 2 / t_ref), 2), shape_tref = shape * t_ref ~ N(0, 2)
lognormal    log_median (= meanlog) ~ N(log t_ref, 2), log_sdlog ~ N(0, 1)
loglogistic  log_median (= log scale) ~ N(log t_ref, 2), log_shape ~ N(0, 1)
gengamma     mu ~ N(log t_ref, 2), log_sigma ~ N(0, 1), Q ~ N(0, 1.5)
effect       log_hr ~ N(0, 1.5) (PH), log_tr ~ N(0, 1.5) (AFT, log time ratio)
===========  ===============================================================================

A prior override is ``{"log_shape": {"dist": "Normal", "mu": 0, "sigma": 0.5}}``; ``dist`` is
one of Normal, StudentT (``nu``), Cauchy (``alpha``, ``beta``), Logistic (``mu``, ``s``).
Data live in ``pm.Data`` so one compiled model serves every data set with the same structure
(:func:`compiled_model` keeps a small cache keyed by the spec).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayesurv.errors import InputError
from bayesurv.survival.families import PT, Family, get_family

EFFECTS = ("none", "ph", "aft", "separate")
_LOG_LOG2 = float(np.log(np.log(2.0)))
_ALLOWED_DISTS = {
    "Normal": ("mu", "sigma"),
    "StudentT": ("nu", "mu", "sigma"),
    "Cauchy": ("alpha", "beta"),
    "Logistic": ("mu", "s"),
}


# --------------------------------------------------------------------------------------------
# sampled parameters of each family and their map to flexsurv's parameters (math namespace m)
# --------------------------------------------------------------------------------------------
def _nat_exponential(m, r, ref):
    return {"rate": m.exp(_LOG_LOG2 - r["log_median"])}


def _nat_weibull(m, r, ref):
    shape = m.exp(r["log_shape"])
    return {"shape": shape, "scale": m.exp(r["log_median"] - _LOG_LOG2 / shape)}


def _nat_gompertz(m, r, ref):
    return {"shape": r["shape_tref"] * m.exp(-ref), "rate": m.exp(r["log_rate"])}


def _nat_lognormal(m, r, ref):
    return {"meanlog": r["log_median"], "sdlog": m.exp(r["log_sdlog"])}


def _nat_loglogistic(m, r, ref):
    return {"shape": m.exp(r["log_shape"]), "scale": m.exp(r["log_median"])}


def _nat_gengamma(m, r, ref):
    return {"mu": r["mu"], "sigma": m.exp(r["log_sigma"]), "Q": r["Q"]}


#: family -> ({sampled parameter: default Normal prior}, map to flexsurv parameters).
#: ("ref", c, s) is Normal(log t_ref + c, s); ("-ref", c, s) is Normal(c - log t_ref, s);
#: ("abs", c, s) is Normal(c, s).
PARAMETERIZATION = {
    "exponential": ({"log_median": ("ref", 0.0, 2.0)}, _nat_exponential),
    "weibull": ({"log_median": ("ref", 0.0, 2.0), "log_shape": ("abs", 0.0, 1.0)}, _nat_weibull),
    "gompertz": (
        {"log_rate": ("-ref", _LOG_LOG2, 2.0), "shape_tref": ("abs", 0.0, 2.0)},
        _nat_gompertz,
    ),
    "lognormal": (
        {"log_median": ("ref", 0.0, 2.0), "log_sdlog": ("abs", 0.0, 1.0)},
        _nat_lognormal,
    ),
    "loglogistic": (
        {"log_median": ("ref", 0.0, 2.0), "log_shape": ("abs", 0.0, 1.0)},
        _nat_loglogistic,
    ),
    "gengamma": (
        {"mu": ("ref", 0.0, 2.0), "log_sigma": ("abs", 0.0, 1.0), "Q": ("abs", 0.0, 1.5)},
        _nat_gengamma,
    ),
}


@dataclass(frozen=True)
class ModelSpec:
    """What the user asked for, apart from how PyMC builds it. Hashable: the compile-cache key."""

    family: str
    effect: str = "none"  # none (one arm), ph, aft, separate
    n_arms: int = 1
    truncation: bool = False
    priors_json: str = "{}"  # overrides, canonical JSON

    @property
    def fam(self) -> Family:
        return get_family(self.family)

    @property
    def priors(self) -> dict:
        return json.loads(self.priors_json)

    @property
    def effect_name(self) -> str | None:
        return {"ph": "log_hr", "aft": "log_tr"}.get(self.effect)

    @property
    def sampled(self) -> list[str]:
        names = list(PARAMETERIZATION[self.family][0])
        return names + ([self.effect_name] if self.effect_name else [])


def make_spec(
    family: str,
    *,
    effect: str | None = None,
    n_arms: int = 1,
    truncation: bool = False,
    priors: dict | None = None,
) -> ModelSpec:
    """Validate a model request and return its :class:`ModelSpec`.

    Examples
    --------
    >>> make_spec("weibull", effect="ph", n_arms=2).sampled
    ['log_median', 'log_shape', 'log_hr']
    """
    fam = get_family(family)
    if n_arms not in (1, 2):
        raise InputError(f"the arm column has {n_arms} arms; bayesurv fits one or two arms.")
    if n_arms == 1:
        effect = "none"  # one arm: no treatment effect, whatever was asked
    elif effect is None:
        effect = "ph" if fam.allows_ph else "aft"  # two arms: PH where the family allows it
    effect = effect.lower()
    if effect not in EFFECTS:
        raise InputError(f"unknown effect {effect!r}; choose one of ph, aft, separate.")
    if n_arms == 2 and effect == "none":
        raise InputError("two arms need an effect; choose one of ph, aft, separate.")
    if effect == "ph" and not fam.allows_ph:
        raise InputError(
            f"the {fam.name} family is not closed under proportional hazards; "
            "use effect='aft' or effect='separate'."
        )
    spec = ModelSpec(fam.name, effect, n_arms, bool(truncation), "{}")
    clean = check_overrides(priors, spec.sampled)
    return ModelSpec(fam.name, effect, n_arms, bool(truncation), json.dumps(clean, sort_keys=True))


def check_overrides(priors: dict | None, sampled, check=None) -> dict:
    """Validated prior overrides: each name a sampled parameter, each prior a known form
    (``check(name, prior)``, default :func:`_check_prior`), one sentence per problem."""
    known = set(sampled)
    clean = {}
    for name, prior in (priors or {}).items():
        if name not in known:
            raise InputError(
                f"prior for {name!r} does not match a parameter of this model; "
                f"choose among {', '.join(sorted(known))}."
            )
        clean[name] = (check or _check_prior)(name, prior)
    return clean


def _check_prior(name: str, prior: dict) -> dict:
    if not isinstance(prior, dict) or "dist" not in prior:
        raise InputError(
            f"prior for {name!r} must be a table such as {{dist='Normal', mu=0, sigma=1}}."
        )
    dist = prior["dist"]
    if dist not in _ALLOWED_DISTS:
        raise InputError(
            f"prior for {name!r} uses {dist!r}; choose one of {', '.join(_ALLOWED_DISTS)}."
        )
    args = {k: float(v) for k, v in prior.items() if k != "dist"}
    if set(args) != set(_ALLOWED_DISTS[dist]):
        raise InputError(
            f"prior for {name!r} ({dist}) needs exactly {', '.join(_ALLOWED_DISTS[dist])}."
        )
    return {"dist": dist, **args}


def default_priors(spec: ModelSpec, t_ref: float) -> dict[str, dict]:
    """The priors this spec uses for data whose median observed time is ``t_ref``."""
    out = {}
    log_ref = float(np.log(t_ref))
    for name, (kind, c, s) in PARAMETERIZATION[spec.family][0].items():
        mu = {"ref": log_ref + c, "-ref": c - log_ref, "abs": c}[kind]
        out[name] = {"dist": "Normal", "mu": mu, "sigma": s}
    if spec.effect_name:
        out[spec.effect_name] = {"dist": "Normal", "mu": 0.0, "sigma": 1.5}
    out.update(spec.priors)
    return out


def _prior_rv(name, prior, log_ref, default_kind, dims=None):
    if default_kind is not None:  # default prior: location moves with the data's time scale
        kind, c, s = default_kind
        mu = {"ref": log_ref + c, "-ref": c - log_ref, "abs": c}[kind]
        return pm.Normal(name, mu=mu, sigma=s, dims=dims)
    kw = {k: v for k, v in prior.items() if k != "dist"}
    return getattr(pm, prior["dist"])(name, **kw, dims=dims)


def natural_params(spec: ModelSpec, raw: dict, log_ref, m=PT) -> dict:
    """flexsurv's parameters from the sampled ones (works with NumPy or PyTensor)."""
    return PARAMETERIZATION[spec.family][1](m, raw, log_ref)


def build_model(spec: ModelSpec, data: dict[str, np.ndarray], arm_labels=None) -> pm.Model:
    """The PyMC model for ``spec`` with ``data`` (``time``, ``event``, ``arm`` 0/1, ``entry``).

    Returns a ``pm.Model`` whose data are ``pm.Data`` (``log_time``, ``event``, ``arm_index``,
    ``log_entry``/``entry_pos``, ``log_t_ref``) and whose free variables are ``spec.sampled``;
    flexsurv's parameters are ``pm.Deterministic`` (with an ``arm`` dim for separate arms).
    """
    fam = spec.fam
    labels = list(arm_labels) if arm_labels is not None else [f"arm{i}" for i in range(spec.n_arms)]
    coords = {"arm": labels} if spec.effect == "separate" else {}
    overrides = spec.priors
    defaults = PARAMETERIZATION[spec.family][0]
    with pm.Model(coords=coords) as model:
        lt = pm.Data("log_time", _log_time(data))
        d = pm.Data("event", np.asarray(data["event"], dtype=float))
        log_ref = pm.Data("log_t_ref", np.asarray(float(data["log_t_ref"])))
        x = pm.Data("arm_index", np.asarray(data["arm"], dtype=float)) if spec.n_arms == 2 else None
        if spec.truncation:
            le = pm.Data("log_entry", _log_entry(data))
            e_pos = pm.Data("entry_pos", (np.asarray(data["entry"]) > 0).astype(float))
        dims = "arm" if spec.effect == "separate" else None
        raw = {}
        for name in defaults:
            raw[name] = _prior_rv(
                name,
                overrides.get(name),
                log_ref,
                None if name in overrides else defaults[name],
                dims=dims,
            )
        nat = natural_params(spec, raw, log_ref, PT)
        for k, v in nat.items():
            if k not in raw:  # gengamma's mu and Q are sampled as they are
                pm.Deterministic(k, v, dims=dims)
        if spec.effect == "separate":
            idx = pt.cast(x, "int64")
            p_i = {k: v[idx] for k, v in nat.items()}
        else:
            p_i = nat
        log_h, H = _effect_formulas(spec, fam, p_i, x, raw, model, overrides)
        if spec.effect == "ph":
            # sum_i d_i log h(t_i) = sum over events of log h_0(t) + log_hr * (treated events):
            # log h is evaluated at event times only, and the effect costs nothing per patient
            lte = pm.Data("log_time_event", _log_time_event(data))
            dx = pm.Data("events_treated", np.asarray(_events_treated(data)))
            beta = model[spec.effect_name]
            ll = fam.log_hazard(PT, pt.exp(lte), **p_i).sum() + beta * dx - H(lt).sum()
        else:
            ll = (d * log_h(lt) - H(lt)).sum()
        if spec.truncation:  # + H(entry); entry 0 adds nothing (its log is a finite stand-in)
            ll = ll + (e_pos * H(le)).sum()
        pm.Potential("loglik", ll)
    return model


def _log_time(data) -> np.ndarray:
    return np.log(np.asarray(data["time"], dtype=float))


def _log_time_event(data) -> np.ndarray:
    return _log_time(data)[np.asarray(data["event"]) == 1]


def _events_treated(data) -> float:
    if "arm" not in data:
        return 0.0
    event = np.asarray(data["event"], dtype=float)
    return float(np.sum(event * np.asarray(data["arm"], dtype=float)))


def _log_entry(data) -> np.ndarray:
    e = np.asarray(data["entry"], dtype=float)
    return np.where(e > 0, np.log(np.where(e > 0, e, 1.0)), float(data["log_t_ref"]))


def _effect_formulas(spec, fam, p, x, raw, model, overrides):
    """log h and H as functions of log time, for the spec's effect, on the family's formulas.

    The data are log times: PyTensor rewrites ``log(exp(lt))`` to ``lt``, so the families'
    ``log t`` costs nothing per gradient. For a 0/1 arm indicator ``exp(beta x)`` is written
    ``1 + x (exp(beta) - 1)`` (exact), one exp per evaluation instead of one per patient.
    """
    if spec.effect in ("ph", "aft"):
        name = spec.effect_name
        beta = (
            _prior_rv(name, overrides[name], None, None)
            if name in overrides
            else pm.Normal(name, mu=0.0, sigma=1.5)
        )
        bx = beta * x
        if spec.effect == "ph":
            hr_x = 1.0 + x * pt.expm1(beta)  # exp(beta x) for x in {0, 1}
            return (
                lambda lt: fam.log_hazard(PT, pt.exp(lt), **p) + bx,
                lambda lt: fam.cum_hazard(PT, pt.exp(lt), **p) * hr_x,
            )
        return (  # AFT: S(t | x) = S_0(t exp(-beta x))
            lambda lt: fam.log_hazard(PT, pt.exp(lt - bx), **p) - bx,
            lambda lt: -fam.log_survival(PT, pt.exp(lt - bx), **p),
        )
    return (
        lambda lt: fam.log_hazard(PT, pt.exp(lt), **p),
        lambda lt: -fam.log_survival(PT, pt.exp(lt), **p),
    )


# --------------------------------------------------------------------------------------------
# compile once per structure
# --------------------------------------------------------------------------------------------
_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 16


def compiled_model(spec: ModelSpec, data: dict[str, np.ndarray], arm_labels=None):
    """A nutpie-compiled model for ``spec`` carrying ``data``; compiled once per spec.

    Returns ``(compiled, pm_model)``; the second is the model first built for this spec (use it
    for structure, not for its data).
    """
    from bayesurv.sampling import compile_model

    new = {
        "log_time": _log_time(data),
        "event": np.asarray(data["event"], dtype=float),
        "log_t_ref": np.asarray(float(data["log_t_ref"])),
    }
    if spec.n_arms == 2:
        new["arm_index"] = np.asarray(data["arm"], dtype=float)
    if spec.effect == "ph":
        new["log_time_event"] = _log_time_event(data)
        new["events_treated"] = np.asarray(_events_treated(data))
    if spec.truncation:
        new["log_entry"] = _log_entry(data)
        new["entry_pos"] = (np.asarray(data["entry"]) > 0).astype(float)
    if spec in _CACHE:
        _CACHE.move_to_end(spec)
        compiled, model = _CACHE[spec]
        known = {v.name for v in getattr(compiled, "shared_var_keys", {})}
        return compiled.with_data(**{k: v for k, v in new.items() if k in known}), model
    model = build_model(spec, data, arm_labels)
    compiled = compile_model(model)
    _CACHE[spec] = (compiled, model)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled, model
