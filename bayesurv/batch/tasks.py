"""A task as plain data, its seed, the hash of its inputs, and running one task anywhere.

A :class:`Task` is a key, a function (a callable, or an import path inside ``bayesurv``), its
keyword inputs and its seed. Running it is ``fn(**inputs, seed=seed)`` (``seed`` only when the
function takes one), in this process or on a Dask worker, with the same result::

    seed(task)   = first 63 bits of SHA-256("bayesurv-task|" + job seed + "|" + key)
    hash(task)   = SHA-256 of the function's name, the canonical bytes of every input
                   (arrays and tables by dtype, shape and raw bytes) and the seed

so a seed depends on the job seed and the task's own key, never on the order in which tasks
are submitted or finish, and a finished task is recognized on resume by its hash.

Inputs shared by many tasks (one IPD table for every family of a grid) are given once to the
job and named in the task by :class:`Ref`; a cluster receives them once per worker, not once
per task.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesurv.errors import InputError

#: import paths a task may name as text: only bayesurv's own functions (a path read from a
#: file never imports arbitrary code)
ALLOWED_PREFIX = "bayesurv."


@dataclass(frozen=True)
class Ref:
    """An input shared by many tasks, given once to the job under ``name``."""

    name: str


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(**inputs, seed=seed)``.

    Parameters
    ----------
    key : unique name of the task within its job (also its result's file name, made safe).
    fn : a callable, or ``"bayesurv.module:function"``.
    inputs : keyword arguments: plain data (numbers, text, lists, dicts, numpy arrays, pandas
        tables, frozen dataclasses such as a ``ModelSpec``) or :class:`Ref` to shared inputs.
    seed : the task's seed; ``None`` derives it from the job seed and the key
        (:func:`task_seed`).
    threads : how many cores one run of the task keeps busy (a NUTS fit: its chains); the
        local cluster gives each worker this many (:mod:`bayesurv.batch.cluster`).
    structure : a label for tasks that share a compiled model (e.g. the model's structure
        key): tasks of one structure are submitted together, and the timings say which run
        on a worker was the first of its structure (the one that compiled).
    """

    key: str
    fn: Callable | str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    threads: int = 1
    structure: str = ""

    def __post_init__(self):
        if not isinstance(self.key, str) or not self.key.strip():
            raise InputError(f"task key {self.key!r} must be non-empty text; name each task.")
        if isinstance(self.fn, str):
            _check_path(self.fn, self.key)
        elif not callable(self.fn):
            raise InputError(f"task {self.key!r}: fn must be a function or an import path.")
        if self.seed is not None and not (
            isinstance(self.seed, int | np.integer) and self.seed >= 0
        ):
            raise InputError(f"task {self.key!r}: seed {self.seed!r} must be a whole number >= 0.")
        if int(self.threads) < 1:
            raise InputError(f"task {self.key!r}: threads must be at least 1.")

    @property
    def name(self) -> str:
        """The function's import path (``module:qualname``)."""
        return function_name(self.fn)


def _check_path(path: str, key: str) -> None:
    module, _, attr = path.partition(":")
    if not attr or not module.startswith(ALLOWED_PREFIX) and module != "bayesurv":
        raise InputError(
            f"task {key!r}: {path!r} is not a bayesurv function; name one as "
            "'bayesurv.module:function' or pass the function itself."
        )


