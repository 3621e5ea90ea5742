"""Where a job runs: in this process, on a local Dask cluster sized to the machine, or on an
existing Dask cluster by address.

``scheduler`` is one of::

    "serial"          every task in this process, one after another (no Dask at all)
    "local"           a LocalCluster on 127.0.0.1: workers = max(1, cores // threads), each
                      worker a process running one task at a time (Dask nthreads = 1)
    "local:N"         the same with N workers
    "tcp://HOST:PORT" an existing cluster (``dask scheduler`` + ``dask worker``); nothing
                      else changes

``threads`` is the most cores one task keeps busy (a NUTS fit: its chains, which nutpie runs
as threads), so ``workers x threads <= cores`` and fits never oversubscribe the machine; BLAS
and OpenMP get one thread per task process (the nanny's ``OMP_NUM_THREADS=1`` and friends on a
local cluster, ``threadpoolctl`` inside every task everywhere). On an existing cluster start
workers the same way: ``dask worker ADDRESS --nworkers W --nthreads 1`` with
``W = cores // chains``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

from bayesurv.errors import InputError


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Scheduler:
    """A parsed ``scheduler`` choice."""

    kind: str  # "serial", "local" or "address"
    workers: int | None = None
    address: str = ""

    def describe(self, threads: int = 1) -> str:
        if self.kind == "serial":
            return "serial (this process)"
        if self.kind == "local":
            n = self.workers or local_workers(threads)
            return f"local cluster ({n} worker{'s' * (n != 1)} x 1 task, {threads} thread(s) each)"
        return f"Dask cluster at {self.address}"


def parse_scheduler(text: str) -> Scheduler:
    """``"serial"``, ``"local"``, ``"local:N"`` or a scheduler address.

    Examples
    --------
    >>> parse_scheduler("local:2")
    Scheduler(kind='local', workers=2, address='')
    >>> parse_scheduler("tcp://127.0.0.1:8786").kind
    'address'
    """
    raw = str(text).strip()
    low = raw.lower()
    if low == "serial":
        return Scheduler("serial")
    if low == "local":
        return Scheduler("local")
    if low.startswith("local:"):
        n = low.removeprefix("local:")
        if not n.isdigit() or int(n) < 1:
            raise InputError(f"scheduler {raw!r}: give the number of workers, e.g. 'local:2'.")
        return Scheduler("local", workers=int(n))
    if "://" in raw:
        scheme, _, rest = raw.partition("://")
        if scheme in ("tcp", "tls", "ws", "wss", "inproc", "ucx") and rest:
            return Scheduler("address", address=raw)
    raise InputError(
        f"scheduler {raw!r} is not 'serial', 'local', 'local:N' or a Dask scheduler address "
        "such as 'tcp://127.0.0.1:8786'."
    )


def local_workers(threads: int = 1, n_cores: int | None = None) -> int:
    """Workers of the default local cluster: as many one-task workers as fit the cores."""
    return max(1, (n_cores or cores()) // max(1, int(threads)))


@contextlib.contextmanager
def connect(scheduler: Scheduler, threads: int = 1) -> Iterator:
    """A ``distributed.Client`` for ``scheduler`` (``None`` for serial), closed afterwards
    together with any cluster it started."""
    if scheduler.kind == "serial":
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler.kind == "local":
        n = scheduler.workers or local_workers(threads)
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # the scheduler's HTTP server on a free loopback port (":8787" may be taken)
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(scheduler.address)  # timeout: distributed.comm.timeouts.connect
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"no Dask scheduler answers at {scheduler.address} ({type(exc).__name__}); start one "
            "with 'dask scheduler' and 'dask worker ADDRESS', or use --scheduler local."
        ) from None
    try:
        _check_workers(client, scheduler.address)
        yield client
    finally:
        client.close()


def _worker_version() -> str:
    import bayesurv

    return bayesurv.__version__


def _check_workers(client, address: str) -> None:
    import bayesurv

    try:
        client.wait_for_workers(1, timeout=30)
    except TimeoutError:
        raise InputError(
            f"the Dask scheduler at {address} has no workers; start one with "
            f"'dask worker {address} --nthreads 1'."
        ) from None
    try:
        versions = client.run(_worker_version)
    except Exception as exc:  # a worker that cannot import bayesurv
        raise InputError(
            f"a worker of {address} cannot run bayesurv ({type(exc).__name__}: {exc}); install "
            "the same bayesurv on every worker."
        ) from None
    wrong = {w: v for w, v in versions.items() if v != bayesurv.__version__}
    if wrong:
        w, v = next(iter(wrong.items()))
        raise InputError(
            f"worker {w} runs bayesurv {v}, this process {bayesurv.__version__}; install the "
            "same version everywhere so that the numbers agree."
        )
