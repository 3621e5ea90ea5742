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
    assert '<div class="caption">HRs</div><div class="table-box"><table' in html
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


def test_answers_come_before_the_contents_and_tables_sit_in_boxes():
    rep = Report("T", "sub")
    rep.section("The questions, answered")
    rep.answers([("The probability that A is 95.9%.", "asked as P(a < 1)")])
    rep.section("Evidence")
    rep.table(pd.DataFrame({"study": ["A"], "hr": [0.38], "ok": [True], "n": [1190.4]}))
    html = rep.render()
    assert html.index('class="answers"') < html.index("<nav>") < html.index(">Evidence<")
    assert '<div class="table-box"><table' in html
    assert '<td class="num">1,190</td>' in html and "<td>yes</td>" in html
    assert "@media print" in html and "size:A4" in html


@pytest.mark.skipif(
    chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_a_wide_table_scrolls_in_its_box_and_long_text_wraps(tmp_path):
    from bayesurv.browser import layout

    wide = pd.DataFrame({f"quantity number {i}": [1234.5678 * i, 0.5] for i in range(30)})
    source = "Locatelli F et al. Blinatumomab consolidation in children " * 6
    rep = Report("Wide")
    rep.section("Evidence")
    rep.table(wide, caption="thirty columns")
    rep.table(pd.DataFrame({"study": ["A"], "source": [source]}), caption="a long source")
    page = tmp_path / "wide.html"
    page.write_text(rep.render())
    box = layout(page, [".table-box", "td.long"], width=1400, height=900)
    assert box["scrollWidth"] <= 1400 and box["overflowing"] == []
    first, second = box["elements"][".table-box"]
    assert first["scrollWidth"] > first["clientWidth"]  # the wide table scrolls inside its box
    assert second["scrollWidth"] <= second["clientWidth"]  # the long text wraps instead
    cell = box["elements"]["td.long"][0]
    assert cell["bottom"] - cell["top"] > 60  # over several lines


def test_the_model_in_words_gives_an_estimated_smr_not_the_fixed_one(monkeypatch):
    """An SMR with a prior was described as 'SMR 1' (the Population's fixed value, unused):
    the base case in words gives the posterior median, 95% interval and the prior instead."""
    from known_draws import mock_nuts

    from bayesurv.analysis_report import model_words
    from bayesurv.lifetable import us_life_table
    from bayesurv.survival.fit import Sampler, fit
    from bayesurv.survival.population import Population

    rng = np.random.default_rng(3)
    ipd = pd.DataFrame(
        {"time": rng.exponential(4.0, 200).clip(max=8.0), "age": rng.uniform(50, 70, 200)}
    ).assign(event=lambda d: (d["time"] < 8.0).astype(int))
    mock_nuts(monkeypatch, {"log_median": 1.0, "smr": 1.5}, sd=0.05)
    pop = Population(us_life_table(2014), age_column="age", male="female")
    row = {"cure": "none", "time_unit": "years"}
    res = fit(ipd, "exponential", seed=1, time_unit="years", population=pop,
              smr_prior="lognormal(0.405, 0.1)", sampler=Sampler(300, 100, 2))  # fmt: skip
    smr = np.quantile(res["posterior"]["smr"].values, [0.025, 0.5, 0.975])
    words = model_words(res, "exponential", row)
    assert f"SMR estimated: {smr[1]:.2f}, 95% interval {smr[0]:.2f} to {smr[2]:.2f}" in words
    assert "prior lognormal(0.405, 0.1)" in words and "SMR 1)" not in words
    res = fit(ipd, "exponential", seed=1, time_unit="years", population=pop,
              sampler=Sampler(300, 100, 2))  # fmt: skip
    assert model_words(res, "exponential", row).endswith("general-population mortality (SMR 1)")