def function_name(fn: Callable | str) -> str:
    """``module:qualname`` of a function (or the import path as given)."""
    if isinstance(fn, str):
        return fn
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def resolve(fn: Callable | str) -> Callable:
    """The callable of a task: itself, or imported from ``bayesurv.module:function``."""
    if callable(fn):
        return fn
    module, _, attr = fn.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def task_seed(job_seed: int, key: str) -> int:
    """The seed of task ``key`` in a job seeded ``job_seed``: independent of any order.

    Examples
    --------
    >>> task_seed(1, "weibull") == task_seed(1, "weibull") != task_seed(2, "weibull")
    True
    """
    digest = hashlib.sha256(f"bayesurv-task|{int(job_seed)}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


# --------------------------------------------------------------------------------------------
# canonical bytes of plain data, for the inputs hash
# --------------------------------------------------------------------------------------------
def _feed(h, obj: Any) -> None:
    if obj is None or isinstance(obj, bool | str | bytes):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, int | np.integer):
        h.update(f"int:{int(obj)};".encode())
    elif isinstance(obj, float | np.floating):
        h.update(f"float:{float(obj).hex() if math.isfinite(obj) else repr(float(obj))};".encode())
    elif isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        if arr.dtype == object:
            h.update(f"objarray:{arr.shape};".encode())
            for v in arr.ravel():
                _feed(h, v)
        else:
            h.update(f"array:{arr.dtype.str}:{arr.shape};".encode())
            h.update(arr.tobytes())
    elif isinstance(obj, pd.DataFrame):
        h.update(f"frame:{list(map(str, obj.columns))};".encode())
        for c in obj.columns:
            _feed(h, str(obj[c].dtype))
            _feed(h, obj[c].to_numpy())
    elif isinstance(obj, pd.Series):
        _feed(h, obj.to_frame())
    elif isinstance(obj, Mapping):
        h.update(f"map:{len(obj)};".encode())
        for k in sorted(obj, key=str):
            _feed(h, str(k))
            _feed(h, obj[k])
    elif isinstance(obj, list | tuple):
        h.update(f"{type(obj).__name__}:{len(obj)};".encode())
        for v in obj:
            _feed(h, v)
    elif isinstance(obj, Ref):
        _feed(h, f"ref:{obj.name}")
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"dataclass:{type(obj).__qualname__};".encode())
        for f in dataclasses.fields(obj):
            _feed(h, f.name)
            _feed(h, getattr(obj, f.name))
    elif callable(obj):
        _feed(h, function_name(obj))
    else:
        raise InputError(
            f"a task input of type {type(obj).__name__} cannot be hashed; pass numbers, text, "
            "lists, dicts, numpy arrays, pandas tables or frozen dataclasses."
        )


def inputs_hash(task: Task, seed: int, shared: Mapping[str, Any] | None = None) -> str:
    """SHA-256 of the task's function, inputs (shared ones by value) and seed, as hex."""
    h = hashlib.sha256()
    _feed(h, task.name)
    _feed(h, int(seed))
    shared = shared or {}
    for k in sorted(task.inputs):
        v = task.inputs[k]
        _feed(h, k)
        if isinstance(v, Ref):
            if v.name not in shared:
                raise InputError(
                    f"task {task.key!r} names a shared input {v.name!r} the job lacks."
                )
            _feed(h, shared[v.name])
        else:
            _feed(h, v)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# running one task (here or on a worker)
# --------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What running a task gave: its value or its failure, where and how long."""

    key: str
    ok: bool
    value: Any = None
    error: str = ""
    seconds: float = 0.0
    worker: str = "serial"
    pid: int = 0
    host: str = ""
    started: float = 0.0
    #: when the value reached the process running the job (``started + seconds`` plus the time
    #: to send it back)
    returned: float = 0.0


def failure_sentence(exc: BaseException) -> str:
    """One sentence saying why a task failed: bayesurv's own message, or the exception type,
    its first line and where it was raised."""
    text = " ".join(str(exc).split()) or "no message"
    if isinstance(exc, InputError):
        return text
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {text[:300]}{where}"


_LIMITED = False


def _limit_threads() -> None:
    """One BLAS/OpenMP thread per task process, once per process (workers run one task at a
    time per core; a fit's own parallelism is its chains)."""
    global _LIMITED
    if _LIMITED:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    _LIMITED = True


def _worker_address() -> str:
    if "distributed" not in sys.modules:  # not imported: not on a Dask worker
        return "serial"
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:
        return "serial"


def takes_seed(fn: Callable) -> bool:
    """Whether ``fn`` accepts a ``seed`` keyword."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return "seed" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def execute(
    key: str,
    fn: Callable | str,
    inputs: Mapping[str, Any],
    seed: int,
    limit_threads: bool = True,
    **shared: Any,
) -> Outcome:
    """Run one task and return its :class:`Outcome`; an exception becomes a failed outcome.

    ``shared`` holds the values of the task's :class:`Ref` inputs (a cluster passes them as
    futures it has already placed on the worker)."""
    worker = _worker_address()
    if limit_threads and worker != "serial":
        _limit_threads()
    args = {k: (shared[v.name] if isinstance(v, Ref) else v) for k, v in inputs.items()}
    started = time.time()
    t0 = time.perf_counter()
    try:
        func = resolve(fn)
        if takes_seed(func):
            args["seed"] = int(seed)
        value = func(**args)
        ok, error = True, ""
    except Exception as exc:  # a failed task must not end the job
        value, ok, error = None, False, failure_sentence(exc)
    return Outcome(
        key=key,
        ok=ok,
        value=value,
        error=error,
        seconds=time.perf_counter() - t0,
        worker=worker,
        pid=os.getpid(),
        host=socket.gethostname(),
        started=started,
    )
