"""A published Kaplan-Meier figure in, IPD out: read the figure, reconstruct every arm.

``reconstruct_figure(path)`` reads the axes, every arm's curve, its censor marks and the
numbers-at-risk table from the figure (:func:`bayesurv.digitize.digitize_file`), then
reconstructs each arm (:func:`bayesurv.reconstruct.reconstruct`: the curve, that arm's row of
the table, the censor marks as censoring times) and stacks the arms into one ``time,event,arm``
table, the arms named as the figure names them.

It is loud, not silent. Each arm gets a confidence statement: the share of its curve seen, the
stretches hidden (under another arm, under text), the table cells read, uncertain or missing,
and how the reconstructed KM compares with the curve read. Where the reconstruction differs from
the curve by more than the reading's own error (two pixels of the y axis, plus one patient's
step), or where the table and the curve disagree, the report says which arm and where.

Examples
--------
>>> from bayesurv import reconstruct_figure
>>> rec = reconstruct_figure("km.png")  # doctest: +SKIP
>>> rec.ipd.groupby("arm")["event"].agg(["size", "sum"])  # doctest: +SKIP
>>> print(rec.summary())  # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from bayesurv.errors import InputError

READING_PX = 2.0
"""Reading error of a traced curve, in pixels of the y axis."""


@dataclass
class FigureReconstruction:
    """What a figure gave: IPD of every arm, each arm's reconstruction, what was read.

    Attributes
    ----------
    ipd
        ``time,event,arm`` of every reconstructed patient.
    arms
        Arm names, as the figure names them (legend, labels or table rows).
    reconstructions
        Arm -> :class:`bayesurv.reconstruct.Reconstruction`.
    digitized
        What was read (:class:`bayesurv.digitize.Digitized`): curves, censor marks, axes, table.
    at_risk
        ``time,at_risk,arm`` used for each arm (read from the figure or given).
    confidence
        Arm -> plain-data confidence statement (see the module docstring).
    warnings
        Every warning, each naming its arm and where.
    report
        All of it as JSON-ready data.
    """

    ipd: pd.DataFrame
    arms: list[str]
    reconstructions: dict
    digitized: object
    at_risk: pd.DataFrame
    confidence: dict[str, dict]
    warnings: list[str] = field(default_factory=list)
    report: dict = field(default_factory=dict)

    @property
    def overlay(self) -> Image.Image:
        return self.digitized.overlay

    def summary(self) -> str:
        """A few lines for the terminal: per arm n, events, curve seen, cells read, fit."""
        lines = []
        for arm in self.arms:
            c = self.confidence[arm]
            cells = c.get("at_risk_cells") or {}
            nar = (
                f"{cells.get('read', 0)} table cells read, {cells.get('uncertain', 0)} uncertain, "
                f"{cells.get('missing', 0)} missing"
                if cells
                else "no table row (n given or none)"
            )
            lines.append(
                f"{arm}: {c['n']} patients, {c['events']} events; curve {c['seen_share']:.0%} "
                f"seen; {nar}; reconstructed KM within {c['max_abs_diff']:.3f} of the curve "
                f"(mean {c['mean_abs_diff']:.4f}) - {_short_verdict(c)}"
            )
        return "\n".join(lines)


def _short_verdict(c: dict) -> str:
    """The verdict for the terminal's line per arm; where the reconstruction departs from the
    curve, the warning below says where and by how much."""
    if c.get("agreement_time") is None:
        return c["verdict"]
    return (
        f"reconstructed KM departs from the curve read near t = {c['agreement_time']:g} "
        "(see the warning)"
    )


def reconstruct_figure(
    path: str | Path,
    *,
    page: int | None = None,
    panel: int | None = None,
    crop: tuple[int, int, int, int] | None = None,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    at_risk: pd.DataFrame | None = None,
    n_arms: int | None = None,
    colors: list[tuple[int, int, int]] | None = None,
    names: list[str] | None = None,
    total_events: dict[str, int] | None = None,
    n: dict[str, int] | None = None,
    method: str = "bayesurv",
    seed: int = 0,
) -> FigureReconstruction:
    """Reconstruct the IPD of every arm of a Kaplan-Meier figure (PNG, JPEG or a PDF page).

    Parameters
    ----------
    path
        The figure.
    page, panel, crop
        PDF page (1-based); panel K of a multi-panel figure (reading order); a pixel box.
    x_range, y_range
        Axis values overriding the tick labels read (the first and last tick's values).
    at_risk
        ``time,at_risk,arm`` overriding the table read (arms named as in the figure or
        ``names``).
    n_arms, colors, names
        Number of arms, their line colours, their names (in the order of ``colors``).
    total_events, n
        Per arm: reported events (matched exactly) and patients (when there is no table).
    method
        ``"bayesurv"`` or ``"guyot"``.

    Raises
    ------
    InputError
        One sentence naming what could not be found and the option that supplies it.
    """
    from bayesurv.digitize import digitize_file
    from bayesurv.reconstruct import reconstruct

    source = str(path)
    digitized = digitize_file(
        path,
        x_range,
        y_range,
        page=page,
        crop=crop,
        panel=panel,
        n_arms=n_arms,
        colors=colors,
        names=names,
    )
    arms = list(digitized.curves)
    given = _given_at_risk(at_risk, arms) if at_risk is not None else {}
    parts, recs, confidence, tables = [], {}, {}, []
    warnings, table_said = _table_warnings(digitized.report.get("warnings", []), arms)
    y_span = abs(digitized.axes.y.slope) * READING_PX if digitized.axes is not None else 0.01
    full = 100.0 if digitized.report["y_axis"]["unit"] == "percent" else 1.0
    reading_error = float(y_span / full)
    time_error = abs(digitized.axes.x.slope) * READING_PX if digitized.axes is not None else 0.0
    for arm in arms:
        curve = digitized.curves[arm]
        nar = given.get(arm)
        read_from = "given" if nar is not None else "figure"
        if nar is None:
            nar = digitized.at_risk(arm)
        arm_n = (n or {}).get(arm)
        if nar is None and arm_n is None:
            raise InputError(
                f"{source}: no numbers-at-risk row was read for arm {arm!r} and no n is "
                "given; give the table with --at-risk NAR.csv (time,at_risk,arm) or the arm's "
                "patients with --n."
            )
        if nar is not None:
            nar = _usable_table(nar, arm, source, warnings)
        marks = digitized.censor_marks
        marks = marks.loc[marks["arm"] == arm, "time"].to_numpy(float)
        rec = reconstruct(
            curve,
            nar,
            total_events=(total_events or {}).get(arm),
            n=arm_n if nar is None else None,
            method=method,
            seed=seed,
            censor_times=marks if len(marks) else None,
            reading_error=reading_error,
            source=f"{source} ({arm})",
            at_risk_source=f"numbers at risk of {arm} ({read_from})",
        )
        recs[arm] = rec
        parts.append(rec.ipd.assign(arm=arm))
        if nar is not None:
            tables.append(nar.assign(arm=arm))
        confidence[arm] = _confidence(arm, digitized, rec, reading_error, read_from)
        printed = next(
            (a.get("printed") for a in digitized.report["arms"] if a["arm"] == arm), None
        )
        median = (
            median_check(printed, rec.ipd, reading_error=reading_error, time_error=time_error)
            if printed
            else None
        )
        if median is not None:
            confidence[arm]["median"] = median
        said, notes = arm_warnings(
            arm,
            rec.report.get("warnings", []),
            table_said.get(arm, []),
            prefix=f"{source} ({arm}): ",
            reading_error=reading_error,
            agreement=rec.report.get("agreement"),
            t_end=float(curve["time"].max()),
            median=median,
        )
        warnings += said
        if notes:
            confidence[arm]["notes"] = notes
    ipd = pd.concat(parts, ignore_index=True)[["time", "event", "arm"]]
    at_risk_used = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame({"time": [], "at_risk": [], "arm": []})
    )
    report = {
        "source": source,
        "arms": arms,
        "confidence": confidence,
        "digitize": digitized.report,
        "reconstruction": {arm: recs[arm].report for arm in arms},
        "warnings": warnings,
        "notes": {arm: confidence[arm]["notes"] for arm in arms if confidence[arm].get("notes")},
    }
    return FigureReconstruction(
        ipd, arms, recs, digitized, at_risk_used, confidence, warnings, report
    )


def _given_at_risk(table: pd.DataFrame, arms: list[str]) -> dict[str, pd.DataFrame]:
    if "arm" not in table.columns:
        if len(arms) != 1:
            raise InputError(
                "--at-risk has no arm column but the figure shows "
                f"{len(arms)} arms ({', '.join(arms)}); add an arm column naming them."
            )
        return {arms[0]: table[["time", "at_risk"]]}
    out = {}
    names = [str(a).strip() for a in table["arm"].unique()]
    missing = [a for a in names if a not in arms]
    if missing:
        raise InputError(
            f"--at-risk names arm(s) {', '.join(missing)} but the figure's arms are "
            f"{', '.join(arms)}; rename them, or name the curves with --names."
        )
    for a in names:
        out[a] = table.loc[table["arm"].astype(str).str.strip() == a, ["time", "at_risk"]]
    return out


def _usable_table(nar: pd.DataFrame, arm: str, source: str, warnings: list[str]) -> pd.DataFrame:
    """A table row read from the figure, made usable: it starts at 0 and never rises (a cell
    that rises is dropped, and said)."""
    from bayesurv.evidence.curves import check_at_risk

    nar = nar.sort_values("time").reset_index(drop=True)
    keep = []
    last = np.inf
    for t, v in zip(nar["time"], nar["at_risk"], strict=True):
        if v > last:
            warnings.append(
                f"{arm}: the table's {int(v)} at t = {t:g} is more than the {int(last)} "
                "before it; that cell is left out."
            )
            continue
        keep.append((float(t), int(v)))
        last = v
    if not keep or keep[0][0] != 0:
        raise InputError(
            f"{source}: the numbers-at-risk row of arm {arm!r} has no number at time 0; give "
            "the table with --at-risk NAR.csv (time,at_risk,arm)."
        )
    return check_at_risk(
        pd.DataFrame({"time": [k[0] for k in keep], "at_risk": [k[1] for k in keep]}),
        source=f"numbers at risk of {arm}",
    )


def _confidence(arm: str, digitized, rec, reading_error: float, read_from: str) -> dict:
    arm_report = next(a for a in digitized.report["arms"] if a["arm"] == arm)
    acc = rec.report["km_vs_clicks"]
    n0 = int(rec.report["n"]["reconstructed"])
    events = int(rec.ipd["event"].sum())
    agreement = rec.report.get("agreement", {"ok": True})
    if agreement.get("ok", True):
        verdict = "reconstruction matches the curve read"
    else:
        verdict = (
            f"reconstructed KM is {agreement['km']:.3f} at t = {agreement['time']:g} where the "
            f"curve read is {agreement['curve']:.3f} (more than the reading error plus one "
            f"patient's step, {agreement['allowed']:.3f}); check the overlay and the numbers "
            "at risk"
        )
    out = {
        "n": n0,
        "events": events,
        "seen_share": arm_report.get("seen_share", 1.0 - arm_report.get("hidden_share", 0.0)),
        "hidden_stretches": arm_report.get("hidden_stretches", []),
        "censor_marks": arm_report.get("censor_marks", 0),
        "at_risk_from": read_from,
        "at_risk_cells": arm_report.get("at_risk_cells"),
        "named_by": arm_report.get("named_by"),
        "max_abs_diff": float(acc["max_abs_diff"]),
        "mean_abs_diff": float(acc["mean_abs_diff"]),
        "reading_error": reading_error,
        "verdict": verdict,
        "agreement_time": None if agreement.get("ok", True) else float(agreement["time"]),
    }
    return out


_CANNOT = re.compile(
    r"^numbers at risk the curve cannot support: in \[(?P<lo>[^,]+), (?P<hi>[^)]+)\) the curve "
    r"falls from (?P<sa>[\d.]+) to (?P<sb>[\d.]+), which with (?P<n>\d+) at risk means at least "
    r"\d+ events, leaving at most (?P<most>\d+) at risk at [^,]+, but the table says "
    r"(?P<table>\d+); the curve was followed \(\d+ at risk\), so check the clicks near this "
    r"interval and the table$"
)
""":func:`bayesurv.reconstruct.reconstruct`'s sentence for one interval the table cannot hold."""
_MOVED = re.compile(
    r"^moved onto the numbers-at-risk time \(the table cannot hold them otherwise\): (?P<items>.+)$"
)
_MOVED_ITEM = re.compile(r"^(?P<k>\d+) drop\(s\) just before (?P<t>\S+)$")
_ZERO_TAIL = re.compile(r"^dropped numbers at risk of 0 after the last click \(time [^)]+\): .+$")
_TABLE = re.compile(
    r"^between t = (?P<a>\S+) and (?P<b>\S+) the curve falls by (?P<fall>\d+)% but the table "
    r"\((?P<na>\d+) -> (?P<nb>\d+) at risk\) allows at most (?P<allowed>\d+)%$"
)
""":func:`bayesurv.digitize.table.check_against_curve`'s sentence, after its ``arm: ``."""


def _table_warnings(said: list[str], arms: list[str]) -> tuple[list[str], dict[str, list[dict]]]:
    """The digitizer's warnings, less its table-against-curve checks, which are taken out per
    arm (``{arm: [interval, ...]}``) to be said once with the reconstruction's own."""
    kept, by_arm = [], {}
    for w in said:
        arm = next((a for a in arms if w.startswith(f"{a}: ")), None)
        m = _TABLE.match(w[len(arm) + 2 :]) if arm is not None else None
        if m is None:
            kept.append(w)
            continue
        by_arm.setdefault(arm, []).append(
            {
                "lo": float(m["a"]),
                "hi": float(m["b"]),
                "text": f"the curve falls {m['fall']}%, the table ({m['na']} -> {m['nb']}) "
                f"allows {m['allowed']}%",
                "said": w[len(arm) + 2 :],
            }
        )
    return kept, by_arm


def arm_warnings(
    arm: str,
    said: list[str],
    table_checks: list[dict],
    *,
    prefix: str = "",
    reading_error: float = 0.01,
    agreement: dict | None = None,
    t_end: float | None = None,
    median: dict | None = None,
) -> tuple[list[str], list[str]]:
    """One arm's warnings, one per cause, and the notes that are no warning.

    ``said`` are :func:`bayesurv.reconstruct.reconstruct`'s warnings for the arm (``prefix``,
    the source it names, is dropped: the arm is named in front), ``table_checks`` the intervals
    where the digitizer found the curve falling faster than the table allows.

    * Every interval where the table holds more patients than the curve's fall leaves (the
      reconstruction's sentences, one per interval, and the digitizer's) becomes one warning
      naming the intervals. An interval where the gap is within what the reading error of the
      curve allows (``reading_error`` on each of the interval's two levels moves the patients
      the curve leaves by ``n x e x (1/S_a + S_b/S_a^2)``) is no warning on its own: where every
      interval is so, the sentence is a note.
    * Drops moved onto a printed time (they lay a hair before it) are said in that warning, else
      noted.
    * Where the reconstructed KM departs from the curve (``agreement``, its sentence in
      ``said``) just before a printed time whose drops were moved onto it (within
      ``BOUNDARY_TOLERANCE`` x ``t_end``), the move is the cause: it is said in the same
      warning, which then stands even where every interval is within the reading error.
    * A table's 0 at risk after the curve's end is what a table prints: a note.
    * A median printed in the figure that the reconstructed KM cannot have (``median``,
      :func:`median_check`) is one warning.

    Every other sentence is kept as it is.
    """
    from bayesurv.reconstruct import BOUNDARY_TOLERANCE

    warnings, notes = [], []
    gaps, moved, moved_at = [], 0, []
    departs = agreement.get("text") if agreement and not agreement.get("ok", True) else None
    departs_said = False
    for w in said:
        if prefix and w.startswith(prefix):
            w = w[len(prefix) :]
        if departs is not None and w == departs:
            departs_said = True
            continue
        m = _CANNOT.match(w)
        if m is not None:
            n, sa, sb = int(m["n"]), float(m["sa"]), float(m["sb"])
            excess = int(m["table"]) - int(m["most"])
            tolerance = n * reading_error * (1.0 / sa + sb / sa**2) if sa > 0 else np.inf
            gaps.append(
                {
                    "lo": float(m["lo"]),
                    "hi": float(m["hi"]),
                    "text": f"table {m['table']}, curve at most {m['most']}",
                    "beyond": excess > tolerance,
                }
            )
            continue
        m = _MOVED.match(w)
        if m is not None:
            items = [_MOVED_ITEM.match(p.strip()) for p in m["items"].split(";")]
            if all(items):
                moved += sum(int(i["k"]) for i in items)
                moved_at += [float(i["t"]) for i in items]
                continue
        if _ZERO_TAIL.match(w):
            notes.append(w)
            continue
        warnings.append(f"{arm}: {w}")
    known = {(g["lo"], g["hi"]) for g in gaps}
    for c in table_checks:  # the digitizer's check where the reconstruction found no gap
        if (c["lo"], c["hi"]) not in known:
            gaps.append({**c, "beyond": True})
    moved_text = f"put {moved} drop(s) read just before a printed time on it" if moved else ""
    # The KM's departure from the curve, where it comes from those moved drops.
    window = BOUNDARY_TOLERANCE * (t_end if t_end is not None else 0.0)
    moved_to = None
    if departs_said:
        at = float(agreement["time"])
        moved_to = next((t for t in sorted(moved_at) if t - window - 1e-9 <= at <= t), None)
        if moved_to is None:
            warnings.insert(0, f"{arm}: {departs}")
        else:
            moved_text += (
                f", so its KM is {agreement['km']:.3f} at t = {at:g}, just before "
                f"{moved_to:g}, where the curve read is {agreement['curve']:.3f} (one patient's "
                f"step and the reading error allow {agreement['allowed']:.3f})"
            )
    if gaps:
        gaps.sort(key=lambda g: g["lo"])
        where = "; ".join(f"[{g['lo']:g}, {g['hi']:g}) {g['text']}" for g in gaps)
        beyond = [g for g in gaps if g["beyond"]]
        text = (
            f"{arm}: the table holds more patients at risk than the curve's fall leaves in "
            f"{len(gaps)} interval(s): {where}"
        )
        if beyond or moved_to is not None:
            text += (
                (
                    "; more than the curve's reading error allows in "
                    + ", ".join(f"[{g['lo']:g}, {g['hi']:g})" for g in beyond)
                    if beyond
                    else f", each within the curve's reading error ({reading_error:.3f})"
                )
                + "; the reconstruction followed the curve"
                + (f" and {moved_text}" if moved else "")
                + "; check the curve and the table there"
            )
            warnings.insert(0, text)
        else:
            text += (
                f", each within the curve's reading error ({reading_error:.3f}); the "
                "reconstruction followed the curve" + (f" and {moved_text}" if moved else "")
            )
            notes.insert(0, text)
    elif moved_to is not None:
        warnings.insert(
            0,
            f"{arm}: the table cannot hold the curve as read: the reconstruction {moved_text}; "
            "check the curve and the table there",
        )
    elif moved:
        notes.insert(
            0, f"{arm}: the reconstruction {moved_text} (the table cannot hold them otherwise)"
        )
    if median is not None and not median["ok"]:
        warnings.append(f"{arm}: {median['text']}")
    return warnings, notes


def median_check(
    printed: str, ipd: pd.DataFrame, *, reading_error: float, time_error: float
) -> dict | None:
    """The median printed for an arm (legend, labels, medians box) against its reconstructed KM.

    The curve's levels are known to ``reading_error`` (two pixels of the y axis) and the
    reconstructed KM follows them to that plus one patient's step (``S / n at risk`` where it
    crosses 0.5). So the KM's median is only known to lie between the first time its level is
    at most ``0.5 + e`` and the first time it is at most ``0.5 - e`` (``e`` = both): short where
    the curve falls steeply through 0.5, a whole plateau where it lingers there. The printed
    median agrees when it lies in that window widened by the time axis's reading error
    (``time_error``, two pixels of the x axis) and half a unit of its last printed digit (10.4 is
    10.35-10.45). A median printed as not reached (NR) agrees unless the KM falls to ``0.5 - e``.
    A wider rule (one interval between printed times of the table) would let a median printed
    for the other arm pass where two arms' medians are a few months apart.

    Returns None when ``printed`` reads as no median, else ``{"printed", "reconstructed", "from",
    "to", "tolerance", "ok", "text"}`` (``from``/``to``: the window, None where it is open;
    ``text``: the warning, None where the median agrees).
    """
    from bayesurv.digitize.legend import median_value
    from bayesurv.nonparametric import kaplan_meier, step_median

    value = median_value(printed)
    if value is None:
        return None
    target, rounding = value
    km = kaplan_meier(ipd["time"].to_numpy(float), ipd["event"].to_numpy(int))
    times, surv, risk = (km[c].to_numpy(float) for c in ("time", "survival", "at_risk"))
    rec = step_median(times, surv)
    cross = int(np.argmax(surv <= 0.5)) if np.any(surv <= 0.5) else len(surv) - 1
    step = 0.5 / max(risk[cross], 1.0)
    e = reading_error + step
    upper, lower = np.flatnonzero(surv <= 0.5 + e), np.flatnonzero(surv <= 0.5 - e)
    lo = float(times[upper[0]]) if upper.size else None
    hi = float(times[lower[0]]) if lower.size else None
    tol = time_error + rounding
    if np.isinf(target):
        ok = hi is None
    else:
        ok = lo is not None and lo - tol <= target and (hi is None or target <= hi + tol)
    shown = "not reached" if np.isinf(target) else f"{target:g}"
    recd = "not reached" if not np.isfinite(rec) else f"{rec:.3g}"
    near = f"{e:.3f} of 0.5 (the reading error and one patient's step)"
    if ok:
        where = None
    elif lo is None:
        where = f"the KM never comes within {near}"
    elif np.isinf(target):
        where = f"the KM falls more than {near} below it at t = {hi:.3g}"
    else:
        until = f"to {hi:.3g}" if hi is not None else "on"
        where = (
            f"the KM is within {near} only from t = {lo:.3g} {until}, +/- {tol:.3g} for the "
            "time axis's reading and the printed rounding"
        )
    text = where and (
        f"the median printed in the figure ({printed!r}: {shown}) is not the reconstructed KM's "
        f"({recd}): {where}; check that the median belongs to this arm, and its curve and "
        "table row"
    )
    return {
        "printed": None if np.isinf(target) else float(target),
        "reconstructed": None if not np.isfinite(rec) else float(rec),
        "from": lo,
        "to": hi,
        "tolerance": float(tol),
        "ok": bool(ok),
        "text": text,
    }
