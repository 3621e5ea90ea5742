"""Extrapolation from a fitted long-term model: the cohort's curves, lifetime outputs and
identifiability notes, from posterior draws (NumPy).

For arm ``a`` the cohort's survival and hazard average over its nodes ``g`` (cure-covariate
pattern ``z_g``, age and sex; weights ``w_g``, :mod:`bayesurv.survival.cohort`)::

    S_a(t) = sum_g w_g S_pop,g(t)^smr S_exc(t | a, z_g)
    h_a(t) = sum_g w_g S_pop,g^smr S_exc(t | a, z_g) (smr h_pop,g + h_exc(t | a, z_g)) / S_a(t)

(:mod:`bayesurv.survival.cure` for ``S_exc``), on a fine grid from 0 to the horizon (2,401 points
plus landmarks), by chunks of 200 draws. With waning the treated excess hazard follows
:mod:`bayesurv.survival.waning` from ``t1`` (its cumulative hazard by the trapezoid rule on the
fine grid, exact for the abrupt scheme). Mean survival and life-years integrate ``S_a`` on the
fine grid (:mod:`bayesurv.survival.lifetime`).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from bayesurv.survival.cohort import Cohort, pop_curves, pop_nodes
from bayesurv.survival.cure import excess, log_add
from bayesurv.survival.families import NP
from bayesurv.survival.longterm import (
    PRIOR_SD,
    LongTermSpec,
    _component,
    _cure_lin,
    _flat,
    _uncured,
)


def _waned(t, lh_c, H_c, lh_t, H_t, waning):
    """The treated excess hazard waning to the control one (``t`` contains ``t1`` and ``t2``)."""
    from bayesurv.survival.waning import waning_weight

    scheme, t1, t2 = waning
    k1 = int(np.argmin(np.abs(t - t1)))
    after = t >= t1
    if scheme == "abrupt":
        return (
            np.where(after, lh_c, lh_t),
            np.where(after, H_t[..., k1 : k1 + 1] + H_c - H_c[..., k1 : k1 + 1], H_t),
        )
    w = waning_weight(np, t, scheme, t1, t2)
    if scheme == "linear_loghr":
        b = lh_t[..., k1 : k1 + 1] - lh_c[..., k1 : k1 + 1]
        lh = lh_c + w * b
    else:
        lh = log_add(
            np, np.log(np.maximum(w, 1e-300)) + lh_t, np.log(np.maximum(1 - w, 1e-300)) + lh_c
        )
    lh = np.where(after, lh, lh_t)
    h = np.exp(lh)
    seg = (h[..., 1:] + h[..., :-1]) / 2 * np.diff(t)
    cum = np.concatenate([np.zeros(h.shape[:-1] + (1,)), np.cumsum(seg, axis=-1)], axis=-1)
    return lh, np.where(after, H_t[..., k1 : k1 + 1] + cum - cum[..., k1 : k1 + 1], H_t)


def cohort_curves(
    post: xr.Dataset,
    spec: LongTermSpec,
    cohort: Cohort,
    t,
    log_ref: float,
    *,
    smr: float = 1.0,
    waning=None,
    sl=slice(None),
    pop=None,
):
    """Cohort ``S_arm(t)`` and ``h_arm(t)`` for the draws ``sl`` (flattened chain x draw):
    arrays (draws, arm, time), plus the cure fractions (draws, arm). ``pop``: each pattern's
    :func:`~bayesurv.survival.cohort.pop_nodes` on ``t`` (computed here when not given; pass
    them to re-use across chunks of draws)."""
    comp = _component(spec.family, spec.basis_json)
    t = np.asarray(t, dtype=float)
    t_safe = np.maximum(t, 1e-9 * max(float(t.max()), 1.0))
    design = comp.design(t_safe)
    raw = {name: _flat(post, name)[sl] for name in spec.sampled}
    n = next(iter(raw.values())).shape[0]
    A = spec.n_arms
    S = np.zeros((n, A, t.size))
    hS = np.zeros((n, A, t.size))
    pi = np.zeros((n, A))
    smr_draw = raw["smr"] if "smr" in raw else None
    if cohort.background and pop is None:
        pop = [pop_nodes(cohort, t, p) for p in range(len(cohort.patterns))]
    for p in range(len(cohort.patterns)):
        share = float(cohort.nodes[p][2].sum())
        z = cohort.patterns[p : p + 1]
        curves = []
        for a in range(A):
            lh_u, ls_u = _uncured(NP, spec, comp, design, raw, float(a), log_ref)
            lin = _cure_lin(NP, spec, raw, float(a), z)
            if lin is not None:  # (draws, 1)
                pi[:, a] += share / (1 + np.exp(-lin[:, 0]))
            curves.append(list(excess(NP, spec.cure, lh_u + 0 * t, ls_u + 0 * t, lin)))
        if waning is not None and A == 2:
            curves[1] = list(_waned(t, *curves[0], *curves[1], waning))
        for a, (lh, H) in enumerate(curves):
            s_exc = np.exp(-H)
            if not cohort.background:
                S[:, a] += share * s_exc
                hS[:, a] += share * s_exc * np.exp(lh)
            elif smr_draw is None:
                H1, h1, w = pop[p]
                Sg = np.exp(-smr * H1)
                Sp, hSp = Sg @ w, (Sg * (smr * h1)) @ w
                S[:, a] += Sp * s_exc
                hS[:, a] += s_exc * (hSp + Sp * np.exp(lh))
            else:  # an uncertain SMR: the population part differs by draw
                H1, h1, w = pop[p]
                for g in range(w.size):
                    Sg = w[g] * np.exp(-smr_draw * H1[:, g])
                    S[:, a] += Sg * s_exc
                    hS[:, a] += Sg * s_exc * (smr_draw * h1[:, g] + np.exp(lh))
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(S > 0, hS / np.maximum(S, 1e-300), np.nan)
    S[..., t == 0] = 1.0  # evaluated a hair after 0 (log h may be infinite at 0)
    return S, h, pi


def uncured_survival(post, spec, t, log_ref) -> np.ndarray:
    """S_u(t) of the reference arm's uncured, draws (flattened) x len(t)."""
    comp = _component(spec.family, spec.basis_json)
    raw = {name: _flat(post, name) for name in spec.sampled}
    _, ls = _uncured(NP, spec, comp, comp.design(np.asarray(t, float)), raw, 0.0, log_ref)
    return np.exp(ls)


