"""The one fit: ``fit(ipd, model, ...) -> DataTree`` for any mix of patient-level data, reported
summaries, external evidence and a population, with one result schema:

* ``posterior`` (the sampled parameters, flexsurv's where they are one per draw), ``sample_stats``;
* ``log_likelihood``: ``time`` (per patient) and ``reported`` (per reported number), the NumPy
  twin of the model's likelihood (:mod:`bayesurv.survival.terms`);
* ``observed_data`` / ``constant_data`` in ArviZ's censored layout (times observed, the event
  indicator under the same name, ``arm`` and ``entry`` beside it) and ``reported`` numbers;
* ``posterior_predictive``: replicated event times (uncensored) and reported numbers; when the
  per-patient log-likelihood is left out (above :data:`MAX_POINTWISE` values, with a
  :class:`PointwiseWarning`, or ``pointwise=False``), for a seeded subset of draws, said in the
  group's ``thinned`` attr and the result's ``left_out`` attr and notes;
* ``cohort``: the covariate patterns, their shares and the population nodes the outputs average
  over; ``derived``: :func:`bayesurv.survival.outputs.derived`;
* attrs: ``spec`` (:class:`ModelSpec` as JSON, data-derived fields filled) and
  ``bayesurv_provenance`` (seed, versions, inputs; the name every bayesurv NetCDF uses), one
  name each, plus ``priors``, ``diagnostics`` and ``notes``.

Sampler settings and output settings are parameter objects (:class:`Sampler`, :class:`Outputs`).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.survival import outputs as O
from bayesurv.survival import terms
from bayesurv.survival.data import External, Summaries, prepare
from bayesurv.survival.families import NP
from bayesurv.survival.population import Population
from bayesurv.survival.structure import ModelSpec, parameters, prior_table

#: above this many (draws x patients) values the per-patient log-likelihood is left out and the
#: replicated times are kept for a seeded subset of draws (memory)
MAX_POINTWISE = 20_000_000
#: at most this many draws (all chains together) of replicated times in a thinned
#: posterior_predictive (enough for plot_ppc_censored and the KM-band plots)
PPC_DRAWS = 200
#: and at most this many (draws x patients) replicated times in it: 20 draws at 100,000 patients
#: (drawing 200 there cost 1 s of a 10 s fit and adds nothing to a KM overlay)
PPC_CELLS = 2_000_000


class PopulationWarning(UserWarning):
    """A background-mortality choice the user should justify (a fixed SMR below 1)."""


def smr_note(smr: float) -> str:
    """The note (and :class:`PopulationWarning`) of a fit with a fixed SMR below 1."""
    return (
        f"the SMR is {smr:g}, below 1: patients (the cured included) die of other causes less "
        "than the general population of their age and sex; justify it (e.g. a trial population "
        "selected for fitness) or use 1."
    )


class PointwiseWarning(UserWarning):
    """The per-patient log-likelihood was left out of a large fit; the message says why."""


class IdentifiabilityWarning(UserWarning):
    """The data cannot tell two parts of a cure model apart; the message says which."""


@dataclass(frozen=True)
class Sampler:
    """NUTS settings (nutpie, low-rank mass matrix). ``target_accept`` defaults to 0.95 for
    flexible hazards (funnel-shaped smoothing priors), 0.9 for cure, background or summary
    models, 0.8 otherwise."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float | None = None


@dataclass(frozen=True)
class Outputs:
    """What the saved ``derived`` group holds: extra grid ``times``, the RMST horizon (default:
    the end of follow-up), the extrapolation ``horizon`` (default: a lifetime with a population,
    else five times the follow-up) and the annual ``discount`` rate."""

    times: tuple = ()
    rmst_to: float | None = None
    horizon: float | None = None
    discount: float = 0.035


def _spec(model, fields_) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model.with_(**fields_) if fields_ else model
    return ModelSpec(hazard=model, **fields_)


