"""The 6-family GBSG-2 grid on the execution layer: serial vs a local cluster of 1 and 2 workers
vs separate ``dask scheduler`` / ``dask worker`` processes on 127.0.0.1, and what limits scaling.

The grid: exponential, Weibull, Gompertz, log-normal, log-logistic and generalized gamma, each a
two-arm model (hormone therapy vs none; PH where the family allows it, AFT otherwise) fitted by
NUTS to lifelines' GBSG-2 (686 patients, 299 events), through ``bayesurv.batch.fits`` (the core's
fit), one task per family, the IPD shared. Every configuration runs the same tasks with the same
seeds; the script checks that every configuration's posterior draws are identical to serial.

Each family is fitted ``--repeats`` times (2: the second fit of a family in a process re-uses
its compiled model, so first - later is the compile cost). It prints, per configuration: wall
time (cluster start-up included, and apart), tasks per minute, the summed task seconds, the idle
and overhead time per task ((wall - start-up) x workers - task seconds) / tasks, the seconds a
result takes to come back to the client and to be written, its size, the ratio to serial, and
whether every group of every result equals serial's; then the first vs later fits per family and
worker, the scheduler's own cost per task (200 no-op tasks on the running cluster), and a
projection to 10 and 100 workers:

    T(W) = start + ceil(N / W) * (t_fit + o_task) + min(S, ceil(N / W)) * t_compile,
    never below N * o_client (the client receives and writes every result)

(N tasks, S structures, t_fit and t_compile from the serial run, o_task = the cluster's return
time + scheduler cost per task, o_client = the serial write time + scheduler cost). The machine
is shared: every ratio is measured in the same run, and the load average is printed before and
after.

    .venv/bin/python benchmarks/bench_batch.py                   # ~4 min on 2 loaded cores
    .venv/bin/python benchmarks/bench_batch.py --draws 1000 --tune 1000   # a quiet rerun
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FAMILIES = ["gengamma", "lognormal", "loglogistic", "weibull", "gompertz", "exponential"]


def gbsg2() -> pd.DataFrame:
    from lifelines.datasets import load_gbsg2

    g = load_gbsg2()
    return pd.DataFrame(
        {
            "time": g["time"].astype(float),
            "event": g["cens"].astype(int),
            "arm": np.where(g["horTh"] == "yes", "hormone", "none"),
        }
    )


def noop(i: int) -> int:
    return i


def start_cluster(workers: int, folder: Path) -> tuple[str, list[subprocess.Popen]]:
    """``dask scheduler`` and ``dask worker --nworkers W --nthreads 1`` on 127.0.0.1."""
    dask = str(Path(sys.executable).with_name("dask"))
    sfile = folder / "scheduler.json"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    log = open(folder / "cluster.log", "w")  # noqa: SIM115 - closed with the processes
    sched = subprocess.Popen(
        [
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(sfile),
        ],
        env=env,
        stdout=log,
        stderr=log,
        cwd=folder,
    )
    deadline = time.time() + 120
    while not (sfile.exists() and sfile.stat().st_size) and time.time() < deadline:
        time.sleep(0.2)
    address = json.loads(sfile.read_text())["address"]
    worker = subprocess.Popen(
        [
            dask,
            "worker",
            address,
            "--nworkers",
            str(workers),
            "--nthreads",
            "1",
            "--host",
            "127.0.0.1",
            "--no-dashboard",
        ],
        env=env,
        stdout=log,
        stderr=log,
        cwd=folder,
    )
    from distributed import Client

    with Client(address) as c:
        c.wait_for_workers(workers, timeout=180)
    return address, [worker, sched]


def stop(procs) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


def run_grid(scheduler, tasks, ipd, seed, out: Path):
    from bayesurv.batch import run

    t0 = time.perf_counter()
    res = run(
        tasks,
        seed=seed,
        scheduler=scheduler,
        out=out,
        shared={"ipd": ipd},
        force=True,
        progress=False,
        label=str(scheduler),
    )
    wall = time.perf_counter() - t0
    if res.failed:
        print(res.summary())
    files = [p for p in (out / "tasks").iterdir() if not p.name.endswith(".meta.json")]
    size = float(np.mean([p.stat().st_size for p in files])) if files else float("nan")
    return res, wall, size


def startup_seconds(scheduler: str) -> float:
    """Seconds to bring up (and down) a local cluster: one no-op task."""
    from bayesurv.batch import Task, run

    t0 = time.perf_counter()
    run([Task("noop", noop, {"i": 0})], seed=0, scheduler=scheduler, progress=False)
    return time.perf_counter() - t0


def project(start, t_fit, t_compile, o_task, o_client, n_struct) -> list[str]:
    """T(W) = start + ceil(N/W)(t_fit + o_task) + S_w t_compile, never below the client's
    own N o_client (it receives and writes every result)."""
    out = []
    for N in (6, 600, 6000):
        cells = []
        for W in (1, 2, 10, 100):
            per = math.ceil(N / W)
            T = start + per * (t_fit + o_task) + min(n_struct, per) * t_compile
            T = max(T, N * o_client)
            cells.append(f"W={W}: {T / 60:.1f} min ({N / T * 60:.0f} fits/min)")
        out.append(f"  N={N}: " + "; ".join(cells))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="fits per family (the 2nd re-uses the compiled model)",
    )
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--configs", default="serial,local:1,local:2,cluster")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/output/bench_batch.txt"))
    ap.add_argument(
        "--cold",
        action="store_true",
        help="skip the warm-up: the first configuration then also pays the disk cache's fill",
    )
    args = ap.parse_args(argv)

    from bayesurv.batch import Task, cores, run
    from bayesurv.batch.fits import compile_overhead, grid

    fams = [f for f in args.families.split(",") if f]
    ipd = gbsg2()
    base = grid(fams, draws=args.draws, tune=args.tune, chains=args.chains, spec={"arm": "arm"})
    tasks = [
        Task(f"{t.key}/{r}", t.fn, t.inputs, threads=t.threads, structure=t.structure)
        for t in base
        for r in range(args.repeats)
    ]
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    load0 = os.getloadavg()
    say(
        f"{len(fams)}-family GBSG-2 grid ({len(ipd)} patients, {int(ipd['event'].sum())} "
        f"events): {', '.join(fams)}, {args.repeats} fits each ({len(tasks)} tasks); "
        f"{args.chains} chains x {args.draws} draws (+{args.tune} tuning) per fit; "
        f"{cores()} cores; "
        f"load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} at the start"
    )
    rows, ref, comp = [], None, {}
    procs = []
    o_sched = float("nan")
    tmp = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    try:  # the folder goes however the run ends (a failed warm-up included)
        if not args.cold:
            # Compiled models are cached on disk (PyTensor's compiledir, numba's cache beside
            # it), so whichever configuration ran first used to pay the compilation for all the
            # others (gengamma 60.5 s first in serial, 16.0 s on the worker after it). Fill the
            # disk cache in a separate process first: every configuration then starts from the
            # same state, a second run on this machine, with its in-process caches empty.
            t0 = time.perf_counter()
            warm = [
                sys.executable, __file__, "--configs", "serial", "--repeats", "1", "--cold",
                "--families", ",".join(fams), "--draws", "50", "--tune", "50",
                "--chains", str(args.chains), "--out", str(tmp / "warmup.txt"),
            ]  # fmt: skip
            done = subprocess.run(warm, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                print("bench_batch: the warm-up run failed (its output is above).", file=sys.stderr)
                return 2
            say(
                "disk compile cache filled first, in a separate process: "
                f"{time.perf_counter() - t0:.1f} s (each family compiled, or loaded if an earlier "
                "run cached it, and fitted once)"
            )
        for cfg in [c for c in args.configs.split(",") if c]:
            if cfg == "cluster":
                t0 = time.perf_counter()
                address, procs = start_cluster(2, tmp)
                start, workers, target = time.perf_counter() - t0, 2, address
            else:
                workers = 1 if cfg == "serial" else int(cfg.split(":")[1])
                start = 0.0 if cfg == "serial" else startup_seconds(cfg)
                target = cfg
            res, wall, size = run_grid(target, tasks, ipd, args.seed, tmp / cfg.replace(":", "_"))
            if cfg == "cluster":
                n = 200
                t0 = time.perf_counter()
                run(
                    [Task(f"noop{i}", noop, {"i": i}) for i in range(n)],
                    seed=0,
                    scheduler=address,
                    progress=False,
                )
                o_sched = (time.perf_counter() - t0) / n
                stop(procs)
                procs = []
            rec = res.records
            # every group's values and coordinates (attrs hold creation times)
            post = {(k, g): res[k][g].to_dataset() for k in res.keys for g in res[k].children}
            same = None
            if ref is None:
                ref = post
            else:
                same = post.keys() == ref.keys() and all(post[k].equals(ref[k]) for k in ref)
            busy = float(rec["seconds"].sum())
            back = (rec["returned"] - rec["started"] - rec["seconds"]).clip(lower=0)
            over = compile_overhead(rec).dropna()
            over["family"] = over["structure"].str.split("|").str[0]
            comp[cfg] = over
            rows.append(
                {
                    "config": cfg,
                    "workers": workers,
                    "wall_s": wall,
                    "startup_s": start,
                    "tasks_per_min": len(rec) / wall * 60,
                    "task_s_sum": busy,
                    "idle+overhead_per_task_s": ((wall - start) * workers - busy) / len(rec),
                    "return_s": float(back.mean()),
                    "store_s": float(rec["store_s"].mean()),
                    "result_MB": size / 1e6,
                    "same_as_serial": same,
                }
            )
            say(f"  {cfg}: {wall:.1f} s wall ({start:.1f} s start-up), task seconds {busy:.1f}")
    finally:
        if procs:
            stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)  # ~1 GB of fits per run
    tab = pd.DataFrame(rows)
    if (tab["config"] == "serial").any():
        tab["wall_vs_serial"] = tab["wall_s"] / float(
            tab.loc[tab["config"] == "serial", "wall_s"].iloc[0]
        )
    with pd.option_context("display.width", 220, "display.max_columns", 40):
        say(tab.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
        say(
            "first fit of a family on a worker (compiles) vs its later fits there (re-use the "
            "compiled model), seconds:"
        )
        for cfg, over in comp.items():
            if len(over):
                cells = ", ".join(
                    f"{r.family} {r.first_s:.1f}/{r.later_mean_s:.1f}" for r in over.itertuples()
                )
                say(f"  {cfg}: {cells}")
    ser = comp.get("serial")
    clu = tab[tab["config"] == "cluster"]
    if ser is not None and len(ser) and len(clu):
        t_fit = float(ser["later_mean_s"].mean())
        t_comp = float((ser["first_s"] - ser["later_mean_s"]).mean())
        o_task = float(clu["return_s"].iloc[0] + o_sched)
        # the client's write time when it has a core of its own (serial); on this 2-core box the
        # cluster's workers starve it (the same file takes 10-30x longer there)
        o_client = float(tab.loc[tab["config"] == "serial", "store_s"].iloc[0] + o_sched)
        start = float(clu["startup_s"].iloc[0])
        say(
            f"mean fit {t_fit:.1f} s, mean compile {t_comp:.1f} s per family and process "
            f"(serial, first - later: graph build + loading from the disk cache unless --cold); "
            f"on the cluster: result "
            f"{float(clu['result_MB'].iloc[0]):.1f} MB per fit, back to the client in "
            f"{float(clu['return_s'].iloc[0]):.2f} s, written in "
            f"{float(clu['store_s'].iloc[0]):.2f} s; scheduler cost per no-op task "
            f"{o_sched * 1000:.1f} ms; cluster start {start:.1f} s"
        )
        say(f"projection (S = {len(fams)} structures, each compiled once per worker meeting it):")
        for line in project(start, t_fit, t_comp, o_task, o_client, len(fams)):
            say(line)
    load1 = os.getloadavg()
    say(
        f"load average {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} at the end "
        f"(2 cores shared with other jobs: compare ratios, not seconds)"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
