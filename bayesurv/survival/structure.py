"""The model as the user states it: one frozen :class:`ModelSpec`, its parameters and priors.

A survival model is a hazard component plus switches::

    h_i(t) = smr h_pop,i(t) + h_exc(t | arm_i, z_i)               (background: a life table)
    h_exc  from S_exc = S_u, pi + (1 - pi) S_u or pi^(1 - S_u)    (cure none/mixture/non-mixture)
    S_u(t | x) = S_0(t; theta(x))    theta(x): location moved by the effect (PH on the log
                                     hazard, AFT on log time), ancillary parameters by `anc`
    logit pi = cure_logit + cure_effect arm + cure_coef . z_cure

``hazard`` is a family (:mod:`bayesurv.survival.families`) or a flexible hazard
(:mod:`bayesurv.survival.splines`: mspline, rp on the hazard/odds/normal scale, pwexp). The arm
is one covariate: its effect on the hazard is ``log_hr`` (PH), ``log_tr`` (AFT) or ``log_or``
/ ``probit_shift`` (rp odds / normal scale), on the cure fraction ``cure_effect``. Covariates
(numeric, or categorical dummy-coded against a reference level; centred on the data's means)
act on the hazard (``beta``), on the cure fraction (``cure_coef``) and on ancillary parameters
(``<name>_coef``). ``nonph`` lets every ancillary parameter (or spline coefficient) differ by
arm under a shrinkage prior; ``effect = "separate"`` gives each arm its own parameters. Every
combination either builds or is refused here in one sentence.

Priors are data: :data:`ROLE_PRIORS` is the one table of defaults by parameter role; a few
locations follow the data (``shift``: log t_ref for times, the event rate for spline levels).
``priors`` overrides by parameter name, in :mod:`bayesurv.priors`' grammar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import NamedTuple

from bayesurv.errors import InputError
from bayesurv.priors import Prior, check_support, parse_prior
from bayesurv.survival.cure import CURES
from bayesurv.survival.families import FAMILIES
from bayesurv.survival.splines import RP_SCALES, SMOOTHS, SPLINE_KINDS, HazardBasis

HAZARDS = (*FAMILIES, *SPLINE_KINDS)
EFFECTS = ("none", "ph", "aft", "separate")
EFFECT_ON = ("hazard", "cure", "both")
#: evidence a model can be fitted to (each a likelihood term on the same predictor)
TERMS = ("ipd", "landmarks", "events", "hazard_ratios", "medians", "external", "registry")

#: the one table of default priors, by role; "shift" roles add a data-dependent location
ROLE_PRIORS: dict[str, Prior] = {
    "log_time": Prior("normal", (0.0, 2.0)),  # shift: log t_ref (median observed time)
    "log_rate": Prior("normal", (-0.366513, 2.0)),  # log log 2, shift: -log t_ref
    "log_ancillary": Prior("normal", (0.0, 1.0)),
    "gompertz_shape": Prior("normal", (0.0, 2.0)),  # shape x t_ref
    "gengamma_Q": Prior("normal", (0.0, 1.5)),
    "effect": Prior("normal", (0.0, 1.5)),  # log HR, log time ratio, cure log OR of the arm
    "coefficient": Prior("normal", (0.0, 1.5)),  # covariates on hazard, cure, ancillary
    "cure_logit": Prior("normal", (0.0, 1.5)),  # 95% of the prior mass on pi in 5%-95%
    "nonph": Prior("normal", (0.0, 0.5)),  # an ancillary parameter's arm difference
    "nonph_sd": Prior("gamma", (2.0, 1.0)),  # spline coefficients' arm deviations (survextrap)
    "std_normal": Prior("normal", (0.0, 1.0)),
    "mspline_log_eta": Prior("normal", (0.0, 2.0)),  # shift: log(rate x upper knot)
    "mspline_sd": Prior("gamma", (2.0, 1.0)),
    "rp_gamma0": Prior("normal", (0.0, 2.5)),  # shift: log(rate x t0)
    "rp_gamma1": Prior("normal", (1.0, 2.0)),
    "rp_gamma": Prior("normal", (0.0, 20.0)),  # the scaled basis v_j / R^3 spans ~0.3 (splines)
    "pwexp_log_rate0": Prior("normal", (0.0, 2.0)),  # shift: log rate
    "pwexp_sd": Prior("halfnormal", (0.5,)),
}
POSITIVE_ROLES = ("nonph_sd", "mspline_sd", "pwexp_sd")
#: roles whose location moves with the data: log t_ref (+1) or -log t_ref (-1)
SHIFTED = {"log_time": 1.0, "log_rate": -1.0}


class Param(NamedTuple):
    """A sampled parameter: name, role (its default prior), length (0 = scalar), its dim."""

    name: str
    role: str
    size: int = 0
    dim: str | None = None

    @property
    def hyper(self) -> bool:
        """A smoothing or shrinkage sd: not a parameter of the likelihood (fixed for the MLE)."""
        return self.role in POSITIVE_ROLES


@dataclass(frozen=True)
class Covariate:
    """An IPD column: numeric (``levels`` empty) or categorical (``levels``, reference first).

    Written ``"age"`` or ``"group"`` (levels from the data, reference the first in sort order
    or a pandas category order) or ``"group=Good"`` (reference level given). ``means`` are the
    data's means of the coded columns (the centring), filled in at fit time.
    """

    name: str
    reference: str | None = None
    levels: tuple[str, ...] = ()
    means: tuple[float, ...] = ()

    @classmethod
    def of(cls, value) -> Covariate:
        if isinstance(value, Covariate):
            return value
        name, _, ref = str(value).partition("=")
        if not name.strip():
            raise InputError(f"covariate {value!r} has no column name; write e.g. group=Good.")
        return cls(name.strip(), ref.strip() or None)

    @property
    def terms(self) -> tuple[str, ...]:
        """The coded columns: the name itself, or ``name[level]`` for non-reference levels."""
        if not self.levels:
            return (self.name,)
        return tuple(f"{self.name}[{lev}]" for lev in self.levels[1:])


def _covariates(values) -> tuple[Covariate, ...]:
    if isinstance(values, str | Covariate):
        values = [values]
    return tuple(Covariate.of(v) for v in (values or ()))


@dataclass(frozen=True)
class ModelSpec:
    """What the user asked for, apart from how PyMC builds it (frozen, hashable, JSON).

    Data-derived fields (``arms``, covariate levels and means, ``knots``) may be left empty:
    :func:`bayesurv.survival.fit.fit` fills them from the data and stores the result's spec.
    """

    hazard: str = "weibull"
    arm: str | None = None  # the IPD column naming the arms (one or two)
    arms: tuple[str, ...] = ()  # arm labels, reference first
    effect: str | None = None  # ph, aft, separate (default: ph where the hazard allows)
    effect_on: str | None = None  # hazard, cure, both (default: cure with a cure model)
    nonph: bool = False
    covariates: tuple[Covariate, ...] = ()  # on the hazard (PH or AFT, as the arm)
    cure: str = "none"
    cure_covariates: tuple[Covariate, ...] = ()
    ancillary: tuple[tuple[str, tuple[Covariate, ...]], ...] = ()  # parameter -> covariates
    entry: str | None = None  # the IPD column of entry times (delayed entry)
    background: bool = False  # general-population mortality (a population is given)
    smr_prior: Prior | None = None  # None: the SMR is fixed (the population's)
    waning: tuple | None = None  # (scheme, t1, t2), waning.check_waning
    knots: tuple[float, ...] = ()
    df: int | None = None
    extra_knots: tuple[float, ...] = ()
    scale: str = "hazard"  # rp: hazard, odds, normal
    smooth: str | None = None  # mspline: rw (default) or iid
    priors: tuple[tuple[str, Prior], ...] = ()
    terms: tuple[str, ...] = ("ipd",)  # the evidence the model is fitted to
    time_unit: str | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "hazard", str(self.hazard).strip().lower())
        if self.hazard not in HAZARDS:
            raise InputError(f"unknown family {self.hazard!r}; choose one of {', '.join(HAZARDS)}.")
        if self.cure not in CURES:
            raise InputError(f"unknown cure model {self.cure!r}; choose one of {', '.join(CURES)}.")
        set_(self, "covariates", _covariates(self.covariates))
        set_(self, "cure_covariates", _covariates(self.cure_covariates))
        anc = dict(self.ancillary) if not isinstance(self.ancillary, dict) else self.ancillary
        set_(self, "ancillary", tuple((k, _covariates(v)) for k, v in anc.items()))
        set_(self, "arms", tuple(str(a) for a in self.arms))
        set_(self, "knots", tuple(float(k) for k in self.knots))
        set_(self, "extra_knots", tuple(float(k) for k in self.extra_knots))
        set_(self, "terms", tuple(t for t in TERMS if t in set(self.terms)))
        pri = dict(self.priors) if not isinstance(self.priors, dict) else self.priors
        set_(
            self,
            "priors",
            tuple(sorted((k, parse_prior(v, f"prior {k!r}")) for k, v in pri.items())),
        )
        if self.smr_prior is not None:
            set_(self, "smr_prior", parse_prior(self.smr_prior, "the SMR prior"))
        if self.waning is not None:
            from bayesurv.survival.waning import check_waning

            w = self.waning
            w = (w.get("scheme"), w.get("t1"), w.get("t2")) if isinstance(w, dict) else tuple(w)
            scheme, t1, t2 = check_waning(*w)
            set_(self, "waning", (scheme, float(t1), None if t2 is None else float(t2)))
        self._check()

    # ---- what follows from the fields ----------------------------------------------------------
    @property
    def flexible(self) -> bool:
        return self.hazard in SPLINE_KINDS

    @property
    def family(self):
        return None if self.flexible else FAMILIES[self.hazard]

    @property
    def all_covariates(self) -> tuple[Covariate, ...]:
        """Every covariate: on the hazard, on the cure fraction and on ancillary parameters."""
        return (*self.covariates, *self.cure_covariates, *(c for _, a in self.ancillary for c in a))

    @property
    def two_arms(self) -> bool:
        return len(self.arms) == 2

    @property
    def basis(self) -> HazardBasis | None:
        if not self.flexible or not self.knots:
            return None
        smooth = SMOOTHS[self.hazard][-1] if self.smooth is None else self.smooth
        return HazardBasis(self.hazard, self.knots, smooth, 0.0, self.scale)

    @property
    def mode(self) -> str:
        """How the hazard's linear predictor (arm and covariates) acts: ``aft`` or ``ph``
        (the family's natural one unless the arm's effect says otherwise)."""
        if self.effect in ("ph", "aft"):
            return self.effect
        return "ph" if self.flexible or self.family.allows_ph else "aft"

    @property
    def density_path(self) -> bool:
        """Whether the IPD term can be written ``sum_events log f(t) + sum_censored log S(t)``
        with the family's own density: a parametric family whose ``log f`` is cheaper than
        ``log h + log S`` (the generalized gamma's needs no incomplete gamma function), no cure,
        background mortality or waning, and a linear predictor that moves time (AFT) or is 0."""
        if self.flexible or self.family.log_dens is None:
            return False
        if self.cure != "none" or self.background or self.waning is not None:
            return False
        return self.mode == "aft" or (self.arm_effect is None and not self.covariates)

    @property
    def arm_effect(self) -> str | None:
        """Name of the arm's coefficient on the hazard's linear predictor (None: no such term)."""
        if not self.two_arms or self.effect_on == "cure" or self.effect == "separate":
            return None
        if self.effect == "aft":
            return "log_tr"
        return {"hazard": "log_hr", "odds": "log_or", "normal": "probit_shift"}[self.scale]

    def _check(self):
        set_ = object.__setattr__
        ph_ok = self.flexible or self.family.allows_ph
        if len(self.arms) > 2:
            raise InputError(f"the data have {len(self.arms)} arms; bayesurv fits one or two arms.")
        if self.hazard == "rp" and self.scale not in RP_SCALES:
            raise InputError(f"unknown scale {self.scale!r}; choose one of {', '.join(RP_SCALES)}.")
        if self.hazard != "rp" and self.scale != "hazard":
            raise InputError("a scale other than 'hazard' needs the Royston-Parmar hazard (rp).")
        if self.nonph and not self.flexible and not self.family.ancillary:
            raise InputError(
                "nonph lets the arms differ in the family's ancillary parameters, and the "
                f"{self.hazard} family has none (its one parameter is what the arm effect "
                "moves); drop nonph, or choose a family with a shape such as weibull."
            )
        if self.arm and not self.arms:  # the arms come from the data: judged once they are known
            if self.effect not in (None, *EFFECTS) or self.effect_on not in (None, *EFFECT_ON):
                raise InputError(
                    f"unknown effect {self.effect!r} / {self.effect_on!r}; choose ph, aft or "
                    "separate, on the hazard, the cure fraction or both."
                )
        elif not self.two_arms:
            if self.effect not in (None, "none") or self.effect_on or self.nonph:
                raise InputError(
                    "the data have one arm, which has no treatment effect; give two arms or drop "
                    "the effect."
                )
            set_(self, "effect", None)
        else:
            if self.effect == "none":
                raise InputError("two arms need an effect; choose one of ph, aft, separate.")
            on = self.effect_on or ("cure" if self.cure != "none" else "hazard")
            if on not in EFFECT_ON or (self.cure == "none" and on != "hazard"):
                raise InputError(
                    f"treatment effect on {on!r} does not fit cure={self.cure!r}; choose 'hazard' "
                    "without a cure fraction, and 'hazard', 'cure' or 'both' with one."
                )
            eff = self.effect or ("ph" if ph_ok else "aft")
            if eff not in EFFECTS[1:]:
                raise InputError(f"unknown effect {eff!r}; choose one of ph, aft, separate.")
            if eff == "ph" and not ph_ok:
                raise InputError(
                    f"the {self.hazard} family is not closed under proportional hazards; "
                    "use effect='aft' or effect='separate'."
                )
            if self.flexible and eff != "ph":
                raise InputError(f"the flexible hazard {self.hazard} takes effect='ph' (or nonph).")
            if eff == "separate" and (self.nonph or on != "hazard"):
                raise InputError(
                    "separate arms already differ in every parameter; drop nonph / cure effects."
                )
            set_(self, "effect", eff)
            set_(self, "effect_on", on)
        if self.cure_covariates and self.cure == "none":
            raise InputError(
                "cure covariates need a cure model; add --cure mixture or non-mixture."
            )
        anc_ok = () if self.flexible else self.family.ancillary
        for name, _ in self.ancillary:
            if name not in anc_ok:
                raise InputError(
                    f"{name!r} is not an ancillary parameter of {self.hazard}; choose among "
                    f"{', '.join(anc_ok) or 'none (this hazard has no ancillary parameter)'}."
                )
        if self.smr_prior is not None:
            if self.smr_prior.family != "lognormal":
                raise InputError("the SMR prior must be lognormal(mu, sigma): the SMR is positive.")
        if self.waning is not None and (self.arms or not self.arm):
            if not self.two_arms:
                raise InputError(
                    "waning needs two arms: the treated arm's effect wanes to the control's."
                )
            if self.effect == "separate":
                raise InputError("waning needs a treatment effect, not separate arms.")
        if self.entry and "ipd" not in self.terms:
            raise InputError("delayed entry needs patient-level data.")
        # the parameters are known once the data have fixed the knots and the arms (an arm
        # column without its labels yet: priors on log_hr, cure_effect... are judged then)
        pending = (self.flexible and not self.knots) or (self.arm and not self.arms)
        known = None if pending else {p.name for p in parameters(self)}
        for name, prior in self.priors:
            if known is not None and name not in known:
                raise InputError(
                    f"prior for {name!r} does not match a parameter of this model; "
                    f"choose among {', '.join(sorted(known))}."
                )
            role = _role_of(self, name)
            check_support(prior, "positive" if role in POSITIVE_ROLES else "real", name)

    # ---- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("covariates", "cure_covariates"):
                v = [c.__dict__ for c in v]
            elif f.name == "ancillary":
                v = {k: [c.__dict__ for c in cs] for k, cs in v}
            elif f.name == "priors":
                v = {k: p.text for k, p in v}
            elif f.name == "smr_prior":
                v = None if v is None else v.text
            out[f.name] = v
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        d = json.loads(text)

        def cov(xs):
            return tuple(
                Covariate(c["name"], c["reference"], tuple(c["levels"]), tuple(c["means"]))
                for c in xs
            )

        d["covariates"], d["cure_covariates"] = cov(d["covariates"]), cov(d["cure_covariates"])
        d["ancillary"] = tuple((k, cov(v)) for k, v in d["ancillary"].items())
        d["waning"] = None if d["waning"] is None else tuple(d["waning"])
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def key(self) -> str:
        """The compile-cache key: the structure, without the numbers the data supply (arm
        labels, covariate levels and means, knot times, column names). Waning times are in
        the key: the predictor builds them into the graph as constants, so a model compiled
        for waning from 24 to 48 months must never serve one from 12 to 36."""
        d = self.to_dict()
        sizes = lambda covs: [len(c.terms) for c in covs]  # noqa: E731
        d.update(
            arms=len(self.arms),
            knots=len(self.knots),
            covariates=sizes(self.covariates),
            cure_covariates=sizes(self.cure_covariates),
            ancillary={k: sizes(v) for k, v in self.ancillary},
            entry=bool(self.entry),
            waning=None if self.waning is None else list(self.waning),
        )
        for k in ("extra_knots", "df", "time_unit", "arm"):
            d.pop(k)
        return json.dumps(d, sort_keys=True)

    def with_(self, **changes) -> ModelSpec:
        return replace(self, **changes)


def terms_of(covs: tuple[Covariate, ...]) -> list[str]:
    return [t for c in covs for t in c.terms]


def parameters(spec: ModelSpec) -> list[Param]:
    """The sampled parameters of ``spec``, in the order the model creates them."""
    out: list[Param] = []
    arms = "arm" if spec.effect == "separate" else None
    if spec.flexible:
        basis = spec.basis
        if basis is None:
            raise InputError(f"the {spec.hazard} hazard needs its knots; fit it to data first.")
        for name in basis.sampled:
            dim, size = basis.vector_dims.get(name, (None, 0))
            out.append(Param(name, basis.roles[name], size, dim))
    else:
        for name, role in spec.family.sampled:
            out.append(Param(name, role, 2 if arms else 0, arms))
    if spec.arm_effect:
        out.append(Param(spec.arm_effect, "effect"))
    if spec.covariates:
        out.append(Param("beta", "coefficient", len(terms_of(spec.covariates)), "hazard_term"))
    for name, covs in spec.ancillary:
        out.append(Param(f"{name}_coef", "coefficient", len(terms_of(covs)), f"{name}_term"))
    if spec.nonph:
        if spec.flexible:
            out.append(Param("nonph_sd", "nonph_sd"))
            out.append(Param("nonph_z", "std_normal", spec.basis.nonph_size, "nonph_coef"))
        else:
            out.extend(Param(f"{n}_arm", "nonph") for n in spec.family.ancillary)
    if spec.cure != "none":
        out.append(Param("cure_logit", "cure_logit"))
        if spec.two_arms and spec.effect_on in ("cure", "both"):
            out.append(Param("cure_effect", "effect"))
        if spec.cure_covariates:
            out.append(
                Param("cure_coef", "coefficient", len(terms_of(spec.cure_covariates)), "cure_term")
            )
    if spec.smr_prior is not None:
        out.append(Param("smr", "smr"))
    return out


def _role_of(spec: ModelSpec, name: str) -> str:
    pending = (spec.flexible and not spec.knots) or (spec.arm and not spec.arms)
    for p in () if pending else parameters(spec):
        if p.name == name:
            return p.role
    return name if name in ROLE_PRIORS else "effect"  # a spline's names are its roles


def prior_of(spec: ModelSpec, param: Param) -> Prior:
    """The prior of ``param``: the spec's override, else the role's default (unshifted)."""
    override = dict(spec.priors).get(param.name)
    if override is not None:
        return override
    if param.name == "smr":
        return spec.smr_prior
    return ROLE_PRIORS[param.role]


def prior_table(spec: ModelSpec, shifts: dict[str, float]) -> dict[str, str]:
    """Every parameter's prior as text, with the data's shifts applied (what the fit used)."""
    out = {}
    for p in parameters(spec):
        prior = prior_of(spec, p)
        shift = shifts.get(p.name, 0.0) if dict(spec.priors).get(p.name) is None else 0.0
        if shift and prior.family == "normal":
            prior = Prior("normal", (round(prior.params[0] + shift, 6), prior.params[1]))
        out[p.name] = prior.text
    return out
