"""Curves read off the figure: arms separated and traced, one failure mode per test.

Figures from :mod:`bayesurv.digitize.styles` (real lifelines IPD drawn in journal styles) read
with the true plot frame and axis calibration, so that these tests hold the curve reader alone
(the axes reader has its own tests). Truth: the Kaplan-Meier curve of the same patients
(``FigureTruth.survival_at``); metric: mean |S_read - S_true| on a fine grid over each arm's
follow-up (goal <= 0.01). Each case says what the reader before this one did on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import datasets

from bayesurv.digitize.arms import plot_box, separate_arms
from bayesurv.digitize.censor import mark_ink
from bayesurv.digitize.frame import AxisMap, Frame, calibrate, find_frame
from bayesurv.digitize.image import load_image
from bayesurv.digitize.styles import STYLES, render_style
from bayesurv.digitize.testing import km_at, render_km_figure
from bayesurv.digitize.trace import trace_arm
from bayesurv.evidence.curves import clean_curve
from bayesurv.reconstruct import reconstruct

_CACHE: dict[str, tuple] = {}


def read_style(name: str):
    """(figure, [(arm, trace)], true arm -> (arm, trace)) with the true calibration."""
    if name in _CACHE:
        return _CACHE[name]
    fig = render_style(name)
    truth = fig.truth
    left, top, right, bottom = truth.plot_px
    frame = Frame(left, right, top, bottom, boxed=STYLES[name].box)
    x_map = AxisMap(left, truth.x_range[0], right, truth.x_range[1])
    y_map = AxisMap(bottom, truth.y_range[0], top, truth.y_range[1])
    arms = separate_arms(fig.image, frame, n_arms=len(truth.arms))
    ink = mark_ink(fig.image, plot_box(frame, fig.image.shape[:2]), [a.mask for a in arms])
    read = []
    for k, arm in enumerate(arms):
        others = np.zeros_like(arm.mask)
        for j, other in enumerate(arms):
            if j != k:
                others |= other.mask
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
        read.append((arm, trace))
    matched = {name: min(read, key=lambda r: _error(fig, name, r[1])) for name in truth.arms}
    _CACHE[name] = (fig, read, matched)
    return _CACHE[name]


def _error(fig, arm_name: str, trace) -> float:
    truth = fig.truth
    scale = 100.0 if truth.scale == "percent" else 1.0
    t_max = truth.ipd.loc[truth.ipd["arm"] == arm_name, "time"].max()
    grid = np.linspace(0.0, min(t_max, truth.x_range[1]), 3000)
    curve = trace.curve
    if curve.empty:
        return np.inf
    index = np.clip(np.searchsorted(curve["time"].to_numpy(), grid, side="right") - 1, 0, None)
    read = curve["survival"].to_numpy()[index] / scale
    return float(np.abs(read - truth.survival_at(arm_name, grid)).mean())


def test_a_dotted_arm_is_found_and_not_replaced_by_the_other_arms_ink():
    # JCO: gold solid vs blue dotted with black censor ticks; the old reader took the black
    # ticks for the second arm and lost the dotted one (mean error 0.026)
    fig, read, matched = read_style("jco")
    colours = {arm.hex for arm, _ in read}
    assert all(max(int(h[i : i + 2], 16) for i in (1, 3, 5)) > 100 for h in colours)
    dotted = matched["Hormone therapy"]
    assert dotted[0].style == "dotted"
    for name, (_, trace) in matched.items():
        assert _error(fig, name, trace) <= 0.005, name


def test_legend_text_is_not_read_as_the_curve():
    # R plot.survfit style: the legend's 'Placebo' sits right of the dashed arm's end; the old
    # reader pooled it into the curve's tail (mean error 0.107)
    fig, _, matched = read_style("r_base")
    arm, trace = matched["Placebo"]
    assert arm.style == "dashed"
    assert _error(fig, "Placebo", trace) <= 0.006
    assert trace.set_aside > 0  # the legend's readings were set aside, not followed


def test_a_curve_stops_at_its_own_end_not_down_the_frame():
    # Stata: both arms end at the frame's right edge at 0.72 and 0.79; a blob in the frame's
    # corner made the old reader run one of them down the edge to S = 0 (mean error 0.031)
    fig, _, matched = read_style("stata")
    for name, (_, trace) in matched.items():
        assert trace.curve["survival"].iloc[-1] > 0.6, name
        assert _error(fig, name, trace) <= 0.005, name


def test_an_arm_hidden_under_the_other_is_followed_and_said():
    # GBSG-2 (no hormone therapy) twice: the second copy censors every event after day 1200,
    # so up to day 1200 it is drawn exactly over the first, which is hidden there; the old
    # reader took the hidden arm as flat at 1 until it reappeared (mean error 0.100)
    d = datasets.load_gbsg2()
    g = d[d["horTh"] == "no"]
    t, e = g["time"].to_numpy(float), g["cens"].to_numpy(int)
    e2 = np.where(t > 1200, 0, e)
    path = None
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hidden.png"
        render_km_figure(path, [(t, e), (t, e2)], (0, 2800), linewidth=2.0)
        rgb = load_image(path)
    frame = find_frame(rgb)
    x_map, y_map = calibrate(frame, (0, 2800), (0, 1))
    arms = separate_arms(rgb, frame, colors=[(31, 119, 180), (214, 39, 40)])
    hidden = trace_arm(arms[0].mask, frame, x_map, y_map, others=arms[1].mask)
    grid = np.linspace(0, t.max(), 3000)
    index = np.clip(np.searchsorted(hidden.curve["time"], grid, side="right") - 1, 0, None)
    error = np.abs(hidden.curve["survival"].to_numpy()[index] - km_at(t, e, grid)).mean()
    assert error <= 0.005
    stretch = hidden.hidden_stretches.iloc[0]
    assert stretch["why"] == "under another arm"
    assert stretch["start"] < 50 and 1100 < stretch["end"] < 1300
    assert 0.3 < hidden.hidden < 0.6 and hidden.seen == pytest.approx(1 - hidden.hidden)


def test_cumulative_incidence_is_read_as_one_minus_f():
    # a 0-40% cumulative incidence axis: the old reader refused rising curves
    fig, _, matched = read_style("cuminc")
    for name, (_, trace) in matched.items():
        assert _error(fig, name, trace) <= 0.002, name


def test_a_padded_axis_trace_starts_at_0_and_is_valid_reconstruct_input():
    # survminer pads the time axis to -50..1050 days: the old trace started at t = -50 (and
    # could dip below 0), which reconstruct refused as a bad click
    fig, _, matched = read_style("survminer")
    truth = fig.truth
    for name, (_, trace) in matched.items():
        curve = trace.curve
        assert curve["time"].min() == 0.0 and curve["survival"].between(0, 1).all()
        cleaned = clean_curve(curve, source=name)  # as digitize writes it
        nar = truth.nar[truth.nar["arm"] == name][["time", "at_risk"]]
        rec = reconstruct(cleaned, nar)
        assert len(rec.ipd) == int(nar["at_risk"].iloc[0])


def test_a_final_drop_to_zero_is_kept():
    # a 300-px JPEG of the 6-MP trial: the placebo arm ends by dropping from 1/21 to 0
    fig, _, matched = read_style("jpeg_small")
    _, trace = matched["Placebo"]
    assert trace.curve["survival"].iloc[-1] == 0.0
    assert abs(trace.curve["time"].iloc[-1] - 23.0) <= 0.4


def test_same_colour_dashed_bands_are_not_the_curve():
    fig, read, matched = read_style("bands")
    for name, (arm, trace) in matched.items():
        assert arm.bands is not None and arm.bands.any(), name
        assert not (arm.bands & arm.mask).any()
        assert _error(fig, name, trace) <= 0.005, name


@pytest.mark.slow
@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_reads_within_the_goal(style):
    fig, _, matched = read_style(style)
    errors = {name: _error(fig, name, trace) for name, (_, trace) in matched.items()}
    assert max(errors.values()) <= 0.01, errors
    assert len({id(t) for _, t in matched.values()}) == len(matched)  # one trace per arm


def test_hidden_stretches_are_plain_data():
    _, read, _ = read_style("jco")
    for _, trace in read:
        assert isinstance(trace.hidden_stretches, pd.DataFrame)
        assert list(trace.hidden_stretches.columns) == ["start", "end", "why"]
        assert set(trace.hidden_stretches["why"]) <= {"under another arm", "masked", "not drawn"}


def test_each_arm_says_how_much_of_it_was_read():
    _, _, matched = read_style("bands")
    for _, trace in matched.values():
        text = trace.statement()
        assert text.startswith(f"{trace.seen:.0%} of the curve seen")
        for row in trace.hidden_stretches.itertuples(index=False):
            assert f"hidden {row.why} from {row.start:.3g}" in text
