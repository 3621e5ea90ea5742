"""Full pipeline: figure -> digitize -> reconstruct (with the true numbers at risk) -> Cox HR.

Real IPD (lifelines.datasets), arms of 100+ patients. The hazard ratio of the second arm versus
the first from a Cox model (lifelines CoxPHFitter) of the reconstructed IPD must be within 3% of
the same model fitted to the original IPD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, datasets

from bayesurv.digitize import digitize_file
from bayesurv.digitize.testing import render_km_figure
from bayesurv.reconstruct import reconstruct

BLUE, RED = (31, 119, 180), (214, 39, 40)

CASES = {
    # name: (loader, split by, time, event, x range, NAR every, figure options, colours)
    "gbsg2_horth": (datasets.load_gbsg2, "horTh", "time", "cens", (0, 2800), 250, {}, None),
    "gbsg2_menostat_crossing_ticks": (
        datasets.load_gbsg2,
        "menostat",
        "time",
        "cens",
        (0, 2800),
        250,
        {"censor_marker": "|", "grid": True},
        None,
    ),
    "rossi_fin": (datasets.load_rossi, "fin", "week", "arrest", (0, 60), 10, {}, None),
    "gbsg2_greyscale_dashed": (
        datasets.load_gbsg2,
        "horTh",
        "time",
        "cens",
        (0, 2800),
        250,
        {"colors": ("black", "0.5"), "linestyles": ("-", "--")},
        [(0, 0, 0), (128, 128, 128)],
    ),
}


def _cox_hr(arms):
    frames = [pd.DataFrame({"time": t, "event": e, "arm": k}) for k, (t, e) in enumerate(arms)]
    fit = CoxPHFitter().fit(pd.concat(frames, ignore_index=True), "time", "event")
    return float(np.exp(fit.params_["arm"]))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_cox_hr_from_digitized_and_reconstructed_ipd(name, tmp_path):
    load, by, time_col, event_col, x_range, every, options, colors = CASES[name]
    df = load()
    arms = [(g[time_col].to_numpy(float), g[event_col].to_numpy(int)) for _, g in df.groupby(by)]
    path = tmp_path / f"{name}.png"
    render_km_figure(path, arms, x_range, **options)
    result = digitize_file(path, x_range, (0, 1), colors=colors or [BLUE, RED])
    rebuilt = []
    for k, (time, _) in enumerate(arms):
        nar_times = np.arange(0.0, time.max(), every)
        nar = pd.DataFrame({"time": nar_times, "at_risk": [(time >= t).sum() for t in nar_times]})
        ipd = reconstruct(result.curves[f"arm{k + 1}"], nar).ipd
        assert len(ipd) == len(time)
        rebuilt.append((ipd["time"].to_numpy(float), ipd["event"].to_numpy(int)))
    true_hr, rebuilt_hr = _cox_hr(arms), _cox_hr(rebuilt)
    assert abs(rebuilt_hr / true_hr - 1) <= 0.03, (name, true_hr, rebuilt_hr)
