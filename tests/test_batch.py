"""The execution layer (bayesurv.batch): same seed, same numbers on every scheduler; results
streamed to disk and resumed after a kill; failures kept to their task; a real
``dask scheduler`` + ``dask worker`` on loopback. Tasks here are MCMC-free (Laplace fits,
reconstruction draws); the NUTS grid is in the mcmc tier."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesurv.batch import Ref, ResultStore, Task, inputs_hash, parse_scheduler, run, task_seed
from bayesurv.batch.cluster import local_workers
from bayesurv.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LAPLACE = "bayesurv.laplace:laplace_fit"


def _ipd(n=200, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat(["control", "treated"], n // 2)
    scale = np.where(arm == "treated", 14.0, 10.0)
    t = scale * rng.weibull(1.3, n)
    c = rng.uniform(5, 30, n)
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int), "arm": arm})


def _grid(draws=400) -> list[Task]:
    fams = ["weibull", "lognormal", "exponential", "loglogistic"]
    return [
        Task(f"fit/{f}", LAPLACE, {"ipd": Ref("ipd"), "family": f, "draws": draws}, structure=f)
        for f in fams
    ]


def _value_files(out: Path) -> dict[str, str]:
    """SHA-256 of every value file (records hold timings and are left out)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((out / "tasks").iterdir())
        if not p.name.endswith(".meta.json")
    }


# ------------------------------------------------------------------------------------------
# seeds, hashes, tasks
# ------------------------------------------------------------------------------------------
def test_task_seed_depends_on_job_seed_and_key_only():
    assert task_seed(1, "a") == task_seed(1, "a")
    assert len({task_seed(1, "a"), task_seed(1, "b"), task_seed(2, "a")}) == 3
    # the seed is the first 8 bytes of sha256("bayesurv-task|123|x"), shifted to 63 bits, pinned
    # as a number so that a release changing the rule (and every result's draws) fails here
    digest = hashlib.sha256(b"bayesurv-task|123|x").digest()
    assert task_seed(123, "x") == int.from_bytes(digest[:8], "big") >> 1 == 7933207281033742882
    # the same task in two jobs of different sizes and orders has the same seed
    a = run(
        [Task("x", LAPLACE, {"ipd": _ipd(), "draws": 10}), Task("y", pow, {"base": 2, "exp": 3})],
        seed=7,
        scheduler="serial",
        progress=False,
    )
    b = run(
        [Task("y", pow, {"base": 2, "exp": 3}), Task("x", LAPLACE, {"ipd": _ipd(), "draws": 10})],
        seed=7,
        scheduler="serial",
        progress=False,
    )
    assert (
        a.records.set_index("key").loc["x", "seed"] == b.records.set_index("key").loc["x", "seed"]
    )
    assert a["x"].equals(b["x"])


def test_inputs_hash_follows_inputs_and_seed():
    ipd = _ipd()
    t = Task("k", LAPLACE, {"ipd": Ref("ipd"), "family": "weibull"})
    h = inputs_hash(t, 1, {"ipd": ipd})
    assert h == inputs_hash(t, 1, {"ipd": ipd.copy()})
    assert h != inputs_hash(t, 2, {"ipd": ipd})
    changed = ipd.copy()
    changed.loc[3, "time"] = np.nextafter(changed.loc[3, "time"], 1e9)  # one ulp
    assert h != inputs_hash(t, 1, {"ipd": changed})
    assert h != inputs_hash(
        Task("k", LAPLACE, {"ipd": Ref("ipd"), "family": "lognormal"}), 1, {"ipd": ipd}
    )


def test_bad_tasks_and_schedulers_refused_in_one_sentence():
    with pytest.raises(InputError, match="not a bayesurv function"):
        Task("a", "os:system")
    with pytest.raises(InputError, match="more than once"):
        run([Task("a", pow, {"base": 1, "exp": 1})] * 2, seed=1, scheduler="serial", progress=False)
    with pytest.raises(InputError, match="shared input 'ipd'"):
        run([Task("a", LAPLACE, {"ipd": Ref("ipd")})], seed=1, scheduler="serial", progress=False)
    with pytest.raises(InputError, match="scheduler 'locl'"):
        parse_scheduler("locl")
    assert parse_scheduler("tcp://127.0.0.1:8786").address == "tcp://127.0.0.1:8786"
    assert local_workers(threads=4, n_cores=16) == 4 and local_workers(threads=4, n_cores=2) == 1


