"""Accuracy of IPD reconstruction on real trial data with known truth: bayesurv vs Guyot (2012).

For each data set (real IPD shipped by lifelines), click style and method, every arm's KM is
turned into emulated digitizer clicks (1 px Gaussian noise in both axes on a 600 x 400 px plot;
see bayesurv.emulate), the numbers-at-risk table is printed as a journal would, the arm is
reconstructed, and the result is compared with the truth. Each cell is the mean (and worst) over
``--reps`` seeds. Windows: [0, t*], t* = last time with >= 10% of the arm (and >= 10 patients)
at risk; "(25%)" while a quarter of the arm is at risk; "(all)" over all follow-up.
Run: ``.venv/bin/python benchmarks/reconstruction_accuracy.py [--reps 10]``.

``--styles``: curves read off the 15 generator styles (bayesurv.digitize.styles, real IPD) with
the true calibration, mean |S_read - S_true| per arm, and the Cox HR error of the reconstruction
with the printed table or n only, with and without the censor marks read. ``--real DIR``: the
real published figures in DIR (../shared/figures), read with no option and reconstructed with
their published numbers at risk: HR against the published one in CI half-widths, and medians.
"""

from __future__ import annotations

import argparse
import time as _time

import numpy as np
import pandas as pd
from lifelines.datasets import load_gbsg2, load_leukemia, load_lung, load_rossi

from bayesurv.emulate import round_trip


def datasets():
    g, r, lung, leuk = load_gbsg2(), load_rossi(), load_lung(), load_leukemia()
    return {
        # name: (time, event, group, NAR every, arm sizes)
        "GBSG-2 hormone therapy (months)": (
            g["time"] / 30.4375,
            g["cens"],
            (g["horTh"] == "yes").astype(int),
            12,
        ),
        "Rossi financial aid (weeks)": (r["week"], r["arrest"], r["fin"], 10),
        "NCCTG lung by sex (months)": (
            lung["time"] / 30.4375,
            lung["status"],
            (lung["sex"] == 2).astype(int),
            6,
        ),
        "Freireich 6-MP leukaemia (weeks; small arms)": (leuk["t"], leuk["status"], leuk["Rx"], 5),
    }


def main(reps: int, out: str | None) -> pd.DataFrame:
    rows = []
    t0 = _time.perf_counter()
    for name, (t, e, grp, every) in datasets().items():
        for style in ("corners", "auto", "sparse"):
            for total in (True, False):
                for method in ("guyot", "bayesurv"):
                    res = [
                        round_trip(
                            t,
                            e,
                            grp,
                            nar_every=every,
                            style=style,
                            method=method,
                            with_total_events=total,
                            seed=s,
                        )
                        for s in range(reps)
                    ]
                    arms = [a for x in res for a in x["arms"].values()]
                    rows.append(
                        {
                            "data": name,
                            "clicks": style,
                            "total events": "given" if total else "not given",
                            "method": method,
                            "mean|dS|": np.mean([a["mean_abs"] for a in arms]),
                            "max|dS| (25%)": np.mean([a["max_abs_25"] for a in arms]),
                            "max|dS| (t*)": np.mean([a["max_abs"] for a in arms]),
                            "worst max|dS| (t*)": np.max([a["max_abs"] for a in arms]),
                            "max|dS| (all)": np.mean([a["max_abs_full"] for a in arms]),
                            "RMST err %": 100 * np.mean([abs(a["rmst_rel"]) for a in arms]),
                            "|log HR ratio|": np.mean([abs(x["log_hr_ratio"]) for x in res]),
                            "worst |log HR ratio|": np.max([abs(x["log_hr_ratio"]) for x in res]),
                            "events exact %": 100
                            * np.mean([a["events"][0] == a["events"][1] for a in arms]),
                            "N exact %": 100 * np.mean([a["n"][0] == a["n"][1] for a in arms]),
                        }
                    )
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    piv = df.pivot_table(
        index=["clicks", "total events"],
        columns="method",
        values=["mean|dS|", "RMST err %", "|log HR ratio|"],
        aggfunc="mean",
    )
    print(
        "\nAveraged over data sets "
        "(ratio bayesurv / guyot < 1 means bayesurv is closer to the truth):"
    )
    for metric in ("mean|dS|", "RMST err %", "|log HR ratio|"):
        ratio = piv[(metric, "bayesurv")] / piv[(metric, "guyot")]
        print(f"  {metric:15s} " + "  ".join(f"{k[0]}/{k[1]}: {v:.2f}" for k, v in ratio.items()))
    print(f"\n{reps} seeds per cell, {_time.perf_counter() - t0:.0f} s")
    if out:
        df.to_csv(out, index=False)
    return df