def _grids(cohort, follow_up, horizon, waning, times=(), rmst_to=None, n_store=241, n_fine=2401):
    extra = [follow_up, *times] + ([rmst_to] if rmst_to else [])
    extra += [
        y * cohort.time_scale
        for y in (1, 2, 5, 10, 20, 30, 40, 50)
        if cohort.time_unit != "time units"
    ]
    if waning is not None:
        extra += [w for w in waning[1:] if w is not None]
    extra = [x for x in extra if 0 < x <= horizon]
    store = np.unique(np.concatenate([np.linspace(0.0, horizon, n_store), extra]))
    fine = np.unique(np.concatenate([np.linspace(0.0, horizon, n_fine), store]))
    return store, fine


def longterm_derived(
    post,
    spec,
    cohort,
    *,
    log_ref,
    follow_up,
    horizon,
    discount=0.035,
    smr=1.0,
    waning=None,
    cycle=None,
    cycle_draws=200,
    times=(),
    rmst_to=None,
    seed=1,
    chunk=200,
):
    """The ``derived`` group: cohort curves, cure fractions, mean survival and life-years, and
    the RMST to ``rmst_to`` (default: the end of follow-up, model units)."""
    from bayesurv.survival import lifetime as L

    rmst_to = float(follow_up if rmst_to is None else min(rmst_to, horizon))
    store, fine = _grids(cohort, follow_up, horizon, waning, times, rmst_to)
    cyc_t = L.cycle_times(cycle, cohort.time_scale, horizon) if cycle else None
    if cycle:
        fine = np.unique(np.concatenate([fine, cyc_t]))
        cidx = np.searchsorted(fine, cyc_t)
    idx = np.searchsorted(fine, store)
    upto = fine <= rmst_to
    n_draws = post.sizes["chain"] * post.sizes["draw"]
    A = spec.n_arms
    S_st = np.empty((n_draws, A, store.size))
    h_st = np.empty((n_draws, A, store.size))
    pi = np.empty((n_draws, A))
    means = {0.0: np.empty((n_draws, A)), float(discount): np.empty((n_draws, A))}
    rmst = np.empty((n_draws, A))
    fine_da = xr.DataArray(np.zeros(fine.size), dims="time", coords={"time": fine})
    pick = None
    if cycle:
        pick = np.sort(
            np.random.default_rng([seed, 11]).choice(
                n_draws, size=min(cycle_draws, n_draws), replace=False
            )
        )
        cyc = np.empty((pick.size, A, cyc_t.size))
    pop = None
    if cohort.background:  # the population's hazards do not depend on the draws
        pop = [pop_nodes(cohort, fine, p) for p in range(len(cohort.patterns))]
    for start in range(0, n_draws, chunk):
        sl = slice(start, min(start + chunk, n_draws))
        S, h, p = cohort_curves(
            post, spec, cohort, fine, log_ref, smr=smr, waning=waning, sl=sl, pop=pop
        )
        S_st[sl], h_st[sl], pi[sl] = S[..., idx], h[..., idx], p
        for r in means:
            da = xr.DataArray(S, dims=("sample", "arm", "time"), coords={"time": fine_da.time})
            means[r][sl] = L.mean_survival(da, time_scale=cohort.time_scale, discount=r).values
        rmst[sl] = np.trapezoid(S[..., upto], fine[upto], axis=-1)
        if cycle:
            mine = pick[(pick >= sl.start) & (pick < sl.stop)]
            if mine.size:
                rows = np.searchsorted(pick, mine)
                cyc[rows] = S[mine - sl.start][..., cidx]
    shape = (post.sizes["chain"], post.sizes["draw"])
    labels = list(cohort.labels)
    base = {"chain": post["chain"].values, "draw": post["draw"].values, "arm": labels}
    ds = xr.Dataset(coords={**base, "time": store})

    def arr(v, dims):
        return (dims, v.reshape(shape + v.shape[1:]))

    ds["survival"] = arr(S_st, ("chain", "draw", "arm", "time"))
    ds["hazard"] = arr(h_st, ("chain", "draw", "arm", "time"))
    if cohort.background:
        parts = [pop_curves(cohort, store, p) for p in range(len(cohort.nodes))]
        Sp, hSp = sum(x[0] for x in parts), sum(x[1] for x in parts)
        ds["background_survival"] = ("time", Sp)
        ds["background_hazard"] = ("time", hSp / Sp)
    if spec.cure != "none":
        ds["cure_fraction"] = arr(pi, ("chain", "draw", "arm"))
    ds["mean_survival"] = arr(means[0.0], ("chain", "draw", "arm"))
    ds["mean_survival"].attrs["mean_units"] = (
        "years" if cohort.time_unit != "time units" else "time units"
    )
    ds["mean_survival_discounted"] = arr(means[float(discount)], ("chain", "draw", "arm"))
    ds["rmst"] = arr(rmst, ("chain", "draw", "arm"))
    ds["rmst"].attrs["horizon"] = rmst_to
    if A == 2:
        ds["surv_diff"] = ds["survival"].isel(arm=1, drop=True) - ds["survival"].isel(
            arm=0, drop=True
        )
        ds["hazard_ratio"] = ds["hazard"].isel(arm=1, drop=True) / ds["hazard"].isel(
            arm=0, drop=True
        )
        for name in ("mean_survival", "mean_survival_discounted"):
            out = name.replace("mean_survival", "life_years_gained")
            ds[out] = ds[name].isel(arm=1, drop=True) - ds[name].isel(arm=0, drop=True)
        ds["rmst_diff"] = ds["rmst"].isel(arm=1, drop=True) - ds["rmst"].isel(arm=0, drop=True)
        if spec.effect_name == "log_hr":
            ds["hr"] = np.exp(post["log_hr"])
        elif spec.effect_name == "log_tr":
            ds["time_ratio"] = np.exp(post["log_tr"])
        if spec.cure != "none":
            ds["cure_diff"] = ds["cure_fraction"].isel(arm=1, drop=True) - ds["cure_fraction"].isel(
                arm=0, drop=True
            )
    if cycle:
        ds["cycle_survival"] = (("cycle_draw", "arm", "cycle"), cyc)
        ds = ds.assign_coords(
            cycle_draw=np.arange(1, pick.size + 1),
            cycle=np.arange(cyc_t.size),
            cycle_years=("cycle", cyc_t / cohort.time_scale),
        )
        ds.attrs["cycle"] = cycle
    ds.attrs.update(
        {
            "time_scale": cohort.time_scale,
            "time_unit": cohort.time_unit,
            "horizon": float(horizon),
            "rmst_to": rmst_to,
            "follow_up": float(follow_up),
            "discount": float(discount),
            "mean_units": "years" if cohort.time_unit != "time units" else "time units",
        }
    )
    return ds


