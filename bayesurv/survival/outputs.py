"""Outputs as functions of a fitted result, computed on demand from the one predictor.

Each takes a result DataTree (:func:`bayesurv.survival.fit.fit`) and returns posterior draws
with named dims (``chain, draw`` and ``arm`` / ``time``), so S(t) at new times or the RMST to
another horizon never needs a refit. Every arm's curve averages the cohort (its covariate
patterns and population nodes, :mod:`bayesurv.survival.predictor`)::

    survival(result, t)             S_a(t)              hazard(result, t)     h_a(t)
    cumulative_hazard(result, t)    -log S_a(t)         hazard_ratio(result, t)  h_1 / h_0
    rmst(result, to)                int_0^to S_a(t) dt  (Gauss-Legendre in u, t = to u^3, 96
                                                         nodes, split at waning and knots)
    mean_survival(result)           int_0^T S_a(t) (1 + r)^(-t / k) dt  (T: the horizon; the
                                    closed form when the model is a plain family and T = inf)
    median(result)                  S_a(m) = 1/2 (bisection on log t; inf if never reached)
    cure_fraction(result)           mean over the cohort's patterns of pi
    life_years_gained(result)       mean survival in years, arm 1 - arm 0

One unit rule: times are in the data's unit; a name ending in ``_years`` is in years and exists
only when the time unit is known (``k`` units per year); discounting (annual rate ``r``) is
always in years. :func:`derived` builds the saved ``derived`` group from these functions, under
the names queries use, so a name means one thing everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.survival import predictor as P
from bayesurv.survival.families import LOG_LOG2, NP
from bayesurv.survival.structure import ModelSpec, parameters

_GL_U, _GL_W = np.polynomial.legendre.leggauss(96)
_GL_U, _GL_W = (_GL_U + 1.0) / 2.0, _GL_W / 2.0
#: draws x points x patterns evaluated at once: 512 KB per temporary, so that a block's
#: temporaries stay in the L2 cache (4,000 draws x 96 RMST nodes in one block ran 1.3-1.6x
#: slower for the light families; every element is computed as before, bit for bit)
CHUNK = 65_536


@dataclass
class Fitted:
    """What the outputs need of a result: spec, draws, profiles, population, time scale."""

    spec: ModelSpec
    raw: dict
    shape: tuple
    coords: dict
    d: dict
    share: np.ndarray
    population: object
    members: object
    node_pattern: np.ndarray
    time_scale: float
    follow_up: float
    horizon: float
    #: curves already computed on a union of times (the derived group): (times, log S, log h)
    memo: tuple | None = None

    @property
    def n_draws(self) -> int:
        return int(np.prod(self.shape))

    @property
    def labels(self) -> list:
        return list(self.spec.arms) or ["all"]

    @property
    def unit_known(self) -> bool:
        return self.spec.time_unit is not None

    def profiles(self, raw: dict) -> dict:
        """Each profile's parameters at the draws ``raw``."""
        prof = {k[5:]: v for k, v in self.d.items() if k.startswith("prof_")}
        return P.profile_params(NP, self.spec, raw, prof, self.d["log_t_ref"])


def fitted(result: xr.DataTree) -> Fitted:
    """Read a result's spec, posterior draws (flattened) and cohort."""
    from bayesurv.lifetable import LifeTable
    from bayesurv.survival.population import Members, Population, units_per_year

    spec = ModelSpec.from_json(result.attrs["spec"])
    post = result["posterior" if "posterior" in result.children else "prior"].to_dataset()
    shape = (post.sizes["chain"], post.sizes["draw"])
    S = shape[0] * shape[1]
    raw = {p.name: np.asarray(post[p.name].values, float).reshape(S, -1) for p in parameters(spec)}
    coh = result["cohort"].to_dataset()
    A = 2 if spec.two_arms else 1
    G = coh.sizes["pattern"]
    d = {
        "log_t_ref": np.asarray(coh.attrs["log_t_ref"]),
        "prof_arm": np.repeat(np.arange(A, dtype=float), G),
    }
    for name in coh.data_vars:
        if name.startswith("pattern_"):
            d["prof_" + name[8:].replace("anc_", "anc:", 1)] = np.tile(coh[name].values, (A, 1))
    pop = members = node_pattern = None
    if "life_table" in coh:
        lt = coh["life_table"].to_dataframe().reset_index()
        table = LifeTable.from_frame(
            lt.rename(columns={"life_table": "hazard"}), coh.attrs.get("life_table_source")
        )
        pop = Population(table, smr=float(coh.attrs["smr"]), age=0.0, male=0.5)
        members = Members(
            coh["node_age"].values, coh["node_sex"].values.astype(object), coh["node_weight"].values
        )
        node_pattern = coh["node_pattern"].values
    return Fitted(
        spec,
        raw,
        shape,
        {"chain": post["chain"].values, "draw": post["draw"].values},
        d,
        coh["share"].values,
        pop,
        members,
        node_pattern,
        units_per_year(spec.time_unit),
        float(coh.attrs["follow_up"]),
        float(coh.attrs["horizon"]),
    )


