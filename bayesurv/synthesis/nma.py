"""Network meta-analysis of hazard ratios: one entry point, two solvers, one result.

:func:`nma` takes a network (:func:`~bayesurv.synthesis.network.read_network`: contrasts, arm
counts with follow-up, IPD, mixed) and returns an :class:`NmaResult`: every pairwise log HR and
HR with credible and predictive intervals (a new trial's ``d_a - d_b + tau z``), posterior
probabilities such as ``P(HR(a vs b) < 1)``, rank probabilities and SUCRA (Salanti et al. 2011),
residual deviance, pD and DIC (TSD 2; ``pD = Dbar - D(posterior mean of the fitted values)``) and
PSIS-LOO (ArviZ). A network of contrasts only is solved exactly
(:mod:`~bayesurv.synthesis.normal_linear`, quadrature over ``tau``; independent draws for ranks
and DIC); any network, and that one too, by NUTS (:mod:`~bayesurv.synthesis.nma_model`, nutpie).

:func:`consistency` adds the two checks of TSD 4: the unrelated-mean-effects model (a free
effect per observed comparison) compared with the consistency model by DIC and LOO, and
node-splitting (Dias et al. 2010) of every comparison with direct and indirect evidence:
direct, indirect and their difference with the Bayesian p-value ``2 min(P(diff > 0), P(diff < 0))``.

Results save as a DataTree (:meth:`NmaResult.to_datatree`): ``posterior`` holds ``d`` (dims
``treatment``; 0 for the reference) and ``tau``; ``derived`` holds ``log_hr`` and ``hr`` (dims
``treatment, vs``), their ``predictive_`` versions and ``rank`` (dims ``treatment``), so that
``bayesurv query RESULT.nc 'P(hr("blinatumomab", "inotuzumab") < 1)'`` reads as it is written.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.provenance import provenance
from bayesurv.synthesis.mixture import NormalMixture
from bayesurv.synthesis.network import Network, read_network
from bayesurv.synthesis.nma_model import (
    NmaData,
    build_data,
    build_model,
    draw_contrast_effects,
    fitted,
    log_likelihood,
    plugin_deviance,
    residual_deviance,
)
from bayesurv.synthesis.pool import Draws
from bayesurv.synthesis.priors import Prior, as_prior

DEFAULT_D_PRIOR = "normal(0, 4)"
DEFAULT_TAU_PRIOR = "halfnormal(0.5)"
DEFAULT_BASELINE_PRIOR = "normal(0, 10)"
DEFAULT_BETA_PRIOR = "normal(0, 1)"


@dataclass
class NmaResult:
    """Posterior of a network meta-analysis (exact or MCMC); see the module docstring."""

    network: Network
    data: NmaData
    effects: str
    model: str
    split: tuple[str, str] | None
    method: str
    priors: dict[str, Prior]
    draws: dict[str, np.ndarray]  # flattened (N, ...): theta, tau, delta_contrast, delta, mu...
    shape: tuple[int, int]  # (chains, draws per chain)
    exact: object | None = None  # LinearPosterior
    idata: xr.DataTree | None = None
    diagnostics: dict = field(default_factory=dict)
    seed: int | None = None
    lower_better: bool = True

    # -- effects -------------------------------------------------------------------------------
    @property
    def treatments(self) -> list[str]:
        return self.network.treatments

    def vector(self, a: str, b: str) -> np.ndarray:
        """Weights of ``d_a - d_b`` over the parameters (consistency and node-split models)."""
        for t in (a, b):
            if t not in self.treatments:
                raise InputError(
                    f"{t!r} is not a treatment of the network; use one of "
                    f"{', '.join(self.treatments)}."
                )
        if self.model == "ume":
            raise InputError(
                "the unrelated-mean-effects model has no d_a - d_b; use its "
                "comparisons (effects_table)."
            )
        c = np.zeros(len(self.data.names))
        for t, sign in ((a, 1.0), (b, -1.0)):
            if t != self.network.reference:
                c[self.data.names.index(f"d[{t}]")] += sign
        return c

    def effect(self, a: str, b: str):
        """Posterior of the log HR of ``a`` vs ``b`` (a NormalMixture when exact, else Draws)."""
        c = self.vector(a, b)
        if self.exact is not None:
            return self.exact.linear(c)
        return Draws(self.draws["theta"] @ c)

    def predictive(self, a: str, b: str):
        """A new trial's log HR of ``a`` vs ``b``: ``d_a - d_b + tau z`` (``= d_a - d_b`` for
        fixed effects)."""
        c = self.vector(a, b)
        if self.exact is not None:
            return self.exact.predictive(c) if self.effects == "random" else self.exact.linear(c)
        return Draws(self.draws["pred"][(a, b)])

    def d_draws(self) -> np.ndarray:
        """Draws (N, treatments) of every treatment's log HR vs the reference (0 for it)."""
        N = self.draws["theta"].shape[0]
        out = np.zeros((N, len(self.treatments)))
        for k, t in enumerate(self.treatments[1:], start=1):
            out[:, k] = self.draws["theta"][:, self.data.names.index(f"d[{t}]")]
        return out

    def prob_hr_below(self, a: str, b: str, threshold: float = 1.0) -> float:
        """``P(HR(a vs b) < threshold)``."""
        if threshold <= 0:
            raise InputError(f"HR threshold {threshold:g} must be positive.")
        return float(self.effect(a, b).cdf(math.log(threshold)))

    def pairs(self) -> list[tuple[str, str]]:
        """Every pair once: each treatment vs the reference, then each pair of the others with
        the one listed first in the network as ``treatment`` (``(B, ref), (C, ref), (B, C)``)."""
        t = self.treatments
        return [(x, t[0]) for x in t[1:]] + [
            (t[i], t[j]) for i in range(1, len(t)) for j in range(i + 1, len(t))
        ]

    def relative_effects(self, level: float = 0.95) -> pd.DataFrame:
        """One row per pair: ``treatment, vs`` and the log HR and HR summaries, with the
        predictive interval of a new trial and ``P(HR < 1)``."""
        rows = []
        for a, b in self.pairs():
            d = self.effect(a, b)
            p = self.predictive(a, b)
            rows.append(
                {
                    "treatment": a,
                    "vs": b,
                    **_row(d, level),
                    **{
                        f"pred_{k}": v
                        for k, v in _row(p, level).items()
                        if k in ("log_lower", "log_upper", "hr_lower", "hr_upper")
                    },
                    "p_hr_lt_1": float(d.cdf(0.0)),
                }
            )
        return pd.DataFrame(rows)

    def league(self, level: float = 0.95) -> pd.DataFrame:
        """League table: cell (row a, column b) is the HR of a vs b, median (lower, upper)."""
        t = self.treatments
        out = pd.DataFrame("", index=t, columns=t)
        for a in t:
            for b in t:
                if a == b:
                    out.loc[a, b] = a
                    continue
                d = self.effect(a, b)
                lo, hi = d.interval(level)
                out.loc[a, b] = (
                    f"{math.exp(d.median()):.2f} ({math.exp(lo):.2f}, {math.exp(hi):.2f})"
                )
        return out

    # -- ranks ---------------------------------------------------------------------------------
    def rank_draws(self) -> np.ndarray:
        """Draws (N, treatments) of each treatment's rank (1 = best: lowest hazard when
        ``lower_better``)."""
        d = self.d_draws()
        key = d if self.lower_better else -d
        return np.argsort(np.argsort(key, axis=1), axis=1) + 1

    def ranks(self) -> pd.DataFrame:
        """Per treatment: rank probabilities ``p_rank_1..K``, mean and median rank, and
        SUCRA = sum_{r<K} P(rank <= r) / (K - 1)."""
        r = self.rank_draws()
        K = len(self.treatments)
        prob = np.stack([(r == k).mean(0) for k in range(1, K + 1)], axis=1)  # (T, K)
        cum = np.cumsum(prob, axis=1)
        sucra = cum[:, :-1].sum(1) / (K - 1) if K > 1 else np.ones(1)
        out = pd.DataFrame(
            {
                "treatment": self.treatments,
                "mean_rank": r.mean(0),
                "median_rank": np.median(r, axis=0),
                "sucra": sucra,
            }
        )
        for k in range(K):
            out[f"p_rank_{k + 1}"] = prob[:, k]
        return out

    # -- fit -----------------------------------------------------------------------------------
    def _fitted(self):
        return fitted(self.data, self.draws)

    def dic(self) -> dict[str, float]:
        """Posterior mean residual deviance, pD (plug-in at the posterior mean of the fitted
        values, TSD 2) and DIC, with the number of data points."""
        f = self._fitted()
        dev = residual_deviance(self.data, f)
        dbar = float(dev.sum(1).mean())
        pd_ = dbar - plugin_deviance(self.data, f)
        n = sum(b.y.size for b in self.data.blocks) + self.data.arm_r.size + self.data.ipd_D.size
        return {"resdev": dbar, "pD": pd_, "DIC": dbar + pd_, "n_data": int(n)}

    def log_likelihood(self) -> xr.Dataset:
        ll = log_likelihood(self.data, self.draws, self._fitted())
        c, d = self.shape
        return xr.Dataset(
            {"y": (("chain", "draw", "study"), ll.reshape(c, d, -1))},
            coords={"study": self.data.studies},
        )

    def loo(self) -> dict:
        """PSIS-LOO over studies (ArviZ), with each study's Pareto k and a warning naming the
        studies for which it is unreliable (:func:`psis_loo`)."""
        return psis_loo(self.log_likelihood())

    # -- outputs -------------------------------------------------------------------------------
    def summary(self, level: float = 0.95, thresholds: Sequence[float] = (1.0,)) -> dict:
        """The ``bayesurv nma`` JSON document (see README): ``relative_effects``, ``tau``,
        ``ranks``, ``diagnostics``, plus ``predictive``, ``probabilities``, ``network``. Each
        ``hr`` is :func:`hr_summary`: median and interval always, mean and sd only where the
        HR's coefficient of variation is at most 1 (``None`` with a ``note`` otherwise)."""
        rel = []
        for a, b in self.pairs():
            d, p = self.effect(a, b), self.predictive(a, b)
            rel.append(
                {
                    "treatment": a,
                    "vs": b,
                    **_json_effect(d, level),
                    "predictive": _json_effect(p, level),
                    "p_hr_lt_1": float(d.cdf(0.0)),
                }
            )
        probs = {}
        for a in self.treatments:
            for b in self.treatments:
                if a != b:
                    for t in thresholds:
                        probs[f"P(HR({a} vs {b}) < {t:g})"] = self.prob_hr_below(a, b, t)
        tau = None
        if self.effects == "random":
            dist = self.exact.tau_posterior if self.exact is not None else Draws(self.draws["tau"])
            lo, hi = dist.interval(level)
            tau = {
                "mean": float(dist.mean),
                "sd": float(dist.sd),
                "median": float(dist.median()),
                "lower": lo,
                "upper": hi,
            }
        ranks = self.ranks()
        diag = {**self.diagnostics, "dic": self.dic()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                diag["loo"] = self.loo()
            except Exception as exc:  # noqa: BLE001 - LOO is a report, not a requirement
                diag["loo"] = {"error": f"{type(exc).__name__}: {exc}"}
        net = self.network
        return {
            "method": self.method,
            "effects": self.effects,
            "model": self.model,
            "level": level,
            "reference": net.reference,
            "priors": {k: v.as_dict() for k, v in self.priors.items()},
            "relative_effects": rel,
            "tau": tau,
            "ranks": [
                {
                    "treatment": r["treatment"],
                    "mean_rank": float(r["mean_rank"]),
                    "median_rank": float(r["median_rank"]),
                    "sucra": float(r["sucra"]),
                    "probabilities": [float(r[f"p_rank_{k + 1}"]) for k in range(len(ranks))],
                }
                for r in ranks.to_dict(orient="records")
            ],
            "lower_is_better": self.lower_better,
            "probabilities": probs,
            "diagnostics": diag,
            "network": {
                "treatments": net.treatments,
                "studies": [
                    {"study": s, "kind": net.kind(s), "arms": net.study_arms(s)}
                    for s in net.studies
                ],
                "edges": net.edges().to_dict(orient="records"),
                "notes": net.notes,
            },
        }

    def to_datatree(self) -> xr.DataTree:
        """``posterior`` (``d`` over ``treatment``, ``tau``; ``theta`` over ``parameter``),
        ``derived`` (``log_hr``, ``hr``, ``predictive_log_hr``, ``predictive_hr`` over
        ``treatment, vs``; ``rank``), ``log_likelihood`` (per study), provenance in ``attrs``."""
        c, n = self.shape
        t = self.treatments
        coords = {"chain": np.arange(c), "draw": np.arange(n), "treatment": t}
        post = {"theta": (("chain", "draw", "parameter"), self.draws["theta"].reshape(c, n, -1))}
        if self.effects == "random":
            post["tau"] = (("chain", "draw"), self.draws["tau"].reshape(c, n))
        derived = {}
        if self.model != "ume":
            d = self.d_draws().reshape(c, n, -1)
            post["d"] = (("chain", "draw", "treatment"), d)
            lhr = d[..., :, None] - d[..., None, :]
            pred = lhr.copy()
            if self.effects == "random":
                rng = np.random.default_rng((self.seed or 0) + 7)
                z = rng.standard_normal(lhr.shape)
                z = (z - np.swapaxes(z, -1, -2)) / math.sqrt(2)  # antisymmetric, unit variance
                pred = lhr + self.draws["tau"].reshape(c, n, 1, 1) * z
            dims = ("chain", "draw", "treatment", "vs")
            derived = {
                "log_hr": (dims, lhr),
                "hr": (dims, np.exp(lhr)),
                "predictive_log_hr": (dims, pred),
                "predictive_hr": (dims, np.exp(pred)),
                "rank": (
                    ("chain", "draw", "treatment"),
                    self.rank_draws().reshape(c, n, -1).astype(float),
                ),
            }
        ds_post = xr.Dataset(post, coords={**coords, "parameter": self.data.names})
        groups = {"posterior": ds_post}
        if derived:
            groups["derived"] = xr.Dataset(derived, coords={**coords, "vs": t})
            rk = self.ranks()
            groups["ranks"] = xr.Dataset(
                {
                    "rank_probability": (
                        ("treatment", "rank"),
                        rk[[f"p_rank_{k + 1}" for k in range(len(t))]].to_numpy(),
                    ),
                    "sucra": ("treatment", rk["sucra"].to_numpy()),
                },
                coords={"treatment": t, "rank": np.arange(1, len(t) + 1)},
            )
        groups["log_likelihood"] = self.log_likelihood()
        if self.idata is not None and "sample_stats" in self.idata.children:
            groups["sample_stats"] = self.idata["sample_stats"].to_dataset()
        tree = xr.DataTree.from_dict(groups)
        tree.attrs["bayesurv_provenance"] = json.dumps(
            provenance(
                seed=self.seed,
                method=self.method,
                effects=self.effects,
                model=self.model,
                priors={k: v.text for k, v in self.priors.items()},
            ),
            default=str,
        )
        tree.attrs["kind"] = "nma"
        tree.attrs["reference"] = self.network.reference
        return tree


#: Pareto k above which PSIS-LOO is unreliable for a study (Vehtari et al. 2017, 2024: ArviZ's
#: ``good_k`` = min(1 - 1/log10(S), 0.7), 0.7 from 2,155 draws)
PARETO_K_GOOD = 0.7


def psis_loo(log_lik: xr.Dataset, var_name: str = "y") -> dict:
    """PSIS-LOO of a pointwise log likelihood (dims ``chain, draw, study``): ``elpd_loo``, its
    ``se``, ``p_loo``, ``looic``, ``pareto_k`` and ``elpd_loo_i`` per study, ``pareto_k_max``,
    the threshold (``pareto_k_threshold``, ArviZ's ``good_k``), ``n_pareto_k_high`` and the
    studies above it (``pareto_k_high``); when any, ``warning``: one sentence naming them.

    A study whose removal changes the posterior too much for importance sampling (typically
    the only trial of a comparison: without it, that effect falls back to its prior) has
    k > 0.7, and its elpd, and so the LOO total, cannot be trusted.
    """
    import arviz as az

    c, n = log_lik.sizes["chain"], log_lik.sizes["draw"]
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"tau0": (("chain", "draw"), np.zeros((c, n)))}),
            "log_likelihood": log_lik,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = az.loo(tree, var_name=var_name, pointwise=True)
    k = np.asarray(res.pareto_k, dtype=float).ravel()
    studies = [str(x) for x in np.asarray(log_lik[var_name]["study"].values).ravel()]
    good = float(getattr(res, "good_k", PARETO_K_GOOD) or PARETO_K_GOOD)
    threshold = min(good, PARETO_K_GOOD)
    high = [(st, float(kk)) for st, kk in zip(studies, k, strict=True) if kk > threshold]
    out = {
        "elpd_loo": float(res.elpd),
        "se": float(res.se),
        "p_loo": float(res.p),
        "looic": -2.0 * float(res.elpd),
        "pareto_k_max": float(np.nanmax(k)),
        "pareto_k": dict(zip(studies, (float(x) for x in k), strict=True)),
        "elpd_loo_i": dict(
            zip(studies, (float(x) for x in np.asarray(res.elpd_i).ravel()), strict=True)
        ),
        "pareto_k_threshold": threshold,
        "n_pareto_k_high": len(high),
        "pareto_k_high": [st for st, _ in high],
    }
    if high:
        names = ", ".join(f"{st} (k = {kk:.2f})" for st, kk in high)
        out["warning"] = (
            f"LOO is unreliable for {len(high)} of {len(studies)} studies, whose Pareto k "
            f"exceeds {threshold:.2f}: {names}; leaving such a study out changes the posterior "
            "too much for importance sampling (as when it is the only trial of its comparison), "
            "so compare these models by DIC, or by refitting without each study"
        )
    return out