# --------------------------------------------------------------------------------------------
# identifiability in plain words
# --------------------------------------------------------------------------------------------
#: posterior sd above this share of the prior sd: the data said little
PRIOR_DOMINATED = 0.7
#: uncured survival above this at the end of follow-up: cure and latency trade off
LATENCY_OPEN = 0.10


def identifiability(post, spec, derived, *, log_ref, follow_up, seed=1) -> list[str]:
    """Sentences about what the data cannot tell apart (empty when nothing is wrong)."""
    if spec.cure == "none":
        return []
    notes = []
    prior = json.loads(spec.priors_json)
    rng = np.random.default_rng([seed, 13])

    def prior_draws(name):
        p = prior.get(name, {"dist": "Normal", "mu": 0.0, "sigma": PRIOR_SD})
        if p["dist"] == "Normal":
            return rng.normal(p["mu"], p["sigma"], 20000)
        return None

    base = prior_draws("cure_logit")
    for a, label in enumerate(derived["arm"].values):
        lin = base
        if a == 1 and "cure_effect" in post:
            eff = prior_draws("cure_effect")
            lin = None if (base is None or eff is None) else base + eff
        if lin is None:
            continue
        prior_sd = float(np.std(1 / (1 + np.exp(-lin))))
        post_sd = float(derived["cure_fraction"].sel(arm=label).std())
        if post_sd > PRIOR_DOMINATED * prior_sd:
            notes.append(
                f"The data say little about the cure fraction in arm {label}: its posterior sd "
                f"({post_sd:.2f}) is {post_sd / prior_sd:.0%} of the prior's ({prior_sd:.2f}), "
                "so the "
                "extrapolation rests mostly on the prior."
            )
    s_u = uncured_survival(post, spec, [follow_up], log_ref)[:, 0]
    med = float(np.median(s_u))
    if med > LATENCY_OPEN:
        pi = derived["cure_fraction"].isel(arm=0).values.ravel()
        comp = _component(spec.family, spec.basis_json).sampled[0]
        r = float(np.corrcoef(pi, _flat(post, comp)[:, 0])[0, 1])
        notes.append(
            f"Follow-up is too short to tell cured patients from slowly failing ones: an estimated "
            f"{med:.0%} of the uncured (reference arm) are still event-free at the end of "
            "follow-up, so the cure fraction and the uncured survival trade off (posterior "
            f"correlation of the "
            f"cure fraction with {comp}: {r:+.2f}); treat the plateau as an assumption."
        )
    return notes


