"""Run an analysis spec end to end into a results folder.

``run(spec_path, out)`` fits every ``[[survival]]`` section's model grid to the trial's reported
summaries (:mod:`bayesurv.survival.aggregate`), pools every ``[[pool]]`` section's hazard ratios
(:mod:`bayesurv.synthesis.pool`), answers the spec's queries (:mod:`bayesurv.query`), and writes

* ``<section>.nc``: the base-case model of each section as an ArviZ DataTree (``posterior``,
  ``sample_stats``, ``derived`` quantities on a ``time`` coordinate with an ``arm`` dim,
  ``observed_data``), with provenance (versions, spec, seed, input hashes) in its attributes;
  ``<section>/<family>-<cure>.nc`` for every model of the grid;
* ``figures/*.png`` and ``*.svg``, ``summary.json`` and a self-contained ``report.html``.

Seeds: every fit's seed is derived from the spec's seed and the model's name (CRC32), so the
same spec and seed give the same numbers, and adding a model does not change the others.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
import time as _time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.provenance import provenance
from bayesurv.sampling import ConvergenceWarning
from bayesurv.spec import AnalysisSpec, Pool, Survival, load_spec

UNITS_PER_YEAR = {"days": 365.25, "weeks": 52.1775, "months": 12.0, "years": 1.0}
MARK = ".bayesurv-results"


def key_of(name: str) -> str:
    """A query-friendly identifier for a section name ("EFS across trials" -> efs_across_trials)."""
    k = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return k if k and not k[0].isdigit() else f"s_{k}"


def derived_seed(seed: int, *names: str) -> int:
    return (int(seed) + zlib.crc32("/".join(names).encode())) % (2**31 - 1)


class Progress:
    """A rich status line, or nothing with ``quiet``."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = _time.perf_counter()
        if not quiet:
            from rich.console import Console

            self.console = Console(stderr=True)

    def say(self, msg: str) -> None:
        if not self.quiet:
            self.console.print(f"[dim]{_time.perf_counter() - self.t0:6.1f}s[/] {msg}")


# --------------------------------------------------------------------------------------------
# survival sections
# --------------------------------------------------------------------------------------------
@dataclass
class SurvivalFit:
    section: Survival
    family: str
    cure: str
    tree: xr.DataTree
    fit: dict
    landmark_check: pd.DataFrame
    background: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.family}-{self.cure}"


def reported_arms(sec: Survival, files: dict, k: int):
    """The reported summaries of survival section ``k`` (1-based) per arm: returns
    ``({arm: ReportedArm}, landmarks, events)``, each checked."""
    from bayesurv.survival.aggregate import ARMS, ReportedArm, check_events, check_landmarks

    lm = pd.read_csv(files[f"survival[{k}].landmarks"], comment="#")
    lm = lm[lm["endpoint"].astype(str).str.upper() == sec.endpoint.upper()]
    if sec.analyses:
        lm = lm[lm["analysis"].isin(sec.analyses)]
    lm = lm.rename(columns={"time_months": "time"})
    if lm.empty:
        raise InputError(
            f"survival section {sec.name!r}: no landmark rows for endpoint {sec.endpoint!r}"
            + (f" and analyses {sec.analyses}" if sec.analyses else "") + "; check the spec."
        )
    ev = pd.DataFrame()
    if sec.events:
        ev = pd.read_csv(files[f"survival[{k}].events"], comment="#")
        ev = ev[ev["endpoint"].astype(str).str.upper() == sec.endpoint.upper()]
        if sec.analyses:
            ev = ev[ev["analysis"].isin(sec.analyses)]
        ev = ev.rename(columns={"median_followup_months": "median_followup",
                                "max_followup_months": "max_followup"})
    arms = {}
    for arm in ARMS:
        a_lm = check_landmarks(lm[lm["arm"] == arm][["time", "survival", "lower", "upper"]].reset_index(drop=True),
                               f"{sec.landmarks} ({arm})")
        cols = ["n", "events", "median_followup", "max_followup"]
        a_ev = ev[ev["arm"] == arm][cols].reset_index(drop=True) if len(ev) else pd.DataFrame(columns=cols)
        if len(a_ev):
            check_events(a_ev, f"{sec.events} ({arm})")
        arms[arm] = ReportedArm(a_lm, a_ev)
    return arms, lm, ev