def _row(d, level: float) -> dict[str, float]:
    lo, hi = d.interval(level)
    return {
        "log_mean": float(d.mean),
        "log_sd": float(d.sd),
        "log_median": float(d.median()),
        "log_lower": lo,
        "log_upper": hi,
        "hr_median": math.exp(d.median()),
        "hr_lower": math.exp(lo),
        "hr_upper": math.exp(hi),
    }


#: the HR's mean and sd are reported when its coefficient of variation is at most this (for a
#: normal log HR: sd(log HR) <= sqrt(log 2) = 0.83); beyond it they are set by the far right tail
HR_MOMENTS_MAX_CV = 1.0
HR_MOMENTS_NOTE = (
    "mean and sd not given on the HR scale: the HR's coefficient of variation exceeds 1, so "
    "its mean and sd are set by the far right tail of the log HR (a wide log HR, or a long "
    "tail of tau's posterior: a lognormal's sd grows as exp(sd(log HR)^2)); read the median "
    "and interval, or the log HR's mean and sd"
)


def _hr_moments(d) -> tuple[float, float]:
    """Mean and sd of ``exp`` of the log HR: exact lognormal-mixture moments, or the draws'
    (``inf`` when they overflow)."""
    if isinstance(d, NormalMixture):
        from scipy.special import logsumexp

        w, m, s = d.weights, d.means, d.sds
        log_e1 = float(logsumexp(m + s**2 / 2, b=w))
        log_e2 = float(logsumexp(2 * m + 2 * s**2, b=w))
        if log_e2 > 700:
            return math.exp(min(log_e1, 700.0)), math.inf
        e1 = math.exp(log_e1)
        return e1, math.sqrt(max(math.exp(log_e2) - e1**2, 0.0))
    with np.errstate(over="ignore"):
        v = np.exp(d.values)
    return float(v.mean()), float(v.std(ddof=1))


