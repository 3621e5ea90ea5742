"""Reader and validator of reported effects (EFFECTS.csv) for pooling.

EFFECTS.csv has a ``study`` column and either ``hr,lower,upper`` (hazard ratio with its 95% CI)
or ``log_hr,se``. Other columns (``outcome``, ``population``, ``tag``, ``source``, ...) are kept.
From a CI the standard error of the log HR is ``(log upper - log lower) / (2 * 1.959964)``.

Checks (each failure is one :class:`~bayesurv.errors.InputError` naming the file and row):
the file is not empty; the columns are there; numbers are numbers; HR, lower and upper are
positive; lower < upper; the HR lies inside its CI; the CI is roughly symmetric around the HR on
the log scale (the longer arm at most :data:`MAX_ARM_RATIO` times the shorter one -- published CIs
are rounded, so some asymmetry is normal); study names are unique; at least two studies.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from bayesurv.errors import InputError, where

Z95 = 1.959963984540054
MAX_ARM_RATIO = 2.0  # longer/shorter arm of the CI on the log scale
_TOL = 1e-9


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


def validate_effects(
    df: pd.DataFrame, source: str | None = None, min_studies: int = 2, rows=None
) -> pd.DataFrame:
    """Check a table of reported effects and add ``log_hr`` and ``se``; return a new frame.

    Parameters
    ----------
    df : a table with ``study`` and either ``hr, lower, upper`` (95% CI) or ``log_hr, se``.
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
    df.columns = [str(c).strip() for c in df.columns]
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
            "(a 95% CI) or log_hr,se."
        )
    studies = df["study"].astype(str).str.strip()
    for i, name in enumerate(studies):
        if not name or name.lower() == "nan":
            raise InputError(f"{where(src, rows[i])}the study name is empty; name every study.")
    df["study"] = studies
    if has_ci:
        hr, lo, up = (_num(df, c, src, rows) for c in ("hr", "lower", "upper"))
        for i in range(len(df)):
            w = where(src, rows[i])
            if hr[i] <= 0 or lo[i] <= 0 or up[i] <= 0:
                raise InputError(
                    f"{w}hr, lower and upper must be positive hazard ratios (got {hr[i]:g}, "
                    f"{lo[i]:g}, {up[i]:g}); give the HR itself, not its logarithm."
                )
            if lo[i] >= up[i]:
                raise InputError(
                    f"{w}lower ({lo[i]:g}) is not below upper ({up[i]:g}); swap them or "
                    "correct the CI."
                )
            if not (lo[i] * (1 - _TOL) <= hr[i] <= up[i] * (1 + _TOL)):
                raise InputError(
                    f"{w}the HR {hr[i]:g} lies outside its CI [{lo[i]:g}, {up[i]:g}]; check "
                    "that hr, lower and upper belong to the same comparison."
                )
            a_lo, a_up = math.log(hr[i] / lo[i]), math.log(up[i] / hr[i])
            ratio = max(a_lo, a_up) / max(min(a_lo, a_up), 1e-300)
            if ratio > MAX_ARM_RATIO:
                raise InputError(
                    f"{w}the 95% CI [{lo[i]:g}, {up[i]:g}] is not centred on the HR {hr[i]:g} "
                    f"on the log scale (one arm is {ratio:.1f} times the other; at most "
                    f"{MAX_ARM_RATIO:g} is accepted); check the numbers, or give log_hr,se."
                )
        log_hr = np.log(hr)
        se = (np.log(up) - np.log(lo)) / (2 * Z95)
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
        for i in range(len(df)):
            if se[i] <= 0:
                raise InputError(
                    f"{where(src, rows[i])}se must be positive (got {se[i]:g}); give the "
                    "standard error of the log HR."
                )
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
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    try:
        df = pd.read_csv(path, comment="#", skipinitialspace=True, dtype=str,
                         keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise InputError(
            f"{src}: the file is empty; give a header and one row per study with "
            "study,hr,lower,upper or study,log_hr,se."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{src}: cannot read it as CSV ({exc}); save it as plain CSV.") from None
    if where_:
        for col, val in where_.items():
            if col not in df.columns:
                raise InputError(
                    f"{src}: there is no column {col!r} to select on; use one of "
                    f"{', '.join(df.columns)}."
                )
            df = df[df[col].astype(str).str.strip() == str(val)]
        if len(df) == 0:
            sel = ", ".join(f"{k}={v}" for k, v in where_.items())
            raise InputError(f"{src}: no row has {sel}; check the selection.")
    for col, val in (exclude_ or {}).items():
        if col not in df.columns:
            raise InputError(
                f"{src}: there is no column {col!r} to exclude on; use one of "
                f"{', '.join(df.columns)}."
            )
        df = df[df[col].astype(str).str.strip() != str(val)]
    rows = [int(i) + 1 for i in df.index]
    return validate_effects(df.reset_index(drop=True), source=src, min_studies=min_studies,
                            rows=rows)