def test_a_failed_task_is_one_sentence_and_the_others_finish(tmp_path):
    tasks = _grid(50) + [Task("bad", LAPLACE, {"ipd": Ref("ipd"), "family": "weibul"})]
    res = run(
        tasks,
        seed=3,
        scheduler="serial",
        out=tmp_path / "job",
        shared={"ipd": _ipd()},
        progress=False,
    )
    assert set(res.failed) == {"bad"}
    assert res.failed["bad"].startswith("unknown family 'weibul'")
    assert len(res.keys) == 4
    text = res.summary()
    assert "1 failed" in text and "failed bad: unknown family" in text
    record = json.loads((tmp_path / "job" / "job.json").read_text())
    assert record["failed"] == {"bad": res.failed["bad"]}


# ------------------------------------------------------------------------------------------
# same numbers everywhere
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_serial_and_local_cluster_of_two_give_byte_identical_results(tmp_path):
    ipd = _ipd()
    serial = run(
        _grid(),
        seed=11,
        scheduler="serial",
        out=tmp_path / "s",
        shared={"ipd": ipd},
        progress=False,
    )
    local = run(
        _grid(),
        seed=11,
        scheduler="local:2",
        out=tmp_path / "l",
        shared={"ipd": ipd},
        progress=False,
    )
    assert not serial.failed and not local.failed
    assert _value_files(tmp_path / "s") == _value_files(tmp_path / "l")
    assert len(_value_files(tmp_path / "s")) == 4
    for k in serial.keys:
        assert serial[k].identical(local[k])
    workers = set(local.records["worker"])
    assert all(w.startswith("tcp://127.0.0.1:") for w in workers)
    assert set(serial.records["worker"]) == {"serial"}
    # and the Laplace numbers are the MLE's: lifelines' Weibull log-likelihood on these data
    from lifelines import WeibullAFTFitter

    df = ipd.assign(x=(ipd["arm"] == "treated").astype(float)).drop(columns="arm")
    ref = WeibullAFTFitter().fit(df, "time", "event")
    assert serial["fit/weibull"].attrs["max_loglik"] == pytest.approx(ref.log_likelihood_, abs=1e-6)


def test_resume_skips_finished_tasks_and_reruns_changed_ones(tmp_path):
    ipd = _ipd()
    first = run(
        _grid(),
        seed=5,
        scheduler="serial",
        out=tmp_path / "job",
        shared={"ipd": ipd},
        progress=False,
    )
    with pytest.raises(InputError, match="already holds"):
        run(
            _grid(),
            seed=5,
            scheduler="serial",
            out=tmp_path / "job",
            shared={"ipd": ipd},
            progress=False,
        )
    again = run(
        _grid(),
        seed=5,
        scheduler="serial",
        out=tmp_path / "job",
        shared={"ipd": ipd},
        resume=True,
        progress=False,
    )
    assert again.records["resumed"].all()
    assert again["fit/weibull"].identical(first["fit/weibull"])
    other = run(
        _grid(),
        seed=6,
        scheduler="serial",
        out=tmp_path / "job",
        shared={"ipd": ipd},
        resume=True,
        progress=False,
    )  # a new job seed: every task's seed changed
    assert not other.records["resumed"].any()


_KILLED_JOB = """
import sys, numpy as np, pandas as pd
sys.path.insert(0, {tests!r})
from test_batch import _ipd, _grid_slow
from bayesurv.batch import run
run(_grid_slow(), seed=9, scheduler="serial", out={out!r}, shared={{"ipd": _ipd(600)}},
    resume=True, progress=False)
"""


def _grid_slow() -> list[Task]:
    return [
        Task(f"fit/{k:02d}", LAPLACE, {"ipd": Ref("ipd"), "family": "gompertz", "draws": 20000 + k})
        for k in range(12)
    ]


@pytest.mark.slow
def test_resume_after_a_killed_run_gives_the_same_numbers(tmp_path):
    out = tmp_path / "job"
    code = _KILLED_JOB.format(tests=str(ROOT / "tests"), out=str(out))
    proc = subprocess.Popen([PY, "-c", code], cwd=ROOT)
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            done = list((out / "tasks").glob("*.meta.json")) if (out / "tasks").exists() else []
            if len(done) >= 3 or proc.poll() is not None:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    finished = len(list((out / "tasks").glob("*.meta.json")))
    assert 3 <= finished < 12, "the job should have been killed mid-way"
    resumed = run(
        _grid_slow(),
        seed=9,
        scheduler="serial",
        out=out,
        shared={"ipd": _ipd(600)},
        resume=True,
        progress=False,
    )
    assert int(resumed.records["resumed"].sum()) == finished
    clean = run(
        _grid_slow(),
        seed=9,
        scheduler="serial",
        out=tmp_path / "clean",
        shared={"ipd": _ipd(600)},
        progress=False,
    )
    assert _value_files(out) == _value_files(tmp_path / "clean")
    assert all(resumed[k].identical(clean[k]) for k in clean.keys)


