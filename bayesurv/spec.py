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
from typing import Literal

from pydantic import (
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sampling(_Strict):
    """NUTS settings (nutpie)."""

    draws: int = Field(1000, ge=100, le=100_000)
    tune: int = Field(1000, ge=100, le=100_000)
    chains: int = Field(4, ge=1, le=16)
    target_accept: float = Field(0.9, gt=0.5, lt=1.0)


class Population(_Strict):
    """General-population mortality: a life table and who the patients are (one schema for
    ``[[survival]]`` and ``[[ipd]]``; :class:`bayesurv.survival.population.Population`).

    Ages: ``age`` (every patient), ``age_column`` (an IPD column) or ``age_distribution``
    (``uniform`` on ``age_min``-``age_max``, or ``normal`` with ``age_mean``, ``age_sd`` within
    them). Sex: ``male`` (a share of men) or ``sex_column``. One SMR rule: ``smr >= 1`` fixed, or
    ``smr_prior = "lognormal(mu, sigma)"`` (truncated at 1)."""

    life_table: str = Field(description="life table CSV (bayesurv.lifetable), or 'us'")
    year: int | None = Field(None, ge=1900, le=2100, description="calendar year of the rates")
    smr: float = Field(1.0, ge=1, le=100, description="excess mortality of cured patients")
    smr_prior: str | None = None
    age: float | None = Field(None, ge=0, le=110, description="age at entry of every patient")
    age_column: str | None = Field(None, description="column of the IPD with each patient's age")
    age_distribution: Literal["normal", "uniform"] | None = None
    age_mean: float | None = Field(None, ge=0, le=110)
    age_sd: float = Field(0.0, ge=0, le=40)
    age_min: float = Field(0.0, ge=0, le=110)
    age_max: float = Field(110.0, ge=0, le=110)
    male: float | None = Field(None, ge=0, le=1, description="share of men")
    sex_column: str | None = Field(None, description="column of the IPD with each patient's sex")

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
        )


class _Model(_Strict):
    """The model options both kinds of survival section share (bayesurv.survival.structure)."""

    families: list[Literal[FAMILIES + FLEXIBLE]] = ["weibull"]
    effect: Literal["ph", "aft", "separate"] | None = None
    effect_on: Literal["hazard", "cure", "both"] | None = None
    nonph: bool = False
    scale: Literal["hazard", "odds", "normal"] = "hazard"
    df: int | None = Field(None, ge=1, le=30)
    extra_knots: list[float] | None = Field(
        None, description="flexible hazards: knots beyond follow-up, in time units"
    )
    priors: dict[str, str | dict[str, float | str]] = Field(
        {}, description='priors by parameter, e.g. {log_shape = "normal(0, 0.5)"}'
    )
    time_unit: Literal["days", "weeks", "months", "years"] = "months"
    discount: float = Field(0.035, ge=0, le=0.2, description="annual discount rate for life-years")
    population: Population | None = None

    @field_validator("families")
    @classmethod
    def _nonempty(cls, v):
        if not v:
            raise ValueError("give at least one")
        return v