def fit(
    ipd: pd.DataFrame | None = None,
    model: ModelSpec | str = "weibull",
    *,
    seed: int,
    summaries: Summaries | None = None,
    external: External | None = None,
    population: Population | None = None,
    sampler: Sampler = Sampler(),
    outputs: Outputs = Outputs(),
    pointwise: bool | None = None,
    source: str = "the IPD table",
    inputs: dict | None = None,
    record: dict | None = None,
    **spec_fields,
) -> xr.DataTree:
    """Fit a survival model by NUTS and return the result DataTree (see the module docstring).

    ``inputs`` (role -> path) and ``record`` (e.g. the spec's text) go into the provenance.

    ``model`` is a :class:`~bayesurv.survival.structure.ModelSpec` or a hazard name with the
    spec's fields as keywords (``arm="arm"``, ``cure="mixture"``, ``covariates=["group"]``...).

    Examples
    --------
    >>> import pandas as pd
    >>> ipd = pd.DataFrame({"time": [5., 8., 12., 20., 3.], "event": [1, 1, 0, 1, 1]})
    >>> res = fit(ipd, "exponential", seed=1, sampler=Sampler(200, 200, 2))  # doctest: +SKIP
    """
    from bayesurv.provenance import provenance
    from bayesurv.sampling import check, diagnostics, sample
    from bayesurv.survival.builder import compiled

    spec, d, cohort, (horizon, times, rmst_to), extended = _checked(
        model, spec_fields, ipd, summaries, external, population, outputs, source
    )
    target = sampler.target_accept or (
        0.95
        if spec.flexible
        else 0.9
        if (spec.cure != "none" or spec.background or "t" not in d)
        else 0.8
    )
    tree = sample(
        compiled(spec, d),
        seed=seed,
        draws=sampler.draws,
        tune=sampler.tune,
        chains=sampler.chains,
        target_accept=target,
        adaptation="low_rank",
    )
    post = _natural_params(_relabel(tree["posterior"].to_dataset(), spec), spec, d)
    names = [p.name for p in parameters(spec)]
    diag = check(diagnostics(tree, var_names=names), what=f"the {_label(spec)} fit")
    groups = {"posterior": post, "sample_stats": tree["sample_stats"].to_dataset()}
    groups.update(_data_groups(spec, d, cohort))
    groups["cohort"] = _cohort_group(spec, d, cohort, population, horizon)
    n_pat = len(d.get("t", ()))
    asked = pointwise
    size = n_pat * post.sizes["chain"] * post.sizes["draw"]
    if pointwise is None:
        pointwise = size <= MAX_POINTWISE
    ll, rep, thinned = _pointwise(spec, post, d, seed, pointwise, cohort, population)
    if ll:
        groups["log_likelihood"] = xr.Dataset(ll)
    if rep:
        groups["posterior_predictive"] = xr.Dataset(rep)
        if thinned:
            groups["posterior_predictive"].attrs["thinned"] = thinned
    left_out = None
    if n_pat and not pointwise:
        why = (
            "pointwise=False was asked for"
            if asked is False
            else f"{n_pat} patients x {size // n_pat} draws = {size:,} values is above "
            f"MAX_POINTWISE ({MAX_POINTWISE:,})"
        )
        left_out = (
            f"the per-patient log-likelihood (log_likelihood/time) was left out because {why}, "
            "so LOO/WAIC and compare() need a refit with pointwise=True (or fewer draws); "
            f"posterior_predictive/time holds {thinned}."
        )
        if asked is None:
            warnings.warn(left_out, PointwiseWarning, stacklevel=2)
    result = xr.DataTree.from_dict(groups)
    shifts = {
        p.name: float(d["log_t_ref"]) * (1 if p.role == "log_time" else -1)
        for p in parameters(spec)
        if p.role in ("log_time", "log_rate")
    }
    shifts.update(d.get("prior_shift", {}))
    result.attrs.update(
        spec=spec.to_json(),
        bayesurv_provenance=json.dumps(
            provenance(seed=seed, inputs=inputs, **(record or {})), default=str
        ),
        priors=json.dumps(prior_table(spec, shifts)),
        diagnostics=json.dumps({**diag.as_dict(), "problems": diag.problems}),
    )
    derived = O.derived(result, times=times, rmst_to=rmst_to, discount=outputs.discount)
    result["derived"] = xr.DataTree(derived)
    notes = identifiability(result)
    for note in notes:
        warnings.warn(note, IdentifiabilityWarning, stacklevel=2)
    if extended:
        notes.append(extended)
    if left_out:
        notes.append(left_out)
        result.attrs["left_out"] = left_out
    if population is not None and spec.smr_prior is None and float(population.smr) < 1:
        notes.append(smr_note(float(population.smr)))
        warnings.warn(notes[-1], PopulationWarning, stacklevel=2)
    result.attrs["notes"] = json.dumps(notes)
    return result