def _of(result) -> Fitted:
    return result if isinstance(result, Fitted) else fitted(result)


def curves(result, t, *, arms=None) -> tuple[np.ndarray, np.ndarray]:
    """``log S`` and ``log h`` of every arm's cohort at times ``t``: arrays (draws, arm, time)."""
    F = _of(result)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise InputError("times must be finite and >= 0, in the data's time unit.")
    if F.memo is not None and arms is None:
        mt, mS, mh = F.memo
        pos = np.minimum(np.searchsorted(mt, t), mt.size - 1)
        if np.all(mt[pos] == t):
            return mS[..., pos], mh[..., pos]
    t_safe = np.maximum(t, 1e-9 * max(float(t.max()), 1.0))
    arms = range(len(F.labels)) if arms is None else arms
    G = len(F.share)
    pop = {"g": np.broadcast_to(np.arange(G), (t.size, G)), "n_patterns": G}
    log_PQ = None
    smr = F.raw["smr"][:, :, None] if "smr" in F.raw else 1.0
    if F.population is not None:
        pop.update(F.population.at_points(t_safe, F.members, F.node_pattern, F.time_scale, G))
        if "smr" not in F.raw:
            log_PQ = P.population(NP, pop, F.population.smr)
            smr = F.population.smr
    else:
        pop["share"] = F.share
        log_PQ = P.population(NP, pop, 1.0)
    n = F.n_draws
    step = max(1, CHUNK // max(1, (t.size + (2049 if F.spec.waning else 0)) * G))
    out_S = np.empty((n, len(arms), t.size))
    out_h = np.empty((n, len(arms), t.size))
    for start in range(0, n, step):
        sl = slice(start, min(start + step, n))
        raw = {k: v[sl] for k, v in F.raw.items()}
        pp = F.profiles(raw)
        s_ = smr[sl] if isinstance(smr, np.ndarray) else smr
        for j, a in enumerate(arms):
            pop["idx"] = a * G + pop["g"]
            arm = np.full(t.size, float(a))
            with np.errstate(all="ignore"):
                lS, lh = P.cohort(
                    NP, F.spec, raw, pp, {"t": t_safe}, arm, pop, s_, log_PQ, dense=True
                )
            out_S[sl, j], out_h[sl, j] = lS, lh
    out_S[..., t == 0] = 0.0
    return out_S, out_h


def _wrap(F, values, t=None, arms=True, name=None) -> xr.DataArray:
    dims, coords = ["chain", "draw"], dict(F.coords)
    values = values.reshape(F.shape + values.shape[1:])
    if arms:
        dims.append("arm")
        coords["arm"] = F.labels
    if t is not None:
        dims.append("time")
        coords["time"] = np.atleast_1d(np.asarray(t, float))
    return xr.DataArray(values, dims=dims, coords=coords, name=name)


def survival(result, t) -> xr.DataArray:
    """Posterior draws of S_a(t), dims (chain, draw, arm, time); S(0) = 1."""
    F = _of(result)
    log_S, _ = curves(F, t)
    return _wrap(F, np.exp(log_S), t, name="survival")


def cumulative_hazard(result, t) -> xr.DataArray:
    F = _of(result)
    log_S, _ = curves(F, t)
    return _wrap(F, -log_S, t, name="cumulative_hazard")


def hazard(result, t) -> xr.DataArray:
    """Posterior draws of the cohort's hazard h_a(t) per unit of time."""
    F = _of(result)
    _, log_h = curves(F, t)
    return _wrap(F, np.exp(log_h), t, name="hazard")


def hazard_ratio(result, t) -> xr.DataArray:
    """HR(t) of the second arm against the first, dims (chain, draw, time)."""
    h = hazard(result, t)
    if h.sizes["arm"] != 2:
        raise InputError("a hazard ratio needs two arms.")
    return (h.isel(arm=1, drop=True) / h.isel(arm=0, drop=True)).rename("hazard_ratio")


def _breaks(F, upto) -> list[float]:
    b = [0.0]
    if F.spec.waning:
        b += [x for x in F.spec.waning[1:] if x is not None and x < upto]
    if F.spec.flexible:
        b += [k for k in F.spec.knots if k < upto]
    return sorted(set(b)) + [float(upto)]


def _nodes(F, upto) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, upto]: t = b u^3 on the first piece (where a
    hazard may be infinite at 0), plain on the pieces after waning times and knots."""
    b = _breaks(F, upto)
    ts, ws = [], []
    for i, (lo, hi) in enumerate(zip(b[:-1], b[1:], strict=True)):
        if i == 0:
            ts.append(lo + (hi - lo) * _GL_U**3)
            ws.append((hi - lo) * 3 * _GL_U**2 * _GL_W)
        else:
            ts.append(lo + (hi - lo) * _GL_U)
            ws.append((hi - lo) * _GL_W)
    return np.concatenate(ts), np.concatenate(ws)


def _integrate(F, upto, weight=None) -> np.ndarray:
    """int_0^upto S_a(t) w(t) dt per draw and arm (:func:`_nodes`)."""
    t, w = _nodes(F, upto)
    if weight is not None:
        w = w * weight(t)
    log_S, _ = curves(F, t)
    return np.exp(log_S) @ w


def rmst(result, to: float) -> xr.DataArray:
    """Restricted mean survival to ``to`` (the data's unit), dims (chain, draw, arm)."""
    F = _of(result)
    if not (np.isfinite(to) and to > 0):
        raise InputError(f"the RMST horizon must be a positive number, got {to!r}.")
    out = _wrap(F, _integrate(F, float(to)), name="rmst")
    out.attrs["to"] = float(to)
    return out


def plain(spec) -> bool:
    """A plain family: closed forms for the mean and the median."""
    return (
        not spec.flexible
        and spec.cure == "none"
        and not spec.background
        and not spec.waning
        and not spec.covariates
        and not spec.ancillary
        and not spec.nonph
    )


def mean_survival(
    result, *, discount: float = 0.0, years: bool = False, horizon=None
) -> xr.DataArray:
    """Mean survival to the horizon (the result's unless given), in the data's unit or, with
    ``years`` (needs the time unit), in years; ``discount`` is an annual rate (years only)."""
    F = _of(result)
    r = float(discount)
    if not (np.isfinite(r) and 0 <= r < 1):
        raise InputError(f"the discount rate {discount!r} must be a proportion per year in [0, 1).")
    if (years or r) and not F.unit_known:
        raise InputError("years and discounting need the data's time unit (--time-unit).")
    T = float(F.horizon if horizon is None else horizon)
    k = F.time_scale
    if np.isinf(T) and plain(F.spec) and r == 0:
        nat = _arm_params(F)
        with np.errstate(all="ignore"):
            v = np.stack([F.spec.family.mean(**p) for p in nat], axis=-1)
    elif np.isinf(T):
        raise InputError("this model's mean survival needs a finite horizon; give one.")
    else:
        weight = (lambda t: (1.0 + r) ** (-t / k)) if r else None
        v = _integrate(F, T, weight)
    out = _wrap(F, np.asarray(v, float) / (k if years else 1.0), name="mean_survival")
    out.attrs.update(
        horizon=T, discount=r, units="years" if years else F.spec.time_unit or "time units"
    )
    return out


def _arm_params(F) -> list[dict]:
    """flexsurv's parameters of each arm of a plain family (PH/AFT mapped), draws (S,)."""
    pp = F.profiles(F.raw)
    out = []
    for a in range(len(F.labels)):
        nat = {k: P.take(NP, v, np.array([a]))[:, 0] for k, v in pp["nat"].items()}
        eta = P.take(NP, pp["eta"], np.array([a]))
        eta = eta[:, 0] if np.ndim(eta) == 2 else eta
        if np.any(eta != 0):
            fam = F.spec.family
            nat = fam.aft(nat, eta) if F.spec.mode == "aft" else fam.ph(nat, eta)
        out.append(nat)
    return out


def median(result) -> xr.DataArray:
    """Median survival per arm (inf where S stays above 1/2), dims (chain, draw, arm)."""
    F = _of(result)
    if plain(F.spec):
        with np.errstate(all="ignore"):
            v = np.stack([F.spec.family.median(**p) for p in _arm_params(F)], axis=-1)
        return _wrap(F, np.asarray(v, float), name="median")
    grid = F.memo[0] if F.memo is not None else _median_grid(F)  # the derived group's times
    log_S, _ = curves(F, grid)  # (draws, arm, time)
    g = np.log(np.maximum(-log_S, 1e-300))  # cloglog S: near linear in log t, 0.5 at log log 2
    with np.errstate(divide="ignore"):  # grid[0] may be 0: log t = -inf there
        log_grid = np.log(grid)
    return _wrap(F, np.exp(first_crossing(log_grid, g, LOG_LOG2)), name="median")


def first_crossing(log_t, g, level) -> np.ndarray:
    """``log t`` at which ``g`` (last axis: on the grid ``log_t``, increasing) first reaches
    ``level`` (an array of the leading shape, or one number), linear in ``log t`` between grid
    points; inf where it never does. The median (``g`` = cloglog S) and replicated event times
    (``g`` = log H) read their curves so."""
    level = np.asarray(level, dtype=float)[..., None]
    first = np.argmax(g >= level, axis=-1)
    reached = np.take_along_axis(g, first[..., None], -1)[..., 0] >= level[..., 0]
    k = np.maximum(first, 1)
    g0 = np.take_along_axis(g, (k - 1)[..., None], -1)[..., 0]
    g1 = np.take_along_axis(g, k[..., None], -1)[..., 0]
    x0, x1 = log_t[k - 1], log_t[k]
    with np.errstate(all="ignore"):  # x0 = -inf (t = 0): the crossing is at x1
        step = np.clip((level[..., 0] - g0) / (g1 - g0), 0, 1)
        x = np.where(np.isfinite(x0), x0 + (x1 - x0) * step, x1)
    return np.where(reached, x, np.inf)


def _median_grid(F) -> np.ndarray:
    ref = float(np.exp(F.d["log_t_ref"]))
    top = max(F.horizon if np.isfinite(F.horizon) else 0.0, F.follow_up, ref)
    return np.exp(np.linspace(np.log(ref * 1e-3), np.log(top * 1e2), 161))


def cure_fraction(result) -> xr.DataArray:
    """The cohort's cure fraction per arm: the mean of the patterns' pi, dims (chain, draw, arm)."""
    F = _of(result)
    if F.spec.cure == "none":
        raise InputError("the model has no cure fraction; fit it with a cure model.")
    pp = F.profiles(F.raw)
    G = len(F.share)
    pi = [
        1 / (1 + np.exp(-P.take(NP, pp["cure"], a * G + np.arange(G)))) @ F.share
        for a in range(len(F.labels))
    ]
    return _wrap(F, np.stack(pi, axis=-1), name="cure_fraction")


def life_years_gained(result, *, discount: float = 0.0, horizon=None) -> xr.DataArray:
    """Mean survival in years of the second arm minus the first (needs the time unit)."""
    m = mean_survival(result, discount=discount, years=True, horizon=horizon)
    if m.sizes["arm"] != 2:
        raise InputError("life-years gained need two arms (a reference and a treatment).")
    out = (m.isel(arm=1, drop=True) - m.isel(arm=0, drop=True)).rename("life_years_gained")
    out.attrs.update(m.attrs)
    return out


def derived(result, *, times=None, rmst_to=None, discount: float = 0.035) -> xr.Dataset:
    """The saved ``derived`` group: every output on a time grid (0 to the horizon, plus
    ``times``), under the names queries use."""
    from dataclasses import replace

    F = _of(result)
    grid = np.linspace(0.0, F.horizon if np.isfinite(F.horizon) else F.follow_up, 241)
    grid = np.unique(
        np.concatenate([grid, np.atleast_1d(times if times is not None else []), [F.follow_up]])
    )
    to = float(F.follow_up if rmst_to is None else rmst_to)
    every = [grid, _nodes(F, to)[0]]  # one evaluation of the curves for every output below
    if np.isfinite(F.horizon):
        every.append(_nodes(F, F.horizon)[0])
    union = np.unique(np.concatenate(every))
    F = replace(F, memo=(union, *curves(F, union)))
    log_S, log_h = curves(F, grid)
    ds = xr.Dataset()
    ds["survival"] = _wrap(F, np.exp(log_S), grid)
    ds["hazard"] = _wrap(F, np.exp(log_h), grid)
    ds["rmst"] = rmst(F, to)
    ds["median"] = median(F)
    finite = np.isfinite(F.horizon) or plain(F.spec)
    if finite:
        ds["mean_survival"] = mean_survival(F)
    if F.unit_known:
        ds["rmst_years"] = ds["rmst"] / F.time_scale
        if finite:
            ds["mean_survival_years"] = ds["mean_survival"] / F.time_scale
        if np.isfinite(F.horizon):
            ds["mean_survival_discounted_years"] = mean_survival(F, discount=discount, years=True)
    if F.spec.cure != "none":
        ds["cure_fraction"] = cure_fraction(F)
    if len(F.labels) == 2:
        two = lambda v: v.isel(arm=1, drop=True) - v.isel(arm=0, drop=True)  # noqa: E731
        ds["surv_diff"] = two(ds["survival"])
        ds["hazard_ratio"] = ds["hazard"].isel(arm=1, drop=True) / ds["hazard"].isel(
            arm=0, drop=True
        )
        for name in ("rmst", "median", "mean_survival", "cure_fraction"):
            if name in ds:
                ds[f"{name.replace('_fraction', '')}_diff"] = two(ds[name])
        if "mean_survival_years" in ds:
            ds["life_years_gained"] = two(ds["mean_survival_years"])
        if "mean_survival_discounted_years" in ds:
            ds["life_years_gained_discounted"] = two(ds["mean_survival_discounted_years"])
        ratio = {"log_hr": "hr", "log_tr": "time_ratio", "log_or": "odds_ratio"}.get(
            F.spec.arm_effect
        )
        if ratio and F.spec.effect_on in ("hazard", "both"):
            ds[ratio] = _wrap(F, np.exp(F.raw[F.spec.arm_effect][:, 0]), arms=False)
    if F.population is not None:
        H, h = F.population.node_curves(np.maximum(grid, 1e-9), F.members, F.time_scale)
        S = np.exp(-H)
        Sp = S @ F.members.weight
        ds["background_survival"] = ("time", Sp)
        ds["background_hazard"] = ("time", (S * h) @ F.members.weight / Sp)
    inf = float(np.mean(~np.isfinite(ds["median"].values))) if "median" in ds else 0.0
    ds.attrs.update(
        rmst_to=to,
        horizon=float(F.horizon),
        follow_up=F.follow_up,
        discount=float(discount),
        time_unit=F.spec.time_unit or "time units",
        time_scale=F.time_scale,
        times=json.dumps([float(x) for x in np.atleast_1d(times if times is not None else [])]),
    )
    if "mean_survival" in ds:
        frac = float(np.mean(~np.isfinite(ds["mean_survival"].values)))
        if frac:
            ds.attrs["mean_note"] = (
                f"mean survival is infinite in {100 * frac:.1f}% of posterior draws (a cured "
                "fraction or a tail too heavy for a finite mean); report RMST to a horizon "
                "instead."
            )
    if inf:
        ds.attrs["median_note"] = (
            f"the median is not reached in {100 * inf:.1f}% of posterior draws."
        )
    return ds


def cox_log_hr(result, median_followup: float, max_followup=None, shares=(0.5, 0.5)):
    """Draws (chain, draw) of the log hazard ratio a Cox fit of a cut with this follow-up would
    estimate: :func:`bayesurv.survival.terms.cox_average` on the uniform potential follow-up
    (:func:`bayesurv.survival.evidence.cox_nodes`); ``log_hr`` itself under PH."""
    from bayesurv.survival.evidence import cox_nodes
    from bayesurv.survival.terms import cox_average

    F = _of(result)
    nodes, w = cox_nodes(float(median_followup), max_followup)
    log_S, log_h = curves(F, nodes)
    mu = cox_average(NP, log_h[:, 0], log_h[:, 1], log_S[:, 0], log_S[:, 1], w, *shares)
    return _wrap(F, mu, arms=False, name="log_hr")


def spec_of(result) -> ModelSpec:
    return ModelSpec.from_json(result.attrs["spec"])
