"""Pool reported log hazard ratios hierarchically: one entry point, two solvers, one result.

:func:`pool` takes a table of effects (``study, log_hr, se``, as returned by
:func:`bayesurv.evidence.effects.read_effects`) and priors, solves the normal-normal model
exactly (:mod:`~bayesurv.synthesis.normal_normal`, the default) or by MCMC
(:mod:`~bayesurv.synthesis.model` with nutpie), and returns a :class:`PoolResult` whose
:meth:`~PoolResult.summary` is the ``pool`` command's JSON contract (design.md): pooled log HR
and HR, tau, the predictive effect of a new trial, shrunken study effects, P(HR < 1), and
diagnostics. Intervals are equal-tailed, of the width in force unless ``level`` says otherwise
(:func:`bayesurv.intervals.width`: the CLI's ``--ci``, a spec's ``ci``; 95% unless set).
:func:`sensitivity` tabulates the answers across heterogeneity priors.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.intervals import width
from bayesurv.provenance import provenance
from bayesurv.synthesis import normal_normal
from bayesurv.synthesis.priors import Prior, as_prior, parse_prior

DEFAULT_MU_PRIOR = "normal(0, 4)"
DEFAULT_TAU_PRIOR = "halfnormal(0.5)"


class Draws:
    """An empirical distribution of posterior draws with the mixture's interface."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float).ravel()

    @property
    def mean(self) -> float:
        return float(self.values.mean())

    @property
    def sd(self) -> float:
        return float(self.values.std(ddof=1))

    def median(self) -> float:
        return float(np.median(self.values))

    def ppf(self, q):
        return np.quantile(self.values, q)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed interval (:func:`bayesurv.intervals.summary`, ArviZ's ``eti``)."""
        from bayesurv.intervals import summary

        s = summary(self.values, level)
        return float(s["lower"]), float(s["upper"])

    def hpd(self, level: float = 0.95) -> tuple[float, float]:
        """Shortest interval of the draws (ArviZ's ``hdi``)."""
        import arviz_stats as azs

        lo, hi = np.asarray(azs.hdi(self.values, prob=level), dtype=float).ravel()
        return float(lo), float(hi)

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        out = (self.values[None, :] <= np.atleast_1d(x)[:, None]).mean(axis=1)
        return float(out[0]) if x.ndim == 0 else out


INTERVALS = ("equal-tailed", "hpd")
#: leave-one-out pools and cross-validatory conflict p-values (one exact pool per trial, so
#: quadratic in the number of trials) are reported for at most this many trials
MAX_LEAVE_ONE_OUT = 50
#: the most study x draw cells an exact pool is drawn into (``--netcdf``): 5,000 studies at
#: 4,000 draws, 160 MB per variable
MAX_DRAWN_CELLS = 20_000_000


class StudyEffects(Sequence):
    """The shrunken effect of each study of an exact pool, built when asked for (a list of
    100,000 mixtures over thousands of tau nodes would not fit in memory)."""

    def __init__(self, post: normal_normal.ExactPosterior):
        self.post = post

    def __len__(self) -> int:
        return int(self.post.y.size)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.post.theta(j) for j in range(len(self))[i]]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self.post.theta(i % len(self))


def _interval(dist, level: float, interval: str = "equal-tailed") -> tuple[float, float]:
    if interval not in INTERVALS:
        raise InputError(f"interval {interval!r} is not known; use equal-tailed or hpd.")
    return dist.hpd(level) if interval == "hpd" else dist.interval(level)


def _summ(dist, level: float, interval: str = "equal-tailed") -> dict[str, float]:
    lo, hi = _interval(dist, level, interval)
    return {
        "mean": float(dist.mean),
        "sd": float(dist.sd),
        "median": float(dist.median()),
        "lower": float(lo),
        "upper": float(hi),
    }


def _summ_log_and_hr(
    dist, level: float, interval: str = "equal-tailed"
) -> dict[str, dict[str, float]]:
    s = _summ(dist, level, interval)
    hr = {
        "median": math.exp(s["median"]),
        "lower": math.exp(s["lower"]),
        "upper": math.exp(s["upper"]),
    }
    return {"log_hr": s, "hr": hr}