# --------------------------------------------------------------------------------------------
# curves read off figures: the generator's styles (true calibration) and the real figures
# --------------------------------------------------------------------------------------------
def _read_style(name):
    """Each true arm -> its trace, reading a generator figure with its true calibration."""
    from bayesurv.digitize.arms import plot_box, separate_arms
    from bayesurv.digitize.censor import mark_ink
    from bayesurv.digitize.frame import AxisMap, Frame
    from bayesurv.digitize.styles import STYLES, render_style
    from bayesurv.digitize.trace import trace_arm

    fig = render_style(name)
    truth = fig.truth
    left, top, right, bottom = truth.plot_px
    frame = Frame(left, right, top, bottom, boxed=STYLES[name].box)
    x_map = AxisMap(left, truth.x_range[0], right, truth.x_range[1])
    y_map = AxisMap(bottom, truth.y_range[0], top, truth.y_range[1])
    t0 = _time.perf_counter()
    arms = separate_arms(fig.image, frame, n_arms=len(truth.arms))
    ink = mark_ink(fig.image, plot_box(frame, fig.image.shape[:2]), [a.mask for a in arms])
    scale = 100.0 if truth.scale == "percent" else 1.0
    traces = []
    for k, arm in enumerate(arms):
        others = np.logical_or.reduce([a.mask for j, a in enumerate(arms) if j != k])
        trace = trace_arm(
            arm.mask,
            frame,
            x_map,
            y_map,
            others=others,
            dashed=arm.style != "solid",
            rising=truth.kind == "cumulative_incidence",
            marks_ink=ink,
        )
        curve = trace.curve.assign(survival=trace.curve["survival"] / scale)
        traces.append((curve, trace.censor["time"].to_numpy(), trace))
    seconds = _time.perf_counter() - t0
    matched = {}
    for arm_name in truth.arms:
        t_max = truth.ipd.loc[truth.ipd["arm"] == arm_name, "time"].max()
        grid = np.linspace(0.0, min(t_max, truth.x_range[1]), 3000)

        def err(curve, grid=grid, arm_name=arm_name):
            i = np.clip(np.searchsorted(curve["time"].to_numpy(), grid, side="right") - 1, 0, None)
            return float(
                np.abs(curve["survival"].to_numpy()[i] - truth.survival_at(arm_name, grid)).mean()
            )

        best = min(traces, key=lambda tr: err(tr[0]))
        matched[arm_name] = (*best, err(best[0]))
    return truth, matched, seconds


def styles_table() -> pd.DataFrame:
    """Per generator style: mean |S_read - S_true| (mean and worst arm), and the Cox HR error
    of the reconstruction with the printed table and without (n only), with and without the
    censor marks read."""
    from bayesurv.digitize.styles import STYLES
    from bayesurv.nonparametric import cox_hazard_ratio
    from bayesurv.reconstruct import reconstruct

    rows = []
    for name in STYLES:
        truth, matched, seconds = _read_style(name)
        errors = [m[3] for m in matched.values()]
        row = {
            "style": name,
            "mean|dS|": np.mean(errors),
            "worst arm |dS|": np.max(errors),
            "read s": seconds,
        }
        ipd = truth.ipd[truth.ipd["arm"].isin(truth.arms[:2])]
        hr0 = cox_hazard_ratio(
            ipd["time"], ipd["event"], (ipd["arm"] == truth.arms[1]).astype(int)
        )["hr"]
        for table in (True, False):
            for marks in (False, True):
                parts = []
                for g, arm in enumerate(truth.arms[:2]):
                    curve, times, _, _ = matched[arm]
                    nar = truth.nar.loc[truth.nar["arm"] == arm, ["time", "at_risk"]]
                    n = int((truth.ipd["arm"] == arm).sum())
                    rec = reconstruct(
                        curve,
                        nar if table else None,
                        n=None if table else n,
                        censor_times=times if marks and len(times) else None,
                    )
                    parts.append(rec.ipd.assign(group=g))
                rec_ipd = pd.concat(parts)
                hr = cox_hazard_ratio(rec_ipd["time"], rec_ipd["event"], rec_ipd["group"])["hr"]
                key = ("table" if table else "n only") + (", marks" if marks else "")
                row[f"HR err % ({key})"] = 100 * abs(np.log(hr / hr0))
        rows.append(row)
    return pd.DataFrame(rows)


