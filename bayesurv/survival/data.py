"""The data of one fit, checked and laid out for the builder: ``prepare(spec, ...)``.

Everything the likelihood reads is a plain array in one dict (so one compiled model serves every
data set of the same structure): the patients (times, events, entry, their profile), the
profiles' design (arm, centred covariates), the population's hazards, and the fixed points at
which the cohort's curves enter the reported and external terms, with each term's rows as
indices into those points. Covariates are coded here: a numeric column as it is, a categorical
one as dummies against its reference level, all centred on the data's means (stored in the
returned spec). ``t_ref`` (the median observed time, or the reported median follow-up) sets the
location of the time-scale priors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from bayesurv.errors import InputError
from bayesurv.evidence import reported as R
from bayesurv.survival import evidence as E
from bayesurv.survival.population import Population, units_per_year
from bayesurv.survival.splines import choose_basis
from bayesurv.survival.structure import Covariate, ModelSpec


@dataclass(frozen=True)
class Summaries:
    """A trial's reported numbers: per arm (``control``, ``experimental``) landmarks, events and
    medians (:class:`bayesurv.survival.evidence.ReportedArm`), the hazard ratios (rows of
    :func:`~bayesurv.evidence.reported.hazard_ratio_terms`), and which kinds enter."""

    arms: dict
    hazard_ratios: pd.DataFrame | None = None
    use: tuple[str, ...] = E.TERMS


@dataclass(frozen=True)
class External:
    """Long-term evidence (:mod:`bayesurv.evidence.reported`): landmark survival and registry
    counts, each with an optional ``arm`` column (default: the reference arm)."""

    landmarks: pd.DataFrame | None = None
    registry: pd.DataFrame | None = None


def _shown(value) -> str:
    return repr(value) if isinstance(value, str) else f"{value}"


def check_ipd(ipd: pd.DataFrame, spec: ModelSpec, source: str) -> dict:
    """Times, events, arm labels and entry times of the patients; one sentence per problem."""
    if not isinstance(ipd, pd.DataFrame) or len(ipd) == 0:
        raise InputError(f"{source} is empty; give one row per patient with columns time,event.")
    cols = ("time", "event", spec.arm, spec.entry, *(c.name for c in spec.all_covariates))
    for col in dict.fromkeys(c for c in cols if c):
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
    labels = list(spec.arms) if spec.arms else ["all"]
    arm = np.zeros(len(time), dtype=int)
    if spec.arm:
        values = ipd[spec.arm].astype(str).to_numpy()
        seen = list(dict.fromkeys(values))
        labels = list(spec.arms) or seen  # reference = first arm in the file unless given
        if len(seen) > 2:
            raise InputError(
                f"{source}, column {spec.arm!r} has {len(seen)} arms; fit one or two arms "
                "(a prognostic group is a covariate)."
            )
        unknown = [a for a in seen if a not in labels]
        if unknown:
            raise InputError(f"{source}: arm {unknown[0]!r} is not one of {', '.join(labels)}.")
        arm = np.array([labels.index(a) for a in values], dtype=int)
    for a, lab in enumerate(labels):
        if event[arm == a].sum() == 0:
            where = f" in arm {lab!r}" if spec.arm else ""
            raise InputError(
                f"{source} has no events{where}; a survival model needs at least one event."
            )
    out = {"time": time, "event": event, "arm": arm, "labels": labels}
    if spec.entry:
        entry = pd.to_numeric(ipd[spec.entry], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(entry) | (entry < 0) | (entry >= time))
        if bad.size:
            raise InputError(
                f"{source}, row {bad[0] + 1}: {spec.entry} must be >= 0 and below time."
            )
        out["entry"] = entry
    return out


def code(cov: Covariate, ipd: pd.DataFrame, source: str) -> tuple[Covariate, np.ndarray]:
    """A covariate's coded columns (n, k), centred, and the covariate with its levels and means."""
    col = ipd[cov.name]
    as_number = pd.to_numeric(col, errors="coerce")
    numeric = not isinstance(col.dtype, pd.CategoricalDtype) and (
        as_number.notna().all() or pd.api.types.is_numeric_dtype(col)
    )  # numbers, even read as text, are numeric; anything else is categorical
    if numeric and not cov.levels and cov.reference is None:
        x = as_number.to_numpy(float)[:, None]
        bad = np.flatnonzero(~np.isfinite(x[:, 0]))
        if bad.size:
            raise InputError(f"{source}, row {bad[0] + 1}: covariate {cov.name!r} is missing.")
        if np.ptp(x) == 0:
            raise InputError(f"{source}: covariate {cov.name!r} takes one value only; drop it.")
        levels = ()
    else:
        if col.isna().any():
            row = int(np.flatnonzero(col.isna().to_numpy())[0]) + 1
            raise InputError(f"{source}, row {row}: covariate {cov.name!r} is missing.")
        values = col.astype(str).to_numpy()
        if cov.levels:
            levels = list(cov.levels)
        elif isinstance(col.dtype, pd.CategoricalDtype):
            levels = [str(c) for c in col.cat.categories if str(c) in set(values)]
        else:
            levels = sorted(set(values))
        if cov.reference is not None:
            if cov.reference not in levels:
                raise InputError(
                    f"{source}: {cov.reference!r} is not a level of {cov.name!r}; choose one of "
                    f"{', '.join(levels)}."
                )
            levels = [cov.reference] + [v for v in levels if v != cov.reference]
        if len(levels) < 2:
            raise InputError(f"{source}: covariate {cov.name!r} takes one value only; drop it.")
        x = np.stack([values == lev for lev in levels[1:]], axis=1).astype(float)
    means = tuple(cov.means) if cov.means else tuple(float(v) for v in x.mean(axis=0))
    return replace(cov, levels=tuple(levels), means=means), x - np.asarray(means)


