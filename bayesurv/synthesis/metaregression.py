"""Bayesian random-effects meta-regression of log hazard ratios, exact and by MCMC.

Model::

    y_i ~ N(x_i' beta, s_i^2 + tau^2),   beta_0 ~ p(mu),  beta_j ~ p(beta) (flat by default),
    tau ~ p(tau)

``x_i`` holds an intercept and the study's covariates: a numeric column centred at its mean (so
the intercept is the log HR at the mean covariate), a categorical one as indicators of each level
but the first in sorted order (treatment coding, as R's ``model.matrix``). Without an intercept
and with one categorical covariate, one indicator per level (cell means: one log HR per
subgroup, bayesmeta's ``bmr`` example on Crins et al. 2014). The exact solver is
:mod:`~bayesurv.synthesis.normal_linear` (quadrature over ``tau``); the MCMC model samples the
same marginal likelihood with nutpie, for the exact-vs-MCMC check. A prediction at covariate
values ``x*`` is ``x*' beta`` (the mean log HR there) and ``x*' beta + tau z`` (a new trial).
The REML estimates of :mod:`~bayesurv.synthesis.frequentist` are the frequentist reference.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError, where
from bayesurv.provenance import provenance
from bayesurv.synthesis.pool import Draws
from bayesurv.synthesis.priors import Prior, as_prior

DEFAULT_MU_PRIOR = "normal(0, 4)"
DEFAULT_TAU_PRIOR = "halfnormal(0.5)"
DEFAULT_COEF_PRIOR = "flat"


@dataclass(frozen=True)
class Covariate:
    """How one column entered the design: numeric (``centre``) or categorical (``levels``,
    the first the reference unless cell means)."""

    name: str
    kind: str  # "numeric" or "categorical"
    centre: float = 0.0
    levels: tuple[str, ...] = ()
    cell_means: bool = False

    def columns(self) -> list[str]:
        if self.kind == "numeric":
            return [self.name]
        lv = self.levels if self.cell_means else self.levels[1:]
        return [f"{self.name}[{v}]" for v in lv]

    def encode(self, value, source: str | None = None, row: int | None = None) -> np.ndarray:
        if self.kind == "numeric":
            try:
                v = float(value)
            except (TypeError, ValueError):
                v = math.nan
            if not math.isfinite(v):
                raise InputError(
                    f"{where(source, row)}covariate {self.name!r} holds {value!r}, not a number; "
                    "fill it in or drop the covariate."
                )
            return np.array([v - self.centre])
        v = str(value).strip()
        if v not in self.levels:
            raise InputError(
                f"{where(source, row)}covariate {self.name!r} has no level {v!r}; use one of "
                f"{', '.join(self.levels)}."
            )
        lv = self.levels if self.cell_means else self.levels[1:]
        return np.array([1.0 if v == level else 0.0 for level in lv])


def _is_numeric(values: Sequence) -> bool:
    try:
        arr = np.array([float(v) for v in values])
    except (TypeError, ValueError):
        return False
    return bool(np.all(np.isfinite(arr)))


def design_matrix(
    effects: pd.DataFrame,
    covariates: Sequence[str],
    intercept: bool = True,
    source: str | None = None,
) -> tuple[np.ndarray, list[str], list[Covariate]]:
    """The design ``X`` (studies x coefficients), its column names and how each covariate was
    coded.

    Examples
    --------
    >>> t = pd.DataFrame({"study": list("abcd"), "dose": [1, 2, 3, 6], "arm": list("xyxy")})
    >>> X, names, _ = design_matrix(t, ["dose", "arm"])
    >>> names
    ['intercept', 'dose', 'arm[y]']
    """
    rows = effects.get("_row", pd.Series(range(1, len(effects) + 1))).tolist()
    covs: list[Covariate] = []
    if not covariates:
        raise InputError("give at least one covariate, e.g. --covariates latitude.")
    for name in covariates:
        if name not in effects.columns:
            raise InputError(
                f"{where(source)}there is no covariate column {name!r}; use one of "
                f"{', '.join(c for c in effects.columns if not c.startswith('_'))}."
            )
        col = effects[name].tolist()
        for i, v in enumerate(col):
            if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
                raise InputError(
                    f"{where(source, rows[i])}covariate {name!r} is empty; fill it in or drop "
                    "the study."
                )
        if _is_numeric(col):
            covs.append(Covariate(name, "numeric", centre=float(np.mean([float(v) for v in col]))))
        else:
            levels = tuple(sorted({str(v).strip() for v in col}))
            if len(levels) < 2:
                raise InputError(
                    f"{where(source)}covariate {name!r} has one level ({levels[0]}); a "
                    "covariate needs at least two."
                )
            cell = not intercept and len(covariates) == 1
            covs.append(Covariate(name, "categorical", levels=levels, cell_means=cell))
    names = (["intercept"] if intercept else []) + [c for cov in covs for c in cov.columns()]
    X = np.zeros((len(effects), len(names)))
    for i in range(len(effects)):
        parts = [np.ones(1)] if intercept else []
        for cov in covs:
            parts.append(cov.encode(effects[cov.name].iloc[i], source, rows[i]))
        X[i] = np.concatenate(parts)
    if len(effects) < len(names):
        raise InputError(
            f"{where(source)}{len(effects)} studies cannot estimate {len(names)} coefficients; "
            "use fewer covariates."
        )
    return X, names, covs


@dataclass
class MetaRegressionResult:
    """Posterior of a meta-regression (exact: a mixture over tau nodes; MCMC: draws)."""

    method: str
    studies: list[str]
    y: np.ndarray
    se: np.ndarray
    X: np.ndarray
    names: list[str]
    covariates: list[Covariate]
    priors: dict[str, Prior]
    exact: object | None = None  # LinearPosterior
    idata: xr.DataTree | None = None
    diagnostics: dict = field(default_factory=dict)

    def coefficient(self, name: str):
        if name not in self.names:
            raise InputError(f"{name!r} is not a coefficient; use one of {', '.join(self.names)}.")
        j = self.names.index(name)
        if self.exact is not None:
            return self.exact.linear(j)
        return Draws(self.idata["posterior"]["beta"].values[..., j])

    @property
    def fixed(self) -> bool:
        return "tau" not in self.priors

    @property
    def tau(self):
        if self.fixed:
            return None
        if self.exact is not None:
            return self.exact.tau_posterior
        return Draws(self.idata["posterior"]["tau"].values)

    def row(self, values: Mapping[str, object]) -> np.ndarray:
        """The design row of covariate ``values`` (missing covariates at their centre or
        reference level)."""
        unknown = set(values) - {c.name for c in self.covariates}
        if unknown:
            raise InputError(
                f"{sorted(unknown)[0]!r} is not a covariate of the model; use "
                f"{', '.join(c.name for c in self.covariates)}."
            )
        parts = [np.ones(1)] if "intercept" in self.names else []
        for cov in self.covariates:
            if cov.name in values:
                parts.append(cov.encode(values[cov.name]))
            elif cov.kind == "numeric":
                parts.append(np.zeros(1))
            elif cov.cell_means:
                raise InputError(f"give a level of {cov.name!r} to predict at.")
            else:
                parts.append(np.zeros(len(cov.levels) - 1))
        return np.concatenate(parts)

    def predict(self, values: Mapping[str, object]) -> tuple[object, object]:
        """``(mean, new trial)`` log HR distributions at covariate ``values``."""
        x = self.row(values)
        if self.exact is not None:
            m = self.exact.linear(x)
            return m, (m if self.fixed else self.exact.predictive(x))
        post = self.idata["posterior"]
        beta = post["beta"].values.reshape(-1, len(self.names))
        tau = np.zeros(beta.shape[0]) if self.fixed else post["tau"].values.ravel()
        rng = np.random.default_rng(17)
        m = beta @ x
        return Draws(m), Draws(m + tau * rng.standard_normal(m.size))

    def summary(
        self,
        level: float = 0.95,
        predict: Sequence[Mapping[str, object]] = (),
        interval: str = "equal-tailed",
    ) -> dict:
        """``coefficients`` (name, mean, median, sd, lower, upper, P(< 0)), ``tau``,
        ``predictions`` and the REML reference (``frequentist``)."""
        from bayesurv.synthesis.frequentist import heterogeneity, reml_regression

        def iv(d):
            return d.hpd(level) if interval == "hpd" else d.interval(level)

        coefs = []
        for name in self.names:
            d = self.coefficient(name)
            lo, hi = iv(d)
            coefs.append(
                {
                    "name": name,
                    "mean": float(d.mean),
                    "sd": float(d.sd),
                    "median": float(d.median()),
                    "lower": lo,
                    "upper": hi,
                    "p_below_0": float(d.cdf(0.0)),
                }
            )
        t = self.tau
        preds = []
        for values in predict:
            m, p = self.predict(values)
            (ml, mh), (pl, ph) = iv(m), iv(p)
            preds.append(
                {
                    "at": dict(values),
                    "log_hr": {"median": float(m.median()), "lower": ml, "upper": mh},
                    "hr": {
                        "median": math.exp(m.median()),
                        "lower": math.exp(ml),
                        "upper": math.exp(mh),
                    },
                    "predictive_hr": {
                        "median": math.exp(p.median()),
                        "lower": math.exp(pl),
                        "upper": math.exp(ph),
                    },
                    "p_hr_lt_1": float(m.cdf(0.0)),
                }
            )
        reml = reml_regression(self.y, self.se, self.X)
        het = heterogeneity(self.y, self.se, reml.tau2, self.X, level)
        from scipy import stats

        z = stats.norm.ppf(0.5 + level / 2)
        return {
            "method": self.method,
            "level": level,
            "interval": interval,
            "priors": {k: v.as_dict() for k, v in self.priors.items()},
            "coding": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "centre": c.centre,
                    "levels": list(c.levels),
                    "cell_means": c.cell_means,
                }
                for c in self.covariates
            ],
            "coefficients": coefs,
            "tau": None
            if t is None
            else {
                "mean": float(t.mean),
                "sd": float(t.sd),
                "median": float(t.median()),
                "lower": iv(t)[0],
                "upper": iv(t)[1],
            },
            "predictions": preds,
            "frequentist": {
                "method": "REML",
                "tau2": reml.tau2,
                "coefficients": [
                    {
                        "name": n,
                        "estimate": float(b),
                        "se": float(s),
                        "lower": float(b - z * s),
                        "upper": float(b + z * s),
                    }
                    for n, b, s in zip(self.names, reml.beta, reml.se, strict=True)
                ],
                "qe": het["q"],
                "df": het["df"],
                "p_qe": het["p_q"],
                "i2_residual": het["i2"],
            },
            "diagnostics": self.diagnostics,
        }

    def to_datatree(
        self, seed: int | None = None, draws: int = 4000, chains: int = 1
    ) -> xr.DataTree:
        """``posterior`` with ``beta`` (dims ``coefficient``) and ``tau`` (random effects);
        exact results as ``chains x draws`` independent draws."""
        if self.idata is not None:
            return self.idata
        if seed is None:
            raise InputError("an exact result needs a seed to be drawn as a DataTree.")
        d = self.exact.sample(np.random.default_rng(seed), chains * draws)
        data = {
            "beta": (
                ("chain", "draw", "coefficient"),
                d["beta"].reshape(chains, draws, len(self.names)),
            )
        }
        if not self.fixed:
            data["tau"] = (("chain", "draw"), d["tau"].reshape(chains, draws))
        post = xr.Dataset(
            data,
            coords={
                "chain": np.arange(chains),
                "draw": np.arange(draws),
                "coefficient": self.names,
            },
        )
        tree = xr.DataTree.from_dict({"posterior": post})
        tree.attrs["bayesurv_provenance"] = json.dumps(
            provenance(
                seed=seed,
                method="exact (independent draws)",
                priors={k: v.text for k, v in self.priors.items()},
            ),
            default=str,
        )
        return tree


def metaregression(
    effects: pd.DataFrame,
    covariates: Sequence[str],
    mu_prior: Prior | str | None = None,
    coef_prior: Prior | str | None = None,
    tau_prior: Prior | str | None = None,
    intercept: bool = True,
    heterogeneity: str = "random",
    method: str = "exact",
    seed: int | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.95,
    source: str | None = None,
) -> MetaRegressionResult:
    """Meta-regression of ``effects`` (``study, log_hr, se`` and covariate columns).

    Parameters
    ----------
    covariates : column names (numeric or categorical).
    mu_prior : prior of the intercept (default ``normal(0, 4)``).
    coef_prior : prior of every other coefficient (default flat).
    tau_prior : default ``halfnormal(0.5)``.
    intercept : with ``False`` and one categorical covariate, one coefficient per level.
    heterogeneity : ``"random"`` (``tau ~ tau_prior``) or ``"fixed"`` (``tau = 0``: subgroups of one
        trial, whose interaction is the classical test for a difference between subgroups).
    method : ``"exact"`` or ``"mcmc"`` (needs ``seed``).

    Examples
    --------
    >>> t = pd.DataFrame({"study": list("abcde"), "log_hr": [-0.6, -0.5, -0.2, -0.1, 0.0],
    ...                   "se": [0.2] * 5, "year": [1990, 1995, 2000, 2005, 2010]})
    >>> r = metaregression(t, ["year"])
    >>> r.coefficient("year").mean > 0
    True
    """
    y = effects["log_hr"].to_numpy(float)
    s = effects["se"].to_numpy(float)
    X, names, covs = design_matrix(effects, covariates, intercept, source)
    mu_p = as_prior(mu_prior, "mu", DEFAULT_MU_PRIOR)
    c_p = as_prior(coef_prior, "mu", DEFAULT_COEF_PRIOR)
    t_p = as_prior(tau_prior, "tau", DEFAULT_TAU_PRIOR)
    if heterogeneity not in ("random", "fixed"):
        raise InputError(f"heterogeneity {heterogeneity!r} is not known; use random or fixed.")
    pri = [mu_p if n == "intercept" else c_p for n in names]
    priors = {"intercept": mu_p, "coefficients": c_p} if intercept else {"coefficients": c_p}
    if heterogeneity == "random":
        priors["tau"] = t_p
    studies = effects["study"].astype(str).tolist()
    if method == "exact":
        from bayesurv.synthesis.normal_linear import solve_linear

        mean = [p.params[0] if p.family == "normal" else 0.0 for p in pri]
        sd = [p.params[1] if p.family == "normal" else math.inf for p in pri]
        for p in pri:
            if p.family not in ("normal", "flat"):
                raise InputError("the exact solver takes normal or flat coefficient priors.")
        post = solve_linear(
            y,
            X,
            s**2,
            names=names,
            beta_mean=mean,
            beta_sd=sd,
            tau_prior=t_p if heterogeneity == "random" else None,
        )
        diag = {
            "method": "exact quadrature over log tau"
            if heterogeneity == "random"
            else "exact (fixed effects, conjugate normal)",
            "nodes": int(post.nodes.size),
        }
        if heterogeneity == "random" and len(y) <= len(names) + 1:
            diag["note"] = (
                "as many coefficients as studies, or one fewer: the heterogeneity "
                "rests on its prior"
            )
        return MetaRegressionResult(
            method="exact",
            studies=studies,
            y=y,
            se=s,
            X=X,
            names=names,
            covariates=covs,
            priors=priors,
            exact=post,
            diagnostics=diag,
        )
    if method != "mcmc":
        raise InputError(f"method {method!r} is not known; use exact or mcmc.")
    if seed is None:
        raise InputError("MCMC needs a seed; pass seed=... (--seed on the command line).")
    import pymc as pm
    import pytensor.tensor as pt

    from bayesurv.sampling import check, diagnostics, sample

    with pm.Model(coords={"coefficient": names, "study": studies}) as model:
        parts = [p.pymc(f"beta_{j}") for j, p in enumerate(pri)]
        beta = pm.Deterministic("beta", pt.stack(parts), dims="coefficient")
        var = s**2 + (t_p.pymc("tau") ** 2 if heterogeneity == "random" else 0.0)
        pm.Normal("y", mu=pt.as_tensor(X) @ beta, sigma=pt.sqrt(var), observed=y, dims="study")
    idata = sample(
        model, seed=seed, draws=draws, tune=tune, chains=chains, target_accept=target_accept
    )
    monitored = ["beta", "tau"] if heterogeneity == "random" else ["beta"]
    diag = check(diagnostics(idata, monitored), "the meta-regression")
    return MetaRegressionResult(
        method="mcmc",
        studies=studies,
        y=y,
        se=s,
        X=X,
        names=names,
        covariates=covs,
        priors=priors,
        idata=idata,
        diagnostics={**diag.as_dict(), "problems": diag.problems},
    )


def parse_predict(items: Sequence[str] | None) -> list[dict[str, str]]:
    """``["latitude=40", "arm=a,dose=2"]`` -> ``[{"latitude": "40"}, {"arm": "a", "dose":
    "2"}]``."""
    out = []
    for item in items or []:
        point = {}
        for part in item.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise InputError(
                    f"--predict {item!r}: write COVARIATE=VALUE[,COVARIATE=VALUE], e.g. "
                    "--predict latitude=40."
                )
            point[name.strip()] = value.strip()
        out.append(point)
    return out
