"""Model comparison (NICE DSU TSD 14): LOO, AIC/BIC, stacking weights, model-averaged curves.

For each fitted family: PSIS-LOO by ArviZ (``elpd_loo``, its ``se``, ``p_loo``,
``looic = -2 elpd_loo``) from the per-patient log-likelihood, stacking weights from
``az.compare``, and, for familiarity, AIC = 2k - 2 max log L and BIC = k log n - 2 max log L at
the maximum likelihood (found by Nelder-Mead from the best posterior draw, on the sampled
parameters, with the same formulas as the fit). The model-averaged survival curve is the
stacking-weighted mixture of the families' posterior draws of S(t).
"""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pandas as pd
import scipy.optimize as so
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.survival.families import NP
from bayesurv.survival.ipdfit import spec_of
from bayesurv.survival.model import natural_params


def _data(result: xr.DataTree) -> dict[str, np.ndarray]:
    labels = json.loads(result.attrs["arms"])
    arm = result["constant_data"]["arm"].values
    data = {
        "time": result["observed_data"]["time"].values.astype(float),
        "event": result["constant_data"]["time"].values.astype(float),
        "arm": np.array([labels.index(str(a)) for a in arm], dtype=int),
    }
    if "entry" in result["constant_data"]:
        data["entry"] = result["constant_data"]["entry"].values.astype(float)
    return data


def max_loglik(result: xr.DataTree) -> tuple[float, int]:
    """Maximum of the log-likelihood (no priors) and the number of parameters."""
    spec, labels = spec_of(result)
    fam = spec.fam
    data = _data(result)
    post = result["posterior"].to_dataset()
    names = spec.sampled
    separate = spec.effect == "separate"
    n_per = len(labels) if separate else 1
    sizes = [n_per if n in post and "arm" in post[n].dims else 1 for n in names]
    log_ref = float(np.log(np.median(data["time"])))  # as in fit.prepare
    entry = data.get("entry")

    def unpack(vec):
        out, i = {}, 0
        for n, k in zip(names, sizes, strict=True):
            out[n] = vec[i : i + k] if k > 1 else vec[i]
            i += k
        return out

    def loglik(vec):
        raw = unpack(vec)
        nat = natural_params(spec, raw, log_ref, NP)
        x = data["arm"]
        if separate:
            p = {k: np.asarray(v)[x] for k, v in nat.items()}
            return fam.loglik(NP, data["time"], data["event"], entry, **p).sum()
        if spec.effect in ("ph", "aft"):
            beta = raw[spec.effect_name]
            mapping = fam.ph if spec.effect == "ph" else fam.aft
            p1 = mapping(nat, beta)
            p = {k: np.where(x == 1, p1[k], nat[k]) for k in nat}
        else:
            p = nat
        return fam.loglik(NP, data["time"], data["event"], entry, **p).sum()

    flat = np.column_stack(
        [
            post[n].transpose("chain", "draw", ...).values.reshape(-1, k)
            for n, k in zip(names, sizes, strict=True)
        ]
    )
    total = result["log_likelihood"]["time"].sum("patient").values.ravel()
    x0 = flat[int(np.nanargmax(total))]
    with np.errstate(all="ignore"):
        res = so.minimize(
            lambda v: -loglik(v),
            x0,
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 4000},
        )
    best = max(-res.fun, float(np.nanmax(total)))
    return float(best), int(flat.shape[1])


def compare(results: dict[str, xr.DataTree]) -> pd.DataFrame:
    """TSD 14 comparison table, one row per model, best (highest elpd_loo) first.

    Columns: ``model, elpd_loo, se, p_loo, looic, elpd_diff, dse, weight (stacking), AIC, BIC,
    pareto_k_max`` (AIC and BIC are NaN for long-term models: only LOO compares those). Every
    result must carry a ``log_likelihood`` group (``fit(..., pointwise=True)``) and be fitted to
    the same patients.
    """
    if len(results) < 2:
        raise InputError("model comparison needs at least two fitted models.")
    ns = {k: r["observed_data"]["time"].size for k, r in results.items()}
    if len(set(ns.values())) != 1:
        raise InputError(f"the models were fitted to different data ({ns}); refit on one IPD.")
    for k, r in results.items():
        if "log_likelihood" not in r.children:
            raise InputError(f"model {k!r} has no log_likelihood group; refit with pointwise=True.")
    cmp = az.compare(dict(results), method="stacking")
    rows = []
    n = next(iter(ns.values()))
    for name, r in results.items():
        loo = az.loo(r)
        # AIC/BIC need the maximum likelihood, computed here for the parametric IPD models only
        ll_max, k = (np.nan, 0) if r.attrs.get("model") == "longterm" else max_loglik(r)
        rows.append(
            {
                "model": name,
                "elpd_loo": float(loo.elpd),
                "se": float(loo.se),
                "p_loo": float(loo.p),
                "looic": -2.0 * float(loo.elpd),
                "elpd_diff": float(cmp.loc[name, "elpd_diff"]),
                "dse": float(cmp.loc[name, "dse"]),
                "weight": float(cmp.loc[name, "weight"]),
                "AIC": 2 * k - 2 * ll_max,
                "BIC": k * np.log(n) - 2 * ll_max,
                "pareto_k_max": float(np.nanmax(np.asarray(loo.pareto_k))),
            }
        )
    return pd.DataFrame(rows).sort_values("elpd_loo", ascending=False).reset_index(drop=True)


def averaged_survival(
    results: dict[str, xr.DataTree],
    weights: dict[str, float],
    *,
    n_draws: int = 4000,
    seed: int = 0,
) -> xr.DataArray:
    """Model-averaged S(t) draws: a mixture of each model's draws in proportion to ``weights``.

    Returns dims ``(sample, arm, time)``. All results need the same ``time`` grid and arms.
    """
    rng = np.random.default_rng(seed)
    names = list(results)
    w = np.array([max(float(weights.get(k, 0.0)), 0.0) for k in names])
    if w.sum() <= 0:
        raise InputError("model weights must have a positive sum.")
    w = w / w.sum()
    counts = rng.multinomial(n_draws, w)
    grids = [results[k]["derived"]["time"].values for k in names]
    if any(not np.array_equal(grids[0], g) for g in grids):
        raise InputError("the models' time grids differ; refit them with the same times.")
    parts = []
    for k, c in zip(names, counts, strict=True):
        if c == 0:
            continue
        s = results[k]["derived"]["survival"].stack(sample=("chain", "draw"))
        s = s.transpose("sample", "arm", "time").drop_vars(["sample", "chain", "draw"])
        pick = rng.choice(s.sizes["sample"], size=c, replace=True)
        parts.append(s.isel(sample=pick))
    return xr.concat(parts, dim="sample").rename("survival")