def _coded(covs, ipd, source):
    out, cols = [], []
    for c in covs:
        c2, x = code(c, ipd, source)
        out.append(c2)
        cols.append(x)
    return tuple(out), (np.hstack(cols) if cols else np.zeros((len(ipd), 0)))


def prepare(
    spec: ModelSpec,
    ipd: pd.DataFrame | None = None,
    *,
    summaries: Summaries | None = None,
    external: External | None = None,
    population: Population | None = None,
    source: str = "the IPD table",
) -> tuple[ModelSpec, dict, dict]:
    """``(spec, data, cohort)``: the spec with its data-derived fields filled in, the arrays of
    the likelihood, and the cohort (patterns, population nodes) the outputs average over."""
    terms = (["ipd"] if ipd is not None else []) + (
        [] if summaries is None else list(summaries.use)
    )
    if external is not None:
        terms += [
            k
            for k, v in (("external", external.landmarks), ("registry", external.registry))
            if v is not None
        ]
    if not terms:
        raise InputError("a fit needs data: patient-level data, reported summaries or both.")
    d: dict = {}
    ts = units_per_year(spec.time_unit)
    if spec.smr_prior is not None and population is None:
        raise InputError("an SMR prior needs a life table (general-population mortality).")
    if population is not None and spec.time_unit is None:
        raise InputError(
            "a life table needs the time unit of the data; give --time-unit "
            "days|weeks|months|years."
        )
    if ipd is not None:
        pat = check_ipd(ipd, spec, source)
        labels = pat["labels"]
    else:
        labels = list(spec.arms) or list(E.ARMS)
    spec = spec.with_(
        arms=tuple(labels) if len(labels) > 1 or spec.arm else (),
        terms=tuple(terms),
        background=population is not None,
    )
    A = 2 if spec.two_arms else 1
    # ---- covariates, patterns and profiles (p = arm G + g)
    if ipd is not None:
        parts = {}
        covs, Zh = _coded(spec.covariates, ipd, source)
        ccovs, Zc = _coded(spec.cure_covariates, ipd, source)
        anc = []
        for name, cs in spec.ancillary:
            cs2, Za = _coded(cs, ipd, source)
            anc.append((name, cs2))
            parts[f"anc:{name}"] = Za
        spec = spec.with_(covariates=covs, cure_covariates=ccovs, ancillary=tuple(anc))
        parts = {"hazard": Zh, "cure": Zc, **parts}
        allz = np.hstack(list(parts.values()))
        if allz.shape[1]:
            _, first, g = np.unique(
                np.round(allz, 10), axis=0, return_index=True, return_inverse=True
            )
            pats = {k: v[first] for k, v in parts.items()}
            g = g.ravel()
        else:
            pats, g = {k: v[:1] for k, v in parts.items()}, np.zeros(len(ipd), dtype=int)
        share = np.bincount(g, minlength=len(next(iter(pats.values())))) / len(g)
    else:
        if spec.covariates or spec.cure_covariates or spec.ancillary:
            raise InputError("covariates need patient-level data; reported summaries have none.")
        pats, g, share = {"hazard": np.zeros((1, 0)), "cure": np.zeros((1, 0))}, None, np.ones(1)
    G = len(share)
    d["prof_arm"] = np.repeat(np.arange(A, dtype=float), G)
    for k, v in pats.items():
        d[f"prof_{k}"] = np.tile(v, (A, 1))
    # ---- the time scale and the spline knots
    if ipd is not None:
        t_ref = float(np.median(pat["time"]))
        rate = float(pat["event"].sum() / (pat["time"] - pat.get("entry", 0.0)).sum())
    else:
        t_ref = _summary_t_ref(summaries)
        rate = float(np.log(2.0) / t_ref)
    d["log_t_ref"] = np.asarray(np.log(t_ref))
    basis = None
    if spec.flexible:
        if not spec.knots and ipd is None:
            raise InputError(
                f"the {spec.hazard} hazard places its knots on patient-level data; give knots."
            )
        if not spec.knots:
            b = choose_basis(
                spec.hazard,
                pat["time"],
                pat["event"],
                df=spec.df,
                extra_knots=list(spec.extra_knots) or None,
                smooth=spec.smooth,
            )
            spec = spec.with_(knots=b.knots, smooth=b.smooth)
        basis = spec.basis
        d["prior_shift"] = basis.prior_shift(float(np.log(rate)))
    cohort = {"patterns": pats, "share": share, "labels": list(spec.arms) or ["all"]}
    # ---- the patients
    if ipd is not None:
        t, ev, arm = pat["time"], pat["event"], pat["arm"]
        rows = {"": np.arange(len(t)), "ev_": np.flatnonzero(ev > 0)}
        if spec.density_path:  # events by log f, the censored by log S (terms.ipd)
            rows["ce_"] = np.flatnonzero(ev <= 0)
        if spec.entry:
            rows["en_"] = np.arange(len(t))
        if population is not None:
            ages, male = population.patients(ipd, source)
        for pre, r in rows.items():
            tt = pat["entry"][r] if pre == "en_" else t[r]
            tt_safe = np.where(tt > 0, tt, t_ref) if pre == "en_" else tt
            d[pre + "t"] = tt_safe
            d[pre + "arm"], d[pre + "g"] = arm[r].astype(float), g[r]
            d[pre + "idx"] = arm[r] * G + g[r]
            if basis is not None:
                for k, v in basis.design(tt_safe).items():
                    d[pre + "x_" + k] = v
            if population is not None:
                lh, H = population.patient_curves(tt_safe, ages[r], male[r], ts)
                d[pre + "log_h_pop"], d[pre + "H_pop"] = lh, H
                if pre == "en_":
                    d[pre + "H_pop"] = np.where(tt > 0, H, 0.0)
        d["event"] = ev
        if spec.entry:
            d["en_pos"] = (pat["entry"] > 0).astype(float)
        cohort.update(time=t, event=ev, arm=arm, entry=pat.get("entry"))
        names = {c.name for c in spec.all_covariates}
        cohort["columns"] = {c: _plain_values(ipd[c]) for c in sorted(names)}
    # ---- the population's nodes
    if population is not None:
        if ipd is not None:
            members, node_pattern = population.members(ages, male, g)
            cohort.update(ages=ages, male=male)
        else:
            members, node_pattern = population.members()
        cohort.update(members=members, node_pattern=node_pattern)
        d["smr"] = np.asarray(float(population.smr))
    # ---- the reported and external terms: points (t, arm) and each row's indices into them
    points: list[tuple[float, int]] = []

    def add(times, a) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        start = len(points)
        points.extend((float(x), int(a)) for x in times.ravel())
        return (start + np.arange(times.size)).reshape(times.shape)

    names: dict = {
        t: [] for t in ("landmarks", "events", "hazard_ratios", "medians", "external", "registry")
    }
    if summaries is not None:
        _reported(summaries, spec, d, add, names)
    if external is not None:
        _external(external, spec, d, add, names)
    reported = [x for v in names.values() for x in v]
    if points:
        pt = np.array(points)
        d["pt_t"], d["pt_arm"] = pt[:, 0], pt[:, 1]
        d["pt_idx"] = pt[:, 1].astype(int)[:, None] * G + np.arange(G)[None, :]
        d["pt_g"] = np.broadcast_to(np.arange(G), d["pt_idx"].shape).copy()
        if basis is not None:
            for k, v in basis.design(d["pt_t"]).items():
                d["ptx_" + k] = v
        if population is not None:
            pop = population.at_points(d["pt_t"], cohort["members"], cohort["node_pattern"], ts, G)
            d.update({f"pop_{k}": v for k, v in pop.items()})
        else:
            d["pop_share"] = share
    cohort["reported"] = reported
    if spec.flexible and spec.waning is not None:
        _check_waning_outside(spec, [pat["time"]] if ipd is not None else [], points)
    if points and ipd is None:
        cohort["last_time"] = float(d["pt_t"].max())
    return spec, d, cohort


