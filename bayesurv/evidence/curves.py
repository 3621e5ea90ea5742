"""Digitized Kaplan-Meier curves and numbers-at-risk tables: reading, validation, cleaning.

Formats read
------------
* CSV with a header ``time,survival`` (an ``arm`` column selects curves when several are stored);
* WebPlotDigitizer's CSV export: headerless ``x,y`` rows, or its "all datasets" layout (a row of
  dataset names, a row ``X,Y,X,Y,...``, then data side by side);
* WebPlotDigitizer's JSON project (``datasetColl``; one dataset per arm, ``value`` = [x, y]).
Lines starting with ``#`` are comments. Survival may be a proportion or a percentage (detected
from the values and always reported; ``percent=`` forces it), and a figure drawn as cumulative
incidence (1 - S) is turned into survival with ``cumulative_incidence=True``.

Cleaning (:func:`clean_curve`)
------------------------------
Digitizer clicks are noisy in both axes. On a step curve, noise in y breaks monotonicity along
flat stretches and noise in x along vertical drops, so sorting by time alone splits a drop into
two half-drops. The clicks are therefore ordered by their position along the curve
(``t / t_max + (1 - S)``, which increases along any non-increasing curve), and two isotonic
regressions (pool-adjacent-violators, ``scipy.optimize.isotonic_regression``) then make time
non-decreasing and survival non-increasing in that order: the closest monotone step curve in
least squares, coordinate by coordinate. Points are clipped to [0, 1], the curve is anchored at
(0, 1), and every change is counted in the cleaning log.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from bayesurv.errors import InputError, where
from bayesurv.tables import (
    MAX_ABS,
    Column,
    normalize_header,
    parse_json,
    parse_table,
    read_text,
)

#: clicks this far beyond a bound (0 or 1 after scaling, or 0 in time, relative to the time
#: range) are click noise and are clipped; further out they are an error in the input.
CLIP_TOLERANCE = 0.02


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def _read_text(path: str | Path, what: str = "digitized curve") -> str:
    """The file's text through the one input layer (:func:`bayesurv.tables.read_text`:
    encodings, size, control characters), refused when it holds nothing."""
    text = read_text(path, what=what)
    if not text.strip():
        raise InputError(
            f"{path} is empty; give the {what} (a header time,survival and one row per point)."
        )
    return text


def _numeric(values: pd.Series, source: str, column: str, row_offset: int = 1) -> np.ndarray:
    num = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(num.isna().to_numpy())
    if bad.size:
        r = int(bad[0])
        raise InputError(
            f"{where(source, r + row_offset)}{column} is {values.iloc[r]!r}, not a number; "
            "fix or delete that row."
        )
    out = num.to_numpy(dtype=float)
    wild = np.flatnonzero(~np.isfinite(out) | (np.abs(out) > MAX_ABS))
    if wild.size:
        r = int(wild[0])
        raise InputError(
            f"{where(source, r + row_offset)}{column} is {values.iloc[r]!r}, not a finite "
            "number a curve can hold; fix or delete that row."
        )
    return out


def _wpd_json(text: str, source: str) -> dict[str, pd.DataFrame]:
    proj = parse_json(text, source=source)
    sets = proj.get("datasetColl") if isinstance(proj, dict) else None
    if not sets:
        raise InputError(
            f"{source} has no 'datasetColl'; save the WebPlotDigitizer project as JSON "
            "(File > Save Project) with at least one dataset."
        )
    if not isinstance(sets, list) or not all(isinstance(ds, dict) for ds in sets):
        raise InputError(
            f"{source}: 'datasetColl' is not a list of datasets; save the project again from "
            "WebPlotDigitizer (File > Save Project)."
        )
    out: dict[str, pd.DataFrame] = {}
    for k, ds in enumerate(sets):
        name = str(ds.get("name") or f"dataset {k + 1}")
        data = ds.get("data", [])
        if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
            raise InputError(
                f"{source}: dataset {name!r} has no list of points ('data'); save the project "
                "again from WebPlotDigitizer."
            )
        pts = [p.get("value") for p in data]
        bad = [i for i, v in enumerate(pts) if not (isinstance(v, list) and len(v) >= 2)]
        if bad:
            raise InputError(
                f"{source}: point {bad[0] + 1} of dataset {name!r} is {pts[bad[0]]!r}, not an "
                "[x, y] pair; fix it or save the project again from WebPlotDigitizer."
            )
        df = pd.DataFrame(
            {"time": [v[0] for v in pts], "survival": [v[1] for v in pts]}, dtype=object
        )
        out[name] = df
    return out


def _wpd_csv_multi(text: str, source: str) -> dict[str, pd.DataFrame] | None:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 3:
        return None
    second = [c.strip().upper() for c in lines[1].split(",")]
    if not second or any(c not in ("X", "Y") for c in second if c) or "X" not in second:
        return None
    names = [c.strip() for c in lines[0].split(",")]
    raw = pd.read_csv(io.StringIO("\n".join(lines[2:])), header=None, dtype=str)
    out = {}
    for j in range(0, raw.shape[1] - 1, 2):
        name = names[j] if j < len(names) and names[j] else f"dataset {j // 2 + 1}"
        block = raw.iloc[:, [j, j + 1]].dropna(how="all")
        block.columns = ["time", "survival"]
        out[name] = block.reset_index(drop=True)
    return out


def parse_columns(text: str | None) -> tuple[str, str] | None:
    """``"time,surv_pct"`` -> ("time", "surv_pct"): the curve file's time and survival columns."""
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2 or not all(parts) or parts[0].lower() == parts[1].lower():
        raise InputError(
            f"--columns {text!r} is not two column names; give TIME,SURV, e.g. "
            "--columns time,surv_pct."
        )
    return parts[0], parts[1]