def test_store_never_shows_a_record_without_its_value(tmp_path):
    store = ResultStore(tmp_path / "job")
    assert store.record("x") is None and not store.finished("x", "h")
    with pytest.raises(InputError, match="no stored result"):
        store.load("x")


# ------------------------------------------------------------------------------------------
# a real scheduler and worker on loopback
# ------------------------------------------------------------------------------------------
def _wait_for(path: Path, proc, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if path.exists() and path.stat().st_size > 0:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        time.sleep(0.2)
    raise TimeoutError(f"{path} did not appear")


@pytest.mark.slow
def test_a_grid_through_a_dask_scheduler_address_runs_on_that_worker(tmp_path):
    dask = str(Path(PY).with_name("dask"))
    sfile = tmp_path / "scheduler.json"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
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
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        _wait_for(sfile, sched)
        address = json.loads(sfile.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen(
            [
                dask,
                "worker",
                address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--no-nanny",
                "--name",
                "bayesurv-test-worker",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ipd = _ipd()
        remote = run(
            _grid(),
            seed=21,
            scheduler=address,
            out=tmp_path / "r",
            shared={"ipd": ipd},
            progress=False,
        )
        serial = run(
            _grid(),
            seed=21,
            scheduler="serial",
            out=tmp_path / "s",
            shared={"ipd": ipd},
            progress=False,
        )
        assert not serial.failed
        from distributed import Client

        with Client(address, timeout="20s") as client:
            names = {w: info["name"] for w, info in client.scheduler_info()["workers"].items()}
        assert not remote.failed
        assert set(remote.records["worker"]) == set(names) and set(names.values()) == {
            "bayesurv-test-worker"
        }
        assert set(remote.records["pid"]) == {worker.pid}
        assert _value_files(tmp_path / "r") == _value_files(tmp_path / "s")
    finally:
        for p in (worker, sched):
            if p is not None:
                p.terminate()
        for p in (worker, sched):
            if p is not None:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)


def test_an_address_without_a_scheduler_is_one_sentence():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(InputError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
            run(
                _grid(),
                seed=1,
                scheduler="tcp://127.0.0.1:9",
                shared={"ipd": _ipd()},
                progress=False,
            )


# ------------------------------------------------------------------------------------------
# NUTS fits as tasks (mcmc tier): numbers and compile re-use
# ------------------------------------------------------------------------------------------
@pytest.mark.mcmc
def test_nuts_grid_serial_equals_local_cluster_and_reuses_the_compiled_model(tmp_path):
    from bayesurv.batch.fits import compile_overhead, grid

    ipd = _ipd(200)
    tasks = grid(
        ["weibull", "weibull"],
        draws=200,
        tune=200,
        chains=2,
        spec={"arm": "arm"},
        keep=["posterior", "derived"],
    )
    tasks = [
        Task(f"{t.key}/{i}", t.fn, {**t.inputs, "draws": 200 + i}, threads=2, structure=t.structure)
        for i, t in enumerate(tasks)
    ]
    serial = run(
        tasks, seed=4, scheduler="serial", out=tmp_path / "s", shared={"ipd": ipd}, progress=False
    )
    local = run(
        tasks, seed=4, scheduler="local:1", out=tmp_path / "l", shared={"ipd": ipd}, progress=False
    )
    assert not serial.failed and not local.failed
    for k in serial.keys:  # every group's values (attrs hold the creation time)
        assert set(serial[k].children) == set(local[k].children)
        for g in serial[k].children:
            assert serial[k][g].to_dataset().equals(local[k][g].to_dataset())
    # one worker, two tasks of one structure: the second re-uses the compiled model
    over = compile_overhead(local.records)
    assert len(over) == 1 and over["tasks"].iloc[0] == 2
    assert over["later_mean_s"].iloc[0] < 0.7 * over["first_s"].iloc[0]


def test_progress_shows_a_line_per_failed_task(capsys):
    tasks = _grid(20)[:1] + [Task("bad", LAPLACE, {"ipd": Ref("ipd"), "family": "weibul"})]
    res = run(tasks, seed=2, scheduler="serial", shared={"ipd": _ipd()}, progress=True)
    err = capsys.readouterr().err
    assert "failed bad: unknown family 'weibul'" in " ".join(err.split())
    assert "2/2" in err  # the bar reached the end
    assert len(res.keys) == 1