def _check_waning_outside(spec, times, points) -> None:
    """A flexible hazard's waning must start after every time in the likelihood: the waned
    hazard's quadrature nodes need the spline's design, which is fixed data."""
    last = max([float(np.max(t)) for t in times] + [p[0] for p in points] + [0.0])
    t1 = float(spec.waning[1])
    if t1 < last * (1 - 1e-9):
        raise InputError(
            f"waning starts at {t1:g}, before the end of follow-up ({last:g}); inside follow-up "
            f"it must enter the likelihood, which bayesurv does for the parametric families, "
            f"not the {spec.hazard} hazard: use one, or start the waning at or after {last:g}."
        )


def _plain_values(col: pd.Series) -> np.ndarray:
    """A covariate column as numbers when it holds numbers, else as text (for NetCDF)."""
    num = pd.to_numeric(col, errors="coerce")
    return num.to_numpy(float) if num.notna().all() else col.astype(str).to_numpy()


def _summary_t_ref(s: Summaries) -> float:
    fus = [a.events["median_followup"] for a in s.arms.values() if len(a.events)]
    if fus:
        return float(pd.concat(fus).median())
    lms = [a.landmarks["time"] for a in s.arms.values() if len(a.landmarks)]
    if lms:
        return float(pd.concat(lms).median())
    meds = [a.medians["median"] for a in s.arms.values() if len(a.medians)]
    hrs = [s.hazard_ratios["median_followup"]] if s.hazard_ratios is not None else []
    vals = pd.concat(meds + hrs).astype(float) if meds + hrs else pd.Series(dtype=float)
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        raise InputError("the reported summaries give no time to scale the priors by.")
    return float(vals.median())


