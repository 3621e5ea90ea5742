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
                f"(mean {c['mean_abs_diff']:.4f}) - {c['verdict']}"
            )
        return "\n".join(lines)


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
    warnings = list(digitized.report.get("warnings", []))
    y_span = abs(digitized.axes.y.slope) * READING_PX if digitized.axes is not None else 0.01
    full = 100.0 if digitized.report["y_axis"]["unit"] == "percent" else 1.0
    reading_error = float(y_span / full)
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
        warnings += [f"{arm}: {w}" for w in rec.report.get("warnings", [])]
        if confidence[arm]["verdict"] != "reconstruction matches the curve read":
            warnings.append(f"{arm}: {confidence[arm]['verdict']}")
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
    }
    return out