def _check_life_table(spec, cohort, population, outputs, horizon) -> str | None:
    """The life table covers every member of the cohort from entry to the end of follow-up or
    the horizon, whichever is later (a lifetime when no horizon was asked for), or the fit is
    refused now, before sampling; with ``population.extend`` the rule is stated instead, and
    its text goes into the result's notes (:func:`bayesurv.lifetable.check_coverage`)."""
    if population is None or spec.time_unit is None or "members" not in cohort:
        return None
    from bayesurv.lifetable import check_coverage
    from bayesurv.survival.population import units_per_year

    k = units_per_year(spec.time_unit)
    follow = float(cohort.get("follow_up") or 0.0) / k
    years = None  # a lifetime
    if outputs.horizon is not None:
        years = max(float(horizon) / k, follow)
        years = years if np.isfinite(years) else None
    return check_coverage(
        population.table,
        cohort["members"].age,
        years,
        extend=population.extend,
        horizon_option="horizon (--horizon-years; horizon_years or horizon in a spec)",
        extend_option="the 'constant' rule (--life-table-extend constant; in a spec's "
        'population, life_table_extend = "constant")',
        follow_up=follow,
    )


def check_inputs(
    ipd: pd.DataFrame | None = None,
    model: ModelSpec | str = "weibull",
    *,
    summaries: Summaries | None = None,
    external: External | None = None,
    population: Population | None = None,
    outputs: Outputs = Outputs(),
    source: str = "the IPD table",
    **spec_fields,
) -> None:
    """Everything :func:`fit` checks before sampling (the model, the data, the horizon and
    output times, the life table's coverage), without sampling: a many-fit job runs it for
    every fit first, so that bad input is refused before any fit starts."""
    from bayesurv.lifetable import LifeTableWarning

    with warnings.catch_warnings():  # an extension rule is said by the fit itself
        warnings.simplefilter("ignore", LifeTableWarning)
        _checked(model, spec_fields, ipd, summaries, external, population, outputs, source)


def _checked(model, spec_fields, ipd, summaries, external, population, outputs, source):
    """The model, its data arrays and cohort, the output settings and the life table's coverage
    (the extension rule's text or None): all a fit checks before sampling."""
    spec = _spec(model, spec_fields)
    spec, d, cohort = prepare(
        spec, ipd, summaries=summaries, external=external, population=population, source=source
    )
    settings = _settings(spec, cohort, population, outputs)
    extended = _check_life_table(spec, cohort, population, outputs, settings[0])
    return spec, d, cohort, settings, extended


def _label(spec) -> str:
    return f"{spec.hazard}" + (f" {spec.cure}-cure" if spec.cure != "none" else "")


def _settings(spec, cohort, population, outputs):
    follow = float(cohort["time"].max()) if "time" in cohort else cohort.get("last_time")
    if outputs.horizon is not None:
        horizon = float(outputs.horizon)
    elif population is not None:
        from bayesurv.survival.population import units_per_year

        smr = float(population.smr)
        if spec.smr_prior is not None:  # the prior's 0.1% quantile: a low SMR lives longest
            mu, sigma = spec.smr_prior.params[:2]
            smr = float(np.exp(mu - 3.090232 * sigma))
        horizon = population.lifetime(
            cohort["members"], units_per_year(spec.time_unit), follow or 0.0, smr=smr
        )
    elif follow is not None:
        horizon = 5.0 * follow if not O.plain(spec) else float("inf")
    else:
        raise InputError("a fit to reported summaries needs a horizon (Outputs(horizon=...)).")
    if not horizon > 0:
        raise InputError(f"the horizon {horizon:g} must be positive.")
    cohort["follow_up"] = (
        follow if follow is not None else (horizon if np.isfinite(horizon) else 1.0)
    )
    times = tuple(float(x) for x in np.atleast_1d(outputs.times))
    top = horizon if np.isfinite(horizon) else float("inf")
    if any(not (np.isfinite(x) and 0 <= x <= top) for x in times):
        raise InputError(f"times must lie between 0 and the horizon ({horizon:g}).")
    to = outputs.rmst_to
    if to is not None and not (np.isfinite(to) and 0 < to <= top):
        raise InputError(
            f"the RMST horizon must be a positive number within {horizon:g}, got {to!r}."
        )
    return horizon, times, to


