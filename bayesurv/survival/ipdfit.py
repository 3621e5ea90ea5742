"""Fit a parametric survival model to IPD: the public API.

``fit(ipd, "weibull", seed=1)`` validates the table (``time``, ``event``, optional ``arm`` and
``entry``), builds or re-uses the compiled PyMC model (:mod:`bayesurv.survival.model`), samples
with nutpie, checks convergence (a ``ConvergenceWarning`` in plain words when R-hat, ESS or
divergences fail) and returns an ArviZ DataTree:

* ``posterior``: sampled parameters, flexsurv's parameters, ``log_hr``/``log_tr``;
* ``sample_stats``; ``observed_data.time`` with ``constant_data.time`` the event indicator
  (ArviZ's censored-data layout) plus ``constant_data.arm`` / ``entry``;
* ``log_likelihood.time``: per-patient log-likelihood (for LOO);
* ``posterior_predictive.time``: replicated event times (uncensored);
* ``derived``: survival, hazard, hazard_ratio, median, mean, rmst (+ ``*_diff`` between arms)
  on a ``time`` coordinate with an ``arm`` dim;
* attrs: provenance (seed, versions, input hash), the spec, priors used, diagnostics.

``summarize`` turns it into tidy tables; ``save``/``load`` round-trip NetCDF.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.provenance import provenance
from bayesurv.sampling import check, diagnostics
from bayesurv.survival import quantities as Q
from bayesurv.survival.families import NP, get_family
from bayesurv.survival.model import (
    ModelSpec,
    compiled_model,
    default_priors,
    make_spec,
)

#: above this many (draws x patients) values the per-patient groups are left out (memory)
MAX_POINTWISE = 20_000_000


def _shown(value) -> str:
    """A cell as the user wrote it: text quoted, numbers plain (not ``np.int64(-1)``)."""
    return repr(value) if isinstance(value, str) else f"{value}"


def prepare(
    ipd: pd.DataFrame,
    *,
    arm_column: str | None = None,
    entry_column: str | None = None,
    source: str = "the IPD table",
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Validate IPD and return the model's data arrays and the arm labels (reference first)."""
    if not isinstance(ipd, pd.DataFrame) or len(ipd) == 0:
        raise InputError(f"{source} is empty; give one row per patient with columns time,event.")
    for col in ("time", "event", *(c for c in (arm_column, entry_column) if c)):
        if col not in ipd.columns:
            raise InputError(
                f"{source} has no column {col!r}; "
                f"its columns are {', '.join(map(str, ipd.columns))}."
            )
    time = pd.to_numeric(ipd["time"], errors="coerce").to_numpy(float)
    event = pd.to_numeric(ipd["event"], errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~np.isfinite(time) | (time <= 0))
    if bad.size:
        raise InputError(
            f"{source}, row {bad[0] + 1}: time must be a positive number, got "
            f"{_shown(ipd['time'].iloc[bad[0]])}; drop or correct that row."
        )
    bad = np.flatnonzero(~np.isin(event, (0.0, 1.0)))
    if bad.size:
        raise InputError(
            f"{source}, row {bad[0] + 1}: event must be 1 (event) or 0 (censored), got "
            f"{_shown(ipd['event'].iloc[bad[0]])}."
        )
    if arm_column:
        arms = ipd[arm_column].astype(str).to_numpy()
        labels = list(dict.fromkeys(arms))  # reference = first arm in the file
        if len(labels) > 2:
            raise InputError(
                f"{source}, column {arm_column!r} has {len(labels)} arms; fit one or two arms."
            )
        arm_idx = np.array([labels.index(a) for a in arms], dtype=int)
    else:
        labels, arm_idx = ["all"], np.zeros(len(time), dtype=int)
    for a, lab in enumerate(labels):
        if event[arm_idx == a].sum() == 0:
            where = f" in arm {lab!r}" if arm_column else ""
            raise InputError(
                f"{source} has no events{where}; a survival model needs at least one event."
            )
    data = {
        "time": time,
        "event": event,
        "arm": arm_idx.astype(float),
        "log_t_ref": float(np.log(np.median(time))),
    }
    if entry_column:
        entry = pd.to_numeric(ipd[entry_column], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(entry) | (entry < 0) | (entry >= time))
        if bad.size:
            raise InputError(
                f"{source}, row {bad[0] + 1}: {entry_column} must be >= 0 and below time."
            )
        data["entry"] = entry
    return data, labels


