"""Reconstruction uncertainty carried into the posterior.

A reconstructed IPD set is one imputation ``z`` of what the figure does not show: when
patients were censored between the printed numbers at risk, how many were censored after the
last printed time (dropout and an analysis cut-off whose start the figure does not give), how
the events of a drop that the clicks show only as a slope split at a printed time, and when the
events of unseen steps happened (:func:`bayesurv.reconstruct.reconstruct` with ``draws=K``;
its module docstring lists each step and its distribution). The posterior given the figure
``y`` integrates over it, and K reconstructions drawn at random estimate that integral by a
mixture of the K fits::

    p(theta | y) = E_{z | y} p(theta | y, z)  ~  (1/K) sum_k p(theta | y, z_k)

i.e. the K fits' posterior draws are stacked with equal weights.

Why the mixture and not Rubin's rules. The mixture is the Monte Carlo estimate of the integral
above, so it is the posterior itself when the ``z_k`` are draws from ``p(z | y)``, whatever its
shape; Rubin's rules (Rubin 1987) approximate the same posterior by a normal (or t) with the
K fits' mean and total variance ``T = W + (1 + 1/K) B`` (W: mean within-fit variance, B:
variance of the K fits' means). The mixture's variance is ``W + (1 - 1/K) B``: the two differ
by ``2B/K``, the allowance Rubin's rule makes for estimating the mean from K imputations
only. Here the fraction of missing information ``(1 + 1/K) B / T`` is small (in the coarse
design of ``benchmarks/bench_propagation.py``, the worst there, the between-reconstruction SD
of the log HR is 0.03 against a within-fit SD of 0.15: about 4%), so with K = 10 the two
variances differ by under 1% (widths by under 0.5%), while the mixture keeps the skewed shapes
that a normal rule would not (an HR, an RMST near its bound) and needs no degrees of freedom.
With few reconstructions and much missing information (a small arm, no table) the ``2B/K``
matters: use more draws, and read :func:`rubin`'s decomposition, reported beside the mixture
(see also Zhou & Reiter 2010, Am Stat 64:159, on mixing completed-data posterior draws, which
needs many imputations). :func:`widening` states how much wider each interval became:
``width(pooled) / width(single reconstruction)``.

What is assumed: the draws' distributions of what the figure does not pin (in particular
administrative censoring after the last printed time as from uniform entry, with a minimum
follow-up uniform between that time and the curve's end). ``benchmarks/bench_propagation.py``
checks the coverage of the pooled intervals by simulation. What the draws leave fixed, measured
on its coarse design (numbers at risk at 0 and 30 months, sparse clicks, the minimum follow-up
36 months; 60 trials, K = 20; the pooled centre of the log HR misses the true IPD's by SD
0.042, mean -0.017, where the draws' own SD is 0.031):

* click-reading error: not drawn, and it does not matter there: with every censoring time
  given (censor marks) the miss is SD 0.0232 with 1-pixel noise, 0.0235 without;
* censoring within [0, 30) (its placement; the table pins its count) and the split of the
  slope at 30: the true censoring times given there, or no split, leave the miss at 0.043 and
  0.044 (both move ~2 events per arm between [0, 30) and after it, not the HR);
* events' times between sparse clicks: not drawing them leaves the miss at 0.044;
* the censoring after 30: its count is centred on the truth in the control arm (21.3 drawn vs
  21.5) and 3 short in the treated arm (32.0 vs 35.2), with a spread about twice the miss
  (truth - mean over SD: SD 0.5-0.65).

The minimum-follow-up prior is *not* what biases the pooled log HR. Re-measured on 150 trials
(``--seed 2026``, K = 10, coarse design; Weibull MLE of the log HR per reconstruction, the
draws' mean minus the simulated IPD's, with its Monte Carlo SE): +0.0121 (0.0033) as shipped;
with the minimum follow-up fixed at its true 36 +0.0093 (0.0020); with the cut-off's end at
the true 60 months instead of the curve's end (57.5-58.7) +0.0084 (0.0033); with each
interval's censorings placed with density S(t) (1 + b (2u - 1)) (following the patients at
risk) in place of 1 + b (2u - 1) +0.0124 (0.0034); with both +0.0092 (0.0020). Per interval
(mean draw - truth per arm, control / treated): the even-in-time placement puts too few
censorings before 30 (-2.8 / -1.7; truth: dropout alone, which follows the falling number at
risk: -4.2 / -3.6 in [0, 10), +1.9 / +2.3 in [20, 30)), so as many too many events there; the
S(t) density brings that to -1.0 / -0.9 and leaves the HR as it was. After 30 the prior places
the censoring late (-4.1 / -8.5 in [30, 50), +4.8 / +7.2 from 50 to the end; the count is
+0.7 / -1.2, so -0.7 / +1.2 events); the true minimum follow-up puts the timing right (+2.5 /
+1.6 in [30, 50)) and removes about a quarter of the bias. The remaining +0.009 is not from
where censoring is placed, nor (each with the minimum follow-up at 36) from the unseen steps'
event times (+0.0091 without drawing them), the split at 30 (+0.0102 without it) or the
redraws (+0.0092 without them); not yet measured: the sequential rounding of the events at
sparse clicks. ``benchmarks/propagation_intervals.py`` reproduces every number here
(``--variant`` a36, end60, atrisk, noevt, nosplit, noredraw).

Weighting the draws by how well their KM follows the clicks (importance weights, 1-pixel
Gaussian reading error) was tried and not kept: the weights favour draws with fewer censored
(more at risk fit the sequential rounding better), the weighted mean count moved away from the
truth (treated 25.8 vs 31.5 unweighted, truth 35.4) and the effective number of draws was 1.6
of 20.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.batch.tasks import Task, task_seed
from bayesurv.errors import InputError
from bayesurv.intervals import summary, width


def imputations(
    arms: Mapping[str, Mapping[str, Any]], *, draws: int, seed: int, arm: str = "arm"
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """The reconstruction of every arm and ``draws`` random reconstructions of them.

    ``arms`` maps an arm label to :func:`~bayesurv.reconstruct.reconstruct`'s inputs
    (``{"curve": clicks, "at_risk": nar, "total_events": 120, ...}``). Returns the IPD of the
    deterministic reconstruction (censoring spread evenly) and a list of ``draws`` IPD tables,
    each arm's k-th draw stacked, all with an ``arm`` column. Each arm's draws are seeded from
    ``seed`` and the arm's label.

    Examples
    --------
    >>> clicks = pd.DataFrame({"time": [0, 2, 2, 5, 5, 9, 9, 12],
    ...                        "survival": [1, 1, .9, .9, .75, .75, .6, .6]})
    >>> nar = pd.DataFrame({"time": [0, 6], "at_risk": [20, 14]})
    >>> best, sets = imputations({"a": {"curve": clicks, "at_risk": nar},
    ...                           "b": {"curve": clicks, "at_risk": nar}}, draws=3, seed=1)
    >>> len(best), len(sets), sorted(set(sets[0]["arm"]))
    (40, 3, ['a', 'b'])
    """
    from bayesurv.reconstruct import reconstruct

    if int(draws) < 2:
        raise InputError(f"draws={draws!r}: carrying reconstruction uncertainty needs at least 2.")
    best, sets = [], [[] for _ in range(int(draws))]
    for label, kw in arms.items():
        kw = dict(kw)
        curve = kw.pop("curve", None)
        if curve is None:
            raise InputError(f"arm {label!r} has no 'curve' to reconstruct from.")
        r = reconstruct(
            curve,
            kw.pop("at_risk", None),
            draws=int(draws),
            seed=task_seed(seed, f"reconstruct/{label}"),
            **kw,
        )
        best.append(r.ipd.assign(**{arm: str(label)}))
        for k, ipd in enumerate(r.draws):
            sets[k].append(ipd.assign(**{arm: str(label)}))
    return (pd.concat(best, ignore_index=True), [pd.concat(s, ignore_index=True) for s in sets])


def posterior_draws(value: Any) -> xr.Dataset:
    """The per-draw scalars of a fit (``chain, draw`` and at most an ``arm`` dim): a Laplace
    fit's dataset as it is; a NUTS result's ``posterior`` and ``derived`` groups merged."""
    if isinstance(value, xr.Dataset):
        ds = value
    elif isinstance(value, xr.DataTree):
        parts = [value[g].to_dataset() for g in ("posterior", "derived") if g in value.children]
        if not parts:
            raise InputError("a fit result without a posterior cannot be pooled.")
        ds = xr.merge(parts, compat="override", join="exact")
    else:
        raise InputError(f"cannot pool a fit value of type {type(value).__name__}.")
    keep = [
        n
        for n, v in ds.data_vars.items()
        if {"chain", "draw"} <= set(v.dims) and set(v.dims) <= {"chain", "draw", "arm"}
    ]
    return ds[keep]


def pool(posteriors: Sequence[Any]) -> xr.Dataset:
    """The mixture of K fits: their draws stacked, fit k's chains becoming chains
    ``k*C .. k*C + C - 1`` (a non-index coordinate ``imputation`` on ``chain`` says which)."""
    sets = [posterior_draws(p) for p in posteriors]
    if len(sets) < 2:
        raise InputError("pooling needs the fits of at least 2 reconstructions.")
    shapes = {(s.sizes["chain"], s.sizes["draw"]) for s in sets}
    if len(shapes) > 1:
        raise InputError(
            f"the fits to pool have different numbers of draws {sorted(shapes)}; "
            "fit every reconstruction with the same draws and chains."
        )
    names = set.intersection(*(set(s.data_vars) for s in sets))
    C = sets[0].sizes["chain"]
    parts = []
    for k, s in enumerate(sets):
        s = s[sorted(names)].assign_coords(chain=np.arange(k * C, (k + 1) * C))
        parts.append(s.assign_coords(imputation=("chain", np.full(C, k))))
    out = xr.concat(parts, dim="chain", join="exact")
    out.attrs = {"pooled": "mixture", "imputations": len(sets)}
    return out


def _interval(v: xr.DataArray, ci: float) -> tuple[float, float, float]:
    q = summary(v, ci)  # the one interval rule: median and equal-tailed limits of the draws
    return q["lower"], q["median"], q["upper"]


def _scalars(ds: xr.Dataset, names) -> dict[str, xr.DataArray]:
    out = {}
    for n in names if names is not None else ds.data_vars:
        if n not in ds:
            raise InputError(
                f"the fits have no quantity {n!r}; choose from {sorted(ds.data_vars)}."
            )
        v = ds[n]
        if "arm" in v.dims:
            for a in v["arm"].values:
                out[f"{n}[{a}]"] = v.sel(arm=a)
        else:
            out[n] = v
    return out


def widening(
    single: Any,
    pooled: xr.Dataset,
    *,
    ci: float | None = None,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Interval of each quantity from one reconstruction and pooled over K: the limits, the
    widths and their ratio (``width_ratio`` > 1: the single reconstruction was too narrow).
    ``ci``: the intervals' width (equal-tailed, :mod:`bayesurv.intervals`); default the width in
    force (:func:`bayesurv.intervals.ci_width`: the CLI's ``--ci``, a spec's ``ci``), 0.95
    unless set."""
    ci = width(ci)
    a = _scalars(posterior_draws(single), names)
    b = _scalars(pooled, names)
    rows = []
    for n in a:
        if n not in b:
            continue
        lo1, m1, hi1 = _interval(a[n], ci)
        lo2, m2, hi2 = _interval(b[n], ci)
        w1, w2 = hi1 - lo1, hi2 - lo2
        rows.append(
            {
                "quantity": n,
                "ci": ci,
                "single_median": m1,
                "single_lower": lo1,
                "single_upper": hi1,
                "pooled_median": m2,
                "pooled_lower": lo2,
                "pooled_upper": hi2,
                "single_width": w1,
                "pooled_width": w2,
                "width_ratio": w2 / w1 if w1 > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def rubin(posteriors: Sequence[Any], names: Sequence[str] | None = None) -> pd.DataFrame:
    """Rubin's decomposition per quantity: W (mean within-fit variance), B (between the fits'
    means), T = W + (1 + 1/K) B and the fraction of missing information (1 + 1/K) B / T."""
    sets = [_scalars(posterior_draws(p), names) for p in posteriors]
    K = len(sets)
    rows = []
    for n in sets[0]:
        means = np.array([float(s[n].mean()) for s in sets])
        W = float(np.mean([float(s[n].var(ddof=1)) for s in sets]))
        B = float(np.var(means, ddof=1))
        T = W + (1 + 1 / K) * B
        rows.append(
            {
                "quantity": n,
                "K": K,
                "W": W,
                "B": B,
                "T": T,
                "missing_information": (1 + 1 / K) * B / T if T > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class Propagated:
    """A fit with reconstruction uncertainty: the single reconstruction's posterior, the
    pooled mixture, how much wider each interval became, and Rubin's decomposition."""

    single: Any
    pooled: xr.Dataset
    widening: pd.DataFrame
    rubin: pd.DataFrame
    failed: dict[str, str]
    fits: list = field(default_factory=list, repr=False)


def propagate(
    arms: Mapping[str, Mapping[str, Any]],
    *,
    seed: int,
    draws: int = 20,
    fit: Callable | str = "bayesurv.laplace:laplace_fit",
    fit_inputs: Mapping[str, Any] | None = None,
    threads: int = 1,
    scheduler: str = "serial",
    out: str | Path | None = None,
    resume: bool = False,
    ci: float | None = None,
    names: Sequence[str] | None = None,
    progress: bool = False,
) -> Propagated:
    """Reconstruct every arm ``draws`` times, fit each reconstruction (one task each, on
    ``scheduler``), pool by mixture and say how much wider the intervals became.

    ``fit(ipd, **fit_inputs, seed=...)`` is any fit task: the MCMC-free
    :func:`bayesurv.laplace.laplace_fit` by default, or
    :func:`bayesurv.batch.fits.fit_task` (NUTS; then ``threads`` = its chains). The single
    reconstruction's fit is task ``single``, the K others ``imputation/k``; with ``out`` the
    values and records are written there as they finish (``resume`` skips the finished ones),
    then ``widening.csv``, ``rubin.csv`` and ``pooled.nc``. ``ci``: the width of the intervals
    compared (default the width in force, 0.95 unless set; see :func:`widening`).
    """
    from bayesurv.batch.job import run

    ci = width(ci)  # a bad width is refused before any fit

    plan = files = None
    if out is not None:  # the job folder's three results, checked before any fit
        from bayesurv.outputs import OutputPlan

        plan = OutputPlan(out, force=True)  # the folder is the job's; a resumed job rewrites
        files = [
            plan.add(name, option="--out", kind=kind)
            for name, kind in (
                ("widening.csv", "csv"),
                ("rubin.csv", "csv"),
                ("pooled.nc", "netcdf"),
            )
        ]
    best, sets = imputations(arms, draws=draws, seed=seed)
    kw = dict(fit_inputs or {})
    tasks = [Task("single", fit, {"ipd": best, **kw}, threads=threads, structure="fit")]
    tasks += [
        Task(f"imputation/{k:03d}", fit, {"ipd": ipd, **kw}, threads=threads, structure="fit")
        for k, ipd in enumerate(sets)
    ]
    res = run(
        tasks,
        seed=seed,
        scheduler=scheduler,
        out=out,
        resume=resume,
        force=not resume,
        progress=progress,
        label="reconstructions",
    )
    if "single" not in res:
        raise InputError(f"the fit of the reconstruction failed: {res.failed.get('single')}")
    fits = [res[t.key] for t in tasks[1:] if t.key in res]
    if len(fits) < 2:
        raise InputError(
            "fewer than 2 reconstructions could be fitted: "
            + "; ".join(f"{k}: {v}" for k, v in res.failed.items())
        )
    pooled = pool(fits)
    table = widening(res["single"], pooled, ci=ci, names=names)
    decomposition = rubin(fits, names=names)
    pooled.attrs["widening"] = json.dumps(table.to_dict(orient="records"))
    if plan is not None:  # all three or none
        with plan.writing():
            plan.csv(files[0], table, float_format=None)
            plan.csv(files[1], decomposition, float_format=None)
            plan.netcdf(files[2], pooled)
    return Propagated(
        single=res["single"],
        pooled=pooled,
        widening=table,
        rubin=decomposition,
        failed=res.failed,
        fits=fits,
    )