def _relabel(post: xr.Dataset, spec: ModelSpec) -> xr.Dataset:
    from bayesurv.survival.structure import terms_of

    labels = {
        "arm": list(spec.arms),
        "hazard_term": terms_of(spec.covariates),
        "cure_term": terms_of(spec.cure_covariates),
    }
    for name, covs in spec.ancillary:
        labels[f"{name}_term"] = terms_of(covs)
    return post.assign_coords({k: v for k, v in labels.items() if k in post.dims})


def _natural_params(post: xr.Dataset, spec: ModelSpec, d) -> xr.Dataset:
    """flexsurv's parameters of a parametric family, where they are one per draw (or arm)."""
    if spec.flexible or spec.ancillary or spec.nonph:
        return post
    raw = {name: post[name] for name, _ in spec.family.sampled}
    for k, v in spec.family.natural(NP, raw, float(d["log_t_ref"])).items():
        if k not in post:
            post[k] = v
    return post


def _data_groups(spec, d, cohort) -> dict:
    out = {}
    if "t" in d:
        patient = np.arange(len(cohort["time"]))
        labels = np.asarray(list(spec.arms) or ["all"], dtype=object)
        out["observed_data"] = xr.Dataset(
            {"time": ("patient", cohort["time"])}, coords={"patient": patient}
        )
        const = {
            "time": ("patient", cohort["event"].astype(int)),
            "arm": ("patient", labels[cohort["arm"]].astype(str)),
        }
        if cohort.get("entry") is not None:
            const["entry"] = ("patient", cohort["entry"])
        for name, values in cohort.get("columns", {}).items():  # covariates, as given
            const[name] = ("patient", values)
        out["constant_data"] = xr.Dataset(const, coords={"patient": patient})
    if cohort["reported"]:
        obs = _observed_reported(d)
        ds = out.setdefault("observed_data", xr.Dataset())
        out["observed_data"] = ds.assign(
            reported=xr.DataArray(
                obs, dims="reported_number", coords={"reported_number": cohort["reported"]}
            )
        )
    return out


def _natural(term, y):
    """A reported number from its term's scale to its own: survival, HR, median, counts."""
    if term == "landmarks":
        return np.exp(-np.exp(y))
    return np.exp(y) if term in ("hazard_ratios", "medians") else y


def _observed_reported(d) -> np.ndarray:
    """The reported numbers on their own scales, in the order of :func:`terms.parts`."""
    ys = {
        "landmarks": d.get("lm_y"),
        "events": d.get("ev_d"),
        "hazard_ratios": d.get("hr_y"),
        "medians": np.log(d["md_t"]) if "md_t" in d else None,
        "external": d.get("xl_d"),
        "registry": d.get("rg_d"),
    }
    return np.concatenate([_natural(k, v) for k, v in ys.items() if v is not None])


