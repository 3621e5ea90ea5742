"""Many fits at once: tasks as plain data, run serially, on a local Dask cluster or on a
cluster by address, with the same numbers everywhere.

* :mod:`bayesurv.batch.tasks` -- a :class:`Task` (key, function, inputs, seed), seeds derived
  from the job seed and the key, the inputs hash, running one task anywhere;
* :mod:`bayesurv.batch.cluster` -- ``serial`` / ``local`` / ``local:N`` / ``tcp://...`` and
  the local cluster sized so that fits do not oversubscribe the cores;
* :mod:`bayesurv.batch.store` -- one file per task, atomic, resumable;
* :mod:`bayesurv.batch.job` -- :func:`run`: submit, stream to disk, progress, failures;
* :mod:`bayesurv.batch.fits` -- survival fits as tasks (the one adapter to the survival core).
"""

from bayesurv.batch.cluster import Scheduler, cores, local_workers, parse_scheduler
from bayesurv.batch.job import BatchResult, run
from bayesurv.batch.store import ResultStore
from bayesurv.batch.tasks import Ref, Task, inputs_hash, task_seed

__all__ = [
    "BatchResult",
    "Ref",
    "ResultStore",
    "Scheduler",
    "Task",
    "cores",
    "inputs_hash",
    "local_workers",
    "parse_scheduler",
    "run",
    "task_seed",
]
