"""The numbers-at-risk table printed under a Kaplan-Meier plot, read by OCR.

Cells are the numbers below the x tick labels; each belongs to the column of the time tick it
stands under, ``t = x(col)`` snapped to the nearest tick (or to half a tick step where the
table is printed between ticks), and to the row of cells at its height. A cell printed as
``216 (12)`` gives 216 at risk (the count in parentheses, censored, is kept apart). The words
left of a row's first cell are its label; where ink stands unread between them and the cell (the
thin pale "I" of "Stage I"), the label is read again, its ink made dark and enlarged, and a
last word read ``1`` beside sibling rows ending in Roman numerals is ``I``.

Rows are assigned to arms, in order of preference, by their label (fuzzy match with the arm
names of the legend), by the colour they are printed in (the arm's line colour), else by order
(row k is arm k). Every cell says how it was read: ``read`` (OCR, confident, fits the row),
``uncertain`` (low OCR confidence, a letter read as a digit, or a number that rises along its
row), ``missing`` (no number found at a column the other rows fill). :func:`check_against_curve`
compares a row with its arm's curve: between two printed times at most ``n_k - n_{k+1}``
patients leave the risk set, so the curve cannot fall by more than ``1 - n_{k+1}/n_k`` there
(the KM factor ``prod(1 - d_j/n_j)`` with every leaver an event), up to one patient's step.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from bayesurv.digitize.axes import Axes
from bayesurv.digitize.ocr import Word, line_text, parse_number, text_lines

PAREN = re.compile(r"^\((\d+)\)$")
GLUED = re.compile(r"^(\d+)\((\d+)\)$")
ROMAN = re.compile(r"^[IVX]+$")
MIN_SCORE = 0.9
"""OCR confidence below which a cell is called uncertain."""


@dataclass
class Cell:
    """One printed number at risk."""

    time: float
    at_risk: int | None
    text: str
    col: float
    row: float
    score: float
    status: str  # read, uncertain, missing
    censored: int | None = None
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def as_dict(self) -> dict:
        return {
            "time": self.time,
            "at_risk": self.at_risk,
            "text": self.text,
            "px": [round(self.col, 1), round(self.row, 1)],
            "ocr_score": round(self.score, 3),
            "status": self.status,
            **({"censored": self.censored} if self.censored is not None else {}),
        }


@dataclass
class Row:
    """One row of the table: its label as printed, the colour it is printed in, its cells."""

    label: str
    color: tuple[int, int, int] | None
    cells: list[Cell]
    row_px: float
    arm: str | None = None
    assigned_by: str = ""

    def frame(self) -> pd.DataFrame:
        cells = [c for c in self.cells if c.at_risk is not None]
        return pd.DataFrame(
            {"time": [c.time for c in cells], "at_risk": [int(c.at_risk) for c in cells]}
        )


@dataclass
class RiskTable:
    """The table as read: rows (in print order), the column times, and what was uncertain."""

    rows: list[Row]
    times: list[float]
    title: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """``time,at_risk,arm`` of every cell read (rows without an arm are left out)."""
        parts = [r.frame().assign(arm=r.arm) for r in self.rows if r.arm is not None]
        if not parts:
            return pd.DataFrame({"time": [], "at_risk": [], "arm": []})
        return pd.concat(parts, ignore_index=True)

    def for_arm(self, arm: str) -> pd.DataFrame | None:
        for r in self.rows:
            if r.arm == arm:
                return r.frame()
        return None

    def report(self) -> dict:
        cells = [c for r in self.rows for c in r.cells]
        return {
            "title": self.title,
            "times": self.times,
            "rows": [
                {
                    "label": r.label,
                    "arm": r.arm,
                    "assigned_by": r.assigned_by,
                    "color": None if r.color is None else "#{:02x}{:02x}{:02x}".format(*r.color),
                    "cells": [c.as_dict() for c in r.cells],
                }
                for r in self.rows
            ],
            "cells_read": sum(c.status == "read" for c in cells),
            "cells_uncertain": sum(c.status == "uncertain" for c in cells),
            "cells_missing": sum(c.status == "missing" for c in cells),
            "warnings": list(self.warnings),
        }


def _token_number(text: str) -> tuple[int | None, int | None, bool]:
    """(at risk, censored, lenient) of a table token; lenient = a letter was read as a digit."""
    body = text.strip().strip(",;:")
    m = GLUED.match(body)
    if m:
        return int(m.group(1)), int(m.group(2)), False
    m = PAREN.match(body)
    if m:
        return None, int(m.group(1)), False
    value = parse_number(body)
    lenient = False
    if value is None and ROMAN.match(body):  # "II", "IV": part of a row label, not a count
        return None, None, False
    if value is None:
        value = parse_number(body, lenient=True)
        lenient = value is not None
    if value is None or value < 0 or value != int(value) or "." in body:
        return None, None, False
    return int(value), None, lenient


def _ink_color(rgb: np.ndarray, box) -> tuple[int, int, int] | None:
    left, top, right, bottom = (int(round(v)) for v in box)
    part = rgb[max(top, 0) : bottom + 1, max(left, 0) : right + 1].reshape(-1, 3).astype(float)
    if part.size == 0:
        return None
    grey = part.mean(axis=1)
    ink = part[grey < np.quantile(grey, 0.25) + 1]
    if len(ink) == 0:
        return None
    return tuple(int(v) for v in np.median(ink, axis=0))


def _chroma(color) -> float:
    return float(max(color) - min(color)) if color is not None else 0.0


def read_risk_table(
    rgb: np.ndarray,
    words: list[Word],
    axes: Axes,
    arm_names: list[str] | None = None,
    arm_colors: list[tuple[int, int, int]] | None = None,
) -> RiskTable | None:
    """Read the numbers-at-risk table under the plot (None when there is none).

    Parameters
    ----------
    rgb
        The figure.
    words
        Every word read (:func:`bayesurv.digitize.ocr.read_figure_text`).
    axes
        The axes read (:func:`bayesurv.digitize.axes.read_axes`): the x calibration places
        each column at its time.
    arm_names, arm_colors
        The arms found on the curves and in the legend, in order, to assign rows to them.
    """
    ticks = sorted(t.value for t in axes.x.ticks if t.used)
    if len(ticks) < 2:
        return None
    step = float(np.median(np.diff(ticks)))
    label_ids = {id(w) for w in axes.label_words}
    floor = max((w.bottom for w in axes.label_words if not w.vertical), default=axes.frame.bottom)
    floor = max(floor, axes.frame.bottom)
    below_all = [w for w in words if id(w) not in label_ids and w.top > floor - 1]
    below = [w for w in below_all if not w.vertical]
    # Columns from the first tick (a label's Roman numeral left of it is no cell) to the end.
    x_lo = min(ticks[0], float(axes.x.to_data(axes.frame.left))) - 0.3 * step
    x_hi = float(axes.x.to_data(axes.frame.right)) + 0.6 * step

    # Numeric tokens in the column of a time.
    cells = []
    for w in below:
        at_risk, censored, lenient = _token_number(w.text)
        if at_risk is None and censored is None:
            continue
        t = float(axes.x.to_data(w.cx))
        if not x_lo <= t <= x_hi:
            continue
        near = min(ticks, key=lambda v: abs(v - t))
        if abs(near - t) <= 0.3 * step:
            t_col = near
        else:
            t_col = float(np.round(t / (0.5 * step)) * 0.5 * step)
        cells.append((w, t_col, at_risk, censored, lenient))
    if not cells:
        return None

    # Rows: cells at the same height.
    cells.sort(key=lambda c: c[0].cy)
    groups: list[list] = []
    for c in cells:
        if groups and abs(np.median([g[0].cy for g in groups[-1]]) - c[0].cy) <= 0.5 * c[0].height:
            groups[-1].append(c)
        else:
            groups.append([c])
    n_cols = len({c[1] for c in cells})
    groups = [
        g for g in groups if len({c[1] for c in g if c[2] is not None}) >= max(2, n_cols // 3)
    ]
    if not groups:
        return None

    rows: list[Row] = []
    reread: set[int] = set()  # rows whose label the second reading made longer
    for g in groups:
        by_time: dict[float, Cell] = {}
        for w, t, at_risk, censored, lenient in sorted(g, key=lambda c: c[0].cx):
            if at_risk is None:  # "(12)" alone: the censored count of the cell before it
                if t in by_time and by_time[t].censored is None:
                    by_time[t].censored = censored
                else:
                    left_cells = [c for c in by_time.values() if c.col < w.cx]
                    if left_cells:
                        max(left_cells, key=lambda c: c.col).censored = censored
                continue
            status = "uncertain" if (lenient or w.score < MIN_SCORE) else "read"
            cell = Cell(
                t,
                at_risk,
                w.text,
                w.cx,
                w.cy,
                w.score,
                status,
                censored,
                (w.left, w.top, w.right, w.bottom),
            )
            if t in by_time:  # two numbers in one column: keep the one nearer the column
                old = by_time[t]
                if abs(axes.x.to_pixel(t) - old.col) <= abs(axes.x.to_pixel(t) - w.cx):
                    continue
            by_time[t] = cell
        row_cells = [by_time[t] for t in sorted(by_time)]
        row_y = float(np.median([c.row for c in row_cells]))
        height = float(np.median([c.box[3] - c.box[1] for c in row_cells]))
        first_left = min(c.box[0] for c in row_cells)
        # Labels: every word left of the first cell (short words such as "I" or "II" may
        # have come from the pass over turned text: they are read as they stand).
        label_words = [
            replace(w, vertical=False)
            for w in below_all
            if abs(w.cy - row_y) <= 0.6 * max(height, w.height) and w.right <= first_left + 1
        ]
        label = " ".join(line_text(ln) for ln in text_lines(label_words)) if label_words else ""
        if label_words and _unread_glyph(rgb, label_words, first_left):
            again = _reread_label(rgb, label_words, first_left, label)
            if again != label:
                reread.add(len(rows))
                label = again
        colors = [_ink_color(rgb, c.box) for c in row_cells[:6]]
        colors = [c for c in colors if c is not None]
        color = tuple(int(v) for v in np.median(np.array(colors), axis=0)) if colors else None
        rows.append(Row(label.strip(), color, row_cells, row_y))

    _roman_ones(rows, reread)
    times = sorted({c.time for r in rows for c in r.cells})
    warnings: list[str] = []
    for r in rows:
        _mark_row(r, times)
    title_words = [
        w for w in below if w.bottom <= rows[0].row_px and _token_number(w.text)[0] is None
    ]
    title_lines = text_lines(title_words)
    title = line_text(max(title_lines, key=lambda ln: ln[0].top)) if title_lines else ""
    table = RiskTable(rows, times, title, warnings)
    assign_rows(table, arm_names, arm_colors)
    return table


PALE_INK = 25.0
"""Chroma from which pale coloured ink (a pastel label, antialiased) is ink."""


def _ink(part: np.ndarray) -> np.ndarray:
    from bayesurv.digitize.frame import grey_levels

    grey, chroma = grey_levels(part.astype(float))
    return (grey < 200) | (chroma > PALE_INK)


def _unread_glyph(rgb: np.ndarray, label_words: list[Word], first_left: float) -> bool:
    """Ink between a row label's last word and the row's first cell that OCR left unread: a
    glyph (ink within the words' rows, none just above or below them, so no table rule), as
    the thin pale "I" of "Stage I"."""
    top = int(np.floor(min(w.top for w in label_words)))
    bottom = int(np.ceil(max(w.bottom for w in label_words)))
    c0 = int(np.ceil(max(w.right for w in label_words))) + 1
    c1 = int(np.floor(first_left)) - 1
    if c1 - c0 < 2 or top < 3 or bottom + 4 > rgb.shape[0]:
        return False
    inside = _ink(rgb[top : bottom + 1, c0:c1])
    edges = _ink(np.concatenate([rgb[top - 3 : top, c0:c1], rgb[bottom + 1 : bottom + 4, c0:c1]]))
    glyph_cols = inside.any(axis=0) & ~edges.any(axis=0)
    rows = inside[:, glyph_cols].any(axis=1)
    return bool(glyph_cols.any() and rows.sum() >= 0.25 * (bottom - top))


def _reread_label(rgb: np.ndarray, label_words: list[Word], first_left: float, label: str) -> str:
    """The label read again where ink was left unread after it: its box up to the first cell,
    its ink made dark (a pastel label read as dark text) and enlarged twice. Taken when it
    reads the same words and more, each added word letters or digits; else the label stays as
    it was."""
    from bayesurv.digitize.frame import grey_levels
    from bayesurv.digitize.ocr import read_words

    top = max(int(np.floor(min(w.top for w in label_words))) - 4, 0)
    bottom = min(int(np.ceil(max(w.bottom for w in label_words))) + 4, rgb.shape[0])
    left = max(int(np.floor(min(w.left for w in label_words))) - 8, 0)
    right = int(np.floor(first_left)) - 1
    part = rgb[top:bottom, left:right]
    if part.size == 0:
        return label
    # Ink = darkness or colour, whichever is more, scaled so the strongest ink is black; the
    # antialiased edges stay grey (a black-and-white cut loses the thin glyphs' shape).
    grey, chroma = grey_levels(part.astype(float))
    ink = np.maximum(255.0 - grey, chroma)
    ink = np.clip(ink / max(float(np.quantile(ink, 0.99)), 1.0), 0.0, 1.0)
    dark = (255.0 * (1.0 - ink)).astype(np.uint8)[..., None].repeat(3, axis=2)
    words = read_words(np.ascontiguousarray(dark), upscale=2.0)
    again = " ".join(line_text(ln) for ln in text_lines(words)).split()
    old = label.split()
    added = again[len(old) :]
    if again[: len(old)] != old or not added:
        return label
    if not all(re.fullmatch(r"[A-Za-z0-9+]+", t) for t in added):
        return label
    return " ".join(old + added)


_ONE = {"1", "l", "|", "i"}


def _roman_ones(rows: list[Row], reread: set[int]) -> None:
    """The last word of a label the second reading made longer (rows ``reread``) is ``I``
    where OCR read it as ``1``/``l`` and another row's label is the same words ending in a
    Roman numeral (``Stage II``)."""
    for k in sorted(reread):
        words = rows[k].label.split()
        if words[-1] not in _ONE:
            continue
        siblings = [q.label.split() for j, q in enumerate(rows) if j != k]
        if any(q[:-1] == words[:-1] and ROMAN.match(q[-1]) for q in siblings if q):
            words[-1] = "I"
            rows[k].label = " ".join(words)


def _mark_row(row: Row, times: list[float]) -> None:
    """Cells that break a non-increasing row become uncertain; columns without a cell in
    this row (but filled in another) are added as missing."""
    present = {c.time for c in row.cells}
    for t in times:
        if t not in present and min(present) < t < max(present):
            x = np.interp(t, [c.time for c in row.cells], [c.col for c in row.cells])
            row.cells.append(Cell(t, None, "", float(x), row.row_px, 0.0, "missing"))
    row.cells.sort(key=lambda c: c.time)
    values = [(k, c.at_risk) for k, c in enumerate(row.cells) if c.at_risk is not None]
    for (k0, v0), (k1, v1) in zip(values[:-1], values[1:], strict=True):
        if v1 > v0:
            # The rise is the fault of whichever cell also breaks its other neighbour.
            prev = next((v for k, v in reversed(values) if k < k0), None)
            blame = k0 if prev is not None and v0 > prev else k1
            row.cells[blame].status = "uncertain"


def assign_rows(
    table: RiskTable,
    arm_names: list[str] | None,
    arm_colors: list[tuple[int, int, int]] | None = None,
) -> None:
    """Name each row's arm: by label, else colour, else order (see the module docstring)."""
    rows = table.rows
    for r in rows:
        r.arm, r.assigned_by = None, ""
    if not arm_names:
        for k, r in enumerate(rows):
            r.arm = r.label or f"arm{k + 1}"
            r.assigned_by = "row label" if r.label else "order"
        return
    free = list(range(len(arm_names)))
    # By label: the same text, else a clear best fuzzy match ("Stage" fits "Stage II" and
    # "Stage III" alike, so it decides nothing).
    scores = []
    for i, r in enumerate(rows):
        if not r.label:
            continue
        ratios = [
            difflib.SequenceMatcher(None, _norm(r.label), _norm(name)).ratio() for name in arm_names
        ]
        ranked = sorted(ratios, reverse=True)
        margin = ranked[0] - (ranked[1] if len(ranked) > 1 else 0.0)
        for j, ratio in enumerate(ratios):
            if ratio == 1.0 or (ratio >= 0.6 and ratio == ranked[0] and margin >= 0.1):
                scores.append((ratio, i, j))
    for _, i, j in sorted(scores, reverse=True):
        if rows[i].arm is not None or j not in free:
            continue
        rows[i].arm, rows[i].assigned_by = arm_names[j], "row label"
        free.remove(j)
    # A label read short ("Stage" for "Stage I", its last word lost): the one free arm whose
    # name starts with the label's words. Several such arms decide nothing.
    for r in rows:
        if r.arm is not None or not r.label.split():
            continue
        words = r.label.split()
        starts = [j for j in free if arm_names[j].split()[: len(words)] == words]
        others = [q for q in rows if q is not r and q.arm is None and q.label.split() == words]
        if len(starts) == 1 and not others:
            r.arm, r.assigned_by = arm_names[starts[0]], "row label (first words)"
            free.remove(starts[0])
    # By colour.
    if arm_colors is not None and len(arm_colors) == len(arm_names):
        pairs = []
        for i, r in enumerate(rows):
            if r.arm is not None or _chroma(r.color) < 60:
                continue
            for j in free:
                d = float(np.abs(np.subtract(r.color, arm_colors[j], dtype=float)).sum())
                pairs.append((d, i, j))
        for d, i, j in sorted(pairs):
            if d > 150 or rows[i].arm is not None or j not in free:
                continue
            rows[i].arm, rows[i].assigned_by = arm_names[j], "colour"
            free.remove(j)
    # By order.
    for r in rows:
        if r.arm is None and free:
            r.arm, r.assigned_by = arm_names[free.pop(0)], "order"
    extra = [r for r in rows if r.arm is None]
    if extra:
        table.warnings.append(
            f"{len(extra)} table row(s) match no curve ({', '.join(r.label or '?' for r in extra)})"
            "; left out."
        )


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9+]", "", text.lower())


def check_against_curve(row: Row, times: np.ndarray, survival: np.ndarray) -> list[str]:
    """Where the curve falls faster than the table allows (see the module docstring).

    ``times``/``survival`` are the arm's step curve as read. Returns one sentence per interval
    that disagrees; the cells at both ends are marked uncertain.
    """
    from bayesurv.nonparametric import step_value

    out = []
    cells = [c for c in row.cells if c.at_risk is not None]
    for a, b in zip(cells[:-1], cells[1:], strict=True):
        if a.at_risk <= 0 or b.time > times[-1]:
            continue
        s_a, s_b = step_value(times, survival, [a.time, b.time])
        if s_a <= 0:
            continue
        fall = 1.0 - s_b / s_a
        allowed = 1.0 - b.at_risk / a.at_risk
        if fall > allowed + 1.5 / a.at_risk + 0.02:
            out.append(
                f"{row.arm}: between t = {a.time:g} and {b.time:g} the curve falls by "
                f"{fall:.0%} but the table ({a.at_risk} -> {b.at_risk} at risk) allows at most "
                f"{allowed:.0%}"
            )
            for c in (a, b):
                if c.status == "read":
                    c.status = "uncertain"
    return out