def read_curves(
    path: str | Path, columns: tuple[str, str] | None = None
) -> dict[str, pd.DataFrame]:
    """Read every curve in a file: name -> raw ``time,survival`` (as typed, not yet checked).

    A file with one curve returns ``{"curve": df}``; WebPlotDigitizer files with several
    datasets, or a CSV with an ``arm`` column, return one entry per dataset or arm.
    ``columns`` = (time, survival) names the columns of a CSV whose header says otherwise
    (e.g. ``("time", "surv_pct")``; matched without regard to case).
    """
    source = str(path)
    text = _read_text(path)
    if text.lstrip().startswith("{"):
        return _wpd_json(text, source)
    multi = _wpd_csv_multi(text, source)
    if multi is not None:
        return multi
    body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    if not body.strip():
        raise InputError(f"{source} holds only comments; give the digitized points below them.")
    wanted = [c.strip() for c in columns] if columns is not None else ["time", "survival"]
    spec = [
        Column("time", aliases=(wanted[0],) if columns else (), max_abs=MAX_ABS),
        Column("survival", aliases=(wanted[1],) if columns else (), max_abs=MAX_ABS),
    ]
    try:
        df = parse_table(text, spec, source=source, what="digitized curve", header="auto")
    except InputError as exc:
        raise _curve_error(exc, source, text, columns) from None
    if not df.attrs["header"]:
        return {"curve": df[["time", "survival"]].reset_index(drop=True)}
    if "arm" in df.columns:
        return {
            str(a).strip(): g[["time", "survival"]].reset_index(drop=True)
            for a, g in df.groupby("arm")
        }
    return {"curve": df[["time", "survival"]].reset_index(drop=True)}


def _curve_error(exc: InputError, source: str, text: str, columns) -> InputError:
    """The input layer's refusal, said for a curve file (which columns, --columns)."""
    message = str(exc)
    if "but needs" in message or "has columns" in message:
        first = next(
            ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
        )
        have = [c.strip() for c in re.split(r"[,;\t]", first)]
        if columns is not None:
            absent = [c for c in columns if normalize_header(c) not in map(normalize_header, have)]
            name = absent[0] if absent else columns[0]
            return InputError(
                f"{source} has no column {name!r} (it has {', '.join(have)}); give "
                "--columns TIME,SURV with two of those."
            )
        return InputError(
            f"{source} has columns {', '.join(have)} but needs 'time' and 'survival'; "
            "rename the columns, or name them with --columns TIME,SURV (or export headerless "
            "x,y from WebPlotDigitizer)."
        )
    if "but no data rows" in message:
        return InputError(f"{source} has no data rows; give the digitized points below the header.")
    return exc


def _is_word(cell: str) -> bool:
    cell = cell.strip()
    if not cell:
        return False
    try:
        float(cell)
        return False
    except ValueError:
        return True


def select_curve(curves: dict[str, pd.DataFrame], source: str, name: str | None) -> pd.DataFrame:
    """Pick one curve by name; with one curve and no name, that one."""
    if name is None:
        if len(curves) == 1:
            return next(iter(curves.values()))
        raise InputError(
            f"{source} holds {len(curves)} curves ({', '.join(curves)}); choose one with --dataset "
            "(or --arm when the names match)."
        )
    if name not in curves:
        if len(curves) == 1:
            return next(iter(curves.values()))
        raise InputError(f"{source} has no curve named {name!r}; it has {', '.join(curves)}.")
    return curves[name]


