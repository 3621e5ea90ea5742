"""Results streamed to disk as tasks finish: one file per task, written atomically, so a killed
job resumes where it stopped.

Layout of a job folder::

    <out>/tasks/<name>.nc | .json | .csv    the task's value (DataTree/Dataset, dict, table)
    <out>/tasks/<name>.meta.json            key, seed, inputs hash, ok or the failure sentence,
                                            seconds, worker, process, host
    <out>/job.json                          the last run's summary

``<name>`` is the key made safe for a file name plus 10 hex digits of its SHA-256 (two keys
never share a file). Each file is written to a temporary file in the same folder and renamed
into place (``os.replace``, atomic on POSIX), the value before its meta record, so a record
exists only beside a complete value. A task is finished when its record says ok, its inputs
hash equals the task's and its value file exists; resuming runs every other task again.
The value files hold only what the task returned (timings live in the records), so they are
byte-identical between runs with the same inputs and seed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayesurv.batch.tasks import Outcome
from bayesurv.errors import InputError
from bayesurv.outputs import finite_json, safe_name

SUFFIX = {"datatree": ".nc", "dataset": ".nc", "json": ".json", "csv": ".csv"}


def file_stem(key: str) -> str:
    """A file name for task ``key``: safe text plus a short hash of the key."""
    try:
        text = safe_name(key, what="task key")[:80]
    except InputError:
        text = "task"
    return f"{text}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def kind_of(value: Any) -> str:
    """How a task's value is stored: ``datatree`` or ``dataset`` (NetCDF), ``csv`` or ``json``."""
    if isinstance(value, xr.DataTree):
        return "datatree"
    if isinstance(value, xr.Dataset):
        return "dataset"
    if isinstance(value, pd.DataFrame):
        return "csv"
    return "json"


def write_atomic(path: Path, write) -> None:
    """Write ``path`` by ``write(temporary path)`` in the same folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_value(path: Path, value: Any, kind: str) -> None:
    if kind in ("datatree", "dataset"):
        write_atomic(path, lambda p: value.to_netcdf(p, engine="netcdf4"))
    elif kind == "csv":
        write_atomic(path, lambda p: value.to_csv(p, index=False))
    else:
        text = json.dumps(finite_json(_plain(value)), sort_keys=True, allow_nan=False)
        write_atomic(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, pd.Series):
        return _plain(x.to_dict())
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def read_value(path: Path, kind: str) -> Any:
    """A stored value, as the task returned it."""
    if kind == "datatree":
        with xr.open_datatree(path, engine="netcdf4") as tree:
            return tree.load()
    if kind == "dataset":
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds.load()
    if kind == "csv":
        return pd.read_csv(path, float_precision="round_trip")
    return json.loads(path.read_text(encoding="utf-8"))


class ResultStore:
    """The folder of a job's results (see the module docstring)."""

    def __init__(self, out: str | Path):
        self.root = Path(out)
        self.tasks = self.root / "tasks"
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"{self.root} is a file; give a folder for the job's results.")
        self.tasks.mkdir(parents=True, exist_ok=True)

    def clean_temporaries(self) -> int:
        """Remove temporary files a killed run left behind; return how many."""
        stale = list(self.tasks.glob(".*.tmp"))
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def _meta_path(self, key: str) -> Path:
        return self.tasks / f"{file_stem(key)}.meta.json"

    def record(self, key: str) -> dict | None:
        """The stored record of ``key`` (``None`` when there is none or it cannot be read)."""
        path = self._meta_path(key)
        if not path.exists():
            return None
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return rec if rec.get("key") == key else None

    def finished(self, key: str, digest: str) -> bool:
        """Whether ``key`` finished with these inputs (its value file is in place)."""
        rec = self.record(key)
        return bool(
            rec
            and rec.get("ok")
            and rec.get("inputs_hash") == digest
            and (self.tasks / rec.get("file", "")).is_file()
        )

    def save(self, outcome: Outcome, *, seed: int, digest: str, structure: str = "") -> dict:
        """Write the value (when ok), then the record; return the record."""
        rec = {k: v for k, v in asdict(outcome).items() if k != "value"}
        rec.update(seed=int(seed), inputs_hash=digest, structure=structure, file="", kind="")
        if outcome.ok:
            kind = kind_of(outcome.value)
            name = file_stem(outcome.key) + SUFFIX[kind]
            _write_value(self.tasks / name, outcome.value, kind)
            rec.update(file=name, kind=kind)
        text = json.dumps(finite_json(rec), sort_keys=True, allow_nan=False)
        write_atomic(
            self._meta_path(outcome.key), lambda p: p.write_text(text + "\n", encoding="utf-8")
        )
        return rec

    def load(self, key: str) -> Any:
        """The value task ``key`` returned."""
        rec = self.record(key)
        if not rec or not rec.get("ok"):
            raise InputError(f"task {key!r} has no stored result in {self.tasks}; run the job.")
        return read_value(self.tasks / rec["file"], rec["kind"])

    def path(self, key: str) -> Path | None:
        """The file holding task ``key``'s value (``None`` if it did not finish)."""
        rec = self.record(key)
        return self.tasks / rec["file"] if rec and rec.get("ok") else None

    def write_summary(self, summary: dict) -> None:
        text = json.dumps(finite_json(summary), sort_keys=True, indent=1, allow_nan=False)
        write_atomic(self.root / "job.json", lambda p: p.write_text(text + "\n", encoding="utf-8"))