@dataclass
class PoolResult:
    """Posterior of a hierarchical pool of log hazard ratios (exact or MCMC)."""

    method: str
    studies: list[str]
    y: np.ndarray
    se: np.ndarray
    mu_prior: Prior
    tau_prior: Prior
    mu: object  # distribution of the pooled log HR
    tau: object
    theta_new: object  # predictive log HR of a new trial
    theta: list  # shrunken log HR of each study
    diagnostics: dict = field(default_factory=dict)
    idata: xr.DataTree | None = None
    exact: normal_normal.ExactPosterior | None = None
    attrs: dict = field(default_factory=dict)

    def dist(self, quantity: str):
        """``"pooled"``, ``"predictive"``, ``"tau"`` or a study name."""
        if quantity in ("pooled", "mu"):
            return self.mu
        if quantity in ("predictive", "theta_new"):
            return self.theta_new
        if quantity == "tau":
            return self.tau
        if quantity in self.studies:
            return self.theta[self.studies.index(quantity)]
        raise InputError(
            f"{quantity!r} is not a pooled quantity; use pooled, predictive, tau or a study name."
        )

    def prob_hr_below(self, threshold: float, quantity: str = "pooled") -> float:
        """``P(HR < threshold)`` for the pooled, predictive or a study's HR."""
        if threshold <= 0:
            raise InputError(f"HR threshold {threshold:g} must be positive.")
        return float(self.dist(quantity).cdf(math.log(threshold)))

    def probabilities(self, thresholds: Sequence[float] = (1.0, 0.8)) -> dict[str, float]:
        out = {}
        for t in thresholds:
            tag = f"{t:g}".replace(".", "_")
            out[f"pooled_hr_lt_{tag}"] = self.prob_hr_below(t, "pooled")
            out[f"predictive_hr_lt_{tag}"] = self.prob_hr_below(t, "predictive")
        return out

    def summary(
        self,
        level: float | None = None,
        thresholds: Sequence[float] = (1.0, 0.8),
        interval: str = "equal-tailed",
        studies: bool = True,
    ) -> dict:
        """The JSON contract of ``bayesurv pool`` (plus the priors, method, level and interval
        type: ``"equal-tailed"`` or ``"hpd"``, the shortest); ``studies=False`` leaves the
        shrunken study effects out (``None``). ``level``: the intervals' width; default the
        width in force (:func:`bayesurv.intervals.width`)."""
        level = width(level)
        tau = _summ(self.tau, level, interval)
        if self.exact is not None:
            tau["mode"] = self.exact.tau.mode()
        return {
            "method": self.method,
            "level": level,
            "interval": interval,
            "priors": {"mu": self.mu_prior.as_dict(), "tau": self.tau_prior.as_dict()},
            "pooled": _summ_log_and_hr(self.mu, level, interval),
            "tau": tau,
            "predictive": _summ_log_and_hr(self.theta_new, level, interval),
            "studies": self._study_summaries(level, interval) if studies else None,
            "probabilities": self.probabilities(thresholds),
            "diagnostics": self.diagnostics,
        }

    def _study_summaries(self, level: float, interval: str) -> list[dict]:
        observed = [
            {"log_hr": float(y), "se": float(s)} if np.isfinite(y) else None
            for y, s in zip(self.y, self.se, strict=True)
        ]
        if self.exact is None or interval != "equal-tailed":
            return [
                {"study": name, "observed": obs, **_summ_log_and_hr(th, level, interval)}
                for name, obs, th in zip(self.studies, observed, self.theta, strict=True)
            ]
        t = {k: v.tolist() for k, v in self.exact.theta_summaries(level).items()}
        return [
            {
                "study": name,
                "observed": obs,
                "log_hr": {key: t[key][i] for key in ("mean", "sd", "median", "lower", "upper")},
                "hr": {key: math.exp(t[key][i]) for key in ("median", "lower", "upper")},
            }
            for i, (name, obs) in enumerate(zip(self.studies, observed, strict=True))
        ]

    def checks(self, level: float = 0.95, seed: int = 1) -> dict:
        """What a meta-analyst reads beside the pooled answer (from the exact solver with the
        same priors, whatever the method): Bayes factors for tau = 0 and mu = 0, posterior
        predictive p-values (each trial against the others; the spread of all), the pooled HR
        with each trial left out, and the frequentist reference points (REML, I^2, Q-profile
        and profile CIs for tau^2, Knapp-Hartung, prediction interval, leave-one-out)."""
        from bayesurv.synthesis.bayes_factors import bayes_factors
        from bayesurv.synthesis.frequentist import reference_points
        from bayesurv.synthesis.predictive_checks import conflict_pvalues, heterogeneity_ppp

        ok = np.isfinite(self.y)
        if not ok.all():  # IPD trials have no single estimate
            return {"note": "checks need every trial's reported estimate"}
        ex = self.exact or normal_normal.solve(
            self.y, self.se, self.mu_prior, self.tau_prior, labels=self.studies
        )
        k = len(self.studies)
        capped = {
            "note": f"given for at most {MAX_LEAVE_ONE_OUT} trials (one exact pool per trial); "
            f"this pool has {k:,}"
        }
        loo = []
        if 2 <= k <= MAX_LEAVE_ONE_OUT:
            for i, name in enumerate(self.studies):
                keep = np.arange(self.y.size) != i
                other = normal_normal.solve(
                    self.y[keep], self.se[keep], self.mu_prior, self.tau_prior
                )
                mu = other.mu()
                lo, hi = mu.interval(level)
                loo.append(
                    {
                        "study": name,
                        "hr_median": math.exp(mu.median()),
                        "hr_lower": math.exp(lo),
                        "hr_upper": math.exp(hi),
                        "tau_median": other.tau.median(),
                        "p_hr_lt_1": float(mu.cdf(0.0)),
                    }
                )
        return {
            "bayes_factors": bayes_factors(ex),
            "conflict_p_values": (
                conflict_pvalues(ex).to_dict(orient="records") if k <= MAX_LEAVE_ONE_OUT else capped
            ),
            "heterogeneity_ppp": heterogeneity_ppp(ex, seed=seed),
            "leave_one_out": loo if k <= MAX_LEAVE_ONE_OUT else capped,
            "frequentist": reference_points(
                self.y, self.se, self.studies, level, max_leave_one_out=MAX_LEAVE_ONE_OUT
            ),
        }

    def to_datatree(self, seed: int | None = None, draws: int = 4000) -> xr.DataTree:
        """The result as an ArviZ DataTree (``posterior`` with ``mu, tau, theta[study],
        theta_new``, ``observed_data``, ``constant_data``, provenance in ``attrs``).

        MCMC results return their sampled tree; exact results are sampled independently from
        the exact posterior (``seed`` required), in the same layout with one chain.
        """
        if self.idata is not None:
            return self.idata
        if self.exact is None or seed is None:
            raise InputError("an exact result needs a seed to be drawn as a DataTree.")
        if self.y.size * draws > MAX_DRAWN_CELLS:
            raise InputError(
                f"the draws of {self.y.size:,} studies' effects ({self.y.size * draws:,} numbers, "
                f"twice) are more than a NetCDF file of the pool holds ({MAX_DRAWN_CELLS:,}); "
                "select fewer studies with --where, or drop --netcdf (the JSON summarizes "
                "every study)."
            )
        d = self.exact.sample(np.random.default_rng(seed), draws)
        coords = {"chain": [0], "draw": np.arange(draws), "study": self.studies}
        post = xr.Dataset(
            {
                "mu": (("chain", "draw"), d["mu"][None]),
                "tau": (("chain", "draw"), d["tau"][None]),
                "theta": (("chain", "draw", "study"), d["theta"][None]),
                "theta_new": (("chain", "draw"), d["theta_new"][None]),
            },
            coords=coords,
        )
        tree = xr.DataTree.from_dict({"posterior": post, "derived": pool_derived(post)})
        _add_data_groups(tree, self.y, self.se, self.studies)
        tree.attrs["bayesurv_provenance"] = json.dumps(
            provenance(
                seed=seed,
                method="exact (independent draws)",
                mu_prior=self.mu_prior.text,
                tau_prior=self.tau_prior.text,
            ),
            default=str,
        )
        return tree

    def table(self, level: float | None = None) -> pd.DataFrame:
        """One row per study plus ``pooled`` and ``predictive``: observed log HR with its Wald
        interval ``y +- z se`` and the posterior median and equal-tailed interval, all at the
        same width ``level`` (default the width in force, :func:`bayesurv.intervals.width`).

        >>> r = pool(([-0.5], [0.2], ["a"]))
        >>> t = r.table(0.9).iloc[0]
        >>> round(float(t["observed_upper"] - t["observed"]), 4)   # 1.6449 * 0.2
        0.329
        """
        from scipy.stats import norm

        level = width(level)
        z = float(norm.ppf((1 + level) / 2))
        rows = []
        for name, y, s, th in zip(self.studies, self.y, self.se, self.theta, strict=True):
            lo, hi = th.interval(level)
            rows.append(
                {
                    "study": name,
                    "kind": "study",
                    "observed": y,
                    "observed_lower": y - z * s,
                    "observed_upper": y + z * s,
                    "median": th.median(),
                    "lower": lo,
                    "upper": hi,
                }
            )
        for name, d in (("pooled", self.mu), ("predictive", self.theta_new)):
            lo, hi = d.interval(level)
            rows.append(
                {
                    "study": name,
                    "kind": name,
                    "observed": np.nan,
                    "observed_lower": np.nan,
                    "observed_upper": np.nan,
                    "median": d.median(),
                    "lower": lo,
                    "upper": hi,
                }
            )
        return pd.DataFrame(rows)