def hr_summary(d, level: float = 0.95) -> dict:
    """The HR of a log-HR posterior ``d``: ``median, lower, upper`` (quantiles of ``exp`` of
    the log HR: the mixture's exact quantiles exponentiated, or the quantiles of the exponentiated
    draws), and ``mean, sd`` only when meaningful (coefficient of variation at most
    :data:`HR_MOMENTS_MAX_CV`); otherwise ``mean`` and ``sd`` are ``None`` and ``note`` says why.

    Examples
    --------
    >>> h = hr_summary(NormalMixture([1.0], [0.0], [3.0]))
    >>> round(h["median"], 6), h["sd"] is None
    (1.0, True)
    """
    if isinstance(d, NormalMixture):
        lo, hi = d.interval(level)
        out = {"median": math.exp(d.median()), "lower": math.exp(lo), "upper": math.exp(hi)}
    else:
        from bayesurv.intervals import summary

        with np.errstate(over="ignore"):
            v = np.exp(d.values)
        s = summary(v, level)
        out = {k: float(s[k]) for k in ("median", "lower", "upper")}
    mean, sd = _hr_moments(d)
    if math.isfinite(sd) and mean > 0 and sd <= HR_MOMENTS_MAX_CV * mean:
        return {"mean": mean, "sd": sd, **out}
    return {"mean": None, "sd": None, **out, "note": HR_MOMENTS_NOTE}