def background_function(sec: Survival, files: dict, k: int, scale: float):
    """The cohort's general-population survival S_bg(t) as a function of model time (None
    without a cohort), and a sentence saying what was assumed."""
    if sec.cohort is None:
        return None, "no general-population mortality (no cohort given)"
    from bayesurv.lifetable import read_life_table
    from bayesurv.survival.background import Cohort, background_survival

    c = sec.cohort
    table = read_life_table(files[f"survival[{k}].cohort.life_table"])
    ages = np.arange(np.floor(c.age_min), np.ceil(c.age_max) + 1e-9, 0.25)
    ages = ages[(ages >= c.age_min) & (ages <= c.age_max)]
    if c.age_distribution == "uniform":
        w = np.ones_like(ages)
    elif c.age_sd > 0:
        w = np.exp(-0.5 * ((ages - c.age_mean) / c.age_sd) ** 2)
    else:
        ages, w = np.array([c.age_mean]), np.array([1.0])
    w = w / w.sum()
    age = np.concatenate([ages, ages])
    sex = np.array(["male"] * ages.size + ["female"] * ages.size)
    weight = np.concatenate([w * c.male, w * (1 - c.male)])
    cohort = Cohort(age=age, sex=sex, weight=weight)

    def bg(t):
        t = np.asarray(t, dtype=float)
        return background_survival(t.ravel(), cohort, table, year=c.year, time_scale=scale, smr=c.smr).reshape(t.shape)

    age = (f"age at entry uniform on {c.age_min:g}-{c.age_max:g}" if c.age_distribution == "uniform"
           else f"age at entry {c.age_mean:g} (sd {c.age_sd:g}, range {c.age_min:g}-{c.age_max:g})")
    note = (
        f"general-population mortality from {Path(c.life_table).name} (year {c.year or 'latest'}), "
        f"{age}, "
        f"{c.male:.0%} male, SMR {c.smr:g}"
    )
    return bg, note