def _effects_arrays(effects) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if isinstance(effects, pd.DataFrame):
        for col in ("study", "log_hr", "se"):
            if col not in effects.columns:
                raise InputError(
                    f"the effects table has no {col!r} column; read it with "
                    "bayesurv.evidence.effects.read_effects."
                )
        return (
            effects["log_hr"].to_numpy(float),
            effects["se"].to_numpy(float),
            effects["study"].astype(str).tolist(),
        )
    y, s, labels = effects
    return np.asarray(y, float), np.asarray(s, float), list(labels)


def pool(
    effects,
    mu_prior: Prior | str | None = None,
    tau_prior: Prior | str | None = None,
    method: str = "exact",
    seed: int | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.99,
    parameterization: str = "auto",
) -> PoolResult:
    """Hierarchical pool of log hazard ratios.

    Parameters
    ----------
    effects : a DataFrame with ``study, log_hr, se`` or a tuple ``(y, se, labels)``.
    mu_prior, tau_prior : :class:`Prior` objects or strings (defaults ``normal(0, 4)`` and
        ``halfnormal(0.5)``).
    method : ``"exact"`` (quadrature) or ``"mcmc"`` (PyMC + nutpie; needs ``seed``).
    seed, draws, tune, chains, target_accept : MCMC settings.
    parameterization : ``"noncentred"``, ``"marginal"`` or ``"auto"`` (marginal when a study
        is very precise; see :mod:`bayesurv.synthesis.model`).

    Examples
    --------
    >>> r = pool(([-0.97, -0.36, -0.27], [0.28, 0.2, 0.21], ["a", "b", "c"]))
    >>> 0.4 < math.exp(r.summary()["pooled"]["log_hr"]["median"]) < 0.9
    True
    """
    y, s, labels = _effects_arrays(effects)
    mu_p = as_prior(mu_prior, "mu", DEFAULT_MU_PRIOR)
    tau_p = as_prior(tau_prior, "tau", DEFAULT_TAU_PRIOR)
    if method == "exact":
        post = normal_normal.solve(y, s, mu_p, tau_p, labels=labels)
        x = post.tau.x
        return PoolResult(
            method="exact",
            studies=labels,
            y=y,
            se=s,
            mu_prior=mu_p,
            tau_prior=tau_p,
            mu=post.mu(),
            tau=post.tau,
            theta_new=post.theta_new(),
            theta=StudyEffects(post),
            diagnostics={
                "method": "exact quadrature over log tau",
                "nodes": int(x.size),
                "tau_range": [float(np.exp(x[0])), float(np.exp(x[-1]))],
            },
            exact=post,
        )
    if method != "mcmc":
        raise InputError(f"method {method!r} is not known; use exact or mcmc.")
    if seed is None:
        raise InputError("MCMC needs a seed; pass seed=... (--seed on the command line).")
    from bayesurv.sampling import sample
    from bayesurv.synthesis.model import add_study_effects, build_model, choose_parameterization

    if parameterization == "auto":
        parameterization = choose_parameterization(s, tau_p)
    model = build_model(y, s, labels, mu_p, tau_p, parameterization=parameterization)
    idata = sample(
        model, seed=seed, draws=draws, tune=tune, chains=chains, target_accept=target_accept
    )
    if parameterization == "marginal":
        add_study_effects(idata, y, s, labels, seed=seed + 1)
    _add_data_groups(idata, y, s, labels)
    return mcmc_result(
        idata,
        method="mcmc",
        studies=labels,
        y=y,
        se=s,
        mu_prior=mu_p,
        tau_prior=tau_p,
        what="the pooled model",
        settings=dict(draws=draws, tune=tune, chains=chains, target_accept=target_accept),
        seed=seed,
        extra={"parameterization": parameterization},
    )