def _json_effect(d, level: float) -> dict[str, dict[str, float]]:
    lo, hi = d.interval(level)
    return {
        "log_hr": {
            "mean": float(d.mean),
            "sd": float(d.sd),
            "median": float(d.median()),
            "lower": lo,
            "upper": hi,
        },
        "hr": hr_summary(d, level),
    }


def _priors(data: NmaData, d_prior, tau_prior, baseline_prior, beta_prior) -> dict[str, Prior]:
    return {
        "d": as_prior(d_prior, "mu", DEFAULT_D_PRIOR),
        "tau": as_prior(tau_prior, "tau", DEFAULT_TAU_PRIOR),
        "baseline": as_prior(baseline_prior, "mu", DEFAULT_BASELINE_PRIOR),
        "beta": as_prior(beta_prior, "mu", DEFAULT_BETA_PRIOR),
    }


def _theta_priors(data: NmaData, priors: dict[str, Prior]) -> list[Prior]:
    return [priors["beta"] if n.startswith("beta[") else priors["d"] for n in data.names]


def nma(
    data,
    reference: str | None = None,
    effects: str = "random",
    method: str = "auto",
    model: str = "consistency",
    split: tuple[str, str] | None = None,
    d_prior: Prior | str | None = None,
    tau_prior: Prior | str | None = None,
    baseline_prior: Prior | str | None = None,
    beta_prior: Prior | str | None = None,
    covariate: str | None = None,
    link: str = "cloglog",
    seed: int | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.95,
    n_intervals: int = 10,
    lower_better: bool = True,
) -> NmaResult:
    """Network meta-analysis of log hazard ratios (see the module docstring).

    Parameters
    ----------
    data : a :class:`Network`, DATA.csv or a DataFrame (read by :func:`read_network`).
    reference, link, covariate : passed to :func:`read_network` when ``data`` is not a Network.
    effects : ``"fixed"`` or ``"random"``.
    method : ``"exact"`` (contrast-only networks), ``"mcmc"`` or ``"auto"`` (exact when it can).
    model : ``"consistency"``, ``"ume"`` or ``"nodesplit"`` (with ``split = (X, Y)``).
    d_prior, tau_prior, baseline_prior, beta_prior : priors of the relative effects (default
        ``normal(0, 4)``), of tau (``halfnormal(0.5)``), of arm-study baselines on the cloglog
        scale (``normal(0, 10)``) and of covariate interactions (``normal(0, 1)``).
    seed, draws, tune, chains, target_accept : sampling settings (``seed`` required).
    n_intervals : pieces of each IPD trial's baseline hazard.
    lower_better : rank 1 is the lowest hazard (HR < 1 better).

    Examples
    --------
    >>> t = pd.DataFrame({"study": ["A", "B", "C"], "treatment": ["x", "y", "y"],
    ...                   "comparator": ["c", "c", "x"], "log_hr": [-0.3, -0.2, 0.1],
    ...                   "se": [0.1, 0.2, 0.15]})
    >>> r = nma(t, reference="c", effects="fixed", seed=1)
    >>> r.method, round(r.prob_hr_below("x", "c"), 3) > 0.9
    ('exact', True)
    """
    if effects not in ("fixed", "random"):
        raise InputError(f"effects {effects!r} is not known; use fixed or random.")
    if model not in ("consistency", "ume", "nodesplit"):
        raise InputError(f"model {model!r} is not known; use consistency, ume or nodesplit.")
    if method not in ("auto", "exact", "mcmc"):
        raise InputError(f"method {method!r} is not known; use auto, exact or mcmc.")
    if seed is None:
        raise InputError("a network meta-analysis needs a seed; pass seed=... (--seed).")
    net = (
        data
        if isinstance(data, Network)
        else read_network(data, reference=reference, link=link, covariate=covariate)
    )
    if reference is not None and isinstance(data, Network) and net.reference != reference:
        raise InputError(
            f"the network's reference is {net.reference!r}; read it with reference={reference!r}."
        )
    nd = build_data(net, model, split, n_intervals)
    priors = _priors(nd, d_prior, tau_prior, baseline_prior, beta_prior)
    if method == "auto":
        method = "exact" if nd.contrast_only else "mcmc"
    if method == "exact" and not nd.contrast_only:
        raise InputError(
            "the exact solver takes networks of contrasts (log HRs with se) only; this one has "
            "arm counts or IPD, so use method mcmc."
        )
    if method == "exact":
        return _exact(net, nd, effects, model, split, priors, seed, (chains, draws), lower_better)
    return _mcmc(
        net,
        nd,
        effects,
        model,
        split,
        priors,
        seed,
        draws,
        tune,
        chains,
        target_accept,
        lower_better,
    )