def _sample(compiled, *, seed: int, draws: int, tune: int, chains: int) -> xr.DataTree:
    """nutpie NUTS with its low-rank mass-matrix adaptation.

    Survival parameters are strongly correlated (gengamma's mu and Q: about 0.9 on GBSG2); the
    diagonal adaptation gave bulk ESS 144 of 1000 draws there, the low-rank one 1236 in a third
    of the time.
    """
    from bayesurv.sampling import sample

    return sample(compiled, seed=seed, draws=draws, tune=tune, chains=chains, adaptation="low_rank")


def default_times(max_time: float, n: int = 41) -> np.ndarray:
    """A time grid from 0 to the last observed time."""
    return np.linspace(0.0, float(max_time), n)


def fit(
    ipd: pd.DataFrame,
    family: str,
    *,
    seed: int,
    arm_column: str | None = None,
    effect: str | None = None,
    entry_column: str | None = None,
    priors: dict | None = None,
    times=None,
    rmst_to: float | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    pointwise: bool | None = None,
    source: str = "the IPD table",
    inputs: dict | None = None,
) -> xr.DataTree:
    """Fit ``family`` to IPD by NUTS and return the result DataTree (see module docstring).

    Parameters
    ----------
    ipd : one row per patient: ``time`` (> 0), ``event`` (1 event, 0 censored), optionally an
        arm column (two arms; the first one seen is the reference) and an entry-time column.
    family : exponential, weibull, gompertz, lognormal, loglogistic, gengamma.
    seed : required; the fit is reproducible from it.
    effect : with two arms: ``"ph"`` (default where the family allows), ``"aft"``, or
        ``"separate"``.
    priors : overrides by sampled-parameter name, e.g. ``{"log_shape": {"dist": "Normal",
        "mu": 0, "sigma": 0.5}}`` (see :mod:`bayesurv.survival.model` for the defaults).
    times : time grid of the derived curves (default: 41 points from 0 to the last time).
    rmst_to : horizon of the RMST (default: the last observed time).
    pointwise : keep per-patient log-likelihood and predictive draws (default: when they
        take fewer than ``MAX_POINTWISE`` values).

    Examples
    --------
    >>> import pandas as pd
    >>> ipd = pd.DataFrame({"time": [5., 8., 12., 20., 3.], "event": [1, 1, 0, 1, 1]})
    >>> res = fit(ipd, "exponential", seed=1, draws=200, tune=200, chains=2)  # doctest: +SKIP
    """
    fam = get_family(family)
    data, labels = prepare(ipd, arm_column=arm_column, entry_column=entry_column, source=source)
    if times is not None:
        times = np.asarray(times, float).ravel()
        if times.size == 0 or not np.all(np.isfinite(times) & (times >= 0)):
            raise InputError("times must be non-negative numbers, e.g. 12, 24, 60.")
    if rmst_to is not None and not (np.isfinite(rmst_to) and rmst_to > 0):
        raise InputError(f"the RMST horizon must be a positive number, got {rmst_to!r}.")
    spec = make_spec(
        fam.name,
        effect=effect,
        n_arms=len(labels),
        truncation=entry_column is not None,
        priors=priors,
    )
    compiled, _ = compiled_model(spec, data, labels)
    tree = _sample(compiled, seed=seed, draws=draws, tune=tune, chains=chains)
    post = tree["posterior"].to_dataset()
    if "arm" in post.dims:
        post = post.assign_coords(arm=labels)
    diag = check(diagnostics(tree, var_names=spec.sampled), what=f"the {fam.name} fit")

    n = len(data["time"])
    if pointwise is None:
        pointwise = n * chains * draws <= MAX_POINTWISE
    times = default_times(data["time"].max()) if times is None else np.asarray(times, float)
    if rmst_to is None:
        rmst_to = float(data["time"].max())
    groups: dict[str, xr.Dataset] = {
        "posterior": post,
        "sample_stats": tree["sample_stats"].to_dataset(),
    }
    patient = np.arange(n)
    groups["observed_data"] = xr.Dataset(
        {"time": ("patient", data["time"])}, coords={"patient": patient}
    )
    const = {
        "time": ("patient", data["event"].astype(int)),
        "arm": ("patient", np.asarray(labels)[data["arm"].astype(int)]),
    }
    if spec.truncation:
        const["entry"] = ("patient", data["entry"])
    groups["constant_data"] = xr.Dataset(const, coords={"patient": patient})
    if pointwise:
        groups["log_likelihood"] = xr.Dataset({"time": log_likelihood(post, spec, labels, data)})
        groups["posterior_predictive"] = xr.Dataset(
            {"time": predictive_times(post, spec, labels, data, seed=seed)}
        )
    groups["derived"] = Q.derived(post, spec, labels, times, rmst_to)

    result = xr.DataTree.from_dict(groups)
    result.attrs.update(
        {
            "family": fam.name,
            "effect": spec.effect,
            "arms": json.dumps(labels),
            "spec": json.dumps(
                {
                    "family": spec.family,
                    "effect": spec.effect,
                    "n_arms": spec.n_arms,
                    "truncation": spec.truncation,
                    "priors": spec.priors,
                }
            ),
            "priors": json.dumps(default_priors(spec, float(np.exp(data["log_t_ref"])))),
            "diagnostics": json.dumps(diag.as_dict()),
            "provenance": json.dumps(provenance(seed=seed, inputs=inputs), default=str),
        }
    )
    return result


