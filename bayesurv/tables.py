"""The one input layer: text files, tables, JSON/TOML documents and images, read with bounds.

Every reader of user files goes through here, so that every bad file ends in one sentence that
names the file, the 1-based data row (header excluded), the column and the fix
(:class:`~bayesurv.errors.InputError`).

Text (:func:`read_text`)
    UTF-8 with or without a byte-order mark, or UTF-16 with one; anything else is refused by
    name (Latin-1/Windows-1252, UTF-16 without a BOM, UTF-32, binary data). NUL and other
    control characters are refused with their line. Files larger than :data:`MAX_BYTES` are
    refused before they are read.
Tables (:func:`read_table`, :func:`parse_table`)
    The delimiter (``,``, ``;`` or tab) is sniffed: it is the one that splits every line into
    the same number of fields; when two do, the one under which the cells read as numbers wins
    (``12,5;0,8`` is two numbers with decimal commas), and a file that still reads two ways is
    refused. Decimal commas are read in ``;`` and tab files; in a ``,`` file they are refused
    (``1,234`` may be a thousands separator). Headers are matched without regard to case,
    spaces or dots, with aliases per column (:class:`Column`). Numbers must be finite and
    within each column's bounds (``inf``, ``nan`` and ``1e308`` are refused). ``#`` lines are
    comments. At most :data:`MAX_ROWS` rows.
Documents (:func:`load_json`, :func:`load_toml`)
    Nesting deeper than :data:`MAX_DEPTH` is refused before the parser recurses; NaN, Infinity
    and numbers that overflow a float are refused.
Images (:func:`open_image`)
    The pixel count in the header is checked before decoding, below PIL's decompression-bomb
    limit (:data:`MAX_PIXELS`), and PIL's ``DecompressionBombWarning`` never reaches the user.

Examples
--------
>>> df = parse_table("Time;Survival\\n0;1\\n12,5;0,8\\n",
...                  [Column("time"), Column("survival", aliases=("surv", "s"))],
...                  source="curve.csv")
>>> df.to_dict("list"), df.attrs["delimiter"], df.attrs["decimal_comma"]
({'time': [0.0, 12.5], 'survival': [1.0, 0.8]}, ';', True)
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
import tomllib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from bayesurv.errors import InputError, where

#: the largest file read as text (bytes)
MAX_BYTES = 64 * 1024 * 1024
#: the most data rows a table may have
MAX_ROWS = 1_000_000
#: the deepest nesting of a JSON or TOML document
MAX_DEPTH = 64
#: the most pixels an image may have (PIL's bomb warning starts at 89,478,485)
MAX_PIXELS = 60_000_000
#: default bound on the magnitude of a number in a table column
MAX_ABS = 1e9

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBER_POINT = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_NUMBER_COMMA = re.compile(r"^[-+]?(\d+(,\d*)?|,\d+)([eE][-+]?\d+)?$")
_NONFINITE = re.compile(r"^[-+]?(inf|infinity|nan)$", re.IGNORECASE)
_BLANK_WORDS = ("", "na", "n/a")
_DELIMITERS = (",", ";", "\t")
_DELIM_NAME = {",": "comma", ";": "semicolon", "\t": "tab"}


def _nbytes(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


# --------------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------------
def _existing_file(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path to the {what}.")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file; give the {what} file itself.")


def read_text(path: str | Path, *, what: str = "file", max_bytes: int = MAX_BYTES) -> str:
    """Read a user's text file: UTF-8 (BOM or not) or UTF-16 with a BOM, no control bytes.

    Parameters
    ----------
    path
        The file.
    what
        What the file should hold, in words (``"digitized curve"``), for the messages.
    max_bytes
        Larger files are refused before they are read.

    Returns
    -------
    str
        The text, BOM removed, line endings as written.
    """
    path = Path(path)
    _existing_file(path, what)
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{path} is {_nbytes(size)}, more than the {_nbytes(max_bytes)} a {what} may be; "
            "give the file itself, not an archive or a dump."
        )
    data = path.read_bytes()
    return decode_text(data, source=str(path), what=what)


def decode_text(data: bytes, *, source: str, what: str = "file") -> str:
    """Bytes of a user's file -> text, or one sentence naming the encoding that was found."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError(
            f"{source} is UTF-32 text; save the {what} as UTF-8 (or UTF-16 with a byte-order mark)."
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(
                f"{source} starts with a UTF-16 byte-order mark but is not valid UTF-16; save "
                f"the {what} again as UTF-8."
            ) from None
    else:
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        nul = data.find(b"\x00")
        if nul >= 0:
            half = max(len(data) // 2, 1)
            if data[1::2].count(0) > 0.3 * half or data[0::2].count(0) > 0.3 * half:
                raise InputError(
                    f"{source} looks like UTF-16 text without a byte-order mark; save the {what} "
                    "as UTF-8."
                )
            if _binary(data):
                raise InputError(_not_text(source, what))
            line = data.count(b"\n", 0, nul) + 1
            raise InputError(
                f"{source}, line {line}: holds a NUL byte (character 0), which no text {what} "
                "has; the file is damaged or binary, so export it again as plain UTF-8 text."
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(_not_utf8(data, exc, source, what)) from None
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise InputError(
            f"{source}, line {line}: holds the control character {bad.group()!r}, which no text "
            f"{what} has; delete it or export the file again as plain UTF-8 text."
        )
    return text


def _binary(data: bytes) -> bool:
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 0x20 and b not in (9, 10, 13)) + sample.count(0x7F)
    high = sum(1 for b in sample if b >= 0x80)
    return controls > max(2, 0.02 * len(sample)) or high > 0.3 * len(sample)


def _not_text(source: str, what: str) -> str:
    return (
        f"{source} is not a text file (its bytes are neither UTF-8 nor UTF-16 text); give the "
        f"{what} as a UTF-8 text file (CSV)."
    )


def _not_utf8(data: bytes, exc: UnicodeDecodeError, source: str, what: str) -> str:
    if _binary(data):
        return _not_text(source, what)
    line = data.count(b"\n", 0, exc.start) + 1
    byte = data[exc.start]
    char = bytes([byte]).decode("cp1252", errors="replace")
    return (
        f"{source}, line {line}: byte 0x{byte:02X} is not UTF-8 (it reads as {char!r} in "
        f"Latin-1/Windows-1252); save the {what} as UTF-8 (in Excel: 'CSV UTF-8')."
    )


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One column a reader expects.

    Parameters
    ----------
    name
        Canonical name, as the returned DataFrame calls it.
    aliases
        Other spellings accepted in the header (matched after :func:`normalize_header`).
    kind
        ``"number"`` (float64), ``"integer"`` (int64; whole numbers only) or ``"text"``.
    required
        A required column must be in the file (or, headerless, in its position).
    missing
        Blank cells (and ``NA``) are allowed and read as NaN (or None for text).
    lower, upper
        Inclusive bounds of the values, with the reason in ``bounds`` for the message.
    max_abs
        Numbers beyond this magnitude are refused as absurd.
    """

    name: str
    aliases: tuple[str, ...] = ()
    kind: Literal["number", "integer", "text"] = "number"
    required: bool = True
    missing: bool = False
    lower: float | None = None
    upper: float | None = None
    bounds: str | None = None
    max_abs: float = MAX_ABS


def normalize_header(name: str) -> str:
    """``" Lower 95% CI"`` -> ``"lower_95_ci"``: lower case, runs of separators to ``_``."""
    return re.sub(r"[\s.\-%()/]+", "_", str(name).strip().lower()).strip("_")


def read_table(
    path: str | Path,
    columns: Sequence[Column],
    *,
    what: str = "table",
    header: bool | Literal["auto"] = True,
    extra: Literal["keep", "refuse"] = "keep",
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
) -> pd.DataFrame:
    """Read a delimited table a user gave, checked cell by cell against ``columns``.

    Parameters
    ----------
    path
        The file (CSV, semicolon- or tab-separated; UTF-8 or UTF-16 with a BOM).
    columns
        The columns expected, in the order a headerless file holds them.
    what
        What the file holds, in words (``"numbers-at-risk table"``), for the messages.
    header
        ``True``: the first line names the columns; ``False``: none does, the columns are
        ``columns`` in order; ``"auto"``: a first line with a cell that is not a number is a
        header.
    extra
        Columns not in ``columns``: kept as text (``"keep"``) or refused.
    max_rows, max_bytes
        Size limits; larger files are refused in one sentence.

    Returns
    -------
    pandas.DataFrame
        The expected columns present (canonical names, in ``columns`` order, typed), then any
        extra columns (normalized names, text). The index is the 1-based data row (header and
        comment lines excluded), named ``row``, for messages after filtering. ``attrs`` holds
        ``source``, ``delimiter``, ``decimal_comma`` and ``header``.
    """
    path = Path(path)
    text = read_text(path, what=what, max_bytes=max_bytes)
    return parse_table(
        text, columns, source=str(path), what=what, header=header, extra=extra, max_rows=max_rows
    )


def parse_table(
    text: str,
    columns: Sequence[Column],
    *,
    source: str,
    what: str = "table",
    header: bool | Literal["auto"] = True,
    extra: Literal["keep", "refuse"] = "keep",
    max_rows: int = MAX_ROWS,
) -> pd.DataFrame:
    """:func:`read_table` on text already read (``source`` names it in the messages)."""
    columns = list(columns)
    names = ",".join(c.name for c in columns if c.required) or ",".join(c.name for c in columns)
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise InputError(
            f"{source}, line {line}: holds the control character {bad.group()!r}; delete it or "
            "export the file again as plain UTF-8 text."
        )
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError(
            f"{source} is empty; give it the {what}: a header {names} and one row per line."
        )
    n_rows = len(lines) - (1 if header is True else 0)
    if n_rows > max_rows:
        raise InputError(
            f"{source} has {n_rows:,} rows, more than the {max_rows:,} a {what} may have; "
            "split it or check that it is the right file."
        )
    delim = _sniff(lines, source, header)
    rows = list(csv.reader(lines, delimiter=delim, skipinitialspace=True))
    rows = [[c.strip() for c in r] for r in rows]
    has_header = header is True or (header == "auto" and not all(_numberish(c) for c in rows[0]))
    if header is True and all(_numberish(c) for c in rows[0] if c):
        raise InputError(
            f"{source}: the first row ({delim.join(rows[0])[:40]}) holds numbers, not column "
            f"names; add a header line {names}."
        )
    if has_header:
        head, body = rows[0], rows[1:]
    else:
        width = max(len(r) for r in rows)
        head = [c.name for c in columns[:width]] + [
            f"column_{j + 1}" for j in range(len(columns), width)
        ]
        body = rows
    if not body:
        raise InputError(
            f"{source} has a header ({', '.join(head)}) but no data rows; add the rows of the "
            f"{what} below it."
        )
    width = len(head)
    for k, r in enumerate(body, start=1):
        if len(r) > width and any(r[width:]):
            hint = (
                "numbers seem to use decimal commas, so separate the columns with ';' or write "
                "decimal points"
                if delim == "," and _looks_decimal_comma(r)
                else f"quote cells that hold a {_DELIM_NAME[delim]}"
            )
            raise InputError(
                f"{source}, row {k}: the row has {len(r)} fields but the header has {width}; "
                f"{hint}."
            )
    body = [(r + [""] * width)[:width] for r in body]
    canon = _canonical(head, columns, source, body)
    keep = [j for j, c in enumerate(canon) if c is not None]
    canon_kept = [canon[j] for j in keep]
    missing = [c.name for c in columns if c.required and c.name not in canon_kept]
    if missing:
        have = ", ".join(h for h in head if h) or "none"
        raise InputError(
            f"{source} has columns {have} but needs {', '.join(repr(m) for m in missing)}; "
            f"rename the columns (header {names})."
        )
    known = {c.name: c for c in columns}
    if extra == "refuse":
        unknown = [head[j] for j in keep if canon[j] not in known]
        if unknown:
            raise InputError(
                f"{source}: column {unknown[0]!r} is not one a {what} has; the columns are "
                f"{', '.join(c.name for c in columns)}."
            )
    decimal_comma = delim != ","
    data: dict[str, Any] = {}
    used_comma = False
    for j in keep:
        name = canon[j]
        cells = [r[j] for r in body]
        col = known.get(name)
        if col is None or col.kind == "text":
            data[name] = _text_column(cells, col, source)
        else:
            vals, comma = _number_column(cells, col, source, decimal_comma)
            used_comma |= comma
            data[name] = vals
    order = [c.name for c in columns if c.name in data] + [n for n in data if n not in known]
    df = pd.DataFrame(
        {n: data[n] for n in order}, index=pd.RangeIndex(1, len(body) + 1, name="row")
    )
    df.attrs.update(source=source, delimiter=delim, decimal_comma=used_comma, header=has_header)
    return df


def _numberish(cell: str) -> bool:
    cell = cell.strip()
    return bool(_NUMBER_POINT.match(cell) or _NUMBER_COMMA.match(cell) or _NONFINITE.match(cell))


def _looks_decimal_comma(row: list[str]) -> bool:
    return sum(1 for c in row if re.fullmatch(r"[-+]?\d+", c)) >= 2


def _sniff(lines: list[str], source: str, header) -> str:
    """The delimiter that splits every line alike; by numbers read when two do."""
    head = lines[: min(len(lines), 50)]
    counts = {d: [len(r) for r in csv.reader(head, delimiter=d)] for d in _DELIMITERS}
    steady = [d for d, c in counts.items() if c[0] > 1 and len(set(c)) == 1]
    if len(steady) == 1:
        return steady[0]
    if not steady:
        wide = [d for d in _DELIMITERS if counts[d][0] > 1]
        if not wide:
            return ","
        return max(wide, key=lambda d: (counts[d][0], d != ","))
    data = head[1:] if (header is True or len(head) > 1) else head

    def score(d: str) -> float:
        cells = [c.strip() for r in csv.reader(data, delimiter=d) for c in r]
        ok = sum(
            1 for c in cells if _NUMBER_POINT.match(c) or (d != "," and _NUMBER_COMMA.match(c))
        )
        return ok / max(len(cells), 1)

    scores = {d: score(d) for d in steady}
    best = max(scores.values())
    winners = [d for d in steady if scores[d] == best]
    if len(winners) == 1:
        return winners[0]
    a, b = winners[:2]
    raise InputError(
        f"{source}: cannot tell whether the columns are separated by {_DELIM_NAME[a]}s or "
        f"{_DELIM_NAME[b]}s; use one separator (',' with decimal points, or ';' with decimal "
        "commas)."
    )


def _canonical(
    head: list[str], columns: list[Column], source: str, body: list[list[str]]
) -> list[str | None]:
    lookup: dict[str, str] = {}
    for c in columns:
        lookup[normalize_header(c.name)] = c.name
    for c in columns:
        for alias in c.aliases:
            lookup.setdefault(normalize_header(alias), c.name)
    norms = [normalize_header(h) for h in head]
    literal = {normalize_header(c.name) for c in columns} & set(norms)
    out: list[str | None] = []
    seen: dict[str, str] = {}
    for j, (raw, norm) in enumerate(zip(head, norms, strict=True)):
        if not norm:
            if all(not r[j] for r in body):
                out.append(None)  # an empty column (a trailing delimiter): dropped
                continue
            raise InputError(
                f"{source}: column {j + 1} has no name in the header but holds values; name "
                "it or delete it."
            )
        canon = lookup.get(norm, norm)
        if canon != norm and normalize_header(canon) in literal:
            canon = norm  # the canonical name is also there: this one stays as written
        if canon in seen:
            raise InputError(
                f"{source}: columns {seen[canon]!r} and {raw!r} both mean {canon!r}; keep one "
                "of them."
            )
        seen[canon] = raw
        out.append(canon)
    return out


def _text_column(cells: list[str], col: Column | None, source: str) -> list[str | None]:
    out: list[str | None] = []
    for k, c in enumerate(cells, start=1):
        if c == "":
            if col is not None and col.required and not col.missing:
                raise InputError(
                    f"{where(source, k)}{col.name} is blank; fill it in or delete the row."
                )
            out.append(None)
        else:
            out.append(c)
    return out


def _number_column(
    cells: list[str], col: Column, source: str, decimal_comma: bool
) -> tuple[np.ndarray, bool]:
    values = np.empty(len(cells), dtype=float)
    used_comma = False
    for k, c in enumerate(cells, start=1):
        if c.lower() in _BLANK_WORDS:
            if not col.missing:
                raise InputError(
                    f"{where(source, k)}{col.name} is blank; write the number or delete the row."
                )
            values[k - 1] = np.nan
            continue
        if _NUMBER_POINT.match(c):
            text = c
        elif _NUMBER_COMMA.match(c) and decimal_comma:
            text = c.replace(",", ".")
            used_comma = True
        elif _NUMBER_COMMA.match(c):
            raise InputError(
                f"{where(source, k)}{col.name} is {c!r} in a comma-separated file: a decimal "
                "comma or a thousands separator? Write it with a decimal point (or separate "
                "the columns with ';')."
            )
        elif _NONFINITE.match(c):
            raise InputError(
                f"{where(source, k)}{col.name} is {c!r}, not a finite number; write the number "
                "or delete the row."
            )
        elif "," in c and "." in c:
            raise InputError(
                f"{where(source, k)}{col.name} is {c!r}, a number with a thousands separator; "
                "write it without one."
            )
        else:
            raise InputError(
                f"{where(source, k)}{col.name} is {c!r}, not a number; fix or delete that row."
            )
        x = float(text)
        if not math.isfinite(x) or abs(x) > col.max_abs:
            raise InputError(
                f"{where(source, k)}{col.name} is {c}, beyond {col.max_abs:g} in magnitude, "
                f"which no {col.name} can be; check the number."
            )
        if col.kind == "integer" and x != math.floor(x):
            raise InputError(
                f"{where(source, k)}{col.name} is {c}, not a whole number; write a count."
            )
        if (col.lower is not None and x < col.lower) or (col.upper is not None and x > col.upper):
            rng = (
                f"at least {col.lower:g}"
                if col.upper is None
                else (
                    f"at most {col.upper:g}"
                    if col.lower is None
                    else f"between {col.lower:g} and {col.upper:g}"
                )
            )
            why = f" ({col.bounds})" if col.bounds else ""
            raise InputError(
                f"{where(source, k)}{col.name} is {c}; it must be {rng}{why}; fix that row."
            )
        values[k - 1] = x
    if col.kind == "integer":
        if np.isnan(values).any():
            return pd.array(
                [None if np.isnan(v) else int(v) for v in values], dtype="Int64"
            ), used_comma
        return values.astype(np.int64), used_comma
    return values, used_comma


# --------------------------------------------------------------------------------------------
# JSON and TOML
# --------------------------------------------------------------------------------------------
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_TOML_STRING = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'', re.DOTALL
)


def _depth(text: str) -> int:
    depth = best = 0
    for m in re.finditer(r"[\[\]{}]", text):
        depth += 1 if m.group() in "[{" else -1
        best = max(best, depth)
    return best


def _too_deep(source: str, depth: int, max_depth: int, kind: str) -> InputError:
    return InputError(
        f"{source}: {kind} nested {depth} levels deep, more than the {max_depth} bayesurv "
        "reads; flatten the document (a real one is a few levels deep)."
    )


def parse_json(text: str, *, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """Strict JSON: nesting bounded, no NaN/Infinity, no number that overflows a float."""
    depth = _depth(_JSON_STRING.sub('""', text))
    if depth > max_depth:
        raise _too_deep(source, depth, max_depth, "JSON")

    def constant(name: str):
        raise InputError(
            f"{source}: holds {name}, which JSON does not allow; write a number or null."
        )

    def number(s: str) -> float:
        x = float(s)
        if not math.isfinite(x):
            raise InputError(f"{source}: the number {s[:20]} is too large for a float; check it.")
        return x

    try:
        return json.loads(text, parse_constant=constant, parse_float=number)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "save it again from the program that made it."
        ) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise _too_deep(source, depth, max_depth, "JSON") from None


def load_json(
    path: str | Path,
    *,
    what: str = "JSON file",
    max_depth: int = MAX_DEPTH,
    max_bytes: int = MAX_BYTES,
) -> Any:
    """Read a user's JSON file through :func:`read_text` and :func:`parse_json`."""
    path = Path(path)
    return parse_json(
        read_text(path, what=what, max_bytes=max_bytes), source=str(path), max_depth=max_depth
    )


def parse_toml(text: str, *, source: str, max_depth: int = MAX_DEPTH) -> dict:
    """TOML with nesting bounded and no inf/nan values."""
    stripped = _TOML_STRING.sub('""', text)
    stripped = re.sub(r"#[^\n]*", "", stripped)
    depth = _depth(stripped)
    if depth > max_depth:
        raise _too_deep(source, depth, max_depth, "TOML")

    def number(s: str) -> float:
        x = float(s)
        if not math.isfinite(x):
            raise ValueError(s)
        return x

    try:
        return tomllib.loads(text, parse_float=number)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source} is not valid TOML ({exc}); fix that line.") from None
    except ValueError as exc:
        raise InputError(
            f"{source}: holds the value {exc}, not a finite number; write a number."
        ) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise _too_deep(source, depth, max_depth, "TOML") from None