def _q(da, ci=0.95) -> dict:
    v = np.asarray(da.values, float).ravel()
    lo, hi = (1 - ci) / 2, 1 - (1 - ci) / 2
    return {
        "median": float(np.median(v)),
        "lower": float(np.quantile(v, lo)),
        "upper": float(np.quantile(v, hi)),
    }


def longterm_summary(result: xr.DataTree, ci: float = 0.95) -> dict:
    """Plain-Python summary of a :func:`bayesurv.survival.longterm.fit_longterm` result: cure
    fractions, landmark survival against the KM, mean survival and life-years gained
    (undiscounted and discounted), effects, identifiability notes, diagnostics, provenance.
    Intervals are equal-tailed ``ci``; times are in years when the time unit is known."""
    from bayesurv.survival import lifetime as L

    der = result["derived"].to_dataset()
    arms = json.loads(result.attrs["arms"])
    ts = float(der.attrs["time_scale"])
    one = len(arms) == 1
    obs, const = result["observed_data"], result["constant_data"]
    known = der.attrs["time_unit"] != "time units"  # landmarks in years need the time unit
    years = [y for y in L.LANDMARK_YEARS if known and y * ts <= der.attrs["horizon"] + 1e-9]
    km = L.km_at(
        obs["time"].values, const["time"].values, const["arm"].values, [y * ts for y in years]
    )
    table = L.landmark_table(
        der["survival"], time_scale=ts, years=years, mean=der["mean_survival"], km=km, ci=ci
    )

    def by_arm(name):
        rows = [{"arm": str(a), **_q(der[name].sel(arm=a), ci)} for a in der["arm"].values]
        return {k: v for k, v in rows[0].items() if k != "arm"} if one else rows

    times = json.loads(der.attrs.get("times", "[]"))
    if not times:
        grid = der["time"].values
        times = (
            [float(grid[np.argmin(np.abs(grid - y * ts))]) for y in years]
            if years
            else [float(x) for x in np.linspace(0, der.attrs["follow_up"], 6)[1:]]
        )
    survival = []
    for t in times:
        s_t = der["survival"].sel(time=t, method="nearest")
        for a in der["arm"].values:
            row = {"time": float(s_t["time"]), **_q(s_t.sel(arm=a), ci)}
            survival.append(row if one else {"arm": str(a), **row})
    rmst = {"to": float(der.attrs["rmst_to"])}
    if one:
        rmst.update(_q(der["rmst"], ci))
    else:
        rmst["arms"] = [
            {"arm": str(a), **_q(der["rmst"].sel(arm=a), ci)} for a in der["arm"].values
        ]
        rmst["difference"] = _q(der["rmst_diff"], ci)
    out = {
        "model": "longterm",
        "family": result.attrs["family"],
        "cure": result.attrs["cure"],
        "effect": result.attrs["effect"],
        "arms": arms,
        "time_unit": der.attrs["time_unit"],
        "follow_up": der.attrs["follow_up"],
        "horizon_years": der.attrs["horizon"] / ts,
        "life_table": result.attrs.get("life_table", ""),
        "smr": float(result.attrs.get("smr", 1.0)),
        "waning": json.loads(result.attrs.get("waning", "null")),
        "survival": survival,
        "rmst": rmst,
        "landmarks": [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in table.to_dict("records")
        ],
        "mean_survival": by_arm("mean_survival"),
        "mean_survival_discounted": by_arm("mean_survival_discounted"),
        "discount": der.attrs["discount"],
        "mean_units": der.attrs["mean_units"],
    }
    if "cure_fraction" in der:
        out["cure_fraction"] = by_arm("cure_fraction")
    if not one:
        out["life_years_gained"] = _q(der["life_years_gained"], ci)
        out["life_years_gained_discounted"] = _q(der["life_years_gained_discounted"], ci)
        for name in ("hr", "time_ratio", "cure_diff"):
            if name in der:
                out[name] = _q(der[name], ci)
    out["identifiability"] = json.loads(result.attrs.get("identifiability", "[]"))
    out["diagnostics"] = json.loads(result.attrs["diagnostics"])
    out["provenance"] = json.loads(result.attrs["provenance"])
    return out


def cycle_csv_table(result: xr.DataTree):
    """The exported draws of S(t) at the model cycles as a tidy table (arm, draw, cycle, years,
    survival) for a cost-effectiveness model; the fit must have been run with ``cycle=``."""
    from bayesurv.errors import InputError
    from bayesurv.survival import lifetime as L

    der = result["derived"]
    if "cycle_survival" not in der:
        raise InputError(
            "the fit has no cycle draws; fit with cycle='weekly', 'monthly' or 'yearly' (--cycle)."
        )
    c = der["cycle_survival"].transpose("cycle_draw", "arm", "cycle")
    return L.tidy_cycles(c.values, c["arm"].values, c["cycle_years"].values)
