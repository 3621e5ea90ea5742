"""Run a job of many tasks: serially, on a local Dask cluster, or on a cluster by address,
with the same numbers, results streamed to disk, resume, progress and per-task failures.

``run(tasks, seed=S, scheduler=..., out=..., resume=...)``:

1. every task gets its seed (given, or :func:`~bayesurv.batch.tasks.task_seed` of ``S`` and
   its key) and the hash of its inputs, before anything runs;
2. with ``resume=True`` a task whose stored record matches its hash is skipped
   (:mod:`bayesurv.batch.store`);
3. the rest are submitted grouped by ``structure`` (tasks sharing a compiled model follow one
   another, so a worker meets a structure again while its compile cache holds it), shared
   inputs are sent to the cluster once (``scatter``) and each task is
   :func:`~bayesurv.batch.tasks.execute`\\ d where the scheduler puts it;
4. each outcome is written as it arrives; a failure is one line under the progress bar and one
   sentence in the summary, and the other tasks go on.

Nothing in a task's value depends on where or in which order it ran, so the value files are
byte-identical across schedulers (tests/test_batch.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bayesurv.batch.cluster import Scheduler, connect, parse_scheduler
from bayesurv.batch.store import ResultStore
from bayesurv.batch.tasks import Outcome, Ref, Task, execute, inputs_hash, task_seed
from bayesurv.errors import InputError


@dataclass
class BatchResult:
    """The outcome of a job: values by key, one record per task, failures in one sentence."""

    records: pd.DataFrame
    failed: dict[str, str]
    scheduler: str
    wall_seconds: float
    store: ResultStore | None = None
    _values: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, key: str) -> Any:
        if key in self._values:
            return self._values[key]
        if self.store is not None and key in set(self.records["key"]):
            return self.store.load(key)
        raise KeyError(key)

    def __contains__(self, key: str) -> bool:
        ok = self.records.loc[self.records["ok"], "key"]
        return key in set(ok)

    @property
    def keys(self) -> list[str]:
        """Keys of the tasks that finished (in the job's order)."""
        return list(self.records.loc[self.records["ok"], "key"])

    def values(self) -> dict[str, Any]:
        """Every finished task's value by key (loaded from the store when there is one)."""
        return {k: self[k] for k in self.keys}

    def summary(self) -> str:
        """A few lines: tasks run, resumed and failed, wall time, and why each failure failed."""
        n = len(self.records)
        resumed = int(self.records["resumed"].sum())
        ran = n - resumed
        lines = [
            f"{n} tasks on {self.scheduler}: {ran - len(self.failed)} ran, {resumed} resumed "
            f"from earlier runs, {len(self.failed)} failed; {self.wall_seconds:.1f} s wall."
        ]
        lines += [f"  failed {k}: {why}" for k, why in self.failed.items()]
        return "\n".join(lines)


def run(
    tasks: Sequence[Task] | Iterable[Task],
    *,
    seed: int,
    scheduler: str | Scheduler = "local",
    out: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    shared: Mapping[str, Any] | None = None,
    progress: bool = True,
    label: str = "tasks",
) -> BatchResult:
    """Run ``tasks`` and return a :class:`BatchResult`.

    Parameters
    ----------
    tasks : the job's :class:`~bayesurv.batch.tasks.Task` s, keys unique.
    seed : the job seed; each task's seed is derived from it and the task's key.
    scheduler : ``"serial"``, ``"local"`` (default), ``"local:N"`` or ``"tcp://HOST:PORT"``.
    out : results folder; each value and record is written there as its task finishes.
        Without it the values are kept in memory only.
    resume : skip tasks already finished in ``out`` with the same inputs hash.
    force : run again into an ``out`` that holds an earlier job (without ``resume``).
    shared : inputs named by :class:`~bayesurv.batch.tasks.Ref` in the tasks, sent once.
    progress : show a progress bar (standard error) with ETA and a line per failed task.

    Examples
    --------
    >>> from bayesurv.batch import Task, run
    >>> job = [Task(f"sq{i}", pow, {"base": i, "exp": 2}) for i in range(3)]
    >>> r = run(job, seed=1, scheduler="serial", progress=False)
    >>> [r[f"sq{i}"] for i in range(3)]
    [0, 1, 4]
    """
    tasks = list(tasks)
    if not isinstance(seed, int) or seed < 0:
        raise InputError(f"the job seed {seed!r} must be a whole number >= 0.")
    keys = [t.key for t in tasks]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise InputError(f"task key {dup[0]!r} appears more than once; give each task its own key.")
    shared = dict(shared or {})
    sched = scheduler if isinstance(scheduler, Scheduler) else parse_scheduler(scheduler)
    seeds = {t.key: int(t.seed) if t.seed is not None else task_seed(seed, t.key) for t in tasks}
    digests = {t.key: inputs_hash(t, seeds[t.key], shared) for t in tasks}
    store = ResultStore(out) if out is not None else None
    if store is not None and not resume and not force and any(store.tasks.glob("*.meta.json")):
        raise InputError(
            f"{store.root} already holds a job's results; pass resume to finish it or force to "
            "run it again."
        )
    if store is not None:
        store.clean_temporaries()
    done = {
        t.key
        for t in tasks
        if resume and store is not None and store.finished(t.key, digests[t.key])
    }
    order = {k: i for i, k in enumerate(keys)}
    first_of = {}
    for t in tasks:
        first_of.setdefault(t.structure, order[t.key])
    pending = sorted(
        (t for t in tasks if t.key not in done), key=lambda t: (first_of[t.structure], order[t.key])
    )
    threads = max((t.threads for t in pending), default=1)

    rows: dict[str, dict] = {}
    values: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for k in done:
        rec = store.record(k)
        rows[k] = {**rec, "resumed": True}
    from bayesurv.progress import progress_bar

    bar = progress_bar(enabled=bool(progress))
    t0 = time.perf_counter()

    def finish(task: Task, outcome: Outcome) -> None:
        outcome.returned = time.time()  # the value is back in this process
        t_store = time.perf_counter()
        if store is not None:
            rec = store.save(
                outcome, seed=seeds[task.key], digest=digests[task.key], structure=task.structure
            )
        else:
            rec = {k: v for k, v in outcome.__dict__.items() if k != "value"}
            rec.update(
                seed=seeds[task.key], inputs_hash=digests[task.key], structure=task.structure
            )
        rows[task.key] = {**rec, "resumed": False, "store_s": time.perf_counter() - t_store}
        if outcome.ok:
            if store is None:
                values[task.key] = outcome.value
        else:
            failed[task.key] = outcome.error
            if progress:  # quiet: the failures are in the records and the summary only
                bar.console.print(f"[red]failed[/red] {task.key}: {outcome.error}")
        bar.advance(job)

    with bar:
        job = bar.add_task(label, total=len(tasks), completed=len(done))
        with connect(sched, threads=threads) as client:
            if client is None:
                _serial(pending, seeds, shared, finish)
            else:
                _dask(client, pending, seeds, digests, shared, finish)
    wall = time.perf_counter() - t0
    records = pd.DataFrame([rows[k] for k in keys if k in rows])
    if records.empty:
        records = pd.DataFrame(columns=["key", "ok", "error", "seconds", "worker", "resumed"])
    result = BatchResult(
        records=records,
        failed=failed,
        scheduler=sched.describe(threads),
        wall_seconds=wall,
        store=store,
        _values=values,
    )
    if store is not None:
        store.write_summary(
            {
                "scheduler": result.scheduler,
                "seed": seed,
                "tasks": len(tasks),
                "resumed": len(done),
                "failed": failed,
                "wall_seconds": wall,
            }
        )
    return result


def _serial(pending, seeds, shared, finish) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        for t in pending:
            refs = _refs(t, shared)
            finish(t, execute(t.key, t.fn, t.inputs, seeds[t.key], **refs))


def _refs(task: Task, shared: Mapping[str, Any]) -> dict:
    names = {v.name for v in task.inputs.values() if isinstance(v, Ref)}
    missing = names - set(shared)
    if missing:
        raise InputError(
            f"task {task.key!r} names a shared input {sorted(missing)[0]!r} the job lacks."
        )
    return {n: shared[n] for n in names}


def _dask(client, pending, seeds, digests, shared, finish) -> None:
    from distributed import as_completed

    used = {v.name for t in pending for v in t.inputs.values() if isinstance(v, Ref)}
    placed = {n: client.scatter(shared[n], hash=False) for n in sorted(used)} if used else {}
    futures = {}
    for i, t in enumerate(pending):
        refs = {n: placed[n] for n in _refs(t, shared)}
        fut = client.submit(
            execute,
            t.key,
            t.fn,
            t.inputs,
            seeds[t.key],
            True,
            **refs,
            key=f"bayesurv-{digests[t.key][:16]}-{i}",
            pure=False,
            priority=-i,
        )
        futures[fut] = t
    try:
        for fut in as_completed(list(futures)):
            t = futures.pop(fut)
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker died or the value could not come back
                outcome = Outcome(
                    key=t.key,
                    ok=False,
                    error=f"the task did not come back from the cluster ({type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:200]})",
                )
            finish(t, outcome)
    finally:
        for fut in futures:
            fut.cancel()
