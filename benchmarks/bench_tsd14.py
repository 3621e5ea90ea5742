"""Benchmark: the NICE DSU TSD 14 grid (Latimer 2011/2013): the six standard parametric
families fitted to one trial, one after the other, as an assessor does before choosing an
extrapolation. GBSG-2 (lifelines.datasets.load_gbsg2: 686 patients, 299 events, two arms by
hormonal therapy, time in days), each family two-arm with its default effect (PH where the
family is closed under it, else AFT), 4 chains x 1000 draws after 1000 warm-up, serially.

Run:  .venv/bin/python benchmarks/bench_tsd14.py [--draws 1000] [--chains 4] [--cold]

Per family: compile seconds (build + graph + nutpie callbacks; from the disk cache when an
earlier process compiled the structure), sampling seconds, the rest of ``fit`` (diagnostics,
pointwise log-likelihood, predictive draws, the derived group), total, the smallest bulk ESS,
divergences, and ESS per second of sampling; then the grid's total and its AIC/BIC/LOO table
(:func:`bayesurv.survival.compare.compare`). ``--cold`` first points PyTensor at an empty cache
directory (``PYTENSOR_FLAGS=base_compiledir=...``, in a child process) so every structure
compiles from nothing. The target (issue 12): under 30 s for the grid on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

import pandas as pd

FAMILIES = ["exponential", "weibull", "gompertz", "lognormal", "loglogistic", "gengamma"]


def gbsg2() -> pd.DataFrame:
    from lifelines.datasets import load_gbsg2

    d = load_gbsg2()
    return pd.DataFrame(
        {
            "time": d["time"].astype(float),
            "event": d["cens"].astype(int),
            "arm": d["horTh"].astype(str),  # "no" first: the reference arm
        }
    )


def run_grid(draws: int, chains: int) -> None:
    import arviz as az

    import bayesurv.sampling as S
    import bayesurv.survival.builder as B
    from bayesurv.survival.compare import compare
    from bayesurv.survival.fit import Sampler, fit

    ipd = gbsg2()
    times = {}
    orig_compiled, orig_sample = B.compiled, S.sample

    def timed(key, fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                times[key] = times.get(key, 0.0) + time.perf_counter() - t0

        return wrapper

    B.compiled, S.sample = timed("compile", orig_compiled), timed("sampling", orig_sample)
    fits, rows = {}, []
    t_grid = time.perf_counter()
    try:
        for fam in FAMILIES:
            times.clear()
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = fit(ipd, fam, arm="arm", seed=1, sampler=Sampler(draws, draws, chains))
            total = time.perf_counter() - t0
            fits[fam] = res
            post = res["posterior"].to_dataset()
            names = [v for v in post.data_vars if {"chain", "draw"} >= set(post[v].dims)]
            ess = float(min(float(az.ess(post[[n]])[n]) for n in names))
            div = int(res["sample_stats"]["diverging"].values.sum())
            rows.append(
                (fam, times["compile"], times["sampling"], total, ess, div, ess / times["sampling"])
            )
            print(f"{fam}: {total:.1f} s", flush=True)
    finally:
        B.compiled, S.sample = orig_compiled, orig_sample
    grid_s = time.perf_counter() - t_grid
    print()
    head = (
        f"{'family':<13}{'compile s':>10}{'sampling s':>11}{'rest s':>8}{'total s':>9}"
        f"{'min ESS':>9}{'div':>5}{'ESS/s':>8}"
    )
    print(head)
    print("-" * len(head))
    for fam, c, s, tot, ess, div, rate in rows:
        print(
            f"{fam:<13}{c:>10.1f}{s:>11.1f}{tot - c - s:>8.1f}{tot:>9.1f}{ess:>9.0f}{div:>5d}"
            f"{rate:>8.0f}"
        )
    print(
        f"{'grid':<13}{sum(r[1] for r in rows):>10.1f}{sum(r[2] for r in rows):>11.1f}"
        f"{'':>8}{grid_s:>9.1f}"
    )
    print(f"\ntarget: under 30 s for the grid; measured {grid_s:.1f} s")
    table = compare(fits)
    cols = ["model", "AIC", "BIC", "elpd_loo", "se", "elpd_diff", "pareto_k_max"]
    print("\n" + table[cols].round(2).to_string(index=False))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--cold", action="store_true", help="an empty compile cache (child process)")
    args = ap.parse_args()
    print(f"GBSG-2, {len(FAMILIES)} families, {args.chains} x {args.draws} draws, serially")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.cold and "BENCH_TSD14_CHILD" not in os.environ:
        with tempfile.TemporaryDirectory(prefix="bench_tsd14_") as cache:
            env = {
                **os.environ,
                "PYTENSOR_FLAGS": f"base_compiledir={cache}",
                "BENCH_TSD14_CHILD": "1",
            }
            argv = [sys.executable, __file__, "--draws", str(args.draws), "--chains",
                    str(args.chains)]  # fmt: skip
            subprocess.run(argv, env=env, check=True)
        return
    t0 = time.perf_counter()
    import bayesurv.survival.fit  # noqa: F401  (imports are not the grid's time)

    print(f"imports: {time.perf_counter() - t0:.1f} s")
    run_grid(args.draws, args.chains)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
