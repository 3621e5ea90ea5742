"""Model comparison (NICE DSU TSD 14): LOO, AIC/BIC, stacking weights, model-averaged curves.

For each fitted model: PSIS-LOO by ArviZ (``elpd_loo``, its ``se``, ``p_loo``,
``looic = -2 elpd_loo``) from the per-patient log-likelihood, stacking weights from
``az.compare``, and AIC = 2k - 2 max log L and BIC = k log n - 2 max log L at the maximum of the
same likelihood the model samples (its NumPy twin, :mod:`bayesurv.survival.terms`), for every
model: families, cure, flexible hazards, reported terms. The maximum is found by BFGS then
Nelder-Mead from the best posterior draw, over the likelihood's parameters (smoothing and
shrinkage sds are not: they are fixed at 1, where the free coefficients span the same curves,
and not counted in k). The model-averaged survival curve mixes the models' draws of S(t) by the
stacking weights.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import scipy.optimize as so
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.survival import outputs as O
from bayesurv.survival import terms
from bayesurv.survival.families import NP
from bayesurv.survival.structure import parameters


def _data(result: xr.DataTree) -> dict:
    """The likelihood's arrays for a result, rebuilt from its data groups (IPD only)."""
    from bayesurv.survival.data import prepare

    spec = O.spec_of(result)
    obs, const = result["observed_data"], result["constant_data"]
    ipd = pd.DataFrame({"time": obs["time"].values, "event": const["time"].values})
    if spec.arm:
        ipd[spec.arm] = const["arm"].values
    if spec.entry:
        ipd[spec.entry] = const["entry"].values
    for c in {c.name for c in spec.all_covariates}:
        ipd[c] = const[c].values
    if spec.background or spec.terms != ("ipd",):
        why = "background mortality" if spec.background else "evidence beside the IPD"
        raise InputError(
            f"AIC/BIC of a model with {why} need its likelihood arrays, which the result does "
            "not keep; pass compare(data={name: prepare(...)[1]}) or max_loglik(result, d)."
        )
    return prepare(spec, ipd)[1]


def max_loglik(result: xr.DataTree, d: dict | None = None) -> tuple[float, int]:
    """Maximum of the log-likelihood (no priors) and the number of its parameters. ``d``: the
    model's arrays (:func:`bayesurv.survival.data.prepare`; rebuilt from an IPD result)."""
    F = O.fitted(result)
    spec = F.spec
    d = _data(result) if d is None else d
    free = [p for p in parameters(spec) if not p.hyper]
    sizes = [max(p.size, 1) for p in free]
    fixed = {p.name: np.ones((1, 1)) for p in parameters(spec) if p.hyper}

    def unpack(v):
        out, i = dict(fixed), 0
        for p, k in zip(free, sizes, strict=True):
            out[p.name] = np.asarray(v[i : i + k], float).reshape(1, -1)
            i += k
        return out

    def total(raw):
        with np.errstate(all="ignore"):
            ll = terms.loglik(NP, spec, raw, d, pointwise=True)
        v = sum(float(np.sum(x)) for x in ll.values())
        return v if np.isfinite(v) else -1e300

    # the best draw, with the hyperparameters' scale folded into the coefficients they scale
    draws = np.column_stack([F.raw[p.name] for p in free])
    names = [p.name for p in free]
    for z, sd in (("mspline_z", "mspline_sd"), ("pwexp_z", "pwexp_sd"), ("nonph_z", "nonph_sd")):
        if z in F.raw:
            j = names.index(z)
            draws[:, sum(sizes[:j]) : sum(sizes[: j + 1])] *= F.raw[sd]
    scores = [total(unpack(x)) for x in draws[:: max(1, len(draws) // 200)]]
    x0 = draws[:: max(1, len(draws) // 200)][int(np.argmax(scores))]
    best = max(scores)
    for method in ("BFGS", "Nelder-Mead"):
        res = so.minimize(
            lambda v: -total(unpack(v)),
            x0,
            method=method,
            options={"maxiter": 5000}
            if method == "BFGS"
            else {"xatol": 1e-8, "fatol": 1e-9, "maxiter": 20000},
        )
        if -res.fun > best:
            best, x0 = -float(res.fun), res.x
    return float(best), int(sum(sizes))


def compare(results: dict[str, xr.DataTree], data: dict[str, dict] | None = None) -> pd.DataFrame:
    """TSD 14 comparison table, one row per model, best (highest elpd_loo) first.

    Columns: ``model, elpd_loo, se, p_loo, looic, elpd_diff, dse, weight (stacking), AIC, BIC,
    pareto_k_max`` and, where some row needs one, ``note`` (why that row's AIC/BIC are missing,
    or what BIC's n leaves out). Every result must carry the per-patient log-likelihood and be
    fitted to the same patients. ``data``: each model's likelihood arrays
    (:func:`bayesurv.survival.data.prepare`), needed for AIC/BIC of models with background
    mortality or reported summaries (rebuilt from the result otherwise).
    """
    if len(results) < 2:
        raise InputError("model comparison needs at least two fitted models.")
    ns = {k: r["observed_data"]["time"].size for k, r in results.items()}
    if len(set(ns.values())) != 1:
        raise InputError(f"the models were fitted to different data ({ns}); refit on one IPD.")
    for k, r in results.items():
        if "log_likelihood" not in r.children or "time" not in r["log_likelihood"]:
            raise InputError(
                f"model {k!r} has no per-patient log_likelihood; refit with pointwise=True."
            )
    only = {k: _patients(r) for k, r in results.items()}
    cmp = az.compare(only, method="stacking")
    rows = []
    n = next(iter(ns.values()))
    for name, r in only.items():
        loo = az.loo(r)
        note = None
        try:
            ll_max, k = max_loglik(results[name], (data or {}).get(name))
        except InputError as e:  # said in the row, not a silent gap
            ll_max, k, note = np.nan, 0, str(e)
        if note is None and O.spec_of(results[name]).terms != ("ipd",):
            note = (
                f"BIC's n is the {n} patients; the likelihood (and AIC) also holds the evidence "
                "beside the IPD, which n does not count."
            )
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
                "note": note,
            }
        )
    out = pd.DataFrame(rows).sort_values("elpd_loo", ascending=False).reset_index(drop=True)
    return out if out["note"].notna().any() else out.drop(columns="note")


def _patients(result: xr.DataTree) -> xr.DataTree:
    """The result with only the per-patient log-likelihood (what LOO compares)."""
    ll = result["log_likelihood"].to_dataset()[["time"]]
    return xr.DataTree.from_dict(
        {"posterior": result["posterior"].to_dataset(), "log_likelihood": ll}
    )


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
    counts = rng.multinomial(n_draws, w / w.sum())
    grids = [results[k]["derived"]["time"].values for k in names]
    if any(not np.array_equal(grids[0], g) for g in grids):
        raise InputError("the models' time grids differ; refit them with the same times.")
    parts = []
    for k, c in zip(names, counts, strict=True):
        if c == 0:
            continue
        s = results[k]["derived"]["survival"].stack(sample=("chain", "draw"))
        s = s.transpose("sample", "arm", "time").drop_vars(["sample", "chain", "draw"])
        parts.append(s.isel(sample=rng.choice(s.sizes["sample"], size=c, replace=True)))
    return xr.concat(parts, dim="sample").rename("survival")