REAL = [
    # case folder, figure file, panel in truth.json (None: the whole file)
    ("confirm2010_pfs", "figure.png", None),
    ("impower150_os_tc123", "figure.png", None),
    ("javelin_gastric100_os", "figure_cps1.jpg", "CPS1"),
    ("keynote061_os_pembro_vs_paclitaxel", "figure_cps1.jpg", "CPS1"),
    ("keynote061_os_pembro_vs_paclitaxel", "figure_cps10.jpg", "CPS10"),
    ("sakk2108_os", "figure.jpg", None),
    ("stage_os_4arm_ci_bands", "figure.png", None),
]


def real_table(root) -> pd.DataFrame:
    """Per real figure (../shared/figures): the curves read with no option, reconstructed with
    the published numbers at risk (nar.csv) and the censor marks read; Cox HR against the
    published HR (in half-widths of its 95% CI, on the log scale) and medians. Arms are matched
    to the published ones by name, else by the number at risk at 0 read under the figure."""
    import json

    from bayesurv.digitize import digitize_file
    from bayesurv.nonparametric import cox_hazard_ratio, kaplan_meier, step_median
    from bayesurv.reconstruct import reconstruct

    rows = []
    for case, file, panel in REAL:
        truth = json.loads((root / case / "truth.json").read_text())
        info = truth["panels"][panel] if panel else truth
        nar = pd.read_csv(root / case / "nar.csv")
        if panel:
            nar = nar[nar["arm"].str.startswith(panel + ":")]
            nar = nar.assign(arm=nar["arm"].str.split(":").str[1])
        row = {"figure": case + (f" {panel}" if panel else "")}
        t0 = _time.perf_counter()
        try:
            dig = digitize_file(root / case / file)
        except Exception as exc:  # a figure the reader cannot handle: say what it said
            row["result"] = f"not read: {str(exc)[:120]}"
            rows.append(row)
            continue
        published = list(info["arms"])
        first_n = nar.groupby("arm")["at_risk"].first().to_dict()
        names = {}
        for arm in dig.curves:
            if arm in published:
                names[arm] = arm
                continue
            read = dig.at_risk(arm)
            n0 = None if read is None or read.empty else int(read["at_risk"].iloc[0])
            same = [p for p in published if first_n.get(p) == n0 and p not in names.values()]
            if same:
                names[arm] = same[0]
        parts, meds = [], {}
        for arm, pub in names.items():
            table = nar.loc[nar["arm"] == pub, ["time", "at_risk"]]
            marks = dig.censor_marks.loc[dig.censor_marks["arm"] == arm, "time"].to_numpy()
            rec = reconstruct(dig.curves[arm], table, censor_times=marks if len(marks) else None)
            parts.append(rec.ipd.assign(arm=pub))
            km = kaplan_meier(rec.ipd["time"], rec.ipd["event"])
            meds[pub] = step_median(km["time"], km["survival"])
        row["seconds"] = _time.perf_counter() - t0
        row["arms matched"] = f"{len(names)}/{len(published)}"
        hr = info.get("hr")
        if hr and len(published) == 2 and all(p in meds for p in published):
            ipd = pd.concat(parts)
            h = cox_hazard_ratio(
                ipd["time"], ipd["event"], (ipd["arm"] == published[0]).astype(int)
            )["hr"]
            row["HR read"] = h
            row["HR published"] = hr["value"]
            if hr.get("lower") and hr.get("upper"):
                half = (np.log(hr["upper"]) - np.log(hr["lower"])) / 2
                row["HR off (CI half-widths)"] = (np.log(h) - np.log(hr["value"])) / half
        row["medians read / published"] = "; ".join(
            f"{p}: {meds[p]:.1f} / {info['arms'][p].get('median', '-')}" for p in meds
        )
        rows.append(row)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--out", default=None, help="also write the table as CSV")
    ap.add_argument("--styles", action="store_true", help="curves read off the generator's styles")
    ap.add_argument(
        "--real", default=None, metavar="DIR", help="curves read off the real figures in DIR"
    )
    a = ap.parse_args()
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    if a.styles:
        print(styles_table().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if a.real:
        from pathlib import Path

        print(real_table(Path(a.real)).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if not (a.styles or a.real):
        main(a.reps, a.out)
