"""Benchmark: a two-arm Weibull PH fit (default 100,000 patients, 4 chains x 1000 draws after
1000 warm-up), bayesurv (nutpie) against PyMC's own NUTS and Stan (rstan).

Run:  .venv/bin/python benchmarks/bench_fit.py [--n 100000] [--draws 1000] [--chains 4]
                                               [--cores 2] [--skip-pymc] [--skip-stan]
                                               [--skip-processes]

Methods, all on the same simulated data set (truth: shape 1.3, scale 24, log HR log 0.7 = -0.357)
except the re-used fit, which gets a second data set of the same size:

* ``bayesurv first``: ``bayesurv.survival.fit.fit`` with an empty in-process compile cache (build
  + compile, its callbacks from the disk cache when an earlier process compiled the structure,
  + low-rank NUTS + diagnostics + derived quantities, no per-patient groups);
* ``bayesurv re-used``: a second ``fit`` re-using the compiled model (``with_data``);
* ``pm.sample``: PyMC's NUTS on the same ``pm.Model`` (``cores`` processes);
* ``Stan (rstan)``: the same model and priors as a vectorized Stan program, compiled and sampled by
  ``Rscript`` (``cores`` processes); its timings come from R's ``system.time``, its draws come back
  through a CSV. Skipped with "Stan: not available (reason)" when Rscript/rstan is missing or the
  model does not compile (Debian: ``apt-get install r-cran-rstan``).

Then, unless ``--skip-processes``, where the first fit's time goes across processes: three fresh
processes fit the same structure (2,000 patients): one with an empty PyTensor/numba cache (a new
``base_compiledir``), then two with the cache it left; each prints its import, build+compile and
sampling seconds. The compile of a warm process is what ``bayesurv fit`` adds to a re-used fit.

Prints a table: compile (or set-up) seconds, sampling seconds, total wall seconds, the smallest
bulk ESS over log_median/log_shape/log_hr (ArviZ, for every method), bulk ESS per second of
sampling, and the ratios of total time and of ESS/s to ``bayesurv re-used``. Then the posterior
mean and sd of each sampled parameter per method, and whether each method agrees with
``bayesurv first`` (same data): |difference of means| <= 3 x the combined Monte Carlo SE.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

PARAMS = ["log_median", "log_shape", "log_hr"]

#: bayesurv's default two-arm Weibull PH model (bayesurv/survival/structure.py), written in Stan:
#: flexsurv's Weibull, h(t) = (a / b) (t / b)^(a - 1), H(t) = (t / b)^a, with
#: a = exp(log_shape), b = exp(log_median - log(log 2) / a), PH via exp(log_hr * arm);
#: log L = sum event * log h(t) - H(t). Priors: log_median ~ N(log t_ref, 2) (t_ref = median
#: observed time), log_shape ~ N(0, 1), log_hr ~ N(0, 1.5). Vector types only, so it compiles
#: with Stan 2.21 (Debian's rstan) and with later versions.
STAN_CODE = """
data {
  int<lower=1> N;
  vector[N] log_t;
  vector[N] event;
  vector[N] arm;
  real log_t_ref;
}
transformed data {
  real log_log2 = log(log(2));
}
parameters {
  real log_median;
  real log_shape;
  real log_hr;
}
model {
  real shape = exp(log_shape);
  real log_scale = log_median - log_log2 / shape;
  vector[N] z = log_t - log_scale;
  vector[N] eta = log_hr * arm;
  target += normal_lpdf(log_median | log_t_ref, 2);
  target += normal_lpdf(log_shape | 0, 1);
  target += normal_lpdf(log_hr | 0, 1.5);
  target += dot_product(event, log_shape - log_scale + (shape - 1) * z + eta)
            - sum(exp(shape * z + eta));
}
"""

R_SCRIPT = r"""
suppressPackageStartupMessages(library(rstan))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1])
chains <- as.integer(a[3]); draws <- as.integer(a[4]); warmup <- as.integer(a[5])
cores <- as.integer(a[6]); seed <- as.integer(a[7]); log_t_ref <- as.numeric(a[8])
code <- paste(readLines(a[9]), collapse = "\n")
cat(sprintf("STAN_VERSION rstan %s, Stan %s\n", packageVersion("rstan"), stan_version()))
# Debian's r-cran-bh is an empty shim over libboost-dev: point rstan at the system headers
boost <- if (nzchar(system.file("include", package = "BH"))) NULL else "/usr/include"
tc <- system.time(sm <- stan_model(model_code = code, model_name = "weibull_ph",
                                   boost_lib = boost))
