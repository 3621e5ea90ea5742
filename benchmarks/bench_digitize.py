"""Accuracy and speed of ``bayesurv digitize`` on figures drawn from real IPD.

For each style a Kaplan-Meier figure is drawn with matplotlib from lifelines' datasets, read back
with :func:`bayesurv.digitize.digitize_file`, and compared with the true Kaplan-Meier curve
(mean absolute difference on a 4,000-point grid within each arm's follow-up, both curves as
right-continuous step functions). With ``--hr`` the digitized curves also go through
:func:`bayesurv.reconstruct.reconstruct` with the true numbers at risk, and the Cox hazard ratio of
the reconstruction is compared with the one of the original IPD.

Run: ``python benchmarks/bench_digitize.py [--hr] [--dpi 100]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter, datasets
from matplotlib.colors import to_rgb

from bayesurv.digitize import digitize_file
from bayesurv.digitize.testing import render_km_figure

DATA = {
    "gbsg2/horTh": (datasets.load_gbsg2, "horTh", "time", "cens", (0, 2800), 250),
    "gbsg2/menostat": (datasets.load_gbsg2, "menostat", "time", "cens", (0, 2800), 250),
    "rossi/fin": (datasets.load_rossi, "fin", "week", "arrest", (0, 60), 10),
    "leukemia/Rx": (datasets.load_leukemia, "Rx", "t", "status", (0, 40), 5),
    "leukemia/sex": (datasets.load_leukemia, "sex", "t", "status", (0, 40), 5),
}
GREY = {"colors": ("black", "0.5"), "linestyles": ("-", "--")}
SAME = {"colors": ("black", "black"), "linestyles": ("-", "--")}
STYLES = [
    ("two colours, grid, legend", "gbsg2/horTh", {"grid": True, "legend": "lower left"}, "png"),
    ("censor ticks |", "gbsg2/horTh", {"censor_marker": "|"}, "png"),
    ("greyscale, grey dashed arm", "gbsg2/horTh", {**GREY, "censor_marker": "|"}, "png"),
    ("black solid vs black dashed", "gbsg2/horTh", {**SAME, "grid": True}, "png"),
    ("crossing, percent axis", "gbsg2/menostat", {"percent": True, "grid": True}, "png"),
    ("censor ticks +, y to 1.05", "rossi/fin", {"censor_marker": "+", "y_range": (0, 1.05)}, "png"),
    ("small arms, ticks, grid", "leukemia/Rx", {"censor_marker": "|", "grid": True}, "png"),
    ("small arms crossing", "leukemia/sex", {"linewidth": 2.0}, "png"),
    ("JPEG", "gbsg2/horTh", {"grid": True}, "jpg"),
    ("PDF page", "rossi/fin", {"grid": True}, "pdf"),
]


def _arms(key):
    load, by, time_col, event_col, x_range, every = DATA[key]
    df = load()
    arms = [(g[time_col].to_numpy(float), g[event_col].to_numpy(int)) for _, g in df.groupby(by)]
    return arms, x_range, every


def _step_at(curve, grid):
    index = np.searchsorted(curve["time"].to_numpy(), grid, side="right") - 1
    return curve["survival"].to_numpy()[np.clip(index, 0, None)]


def _match(result, color, linestyle):
    target = np.array(to_rgb(color))
    style = "solid" if linestyle == "-" else "dashed"
    return min(
        result.colors,
        key=lambda n: (
            np.abs(np.array(to_rgb(result.colors[n])) - target).sum()
            + (0.0 if result.styles[n] == style else 0.01)
        ),
    )


def _cox_hr(arms):
    frames = [pd.DataFrame({"time": t, "event": e, "arm": k}) for k, (t, e) in enumerate(arms)]
    fit = CoxPHFitter().fit(pd.concat(frames, ignore_index=True), "time", "event")
    return float(np.exp(fit.params_["arm"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hr", action="store_true", help="also digitize -> reconstruct -> Cox HR")
    parser.add_argument("--dpi", type=int, default=100)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, key, options, suffix in STYLES:
            arms, x_range, every = _arms(key)
            options = dict(options)
            y_range = options.pop("y_range", (0, 100) if options.get("percent") else (0, 1))
            colors = options.setdefault("colors", ("#1f77b4", "#d62728"))
            styles = options.setdefault("linestyles", ("-", "-"))
            path = Path(tmp) / f"figure.{suffix}"
            render_km_figure(path, arms, x_range, y_range, dpi=args.dpi, **options)
            start = time.perf_counter()
            result = digitize_file(path, x_range, y_range, n_arms=len(arms))
            seconds = time.perf_counter() - start
            maes, rebuilt = [], []
            for (t, e), color, style in zip(arms, colors, styles, strict=True):
                arm = _match(result, color, style)
                grid = np.linspace(0, t.max(), 4000)
                truth = KaplanMeierFitter().fit(t, e).survival_function_at_times(grid).to_numpy()
                maes.append(float(np.abs(_step_at(result.curves[arm], grid) - truth).mean()))
                if args.hr:
                    from bayesurv.reconstruct import reconstruct

                    nar_t = np.arange(0.0, t.max(), every)
                    nar = pd.DataFrame({"time": nar_t, "at_risk": [(t >= x).sum() for x in nar_t]})
                    ipd = reconstruct(result.curves[arm], nar).ipd
                    rebuilt.append((ipd["time"].to_numpy(float), ipd["event"].to_numpy(int)))
            row = {
                "style": name,
                "data": key,
                "n": "/".join(str(len(t)) for t, _ in arms),
                "mae_arm1": round(maes[0], 4),
                "mae_arm2": round(maes[1], 4),
                "seconds": round(seconds, 2),
            }
            if args.hr:
                true_hr, hr = _cox_hr(arms), _cox_hr(rebuilt)
                row.update(
                    hr_true=round(true_hr, 4),
                    hr=round(hr, 4),
                    hr_err_pct=round(100 * (hr / true_hr - 1), 2),
                )
            rows.append(row)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