def mcmc_result(
    idata: xr.DataTree,
    *,
    method: str,
    studies: list[str],
    y: np.ndarray,
    se: np.ndarray,
    mu_prior: Prior,
    tau_prior: Prior,
    what: str,
    settings: dict,
    seed: int,
    extra: dict | None = None,
) -> PoolResult:
    """A sampled hierarchical posterior (``mu``, ``tau``, ``theta[study]``, ``theta_new``) as a
    :class:`PoolResult`: the queryable ``derived`` group, provenance and checked diagnostics, the
    same for every model of this family (two-stage pool, one-stage IPD + aggregate data)."""
    from bayesurv.sampling import check, diagnostics

    idata["derived"] = xr.DataTree(pool_derived(idata["posterior"].to_dataset()))
    idata.attrs["bayesurv_provenance"] = json.dumps(
        provenance(seed=seed, mu_prior=mu_prior.text, tau_prior=tau_prior.text, **settings),
        default=str,
    )
    diag = check(diagnostics(idata, ["mu", "tau", "theta", "theta_new"]), what)
    post = idata["posterior"]
    th = post["theta"]
    return PoolResult(
        method=method,
        studies=list(studies),
        y=y,
        se=se,
        mu_prior=mu_prior,
        tau_prior=tau_prior,
        mu=Draws(post["mu"].values),
        tau=Draws(post["tau"].values),
        theta_new=Draws(post["theta_new"].values),
        theta=[Draws(th.sel(study=name).values) for name in studies],
        # one chain: as_dict gives rhat_max null with a note, and problems no R-hat (strict JSON)
        diagnostics={**diag.as_dict(), "problems": diag.problems, **(extra or {})},
        idata=idata,
    )


