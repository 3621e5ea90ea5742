"""Accuracy of IPD reconstruction on real trial data with known truth: bayesurv vs Guyot (2012).

For each data set (real IPD shipped by lifelines), click style and method, every arm's KM is
turned into emulated digitizer clicks (1 px Gaussian noise in both axes on a 600 x 400 px plot;
see bayesurv.emulate), the numbers-at-risk table is printed as a journal would, the arm is
reconstructed, and the result is compared with the truth. Each cell is the mean (and worst) over
``--reps`` seeds. Windows: [0, t*], t* = last time with >= 10% of the arm (and >= 10 patients)
at risk; "(25%)" while a quarter of the arm is at risk; "(all)" over all follow-up. Run: ``.venv/bin/python benchmarks/reconstruction_accuracy.py [--reps 10]``.
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
            g["time"] / 30.4375, g["cens"], (g["horTh"] == "yes").astype(int), 12),
        "Rossi financial aid (weeks)": (r["week"], r["arrest"], r["fin"], 10),
        "NCCTG lung by sex (months)": (
            lung["time"] / 30.4375, lung["status"], (lung["sex"] == 2).astype(int), 6),
        "Freireich 6-MP leukaemia (weeks; small arms)": (
            leuk["t"], leuk["status"], leuk["Rx"], 5),
    }


def main(reps: int, out: str | None) -> pd.DataFrame:
    rows = []
    t0 = _time.perf_counter()
    for name, (t, e, grp, every) in datasets().items():
        for style in ("corners", "auto", "sparse"):
            for total in (True, False):
                for method in ("guyot", "bayesurv"):
                    res = [
                        round_trip(t, e, grp, nar_every=every, style=style, method=method,
                                   with_total_events=total, seed=s)
                        for s in range(reps)
                    ]
                    arms = [a for x in res for a in x["arms"].values()]
                    rows.append({
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
                        "events exact %": 100 * np.mean([a["events"][0] == a["events"][1] for a in arms]),
                        "N exact %": 100 * np.mean([a["n"][0] == a["n"][1] for a in arms]),
                    })
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    piv = df.pivot_table(index=["clicks", "total events"], columns="method",
                         values=["mean|dS|", "RMST err %", "|log HR ratio|"], aggfunc="mean")
    print("\nAveraged over data sets (ratio bayesurv / guyot < 1 means bayesurv is closer to the truth):")
    for metric in ("mean|dS|", "RMST err %", "|log HR ratio|"):
        ratio = piv[(metric, "bayesurv")] / piv[(metric, "guyot")]
        print(f"  {metric:15s} " + "  ".join(f"{k[0]}/{k[1]}: {v:.2f}" for k, v in ratio.items()))
    print(f"\n{reps} seeds per cell, {_time.perf_counter() - t0:.0f} s")
    if out:
        df.to_csv(out, index=False)
    return df


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--out", default=None, help="also write the table as CSV")
    a = ap.parse_args()
    main(a.reps, a.out)