def _derived(surv: xr.DataArray, scale: float, discount: float) -> xr.Dataset:
    t = surv["time"].values
    years = t / scale
    s = surv.values  # chain, draw, arm, time
    rmst = np.trapezoid(s, years, axis=-1)  # life-years to the horizon
    disc = np.trapezoid(s * (1 + discount) ** (-years), years, axis=-1)
    logs = np.log(np.clip(s, 1e-300, None))
    h = -np.gradient(logs, t, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hr = h[..., 1, :] / h[..., 0, :]
    dims = ("chain", "draw")
    coords = {"chain": surv["chain"], "draw": surv["draw"], "time": t, "arm": surv["arm"].values}
    return xr.Dataset(
        {
            "survival": (dims + ("arm", "time"), s),
            "hazard": (dims + ("arm", "time"), h),
            "surv_control": (dims + ("time",), s[..., 0, :]),
            "surv_experimental": (dims + ("time",), s[..., 1, :]),
            "surv_diff": (dims + ("time",), s[..., 1, :] - s[..., 0, :]),
            "hr_t": (dims + ("time",), hr),
            "rmst": (dims + ("arm",), rmst),
            "rmst_discounted": (dims + ("arm",), disc),
            "rmst_diff": (dims, rmst[..., 1] - rmst[..., 0]),
            "rmst_diff_discounted": (dims, disc[..., 1] - disc[..., 0]),
        },
        coords=coords,
        attrs={"time_unit_per_year": scale, "discount": discount,
               "rmst": "restricted mean survival time to the horizon, in years (life-years for OS)",
               "rmst_diff": "experimental minus control (life-years gained for OS)"},
    )


def fit_survival_section(sec: Survival, files: dict, k: int, spec: AnalysisSpec, progress: Progress,
                         spec_text: str) -> list[SurvivalFit]:
    from bayesurv.sampling import check, diagnostics, sample
    from bayesurv.survival.aggregate import build_reported_model, reported_loglik, survival_draws

    scale = UNITS_PER_YEAR[sec.time_unit]
    arms, lm, ev = reported_arms(sec, files, k)
    bg, bg_note = background_function(sec, files, k, scale)
    t_ref = float(ev["median_followup"].median()) if len(ev) else float(lm["time"].median())
    horizon = sec.horizon_years * scale
    grid = np.unique(np.concatenate([np.linspace(0, horizon, 481), sec.landmark_times,
                                     lm["time"].to_numpy(float)]))
    grid = grid[grid <= horizon]
    fits = []
    for family in sec.families:
        for cure in sec.cure:
            label = f"{family}-{cure}"
            progress.say(f"{sec.name}: fitting {label} to the reported summaries")
            model = build_reported_model(family, arms, cure=cure, background=bg, t_ref=t_ref,
                                         use_events=bool(sec.events))
            seed = derived_seed(spec.seed, sec.name, label)
            s = spec.sampling
            idata = sample(model, seed=seed, draws=s.draws, tune=s.tune, chains=s.chains,
                           target_accept=s.target_accept)
            names = [v for v in idata["posterior"].data_vars if not str(v).startswith("cure_fraction")]
            diag = check(diagnostics(idata, names), f"{sec.name} {label}")
            post = idata["posterior"].to_dataset()

            def surv_fn(times, post=post, family=family, cure=cure):
                return survival_draws(post, family, cure, times, background=bg, t_ref=t_ref).values

            surv = survival_draws(post, family, cure, grid, background=bg, t_ref=t_ref)
            derived = _derived(surv, scale, sec.discount)
            if cure == "mixture":
                derived["cure_fraction_control"] = post["cure_fraction_control"]
                derived["cure_fraction_experimental"] = post["cure_fraction_experimental"]
                derived["cure_diff"] = post["cure_fraction_experimental"] - post["cure_fraction_control"]
            ll = reported_loglik(surv_fn, arms)
            flat = ll.reshape(-1, ll.shape[-1])
            lppd = float(np.sum(np.log(np.mean(np.exp(flat), axis=0))))
            p_waic = float(np.sum(np.var(flat, axis=0, ddof=1)))
            tree = xr.DataTree.from_dict({
                "posterior": post,
                "sample_stats": idata["sample_stats"].to_dataset(),
                "derived": derived,
                "log_likelihood": xr.Dataset({"reported": (("chain", "draw", "reported_number"), ll)}),
                "observed_data": xr.Dataset({
                    "landmarks": (("landmark", "column"), lm[["time", "survival", "lower", "upper"]].to_numpy(float)),
                }, coords={"landmark": [f"{r.arm} t={r.time:g}" for r in lm.itertuples()],
                           "column": ["time", "survival", "lower", "upper"]}),
            })
            tree.attrs.update({
                "bayesurv_provenance": json.dumps(provenance(
                    seed=seed, inputs={key: v for key, v in files.items() if key.startswith(f"survival[{k}]")},
                    spec=spec_text, section=sec.name, model=label), default=str),
                "family": family, "cure": cure, "t_ref": t_ref, "time_unit": sec.time_unit,
                "background": bg_note,
            })
            check_rows = []
            q = surv.quantile([0.025, 0.5, 0.975], dim=("chain", "draw"))
            for r in lm.itertuples():
                sq = q.sel(arm=r.arm).interp(time=r.time).values
                check_rows.append({"arm": r.arm, "time": r.time, "published": r.survival,
                                   "published_lower": r.lower, "published_upper": r.upper,
                                   "model_median": sq[1], "model_lower": sq[0], "model_upper": sq[2],
                                   "within_published_ci": bool(r.lower <= sq[1] <= r.upper)})
            fit = {"model": label, "lppd": lppd, "p_waic": p_waic, "elpd_waic": lppd - p_waic,
                   "diagnostics": diag.as_dict(), "problems": diag.problems, "seed": seed}
            fits.append(SurvivalFit(sec, family, cure, tree, fit, pd.DataFrame(check_rows),
                                    background=bg(grid) if bg else None, notes=[bg_note]))
    return fits


def base_case(fits: list[SurvivalFit]) -> SurvivalFit:
    """The model the report leads with: the spec's ``base_case`` if given, else the best WAIC
    among converged fits (ties: spec order)."""
    wanted = fits[0].section.base_case
    if wanted:
        for f in fits:
            if f.label == wanted:
                return f
        raise InputError(
            f"survival section {fits[0].section.name!r}: base_case {wanted!r} is not in its grid "
            f"({', '.join(f.label for f in fits)})."
        )
    ok = [f for f in fits if not f.fit["problems"]] or fits
    return max(ok, key=lambda f: round(f.fit["elpd_waic"], 6))


def _summ(x) -> dict:
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975])
    return {"median": float(med), "lower": float(lo), "upper": float(hi), "mean": float(x.mean())}