cat(sprintf("STAN_COMPILE_S %.3f\n", tc[["elapsed"]]))
sdata <- list(N = nrow(d), log_t = log(d$time), event = d$event, arm = d$arm,
              log_t_ref = log_t_ref)
ts <- system.time(fit <- sampling(sm, data = sdata, chains = chains, iter = warmup + draws,
                                  warmup = warmup, cores = cores, seed = seed, refresh = 0))
cat(sprintf("STAN_SAMPLE_S %.3f\n", ts[["elapsed"]]))
pars <- c("log_median", "log_shape", "log_hr")
x <- as.array(fit, pars = pars)  # iterations x chains x parameters
out <- data.frame(chain = rep(seq_len(dim(x)[2]) - 1L, each = dim(x)[1]),
                  draw = rep(seq_len(dim(x)[1]) - 1L, times = dim(x)[2]))
for (p in pars) out[[p]] <- as.vector(x[, , p])
write.csv(out, a[2], row.names = FALSE)
el <- get_elapsed_time(fit)  # per chain, inside the workers (no cluster start-up)
cat(sprintf("STAN_CHAIN_S %.3f %.3f\n", max(rowSums(el)), sum(el)))
sp <- get_sampler_params(fit, inc_warmup = FALSE)
cat(sprintf("STAN_DIVERGENT %d\n", sum(sapply(sp, function(s) sum(s[, "divergent__"])))))
"""


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    shape, scale, hr = 1.3, 24.0, 0.7
    # PH Weibull: H(t | arm) = (t / scale)^shape * hr^arm
    t = scale * (rng.exponential(size=n) / hr**arm) ** (1 / shape)
    c = rng.uniform(6, 60, n)
    return pd.DataFrame(
        {
            "time": np.minimum(t, c),
            "event": (t <= c).astype(int),
            "arm": np.where(arm == 1, "active", "control"),
        }
    ).sort_values("arm", ascending=False, kind="stable")


def _stats(post: xr.Dataset) -> dict:
    """Bulk ESS, MCSE of the mean, mean and sd of each sampled parameter (ArviZ)."""
    post = post[PARAMS]
    ess = az.ess(post, method="bulk")
    mcse = az.mcse(post, method="mean")
    return {
        p: {
            "ess": float(ess[p]),
            "mcse": float(mcse[p]),
            "mean": float(post[p].mean()),
            "sd": float(post[p].std()),
        }
        for p in PARAMS
    }


def run_bayesurv(ipd: pd.DataFrame, seed: int, kw: dict) -> dict:
    """One ``fit`` call, timing its compile/with_data step and its sampling step separately."""
    import bayesurv.sampling as S
    import bayesurv.survival.builder as B
    from bayesurv.survival.fit import fit

    times = {"compile": 0.0, "sampling": 0.0}
    orig_compiled, orig_sample = B.compiled, S.sample

    def timed(key, fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                times[key] += time.perf_counter() - t0

        return wrapper

    B.compiled, S.sample = timed("compile", orig_compiled), timed("sampling", orig_sample)
    try:
        t0 = time.perf_counter()
        res = fit(ipd, "weibull", seed=seed, **kw)
        total = time.perf_counter() - t0
    finally:
        B.compiled, S.sample = orig_compiled, orig_sample
    div = int(np.asarray(res["sample_stats"]["diverging"].values).sum())
    return {
        **times,
        "total": total,
        "stats": _stats(res["posterior"].to_dataset()),
        "divergences": div,
    }


def _prepared(ipd: pd.DataFrame):
    from bayesurv.survival.data import prepare
    from bayesurv.survival.structure import ModelSpec

    spec, d, _ = prepare(ModelSpec("weibull", arm="arm", effect="ph"), ipd)
    return spec, d


def run_pymc(ipd: pd.DataFrame, draws: int, chains: int, cores: int) -> dict:
    from bayesurv.survival.builder import build

    t0 = time.perf_counter()
    model = build(*_prepared(ipd))
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = pm.sample(
            nuts_sampler="pymc",
            draws=draws,
            tune=draws,
            chains=chains,
            cores=min(chains, cores),
            random_seed=1,
            progressbar=False,
            compute_convergence_checks=False,
        )
    total = time.perf_counter() - t0
    post = idata["posterior"]
    sampling = float(post.attrs.get("sampling_time", np.nan))
    div = int(np.asarray(idata["sample_stats"]["diverging"].values).sum())
    return {
        "compile": total - sampling,  # model build + compile + init + conversion
        "sampling": sampling,
        "total": total,
        "stats": _stats(post.to_dataset() if hasattr(post, "to_dataset") else post),
        "divergences": div,
    }


def run_stan(ipd: pd.DataFrame, draws: int, chains: int, cores: int) -> dict | str:
    """The Stan fit, or a string saying why Stan is not available."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "Rscript not found (Debian: apt-get install r-cran-rstan)"
    _, d = _prepared(ipd)  # same arrays (reference arm = 0) as bayesurv
    data = {"time": d["t"], "event": d["event"], "arm": d["arm"], "log_t_ref": d["log_t_ref"]}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_stan_") as tmp:
        tmp = Path(tmp)
        pd.DataFrame(
            {
                "time": data["time"],
                "event": data["event"].astype(int),
                "arm": data["arm"].astype(int),
            }
        ).to_csv(tmp / "data.csv", index=False, float_format="%.17g")
        (tmp / "model.stan").write_text(STAN_CODE)
        (tmp / "run.R").write_text(R_SCRIPT)
        cmd = [
            rscript, "--vanilla", str(tmp / "run.R"), str(tmp / "data.csv"), str(tmp / "draws.csv"),
            str(chains), str(draws), str(draws), str(cores), "1", repr(float(data["log_t_ref"])),
            str(tmp / "model.stan"),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
        out = proc.stdout
        marks = {
            ln.split()[0]: ln.split(None, 1)[1].strip()
            for ln in out.splitlines()
            if ln.startswith("STAN_") and len(ln.split()) > 1
        }
        if proc.returncode != 0 or "STAN_SAMPLE_S" not in marks:
            err = [
                ln.strip()
                for ln in proc.stderr.splitlines()
                if ln.strip() and not ln.startswith(("Calls:", "Timing stopped", "Execution halt"))
            ][-2:] or ["no output"]
            where = "compile" if "STAN_COMPILE_S" not in marks else "sampling"
            if "there is no package called" in proc.stderr:
                where = "rstan is not installed"
            return f"Rscript failed at {where}: {' | '.join(err)}"
        draws_df = pd.read_csv(tmp / "draws.csv")
    total = time.perf_counter() - t0
    post = xr.Dataset(
        {
            p: (
                ("chain", "draw"),
                draws_df.pivot(index="chain", columns="draw", values=p).to_numpy(),
            )
            for p in PARAMS
        },
        coords={"chain": np.arange(chains), "draw": np.arange(draws)},
    )
    return {
        "compile": float(marks["STAN_COMPILE_S"]),
        "sampling": float(marks["STAN_SAMPLE_S"]),
        "total": total,
        "stats": _stats(post),
        "divergences": int(marks.get("STAN_DIVERGENT", "-1")),
        "version": marks.get("STAN_VERSION", "?"),
        "chain_s": marks.get("STAN_CHAIN_S", "? ?").split(),
    }


def _ess_min(r: dict) -> float:
    return min(s["ess"] for s in r["stats"].values())


def report(results: dict[str, dict], ref: str = "bayesurv re-used") -> None:
    print()
    head = (
        f"{'method':<18}{'compile s':>10}{'sampling s':>11}{'total s':>9}{'min ESS':>9}"
        f"{'ESS/s':>8}{'div':>5}{'total/ref':>11}{'ESS/s / ref':>12}"
    )
    print(head)
    print("-" * len(head))
    r0 = results[ref]
    ess_s0 = _ess_min(r0) / r0["sampling"]
    for name, r in results.items():
        ess_s = _ess_min(r) / r["sampling"]
        print(
            f"{name:<18}{r['compile']:>10.1f}{r['sampling']:>11.1f}{r['total']:>9.1f}"
            f"{_ess_min(r):>9.0f}{ess_s:>8.1f}{r['divergences']:>5d}"
            f"{r['total'] / r0['total']:>10.2f}x{ess_s / ess_s0:>11.2f}x"
        )
    print(
        f"(compile s: for bayesurv, build + nutpie compile, or with_data when re-used; for "
        f"pm.sample, total minus PyMC's sampling_time; for Stan, stan_model() in R. ESS: smallest "
        f"ArviZ bulk ESS over {', '.join(PARAMS)}; ref = {ref})"
    )


def compare(results: dict[str, dict], ref: str = "bayesurv first") -> None:
    print()
    names = [n for n in results if n != "bayesurv re-used"]  # re-used fit has other data
    print(f"posterior mean (sd) per method; z = (mean - {ref}) / combined MCSE")
    print(f"{'parameter':<12}" + "".join(f"{n:>26}" for n in names))
    agree = {n: True for n in names}
    for p in PARAMS:
        s0 = results[ref]["stats"][p]
        cells = []
        for n in names:
            s = results[n]["stats"][p]
            cell = f"{s['mean']:+.4f} ({s['sd']:.4f})"
            if n != ref:
                z = (s["mean"] - s0["mean"]) / np.hypot(s["mcse"], s0["mcse"])
                agree[n] &= abs(z) <= 3
                cell += f" z={z:+.1f}"
            cells.append(f"{cell:>26}")
        print(f"{p:<12}" + "".join(cells))
    for n in names:
        if n != ref:
            verdict = "agrees" if agree[n] else "DISAGREES"
            print(f"{n} {verdict} with {ref} (every |z| <= 3)")


#: one fresh process fitting the benchmark's structure: its seconds per step, as JSON
PROCESS = """
import json, sys, time, warnings
t0 = time.perf_counter()
warnings.simplefilter("ignore")
sys.path.insert(0, {here!r})
from bench_fit import simulate
import bayesurv.sampling as S
import bayesurv.survival.builder as B
from bayesurv.survival.fit import Sampler, fit
out = {{"imports": time.perf_counter() - t0, "compile": 0.0, "sampling": 0.0}}
def timed(key, fn):
    def w(*a, **k):
        s = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            out[key] += time.perf_counter() - s
    return w
B.compiled, S.sample = timed("compile", B.compiled), timed("sampling", S.sample)
s = time.perf_counter()
fit(simulate(2000), "weibull", arm="arm", seed=1, sampler=Sampler(1000, 1000, 4), pointwise=False)
out["fit"] = time.perf_counter() - s
print("PROCESS " + json.dumps(out))
"""


def processes() -> None:
    """Three fresh processes on one structure: an empty compile cache, then a warm one twice."""
    import json

    here = str(Path(__file__).resolve().parent)
    code = PROCESS.format(here=here)
    print("\nfirst fit in a fresh process (2,000 patients, two-arm Weibull PH, 4 x 1000 draws)")
    print(f"{'process':<28}{'imports s':>10}{'compile s':>10}{'sampling s':>11}{'fit s':>8}")
    with tempfile.TemporaryDirectory(prefix="bench_cache_") as cache:
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}"}
        for label in ("empty cache", "warm cache", "warm cache again"):
            proc = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env
            )
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROCESS ")]
            if proc.returncode != 0 or not line:
                print(f"{label:<28}failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(line[0].removeprefix("PROCESS "))
            print(
                f"{label:<28}{r['imports']:>10.1f}{r['compile']:>10.1f}{r['sampling']:>11.1f}"
                f"{r['fit']:>8.1f}"
            )
    print(
        "(compile: build the pm.Model, rewrite and compile its graph, and create nutpie's "
        "callbacks, from the disk cache when warm; fit: everything fit() does)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--cores", type=int, default=2, help="processes for pm.sample and Stan")
    ap.add_argument("--skip-pymc", action="store_true")
    ap.add_argument("--skip-stan", action="store_true")
    ap.add_argument("--skip-processes", action="store_true")
    args = ap.parse_args()

    from bayesurv.survival.builder import _CACHE

    print(f"patients={args.n} chains={args.chains} draws={args.draws} (+{args.draws} tune)")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ipd = simulate(args.n)
    from bayesurv.survival.fit import Outputs, Sampler

    kw = dict(
        arm="arm",
        sampler=Sampler(args.draws, args.draws, args.chains),
        pointwise=False,
        outputs=Outputs(times=(12.0, 24.0, 60.0), rmst_to=60.0),
    )
    results: dict[str, dict] = {}
    _CACHE.clear()
    results["bayesurv first"] = run_bayesurv(ipd, 1, kw)
    print(f"bayesurv first:   {results['bayesurv first']['total']:.1f} s", flush=True)
    results["bayesurv re-used"] = run_bayesurv(simulate(args.n, seed=2), 2, kw)
    print(f"bayesurv re-used: {results['bayesurv re-used']['total']:.1f} s", flush=True)
    if not args.skip_pymc:
        results["pm.sample"] = run_pymc(ipd, args.draws, args.chains, args.cores)
        print(f"pm.sample:        {results['pm.sample']['total']:.1f} s", flush=True)
    if args.skip_stan:
        print("Stan: skipped (--skip-stan)")
    else:
        stan = run_stan(ipd, args.draws, args.chains, args.cores)
        if isinstance(stan, str):
            print(f"Stan: not available ({stan})")
        else:
            results["Stan (rstan)"] = stan
            print(
                f"Stan (rstan):     {stan['total']:.1f} s  [{stan['version']}]; per-chain "
                f"warm-up + sampling inside the workers: slowest {stan['chain_s'][0]} s, "
                f"sum {stan['chain_s'][1]} s",
                flush=True,
            )
    report(results)
    compare(results)
    if not args.skip_processes:
        processes()
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