def _reported(s: Summaries, spec: ModelSpec, d: dict, add, names: list) -> None:
    lm, ev, md = (
        {"i": [], "y": [], "se": []},
        {"i": [], "w": [], "n": [], "d": []},
        {"i": [], "t": [], "se": []},
    )
    for a, arm in enumerate(spec.arms):
        rep = s.arms[arm]
        if "landmarks" in s.use and len(rep.landmarks):
            y, se = E.landmark_scale(rep.landmarks)
            times = rep.landmarks["time"].to_numpy(float)
            lm["i"].append(add(times, a))
            lm["y"].append(y)
            lm["se"].append(se)
            names["landmarks"].extend(f"landmark {arm} t={x:g}" for x in times)
        if "events" in s.use:
            for row in rep.events.itertuples(index=False):
                nodes, w = E.followup_nodes(
                    float(row.median_followup), getattr(row, "max_followup", None)
                )
                ev["i"].append(add(nodes, a)[None])
                ev["w"].append(w[None])
                ev["n"].append(float(row.n))
                ev["d"].append(float(row.events))
                names["events"].append(f"events {arm} n={int(row.n)}")
        if "medians" in s.use and len(rep.medians):
            m = rep.medians if "used" in rep.medians else R.check_medians(rep.medians)
            m = m[m["used"].astype(bool)]
            if len(m):
                t = np.exp(m["log_median"].to_numpy(float))
                md["i"].append(add(t, a))
                md["t"].append(t)
                md["se"].append(m["se"].to_numpy(float))
                names["medians"].extend(f"median {arm} {x:g}" for x in t)
    for pre, arrays in (("lm_", lm), ("ev_", ev), ("md_", md)):  # counts are one per row
        if arrays["i"]:
            join = {
                k: np.array(v) if k in ("n", "d") else np.concatenate(v) for k, v in arrays.items()
            }
            d.update({pre + k: v for k, v in join.items()})
    hrs = s.hazard_ratios
    if "hazard_ratios" in s.use and hrs is not None and len(hrs):
        hrs = hrs if "used" in hrs else R.hazard_ratio_terms(hrs)
        hrs = hrs[hrs["used"].astype(bool)]
        if len(hrs) and spec.two_arms:
            rows = [
                E.cox_nodes(float(r.median_followup), R.number(getattr(r, "max_followup", np.nan)))
                for r in hrs.itertuples()
            ]
            t = np.stack([x[0] for x in rows]) if len({x[0].size for x in rows}) == 1 else None
            if t is None:  # a cut with follow-up beyond its median uses 64 nodes, others 32
                width = max(x[0].size for x in rows)
                rows = [
                    (
                        np.pad(x[0], (0, width - x[0].size), mode="edge"),
                        np.pad(x[1], (0, width - x[1].size)),
                    )
                    for x in rows
                ]
                t = np.stack([x[0] for x in rows])
            r0, r1 = E.arm_shares(s.arms, spec.arms)
            d.update(
                hr_i0=add(t, 0),
                hr_i1=add(t, 1),
                hr_w=np.stack([x[1] for x in rows]),
                hr_y=hrs["log_hr"].to_numpy(float),
                hr_se=hrs["se"].to_numpy(float),
                hr_r0=np.asarray(r0),
                hr_r1=np.asarray(r1),
            )
            names["hazard_ratios"].extend(f"hazard ratio {np.exp(v):.2f}" for v in hrs["log_hr"])