def survival_summary(fit: SurvivalFit, times) -> dict:
    d = fit.tree["derived"].to_dataset()
    scale = UNITS_PER_YEAR[fit.section.time_unit]
    rows = []
    for t in times:
        if t > float(d["time"].max()):
            continue
        for arm in d["arm"].values:
            rows.append({"time": float(t), "arm": str(arm),
                         **_summ(d["survival"].sel(arm=arm).interp(time=t).values)})
    out = {
        "model": fit.label,
        "survival": rows,
        "rmst_years": {str(a): _summ(d["rmst"].sel(arm=a).values) for a in d["arm"].values},
        "rmst_years_discounted": {str(a): _summ(d["rmst_discounted"].sel(arm=a).values)
                                  for a in d["arm"].values},
        "rmst_diff": _summ(d["rmst_diff"].values),
        "rmst_diff_discounted": _summ(d["rmst_diff_discounted"].values),
        "horizon_years": float(d["time"].max()) / scale,
        "discount": fit.section.discount,
        "fit": fit.fit,
        "landmark_check": fit.landmark_check.to_dict(orient="records"),
    }
    if "cure_fraction_control" in d:
        out["cure_fraction"] = {
            "control": _summ(d["cure_fraction_control"].values),
            "experimental": _summ(d["cure_fraction_experimental"].values),
        }
    return out


# --------------------------------------------------------------------------------------------
# pool sections
# --------------------------------------------------------------------------------------------
DEFAULT_SENSITIVITY = ["halfnormal(0.25)", "halfnormal(0.5)", "halfnormal(1)", "halfcauchy(0.5)",
                       "uniform(0, 2)"]


@dataclass
class PoolRun:
    section: Pool
    effects: pd.DataFrame
    exact: object
    mcmc: object
    sensitivity: pd.DataFrame


def run_pool_section(sec: Pool, files: dict, k: int, spec: AnalysisSpec, progress: Progress) -> PoolRun:
    from bayesurv.evidence.effects import read_effects
    from bayesurv.synthesis.pool import pool, sensitivity

    progress.say(f"{sec.name}: pooling hazard ratios")
    eff = read_effects(files[f"pool[{k}].effects"], sec.where or None, exclude_=sec.exclude or None)
    exact = pool(eff, mu_prior=sec.mu_prior, tau_prior=sec.tau_prior, method="exact")
    s = spec.sampling
    mcmc = pool(eff, mu_prior=sec.mu_prior, tau_prior=sec.tau_prior, method="mcmc",
                seed=derived_seed(spec.seed, sec.name), draws=s.draws, tune=s.tune, chains=s.chains)
    priors = sec.sensitivity_tau_priors or DEFAULT_SENSITIVITY
    sens = sensitivity(eff, priors, mu_prior=sec.mu_prior, thresholds=sec.thresholds)
    return PoolRun(sec, eff, exact, mcmc, sens)


def pool_quantities(post: xr.Dataset) -> xr.Dataset:
    """Queryable quantities of a pooled posterior (``mu``, ``tau``, ``theta_new``, ``theta``)."""
    out = xr.Dataset({
        "pooled_log_hr": post["mu"],
        "pooled_hr": np.exp(post["mu"]),
        "tau": post["tau"],
        "predictive_log_hr": post["theta_new"],
        "predictive_hr": np.exp(post["theta_new"]),
    })
    if "theta" in post:
        out["study_hr"] = np.exp(post["theta"])
    return out


# --------------------------------------------------------------------------------------------
# the whole run
# --------------------------------------------------------------------------------------------
def prepare_out(out: Path, force: bool) -> None:
    if out.exists():
        if not force:
            raise InputError(f"{out} already exists; choose another --out or pass --force to replace it.")
        if any(out.iterdir()) and not (out / MARK).exists():
            raise InputError(
                f"{out} holds files that bayesurv did not write; choose another --out (it is not replaced even with --force)."
            )
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    (out / MARK).write_text("written by bayesurv run; --force may replace this folder\n")


def run(spec_path: str | Path, out: str | Path | None = None, *, force: bool = False,
        quiet: bool = False, draws: int | None = None) -> dict:
    """Run ``spec_path`` into ``out`` (default ``results/<spec name>``); return the summary."""
    spec_path = Path(spec_path)
    spec, files = load_spec(spec_path)
    if draws is not None:
        spec = spec.model_copy(update={"sampling": spec.sampling.model_copy(update={"draws": draws, "tune": draws})})
    out = Path(out) if out is not None else Path("results") / spec_path.stem
    if out.exists() and not force:
        raise InputError(f"{out} already exists; choose another --out or pass --force to replace it.")
    # read and check every input before anything is written
    from bayesurv.evidence.effects import read_effects

    for k, sec in enumerate(spec.survival, start=1):
        reported_arms(sec, files, k)
    for k, sec in enumerate(spec.pool, start=1):
        read_effects(files[f"pool[{k}].effects"], sec.where or None, exclude_=sec.exclude or None)
    prepare_out(out, force)
    progress = Progress(quiet)
    spec_text = spec_path.read_text()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = _run(spec, spec_path, spec_text, files, out, progress)
    notes = sorted({str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)})
    for n in notes:
        progress.say(f"[yellow]warning[/]: {n}")
    summary["warnings"] = notes
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")
    return summary