def prior_predictive(
    ipd: pd.DataFrame,
    family: str,
    *,
    seed: int,
    arm_column: str | None = None,
    effect: str | None = None,
    entry_column: str | None = None,
    priors: dict | None = None,
    draws: int = 1000,
    times=None,
    rmst_to: float | None = None,
) -> xr.DataTree:
    """Draws from the prior: ``prior`` (parameters), ``prior_predictive.time`` (event times for
    each patient's arm, uncensored) and ``derived`` (S(t), median, RMST, ... under the prior).

    Use it to see what the priors say on the scale of the data before fitting.
    """
    import pymc as pm

    from bayesurv.survival.model import build_model

    fam = get_family(family)
    data, labels = prepare(ipd, arm_column=arm_column, entry_column=entry_column)
    spec = make_spec(
        fam.name,
        effect=effect,
        n_arms=len(labels),
        truncation=entry_column is not None,
        priors=priors,
    )
    model = build_model(spec, data, labels)
    names = list(dict.fromkeys([*spec.sampled, *fam.params]))
    with model, warnings.catch_warnings():
        # the likelihood Potential is what a prior draw must ignore
        warnings.filterwarnings("ignore", message="The effect of Potentials", category=UserWarning)
        pp = pm.sample_prior_predictive(draws=draws, random_seed=seed, var_names=names)
    prior = pp["prior"].to_dataset()
    if "arm" in prior.dims:
        prior = prior.assign_coords(arm=labels)
    times = default_times(data["time"].max()) if times is None else np.asarray(times, float)
    rmst_to = float(data["time"].max()) if rmst_to is None else rmst_to
    return xr.DataTree.from_dict(
        {
            "prior": prior,
            "prior_predictive": xr.Dataset(
                {"time": predictive_times(prior, spec, labels, data, seed=seed)}
            ),
            "derived": Q.derived(prior, spec, labels, times, rmst_to),
        }
    )