def _exact(net, nd, effects, model, split, priors, seed, shape, lower_better) -> NmaResult:
    """Exact posterior; ``shape = (chains, draws)`` independent draws (for ranks, DIC and the
    saved DataTree, shaped like an MCMC result's so that sections share one draw grid)."""
    n_draws = shape[0] * shape[1]
    from bayesurv.synthesis.normal_linear import solve_linear

    y, X, S, K = nd.stacked()
    thetas = _theta_priors(nd, priors)
    for p in thetas:
        if p.family not in ("normal", "flat"):
            raise InputError("the exact solver takes normal or flat priors on relative effects.")
    mean = [p.params[0] if p.family == "normal" else 0.0 for p in thetas]
    sd = [p.params[1] if p.family == "normal" else math.inf for p in thetas]
    post = solve_linear(
        y,
        X,
        S,
        K,
        names=nd.names,
        beta_mean=mean,
        beta_sd=sd,
        tau_prior=priors["tau"] if effects == "random" else None,
    )
    rng = np.random.default_rng(seed)
    smp = post.sample(rng, n_draws)
    draws = {
        "theta": smp["beta"],
        "tau": smp["tau"] if effects == "random" else None,
        "delta": np.zeros((n_draws, 0)),
    }
    draws["delta_contrast"] = draw_contrast_effects(nd, draws["theta"], draws["tau"], rng)
    if effects == "fixed":
        draws.pop("tau")
    res = NmaResult(
        network=net,
        data=nd,
        effects=effects,
        model=model,
        split=split,
        method="exact",
        priors=_used(priors, effects, nd),
        draws=draws,
        shape=tuple(shape),
        exact=post,
        seed=seed,
        lower_better=lower_better,
        diagnostics={
            "method": "exact quadrature over log tau"
            if effects == "random"
            else "exact (fixed effects, conjugate normal)",
            "draws": n_draws,
        },
    )
    _add_predictive(res, rng)
    return res