def pool_derived(post: xr.Dataset) -> xr.Dataset:
    """Queryable names of a pooled posterior: ``pooled_log_hr``, ``pooled_hr`` (and ``hr``,
    ``log_hr`` for short), ``tau``, ``predictive_log_hr``, ``predictive_hr``, ``study_hr``."""
    out = xr.Dataset(
        {
            "pooled_log_hr": post["mu"],
            "pooled_hr": np.exp(post["mu"]),
            "log_hr": post["mu"],
            "hr": np.exp(post["mu"]),
            "predictive_log_hr": post["theta_new"],
            "predictive_hr": np.exp(post["theta_new"]),
        }
    )
    if "theta" in post:
        out["study_hr"] = np.exp(post["theta"])
    return out


def _add_data_groups(idata: xr.DataTree, y, s, labels) -> None:
    coords = {"study": labels}
    idata["observed_data"] = xr.DataTree(xr.Dataset({"y": ("study", np.asarray(y))}, coords=coords))
    idata["constant_data"] = xr.DataTree(
        xr.Dataset({"se": ("study", np.asarray(s))}, coords=coords)
    )


def sensitivity(
    effects,
    tau_priors: Mapping[str, Prior | str] | Sequence[Prior | str],
    mu_prior: Prior | str | None = None,
    thresholds: Sequence[float] = (1.0, 0.8),
    level: float | None = None,
) -> pd.DataFrame:
    """Pooled HR, tau and probabilities across heterogeneity priors (exact solver), one row each;
    ``tau_upper`` is the upper limit of tau's ``level`` interval (default the width in force).

    Examples
    --------
    >>> t = sensitivity(([-0.97, -0.36, -0.27], [0.28, 0.2, 0.21], ["a", "b", "c"]),
    ...                 ["halfnormal(0.25)", "halfnormal(0.5)"])
    >>> list(t.index)
    ['halfnormal(0.25)', 'halfnormal(0.5)']
    """
    if not isinstance(tau_priors, Mapping):
        tau_priors = {(p.text if isinstance(p, Prior) else str(p)): p for p in tau_priors}
    rows = {}
    for name, tp in tau_priors.items():
        r = pool(effects, mu_prior=mu_prior, tau_prior=tp, method="exact")
        s = r.summary(level=level, thresholds=thresholds, studies=False)
        rows[name] = {
            "tau_prior": r.tau_prior.text,
            "tau_median": s["tau"]["median"],
            "tau_upper": s["tau"]["upper"],
            "hr_median": s["pooled"]["hr"]["median"],
            "hr_lower": s["pooled"]["hr"]["lower"],
            "hr_upper": s["pooled"]["hr"]["upper"],
            "new_hr_lower": s["predictive"]["hr"]["lower"],
            "new_hr_upper": s["predictive"]["hr"]["upper"],
            **s["probabilities"],
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "tau_prior_name"
    return out


def parse_where(items: Sequence[str] | None) -> dict[str, str]:
    """``["outcome=os", "set=pediatric"]`` -> ``{"outcome": "os", "set": "pediatric"}``."""
    out: dict[str, str] = {}
    for item in items or []:
        col, sep, val = item.partition("=")
        if not sep or not col.strip():
            raise InputError(f"--where {item!r}: write COLUMN=VALUE, e.g. --where outcome=overall.")
        out[col.strip()] = val.strip()
    return out


DEFAULT_SENSITIVITY = (
    "halfnormal(0.25)",
    "halfnormal(0.5)",
    "halfnormal(1)",
    "halfcauchy(0.5)",
    "uniform(0, 2)",
)


def pool_file(
    path,
    where: Sequence[str] | None = None,
    mu_prior: str | None = None,
    tau_prior: str | None = None,
    method: str = "exact",
    seed: int = 1,
    level: float = 0.95,
    draws: int = 1000,
    interval: str = "equal-tailed",
    covariates: Sequence[str] | None = None,
    predict: Sequence[str] | None = None,
    coef_prior: str | None = None,
    sensitivity_priors: Sequence[str] | None = DEFAULT_SENSITIVITY,
    checks: bool = True,
    plan_events: float | None = None,
    plan_allocation: float = 1.0,
    robust_weight: float = 0.2,
) -> tuple[dict, object]:
    """Read EFFECTS.csv, pool (or meta-regress on ``covariates``), and return the ``pool``
    command's JSON document and the result (nothing written).

    Beside the Bayesian answer the document holds ``checks`` (Bayes factors, predictive
    p-values, leave-one-out, the frequentist reference points) and ``sensitivity`` (the answer
    under each tau prior of ``sensitivity_priors``, exact solver); with covariates,
    ``coefficients`` (name, median, mean, lower, upper), ``predictions`` and ``frequentist``
    (REML meta-regression). With ``plan_events``, ``map_prior``: the MAP prior of a new trial,
    its robust version (weight ``robust_weight`` on N(0, 2^2)), their effective sample sizes in
    events and the operating characteristics of a planned trial with that many events that
    borrows through the robust MAP prior (:mod:`bayesurv.synthesis.planned_trial`).
    """
    from bayesurv.evidence.effects import read_effects

    if not 0 < level < 1:
        raise InputError(f"--ci {level:g}: give a level between 0 and 1, e.g. 0.95.")
    if interval not in INTERVALS:
        raise InputError(f"--interval {interval!r}: use equal-tailed or hpd.")
    sel = parse_where(where)
    mu_p = parse_prior(mu_prior or DEFAULT_MU_PRIOR, "mu", "--mu-prior")
    tau_p = parse_prior(tau_prior or DEFAULT_TAU_PRIOR, "tau", "--tau-prior")
    sens = [parse_prior(t, "tau", "--sensitivity") for t in (sensitivity_priors or [])]
    effects = read_effects(path, where_=sel or None)
    result = pool(effects, mu_p, tau_p, method=method, seed=seed, draws=draws)
    doc = result.summary(level=level, interval=interval)
    if covariates:
        from bayesurv.synthesis.metaregression import metaregression, parse_predict

        mr = metaregression(
            effects,
            list(covariates),
            mu_prior=mu_p,
            coef_prior=coef_prior,
            tau_prior=tau_p,
            method=method,
            seed=seed,
            draws=draws,
            source=Path(path).name,
        )
        reg = mr.summary(level, parse_predict(predict), interval)
        doc["meta_regression"] = {
            k: reg[k] for k in ("method", "coding", "tau", "priors", "diagnostics")
        }
        doc["coefficients"] = reg["coefficients"]
        doc["predictions"] = reg["predictions"]
        doc["frequentist_regression"] = reg["frequentist"]
        result = (result, mr)
    elif predict:
        raise InputError("--predict needs --covariates; name the covariates to predict at.")
    if checks:
        doc["checks"] = (result[0] if isinstance(result, tuple) else result).checks(level, seed)
    if sens:
        doc["sensitivity"] = (
            sensitivity(effects, {p.text: p for p in sens}, mu_prior=mu_p, level=level)
            .reset_index()
            .to_dict(orient="records")
        )
    if plan_events is not None:
        from bayesurv.synthesis.map_prior import map_prior
        from bayesurv.synthesis.planned_trial import operating_characteristics

        m = map_prior(effects, mu_prior=mu_p, tau_prior=tau_p, weight=robust_weight)
        doc["map_prior"] = {
            **m.as_dict(),
            "planned_trial": operating_characteristics(m.robust, plan_events, plan_allocation),
            "planned_trial_without_borrowing": operating_characteristics(
                m.vague, plan_events, plan_allocation
            ),
        }
    doc["input"] = {"file": str(path), "where": sel, "n_studies": len(effects)}
    doc["provenance"] = provenance(seed=seed, inputs={"effects": path})
    return doc, result


def pool_groups(path, by: Sequence[str], **pool_kwargs) -> dict[tuple[str, ...], PoolResult]:
    """Pool each group of rows of EFFECTS.csv separately, e.g. subgroups of one trial by
    ``("outcome", "factor")`` -- exchangeable subgroup effects for EFS and for OS at once.

    Each group is validated on its own (row numbers refer to the file) and needs two rows.

    Examples
    --------
    >>> from pathlib import Path
    >>> f = Path(__file__).parents[2] / "data" / "study_20120215_subgroups.csv"
    >>> sorted(pool_groups(f, ["outcome", "factor"]))[:2]
    [('EFS', 'age'), ('EFS', 'baseline MRD')]
    """
    from bayesurv.evidence.effects import read_effects, read_table

    path = Path(path)
    raw = read_table(path)
    missing = [c for c in by if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path.name}: there is no column {missing[0]!r} to group by; use one of "
            f"{', '.join(raw.columns)}."
        )
    out = {}
    for key, _ in raw.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        eff = read_effects(path, where_=dict(zip(by, key, strict=True)))
        out[tuple(str(k) for k in key)] = pool(eff, **pool_kwargs)
    return out
