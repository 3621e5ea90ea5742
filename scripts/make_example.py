"""Build the shipped reconstruction example from real IPD (run once; output is committed).

GBSG-2 (German Breast Cancer Study Group 2; Schumacher et al., J Clin Oncol 1994;12:2086-93):
686 women with node-positive breast cancer, recurrence-free survival by hormonal therapy
(tamoxifen) yes/no. The IPD ship with lifelines (``lifelines.datasets.load_gbsg2``). The files
written here are EMULATED digitizer clicks of each arm's KM curve (bayesurv.emulate, seed 2026),
the numbers at risk a journal would print every 12 months, and each arm's total of events:
a realistic reconstruction exercise with known truth, not a digitization of a published figure.

    .venv/bin/python scripts/make_example.py
"""

from pathlib import Path

import numpy as np
from lifelines.datasets import load_gbsg2

from bayesurv.emulate import at_risk_table, emulate_clicks

OUT = Path(__file__).resolve().parent.parent / "data" / "examples" / "gbsg2"
HEADER = (
    "# EMULATED digitizer clicks, not a published figure: Kaplan-Meier curve of recurrence-free\n"
    "# survival (months) in GBSG-2 (Schumacher et al., J Clin Oncol 1994;12:2086-93), arm: {arm},\n"
    "# computed from the trial's IPD as shipped by lifelines (load_gbsg2), clicked at both "
    "corners\n"
    "# of each step with 1-pixel noise on a 600x400 px plot (bayesurv.emulate, seed {seed}).\n"
)


def main() -> None:
    d = load_gbsg2()
    d["months"] = d["time"] / 30.4375
    OUT.mkdir(parents=True, exist_ok=True)
    nar_rows, totals = [], []
    for k, (arm, flag) in enumerate((("tamoxifen", "yes"), ("no_tamoxifen", "no"))):
        a = d[d["horTh"] == flag]
        seed = 2026 + k
        clicks = emulate_clicks(a["months"], a["cens"], style="corners", x_max=96, seed=seed)
        with open(OUT / f"clicks_{arm}.csv", "w") as fh:
            fh.write(HEADER.format(arm=arm, seed=seed))
            clicks.round(5).to_csv(fh, index=False)
        nar = at_risk_table(a["months"], np.arange(0, 96, 12))
        nar = nar[nar["at_risk"] > 0]
        nar.insert(0, "arm", arm)
        nar_rows.append(nar)
        totals.append(f"{arm},{len(a)},{int(a['cens'].sum())}")
        print(arm, len(a), "patients,", int(a["cens"].sum()), "events")
    with open(OUT / "at_risk.csv", "w") as fh:
        fh.write(
            "# Numbers at risk every 12 months, as a journal prints them, from the same IPD.\n"
        )
        import pandas as pd

        pd.concat(nar_rows).to_csv(fh, index=False)
    from bayesurv.nonparametric import cox_hazard_ratio

    hr = cox_hazard_ratio(d["months"], d["cens"], (d["horTh"] == "yes").astype(int))
    with open(OUT / "truth.csv", "w") as fh:
        fh.write(
            "# The original IPD's Cox hazard ratio (Efron ties), tamoxifen vs none, "
            "for comparison.\n"
        )
        fh.write(
            f"quantity,value\nhr,{hr['hr']:.4f}\nlower,{hr['lower']:.4f}\nupper,{hr['upper']:.4f}\n"
        )
    with open(OUT / "events.csv", "w") as fh:
        fh.write("# Patients and total events (recurrence or death) per arm, from the same IPD.\n")
        fh.write("arm,n,total_events\n" + "\n".join(totals) + "\n")


if __name__ == "__main__":
    main()
