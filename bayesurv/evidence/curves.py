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
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from bayesurv.errors import InputError, where

#: clicks this far beyond a bound (0 or 1 after scaling, or 0 in time, relative to the time
#: range) are click noise and are clipped; further out they are an error in the input.
CLIP_TOLERANCE = 0.02


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def _read_text(path: str | Path) -> str:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path.")
    if p.is_dir():
        raise InputError(f"{p} is a folder, not a file; give the CSV or JSON file itself.")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{p} is not a text file (byte {exc.start} is not UTF-8); export the points as CSV "
            "or a WebPlotDigitizer JSON project."
        ) from None
    if not text.strip():
        raise InputError(f"{p} is empty; it should hold the digitized points.")
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
    return num.to_numpy(dtype=float)


def _wpd_json(text: str, source: str) -> dict[str, pd.DataFrame]:
    try:
        proj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    sets = proj.get("datasetColl") if isinstance(proj, dict) else None
    if not sets:
        raise InputError(
            f"{source} has no 'datasetColl'; save the WebPlotDigitizer project as JSON "
            "(File > Save Project) with at least one dataset."
        )
    out: dict[str, pd.DataFrame] = {}
    for k, ds in enumerate(sets):
        name = str(ds.get("name") or f"dataset {k + 1}")
        pts = [p.get("value") for p in ds.get("data", [])]
        pts = [p for p in pts if isinstance(p, list | tuple) and len(p) >= 2]
        df = pd.DataFrame(
            {"time": [p[0] for p in pts], "survival": [p[1] for p in pts]}, dtype=object
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
        raise InputError(f"{source} holds only comments; it should hold the digitized points.")
    first = body.strip().splitlines()[0].split(",")
    has_header = any(_is_word(c) for c in first)
    df = pd.read_csv(io.StringIO(body), header=0 if has_header else None, dtype=str)
    if not has_header:
        if df.shape[1] < 2:
            raise InputError(f"{source} has one column; it needs two: time and survival (x,y).")
        df = df.iloc[:, :2]
        df.columns = ["time", "survival"]
        return {"curve": df}
    df.columns = [c.strip().lower() for c in df.columns]
    if columns is not None:
        wanted = [c.strip().lower() for c in columns]
        absent = [c for c in wanted if c not in df.columns]
        if absent:
            raise InputError(
                f"{source} has no column {absent[0]!r} (it has {', '.join(df.columns)}); give "
                "--columns TIME,SURV with two of those."
            )
        df = df.drop(
            columns=[c for c in ("time", "survival") if c in df.columns and c not in wanted]
        )
        df = df.rename(columns={wanted[0]: "time", wanted[1]: "survival"})
    missing = [c for c in ("time", "survival") if c not in df.columns]
    if missing:
        raise InputError(
            f"{source} has columns {', '.join(df.columns)} but needs 'time' and 'survival'; "
            "rename the columns, or name them with --columns TIME,SURV (or export headerless "
            "x,y from WebPlotDigitizer)."
        )
    if "arm" in df.columns:
        return {
            str(a): g[["time", "survival"]].reset_index(drop=True) for a, g in df.groupby("arm")
        }
    return {"curve": df[["time", "survival"]]}


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
            f"{where(source, r + 1)}{what} {raw['survival'].iloc[r]}{unit} is "
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
def read_censor_marks(path: str | Path, arm: str | None = None) -> np.ndarray:
    """Times of censor marks read off a figure: a CSV with a ``time`` column (an ``arm`` column
    selects rows with ``arm``; other columns, such as ``survival``, are ignored), as
    ``bayesurv digitize`` writes ``censor_marks.csv``. Returns the sorted times."""
    source = str(path)
    text = _read_text(path)
    body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    if not body.strip():
        raise InputError(f"{source} holds only comments; it should hold a time column.")
    df = pd.read_csv(io.StringIO(body), dtype=str)
    df.columns = [c.strip().lower() for c in df.columns]
    if "time" not in df.columns:
        raise InputError(
            f"{source} has columns {', '.join(df.columns)} but needs 'time' (one row per "
            "censor mark)."
        )
    rows = np.arange(len(df)) + 1
    if "arm" in df.columns:
        names = df["arm"].astype(str).str.strip()
        arms = sorted(names.unique())
        if arm is None:
            if len(arms) > 1:
                raise InputError(
                    f"{source} has marks of arms {', '.join(arms)}; choose one with --arm."
                )
        else:
            keep = (names == arm).to_numpy()
            if not keep.any() and arms:
                raise InputError(
                    f"{source} has no marks for arm {arm!r}; it has {', '.join(arms)}."
                )
            df, rows = df[keep], rows[keep]
    times = _numeric(df["time"].reset_index(drop=True), source, "time")
    bad = np.flatnonzero(times < 0)
    if bad.size:
        k = int(bad[0])
        raise InputError(f"{where(source, int(rows[k]))}time {times[k]:g} is negative; fix it.")
    return np.sort(times)


def read_at_risk(path: str | Path, arm: str | None = None) -> pd.DataFrame:
    """Read a numbers-at-risk table ``time,at_risk`` (an ``arm`` column selects rows with --arm).

    Returns a DataFrame with ``time`` (float) and ``at_risk`` (int), checked by
    :func:`check_at_risk`.
    """
    source = str(path)
    text = _read_text(path)
    body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    if not body.strip():
        raise InputError(f"{source} holds only comments; it should hold time,at_risk rows.")
    df = pd.read_csv(io.StringIO(body), dtype=str)
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in ("time", "at_risk") if c not in df.columns]
    if missing:
        raise InputError(
            f"{source} has columns {', '.join(df.columns)} but needs 'time' and 'at_risk'; "
            "rename them (one row per time printed under the figure)."
        )
    rows = np.arange(len(df)) + 1
    if "arm" in df.columns:
        arms = sorted(df["arm"].astype(str).str.strip().unique())
        if arm is None:
            if len(arms) > 1:
                raise InputError(
                    f"{source} has rows for arms {', '.join(arms)}; choose one with --arm."
                )
        else:
            mask = (df["arm"].astype(str).str.strip() == arm).to_numpy()
            if not mask.any():
                raise InputError(f"{source} has no rows for arm {arm!r}; it has {', '.join(arms)}.")
            df, rows = df[mask], rows[mask]
    if len(df) == 0:
        raise InputError(f"{source} has no data rows; it should hold time,at_risk rows.")
    t = _numeric(df["time"].reset_index(drop=True), source, "time")
    n = _numeric(df["at_risk"].reset_index(drop=True), source, "at_risk")
    out = pd.DataFrame({"time": t, "at_risk": n, "row": rows})
    return check_at_risk(out, source=source)


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
