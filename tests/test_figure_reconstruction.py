"""A figure in, IPD out: ``bayesurv.reconstruct_figure`` and ``bayesurv reconstruct FIGURE``.

Truth: the generator's figures of real IPD (:mod:`bayesurv.digitize.styles`); the Cox HR
(Efron) of the reconstructed IPD is compared with the HR of the true IPD (goal within 2%), the
arms must carry the figure's own names and the patients per arm the table's n at time 0.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from bayesurv import InputError, reconstruct_figure
from bayesurv.cli import app
from bayesurv.digitize.styles import render_style
from bayesurv.nonparametric import cox_hazard_ratio


def _hr(ipd, control, treated):
    sub = ipd[ipd["arm"].isin([control, treated])]
    return cox_hazard_ratio(sub["time"], sub["event"], (sub["arm"] == treated).astype(int))["hr"]


@pytest.fixture(scope="module")
def sas(tmp_path_factory):
    path = tmp_path_factory.mktemp("fig") / "sas.png"
    fig = render_style("sas", path)
    return path, fig.truth, reconstruct_figure(path)


@pytest.mark.slow
def test_every_arm_reconstructed_and_named_as_the_figure_names_it(sas):
    _, truth, rec = sas
    assert sorted(rec.arms) == sorted(truth.arms)
    assert list(rec.ipd.columns) == ["time", "event", "arm"]
    for arm in truth.arms:
        n0 = int(truth.nar[(truth.nar["arm"] == arm) & (truth.nar["time"] == 0)]["at_risk"].iloc[0])
        assert (rec.ipd["arm"] == arm).sum() == n0
        assert rec.confidence[arm]["at_risk_from"] == "figure"
        assert rec.confidence[arm]["at_risk_cells"]["read"] >= 7
    a, b = truth.arms
    assert _hr(rec.ipd, a, b) == pytest.approx(_hr(truth.ipd, a, b), rel=0.02)


def test_confidence_is_stated_per_arm(sas):
    _, truth, rec = sas
    text = rec.summary()
    for arm in truth.arms:
        assert arm in text
        c = rec.confidence[arm]
        assert 0.5 < c["seen_share"] <= 1.0
        assert c["verdict"] == "reconstruction matches the curve read"
    json.dumps(rec.report, default=float)  # the report is plain data


def test_cli_writes_ipd_report_and_overlay(sas, tmp_path):
    path, truth, _ = sas
    out = tmp_path / "ipd.csv"
    result = CliRunner().invoke(app, ["reconstruct", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    ipd = pd.read_csv(out)
    assert set(ipd["arm"]) == set(truth.arms)
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert set(report["confidence"]) == set(truth.arms)
    assert report["digitize"]["at_risk_table"]["cells_read"] >= 14
    with Image.open(out.with_suffix(".overlay.png")) as overlay:
        assert overlay.size == truth.image_px
    again = CliRunner().invoke(app, ["reconstruct", str(path), "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.output


@pytest.mark.slow
def test_a_figure_without_table_asks_for_it(tmp_path):
    """No numbers-at-risk table under the plot and no n: one sentence naming --at-risk; with
    the table given, every arm is reconstructed."""
    from lifelines import datasets

    from bayesurv.digitize.testing import render_km_figure
    from bayesurv.emulate import at_risk_table

    df = datasets.load_leukemia()
    arms = [(g["t"].to_numpy(float), g["status"].to_numpy(int)) for _, g in df.groupby("Rx")]
    path = tmp_path / "bare.png"
    render_km_figure(path, arms, (0, 40), colors=("#1f77b4", "#d62728"))
    with pytest.raises(InputError, match="--at-risk"):
        reconstruct_figure(path)
    first = reconstruct_figure(path, names=["arm1", "arm2"], n={"arm1": 21, "arm2": 21})
    colors = first.digitized.colors
    blue = next(k for k, v in colors.items() if v == "#1f77b4")
    red = next(k for k, v in colors.items() if v == "#d62728")
    tables = []
    for name, (t, _) in ((blue, arms[0]), (red, arms[1])):
        tables.append(at_risk_table(t, np.arange(0, 36, 5.0)).assign(arm=name))
    rec = reconstruct_figure(path, at_risk=pd.concat(tables, ignore_index=True))
    assert {rec.confidence[a]["at_risk_from"] for a in rec.arms} == {"given"}
    assert (rec.ipd["arm"] == blue).sum() == 21


def test_a_blank_page_is_one_sentence():
    blank = np.full((300, 400, 3), 255, np.uint8)
    from bayesurv.digitize import digitize

    with pytest.raises(InputError, match=r"no axes found.*--x-range"):
        digitize(blank)


@pytest.mark.slow
def test_panel_k_of_a_two_panel_figure(tmp_path):
    left, right = render_style("survminer"), render_style("greyscale")
    height = max(left.image.shape[0], right.image.shape[0])

    def pad(img):
        out = np.full((height, img.shape[1], 3), 255, np.uint8)
        out[: img.shape[0]] = img
        return out

    both = np.hstack([pad(left.image), np.full((height, 40, 3), 255, np.uint8), pad(right.image)])
    path = tmp_path / "two.png"
    Image.fromarray(both).save(path)
    rec = reconstruct_figure(path, panel=2)
    assert sorted(rec.arms) == sorted(right.truth.arms)
    a, b = right.truth.arms
    assert _hr(rec.ipd, a, b) == pytest.approx(_hr(right.truth.ipd, a, b), rel=0.03)
    with pytest.raises(InputError, match="--panel 3"):
        reconstruct_figure(path, panel=3)