class Survival(_Model):
    """Survival models of one endpoint, fitted to a trial's reported summaries.

    Files (CSV, ``#`` comments allowed; rows selected by ``endpoint`` and ``analyses``):
    ``landmarks`` (``analysis, endpoint, arm, time_months, survival, lower, upper``), ``events``
    (``analysis, endpoint, arm, n, events, median_followup_months, max_followup_months``),
    ``hazard_ratios`` (``analysis, endpoint, hr, lower, upper, p, median_followup_months,
    max_followup_months``; experimental vs control), ``medians`` (``analysis, endpoint, arm,
    median, lower, upper``; a blank ``upper`` means "not reached"). ``terms`` switches each
    kind of reported number off for a sensitivity analysis. ``cure`` is a grid (with
    ``families``); ``population`` (or ``cohort``) gives general-population mortality.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    landmarks: str | None = None
    events: str | None = None
    hazard_ratios: str | None = None
    medians: str | None = None
    endpoint: str
    analyses: list[str] | None = None
    hr_analyses: list[str] | None = Field(
        None, description="analyses whose HRs enter the likelihood (default: `analyses`)"
    )
    terms: list[Literal[TERMS]] = list(TERMS)
    cure: list[Literal["none", "mixture", "non-mixture"]] = ["none", "mixture"]
    horizon_years: float = Field(60.0, gt=0, le=120)
    landmark_times: list[float] = [12.0, 24.0, 60.0, 120.0, 240.0]
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

    scheme: Literal["abrupt", "linear_loghr", "linear_hazard"]
    t1: float = Field(ge=0)
    t2: float | None = None


class Ipd(_Model):
    """Survival models fitted to a trial's patient-level data: a file of it, or reconstructed
    here from digitized Kaplan-Meier clicks and the numbers at risk
    (:mod:`bayesurv.reconstruct`), every family with the same model options (cure, covariates,
    population, waning, priors...), compared by LOO and AIC/BIC."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    ipd: str | None = Field(None, description="CSV with time, event, arm")
    clicks: dict[str, str] | None = Field(None, description="arm -> digitized clicks (CSV/WPD)")
    at_risk: str | None = Field(None, description="numbers at risk (arm, time, at_risk)")
    totals: str | None = Field(None, description="arm, n, total_events (optional)")
    method: Literal["bayesurv", "guyot"] = "bayesurv"
    reference_arm: str | None = Field(None, description="control arm (default: first)")
    horizon: float | None = Field(None, gt=0, description="extrapolation horizon, in time units")
    cure: Literal["none", "mixture", "non-mixture"] = "none"
    covariates: list[str] = []
    cure_covariates: list[str] = []
    ancillary: dict[str, list[str]] = {}
    population: Population | None = Field(
        None, validation_alias=AliasChoices("population", "background")
    )
    waning: Waning | None = None

    @model_validator(mode="after")
    def _source(self):
        if (self.ipd is None) == (self.clicks is None):
            raise ValueError("give either ipd (a CSV of time, event, arm) or clicks (arm -> file)")
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

    name: str
    effects: str
    where: dict[str, str] = {}
    exclude: dict[str, str] = {}
    mu_prior: str = "normal(0, 4)"
    tau_prior: str = "halfnormal(0.5)"
    method: Literal["exact", "mcmc"] = "exact"
    thresholds: list[float] = [1.0, 0.8]
    sensitivity_tau_priors: list[str] = []
    covariates: list[str] = Field(
        [],
        description="meta-regression on these columns, e.g. a "
        "subgroup interaction (bayesurv.synthesis.metaregression)",
    )
    predict: list[dict[str, str | float]] = []
    covariate_heterogeneity: Literal["random", "fixed"] = "random"

    @field_validator("thresholds")
    @classmethod
    def _positive(cls, v):
        if any(x <= 0 for x in v):
            raise ValueError("hazard-ratio thresholds must be positive")
        return v


class Queries(_Strict):
    statements: list[str] = []


class AnalysisSpec(_Strict):
    """The whole analysis (``ci``: the width of every interval it reports)."""

    title: str
    description: str = ""
    seed: int = Field(ge=0, le=2**32 - 1)
    ci: float = Field(0.95, gt=0, lt=1)
    sampling: Sampling = Sampling()
    survival: list[Survival] = []
    ipd: list[Ipd] = []
    pool: list[Pool] = []
    nma: list[Nma] = []
    queries: Queries = Queries()

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
            raise ValueError(f"section names must be unique; {', '.join(dup)} is used twice")
        return self


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _message(err: ValidationError, path: Path) -> str:
    e = err.errors()[0]
    key = _loc(e["loc"])
    kind = e["type"]
    if kind == "extra_forbidden":
        return (
            f"{path}: unknown key '{key}'; check its spelling against bayesurv/spec.py "
            "(the allowed keys are listed there)."
        )
    if kind == "missing":
        return f"{path}: '{key}' is missing; add it."
    if kind == "literal_error":
        allowed = e.get("ctx", {}).get("expected", "")
        return f"{path}: '{key}' is {e.get('input')!r}; allowed: {allowed}."
    msg = e["msg"].removeprefix("Value error, ")
    where = f"'{key}'" if key else "the spec"
    if not key:
        return f"{path}: {msg}."
    if isinstance(e.get("input"), dict):  # a whole section's check: its name says enough
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

    def resolve(key: str, rel: str) -> None:
        for base in bases:
            cand = (base / rel).resolve()
            if cand.exists():
                files[key] = cand
                return
        raise InputError(f"{path}: '{key}' names {rel}, which does not exist; fix the path.")

    for k, s in enumerate(spec.survival, start=1):
        for key in ("landmarks", "events", "hazard_ratios", "medians"):
            if getattr(s, key):
                resolve(f"survival[{k}].{key}", getattr(s, key))
        if s.population and s.population.life_table.lower() != "us":
            resolve(f"survival[{k}].population.life_table", s.population.life_table)
    for k, s in enumerate(spec.ipd, start=1):
        for key in ("ipd", "at_risk", "totals"):
            if getattr(s, key):
                resolve(f"ipd[{k}].{key}", getattr(s, key))
        for arm, rel in (s.clicks or {}).items():
            resolve(f"ipd[{k}].clicks.{arm}", rel)
        if s.population and s.population.life_table.lower() != "us":
            resolve(f"ipd[{k}].population.life_table", s.population.life_table)
    for k, p in enumerate(spec.pool, start=1):
        resolve(f"pool[{k}].effects", p.effects)
    for k, n in enumerate(spec.nma, start=1):
        resolve(f"nma[{k}].data", n.data)
    return spec, files
