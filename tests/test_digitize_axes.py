"""Axes read from the figure: open, grey, padded and truncated axes, turned labels, misread ticks.

Rendering and reading a figure takes a few seconds: the default tier reads two (NEJM, SAS),
the slow tier the rest. Truth: the generator's own tick positions (matplotlib's transform of
each tick value into the saved image, :mod:`bayesurv.digitize.styles`). The calibration is
checked at every true tick: the value read there must be within 0.3% of the axis range (about
a pixel).
"""

from __future__ import annotations

import numpy as np
import pytest

from bayesurv.digitize.axes import read_axes, robust_line
from bayesurv.digitize.frame import find_frame
from bayesurv.digitize.ocr import Word, read_figure_text
from bayesurv.digitize.styles import render_style
from bayesurv.errors import InputError


@pytest.fixture(scope="module")
def read():
    cache = {}

    def get(name):
        if name not in cache:
            fig = render_style(name)
            words = read_figure_text(fig.image)
            cache[name] = (fig, words, read_axes(fig.image, words))
        return cache[name]

    return get


def _max_error(axes, truth):
    x_span = truth.x_range[1] - truth.x_range[0]
    y_span = truth.y_range[1] - truth.y_range[0]
    x = np.abs(axes.x.to_data(truth.x_ticks["px"]) - truth.x_ticks["value"]).max() / x_span
    y = np.abs(axes.y.to_data(truth.y_ticks["px"]) - truth.y_ticks["value"]).max() / y_span
    return x, y


@pytest.mark.slow
def test_open_grey_thin_axes_are_found_and_calibrated(read):
    """NEJM style: left and bottom axes only, grey (#8c8c8c), 0.8 pt. The old frame finder
    (dark lines only) finds no frame here."""
    fig, _, axes = read("nejm")
    with pytest.raises(InputError, match="no plot frame"):
        find_frame(fig.image)
    x_err, y_err = _max_error(axes, fig.truth)
    assert x_err < 0.003 and y_err < 0.003
    assert axes.scale == "percent" and axes.kind == "survival" and not axes.frame.boxed
    left, top, right, bottom = fig.truth.plot_px
    assert abs(axes.frame.left - left) < 1.5 and abs(axes.frame.bottom - bottom) < 1.5


@pytest.mark.slow
def test_upright_y_labels_need_no_pass_over_turned_text(read):
    """NEJM's y labels (0 ... 100) stand upright: judged by the box the detector drew around
    each, not by the engine's word box cut to the middle of the glyphs ("40" 14 x 21 px), no
    word is read from a turned strip. R turns its labels: they are read turned."""
    _, words, axes = read("nejm")
    label = next(w for w in words if w.text == "40" and w.cx < axes.frame.left)
    assert label.width < 0.8 * label.height  # the word box alone would look turned
    assert not any(w.vertical for w in words)
    _, r_words, _ = read("r_base")
    assert sum(w.vertical and w.number() is not None for w in r_words) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("style", ["r_base", "survminer"])
def test_padded_frames_calibrate_from_the_ticks_not_the_frame(read, style):
    """R (4%) and ggplot2 (5%) pad the frame: the frame's edges are not the axis range, and
    R turns its y labels along the axis."""
    fig, _, axes = read(style)
    x_err, y_err = _max_error(axes, fig.truth)
    assert x_err < 0.003 and y_err < 0.003
    # The frame edge is the padding beyond the first tick, read as such.
    span = fig.truth.x_range[1] - fig.truth.x_range[0]
    assert axes.x.to_data(axes.frame.left) == pytest.approx(fig.truth.x_range[0], abs=0.004 * span)


@pytest.mark.slow
def test_truncated_percent_cumulative_incidence_axis(read):
    from bayesurv.digitize import digitize

    fig, _, axes = read("cuminc")
    # From the y title where it is read, else from the curves starting at the bottom.
    assert digitize(fig.image).axes.kind == "cumulative_incidence"
    assert axes.scale == "percent" and axes.truncated
    assert axes.y.to_data(axes.frame.top) == pytest.approx(40, abs=0.5)


@pytest.mark.slow
def test_zero_labelled_once_at_the_origin(read):
    """JCO style: the y axis has no '0' label; 0.2-1.0 calibrate it."""
    fig, _, axes = read("jco")
    assert min(t.value for t in axes.y.ticks) == pytest.approx(0.2)
    assert max(_max_error(axes, fig.truth)) < 0.003


@pytest.mark.slow
def test_a_misread_label_is_dropped_and_said(read):
    fig, words, _ = read("sas")
    # Replace the '1200' tick label by a misread '1800'.
    bad = [
        Word("1800", w.left, w.top, w.right, w.bottom, w.score) if w.text == "1200" else w
        for w in words
    ]
    axes = read_axes(fig.image, bad)
    assert [t.label for t in axes.x.misread] == ["1800"]
    assert any("1800" in w and "misread" in w for w in axes.warnings)
    assert _max_error(axes, fig.truth)[0] < 0.003


def test_robust_line_survives_one_wrong_value():
    px = np.array([100.0, 200.0, 300.0, 400.0, 500.0])
    values = np.array([0.0, 10.0, 80.0, 30.0, 40.0])
    intercept, slope, inliers = robust_line(px, values)
    assert inliers.tolist() == [True, True, False, True, True]
    assert slope == pytest.approx(0.1) and intercept == pytest.approx(-10.0)


@pytest.mark.slow
def test_axis_values_override_is_tick_values_on_a_padded_frame(read):
    """--x-range as axis values: 0,35 are the first and last tick of the R figure, whose
    frame runs 4% beyond them (the old meaning, frame edges, mis-scaled time by 8%)."""
    fig, words, _ = read("r_base")
    agreeing = read_axes(fig.image, words, x_range=(0, 35))
    assert agreeing.x.source.startswith("tick labels")
    assert _max_error(agreeing, fig.truth)[0] < 0.003
    wrong = read_axes(fig.image, words, x_range=(0, 70))
    assert wrong.x.source.startswith("--x-range")
    assert any("disagrees" in w for w in wrong.warnings)


def test_no_axes_is_one_sentence_naming_the_options():
    blank = np.full((300, 400, 3), 255, np.uint8)
    with pytest.raises(InputError, match=r"no axes found.*--x-range"):
        read_axes(blank, [])
