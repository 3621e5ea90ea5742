"""Censor marks: found at the true censoring times, and kept out of the curve.

Leukemia (lifelines.datasets.load_leukemia) by sex: 11 distinct censoring times in two arms of
about 21, some at event times, where the tick sits on a drop.
"""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import datasets

from bayesurv.digitize import digitize_file
from bayesurv.digitize.testing import km_at, render_km_figure

X_RANGE = (0, 40)


@pytest.fixture(scope="module", params=["|", "+"])
def read(request, tmp_path_factory):
    df = datasets.load_leukemia()
    arms = [(g["t"].to_numpy(float), g["status"].to_numpy(int)) for _, g in df.groupby("sex")]
    path = tmp_path_factory.mktemp("censor") / "leukemia.png"
    render_km_figure(path, arms, X_RANGE, censor_marker=request.param, grid=True)
    return arms, digitize_file(path, X_RANGE, (0, 1), colors=[(31, 119, 180), (214, 39, 40)])


def test_marks_are_found_at_censoring_times(read):
    arms, result = read
    px_time = (X_RANGE[1] - X_RANGE[0]) / result.frame.width  # one pixel in time units
    found_all, true_all = 0, 0
    for name, (time, event) in zip(["arm1", "arm2"], arms, strict=True):
        marks = result.censor_marks[result.censor_marks["arm"] == name]
        truth = np.unique(time[event == 0])
        gaps = np.abs(marks["time"].to_numpy()[:, None] - truth[None, :])
        # Every mark read is at a true censoring time (within 2 pixels) and at the KM's level.
        assert (gaps.min(axis=1) <= 2 * px_time).all()
        nearest = truth[gaps.argmin(axis=1)]
        np.testing.assert_allclose(marks["survival"], km_at(time, event, nearest), atol=0.01)
        found_all += int((gaps.min(axis=0) <= 2 * px_time).sum())
        true_all += truth.size
    assert found_all / true_all >= 0.8


def test_marks_do_not_bend_the_curve(read):
    arms, result = read
    for name, (time, event) in zip(["arm1", "arm2"], arms, strict=True):
        curve = result.curves[name]
        grid = np.linspace(0, time.max(), 2000)
        index = np.clip(np.searchsorted(curve["time"], grid, side="right") - 1, 0, None)
        digitized = curve["survival"].to_numpy()[index]
        assert np.abs(digitized - km_at(time, event, grid)).mean() <= 0.005
