"""Fully automatic figure -> IPD on journal-style figures with known truth and on real figures.

Part 1, the generated styles (:mod:`bayesurv.digitize.styles`: real lifelines IPD drawn as NEJM,
Lancet, JCO, survminer, R, SAS, Stata, bands, cumulative incidence, 3-4 arms, slide, small JPEG,
each with its numbers-at-risk table). Each figure goes through
:func:`bayesurv.reconstruct_figure` with no option at all, and is compared with its truth:

* mean |S_read - S_true| per arm (the curve read against the true KM, on 2,000 points within the
  arm's follow-up; goal <= 0.01, the worst arm reported too);
* the share of numbers-at-risk cells read exactly (goal >= 98%);
* the Cox HR (Efron) of the reconstructed IPD against the HR of the true IPD, second arm vs
  first (goal within 2%; with 3-4 arms the worst arm against the first);
* seconds per figure (wall and CPU: the CPU seconds of this process, all its threads, move
  less with the load of a shared machine), with a fixed NumPy workload timed in the same run as
  the baseline (goal: two arms in under 5 s on 2 cores).

Part 2, the real published figures in ``../shared/figures`` (used in place, never copied): the
HR of the automatic reconstruction in published-CI half-widths on the log scale,
``|log HR_rec - log HR_pub| / ((log upper - log lower) / 2)`` (aim <= 0.25), the medians and the
numbers at risk read against the published ones.

Run: ``python benchmarks/digitize_real_styles.py [--styles a,b] [--no-real]``; the table is
also written to ``benchmarks/output/digitize_real_styles.txt`` (a run of some styles or with
``--no-real`` to ``digitize_real_styles.partial.txt``), keeping the notes (lines that start with
``#``) of the file it replaces.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from bayesurv import reconstruct_figure
from bayesurv.digitize.styles import STYLES, render_style
from bayesurv.nonparametric import cox_hazard_ratio, kaplan_meier, step_median

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "figures"
OUT = Path(__file__).resolve().parent / "output" / "digitize_real_styles.txt"


def baseline_seconds() -> float:
    """A fixed NumPy workload: 30 products of 400 x 400 matrices (seeded)."""
    rng = np.random.default_rng(0)
    a = rng.random((400, 400))
    t0 = time.perf_counter()
    for _ in range(30):
        a = a @ a
        a /= np.abs(a).max()
    return time.perf_counter() - t0


def _mae(curve, truth, arm, t_max) -> float:
    grid = np.linspace(0.0, t_max, 2000)
    t = curve["time"].to_numpy()
    idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, None)
    return float(np.abs(curve["survival"].to_numpy()[idx] - truth.survival_at(arm, grid)).mean())


def _hr(ipd, a, b) -> float:
    sub = ipd[ipd["arm"].isin([a, b])]
    return cox_hazard_ratio(sub["time"], sub["event"], (sub["arm"] == b).astype(int))["hr"]


def run_style(name: str, folder: Path) -> dict:
    style = STYLES[name]
    path = folder / f"{name}.{style.fmt}"
    fig = render_style(name, path)
    truth = fig.truth
    t0, c0 = time.perf_counter(), time.process_time()
    rec = reconstruct_figure(path)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    maes = {}
    for arm in truth.arms:
        if arm not in rec.digitized.curves:
            maes[arm] = float("nan")
            continue
        ipd = truth.ipd[truth.ipd["arm"] == arm]
        t_max = min(float(ipd["time"].max()), truth.x_range[1])
        maes[arm] = _mae(rec.digitized.curves[arm], truth, arm, t_max)
    got = rec.digitized.table.to_frame() if rec.digitized.table is not None else None
    exact = 0
    for _, row in truth.nar.iterrows():
        if got is None:
            break
        m = got[(got["arm"] == row["arm"]) & np.isclose(got["time"], row["time"])]
        exact += int(len(m) == 1 and int(m["at_risk"].iloc[0]) == int(row["at_risk"]))
    errors = []
    first = truth.arms[0]
    for other in truth.arms[1:]:
        if {first, other} <= set(rec.ipd["arm"]):
            true_hr = _hr(truth.ipd, first, other)
            errors.append(abs(_hr(rec.ipd, first, other) / true_hr - 1.0))
        else:
            errors.append(float("nan"))
    return {
        "style": name,
        "arms": len(truth.arms),
        "names_ok": sorted(rec.arms) == sorted(truth.arms),
        "mean_mae": float(np.nanmean(list(maes.values()))),
        "worst_mae": float(np.nanmax(list(maes.values()))),
        "nar_exact": exact / len(truth.nar),
        "hr_err": errors[0],
        "hr_err_worst": float(np.nanmax(errors)),
        "seconds": seconds,
        "cpu": cpu,
        "warnings": len(rec.warnings),
    }


# --- real figures -----------------------------------------------------------------------------

REAL = [
    ("confirm2010_pfs", "figure.png", None),
    ("confirm2010_pfs", "figure_original_small.jpg", None),
    ("impower150_os_tc123", "figure.png", None),
    ("javelin_gastric100_os", "figure_cps1.jpg", "CPS1"),
    ("keynote061_os_pembro_vs_paclitaxel", "figure_cps1.jpg", "CPS1"),
    ("keynote061_os_pembro_vs_paclitaxel", "figure_cps10.jpg", "CPS10"),
    ("sakk2108_os", "figure.jpg", None),
    ("stage_os_4arm_ci_bands", "figure.png", None),
]


def _match(names_read: list[str], names_true: list[str]) -> dict[str, str]:
    """Read arm -> published arm, by the closest name (greedy on the similarity ratio)."""
    pairs = sorted(
        (
            (difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio(), a, b)
            for a in names_read
            for b in names_true
        ),
        reverse=True,
    )
    out, used = {}, set()
    for _, a, b in pairs:
        if a not in out and b not in used:
            out[a] = b
            used.add(b)
    return out


def run_real(case: str, file: str, panel: str | None) -> dict:
    folder = SHARED / case
    truth = json.loads((folder / "truth.json").read_text())
    info = truth["panels"][panel] if panel else truth
    arms_true = list(info["arms"])
    t0 = time.perf_counter()
    rec = reconstruct_figure(folder / file)
    seconds = time.perf_counter() - t0
    mapping = _match(rec.arms, arms_true)
    by_true = {b: a for a, b in mapping.items()}
    out = {"case": f"{case}/{file}", "seconds": seconds, "arms_read": rec.arms}
    hr = info.get("hr") or None
    if hr and len(arms_true) >= 2 and arms_true[0] in by_true and arms_true[1] in by_true:
        exp, ctl = by_true[arms_true[0]], by_true[arms_true[1]]
        value = _hr(rec.ipd, ctl, exp)
        out["hr"] = value
        out["hr_pub"] = hr["value"]
        if hr.get("lower") and hr.get("upper"):
            half = (np.log(hr["upper"]) - np.log(hr["lower"])) / 2
            out["hr_halfwidths"] = abs(np.log(value) - np.log(hr["value"])) / half
    medians = []
    for name, arm_info in info["arms"].items():
        if name in by_true and arm_info.get("median") is not None:
            ipd = rec.ipd[rec.ipd["arm"] == by_true[name]]
            km = kaplan_meier(ipd["time"], ipd["event"])
            medians.append((name, step_median(km["time"], km["survival"]), arm_info["median"]))
    out["medians"] = medians
    # Numbers at risk: read vs published.
    import pandas as pd

    pub = pd.read_csv(folder / "nar.csv")
    if panel:
        pub = pub[pub["arm"].str.startswith(panel + ":")].assign(
            arm=lambda d: d["arm"].str.split(":").str[1]
        )
    got = rec.digitized.table.to_frame() if rec.digitized.table is not None else None
    exact = total = 0
    for _, row in pub.iterrows():
        total += 1
        if got is None or row["arm"] not in by_true:
            continue
        m = got[(got["arm"] == by_true[row["arm"]]) & np.isclose(got["time"], row["time"])]
        exact += int(len(m) == 1 and int(m["at_risk"].iloc[0]) == int(row["at_risk"]))
    out["nar_exact"] = exact / total if total else float("nan")
    out["n"] = {
        name: (int((rec.ipd["arm"] == by_true[name]).sum()) if name in by_true else None, a["n"])
        for name, a in info["arms"].items()
        if "n" in a
    }
    out["warnings"] = rec.warnings
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--styles", default=None, help="comma-separated style names")
    parser.add_argument("--no-real", action="store_true")
    args = parser.parse_args()
    names = args.styles.split(",") if args.styles else list(STYLES)
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    load = os.getloadavg()[0]
    base = baseline_seconds()
    say(f"baseline (30 x 400^2 matmul): {base:.2f} s; load average {load:.2f} on 2 cores")
    say()
    say(
        f"{'style':13s} {'arms':>4s} {'names':>5s} {'mean|dS|':>9s} {'worst|dS|':>9s} "
        f"{'NAR exact':>9s} {'HR err':>7s} {'worst HR':>8s} {'s':>6s} {'s/base':>6s} "
        f"{'cpu s':>6s}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            try:
                r = run_style(name, Path(tmp))
            except Exception as exc:  # noqa: BLE001 - a benchmark reports every failure
                say(f"{name:13s} FAILED: {type(exc).__name__}: {exc}".splitlines()[0][:200])
                traceback.print_exc()
                continue
            rows.append(r)
            say(
                f"{r['style']:13s} {r['arms']:4d} {('ok' if r['names_ok'] else 'NO'):>5s} "
                f"{r['mean_mae']:9.4f} {r['worst_mae']:9.4f} {r['nar_exact']:9.1%} "
                f"{r['hr_err']:7.2%} {r['hr_err_worst']:8.2%} {r['seconds']:6.1f} "
                f"{r['seconds'] / base:6.1f} {r['cpu']:6.1f}"
            )
    if rows:
        say(
            f"{'all':13s} {'':4s} {sum(r['names_ok'] for r in rows):3d}/{len(rows):<2d}"
            f"{np.mean([r['mean_mae'] for r in rows]):9.4f} "
            f"{np.max([r['worst_mae'] for r in rows]):9.4f} "
            f"{np.mean([r['nar_exact'] for r in rows]):9.1%} "
            f"{np.median([r['hr_err'] for r in rows]):7.2%} "
            f"{np.max([r['hr_err_worst'] for r in rows]):8.2%} "
            f"{np.median([r['seconds'] for r in rows]):6.1f} (median s; median cpu "
            f"{np.median([r['cpu'] for r in rows]):.1f} s)"
        )
    if not args.no_real and SHARED.is_dir():
        say()
        say("real figures (../shared/figures), fully automatic:")
        for case, file, panel in REAL:
            try:
                r = run_real(case, file, panel)
            except Exception as exc:  # noqa: BLE001
                say(f"  {case}/{file}: FAILED: {exc}".splitlines()[0][:240])
                continue
            hr = (
                f"HR {r['hr']:.3f} vs {r['hr_pub']:.2f}"
                + (f" ({r['hr_halfwidths']:.2f} CI half-widths)" if "hr_halfwidths" in r else "")
                if "hr" in r
                else "HR -"
            )
            med = ", ".join(f"{m[1]:.1f} vs {m[2]:.1f}" for m in r["medians"]) or "-"
            say(
                f"  {r['case']}: {hr}; medians {med}; NAR exact {r['nar_exact']:.0%}; "
                f"n {r['n']}; arms {r['arms_read']}; {r['seconds']:.1f} s; "
                f"{len(r['warnings'])} warnings"
            )
    write_table(lines, partial=bool(args.styles) or args.no_real)


def write_table(lines: list[str], partial: bool, out: Path = OUT) -> Path:
    """Write the run's table, keeping the notes of the file it replaces (its lines that start
    with ``#``, in order, after the table). A run of some styles or without the real figures
    goes to ``*.partial.txt`` beside it, so it never replaces the full table."""
    out.parent.mkdir(exist_ok=True)
    target = out.with_suffix(".partial.txt") if partial else out
    notes = []
    if target.exists():
        notes = [x for x in target.read_text().splitlines() if x.startswith("#")]
    target.write_text("\n".join(lines + ([""] + notes if notes else [])) + "\n")
    return target


if __name__ == "__main__":
    main()