def _used(priors: dict[str, Prior], effects: str, nd: NmaData) -> dict[str, Prior]:
    out = {"d": priors["d"]}
    if effects == "random":
        out["tau"] = priors["tau"]
    if nd.arm_studies:
        out["baseline"] = priors["baseline"]
    if any(n.startswith("beta[") for n in nd.names):
        out["beta"] = priors["beta"]
    return out


def _add_predictive(res: NmaResult, rng: np.random.Generator) -> None:
    """Draws of a new trial's log HR for every ordered pair (MCMC results use these)."""
    if res.model == "ume":
        res.draws["pred"] = {}
        return
    d = res.d_draws()
    tau = res.draws.get("tau")
    out = {}
    for a, b in res.pairs():
        i, j = res.treatments.index(a), res.treatments.index(b)
        v = d[:, i] - d[:, j]
        if tau is not None:
            v = v + tau * rng.standard_normal(v.size)
        out[(a, b)] = v
        out[(b, a)] = -v
    res.draws["pred"] = out


def _mcmc(
    net, nd, effects, model, split, priors, seed, draws, tune, chains, target_accept, lower_better
) -> NmaResult:
    from bayesurv.sampling import check, diagnostics, sample

    pm_model = build_model(
        nd,
        effects,
        _theta_priors(nd, priors),
        priors["tau"] if effects == "random" else None,
        priors["baseline"],
    )
    idata = sample(
        pm_model, seed=seed, draws=draws, tune=tune, chains=chains, target_accept=target_accept
    )
    post = idata["posterior"].to_dataset()
    c, n = post.sizes["chain"], post.sizes["draw"]

    def flat(name):
        v = post[name].values
        return v.reshape(c * n, *v.shape[2:])

    out = {"theta": flat("theta")}
    if effects == "random":
        out["tau"] = flat("tau")
    out["delta"] = flat("delta") if "delta" in post else np.zeros((c * n, 0))
    if "mu" in post:
        out["mu"] = flat("mu")
    if "alpha" in post:
        out["alpha"] = flat("alpha")
    rng = np.random.default_rng(seed + 1)
    out["delta_contrast"] = draw_contrast_effects(nd, out["theta"], out.get("tau"), rng)
    names = ["theta"] + (["tau"] if effects == "random" else [])
    diag = check(diagnostics(idata, names), "the network meta-analysis")
    res = NmaResult(
        network=net,
        data=nd,
        effects=effects,
        model=model,
        split=split,
        method="mcmc",
        priors=_used(priors, effects, nd),
        draws=out,
        shape=(c, n),
        idata=idata,
        seed=seed,
        lower_better=lower_better,
        diagnostics={**diag.as_dict(), "problems": diag.problems, "method": "NUTS (nutpie)"},
    )
    _add_predictive(res, rng)
    return res


