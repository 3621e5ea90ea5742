"""The HTML report is self-contained, and a browser shows its figures without console errors."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bayesurv.browser import chromium, render
from bayesurv.report import Report


def make_report():
    rep = Report("Test report", "sub")
    rep.section("Evidence", "Numbers <as> published.")
    rep.table(pd.DataFrame({"trial": ["A", "B"], "hr": [0.38, 0.7]}), caption="HRs")
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1, 2], [1, 0.6, 0.4], color="#d62728", lw=6)
    rep.figure(fig, "a red curve", fmt="png")
    rep.figure(fig, "the same as SVG", fmt="svg")
    plt.close(fig)
    return rep.render(provenance={"versions": {"bayesurv": "x"}, "seed": 3})


def test_report_is_self_contained_and_escaped():
    html = make_report()
    assert "Numbers &lt;as&gt; published." in html
    assert "<caption>HRs</caption>" in html
    assert "data:image/png;base64," in html and "<svg" in html
    # nothing is fetched: no external URLs in src/href attributes
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "seed 3" in html


@pytest.mark.skipif(
    chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
@pytest.mark.slow
def test_report_renders_in_chromium_with_its_figures(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(make_report())
    shot = tmp_path / "shot.png"
    errors = render(page, shot, height=1400)
    assert errors == []
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    red = (np.abs(img[..., 0] - 214) < 30) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 2000  # the thick red curves of both figures are on screen


@pytest.mark.skipif(
    chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_browser_check_sees_console_errors(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>throw new Error('boom')</script>ok</body></html>")
    errors = render(page, tmp_path / "bad.png", height=300)
    assert any("boom" in e for e in errors)
