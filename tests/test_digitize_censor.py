"""Censor marks: found at the true censoring times, and kept out of the curve.

Leukemia (lifelines.datasets.load_leukemia) by sex: 11 distinct censoring times in two arms of
about 21, some at event times, where the tick sits on a drop.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
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


@pytest.mark.slow
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


# --------------------------------------------------------------------------------------------
# slanted ticks, ticks in another colour, dashed arms, and what the marks do for reconstruct
# --------------------------------------------------------------------------------------------
@functools.cache
def _read_style(name):
    """Arms and traces of a generator style, with the true frame and calibration."""
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
    arms = separate_arms(fig.image, frame, n_arms=len(truth.arms))
    ink = mark_ink(fig.image, plot_box(frame, fig.image.shape[:2]), [a.mask for a in arms])
    traces = {}
    scale = 100.0 if truth.scale == "percent" else 1.0
    for k, arm in enumerate(arms):
        others = np.logical_or.reduce([a.mask for j, a in enumerate(arms) if j != k])
        trace = trace_arm(
            arm.mask, frame, x_map, y_map, others=others, dashed=arm.style != "solid", marks_ink=ink
        )
        curve = trace.curve
        errors = {}
        for name_ in truth.arms:
            grid = np.linspace(0, truth.ipd.loc[truth.ipd["arm"] == name_, "time"].max(), 500)
            index = np.clip(np.searchsorted(curve["time"], grid, side="right") - 1, 0, None)
            read = curve["survival"].to_numpy()[index] / scale
            errors[name_] = np.abs(read - truth.survival_at(name_, grid)).mean()
        traces[min(errors, key=errors.get)] = (arm, trace)
    return fig, traces, x_map


def test_slanted_ticks_are_marks(tmp_path):
    # '/' ticks, as in the SAKK 21/08 figure; the old reader looked for vertical strokes only
    from matplotlib.path import Path

    df = datasets.load_leukemia()
    arms = [(g["t"].to_numpy(float), g["status"].to_numpy(int)) for _, g in df.groupby("sex")]
    slash = Path([(-0.4, -1.0), (0.4, 1.0)], [Path.MOVETO, Path.LINETO])
    path = tmp_path / "slash.png"
    render_km_figure(path, arms, X_RANGE, censor_marker=slash, censor_size=9.0)
    from bayesurv.digitize.arms import separate_arms
    from bayesurv.digitize.frame import calibrate, find_frame
    from bayesurv.digitize.image import load_image
    from bayesurv.digitize.trace import trace_arm

    rgb = load_image(path)
    frame = find_frame(rgb)
    x_map, y_map = calibrate(frame, X_RANGE, (0, 1))
    found_arms = separate_arms(rgb, frame, colors=[(31, 119, 180), (214, 39, 40)])
    px_time = (X_RANGE[1] - X_RANGE[0]) / frame.width
    found, total = 0, 0
    for k, (time, event) in enumerate(arms):
        other = found_arms[1 - k].mask
        trace = trace_arm(found_arms[k].mask, frame, x_map, y_map, others=other)
        marks = trace.censor["time"].to_numpy()
        truth = np.unique(time[event == 0])
        gaps = np.abs(marks[:, None] - truth[None, :])
        assert (gaps.min(axis=1) <= 3 * px_time).all(), k  # no false mark
        found += int((gaps.min(axis=0) <= 3 * px_time).sum())
        total += truth.size
    assert found / total >= 0.8


def test_black_ticks_on_coloured_curves_belong_to_their_curve():
    # JCO: black ticks on the gold and the blue dotted curve; the old reader found none (the
    # ticks are in no arm's colour)
    fig, traces, x_map = _read_style("jco")
    px_time = abs(x_map.val1 - x_map.val0) / abs(x_map.px1 - x_map.px0)
    for name, (_, trace) in traces.items():
        ipd = fig.truth.ipd[fig.truth.ipd["arm"] == name]
        truth = np.unique(ipd.loc[ipd["event"] == 0, "time"])
        marks = trace.censor["time"].to_numpy()
        gaps = np.abs(marks[:, None] - truth[None, :])
        assert marks.size >= 0.25 * truth.size, name
        assert (gaps.min(axis=1) <= 2 * px_time).mean() >= 0.95, name


def test_a_dashed_arm_without_censoring_has_no_marks():
    # R's plot.survfit: the placebo arm (dashed) has no censored patient; its dashed drops were
    # read as ticks before (8 false marks)
    _, traces, _ = _read_style("r_base")
    arm, trace = traces["Placebo"]
    assert arm.style == "dashed" and len(trace.censor) == 0
    assert len(traces["6-MP"][1].censor) == 11  # 11 distinct censoring times, all found


def test_read_marks_make_the_reconstructed_hr_closer():
    # JCO figure, curves and marks as read, the printed table: the marks place each interval's
    # censorings; Cox HR of the reconstruction vs the true IPD's (measured 1.1% -> 0.3%)
    from bayesurv.nonparametric import cox_hazard_ratio
    from bayesurv.reconstruct import reconstruct

    fig, traces, _ = _read_style("jco")
    truth = fig.truth
    hr0 = cox_hazard_ratio(
        truth.ipd["time"], truth.ipd["event"], (truth.ipd["arm"] == truth.arms[1]).astype(int)
    )["hr"]
    errors = {}
    for use in (False, True):
        parts = []
        for g, name in enumerate(truth.arms):
            trace = traces[name][1]
            nar = truth.nar.loc[truth.nar["arm"] == name, ["time", "at_risk"]]
            marks = trace.censor["time"].to_numpy() if use else None
            ipd = reconstruct(trace.curve, nar, censor_times=marks).ipd
            parts.append(ipd.assign(group=g))
        rec = pd.concat(parts)
        hr = cox_hazard_ratio(rec["time"], rec["event"], rec["group"])["hr"]
        errors[use] = abs(np.log(hr / hr0))
    assert errors[True] < 0.6 * errors[False], errors


def test_opening_by_shifts_equals_scipy_binary_opening():
    """censor._opening (the fast opening of strokes) gives scipy's binary_opening pixel for
    pixel: random masks of odd and even sizes, lines of every length and slant used."""
    from scipy import ndimage

    from bayesurv.digitize.censor import _line, _opening

    rng = np.random.default_rng(1)
    for trial in range(200):
        h, w = rng.integers(1, 60, 2)
        mask = rng.random((h, w)) < rng.uniform(0.3, 0.95)
        se = _line(int(rng.integers(1, 14)), [0.0, -30.0, -45.0, 30.0][trial % 4])
        assert np.array_equal(_opening(mask, se), ndimage.binary_opening(mask, structure=se))


# --------------------------------------------------------------------------------------------
# thin ticks: a 7-row tick on a 3-pixel line sticks out by 2 rows each way
# --------------------------------------------------------------------------------------------
def _step_with_ticks(bulge: bool, upper: float = 38.0, lower: float = 60.0):
    """A 3-pixel step line (level row 38, a drop at columns 60-62 to level row 60), 1-pixel
    ticks 7 rows tall at columns 30 (upper plateau) and 90 (lower plateau); with ``bulge`` the
    drop's ends stick out by one anti-aliased row past both lines."""
    from bayesurv.digitize.trace import _level_function

    mask = np.zeros((100, 120), bool)
    mask[37:40, :63] = True  # upper plateau, level 38
    mask[37:62, 60:63] = True  # the drop
    mask[59:62, 60:] = True  # lower plateau, level 60
    mask[35:42, 30] = True  # tick on the upper plateau
    mask[57:64, 90] = True  # tick on the lower plateau
    if bulge:
        mask[36, 60:63] = True
        mask[62, 60:63] = True
    cols = np.r_[np.arange(0, 60), np.arange(63, 120)].astype(float)
    rows = np.where(cols < 60, upper, lower)  # the levels as traced (fractional when smoothed)
    return mask, *_level_function(cols, rows, upper)