def quantities_from_results(folder: str | Path) -> xr.Dataset:
    """Every base-case section of a results folder as one Dataset of queryable quantities, named
    ``<section key>_<quantity>`` as in the spec's queries."""
    from bayesurv.query import quantities_from_tree

    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    out = {}
    for kind in ("survival", "pool"):
        for sec in summary.get(kind, {}).values():
            tree = xr.open_datatree(folder / f"{sec['key']}.nc")
            if kind == "survival":
                ds = quantities_from_tree(tree, groups=("derived",))
            else:
                ds = pool_quantities(tree["posterior"].to_dataset())
            for name, da in ds.data_vars.items():
                out[f"{sec['key']}_{name}"] = da
    return xr.Dataset(out)


def _run(spec, spec_path, spec_text, files, out, progress) -> dict:
    from bayesurv.analysis_report import build_report
    from bayesurv.query import probability

    summary: dict = {"title": spec.title, "spec": str(spec_path), "seed": spec.seed,
                     "survival": {}, "pool": {}, "queries": []}
    quantities: dict[str, xr.DataArray] = {}
    surv_fits: dict[str, list[SurvivalFit]] = {}
    for k, sec in enumerate(spec.survival, start=1):
        fits = fit_survival_section(sec, files, k, spec, progress, spec_text)
        surv_fits[sec.name] = fits
        key = key_of(sec.name)
        (out / key).mkdir(exist_ok=True)
        for f in fits:
            f.tree.to_netcdf(out / key / f"{f.label}.nc")
        best = base_case(fits)
        best.tree.attrs["base_case"] = "yes"
        best.tree.to_netcdf(out / f"{key}.nc")
        _, _, ev = reported_arms(sec, files, k)
        max_fu = float(ev["max_followup"].max()) if len(ev) and ev["max_followup"].notna().any() else None
        summary["survival"][sec.name] = {
            "key": key, "base_case": best.label, "background": best.notes[0], "max_followup": max_fu,
            "models": {f.label: survival_summary(f, sec.landmark_times) for f in fits},
        }
        for name, da in best.tree["derived"].to_dataset().data_vars.items():
            quantities[f"{key}_{name}"] = da
    pools: dict[str, PoolRun] = {}
    for k, sec in enumerate(spec.pool, start=1):
        pr = run_pool_section(sec, files, k, spec, progress)
        pools[sec.name] = pr
        key = key_of(sec.name)
        pr.mcmc.idata.to_netcdf(out / f"{key}.nc")
        summary["pool"][sec.name] = {
            "key": key,
            "exact": pr.exact.summary(thresholds=sec.thresholds),
            "mcmc": pr.mcmc.summary(thresholds=sec.thresholds),
            "sensitivity": pr.sensitivity.reset_index().to_dict(orient="records"),
            "studies": pr.effects["study"].tolist(),
        }
        for name, da in pool_quantities(pr.mcmc.idata["posterior"].to_dataset()).data_vars.items():
            quantities[f"{key}_{name}"] = da
    if spec.queries.statements:
        progress.say("answering the spec's questions")
        sizes = {(v.sizes["chain"], v.sizes["draw"]) for v in quantities.values()}
        if len(sizes) > 1:  # every section samples spec.sampling draws; never pad with NaN
            raise AssertionError(f"sections have different numbers of draws: {sizes}")
        ds = xr.Dataset({k: v.drop_vars([c for c in v.coords if c not in v.dims], errors="ignore")
                         for k, v in quantities.items()})
        summary["queries"] = [probability(q, ds) for q in spec.queries.statements]
    summary["provenance"] = provenance(seed=spec.seed, inputs=files, spec=spec_text)
    progress.say("writing figures and the report")
    build_report(out, spec, summary, surv_fits, pools)
    progress.say(f"done: {out / 'report.html'}")
    return summary


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    return str(x)