def load_toml(
    path: str | Path,
    *,
    what: str = "TOML file",
    max_depth: int = MAX_DEPTH,
    max_bytes: int = MAX_BYTES,
) -> dict:
    """Read a user's TOML file through :func:`read_text` and :func:`parse_toml`."""
    path = Path(path)
    return parse_toml(
        read_text(path, what=what, max_bytes=max_bytes), source=str(path), max_depth=max_depth
    )


# --------------------------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------------------------
def open_image(path: str | Path, *, what: str = "figure", max_pixels: int = MAX_PIXELS):
    """Open an image after checking the pixel count its header claims; return it loaded.

    Raises :class:`InputError` for a file PIL cannot read, a truncated image, or one larger
    than ``max_pixels``; PIL's decompression-bomb warning and error never escape.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    _existing_file(path, what)
    with warnings.catch_warnings(), path.open("rb") as fh:
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(fh)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            claimed = re.search(r"\((\d+) pixels\)", str(exc))
            raise _too_big(
                path, int(claimed.group(1)) if claimed else None, max_pixels, what
            ) from None
        except UnidentifiedImageError:
            raise InputError(
                f"{path} is not an image bayesurv can read; give a PNG or JPEG (or a PDF page)."
            ) from None
        w, h = im.size
        if w * h > max_pixels:
            raise _too_big(path, f"{w:,} x {h:,} pixels", max_pixels, what)
        try:
            im.load()  # decoded while the file is open; the image holds its pixels after
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_big(path, f"{w:,} x {h:,} pixels", max_pixels, what) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise InputError(
                f"{path}: the image cannot be decoded ({str(exc).rstrip('.')}); export the "
                f"{what} again."
            ) from None
    return im


def _too_big(path: Path, size: str | int | None, max_pixels: int, what: str) -> InputError:
    if isinstance(size, int):
        claim = f"{size:,} pixels"
    else:
        claim = size or "more pixels than PIL will decode"
    return InputError(
        f"{path} claims {claim}, more than the {max_pixels:,} a {what} may have; export it "
        "at a lower resolution (150-300 dpi is plenty)."
    )


__all__ = [
    "MAX_ABS",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_PIXELS",
    "MAX_ROWS",
    "Column",
    "decode_text",
    "load_json",
    "load_toml",
    "normalize_header",
    "open_image",
    "parse_json",
    "parse_table",
    "parse_toml",
    "read_table",
    "read_text",
]