@pytest.mark.parametrize("levels", [(38.0, 60.0), (38.4, 59.6), (38.45, 59.55), (37.6, 60.4)])
@pytest.mark.parametrize("bulge", [False, True])
def test_short_ticks_on_a_thick_line_are_found_and_the_drop_is_not(bulge, levels):
    # the tick test asked 3 rows past a 3-pixel line's edge on one side: these ticks reach 2
    # rows past it on both sides, which no drop does (it ends at its two levels)
    from bayesurv.digitize.censor import find_censor_marks

    mask, level_at, next_level_at = _step_with_ticks(bulge, *levels)
    marks, ticks = find_censor_marks(mask, level_at, next_level_at, 3.0)
    assert [(round(c, 6), r) for c, r in marks] == [(30.0, levels[0]), (90.0, levels[1])]
    assert not ticks[:, 60:63].any()  # the drop stays in the curve


def test_four_arms_thin_ticks_are_found_at_censoring_times():
    # four_arms (larynx by stage, 1.8 pt lines read 3 pixels thick, 6 pt '|' ticks of 7 rows):
    # 10 of its 33 distinct censoring times were found, all in the one arm read 2 pixels thick;
    # now 26, none false
    fig, traces, x_map = _read_style("four_arms")
    truth = fig.truth
    px_time = abs(x_map.val1 - x_map.val0) / abs(x_map.px1 - x_map.px0)
    found, total = 0, 0
    for name, (_, trace) in traces.items():
        ipd = truth.ipd[truth.ipd["arm"] == name]
        censored = np.unique(ipd.loc[ipd["event"] == 0, "time"])
        censored = censored[censored <= truth.x_range[1]]
        marks = trace.censor["time"].to_numpy()
        total += censored.size
        if not marks.size:
            continue
        gaps = np.abs(marks[:, None] - censored[None, :])
        assert (gaps.min(axis=1) <= 2 * px_time).all(), name  # no false mark
        nearest = censored[gaps.argmin(axis=1)]
        np.testing.assert_allclose(
            trace.censor["survival"], truth.survival_at(name, nearest), atol=0.01
        )
        found += int((gaps.min(axis=0) <= 2 * px_time).sum())
    assert found >= 0.7 * total, (found, total)


