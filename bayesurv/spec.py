"""Analysis specifications: one TOML file per analysis in ``models/``, validated with pydantic.

A spec says what to run, not how: which evidence files, which endpoints and arms, which model
families (a grid is allowed), priors, horizon and discounting, life table, pooled syntheses and
the questions to answer. ``bayesurv run models/NAME.toml`` executes it (:mod:`bayesurv.runner`).
An unknown key, a missing file or an impossible value is refused in one sentence that names the
file, the key and what is allowed.

Example (``models/example.toml``)::

    title = "My analysis"
    seed = 1

    [[survival]]
    name = "EFS"
    landmarks = "data/case_study/study_20120215_landmarks.csv"
    events = "data/case_study/study_20120215_events.csv"
    endpoint = "EFS"
    families = ["weibull", "lognormal"]
    cure = ["none", "mixture"]

    [[ipd]]                      # a two-arm trial with a Kaplan-Meier figure
    name = "GBSG-2"
    clicks = { tamoxifen = "data/examples/gbsg2/clicks_tamoxifen.csv",
               no_tamoxifen = "data/examples/gbsg2/clicks_no_tamoxifen.csv" }
    at_risk = "data/examples/gbsg2/at_risk.csv"
    totals = "data/examples/gbsg2/events.csv"
    families = ["weibull", "lognormal"]

    [[pool]]
    name = "EFS across trials"
    effects = "data/effects_blinatumomab.csv"
    where = { set = "pediatric", outcome = "event-free" }

    [queries]
    statements = ["P(pooled_hr < 0.8)"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bayesurv.errors import InputError
from bayesurv.sections.nma import Nma  # the [[nma]] section's model lives beside its runner

FAMILIES = ("exponential", "weibull", "gompertz", "lognormal", "loglogistic", "gengamma")
TERMS = ("landmarks", "events", "hazard_ratios", "medians")
#: flexible hazards (bayesurv.survival.splines), for IPD sections
FLEXIBLE = ("mspline", "rp", "pwexp")


_HERE = "\x1f"  # the source given to a prior parser, cut from its sentence
_SUBKEY = "\x1e"  # ends the part of a key below a field ("log_shape", "[2]") in a ValueError


def _check_prior(value, role: str | None, subkey: str = ""):
    """A spec prior checked when the spec is read: ``role`` ``"mu"``/``"tau"`` for a pool's
    (:func:`bayesurv.synthesis.priors.parse_prior`), ``None`` for a model parameter's or the
    SMR's (:func:`bayesurv.priors.parse_prior`). The parser's sentence becomes the key's
    (``subkey``, e.g. ``.log_shape`` of ``priors``, is added to the key by :func:`_subkey`)."""
    if value is None:
        return value
    try:
        if role is None:
            from bayesurv.priors import parse_prior

            parse_prior(value, _HERE)
        else:
            from bayesurv.synthesis.priors import parse_prior

            parse_prior(value, role, _HERE)
    except InputError as exc:
        msg = str(exc).removeprefix(f"{_HERE}: ").rstrip(".")
        raise ValueError(f"{subkey}{_SUBKEY}{msg}" if subkey else msg) from None
    return value


def _prior(role: str | None) -> AfterValidator:
    return AfterValidator(lambda v: _check_prior(v, role))


def _subkey(key: str, msg: str) -> tuple[str, str, bool]:
    """``(key, message, below)``: a validator's message that names a key below its field
    (``log_shape`` of ``priors``) moves that part to the key."""
    sub, sep, rest = msg.partition(_SUBKEY)
    return (f"{key}{sub}", rest, True) if sep else (key, msg, False)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sampling(_Strict):
    """NUTS settings (nutpie)."""

    draws: int = Field(1000, ge=100, le=100_000, description="posterior draws per chain")
    tune: int = Field(1000, ge=100, le=100_000, description="tuning steps per chain")
    chains: int = Field(4, ge=1, le=16, description="chains (run as threads, one core each)")
    target_accept: float = Field(
        0.9, gt=0.5, lt=1.0, description="NUTS target acceptance rate (0.5 to 1)"
    )


class Population(_Strict):
    """General-population mortality: a life table and who the patients are (one schema for
    ``[[survival]]`` and ``[[ipd]]``; :class:`bayesurv.survival.population.Population`).

    Ages: ``age`` (every patient), ``age_column`` (an IPD column) or ``age_distribution``
    (``uniform`` on ``age_min``-``age_max``, or ``normal`` with ``age_mean``, ``age_sd`` within
    them). Sex: ``male`` (a share of men) or ``sex_column``. One SMR rule: any positive
    ``smr``, fixed, or ``smr_prior = "lognormal(mu, sigma)"`` (below 1 is allowed and noted in
    the result; :mod:`bayesurv.survival.population` says why)."""

    life_table: str = Field(description="life table CSV (bayesurv.lifetable), or 'us'")
    year: int | None = Field(None, ge=1900, le=2100, description="calendar year of the rates")
    smr: float = Field(1.0, gt=0, le=100, description="SMR on the life table's hazard (> 0)")
    smr_prior: Annotated[str | None, _prior(None)] = Field(
        None, description="a prior on the SMR instead, e.g. 'lognormal(0.2, 0.1)'"
    )
    age: float | None = Field(None, ge=0, le=110, description="age at entry of every patient")
    age_column: str | None = Field(None, description="column of the IPD with each patient's age")
    age_distribution: Literal["normal", "uniform"] | None = Field(
        None, description="ages at entry drawn from a distribution (with age_min/age_max)"
    )
    age_mean: float | None = Field(None, ge=0, le=110, description="normal ages: their mean")
    age_sd: float = Field(0.0, ge=0, le=40, description="normal ages: their standard deviation")
    age_min: float = Field(0.0, ge=0, le=110, description="lowest age at entry")
    age_max: float = Field(110.0, ge=0, le=110, description="highest age at entry")
    male: float | None = Field(None, ge=0, le=1, description="share of men")
    sex_column: str | None = Field(None, description="column of the IPD with each patient's sex")
    life_table_extend: Literal["constant"] | None = Field(
        None,
        description="a life table that ends before the cohort's oldest attained age is refused; "
        "'constant' carries its last age's hazard on, and the report's notes say so",
    )

    @model_validator(mode="after")
    def _who(self):
        if sum(x is not None for x in (self.age, self.age_column, self.age_distribution)) != 1:
            raise ValueError("give exactly one of age, age_column or age_distribution")
        if (self.male is None) == (self.sex_column is None):
            raise ValueError("give exactly one of male (a share of men) or sex_column")
        if self.age_distribution is not None and self.age_min >= self.age_max:
            raise ValueError("age_min must be below age_max")
        if self.age_distribution == "normal" and not (
            self.age_mean is not None and self.age_min <= self.age_mean <= self.age_max
        ):
            raise ValueError("a normal age distribution needs age_mean between age_min and age_max")
        return self

    def build(self, table):
        """The :class:`bayesurv.survival.population.Population` on the life table ``table``."""
        from bayesurv.survival.population import Population as P

        ages = None
        if self.age_distribution == "uniform":
            ages = ("uniform", self.age_min, self.age_max)
        elif self.age_distribution == "normal":
            ages = ("normal", self.age_mean, self.age_sd, self.age_min, self.age_max)
        return P(
            table,
            year=self.year,
            smr=self.smr,
            age=self.age,
            age_column=self.age_column,
            ages=ages,
            male=self.male,
            sex_column=self.sex_column,
            extend=self.life_table_extend,
        )


class _Model(_Strict):
    """The model options both kinds of survival section share (bayesurv.survival.structure)."""

    families: list[Literal[FAMILIES + FLEXIBLE]] = Field(
        ["weibull"], description="the model grid's hazard families (flexible ones: [[ipd]] only)"
    )
    effect: Literal["ph", "aft", "separate"] | None = Field(
        None,
        description="the arm effect: proportional hazards, accelerated failure time, or "
        "separate parameters per arm (default: the family's natural one)",
    )
    effect_on: Literal["hazard", "cure", "both"] | None = Field(
        None,
        description="cure models: the arm effect on the uncured's hazard, the cure "
        "fraction or both",
    )
    nonph: bool = Field(False, description="the arm also changes the shape (non-proportional)")
    scale: Literal["hazard", "odds", "normal"] = Field(
        "hazard", description="Royston-Parmar models (rp): the scale of the spline"
    )
    df: int | None = Field(
        None, ge=1, le=30, description="flexible hazards: degrees of freedom (knots from the data)"
    )
    extra_knots: list[float] | None = Field(
        None, description="flexible hazards: knots beyond follow-up, in time units"
    )
    priors: dict[str, str | dict[str, float | str]] = Field(
        {}, description='priors by parameter, e.g. {log_shape = "normal(0, 0.5)"}'
    )
    time_unit: Literal["days", "weeks", "months", "years"] = Field(
        "months", description="the unit of every time in the data and the section"
    )
    discount: float = Field(0.035, ge=0, le=0.2, description="annual discount rate for life-years")
    population: Population | None = Field(None, description="general-population mortality")
    cycle: Literal["weekly", "monthly", "yearly"] | None = Field(
        None,
        description="the base case's S(t) draws per model cycle of a cost-effectiveness model, "
        "written to <section key>/cycles.csv (the CLI's --cycle)",
    )
    cycle_draws: int = Field(
        200, ge=1, le=100_000, description="posterior draws written per cycle (--cycle-draws)"
    )

    @field_validator("families")
    @classmethod
    def _nonempty(cls, v):
        if not v:
            raise ValueError("give at least one")
        return v

    @field_validator("priors")
    @classmethod
    def _priors(cls, v):
        for name, prior in v.items():
            _check_prior(prior, None, f".{name}")
        return v


class Survival(_Model):
    """Survival models of one endpoint, fitted to a trial's reported summaries.

    Files (CSV, ``#`` comments allowed; rows selected by ``endpoint`` and ``analyses``):
    ``landmarks`` (``analysis, endpoint, arm, time_months, survival, lower, upper``), ``events``
    (``analysis, endpoint, arm, n, events, median_followup_months, max_followup_months``),
    ``hazard_ratios`` (``analysis, endpoint, hr, lower, upper, p, median_followup_months,
    max_followup_months``; experimental vs control), ``medians`` (``analysis, endpoint, arm,
    median, lower, upper``; a blank ``upper`` means "not reached"). Each file may add a
    ``ci_level`` column (a proportion such as 0.9; blank or absent: 0.95). ``terms`` switches each
    kind of reported number off for a sensitivity analysis. ``cure`` is a grid (with
    ``families``); ``population`` (or ``cohort``) gives general-population mortality.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(description="the section's name (its results are named after it)")
    landmarks: str | None = Field(None, description="CSV of reported landmark survival")
    events: str | None = Field(None, description="CSV of patients, events and follow-up per arm")
    hazard_ratios: str | None = Field(None, description="CSV of reported hazard ratios")
    medians: str | None = Field(None, description="CSV of reported medians")
    endpoint: str = Field(description="rows of the files kept by their endpoint column, e.g. EFS")
    analyses: list[str] | None = Field(
        None, description="rows kept by their analysis column (data cuts); default: all"
    )
    hr_analyses: list[str] | None = Field(
        None, description="analyses whose HRs enter the likelihood (default: `analyses`)"
    )
    terms: list[Literal[TERMS]] = Field(
        list(TERMS), description="kinds of reported numbers in the likelihood"
    )
    cure: list[Literal["none", "mixture", "non-mixture"]] = Field(
        ["none", "mixture"], description="cure models of the grid (with every family)"
    )
    horizon_years: float = Field(60.0, gt=0, le=120, description="extrapolation horizon, years")
    landmark_times: list[float] = Field(
        [12.0, 24.0, 60.0, 120.0, 240.0], description="times of the survival table (time units)"
    )
    population: Population | None = Field(
        None, validation_alias=AliasChoices("population", "cohort")
    )
    base_case: str | None = Field(None, description="e.g. 'weibull-mixture'; default: best WAIC")

    @field_validator("families", "cure", "terms")
    @classmethod
    def _nonempty(cls, v):
        if not v:
            raise ValueError("give at least one")
        return v

    @model_validator(mode="after")
    def _some_numbers(self):
        if not (self.landmarks or self.events or self.hazard_ratios or self.medians):
            raise ValueError(
                "a survival section needs reported numbers: give landmarks, events, "
                "hazard_ratios or medians"
            )
        if any(f in FLEXIBLE for f in self.families):
            raise ValueError(
                "a flexible hazard places its knots on patient-level data; use an [[ipd]] section"
            )
        return self


class Waning(_Strict):
    """Treatment-effect waning from t1 to t2 (the data's time unit)."""

    scheme: Literal["abrupt", "linear_loghr", "linear_hazard"] = Field(
        description="the effect ends at t1, or fades linearly (log HR or hazard) from t1 to t2"
    )
    t1: float = Field(ge=0, description="when waning starts")
    t2: float | None = Field(None, description="when the effect is gone (linear schemes)")


class Ipd(_Model):
    """Survival models fitted to a trial's patient-level data: a file of it, or reconstructed
    here from digitized Kaplan-Meier clicks and the numbers at risk
    (:mod:`bayesurv.reconstruct`), every family with the same model options (cure, covariates,
    population, waning, priors...), compared by LOO and AIC/BIC."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(description="the section's name (its results are named after it)")
    ipd: str | None = Field(None, description="CSV with time, event, arm")
    clicks: dict[str, str] | None = Field(None, description="arm -> digitized clicks (CSV/WPD)")
    at_risk: str | None = Field(None, description="numbers at risk (arm, time, at_risk)")
    totals: str | None = Field(None, description="arm, n, total_events (optional)")
    method: Literal["bayesurv", "guyot"] = Field(
        "bayesurv", description="the reconstruction method (bayesurv.reconstruct)"
    )
    reference_arm: str | None = Field(None, description="control arm (default: first)")
    horizon: float | None = Field(None, gt=0, description="extrapolation horizon, in time units")
    cure: Literal["none", "mixture", "non-mixture"] = Field(
        "none", description="a cure model (with every family)"
    )
    covariates: list[str] = Field([], description="IPD columns on the hazard (or time)")
    cure_covariates: list[str] = Field([], description="IPD columns on the cure fraction")
    ancillary: dict[str, list[str]] = Field(
        {}, description="IPD columns on an ancillary parameter, e.g. {shape = ['age']}"
    )
    population: Population | None = Field(
        None, validation_alias=AliasChoices("population", "background")
    )
    waning: Waning | None = Field(None, description="treatment-effect waning")
    propagate: int = Field(
        0,
        ge=0,
        le=1000,
        description="clicks: K random reconstructions, each fitted with the base-case model and "
        "pooled (bayesurv.propagation), so its intervals carry the reconstruction's "
        "uncertainty; 0: none",
    )

    @model_validator(mode="after")
    def _source(self):
        if (self.ipd is None) == (self.clicks is None):
            raise ValueError("give either ipd (a CSV of time, event, arm) or clicks (arm -> file)")
        if self.propagate and self.clicks is None:
            raise ValueError(
                "propagate draws reconstructions of clicks; a section given ipd has none "
                "(remove propagate or give clicks)"
            )
        if self.propagate == 1:
            raise ValueError("propagate needs 0 (none) or at least 2 reconstructions")
        if self.clicks is not None:
            if len(self.clicks) != 2:
                raise ValueError("clicks needs two arms (arm name -> clicks file)")
            if self.at_risk is None and self.totals is None:
                raise ValueError(
                    "reconstruction needs at_risk (numbers at risk) or totals (n per arm)"
                )
        if self.cure_covariates and self.cure == "none":
            raise ValueError("cure_covariates need cure = 'mixture' or 'non-mixture'")
        if self.effect_on in ("cure", "both") and self.cure == "none":
            raise ValueError("effect_on cure or both needs a cure model (cure = 'mixture')")
        if (
            self.reference_arm is not None
            and self.clicks is not None
            and self.reference_arm not in self.clicks
        ):
            raise ValueError(f"reference_arm must be one of {', '.join(self.clicks)}")
        return self


class Pool(_Strict):
    """A hierarchical synthesis of reported hazard ratios."""

    name: str = Field(description="the section's name (its results are named after it)")
    effects: str = Field(description="CSV of reported HRs (study, hr, lower, upper or log_hr, se)")
    where: dict[str, str] = Field({}, description="rows kept by column values, e.g. {set = 'x'}")
    exclude: dict[str, str] = Field(
        {}, description="rows left out by column values, e.g. {study = 'AALL1331'}"
    )
    mu_prior: Annotated[str, _prior("mu")] = Field(
        "normal(0, 4)", description="prior of the pooled log HR"
    )
    tau_prior: Annotated[str, _prior("tau")] = Field(
        "halfnormal(0.5)", description="prior of the between-study sd"
    )
    method: Literal["exact", "mcmc"] = Field(
        "exact", description="the answer's method (the other is computed beside it)"
    )
    thresholds: list[float] = Field([1.0, 0.8], description="HRs t of the P(HR < t) reported")
    sensitivity_tau_priors: list[str] = Field(
        [], description="other tau priors of the sensitivity table (default: five standard ones)"
    )
    covariates: list[str] = Field(
        [],
        description="meta-regression on these columns, e.g. a "
        "subgroup interaction (bayesurv.synthesis.metaregression)",
    )
    predict: list[dict[str, str | float]] = Field(
        [], description="meta-regression: covariate values to predict the HR at"
    )
    covariate_heterogeneity: Literal["random", "fixed"] = Field(
        "random", description="meta-regression: residual heterogeneity"
    )
    plan_events: float | None = Field(
        None,
        gt=0,
        description="a planned trial with this many events that borrows through the robust MAP "
        "prior: its power, type I error, probability of success and the prior's ESS in events "
        "(bayesurv.synthesis.planned_trial)",
    )
    plan_allocation: float = Field(
        1.0, gt=0, description="the planned trial's allocation ratio, experimental : control"
    )
    robust_weight: float = Field(
        0.2, ge=0, lt=1, description="weight of the vague N(0, 2^2) part of the robust MAP prior"
    )

    @field_validator("sensitivity_tau_priors")
    @classmethod
    def _sensitivity(cls, v):
        for j, prior in enumerate(v, start=1):
            _check_prior(prior, "tau", f"[{j}]")
        return v

    @field_validator("thresholds")
    @classmethod
    def _positive(cls, v):
        if any(x <= 0 for x in v):
            raise ValueError("hazard-ratio thresholds must be positive")
        return v


class Queries(_Strict):
    """Probability statements answered over the base cases' draws, e.g. ``P(pooled_hr < 0.8)``."""

    statements: list[str] = Field([], description='e.g. ["P(efs_pool_pooled_hr < 0.8)"]')


class Execution(_Strict):
    """Where the fits run (:mod:`bayesurv.batch`); ``bayesurv run --scheduler`` overrides it.
    The numbers are the same everywhere."""

    scheduler: str | None = Field(
        None,
        description="'serial', 'local', 'local:N' or 'tcp://HOST:PORT' (default: a local "
        "cluster when the machine has cores for two fits at once, else serial)",
    )

    @field_validator("scheduler")
    @classmethod
    def _known(cls, v):
        if v is not None:
            from bayesurv.batch.cluster import parse_scheduler

            try:
                parse_scheduler(v)
            except InputError as exc:
                raise ValueError(str(exc).rstrip(".")) from None
        return v


class Scenario(BaseModel):
    """A scenario analysis: the section named ``section`` run again with some of its options
    changed (every other key is one of that section's keys, e.g. ``waning``, ``families``,
    ``cure``, ``tau_prior``, ``exclude``; ``smr``, ``smr_prior``, ``life_table``, ``year``,
    ``age`` and ``male`` change the section's ``population``; ``family`` stands for
    ``families = [family]``).
    The results sit beside the base case in ``summary.json["scenarios"]`` and the report."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(description="the scenario's name, e.g. 'waning from 5 years'")
    section: str = Field(description="the name of the [[survival]], [[ipd]] or [[pool]] section")
    description: str = Field("", description="what the scenario asks, in words")

    @property
    def overrides(self) -> dict:
        """The section options this scenario changes, as written in the spec."""
        return dict(self.model_extra or {})


#: scenario keys that change a survival section's population (the life table, SMR, ages)
POPULATION_KEYS = ("smr", "smr_prior", "life_table", "year", "age", "male")
SCENARIO_KINDS = ("survival", "ipd", "pool")


def scenario_section(spec: AnalysisSpec, scenario: Scenario) -> tuple[str, int, BaseModel]:
    """``(kind, k, section)``: the kind and 1-based index of the section a scenario changes, and
    that section with the scenario's overrides, validated as the section itself is.

    Raises ``ValueError`` in one sentence (``[[scenario]] NAME.KEY: ...``)."""
    where = f"[[scenario]] {scenario.name}"
    found = [
        (kind, k, sec)
        for kind in (*SCENARIO_KINDS, "nma")
        for k, sec in enumerate(getattr(spec, kind), start=1)
        if sec.name == scenario.section
    ]
    if not found:
        names = [s.name for kind in (*SCENARIO_KINDS, "nma") for s in getattr(spec, kind)]
        raise ValueError(
            f"{where}.section: {scenario.section!r} is not a section of the spec; "
            f"choose among {', '.join(map(repr, names))}"
        )
    kind, k, sec = found[0]
    if kind == "nma":
        raise ValueError(
            f"{where}.section: {scenario.section!r} is an [[nma]] section, whose other analyses "
            "go in its own sensitivity list"
        )
    cls = type(sec)
    over = scenario.overrides
    if not over:
        raise ValueError(f"{where}: it changes nothing; add the section options it changes")
    data = sec.model_dump(exclude_unset=True)
    given: dict[str, str] = {}  # the key in the section's model -> the key the user wrote
    for key, value in over.items():
        if key == "name":
            raise ValueError(f"{where}.name: a scenario keeps its section's name")
        if (
            key in POPULATION_KEYS
            and key not in cls.model_fields
            and "population" in cls.model_fields
        ):
            if sec.population is None and key != "life_table":
                raise ValueError(
                    f"{where}.{key}: section {sec.name!r} has no population (general-population "
                    "mortality) to change; give the whole population table instead"
                )
            data["population"] = {**data.get("population", {}), key: value}
            given[f"population.{key}"] = key
        elif key == "family" and "families" in cls.model_fields:
            data["families"] = [value]
            given["families"] = key
        elif key == "population" and isinstance(value, dict) and "population" in data:
            data["population"] = {**data["population"], **value}
        else:
            data[key] = value
    try:
        changed = cls.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = _loc(e["loc"])
        key = given.get(loc, given.get(loc.partition("[")[0], loc))
        if e["type"] == "extra_forbidden":
            raise ValueError(
                f"{where}.{key}: not an option of [[{kind}]] {sec.name!r}; allowed: "
                f"{', '.join(allowed_keys(cls, scenario=True))}"
            ) from None
        msg = e["msg"].removeprefix("Value error, ")
        key, msg, below = _subkey(key, msg)
        if e["type"] == "literal_error":
            msg = f"{e.get('input')!r} is not allowed; allowed: {e.get('ctx', {}).get('expected')}"
        if (
            key
            and not below
            and not isinstance(e.get("input"), dict)
            and e["type"] != "literal_error"
            and repr(e.get("input")) not in msg  # a sentence that quotes the value says it
        ):
            msg = f"{msg.rstrip('.')} (got {e.get('input')!r})"
        if key:
            raise ValueError(f"{where}.{key}: {msg}") from None
        raise ValueError(f"{where}: {msg}") from None
    return kind, k, changed


def allowed_keys(cls: type[BaseModel], *, scenario: bool = False) -> list[str]:
    """The keys a spec table of model ``cls`` takes, in the model's order."""
    keys = [f.alias or name for name, f in cls.model_fields.items()]
    if scenario:
        keys = [k for k in keys if k != "name"]
        if "population" in cls.model_fields:
            keys += [k for k in POPULATION_KEYS if k not in keys]
        if "families" in cls.model_fields:
            keys.append("family")
    return keys


class AnalysisSpec(_Strict):
    """The whole analysis (``ci``: the width of every interval it reports)."""

    title: str = Field(description="the analysis's title (the report's heading)")
    description: str = Field("", description="what the analysis is for, in words")
    seed: int = Field(ge=0, le=2**32 - 1, description="the seed every fit's seed derives from")
    ci: float = Field(0.95, gt=0, lt=1, description="the width of every reported interval")
    sampling: Sampling = Field(Sampling(), description="NUTS settings of every fit")
    survival: list[Survival] = Field([], description="survival models fitted to reported summaries")
    ipd: list[Ipd] = Field([], description="survival models fitted to (reconstructed) IPD")
    pool: list[Pool] = Field([], description="hierarchical pools of reported hazard ratios")
    nma: list[Nma] = Field([], description="network meta-analyses")
    scenario: list[Scenario] = Field(
        [], description="scenario analyses: a section run again with options changed"
    )
    queries: Queries = Field(Queries(), description="probability statements to answer")
    execution: Execution = Field(Execution(), description="where the fits run")

    @model_validator(mode="after")
    def _something(self):
        if not self.survival and not self.pool and not self.ipd and not self.nma:
            raise ValueError(
                "the spec runs nothing: add a [[survival]], [[ipd]], [[pool]] or [[nma]] section"
            )
        names = (
            [s.name for s in self.survival]
            + [s.name for s in self.ipd]
            + [p.name for p in self.pool]
            + [n.name for n in self.nma]
        )
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(
                f"section names must be unique; {', '.join(dup)} is used twice, so rename one"
            )
        _distinct_keys(
            [(f"[[{kind}]]", s.name) for kind in _SECTION_KINDS for s in getattr(self, kind)],
            "section",
            "their results ({key}.nc, the folder {key}/, the query names {key}_...)",
        )
        seen = [s.name for s in self.scenario]
        dup = sorted({n for n in seen if seen.count(n) > 1})
        if dup:
            raise ValueError(
                f"scenario names must be unique; {', '.join(dup)} is used twice, so rename one"
            )
        _distinct_keys(
            [("[[scenario]]", s.name) for s in self.scenario],
            "scenario",
            "their fits (scenario/{key}/ in the job store) and results",
        )
        for sc in self.scenario:
            scenario_section(self, sc)
        return self


_SECTION_KINDS = ("survival", "ipd", "pool", "nma")
#: folders of a results folder that a section's key may not take (``figures/`` holds the plots)
_RESERVED_KEYS = ("figures",)


def _distinct_keys(named: list[tuple[str, str]], what: str, written: str) -> None:
    """Refuse two names that give one key (:func:`bayesurv.sections.common.key_of`: 'EFS' and
    'efs', 'EFS pool' and 'efs-pool'), whose outputs would overwrite each other."""
    from bayesurv.sections.common import key_of

    seen: dict[str, tuple[str, str]] = {}
    for table, name in named:
        key = key_of(name)
        if what == "section" and key in _RESERVED_KEYS:
            raise ValueError(
                f"{table} name {name!r} gives the key {key!r}, the results folder's {key}/ "
                "folder; rename the section"
            )
        if key in seen:
            other_table, other = seen[key]
            raise ValueError(
                f"{other_table} name {other!r} and {table} name {name!r} give the same key "
                f"{key!r} (names are compared in lower case, with spaces and punctuation as _), "
                f"so {written.format(key=key)} would overwrite each other; rename one {what}"
            )
        seen[key] = (table, name)


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model of the spec table at ``loc`` (``("survival", 0)`` -> Survival)."""
    import typing

    model: object = AnalysisSpec
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = next(
            (f for n, f in model.model_fields.items() if part in (n, f.alias)),
            None,
        )
        if field is None:
            return None
        ann = field.annotation
        while typing.get_origin(ann) is not None:  # list[X], X | None, dict[str, X]
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = args[-1] if args else None
        model = ann
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _message(err: ValidationError, path: Path) -> str:
    e = err.errors()[0]
    key = _loc(e["loc"])
    kind = e["type"]
    if kind == "extra_forbidden":
        owner = _model_at(e["loc"][:-1])
        table = _loc(e["loc"][:-1]) or "the top level"
        allowed = ", ".join(allowed_keys(owner)) if owner is not None else ""
        return (
            f"{path}: unknown key '{key}'; check its spelling: {table} takes "
            + (allowed or "no such key")
            + " (every key: docs/spec-keys.md)."
        )
    if kind == "missing":
        return f"{path}: '{key}' is missing; add it."
    if kind == "literal_error":
        allowed = e.get("ctx", {}).get("expected", "")
        return f"{path}: '{key}' is {e.get('input')!r}; allowed: {allowed}."
    msg = e["msg"].removeprefix("Value error, ")
    key, msg, below = _subkey(key, msg)
    where = f"'{key}'" if key else "the spec"
    if not key:
        return f"{path}: {msg}."
    if below or isinstance(e.get("input"), dict):  # a whole table's check: its key says enough
        return f"{path}: {where}: {msg}."
    if repr(e.get("input")) in msg or str(e.get("input")) in msg:  # it quotes what was written
        return f"{path}: {where}: {msg}."
    return f"{path}: {where}: {msg} (got {e.get('input')!r})."


def load_spec(path: str | Path) -> tuple[AnalysisSpec, dict[str, Path]]:
    """Read and validate a spec; return it and the resolved path of every file it names.

    Relative file paths are taken from the current folder, then from the spec's folder and its
    parent (so ``models/x.toml`` may name ``data/...``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such spec; give a TOML file such as models/case_study.toml.")
    from bayesurv.tables import load_toml

    raw = load_toml(path, what="spec")  # encodings, nesting and non-finite numbers checked
    try:
        spec = AnalysisSpec.model_validate(raw)
    except ValidationError as err:
        raise InputError(_message(err, path)) from None
    files: dict[str, Path] = {}
    bases = [Path.cwd(), path.parent, path.parent.parent]

    def resolve(key: str, rel: str, said: str | None = None) -> None:
        for base in bases:
            cand = (base / rel).resolve()
            if cand.exists():
                files[key] = cand
                return
        said = said or f"'{key}'"
        raise InputError(f"{path}: {said} names {rel}, which does not exist; fix the path.")

    for kind in ("survival", "ipd", "pool", "nma"):
        for k, sec in enumerate(getattr(spec, kind), start=1):
            for key, rel in section_files(kind, sec):
                resolve(f"{kind}[{k}].{key}", rel)
    for j, sc in enumerate(spec.scenario, start=1):  # files a scenario names instead
        kind, k, sec = scenario_section(spec, sc)
        for key, rel in section_files(kind, sec):
            said = f"[[scenario]] {sc.name}.{key.removeprefix('population.')}"
            resolve(f"scenario[{j}].{kind}[{k}].{key}", rel, said)
    return spec, files


def section_files(kind: str, sec: BaseModel) -> list[tuple[str, str]]:
    """``(key, path as written)`` of every file a section names."""
    out = []
    if kind == "survival":
        out += [(k, getattr(sec, k)) for k in TERMS if getattr(sec, k)]
    elif kind == "ipd":
        out += [(k, getattr(sec, k)) for k in ("ipd", "at_risk", "totals") if getattr(sec, k)]
        out += [(f"clicks.{arm}", rel) for arm, rel in (sec.clicks or {}).items()]
    elif kind == "pool":
        out.append(("effects", sec.effects))
    elif kind == "nma":
        out.append(("data", sec.data))
    pop = getattr(sec, "population", None)
    if pop is not None and pop.life_table.lower() != "us":
        out.append(("population.life_table", pop.life_table))
    return out


def scenario_files(files: dict, j: int, kind: str, k: int) -> dict:
    """The files of scenario ``j`` (1-based) on section ``kind[k]``: its section's keys as the
    section's own code reads them (``survival[1].landmarks``), the rest as for the base case."""
    prefix, own = f"scenario[{j}].", f"{kind}[{k}]."
    out = {
        key: v
        for key, v in files.items()
        if not key.startswith("scenario[") and not key.startswith(own)
    }
    out.update({key.removeprefix(prefix): v for key, v in files.items() if key.startswith(prefix)})
    return out
