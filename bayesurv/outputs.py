"""The one output plan: every file a command writes is declared and checked before any work, and
written so that a failure leaves nothing behind.

A command builds an :class:`OutputPlan`, declares each output with :meth:`OutputPlan.add` (or
:meth:`~OutputPlan.folder`) before it reads or computes anything, and writes the results inside
``with plan.writing():``. Declaring checks, in one sentence each:

* the path stays inside the results folder (``root``) when there is one; names built from section
  and arm names go through :func:`safe_name` (no separators, no ``..``, no control characters);
* the extension is one the writer can produce (``.png``/``.svg``/``.pdf``... for figures);
* no two outputs name the same file, and no output is one of the command's inputs;
* nothing is overwritten without ``force`` (and an input never, even with it);
* the folder exists or can be created, and can be written to (probed with a temporary file).

Writing is atomic: each file goes to a temporary file in its own folder (made with the mode the
user's umask gives, 0644 under umask 022, as the file itself would be) and is renamed into place
(``os.replace``) only when the whole block succeeded; a results folder owned by the command
(``replace=True``, ``bayesurv run``) is built as a hidden sibling and swapped in at the end. An
error, or an interrupt, removes every temporary file and every folder the plan created.

Examples
--------
>>> import tempfile, pandas as pd
>>> out = Path(tempfile.mkdtemp())
>>> plan = OutputPlan(out)
>>> table = plan.add("ipd.csv", option="--out", kind="csv")
>>> with plan.writing():
...     plan.csv(table, pd.DataFrame({"time": [1.5], "event": [1]}))
>>> sorted(p.name for p in out.iterdir())
['ipd.csv']
>>> safe_name("../../escaped")
'escaped'
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bayesurv.errors import InputError

Kind = Literal["csv", "json", "netcdf", "figure", "image", "html", "text"]

#: the suffixes each kind of output may have (figures: what matplotlib's Agg canvas writes)
SUFFIXES: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "json": (".json",),
    "netcdf": (".nc", ".nc4", ".netcdf"),
    "figure": (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp"),
    "image": (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"),
    "html": (".html", ".htm"),
    "text": (),
}
_PIL_FORMAT = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
_MAX_NAME = 120
_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


def safe_name(name: str, what: str = "section name") -> str:
    """A file-name part made from a user's name: letters, digits, ``-`` and ``_`` only.

    Path separators, dots, spaces and other punctuation become ``_`` (so ``"../../escaped"``
    cannot leave its folder, and ``"a/b/c"`` is ``"a_b_c"``); a name with a control character
    (NUL, newline ...), one with nothing left, or one longer than 120 characters is refused.

    Examples
    --------
    >>> safe_name("EFS across trials"), safe_name("a/b/c"), safe_name("Überleben 5 J.")
    ('EFS_across_trials', 'a_b_c', 'Überleben_5_J')
    """
    text = str(name)
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InputError(
            f"the {what} {text!r} holds a control character; use letters, digits, spaces, - and _."
        )
    if len(text) > _MAX_NAME:
        raise InputError(
            f"the {what} {text[:30]!r}... is {len(text)} characters long; keep it under "
            f"{_MAX_NAME}."
        )
    out = re.sub(r"[^\w\-]+", "_", text, flags=re.UNICODE)
    out = re.sub(r"_+", "_", out).strip("_-")
    if not out:
        raise InputError(
            f"the {what} {text!r} has no letters or digits to name a file by; give it a name "
            "such as 'EFS'."
        )
    if out.lower() in _RESERVED:
        out = f"{out}_"
    return out


def finite_json(x: Any) -> Any:
    """Make ``x`` strict JSON: NaN -> null, +-inf -> "inf"/"-inf", numpy and paths to plain."""
    if isinstance(x, dict):
        return {str(k): finite_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite_json(v) for v in x]
    if isinstance(x, np.ndarray):
        return finite_json(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, Path):
        return str(x)
    return x


class OutputPlan:
    """Every output of one command, checked before the work and written atomically.

    Parameters
    ----------
    root
        The results folder (``--out``) when the command has one; relative outputs are placed
        inside it and no output may leave it. ``None``: outputs are paths the user gave.
    force
        Replace outputs that exist (never an input of the command).
    replace
        The command owns ``root`` as a whole (``bayesurv run``): an existing ``root`` is
        replaced only with ``force`` and only if ``marker`` shows bayesurv wrote it; the new
        folder is built beside it and swapped in when everything is written.
    marker
        The name of the file that marks a folder bayesurv wrote (``replace=True``).
    option
        How the user names ``root`` (for the messages).
    inputs
        The command's input files: no output may be one of them.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        force: bool = False,
        replace: bool = False,
        marker: str | None = None,
        option: str = "--out",
        inputs: tuple[str | Path, ...] = (),
    ):
        self.root = Path(root) if root is not None else None
        self.force = force
        self.replace = replace
        self.marker = marker
        self.option = option
        self._declared: dict[Path, tuple[str, str | None]] = {}  # resolved -> (option, kind)
        self._folders: dict[Path, str] = {}
        self._paths: dict[Path, Path] = {}  # as returned by add -> resolved
        self._inputs = {Path(p).resolve(): str(p) for p in inputs}
        self._probed: set[Path] = set()
        self._staged: list[tuple[Path, Path]] = []  # (temporary, final)
        self._created: list[Path] = []
        self._stage_root: Path | None = None
        self._writing = False
        if self.root is not None:
            self._check_root()

    # ----------------------------------------------------------------------------------------
    # declaring
    # ----------------------------------------------------------------------------------------
    def _check_root(self) -> None:
        root = self.root
        if root.exists() and not root.is_dir():
            raise InputError(f"{self.option} {root} is a file; give a folder for the results.")
        if self.replace and root.exists():
            if not self.force:
                raise InputError(
                    f"{root} already exists; choose another {self.option} or pass --force to "
                    "replace it."
                )
            if any(root.iterdir()) and not (self.marker and (root / self.marker).exists()):
                raise InputError(
                    f"{root} holds files that bayesurv did not write; choose another "
                    f"{self.option} (it is not replaced even with --force)."
                )
        self._probe(root)

    def _resolve(self, path: str | Path, option: str) -> Path:
        path = Path(path)
        if "\x00" in str(path):
            raise InputError(f"{option} {str(path)!r} holds a NUL character; give a plain path.")
        if self.root is None:
            return path.resolve()
        full = path if path.is_absolute() else self.root / path
        resolved = full.resolve()
        root = self.root.resolve()
        if not resolved.is_relative_to(root):
            raise InputError(
                f"{option} {path} would be written outside {self.option} {self.root}; name a "
                "file inside it."
            )
        return resolved

    def add(self, path: str | Path, *, option: str, kind: Kind | None = None) -> Path:
        """Declare one output file and check it now; return the path to write.

        ``option`` names where the path came from (``"--json"``, ``"[[pool]] 'EFS' forest
        plot"``); ``kind`` restricts the extension to what that writer produces.
        """
        resolved = self._resolve(path, option)
        suffix = resolved.suffix.lower()
        if kind is not None and SUFFIXES[kind] and suffix not in SUFFIXES[kind]:
            raise InputError(
                f"{option} {path}: bayesurv cannot write a {kind} as '{suffix or 'no suffix'}'; "
                f"use {', '.join(SUFFIXES[kind])}."
            )
        if resolved in self._inputs:
            raise InputError(
                f"{option} {path} is the input {self._inputs[resolved]}; write the result to "
                "another file (inputs are never overwritten)."
            )
        for other, (other_option, _) in self._declared.items():
            if other == resolved or _same_file(other, resolved):
                raise InputError(
                    f"{option} and {other_option} both name {path}; give each output its own file."
                )
        for folder, folder_option in self._folders.items():
            if resolved == folder:
                raise InputError(
                    f"{option} {path} is the folder {folder_option} names; give each output "
                    "its own path."
                )
        for other in self._declared:
            if resolved.is_relative_to(other):
                raise InputError(
                    f"{option} {path} lies inside the file {self._declared[other][0]} names; "
                    "give it another folder."
                )
        if resolved.exists() or resolved.is_symlink():
            if resolved.is_dir():
                raise InputError(f"{option} {path} is a folder; give a file name.")
            if not self.force and not self._under_replaced_root(resolved):
                raise InputError(
                    f"{option} {path} already exists; choose another path or pass --force to "
                    "replace it."
                )
        self._probe(resolved.parent)
        self._declared[resolved] = (option, kind)
        shown = self._display(path)
        self._paths[shown] = resolved
        return shown

    def folder(self, path: str | Path, *, option: str) -> Path:
        """Declare a folder of outputs (files are added to it with :meth:`add`)."""
        resolved = self._resolve(path, option)
        if resolved.exists() and not resolved.is_dir():
            raise InputError(f"{option} {path} is a file; give a folder.")
        if resolved in self._declared:
            raise InputError(
                f"{option} and {self._declared[resolved][0]} both name {path}; give each "
                "output its own path."
            )
        self._probe(resolved)
        self._folders[resolved] = option
        return self._display(path)

    def _display(self, path: str | Path) -> Path:
        path = Path(path)
        if self.root is not None and not path.is_absolute():
            return self.root / path
        return path

    def _under_replaced_root(self, resolved: Path) -> bool:
        return (
            self.replace and self.root is not None and resolved.is_relative_to(self.root.resolve())
        )

    def _probe(self, folder: Path) -> None:
        """The nearest existing ancestor is a folder we can write in."""
        folder = folder.resolve()
        probe = folder
        while not probe.exists():
            if probe.is_symlink():  # a dangling link
                raise InputError(f"{probe} is a broken link; give another folder.")
            probe = probe.parent
        if probe in self._probed:
            return
        if not probe.is_dir():
            raise InputError(
                f"{probe} is a file, so {folder} cannot be created; give another folder."
            )
        try:
            fd, name = tempfile.mkstemp(dir=probe, prefix=".bayesurv-probe-")
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            raise InputError(
                f"cannot write in {probe} ({(exc.strerror or 'not writable').lower()}); choose a "
                "folder you can write to."
            ) from None
        self._probed.add(probe)

    # ----------------------------------------------------------------------------------------
    # writing
    # ----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[OutputPlan]:
        """Write inside this block; on success every file is renamed into place, on any error
        (or an interrupt) every temporary file and created folder is removed."""
        self._writing = True
        try:
            yield self
            self._commit()
        except BaseException:
            self._rollback()
            raise
        finally:
            self._writing = False

    def _target(self, path: str | Path, kind: Kind | None) -> Path:
        """The temporary file to write for the declared ``path``."""
        if not self._writing:
            raise RuntimeError("write outputs inside `with plan.writing():`")
        resolved = self._paths.get(Path(path))
        if resolved is None:  # declared late: checked now (nothing is in place before the end)
            resolved = self._paths[self.add(path, option=str(path), kind=kind)]
        if self._under_replaced_root(resolved):
            stage = self._stage()
            final_in_stage = stage / resolved.relative_to(self.root.resolve())
            self._mkdirs(final_in_stage.parent)
            return final_in_stage
        self._mkdirs(resolved.parent)
        tmp = _temporary(resolved)
        self._staged.append((tmp, resolved))
        return tmp

    def _stage(self) -> Path:
        """The new results folder, built as ``.<name>.partial-XXXX/<name>`` beside ``root``."""
        if self._stage_root is None:
            root = self.root.resolve()
            self._mkdirs(root.parent)
            holder = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.partial-"))
            self._stage_root = holder / root.name
            self._stage_root.mkdir()
            if self.marker:
                (self._stage_root / self.marker).write_text(
                    "written by bayesurv; --force may replace this folder\n"
                )
        return self._stage_root

    def stage_folder(self) -> Path:
        """The folder to hand to a writer that fills a whole results folder itself (``replace``
        plans only): it is swapped in for ``root`` when the ``writing()`` block succeeds."""
        if not (self.replace and self._writing):
            raise RuntimeError("stage_folder() needs OutputPlan(replace=True) inside writing()")
        return self._stage()

    def _mkdirs(self, folder: Path) -> None:
        missing = []
        probe = folder
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for p in reversed(missing):
            p.mkdir()
            self._created.append(p)

    def _commit(self) -> None:
        for tmp, final in self._staged:
            os.replace(tmp, final)
        self._staged.clear()
        if self._stage_root is not None:
            root = self.root.resolve()
            holder = self._stage_root.parent
            if root.exists():
                os.replace(root, holder / ".old")
            os.replace(self._stage_root, root)
            shutil.rmtree(holder, ignore_errors=True)
            self._stage_root = None
        elif self.replace and self.root is not None:
            self._mkdirs(self.root.resolve())
        for folder in self._folders:
            self._mkdirs(folder)
        self._created.clear()

    def _rollback(self) -> None:
        for tmp, _ in self._staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._staged.clear()
        if self._stage_root is not None:
            shutil.rmtree(self._stage_root.parent, ignore_errors=True)
            self._stage_root = None
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: never a user's files
        self._created.clear()

    # one writer per kind --------------------------------------------------------------------
    def csv(self, path: str | Path, table, **kwargs) -> None:
        """A pandas DataFrame as CSV (no index, 6 significant digits unless told)."""
        kwargs.setdefault("index", False)
        kwargs.setdefault("float_format", "%.6g")
        table.to_csv(self._target(path, "csv"), **kwargs)

    def json(self, path: str | Path, obj: Any, *, indent: int = 2) -> None:
        """Strict JSON (:func:`finite_json`: NaN -> null, inf -> "inf")."""
        text = json.dumps(finite_json(obj), indent=indent, allow_nan=False, default=str)
        self._target(path, "json").write_text(text + "\n", encoding="utf-8")

    def text(self, path: str | Path, text: str) -> None:
        """Plain text or HTML, UTF-8."""
        kind = "html" if Path(path).suffix.lower() in SUFFIXES["html"] else "text"
        self._target(path, kind).write_text(text, encoding="utf-8")

    def netcdf(self, path: str | Path, data) -> None:
        """An xarray Dataset or DataTree as NetCDF."""
        data.to_netcdf(self._target(path, "netcdf"))

    def figure(self, path: str | Path, fig, **kwargs) -> None:
        """A matplotlib figure, in the format its suffix names."""
        fmt = Path(path).suffix.lower().lstrip(".")
        fig.savefig(self._target(path, "figure"), format=fmt, **kwargs)

    def image(self, path: str | Path, image) -> None:
        """A PIL image, in the format its suffix names."""
        fmt = _PIL_FORMAT[Path(path).suffix.lower()]
        image.save(self._target(path, "image"), format=fmt)


def _temporary(final: Path) -> Path:
    """A new empty file ``.<name>.<random>.part`` beside ``final``, created with mode 0666 less
    the umask, the mode any file the user writes gets (``tempfile.mkstemp`` makes 0600, which
    ``os.replace`` would carry to the result: unreadable by the group and others)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        name = final.parent / f".{final.name}.{secrets.token_hex(4)}.part"
        try:
            fd = os.open(name, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return name
    raise FileExistsError(f"no free temporary name beside {final}")  # pragma: no cover


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False