# --------------------------------------------------------------------------------------------
# validation and cleaning
# --------------------------------------------------------------------------------------------
@dataclass
class CleanedCurve:
    """A digitized curve after validation and cleaning, with the log of what was changed."""

    time: np.ndarray
    survival: np.ndarray
    scale: str  # "proportion" or "percent": how the input was read
    log: list[str] = field(default_factory=list)
    changes: dict[str, float] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "survival": self.survival})

    def step(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct times and the curve's level from each (the lowest point at a time)."""
        uniq, level, _ = self.corners()
        return uniq, level

    def corners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct times, the lowest and the highest point at each: a drop from the previous
        level to ``upper`` happened somewhere since the previous time, the rest (``upper`` to
        ``level``) exactly at this time."""
        uniq, inv = np.unique(self.time, return_inverse=True)
        level = np.full(uniq.size, np.inf)
        upper = np.full(uniq.size, -np.inf)
        np.minimum.at(level, inv, self.survival)
        np.maximum.at(upper, inv, self.survival)
        return uniq, level, upper


def clean_curve(
    raw: pd.DataFrame,
    *,
    source: str = "curve",
    percent: bool | None = None,
    cumulative_incidence: bool = False,
) -> CleanedCurve:
    """Validate digitized points and clean them into a monotone step curve from (0, 1).

    Parameters
    ----------
    raw : DataFrame with ``time`` and ``survival`` columns, as typed or clicked.
    source : the file name, used in messages.
    percent : True/False forces the scale; None detects it (values above 1.5 mean percent).
    cumulative_incidence : the figure shows 1 - S(t); convert.

    Raises
    ------
    InputError : fewer than two points, non-numbers, negative times, survival above 100%.

    Examples
    --------
    >>> raw = pd.DataFrame({"time": [0, 5, 4, 10, 10], "survival": [100, 80, 91, 70, 71]})
    >>> c = clean_curve(raw)
    >>> c.scale, c.time.tolist(), c.survival.round(2).tolist()
    ('percent', [0.0, 4.0, 5.0, 10.0, 10.0], [1.0, 0.91, 0.8, 0.71, 0.7])
    """
    if raw is None or len(raw) == 0:
        raise InputError(f"{source} has no data rows; it should hold the digitized points.")
    t = _numeric(raw["time"], source, "time")
    y = _numeric(raw["survival"], source, "survival")
    if t.size < 2:
        raise InputError(
            f"{source} has only {t.size} point; a curve needs at least two (digitize more)."
        )
    log: list[str] = []
    ymax = float(np.max(y))
    if percent is None:
        percent = ymax > 1.5
        if percent:
            log.append(f"read survival as a percentage (largest value {ymax:g} > 1.5)")
        else:
            log.append(f"read survival as a proportion (largest value {ymax:g} <= 1.5)")
    else:
        log.append(f"survival read as a {'percentage' if percent else 'proportion'} (as told)")
    scale = "percent" if percent else "proportion"
    if percent:
        y = y / 100.0
    elif ymax > 1.0 + CLIP_TOLERANCE:
        r = int(np.argmax(y))
        raise InputError(
            f"{where(source, r + 1)}survival {y[r]:g} is above 1 but too small for a percentage; "
            "fix that click, or pass --percent if the axis is in percent."
        )
    if cumulative_incidence:
        y = 1.0 - y
        log.append("converted cumulative incidence F(t) to survival S(t) = 1 - F(t)")
    unit = "%" if percent else ""
    mult = 100.0 if percent else 1.0
    hi = np.flatnonzero(y > 1.0 + CLIP_TOLERANCE)
    if hi.size:
        r = int(hi[0])
        what = "cumulative incidence" if cumulative_incidence else "survival"
        raise InputError(
            f"{where(source, r + 1)}{what} {_shown(raw['survival'].iloc[r])}{unit} is "
            f"{'below 0' if cumulative_incidence else 'above ' + ('100%' if percent else '1')}; "
            "fix that click (or check --percent / --cumulative-incidence)."
        )
    lo = np.flatnonzero(y < -CLIP_TOLERANCE)
    if lo.size:
        r = int(lo[0])
        raise InputError(
            f"{where(source, r + 1)}survival {y[r] * mult:g}{unit} is below 0; fix that click."
        )
    t_range = float(np.max(t)) if np.max(t) > 0 else 1.0
    # A curve drawn into a padded frame (R, ggplot2, matplotlib pad the axes by ~4%) starts
    # before 0 on its flat top: those points say S = 1 up to 0, whatever their time.
    flat_start = (t < 0) & (y >= 1.0 - CLIP_TOLERANCE)
    if flat_start.any():
        log.append(
            f"moved {int(flat_start.sum())} point(s) of the curve's flat start before time 0 "
            f"(down to {float(t.min()):g}) to 0"
        )
        t = np.where(flat_start, 0.0, t)
    neg = np.flatnonzero(t < -CLIP_TOLERANCE * t_range)
    if neg.size:
        r = int(neg[0])
        raise InputError(
            f"{where(source, r + 1)}time {t[r]:g} is negative; times start at 0 (fix that click)."
        )
    if np.max(t) <= 0:
        raise InputError(f"{source}: every time is 0; the curve needs points after time 0.")
    changes: dict[str, float] = {}
    n_clip = int(np.sum((y > 1) | (y < 0) | (t < 0)))
    if n_clip:
        log.append(f"clipped {n_clip} point(s) slightly outside 0-1 or before time 0")
    changes["clipped"] = n_clip
    t = np.clip(t, 0.0, None)
    y = np.clip(y, 0.0, 1.0)

    # order along the curve, then two isotonic fits
    n_in = t.size
    key = t / t_range + (1.0 - y)
    order = np.lexsort((-y, t, key))
    moved = int(np.sum(order != np.arange(n_in)))
    changes["reordered"] = moved
    if moved:
        log.append(f"put {moved} point(s) in order along the curve")
    t, y = t[order], y[order]
    t_iso = isotonic_regression(t, increasing=True).x
    y_iso = isotonic_regression(y, increasing=False).x
    dt = np.abs(t_iso - t)
    dy = np.abs(y_iso - y)
    changes["time_adjusted"] = int(np.sum(dt > 1e-12))
    changes["survival_adjusted"] = int(np.sum(dy > 1e-12))
    changes["max_time_adjustment"] = float(dt.max())
    changes["max_survival_adjustment"] = float(dy.max())
    if changes["survival_adjusted"] or changes["time_adjusted"]:
        log.append(
            f"isotonic regression moved {changes['survival_adjusted']} survival value(s) "
            f"(largest move {dy.max():.4f}) and {changes['time_adjusted']} time(s) "
            f"(largest {dt.max():.4g}) to make the curve a non-increasing step function"
        )
    if dy.max() > 0.05:
        j = int(np.argmax(dy))
        log.append(
            f"warning: the clicks near time {t[j]:g} rise by {dy.max():.3f} against the curve's "
            "direction; check them, or the curve may be read wrongly"
        )
    t, y = t_iso, y_iso
    # anchor at (0, 1)
    if t[0] > 0 or y[0] < 1.0:
        first = (t[0], y[0])
        if t[0] <= CLIP_TOLERANCE * t_range and 1.0 - y[0] <= CLIP_TOLERANCE:
            t[0], y[0] = 0.0, 1.0
            log.append(f"moved the first point ({first[0]:g}, {first[1]:.4f}) to (0, 1)")
        else:
            t = np.concatenate([[0.0], t])
            y = np.concatenate([[1.0], y])
            log.append(f"added (0, 1) before the first point ({first[0]:g}, {first[1]:.4f})")
        changes["anchored"] = 1
    else:
        changes["anchored"] = 0
    # exact duplicates carry no information
    keep = np.ones(t.size, dtype=bool)
    keep[1:] = (np.diff(t) != 0) | (np.diff(y) != 0)
    dup = int(np.sum(~keep))
    changes["duplicates_removed"] = dup
    if dup:
        log.append(f"removed {dup} duplicated point(s)")
    t, y = t[keep], y[keep]
    changes["points_in"] = n_in
    changes["points_out"] = int(t.size)
    return CleanedCurve(time=t, survival=y, scale=scale, log=log, changes=changes)


# --------------------------------------------------------------------------------------------
# numbers at risk
# --------------------------------------------------------------------------------------------
def _table_rows(path, spec: list[Column], what: str, arm: str | None, kind: str):
    """A user's table through the input layer, the rows of ``arm`` selected (an ``arm``
    column is optional); returns the frame, its 1-based data rows."""
    source = str(path)
    text = _read_text(path, what=what)
    if not any(ln.strip() and not ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise InputError(f"{source} holds only comments; give the {what} below them.")
    try:
        df = parse_table(
            text, spec + [Column("arm", kind="text", required=False)], source=source, what=what
        )
    except InputError as exc:
        if "but no data rows" in str(exc):
            raise InputError(
                f"{source} has no data rows; give the {what} below the header."
            ) from None
        raise
    if "arm" in df.columns:
        names = df["arm"].fillna("").astype(str).str.strip()
        arms = sorted(names.unique())
        if arm is None:
            if len(arms) > 1:
                raise InputError(
                    f"{source} has {kind} of arms {', '.join(arms)}; choose one with --arm."
                )
        else:
            keep = (names == arm).to_numpy()
            if not keep.any():
                raise InputError(
                    f"{source} has no {kind} for arm {arm!r}; it has {', '.join(arms)}."
                )
            df = df[keep]
    return df, df.index.to_numpy()


def read_censor_marks(path: str | Path, arm: str | None = None) -> np.ndarray:
    """Times of censor marks read off a figure: a CSV with a ``time`` column (an ``arm`` column
    selects rows with ``arm``; other columns, such as ``survival``, are ignored), as
    ``bayesurv digitize`` writes ``censor_marks.csv``. Returns the sorted times."""
    df, rows = _table_rows(path, [Column("time")], "censor marks", arm, "marks")
    times = df["time"].to_numpy(float)
    bad = np.flatnonzero(times < 0)
    if bad.size:
        k = int(bad[0])
        raise InputError(f"{where(str(path), int(rows[k]))}time {times[k]:g} is negative; fix it.")
    return np.sort(times)


def read_at_risk(path: str | Path, arm: str | None = None) -> pd.DataFrame:
    """Read a numbers-at-risk table ``time,at_risk`` (an ``arm`` column selects rows with --arm).

    Returns a DataFrame with ``time`` (float) and ``at_risk`` (int), checked by
    :func:`check_at_risk`. Read through :func:`bayesurv.tables.parse_table` (delimiter and
    decimal commas sniffed, non-finite numbers refused).
    """
    spec = [Column("time"), Column("at_risk", aliases=("n_at_risk", "nrisk", "n_risk"))]
    df, rows = _table_rows(path, spec, "numbers-at-risk table", arm, "rows")
    out = pd.DataFrame(
        {"time": df["time"].to_numpy(float), "at_risk": df["at_risk"].to_numpy(float), "row": rows}
    )
    return check_at_risk(out, source=str(path))


def check_at_risk(table: pd.DataFrame, *, source: str = "numbers at risk") -> pd.DataFrame:
    """Validate a numbers-at-risk table and return it as ``time`` (float), ``at_risk`` (int)."""
    t = np.asarray(table["time"], dtype=float)
    n = np.asarray(table["at_risk"], dtype=float)
    rows = np.asarray(table["row"]) if "row" in table else np.arange(t.size) + 1
    if t.size == 0:
        raise InputError(f"{source} has no rows; it should hold time,at_risk rows.")
    for k in range(t.size):
        if t[k] < 0:
            raise InputError(f"{where(source, int(rows[k]))}time {t[k]:g} is negative; fix it.")
        if n[k] < 0 or n[k] != np.round(n[k]):
            raise InputError(
                f"{where(source, int(rows[k]))}at_risk {n[k]:g} is not a count (a whole "
                "number >= 0); fix it."
            )
    order = np.argsort(t, kind="stable")
    if np.any(order != np.arange(t.size)):
        t, n, rows = t[order], n[order], rows[order]
    dup = np.flatnonzero(np.diff(t) == 0)
    if dup.size:
        k = int(dup[0])
        raise InputError(
            f"{where(source, int(rows[k + 1]))}time {t[k + 1]:g} appears twice; keep one row "
            "per time."
        )
    rise = np.flatnonzero(np.diff(n) > 0)
    if rise.size:
        k = int(rise[0])
        raise InputError(
            f"{source}, rows {int(rows[k])}-{int(rows[k + 1])}: numbers at risk rise from "
            f"{int(n[k])} at time {t[k]:g} to {int(n[k + 1])} at time {t[k + 1]:g}, but they can "
            "only fall; check the table (are the rows of another arm mixed in?)."
        )
    if t[0] != 0:
        raise InputError(
            f"{where(source, int(rows[0]))}the table starts at time {t[0]:g}, but it must start "
            "at time 0 with the number of patients in the arm; add that row."
        )
    if n[0] <= 0:
        raise InputError(f"{where(source, int(rows[0]))}no patients at risk at time 0; fix it.")
    return pd.DataFrame({"time": t, "at_risk": n.astype(int)})


def _shown(value) -> str:
    """A cell as the user wrote it: numbers without a trailing ``.0``."""
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)
