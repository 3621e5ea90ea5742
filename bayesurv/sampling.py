"""NUTS sampling with nutpie, and the convergence checks run after every fit.

One place decides how bayesurv samples (nutpie, 4 chains, seeded) and what counts as a
converged fit (R-hat <= 1.01, bulk and tail ESS >= 400, no divergences; Vehtari et al. 2021).
Models whose structure is fixed and whose data change are compiled once
(:func:`compile_model`) and re-used through nutpie's ``with_data``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import nutpie
import pymc as pm
import xarray as xr

RHAT_MAX = 1.01
ESS_MIN = 400


class ConvergenceWarning(UserWarning):
    """A fit whose R-hat, ESS or divergences fail the checks in :func:`diagnostics`."""


def compile_model(model: pm.Model):
    """Compile a PyMC model for nutpie once; re-use it with ``compiled.with_data(name=array)``."""
    return nutpie.compile_pymc_model(model)


def sample(
    model,
    *,
    seed: int,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    progress: bool = False,
    target_accept: float = 0.8,
    adaptation: str = "diag",
) -> xr.DataTree:
    """Draw from the posterior of ``model`` (a ``pm.Model`` or a compiled nutpie model).

    Returns the ArviZ DataTree that nutpie produces (``posterior``, ``sample_stats``,
    ``warmup_*``). ``seed`` is required: every random step in bayesurv is seeded.
    ``adaptation="low_rank"`` uses nutpie's low-rank mass-matrix adaptation, which samples
    strongly correlated posteriors (survival families' shape and scale) far more efficiently.
    """
    compiled = compile_model(model) if isinstance(model, pm.Model) else model
    kwargs = dict(
        draws=draws,
        tune=tune,
        chains=chains,
        seed=int(seed),
        progress_bar=progress,
        target_accept=target_accept,
    )
    if adaptation != "diag":
        kwargs["adaptation"] = adaptation
    if cores is not None:
        kwargs["cores"] = cores
    return nutpie.sample(compiled, **kwargs)


@dataclass(frozen=True)
class Diagnostics:
    """Worst-case convergence summaries over the monitored parameters."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    chains: int
    draws: int

    @property
    def problems(self) -> list[str]:
        """Plain-language descriptions of every failed check (empty when all pass)."""
        out = []
        if not np.isfinite(self.rhat_max) or self.rhat_max > RHAT_MAX:
            out.append(f"R-hat is {self.rhat_max:.3f} (should be <= {RHAT_MAX})")
        if self.ess_bulk_min < ESS_MIN:
            out.append(f"bulk ESS is {self.ess_bulk_min:.0f} (should be >= {ESS_MIN})")
        if self.ess_tail_min < ESS_MIN:
            out.append(f"tail ESS is {self.ess_tail_min:.0f} (should be >= {ESS_MIN})")
        if self.divergences > 0:
            out.append(f"{self.divergences} divergent transitions")
        return out

    def as_dict(self) -> dict[str, float | int]:
        return {
            "rhat_max": float(self.rhat_max),
            "ess_bulk_min": float(self.ess_bulk_min),
            "ess_tail_min": float(self.ess_tail_min),
            "divergences": int(self.divergences),
            "chains": int(self.chains),
            "draws": int(self.draws),
        }


def _worst(ds: xr.Dataset, how: str) -> float:
    vals = [np.asarray(v.values, dtype=float).ravel() for v in ds.data_vars.values()]
    vals = np.concatenate(vals) if vals else np.array([np.nan])
    vals = vals[np.isfinite(vals)] if how == "min" else vals
    if vals.size == 0:
        return float("nan")
    return float(np.nanmax(vals) if how == "max" else np.nanmin(vals))


def diagnostics(idata: xr.DataTree, var_names: list[str] | None = None) -> Diagnostics:
    """R-hat (rank-normalized), bulk and tail ESS, and divergences, computed by ArviZ."""
    post = idata["posterior"].to_dataset()
    if var_names is not None:
        post = post[var_names]
    rhat = az.rhat(post)
    ess_bulk = az.ess(post, method="bulk")
    ess_tail = az.ess(post, method="tail")
    div = 0
    if "sample_stats" in idata.children and "diverging" in idata["sample_stats"]:
        div = int(np.asarray(idata["sample_stats"]["diverging"].values).sum())
    return Diagnostics(
        rhat_max=_worst(rhat, "max"),
        ess_bulk_min=_worst(ess_bulk, "min"),
        ess_tail_min=_worst(ess_tail, "min"),
        divergences=div,
        chains=int(post.sizes["chain"]),
        draws=int(post.sizes["draw"]),
    )


def check(diag: Diagnostics, what: str = "the fit") -> Diagnostics:
    """Warn (``ConvergenceWarning``) in plain words when ``diag`` fails a check; return it."""
    if diag.problems:
        warnings.warn(
            f"{what} may not have converged: " + "; ".join(diag.problems)
            + " - run more draws (--draws), or treat these results with caution.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return diag
