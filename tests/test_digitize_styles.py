"""The journal-style figure generator: its truth is the data's truth and the picture's geometry.

References: lifelines' KaplanMeierFitter on the same patients (the KM truth), the at-risk count
#{T >= t} computed directly from the IPD, and the image itself (the plot frame's axis line is
dark where the truth says it is).
"""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from bayesurv.digitize.styles import STYLES, load_dataset, render_style


def test_at_least_ten_styles_each_with_a_table():
    assert len(STYLES) >= 10
    for style in STYLES.values():
        assert style.nar_title


@pytest.fixture(scope="module")
def sas():
    return render_style("sas")


def test_truth_km_and_table_come_from_the_ipd(sas):
    truth = sas.truth
    data = load_dataset(STYLES["sas"].data)
    for name, time, event in data.arms:
        grid = np.linspace(0, time.max(), 500)
        want = KaplanMeierFitter().fit(time, event).survival_function_at_times(grid).to_numpy()
        np.testing.assert_allclose(truth.survival_at(name, grid), want, atol=1e-12)
        rows = truth.nar[truth.nar["arm"] == name]
        for t, n in zip(rows["time"], rows["at_risk"], strict=True):
            assert n == int((time >= t).sum())
    assert truth.nar.groupby("arm")["at_risk"].first().to_dict() == {
        name: time.size for name, time, _ in data.arms
    }


def test_frame_pixels_are_where_the_axis_lines_are(sas):
    image, truth = sas.image, sas.truth
    left, top, right, bottom = truth.plot_px
    grey = image.astype(float).mean(axis=2)
    rows = slice(int(top) + 5, int(bottom) - 5)
    cols = slice(int(left) + 5, int(right) - 5)
    # Agg snaps a line to whole pixels, so the drawn line lies within a pixel of the truth.
    near_left = [grey[rows, int(round(left)) + d].mean() for d in (-1, 0, 1)]
    near_bottom = [grey[int(round(bottom)) + d, cols].mean() for d in (-1, 0, 1)]
    assert min(near_left) < 80
    assert min(near_bottom) < 80
    # The x tick at 0 sits on the frame's left edge plus the 2% padding.
    span = truth.x_range[1] - truth.x_range[0]
    zero = truth.x_ticks.loc[truth.x_ticks["value"] == 0, "px"].iloc[0]
    assert zero == pytest.approx(left + (right - left) * (0 - truth.x_range[0]) / span, abs=0.6)


def test_every_table_cell_is_drawn_below_the_plot(sas):
    truth = sas.truth
    assert (truth.nar_px["row"] > truth.plot_px[3]).all()
    assert len(truth.nar_px) == len(truth.nar)


def test_jpeg_small_is_300_px_wide_and_cumulative_incidence_rises():
    small = render_style("jpeg_small")
    assert small.image.shape[1] == 300
    assert small.truth.image_px == (300, small.image.shape[0])
    cuminc = STYLES["cuminc"]
    assert cuminc.cumulative and cuminc.percent and cuminc.y_max == 40


def test_pdf_is_rendered_at_the_style_dpi(tmp_path):
    fig = render_style("r_base", tmp_path / "r_base.pdf")
    assert fig.path.read_bytes()[:5] == b"%PDF-"
    assert fig.image.shape[1] == fig.truth.image_px[0]
