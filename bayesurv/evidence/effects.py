"""Reader and validator of reported effects (EFFECTS.csv) for pooling, meta-regression and NMA.

EFFECTS.csv has a ``study`` column and either ``hr,lower,upper`` (hazard ratio with its CI) or
``log_hr,se``. Other columns (``outcome``, ``population``, ``tag``, ``source``, covariates ...)
are kept. From a CI at level ``c`` (column ``ci_level``, default 0.95) the standard error of the
log HR is

    se = (log upper - log lower) / (2 z),   z = Phi^-1((1 + c) / 2)   (1.959964 for 95%).

Files are read as people save them: the delimiter (``,``, ``;`` or tab) is sniffed, decimal
commas (``0,8`` in a ``;`` file) are read as decimal points, headers are matched without regard
to case, spaces or dots, and common aliases are accepted (:data:`ALIASES`: ``HR``, ``LCI``,
``UCI``, ``lower_ci``, ``Lower 95% CI``, ``logHR``, ``SE`` ...). What cannot be read that way
(a ``,`` file with decimal commas, two columns meaning the same thing) is refused in one
sentence.

Checks (each failure is one :class:`~bayesurv.errors.InputError` naming the file and row):
the file is not empty; the columns are there; numbers are numbers; HR, lower and upper are
positive; lower < upper; the HR lies inside its CI; the CI is roughly symmetric around the HR on
the log scale (the longer arm at most :data:`MAX_ARM_RATIO` times the shorter one -- published CIs
are rounded, so some asymmetry is normal); a CI level lies in (0, 1); se > 0; study names are
unique; at least two studies.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from bayesurv.errors import InputError, where
from bayesurv.evidence.ci import (
    LEVEL_ALIASES,
    LEVEL_COLUMN,
    centre_se,
    level_text,
    levels,
    z_of_level,
)

MAX_ARM_RATIO = 2.0  # longer/shorter arm of the CI on the log scale
#: the largest |log HR| and standard error accepted (HR between 2e-9 and 5e8): beyond, the
#: number is a typing error, a percentage or an HR given as its logarithm twice
MAX_LOG_HR = 20.0
_TOL = 1e-9

#: canonical column name -> accepted spellings (after lower-casing and turning runs of
#: spaces, dots, hyphens and percent signs into one underscore)
ALIASES: dict[str, tuple[str, ...]] = {
    "study": ("study", "trial", "study_id", "studlab", "study_name", "trial_name"),
    "hr": ("hr", "hazard_ratio", "hr_estimate"),
    "lower": (
        "lower",
        "lci",
        "lcl",
        "ll",
        "lower_ci",
        "ci_lower",
        "lower95",
        "lower_95",
        "lower_95_ci",
        "lower_limit",
        "ci_lo",
        "ci_low",
    ),
    "upper": (
        "upper",
        "uci",
        "ucl",
        "ul",
        "upper_ci",
        "ci_upper",
        "upper95",
        "upper_95",
        "upper_95_ci",
        "upper_limit",
        "ci_hi",
        "ci_high",
    ),
    "log_hr": ("log_hr", "loghr", "ln_hr", "lnhr", "log_hazard_ratio", "yi"),
    "se": ("se", "se_log_hr", "se_loghr", "sei", "standard_error", "stderr", "se_lnhr"),
    LEVEL_COLUMN: (LEVEL_COLUMN, *LEVEL_ALIASES),
}
_NUMERIC_CELL = re.compile(r"^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+([eE][-+]?\d+)?\s*$")


def normalize_header(name: str) -> str:
    """``"Lower 95% CI"`` -> ``"lower_95_ci"``: lower case, runs of separators to ``_``."""
    return re.sub(r"[\s.\-%()/]+", "_", str(name).strip().lower()).strip("_")


def canonical_columns(
    columns, source: str | None = None, aliases: dict[str, tuple[str, ...]] = ALIASES
) -> list[str]:
    """Column names normalized, with known aliases mapped to their canonical name.

    A column already named by its canonical name wins over aliases (a file with ``study`` and
    ``trial`` keeps both as they are); two aliases of the same name (``HR`` and ``hazard
    ratio``) are refused.

    Examples
    --------
    >>> canonical_columns(["Study", "HR", "LCI", "UCI"])
    ['study', 'hr', 'lower', 'upper']
    """
    lookup = {alias: canon for canon, names in aliases.items() for alias in names}
    norms = [normalize_header(c) for c in columns]
    literal = set(norms)
    out = []
    for norm in norms:
        canon = lookup.get(norm, norm)
        out.append(norm if (canon != norm and canon in literal) else canon)
    seen: dict[str, str] = {}
    for raw, canon in zip(columns, out, strict=True):
        if canon in seen:
            raise InputError(
                f"{where(source)}columns {seen[canon]!r} and {raw!r} both mean {canon!r}; keep "
                "one of them."
            )
        seen[canon] = str(raw)
    return out


def read_table(path: str | Path, aliases: dict[str, tuple[str, ...]] = ALIASES) -> pd.DataFrame:
    """Read a CSV of reported numbers as strings through the one input layer
    (:func:`bayesurv.tables.read_table`: UTF-8 or UTF-16 with a BOM, anything else refused by
    name; control bytes, size limits and the delimiter sniffed there), headers made canonical
    with ``aliases`` (case, spaces and dots ignored), decimal commas of a ``;`` or tab file
    turned into points, ``#`` comment lines skipped. Blank cells are NaN; the index counts
    data rows from 0.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "e.csv"
    >>> _ = p.write_text("Study;HR;LCI;UCI\\nA;0,8;0,6;1,07\\n")
    >>> read_table(p).loc[0, ["study", "hr", "lower"]].tolist()
    ['A', '0.8', '0.6']
    """
    from bayesurv.tables import Column, parse_table, read_text

    path = Path(path)
    src = path.name
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    text = read_text(path, what="table of effects")
    if not any(ln.strip() and not ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise InputError(
            f"{src}: the file is empty; give a header and one row per study with "
            "study,hr,lower,upper or study,log_hr,se."
        )
    columns = [
        Column(name, aliases=names, kind="text", required=False, missing=True)
        for name, names in aliases.items()
    ]
    df = parse_table(text, columns, source=src, what="table of effects", extra="keep")
    df = df.astype(object).where(df.notna(), np.nan)
    if df.attrs.get("delimiter", ",") != ",":
        for col in df.columns:
            vals = df[col].dropna().astype(str)
            if (
                len(vals)
                and vals.str.match(_DECIMAL_COMMA).any()
                and vals.str.match(_NUMERIC_CELL).all()
            ):
                df[col] = df[col].where(df[col].isna(), df[col].astype(str).str.replace(",", "."))
    return df.reset_index(drop=True)


def _num(df: pd.DataFrame, col: str, src: str | None, rows) -> np.ndarray:
    out = np.empty(len(df))
    for i, v in enumerate(df[col].tolist()):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise InputError(
                f"{where(src, rows[i])}column {col!r} holds {v!r}, not a number; "
                "write a plain decimal number."
            ) from None
        if not math.isfinite(out[i]):
            raise InputError(
                f"{where(src, rows[i])}column {col!r} is empty or not finite; fill it in or "
                "remove the row."
            )
    return out


def ci_to_log_se(hr, lo, up, ci_levels, src: str | None, rows, label: str = "HR") -> tuple:
    """Check HRs with their CIs row by row and return ``(log_hr, se)`` arrays.

    ``ci_levels`` holds each row's CI level (a proportion, checked by
    :func:`bayesurv.evidence.ci.z_of_level`); the standard error is
    :func:`bayesurv.evidence.ci.centre_se`'s on the log scale. Used by every reader of reported
    HRs (effects files and network files), so a CI means the same thing everywhere.
    """
    hr, lo, up, ci_levels = (np.asarray(a, dtype=float) for a in (hr, lo, up, ci_levels))
    for i in range(hr.size):
        w = where(src, rows[i])
        z_of_level(float(ci_levels[i]), src, rows[i])
        if hr[i] <= 0 or lo[i] <= 0 or up[i] <= 0:
            raise InputError(
                f"{w}hr, lower and upper must be positive hazard ratios (got {hr[i]:g}, "
                f"{lo[i]:g}, {up[i]:g}); give the {label} itself, not its logarithm."
            )
        if lo[i] >= up[i]:
            raise InputError(
                f"{w}lower ({lo[i]:g}) is not below upper ({up[i]:g}); swap them or correct the CI."
            )
        if not (lo[i] * (1 - _TOL) <= hr[i] <= up[i] * (1 + _TOL)):
            raise InputError(
                f"{w}the {label} {hr[i]:g} lies outside its CI [{lo[i]:g}, {up[i]:g}]; check "
                "that hr, lower and upper belong to the same comparison."
            )
        a_lo, a_up = math.log(hr[i] / lo[i]), math.log(up[i] / hr[i])
        ratio = max(a_lo, a_up) / max(min(a_lo, a_up), 1e-300)
        if ratio > MAX_ARM_RATIO:
            raise InputError(
                f"{w}the {level_text(ci_levels[i])} CI [{lo[i]:g}, {up[i]:g}] is not centred on "
                f"the {label} {hr[i]:g} on the log scale (one arm is {ratio:.1f} times the "
                f"other; at most {MAX_ARM_RATIO:g} is accepted); check the numbers, or give "
                "log_hr,se."
            )
    log_hr, se = centre_se(hr, lo, up, ci_levels, "log", src, rows)
    return np.atleast_1d(log_hr), np.atleast_1d(se)


def check_se(se, src: str | None, rows) -> None:
    """Every standard error positive, else one sentence naming the row."""
    for i, s in enumerate(np.asarray(se, dtype=float)):
        if not s > 0:
            raise InputError(
                f"{where(src, rows[i])}se must be positive (got {s:g}); give the "
                "standard error of the log HR."
            )


def check_magnitudes(log_hr, se, src: str | None, rows, from_ci: bool = False) -> None:
    """Every log HR and standard error within :data:`MAX_LOG_HR`, else one sentence naming the
    row (an HR of e^1000 is no trial's)."""
    log_hr, se = np.asarray(log_hr, dtype=float), np.asarray(se, dtype=float)
    bad = np.flatnonzero(~(np.abs(log_hr) <= MAX_LOG_HR) | ~(se <= MAX_LOG_HR))
    if bad.size:
        i = int(bad[0])
        if from_ci:
            what = f"the HR and CI give log HR {log_hr[i]:g} with se {se[i]:g}"
        elif not abs(log_hr[i]) <= MAX_LOG_HR:
            what = f"log_hr is {log_hr[i]:g} (an HR of e^{log_hr[i]:g})"
        else:
            what = f"se is {se[i]:g}"
        raise InputError(
            f"{where(src, rows[i])}{what}, beyond the {MAX_LOG_HR:g} any trial reports; give the "
            "natural log of the hazard ratio and its standard error (or hr,lower,upper)."
        )


def validate_effects(
    df: pd.DataFrame, source: str | None = None, min_studies: int = 2, rows=None
) -> pd.DataFrame:
    """Check a table of reported effects and add ``log_hr`` and ``se``; return a new frame.

    Parameters
    ----------
    df : a table with ``study`` and either ``hr, lower, upper`` (CI at ``ci_level``, default
        0.95) or ``log_hr, se``. Headers may use the aliases of :data:`ALIASES`.
    source : the file name, for error messages.
    min_studies : the fewest rows accepted.
    rows : the 1-based file row of each table row (for messages); default 1..n.

    Examples
    --------
    >>> t = pd.DataFrame({"study": ["A", "B"], "hr": [0.5, 0.8], "lower": [0.3, 0.6],
    ...                   "upper": [0.833, 1.067]})
    >>> validate_effects(t)["se"].round(3).tolist()
    [0.261, 0.147]
    """
    src = source
    if df is not None and rows is None:
        rows = list(range(1, len(df) + 1))
    if df is None or len(df.columns) == 0 or len(df) == 0:
        raise InputError(
            f"{where(src)}the table is empty; give a header and one row per study with "
            "study,hr,lower,upper or study,log_hr,se."
        )
    df = df.copy()
    df.columns = canonical_columns(list(df.columns), src)
    cols = set(df.columns)
    if "study" not in cols:
        raise InputError(
            f"{where(src)}there is no 'study' column; add a column named study with one "
            "name per row."
        )
    has_ci = {"hr", "lower", "upper"} <= cols
    has_se = {"log_hr", "se"} <= cols
    if not (has_ci or has_se):
        missing = sorted({"hr", "lower", "upper"} - cols)
        raise InputError(
            f"{where(src)}columns {', '.join(missing)} are missing; give hr,lower,upper "
            "(a 95% CI, or add ci_level) or log_hr,se."
        )
    studies = df["study"].astype(str).str.strip()
    for i, name in enumerate(studies):
        if not name or name.lower() == "nan":
            raise InputError(f"{where(src, rows[i])}the study name is empty; name every study.")
    df["study"] = studies
    if has_ci:
        hr, lo, up = (_num(df, c, src, rows) for c in ("hr", "lower", "upper"))
        log_hr, se = ci_to_log_se(hr, lo, up, levels(df, src, rows), src, rows)
        if has_se:  # both given: they must agree
            given = _num(df, "se", src, rows)
            for i in range(len(df)):
                if abs(given[i] - se[i]) > 0.05 * se[i] + 0.005:
                    raise InputError(
                        f"{where(src, rows[i])}se {given[i]:g} disagrees with the CI (which "
                        f"gives {se[i]:.3f}); keep one of the two."
                    )
    else:
        log_hr = _num(df, "log_hr", src, rows)
        se = _num(df, "se", src, rows)
        check_se(se, src, rows)
    check_magnitudes(log_hr, se, src, rows, from_ci=has_ci)
    dup = studies[studies.duplicated()].tolist()
    if dup:
        i = int(np.flatnonzero(studies.duplicated().to_numpy())[0])
        raise InputError(
            f"{where(src, rows[i])}study {dup[0]!r} appears more than once; give each study one "
            "row (select one outcome or analysis per file)."
        )
    if len(df) < min_studies:
        raise InputError(
            f"{where(src)}only {len(df)} study given; pooling needs at least {min_studies} "
            "(for one study, report its own HR)."
        )
    df["log_hr"] = log_hr
    df["se"] = se
    return df.reset_index(drop=True)


def select_rows(
    df: pd.DataFrame,
    src: str,
    where_: dict[str, str] | None = None,
    exclude_: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Rows whose columns equal ``where_`` and differ from ``exclude_`` (column names matched
    like headers, without regard to case); the index keeps the file's 0-based data row."""
    for sel, keep in ((where_ or {}, True), (exclude_ or {}, False)):
        for col, val in sel.items():
            key = canonical_columns([col])[0]
            if key not in df.columns:
                verb = "select" if keep else "exclude"
                raise InputError(
                    f"{src}: there is no column {col!r} to {verb} on; use one of "
                    f"{', '.join(df.columns)}."
                )
            match = df[key].astype(str).str.strip() == str(val)
            df = df[match] if keep else df[~match]
        if keep and sel and len(df) == 0:
            text = ", ".join(f"{k}={v}" for k, v in sel.items())
            raise InputError(f"{src}: no row has {text}; check the selection.")
    return df


def read_effects(
    path: str | Path,
    where_: dict[str, str] | None = None,
    min_studies: int = 2,
    exclude_: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Read and check EFFECTS.csv; ``where_`` keeps rows whose columns equal the given values,
    ``exclude_`` drops rows whose columns equal them.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "e.csv"
    >>> _ = p.write_text("study,log_hr,se\\nA,-0.5,0.2\\nB,-0.2,0.3\\n")
    >>> read_effects(p)["study"].tolist()
    ['A', 'B']
    """
    path = Path(path)
    src = path.name
    df = select_rows(read_table(path), src, where_, exclude_)
    rows = [int(i) + 1 for i in df.index]
    return validate_effects(
        df.reset_index(drop=True), source=src, min_studies=min_studies, rows=rows
    )