def _external(x: External, spec: ModelSpec, d: dict, add, names: list) -> None:
    labels = list(spec.arms) or ["all"]
    for kind, df in (("landmarks", x.landmarks), ("registry", x.registry)):
        if df is None or not len(df):
            continue
        arms = df["arm"].astype(str).to_numpy() if "arm" in df else np.array([labels[0]] * len(df))
        unknown = sorted(set(arms) - set(labels))
        if unknown:
            raise InputError(
                f"external {kind}: arm {unknown[0]!r} is not an arm of the data; use one of "
                f"{', '.join(labels)}."
            )
        a = np.array([labels.index(v) for v in arms])
        if kind == "landmarks":
            d["xl_i"] = np.concatenate([add([t], k) for t, k in zip(df["time"], a, strict=True)])
            d["xl_n"], d["xl_d"] = df["n_eff"].to_numpy(float), df["events_eff"].to_numpy(float)
            names["external"].extend(
                f"external {lab} t={t:g}" for lab, t in zip(arms, df["time"], strict=True)
            )
        else:
            start = np.maximum(df["start"].to_numpy(float), 1e-9)
            d["rg_i0"] = np.concatenate([add([t], k) for t, k in zip(start, a, strict=True)])
            d["rg_i1"] = np.concatenate([add([t], k) for t, k in zip(df["stop"], a, strict=True)])
            d["rg_n"], d["rg_d"] = df["n_at_risk"].to_numpy(float), df["events"].to_numpy(float)
            names["registry"].extend(
                f"registry {lab} {s:g}-{e:g}"
                for lab, s, e in zip(arms, df["start"], df["stop"], strict=True)
            )
