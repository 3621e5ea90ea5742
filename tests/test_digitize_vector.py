"""Vector PDFs: the curves' path coordinates and the tick labels' text, read back exactly.

The round trip draws the Kaplan-Meier curves of real IPD (lifelines' GBSG-2, by hormone
therapy, in years) with matplotlib into a PDF and reads the page back with pdfium: every corner
read lies on the true KM step function and every true corner is read, to 1e-6 in data units
(pdfium gives single-precision page coordinates: about 3e-8 of this 8-year axis per point);
the censor marks sit at the distinct censoring times (marker positions are written to 1e-3
points). Styles from :mod:`bayesurv.digitize.styles` check the rest: solid vs dotted with
black ticks (JCO), R's turned y labels, and cumulative incidence.
"""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import datasets
from PIL import Image

from bayesurv.digitize.styles import render_style
from bayesurv.digitize.testing import render_km_figure
from bayesurv.digitize.vector import read_vector_pdf
from bayesurv.errors import InputError
from bayesurv.nonparametric import kaplan_meier


def graph_distance(points, km_t, km_s, t_end) -> np.ndarray:
    """Max-norm distance (time, survival) of each point to the graph of a KM step function
    (its flat pieces and its vertical drops) on [0, t_end]."""
    t = np.r_[np.asarray(km_t, float), t_end]
    s = np.asarray(km_s, float)
    x, y = points[:, None, 0], points[:, None, 1]
    dx = np.maximum(np.maximum(t[None, :-1] - x, x - t[None, 1:]), 0.0)
    flat = np.maximum(dx, np.abs(y - s[None, :])).min(axis=1)
    lo, hi = s[1:], s[:-1]
    dy = np.maximum(np.maximum(lo[None, :] - y, y - hi[None, :]), 0.0)
    drop = np.maximum(np.abs(x - t[None, 1:-1]), dy).min(axis=1)
    return np.minimum(flat, drop)


def corners(km, t_max) -> np.ndarray:
    """Both corners of every drop of a KM table (and its start)."""
    jumps = km[km["events"] > 0]
    before = np.r_[1.0, jumps["survival"].to_numpy()[:-1]]
    pts = np.r_[
        [[0.0, 1.0]],
        np.c_[jumps["time"], before],
        np.c_[jumps["time"], jumps["survival"]],
    ]
    return pts[pts[:, 0] <= t_max]


@pytest.fixture(scope="module")
def gbsg2_pdf(tmp_path_factory):
    df = datasets.load_gbsg2()
    arms = [
        (g["time"].to_numpy(float) / 365.25, g["cens"].to_numpy(int))
        for _, g in df.groupby("horTh")
    ]
    path = tmp_path_factory.mktemp("vector") / "gbsg2.pdf"
    render_km_figure(path, arms, (0, 8), censor_marker="|", legend="lower left")
    return arms, read_vector_pdf(path)


def test_round_trip_is_exact_to_1e_6(gbsg2_pdf):
    arms, reading = gbsg2_pdf
    assert list(reading.curves) == ["arm 1", "arm 2"]  # named by the legend
    assert reading.x_axis.how == reading.y_axis.how == "tick marks"
    for (time, event), name in zip(arms, reading.curves, strict=True):
        km = kaplan_meier(time, event)
        read = reading.curves[name][["time", "survival"]].to_numpy()
        assert graph_distance(read, km["time"], km["survival"], time.max()).max() <= 1e-6
        truth = corners(km, 8.0)
        nearest = np.abs(truth[:, None, :] - read[None, :, :]).max(axis=2).min(axis=1)
        assert nearest.max() <= 1e-6


def test_censor_marks_are_the_censoring_times(gbsg2_pdf):
    arms, reading = gbsg2_pdf
    for (time, event), name in zip(arms, reading.curves, strict=True):
        truth = np.unique(time[event == 0])
        marks = np.sort(reading.censor_marks.loc[reading.censor_marks["arm"] == name, "time"])
        assert marks.size == truth.size
        np.testing.assert_allclose(marks, truth, atol=1e-3)


@pytest.mark.parametrize("style", ["jco", "r_base", "cuminc"])
@pytest.mark.slow
def test_journal_styles_from_their_pdf(style, tmp_path):
    fig = render_style(style, tmp_path / f"{style}.pdf")
    truth = fig.truth
    reading = read_vector_pdf(fig.path)
    assert sorted(reading.curves) == sorted(truth.arms)  # named by legend or table colour
    assert reading.report["kind"] == truth.kind
    for arm in truth.arms:
        km = truth.km[arm]
        t_end = min(truth.ipd.loc[truth.ipd["arm"] == arm, "time"].max(), truth.x_range[1])
        read = reading.curves[arm][["time", "survival"]].to_numpy()
        # ticks written to 1e-3 points: 1e-5 of these axes
        assert graph_distance(read, km["time"], km["survival"], t_end).max() <= 1e-5 * np.ptp(
            truth.x_range
        )
    if style == "jco":  # dotted arm found; black ticks go to the curve they sit on
        assert set(reading.styles.values()) == {"solid", "dashed"}
        assert set(reading.censor_marks["arm"]) == set(truth.arms)


def test_a_pdf_without_vector_curves_is_one_sentence(tmp_path):
    path = tmp_path / "scan.pdf"
    Image.new("RGB", (200, 150), "white").save(path)
    with pytest.raises(InputError, match="digitize the rendered page instead"):
        read_vector_pdf(path)


@pytest.mark.slow
def test_digitize_file_takes_a_vector_pdfs_curves(tmp_path):
    # the page is read as an image (axes, table, names, overlay) and its curves and marks are
    # then replaced by the exact paths: greyscale solid vs dashed, both black
    from bayesurv.digitize import digitize_file

    fig = render_style("greyscale", tmp_path / "grey.pdf")
    result = digitize_file(fig.path)
    assert result.report["curves_from"].startswith("vector paths")
    truth = fig.truth
    for arm in truth.arms:
        km = truth.km[arm]
        t_end = min(truth.ipd.loc[truth.ipd["arm"] == arm, "time"].max(), truth.x_range[1])
        read = result.curves[arm][["time", "survival"]].to_numpy()
        assert graph_distance(read, km["time"], km["survival"], t_end).max() <= 1e-4
    assert len(result.censor_marks) >= 55  # 61 '+' marks drawn, each as two strokes
