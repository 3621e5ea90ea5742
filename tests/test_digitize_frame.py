"""Frame detection and pixel -> data calibration against matplotlib's own axes box."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from bayesurv.digitize.frame import calibrate, find_frame, parse_calib, parse_range
from bayesurv.digitize.image import load_image
from bayesurv.errors import InputError


def _axes_figure(path, boxed=True, size=(8, 6), dpi=100):
    fig = Figure(figsize=size, dpi=dpi)
    ax = fig.subplots()
    ax.step([0, 10, 30, 60], [1.0, 0.8, 0.5, 0.5], where="post")
    ax.set_xlim(0, 60)
    ax.set_ylim(0, 1)
    if not boxed:
        ax.spines[["top", "right"]].set_visible(False)
    fig.savefig(path, dpi=dpi)
    fig.canvas.draw()
    box = ax.get_window_extent()
    height = size[1] * dpi
    # matplotlib counts display pixels from the bottom edge; image rows count from the top.
    return box.x0, box.x1, height - box.y1, height - box.y0


@pytest.mark.parametrize("boxed", [True, False])
def test_frame_matches_matplotlib_axes_box(tmp_path, boxed):
    path = tmp_path / "axes.png"
    x0, x1, y_top, y_bottom = _axes_figure(path, boxed=boxed)
    frame = find_frame(load_image(path))
    assert frame.boxed is boxed
    for found, true in [
        (frame.left, x0),
        (frame.right, x1),
        (frame.top, y_top),
        (frame.bottom, y_bottom),
    ]:
        assert abs(found - true) <= 1.0


def test_calibration_points_give_the_same_map_as_ranges(tmp_path):
    path = tmp_path / "axes.png"
    _axes_figure(path)
    frame = find_frame(load_image(path))
    x_map, y_map = calibrate(frame, (0, 60), (0, 1))
    x_cal = ((frame.left, 0.0), (frame.right, 60.0))
    y_cal = ((frame.bottom, 0.0), (frame.top, 1.0))
    x_map2, y_map2 = calibrate(frame, x_calib=x_cal, y_calib=y_cal)
    pixels = np.array([120.0, 300.5, 650.0])
    np.testing.assert_allclose(x_map.to_data(pixels), x_map2.to_data(pixels))
    np.testing.assert_allclose(y_map.to_data(pixels), y_map2.to_data(pixels))
    np.testing.assert_allclose(x_map.to_pixel(x_map.to_data(pixels)), pixels)


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.full((300, 400, 3), 255, np.uint8),
        lambda: np.random.default_rng(7).integers(0, 256, (300, 400, 3), dtype=np.uint8),
        lambda: (
            np.random.default_rng(8).choice([0, 255], (300, 400, 1)).repeat(3, 2).astype(np.uint8)
        ),
    ],
    ids=["blank", "colour_noise", "black_white_noise"],
)
def test_no_frame_is_an_input_error(make):
    with pytest.raises(InputError, match="no plot frame found"):
        find_frame(make(), "fig.png")


@pytest.mark.parametrize("text", ["60,0", "1,1", "a,b", "0", "0,inf"])
def test_bad_ranges_are_refused(text):
    with pytest.raises(InputError, match="--x-range"):
        parse_range(text, "--x-range")


def test_calibration_points_parse_and_refuse():
    assert parse_calib("100:0, 720:60", "--x-calib") == ((100.0, 0.0), (720.0, 60.0))
    with pytest.raises(InputError, match="two different pixels"):
        parse_calib("100:0,100:60", "--x-calib")
    with pytest.raises(InputError, match="PIXEL:VALUE"):
        parse_calib("100,720", "--x-calib")