def _pointwise(spec, post, d, seed, pointwise, cohort, population):
    """Per-patient and per-reported-number log-likelihood and predictive draws (NumPy twin),
    and what a thinned posterior_predictive holds (``None`` when it holds every draw).

    Without ``pointwise`` the per-patient log-likelihood is left out and the replicated times
    (and, to keep one draw axis, the replicated reported numbers) are drawn for the same
    seeded subset of draws in every chain, at most :data:`PPC_DRAWS` in all and at most
    :data:`PPC_CELLS` and :data:`MAX_POINTWISE` values (one draw per chain at least); the
    per-reported-number log-likelihood is always whole."""
    S = post.sizes["chain"] * post.sizes["draw"]
    raw = {p.name: post[p.name].values.reshape(S, -1) for p in parameters(spec)}
    rng = np.random.default_rng([seed, 7])
    dims = ("chain", "draw")
    shape = (post.sizes["chain"], post.sizes["draw"])
    coords = {"chain": post["chain"].values, "draw": post["draw"].values}
    ll, rep = {}, {}
    n = len(d.get("t", ()))
    step = max(1, 2_000_000 // max(1, n))

    def per_draw(values, dim, labels=None):
        values = np.reshape(values, shape + (-1,))
        return xr.DataArray(values, dims=(*dims, dim), coords={**coords, **(labels or {})})

    thinned, pick = None, None
    if n and pointwise:
        parts = [
            terms.loglik(NP, spec, {k: v[i : i + step] for k, v in raw.items()}, d, True)["ipd"]
            for i in range(0, S, step)
        ]
        ll["time"] = per_draw(np.concatenate(parts), "patient")
        rep["time"] = per_draw(predictive_times(spec, raw, d, cohort, population, rng), "patient")
    elif n:
        C, D = shape
        per_chain = min(D, max(1, min(PPC_DRAWS, PPC_CELLS // n, MAX_POINTWISE // n) // C))
        pick = np.sort(np.random.default_rng([seed, 8]).choice(D, per_chain, replace=False))
        rows = (np.arange(C)[:, None] * D + pick[None, :]).ravel()
        times = predictive_times(
            spec, {k: v[rows] for k, v in raw.items()}, d, cohort, population, rng
        )
        rep["time"] = xr.DataArray(
            times.reshape(C, pick.size, n),
            dims=(*dims, "patient"),
            coords={"chain": coords["chain"], "draw": coords["draw"][pick]},
        )
        thinned = (
            f"replicated times for {pick.size} of {D} draws in each of {C} chains (the same "
            f"draws in every chain, chosen by numpy default_rng([seed, 8]) with seed {seed}; "
            "their draw numbers are the coordinate)"
        )
    if cohort["reported"]:
        pp = terms.profiles(NP, spec, raw, d)
        qs = terms.parts(NP, spec, raw, pp, d, terms.smr_of(raw, d))
        vals, draws = [], []
        for term, q in qs.items():
            vals.append(
                np.broadcast_to(terms.term_loglik(NP, q), (S, np.shape(q.get("y", q.get("k")))[-1]))
            )
            if "mu" in q:
                draws.append(
                    _natural(term, q["mu"] + q["se"] * rng.standard_normal(np.shape(q["mu"])))
                )
            else:
                p = -np.expm1(q["log_q"])
                draws.append(
                    rng.binomial(np.round(q["n"]).astype(int), np.clip(p, 0, 1)).astype(float)
                )
        names = {"reported_number": cohort["reported"]}
        ll["reported"] = per_draw(np.concatenate(vals, -1), "reported_number", names)
        rep["reported"] = per_draw(np.concatenate(draws, -1), "reported_number", names)
        if pick is not None:
            rep["reported"] = rep["reported"].isel(draw=pick)
    return ll, rep, thinned


def predictive_times(spec, raw, d, cohort, population, rng) -> np.ndarray:
    """Replicated event times of every patient (no censoring), one per draw: the excess time
    solving ``H_exc(t) = E`` (the family's inverse; for flexible hazards and waning a log-time
    grid of 129 points with log-log interpolation; infinite past a cure plateau), the background
    death time exactly (:func:`bayesurv.survival.population.background_death_times`), the first of
    the two; with delayed entry both conditional on the patient's entry."""
    from bayesurv.survival import predictor as P

    S, n = next(iter(raw.values())).shape[0], len(d["t"])
    G = terms.n_patterns(NP, spec, d)
    ref = float(np.exp(d["log_t_ref"]))
    E = rng.exponential(size=(S, n))
    out = np.empty((S, n))
    step = max(1, 2_000_000 // n)
    with np.errstate(all="ignore"):
        for i in range(0, S, step):
            r = {k: v[i : i + step] for k, v in raw.items()}
            pp = terms.profiles(NP, spec, r, d)
            e = E[i : i + step]
            if spec.entry:
                x = {"t": d["en_t"], **{k[5:]: v for k, v in d.items() if k.startswith("en_x_")}}
                e = (
                    e
                    + d["en_pos"]
                    * P.excess(NP, spec, r, pp, x, d["en_idx"], d["en_arm"], d["en_g"], G)[1]
                )
            if not (spec.flexible or spec.waning):  # the family's inverse, through the cure
                out[i : i + step] = _invert(spec, pp, d["idx"], e, None if spec.entry else rng)
                continue
            # a log-time grid per profile, read at each E
            grid = np.exp(np.linspace(np.log(ref * 1e-4), np.log(ref * 1e4), 129))
            prof = np.arange(d["prof_arm"].size)[:, None]
            Hg = P.excess(
                NP, spec, r, pp, {"t": grid[None, :]}, prof, d["prof_arm"][:, None], prof % G, G
            )[1]
            Hp = np.log(np.maximum(Hg[:, d["idx"], :], 1e-300))  # (s, n, M), increasing
            out[i : i + step] = np.exp(O.first_crossing(np.log(grid), Hp, np.log(e)))
    return _with_background(out, spec, raw, d, cohort, population, rng)


def _invert(spec, pp, idx, e, rng=None):
    """Times at which the excess cumulative hazard reaches ``e`` (parametric, no waning); with
    ``rng`` (no entry to condition on), uncured AFT times are drawn directly where the family
    can (:meth:`Family.rvs`), which is the same distribution."""
    from bayesurv.survival import predictor as P

    fam = spec.family
    nat = {k: P.take(NP, v, idx) for k, v in pp["nat"].items()}
    eta = P.take(NP, pp["eta"], idx)
    if rng is not None and fam.random is not None and spec.cure == "none" and spec.mode == "aft":
        return np.exp(eta) * fam.rvs(rng, np.shape(e), **nat)
    if spec.cure != "none":
        pi = 1 / (1 + np.exp(-P.take(NP, pp["cure"], idx)))
        if spec.cure == "mixture":  # S_exc = pi + (1 - pi) S_u
            su = (np.exp(-e) - pi) / (1 - pi)
        else:  # S_exc = pi^(1 - S_u)
            su = 1 + e / np.log(pi)
        e = np.where(su > 0, -np.log(np.where(su > 0, su, 1.0)), np.inf)
    if spec.mode == "aft":
        return np.exp(eta) * fam.inv_cum_hazard(e, **nat)
    return fam.inv_cum_hazard(e * np.exp(-eta), **nat)


def _with_background(out, spec, raw, d, cohort, population, rng):
    S, n = out.shape
    if population is not None:
        from bayesurv.survival.population import background_death_times, units_per_year

        smr = raw["smr"] if "smr" in raw else float(population.smr)
        Eb = rng.exponential(size=(S, n)) / smr
        if spec.entry:
            Eb = Eb + d["en_H_pop"]
        sex = np.where(rng.uniform(size=(S, n)) < cohort["male"], "male", "female")
        tb = background_death_times(
            np.broadcast_to(cohort["ages"], (S, n)).ravel(),
            sex.ravel(),
            population.table,
            Eb.ravel(),
            year=population.year,
            time_scale=units_per_year(spec.time_unit),
        ).reshape(S, n)
        out = np.minimum(out, tb)
    return out


def _cohort_group(spec, d, cohort, population, horizon) -> xr.Dataset:
    ds = xr.Dataset({"share": ("pattern", cohort["share"])})
    for k, v in cohort["patterns"].items():
        ds[f"pattern_{k.replace(':', '_')}"] = (("pattern", f"{k.replace(':', '_')}_term"), v)
    ds.attrs.update(
        log_t_ref=float(d["log_t_ref"]),
        follow_up=float(cohort["follow_up"]),
        horizon=float(horizon),
    )
    if population is not None:
        m = cohort["members"]
        ds["node_age"], ds["node_sex"] = ("node", m.age), ("node", m.sex.astype(str))
        ds["node_weight"], ds["node_pattern"] = ("node", m.weight), ("node", cohort["node_pattern"])
        t = population.table
        # the sexes the cohort has (a men-only cohort on a men-only table needs no women's rates)
        sexes = [s for s in ("male", "female") if s in set(m.sex.astype(str))]
        key = {s: t._key(s, population.year) for s in sexes}
        ds["life_table"] = (("sex", "age"), np.stack([t.rates[key[s]] for s in sexes]))
        ds = ds.assign_coords(sex=sexes, age=t.ages)
        ds.attrs.update(
            smr=float(population.smr), life_table_source=t.source or "", year=str(population.year)
        )
    return ds


def identifiability(result) -> list[str]:
    """Sentences about what the data cannot tell apart in a cure model (empty otherwise):
    a cure fraction whose posterior sd is above 70% of its prior's; uncured survival above 10%
    at the end of follow-up (cure and latency trade off)."""
    spec = O.spec_of(result)
    if spec.cure == "none":
        return []
    from bayesurv.survival.structure import Param, prior_of

    notes = []
    rng = np.random.default_rng(13)
    cf = result["derived"]["cure_fraction"]
    prior = prior_of(spec, Param("cure_logit", "cure_logit"))
    eff = (
        prior_of(spec, Param("cure_effect", "effect"))
        if "cure_effect" in result["posterior"]
        else None
    )
    base = prior.ppf(rng.uniform(size=20000)) if prior.family != "flat" else None
    for a, label in enumerate(cf["arm"].values):
        if base is None or spec.cure_covariates:
            break
        lin = base + (eff.ppf(rng.uniform(size=20000)) if a == 1 and eff is not None else 0.0)
        prior_sd = float(np.std(1 / (1 + np.exp(-lin))))
        post_sd = float(cf.sel(arm=label).std())
        if post_sd > 0.7 * prior_sd:
            notes.append(
                f"The data say little about the cure fraction in arm {label}: its posterior sd "
                f"({post_sd:.2f}) is {post_sd / prior_sd:.0%} of the prior's ({prior_sd:.2f}), so "
                "the extrapolation rests mostly on the prior."
            )
    if "time" in result["observed_data"]:
        from bayesurv.survival import predictor as P

        F = O.fitted(result)
        pp = F.profiles(F.raw)
        with np.errstate(all="ignore"):
            H_u = P.uncured(
                NP, spec, F.raw, pp, {"t": np.array([F.follow_up])}, np.zeros(1, int), 0.0
            )[1]
        s_u = np.exp(-H_u[:, 0])
        med = float(np.median(s_u))
        if med > 0.10:
            first = parameters(spec)[0].name
            r = float(np.corrcoef(cf.isel(arm=0).values.ravel(), F.raw[first][:, 0])[0, 1])
            notes.append(
                "Follow-up is too short to tell cured patients from slowly failing ones: an "
                f"estimated {med:.0%} of the uncured (reference arm) are still event-free at the "
                "end of follow-up, so the cure fraction and the uncured survival trade off "
                f"(posterior correlation of the cure fraction with {first}: {r:+.2f}); treat the "
                "plateau as an assumption."
            )
    return notes


def prior_predictive(
    ipd: pd.DataFrame | None = None,
    model: ModelSpec | str = "weibull",
    *,
    seed: int,
    draws: int = 1000,
    summaries: Summaries | None = None,
    external: External | None = None,
    population: Population | None = None,
    outputs: Outputs = Outputs(),
    **spec_fields,
) -> xr.DataTree:
    """Draws from the prior, laid out as a result (``prior``, ``prior_predictive``, ``cohort``,
    ``derived``): what the priors say on the scale of the data, before fitting."""
    import pymc as pm

    from bayesurv.survival.builder import build

    spec, d, cohort, (horizon, times, rmst_to), _ = _checked(
        model, spec_fields, ipd, summaries, external, population, outputs, "the IPD table"
    )
    names = [p.name for p in parameters(spec)]
    with build(spec, d), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The effect of Potentials", category=UserWarning)
        pp = pm.sample_prior_predictive(draws=draws, random_seed=seed, var_names=names)
    prior = _natural_params(_relabel(pp["prior"].to_dataset(), spec), spec, d)
    _, rep, _ = _pointwise(spec, prior, d, seed, True, cohort, population)
    groups = {"prior": prior, "cohort": _cohort_group(spec, d, cohort, population, horizon)}
    if rep:
        groups["prior_predictive"] = xr.Dataset(rep)
    result = xr.DataTree.from_dict(groups)
    result.attrs["spec"] = spec.to_json()
    result["derived"] = xr.DataTree(O.derived(result, times=times, rmst_to=rmst_to))
    return result


def save(result: xr.DataTree, path: str | Path) -> None:
    """Write a result to NetCDF (all groups and attributes)."""
    result.to_netcdf(path)


def load(path: str | Path) -> xr.DataTree:
    """Read a result written by :func:`save`."""
    return xr.open_datatree(path).load()


__all__ = ["External", "Outputs", "Population", "Sampler", "Summaries", "fit", "load", "save"]