def spec_of(result: xr.DataTree) -> tuple[ModelSpec, list[str]]:
    """The :class:`ModelSpec` and arm labels a result was fitted with."""
    s = json.loads(result.attrs["spec"])
    spec = make_spec(
        s["family"],
        effect=s["effect"] if s["n_arms"] == 2 else None,
        n_arms=s["n_arms"],
        truncation=s["truncation"],
        priors=s["priors"],
    )
    return spec, json.loads(result.attrs["arms"])


def _patient_params(post, spec, labels, arm_idx):
    params = Q.arm_params(post, spec, labels)
    return {k: np.asarray(v.values)[:, :, arm_idx] for k, v in params.items()}


def log_likelihood(post: xr.Dataset, spec: ModelSpec, labels, data) -> xr.DataArray:
    """Per-patient log-likelihood draws, dims ``(chain, draw, patient)``; the fit's formula."""
    fam = spec.fam
    arm_idx = data["arm"].astype(int)
    p = _patient_params(post, spec, labels, arm_idx)
    entry = data.get("entry") if spec.truncation else None
    ll = fam.loglik(NP, data["time"], data["event"], entry, **p)
    return xr.DataArray(
        ll, dims=("chain", "draw", "patient"), coords={"chain": post.chain, "draw": post.draw}
    )


def predictive_times(post, spec, labels, data, *, seed: int) -> xr.DataArray:
    """Replicated event times (no censoring), dims ``(chain, draw, patient)``."""
    fam = spec.fam
    rng = np.random.default_rng([seed, 7])
    p = _patient_params(post, spec, labels, data["arm"].astype(int))
    shape = next(iter(p.values())).shape
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        t = fam.inv_cum_hazard(rng.exponential(size=shape), **p)
    return xr.DataArray(
        t, dims=("chain", "draw", "patient"), coords={"chain": post.chain, "draw": post.draw}
    )


def _interval(da: xr.DataArray, ci: float = 0.95) -> tuple[xr.DataArray, ...]:
    lo, hi = (1 - ci) / 2, 1 - (1 - ci) / 2
    big = np.finfo(float).max  # infinite draws (no finite mean/median) sort last, stay inf
    q = da.where(~np.isposinf(da), big).quantile([0.5, lo, hi], dim=("chain", "draw"))
    q = q.where(q < 1e300, np.inf)  # interpolated towards an infinite draw: infinite
    return (
        q.sel(quantile=0.5, drop=True),
        q.sel(quantile=lo, drop=True),
        q.sel(quantile=hi, drop=True),
    )


def summarize(result: xr.DataTree, quantity: str = "survival", ci: float = 0.95) -> pd.DataFrame:
    """Tidy table of a derived quantity: one row per (arm, time), columns median/lower/upper.

    ``quantity`` is a variable of the ``derived`` group (survival, hazard, hazard_ratio,
    median, mean, rmst, surv_diff, hr, ...). Intervals are equal-tailed.
    """
    ds = result["derived"].to_dataset()
    if quantity not in ds:
        raise InputError(
            f"the result has no quantity {quantity!r}; choose one of {', '.join(ds.data_vars)}."
        )
    da = ds[quantity]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf draws (no finite mean) are fine
        med, lo, hi = _interval(da, ci)
    ds_q = xr.Dataset({"median": med, "lower": lo, "upper": hi})
    if not ds_q.dims:  # a scalar quantity (e.g. rmst_diff): one row
        df = pd.DataFrame({k: [float(v)] for k, v in ds_q.items()})
    else:
        df = ds_q.to_dataframe().reset_index()
    keep = [c for c in ("arm", "time") if c in df.columns] + ["median", "lower", "upper"]
    return df[keep]


def save(result: xr.DataTree, path: str | Path) -> None:
    """Write a result to NetCDF (all groups and attributes)."""
    result.to_netcdf(path)


def load(path: str | Path) -> xr.DataTree:
    """Read a result written by :func:`save`."""
    return xr.open_datatree(path).load()