# -- consistency ------------------------------------------------------------------------------


def nodesplit_table(result: NmaResult, level: float = 0.95, **nma_kwargs) -> pd.DataFrame:
    """Node-split every comparison with direct and indirect evidence (same settings as
    ``result``): ``treatment, vs, direct, indirect, network`` (median log HR and interval),
    ``difference`` and its two-sided Bayesian p-value."""
    net = result.network
    rows = []
    for x, y in net.splittable():
        r = nma(
            net,
            effects=result.effects,
            method=result.method,
            model="nodesplit",
            split=(x, y),
            seed=(result.seed or 0) + 11,
            **nma_kwargs,
            **{k: v for k, v in _prior_kwargs(result).items()},
        )
        jdir = r.data.names.index("d_direct")
        c_dir = np.zeros(len(r.data.names))
        c_dir[jdir] = 1.0
        c_ind = r.vector(y, x)  # d_Y - d_X from the rest of the network
        # direct is the log HR of Y vs X
        if r.exact is not None:
            direct, indirect = r.exact.linear(c_dir), r.exact.linear(c_ind)
            diff = r.exact.linear(c_dir - c_ind)
        else:
            th = r.draws["theta"]
            direct, indirect, diff = (
                Draws(th @ c_dir),
                Draws(th @ c_ind),
                Draws(th @ (c_dir - c_ind)),
            )
        netw = result.effect(y, x)
        p_below = float(diff.cdf(0.0))
        row = {"treatment": y, "vs": x}
        for name, d in (
            ("direct", direct),
            ("indirect", indirect),
            ("network", netw),
            ("difference", diff),
        ):
            lo, hi = d.interval(level)
            row.update(
                {f"{name}_median": float(d.median()), f"{name}_lower": lo, f"{name}_upper": hi}
            )
        row["p_value"] = 2 * min(p_below, 1 - p_below)
        row["dic"] = r.dic()["DIC"]
        rows.append(row)
    return pd.DataFrame(rows)


