"""Loading figures: PNG with transparency, greyscale JPEG, PDF pages, and refusals."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import datasets
from PIL import Image

from bayesurv.digitize import digitize_file, load_image
from bayesurv.digitize.testing import render_km_figure
from bayesurv.errors import InputError


@pytest.fixture(scope="module")
def rossi():
    df = datasets.load_rossi()
    return [(g["week"].to_numpy(float), g["arrest"].to_numpy(int)) for _, g in df.groupby("fin")]


def test_transparent_png_reads_as_on_white(tmp_path, rossi):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2), dpi=50)
    fig.savefig(tmp_path / "clear.png", transparent=True)
    rgb = load_image(tmp_path / "clear.png")
    assert rgb.shape == (100, 100, 3)
    assert (rgb == 255).all()


@pytest.mark.slow
def test_greyscale_jpeg(tmp_path, rossi):
    png = tmp_path / "km.png"
    render_km_figure(png, rossi, (0, 60), colors=("black", "0.5"))
    with Image.open(png) as image:
        image.convert("L").save(tmp_path / "km.jpg", quality=85)
    result = digitize_file(tmp_path / "km.jpg", (0, 60), (0, 1), n_arms=2)
    assert len(result.curves) == 2


def test_pdf_pages(tmp_path, rossi):
    path = tmp_path / "km.pdf"
    render_km_figure(path, rossi, (0, 60))
    assert load_image(path, page=1, dpi=72).shape == (432, 576, 3)
    with pytest.raises(InputError, match="has 1 page"):
        load_image(path, page=2)


def test_tiny_and_missing_images_are_refused(tmp_path):
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "tiny.png")
    with pytest.raises(InputError, match="only 10x10 pixels"):
        load_image(tmp_path / "tiny.png")
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "absent.png")
