"""Coverage of 20-year survival: Weibull mixture-cure vs non-cure Weibull, both with US
general-population mortality, on trials simulated from a mixture-cure model.

Run:  .venv/bin/python benchmarks/bench_cure_coverage.py [--runs 100] [--n 300]
          [--scheduler local|serial|local:N|tcp://HOST:PORT] [--resume]
      (``--replot`` redraws the figure from the saved CSV)

Scenario (one arm, adults): ``n`` patients aged N(60, 8) clipped to [30, 85] years at entry,
55% men, background mortality from the US 2014 life table (R ``survexp.us``); cure fraction
0.35; the uncured have a Weibull excess hazard (shape 1.2, scale 1.8 years: median 1.3 years,
3% still alive at 5 years); follow-up 5 years for everyone (administrative censoring, no
accrual). An adult cohort because then general-population mortality takes a large share of the
deaths by 20 years (S_bg(20) is about 0.6): the model has to get both parts right, and the
cured do not survive for ever. A paediatric cohort (S_bg(20) > 0.99) would test the cure
fraction alone.

Each run draws a new cohort and trial (seed ``[seed, run]``) and fits, with
:func:`bayesurv.survival.fit.fit` (4 chains x 1000 draws after 1000 tuning), (a)
the Weibull mixture-cure model and (b) a Weibull without cure, both with the life table. The
truth is the cohort's S(20 years) (mean over its patients of S_bg,i(20) x (pi + (1 - pi)
S_u(20)), :mod:`bayesurv.simulation.simulate`); we record whether each model's 90% equal-tailed
credible interval covers it. The issue asks for (a) coverage >= 85% of 100 runs, (b) not.

Writes ``benchmarks/output/cure_coverage.csv`` (one row per run and model, rewritten as runs
finish), ``cure_coverage.txt`` (coverage with a Clopper-Pearson 95% CI, mean interval width,
bias and RMSE of the posterior median, convergence, seconds) and ``cure_coverage.png`` (the
intervals against the truth, sorted). The runs are tasks of one :func:`bayesurv.batch.run` job
(one task per run, both fits in it; its seeds are the run's own, so the numbers do not depend on
the scheduler); the job folder ``<outdir>/<out>.job`` streams each run's rows as it finishes,
so ``--resume`` after a killed run fits only the runs still missing. The default local cluster
has ``cores // chains`` worker processes; nutpie samples the chains of each fit in threads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "output"
YEARS = 20.0
LEVEL = 0.90
SCENARIO = {
    "cure_fraction": 0.35,
    "family": "weibull",
    "params": {"shape": 1.2, "scale": 1.8},
    "age_mean": 60.0,
    "age_sd": 8.0,
    "age_range": (30.0, 85.0),
    "male": 0.55,
    "follow_up": 5.0,
    "accrual": 0.0,
    "life_table_year": 2014,
}
MODELS = {"cure": "mixture", "no cure": "none"}


def simulate_run(run: int, n: int, seed: int):
    """The cohort and trial of one run (seeded by ``[seed, run]``)."""
    from bayesurv.lifetable import us_life_table
    from bayesurv.simulation.simulate import simulate_cure

    sc = SCENARIO
    rng = np.random.default_rng([seed, run])
    ages = np.clip(rng.normal(sc["age_mean"], sc["age_sd"], n), *sc["age_range"])
    sexes = np.where(rng.random(n) < sc["male"], "male", "female")
    return simulate_cure(
        n,
        cure_fraction=sc["cure_fraction"],
        family=sc["family"],
        params=sc["params"],
        life_table=us_life_table(sc["life_table_year"]),
        ages=ages,
        sexes=sexes,
        follow_up=sc["follow_up"],
        accrual=sc["accrual"],
        seed=rng,
    )


def one_run(
    run: int, n: int, base_seed: int, draws: int, tune: int, chains: int, seed: int
) -> pd.DataFrame:
    """Simulate one trial (seeded by ``[base_seed, run]``), fit both models (seed ``seed``,
    the task's), return one row per model."""
    from bayesurv.lifetable import us_life_table
    from bayesurv.survival import outputs as O
    from bayesurv.survival.fit import Outputs, Sampler, fit
    from bayesurv.survival.population import Population

    sim = simulate_run(run, n, base_seed)
    truth = float(sim.truth.survival(YEARS))
    population = Population(
        us_life_table(SCENARIO["life_table_year"]), age_column="age", sex_column="sex"
    )
    rows = []
    for label, cure in MODELS.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = fit(
                sim.data,
                SCENARIO["family"],
                seed=seed,
                cure=cure,
                population=population,
                time_unit="years",
                sampler=Sampler(draws=draws, tune=tune, chains=chains),
                outputs=Outputs(times=(YEARS,)),
                pointwise=False,
            )
        secs = time.perf_counter() - t0
        x = O.survival(res, [YEARS]).values.ravel()  # the cohort's S(20 years), one arm
        lo, med, hi = np.quantile(x, [(1 - LEVEL) / 2, 0.5, (1 + LEVEL) / 2])
        diag = json.loads(res.attrs.get("diagnostics", "{}"))
        cf = O.cure_fraction(res).values.ravel() if cure != "none" else None
        names = sorted({type(w.message).__name__ for w in caught})
        rows.append(
            {
                "run": run,
                "model": label,
                "truth": truth,
                "true_background": float(sim.truth.background_survival(YEARS)),
                "events": int(sim.data["event"].sum()),
                "lower": lo,
                "median": med,
                "upper": hi,
                "covers": bool(lo <= truth <= hi),
                "width": hi - lo,
                "cure_median": float(np.median(cf)) if cf is not None else np.nan,
                "rhat_max": diag.get("rhat_max", np.nan),
                "ess_bulk_min": diag.get("ess_bulk_min", np.nan),
                "divergences": diag.get("divergences", np.nan),
                "warnings": ";".join(names),
                "seconds": secs,
            }
        )
    return pd.DataFrame(rows)


def coverage_ci(k: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson 95% interval of a binomial proportion."""
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return ci.low, ci.high


def summarize(df: pd.DataFrame, wall: float, scheduler: str, n: int) -> str:
    sc = SCENARIO
    lines = [
        "Coverage of S(20 years): Weibull mixture-cure vs non-cure Weibull, both with US 2014 "
        "general-population mortality",
    ]
    n_runs = df["run"].nunique()
    lines += [
        f"scenario: n = {n}, {sc['family']} mixture cure, pi = {sc['cure_fraction']}, uncured "
        f"{sc['params']} (years); ages N({sc['age_mean']:g}, {sc['age_sd']:g}) clipped to "
        f"{sc['age_range']}, {100 * sc['male']:g}% men; follow-up {sc['follow_up']:g} years, "
        f"accrual {sc['accrual']:g}",
        f"runs: {n_runs}; mean events per trial {df['events'].mean():.1f}; true S(20) "
        f"mean {df['truth'].mean():.3f} (range {df['truth'].min():.3f}-{df['truth'].max():.3f}); "
        f"general-population S(20) mean {df['true_background'].mean():.3f}",
        f"interval: {100 * LEVEL:g}% equal-tailed credible interval of S(20)",
        "",
        f"{'model':8s} {'covered':>8s} {'coverage':>9s} {'95% CI':>15s} {'width':>7s} "
        f"{'bias':>7s} {'RMSE':>7s} {'cure med':>8s} {'R-hat>1.01':>10s} {'div':>5s} "
        f"{'s/fit':>6s}",
    ]
    verdict = {}
    for label in MODELS:
        d = df[df["model"] == label]
        k, m = int(d["covers"].sum()), len(d)
        lo, hi = coverage_ci(k, m)
        err = d["median"] - d["truth"]
        verdict[label] = k / m
        lines.append(
            f"{label:8s} {k:>4d}/{m:<3d} {100 * k / m:>8.1f}% {100 * lo:>6.1f}-{100 * hi:>5.1f}% "
            f"{d['width'].mean():>7.3f} {err.mean():>+7.3f} {np.sqrt((err**2).mean()):>7.3f} "
            f"{d['cure_median'].mean():>8.3f} {int((d['rhat_max'] > 1.01).sum()):>10d} "
            f"{int(d['divergences'].fillna(0).sum()):>5d} {d['seconds'].mean():>6.1f}"
        )
    lines += [
        "",
        "(bias and RMSE of the posterior median of S(20) against the truth; cure med: mean "
        "posterior median of the cure fraction, truth 0.35)",
        f"requirement (a) cure model covers in >= 85% of runs: "
        f"{'PASS' if verdict['cure'] >= 0.85 else 'FAIL'} ({100 * verdict['cure']:.0f}%)",
        f"requirement (b) non-cure model does not: "
        f"{'PASS' if verdict['no cure'] < 0.85 else 'FAIL'} ({100 * verdict['no cure']:.0f}%)",
        "",
        f"wall time {wall / 60:.1f} min on scheduler {scheduler}, {os.cpu_count()} cores "
        f"(load average at the end {os.getloadavg()[0]:.1f}); fit seconds include sampling and "
        "the lifetime curves; the first fit of each model in a process also compiles it",
    ]
    warn = df.loc[df["warnings"].fillna("") != "", ["model", "warnings"]]
    if len(warn):
        counts = warn.groupby("model")["warnings"].value_counts()
        lines.append(
            "warnings during fits: " + "; ".join(f"{m} {w}: {c}" for (m, w), c in counts.items())
        )
    return "\n".join(lines) + "\n"


def figure(df: pd.DataFrame, path: Path, n: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 7.5), sharex=True)
    for ax, label in zip(axes, MODELS, strict=True):
        d = df[df["model"] == label].sort_values("median").reset_index(drop=True)
        y = np.arange(1, len(d) + 1)
        ok = d["covers"].to_numpy()
        for sel, colour, what in ((ok, "#1f5f99", "covers"), (~ok, "#d62728", "misses")):
            ax.hlines(
                y[sel],
                d["lower"][sel],
                d["upper"][sel],
                color=colour,
                lw=1.4,
                label=f"{100 * LEVEL:g}% interval {what} the truth",
            )
        ax.plot(d["median"], y, "|", color="k", ms=5, label="posterior median")
        ax.plot(d["truth"], y, "o", color="#ff7f0e", ms=3, label="true S(20) of the run's cohort")
        k = int(ok.sum())
        name = "Weibull mixture cure" if label == "cure" else "Weibull, no cure"
        ax.set_title(f"{name}: {k}/{len(d)} intervals cover the truth", fontsize=11)
        ax.set_xlabel("S(20 years)")
        ax.set_ylabel("run (sorted by posterior median)")
        ax.set_ylim(0, len(d) + 1)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=4,
        fontsize=9,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )
    fig.suptitle(
        f"{df['run'].nunique()} simulated trials (n = {n}, 5-year follow-up, adults, US 2014 "
        "life table): 20-year survival, both models with general-population mortality",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--scheduler", default="local", help="serial, local, local:N or tcp://...")
    ap.add_argument("--resume", action="store_true", help="fit only the runs a job left")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--out", default="cure_coverage", help="stem of the output files")
    ap.add_argument("--outdir", default=str(OUT), help="folder of the output files")
    ap.add_argument("--replot", action="store_true", help="redraw the figure from the CSV only")
    args = ap.parse_args()
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    if args.replot:
        figure(pd.read_csv(out / f"{args.out}.csv"), out / f"{args.out}.png", args.n)
        return
    from bayesurv.batch import Task, run

    tasks = [
        Task(
            f"run{r:04d}",
            one_run,
            {
                "run": r,
                "n": args.n,
                "base_seed": args.seed,
                "draws": args.draws,
                "tune": args.tune,
                "chains": args.chains,
            },
            seed=args.seed * 1000 + r,  # the seeds of the process-pool version: same numbers
            threads=args.chains,
        )
        for r in range(args.runs)
    ]
    t0 = time.perf_counter()
    print(
        f"{args.runs} runs x {len(MODELS)} fits, scheduler {args.scheduler}; load "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    csv = out / f"{args.out}.csv"
    job = run(
        tasks,
        seed=args.seed,
        scheduler=args.scheduler,
        out=out / f"{args.out}.job",
        resume=args.resume,
        force=not args.resume,
        label="runs",
    )
    if job.failed:
        for key, why in job.failed.items():
            print(f"{key}: {why}", file=sys.stderr)
    rows = [job[t.key] for t in tasks if t.key not in job.failed]
    wall = time.perf_counter() - t0
    df = pd.concat(rows).sort_values(["run", "model"]).reset_index(drop=True)
    df.to_csv(csv, index=False)
    text = summarize(df, wall, args.scheduler, args.n)
    (out / f"{args.out}.txt").write_text(text)
    figure(df, out / f"{args.out}.png", args.n)
    print()
    print(text, end="")
    print(f"wrote {csv}, {out / f'{args.out}.txt'}, {out / f'{args.out}.png'}")


if __name__ == "__main__":
    sys.exit(main())