def test_four_arms_drops_under_another_arm_are_read_once_at_their_time(tmp_path):
    """four_arms read as a user reads it (reconstruct_figure), Stage I: its drop at 4.0 years
    lies under Stage II's drop at the same time, and at 3.5 Stage II's line crosses the drop's
    stroke. The corner columns of a drop whose far end is hidden were read as plateau (4.0 read
    at 4.03), and follow_under split the stroke where other ink crossed it (3.5 read as 3.47 +
    3.52). Each is now one drop within half a pixel of its time."""
    from bayesurv import reconstruct_figure
    from bayesurv.digitize.styles import STYLES, render_style

    path = tmp_path / f"four_arms.{STYLES['four_arms'].fmt}"
    truth = render_style("four_arms", path).truth
    px_time = (truth.x_range[1] - truth.x_range[0]) / (truth.plot_px[2] - truth.plot_px[0])
    curve = reconstruct_figure(path).digitized.curves["Stage I"]
    t, s = curve["time"].to_numpy(), curve["survival"].to_numpy()
    drops = t[1:][np.diff(s) < -1e-9]
    for true in (3.5, 4.0):
        near = drops[np.abs(drops - true) <= 4 * px_time]
        assert near.size == 1, (true, near)
        assert abs(near[0] - true) <= 0.5 * px_time, (true, near)


def test_shaded_bands_where_they_overlap_give_no_censor_marks(tmp_path):
    """bands_shaded draws no censor marks. Where its two shaded bands overlap, the grey (~196)
    passed as mark ink, and a drop touching such a solid patch was read as a crowd of ticks: 12
    false marks (11 on hormone therapy at 6.6-8.6 years). Solid pale-grey patches are not ink."""
    from bayesurv import reconstruct_figure
    from bayesurv.digitize.styles import STYLES, render_style

    path = tmp_path / f"bands_shaded.{STYLES['bands_shaded'].fmt}"
    render_style("bands_shaded", path)
    assert not STYLES["bands_shaded"].censor_marker
    assert reconstruct_figure(path).digitized.censor_marks.empty