def _prior_kwargs(result: NmaResult) -> dict[str, Prior]:
    out = {"d_prior": result.priors["d"]}
    if "tau" in result.priors:
        out["tau_prior"] = result.priors["tau"]
    if "baseline" in result.priors:
        out["baseline_prior"] = result.priors["baseline"]
    if "beta" in result.priors:
        out["beta_prior"] = result.priors["beta"]
    return out


def ume_table(result: NmaResult, level: float = 0.95) -> pd.DataFrame:
    """Posterior of each free comparison of an unrelated-mean-effects fit."""
    rows = []
    for j, name in enumerate(result.data.names):
        if result.exact is not None:
            d = result.exact.linear(j)
        else:
            d = Draws(result.draws["theta"][:, j])
        lo, hi = d.interval(level)
        rows.append(
            {
                "comparison": name,
                "mean": float(d.mean),
                "sd": float(d.sd),
                "median": float(d.median()),
                "lower": lo,
                "upper": hi,
            }
        )
    return pd.DataFrame(rows)


def consistency(
    result: NmaResult,
    level: float = 0.95,
    nodesplit: bool = True,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.95,
) -> dict:
    """TSD 4's checks of a consistency fit: the UME model's effects with DIC and LOO beside the
    consistency model's, and the node-split table."""
    kw = (
        {}
        if result.method == "exact"
        else {"draws": draws, "tune": tune, "chains": chains, "target_accept": target_accept}
    )
    ume = nma(
        result.network,
        effects=result.effects,
        method=result.method,
        model="ume",
        seed=(result.seed or 0) + 5,
        **kw,
        **_prior_kwargs(result),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = {
            "consistency": {**result.dic(), **_safe_loo(result)},
            "ume": {**ume.dic(), **_safe_loo(ume)},
        }
    out = {
        "fit": fit,
        "ume": ume_table(ume, level).to_dict(orient="records"),
        "ume_diagnostics": ume.diagnostics,
    }
    if nodesplit:
        splits = result.network.splittable()
        out["nodesplit"] = (
            nodesplit_table(result, level, **kw).to_dict(orient="records") if splits else []
        )
        if not splits:
            out["nodesplit_note"] = (
                "no comparison has both direct and indirect evidence (the "
                "network has no closed loop), so node-splitting cannot "
                "check consistency here"
            )
    return out


def _safe_loo(r: NmaResult) -> dict:
    try:
        loo = r.loo()
    except Exception as exc:  # noqa: BLE001
        return {"loo_error": str(exc)}
    return {f"loo_{k}" if not k.startswith("loo") else k: v for k, v in loo.items()}


def nma_file(
    path,
    reference: str | None = None,
    effects: str = "random",
    method: str = "auto",
    seed: int = 1,
    level: float = 0.95,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    d_prior: str | None = None,
    tau_prior: str | None = None,
    consistency_checks: bool = True,
    link: str = "cloglog",
    covariate: str | None = None,
) -> tuple[dict, NmaResult]:
    """Read DATA.csv, fit, check consistency; return the ``nma`` command's JSON and the result."""
    from bayesurv.synthesis.priors import parse_prior

    if not 0 < level < 1:
        raise InputError(f"--ci {level:g}: give a level between 0 and 1, e.g. 0.95.")
    dp = parse_prior(d_prior or DEFAULT_D_PRIOR, "mu", "--d-prior")
    tp = parse_prior(tau_prior or DEFAULT_TAU_PRIOR, "tau", "--tau-prior")
    net = read_network(path, reference=reference, link=link, covariate=covariate)
    res = nma(
        net,
        effects=effects,
        method=method,
        seed=seed,
        draws=draws,
        tune=tune,
        chains=chains,
        d_prior=dp,
        tau_prior=tp,
    )
    doc = res.summary(level=level)
    if consistency_checks:
        doc["consistency"] = consistency(res, level, draws=draws, tune=tune, chains=chains)
    doc["input"] = {"file": str(path), "n_studies": len(net.studies)}
    doc["provenance"] = provenance(seed=seed, inputs={"network": path})
    return doc, res
