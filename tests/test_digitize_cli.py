"""``bayesurv digitize``: what it writes, and how it refuses (one sentence, exit 2, no files)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifelines import datasets
from PIL import Image
from typer.testing import CliRunner

from bayesurv.cli import app
from bayesurv.digitize.testing import render_km_figure

runner = CliRunner()


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    df = datasets.load_rossi()
    arms = [(g["week"].to_numpy(float), g["arrest"].to_numpy(int)) for _, g in df.groupby("fin")]
    path = tmp_path_factory.mktemp("cli") / "rossi.png"
    render_km_figure(path, arms, (0, 60), (0, 1), censor_marker="|")
    return path


def _one_sentence_exit_2(result, *words):
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.slow
def test_writes_one_csv_per_arm_censor_marks_overlay_and_report(figure, tmp_path):
    out = tmp_path / "read"
    result = runner.invoke(
        app,
        [
            "digitize",
            str(figure),
            "--x-range",
            "0,60",
            "--y-range",
            "0,1",
            "--arms",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / ".bayesurv-digitize").exists()  # the mark that lets --force replace it
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "arm1.csv",
        "arm2.csv",
        "censor_marks.csv",
        "digitize.json",
        "overlay.png",
    ]
    for name in ("arm1.csv", "arm2.csv"):
        curve = pd.read_csv(out / name)
        assert list(curve.columns) == ["time", "survival"]
        assert curve["survival"].between(0, 1).all()
    marks = pd.read_csv(out / "censor_marks.csv")
    assert list(marks.columns) == ["arm", "time", "survival"]
    # Rossi: everyone not arrested is censored at week 52. In the no-aid arm someone is also
    # arrested in week 52, so its tick sits on the curve's final drop and is read as part of it.
    assert "arm2" in set(marks["arm"])
    np.testing.assert_allclose(marks["time"], 52, atol=0.2)
    report = json.loads((out / "digitize.json").read_text())
    assert {a["color"] for a in report["arms"]} == {"#1f77b4", "#d62728"}
    with Image.open(out / "overlay.png") as overlay, Image.open(figure) as original:
        assert overlay.size == original.size


@pytest.mark.slow
def test_explicit_colours_and_calibration_points(figure, tmp_path):
    out = tmp_path / "read"
    base = ["digitize", str(figure), "--y-range", "0,1", "--colors", "#d62728,#1f77b4"]
    first = runner.invoke(app, [*base, "--x-range", "0,60", "--out", str(out / "a")])
    # The same axis through two points: two pixel columns and their times from the first run.
    x_axis = json.loads((out / "a" / "digitize.json").read_text())["x_axis"]
    (p0, p1), (v0, v1) = x_axis["px"], x_axis["value"]
    calib = f"{p0}:{v0},{p1}:{v1}"
    second = runner.invoke(app, [*base, "--x-calib", calib, "--out", str(out / "b")])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    a, b = pd.read_csv(out / "a" / "arm1.csv"), pd.read_csv(out / "b" / "arm1.csv")
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-4)
    report = json.loads((out / "a" / "digitize.json").read_text())
    assert report["arms"][0]["color"] == "#d62728"


def _blank(path):
    Image.fromarray(np.full((300, 400, 3), 255, np.uint8)).save(path)


def _noise(path):
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(path)


def _corrupt(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)


def _empty(path):
    path.write_bytes(b"")


def _axes_without_curves(path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 6), dpi=100)
    ax = fig.subplots()
    ax.set_xlim(0, 60)
    ax.set_ylim(0, 1)
    fig.savefig(path)


def _axes_full_of_noise(path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 6), dpi=100)
    ax = fig.subplots()
    noise = np.random.default_rng(1).random((50, 50, 3))
    ax.imshow(noise, extent=(0, 60, 0, 1), aspect="auto")
    fig.savefig(path)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_blank, ["no axes found", "--x-range"]),
        (_noise, ["no axes found", "--x-range"]),
        (_corrupt, ["not an image bayesurv can read"]),
        (_empty, ["empty"]),
        (_axes_without_curves, ["no curve found", "--colors"]),
        (_axes_full_of_noise, ["could not be followed", "--colors"]),
    ],
    ids=["blank", "noise", "corrupt", "empty", "no_curves", "noise_in_frame"],
)
@pytest.mark.slow
def test_unreadable_figures_are_refused(tmp_path, make, words):
    path = tmp_path / "figure.png"
    make(path)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["digitize", str(path), "--x-range", "0,60", "--y-range", "0,1", "--out", str(out)]
    )
    _one_sentence_exit_2(result, "figure.png", *words)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--x-range", "60,0", "--y-range", "0,1"], ["--x-range", "MIN,MAX"]),
        (["--x-range", "0,60", "--y-range", "0,150"], ["--y-range", "0-100"]),
        (["--x-range", "0,60", "--y-range", "-0.1,1"], ["--y-range"]),
        (["--x-range", "0,sixty", "--y-range", "0,1"], ["--x-range"]),
        (["--x-range", "0,60", "--y-range", "0,1", "--arms", "3"], ["--colors", "found 2"]),
        (["--x-range", "0,60", "--y-range", "0,1", "--colors", "#2ca02c"], ["#2ca02c"]),
        (["--x-range", "0,60", "--y-range", "0,1", "--colors", "nocolour"], ["--colors"]),
        (["--x-range", "0,60", "--y-range", "0,1", "--page", "2"], ["--page"]),
    ],
    ids=[
        "x_falls",
        "y_above_100",
        "y_negative",
        "x_text",
        "too_many_arms",
        "absent_colour",
        "bad_colour",
        "page_of_png",
    ],
)
@pytest.mark.slow
def test_bad_requests_are_refused(figure, tmp_path, args, words):
    out = tmp_path / "out"
    result = runner.invoke(app, ["digitize", str(figure), *args, "--out", str(out)])
    _one_sentence_exit_2(result, *words)
    assert not out.exists()


@pytest.mark.slow
def test_existing_output_is_not_overwritten(figure, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    args = ["digitize", str(figure), "--x-range", "0,60", "--y-range", "0,1", "--out", str(out)]
    _one_sentence_exit_2(runner.invoke(app, args), "--force")
    assert not any(out.iterdir())
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0


@pytest.mark.slow
def test_pdf_page(tmp_path):
    df = datasets.load_leukemia()
    arms = [(g["t"].to_numpy(float), g["status"].to_numpy(int)) for _, g in df.groupby("Rx")]
    path = tmp_path / "leukemia.pdf"
    render_km_figure(path, arms, (0, 40))
    out = tmp_path / "out"
    args = ["digitize", str(path), "--x-range", "0,40", "--y-range", "0,1"]
    assert runner.invoke(app, [*args, "--page", "1", "--out", str(out)]).exit_code == 0
    assert (out / "arm2.csv").exists()
    _one_sentence_exit_2(
        runner.invoke(app, [*args, "--page", "3", "--out", str(tmp_path / "o2")]), "--page 3"
    )


@pytest.mark.slow
def test_rising_curves_are_read_as_cumulative_incidence(tmp_path):
    """A cumulative-incidence figure (1 - KM, rising) is read as S = 1 - F, not refused and not
    misread as survival (the old digitizer refused it: "rises from left to right")."""
    from lifelines import KaplanMeierFitter
    from matplotlib.figure import Figure

    from bayesurv.digitize.testing import km_curve

    df = datasets.load_rossi()
    fig = Figure(figsize=(8, 6), dpi=100)
    ax = fig.subplots()
    groups = list(df.groupby("fin"))
    for _, g in groups:
        times, surv = km_curve(g["week"], g["arrest"])
        ax.step(np.r_[0, times, 52], 1 - np.r_[1, surv, surv[-1]], where="post")
    ax.set_xlim(0, 60)
    ax.set_ylim(0, 1)
    path = tmp_path / "incidence.png"
    fig.savefig(path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["digitize", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "digitize.json").read_text())
    assert report["axes"]["kind"] == "cumulative_incidence"
    grid = np.linspace(0, 52, 500)
    errors = []
    for _, g in groups:
        truth = KaplanMeierFitter().fit(g["week"], g["arrest"]).survival_function_at_times(grid)
        best = []
        for name in ("arm1", "arm2"):
            curve = pd.read_csv(out / f"{name}.csv")
            idx = np.clip(np.searchsorted(curve["time"], grid, side="right") - 1, 0, None)
            best.append(np.abs(curve["survival"].to_numpy()[idx] - truth.to_numpy()).mean())
        errors.append(min(best))
    assert max(errors) < 0.01


@pytest.mark.slow
def test_no_tick_labels_names_the_option(tmp_path):
    """Without x tick labels the time axis cannot be read: one sentence naming --x-range."""
    from matplotlib.figure import Figure

    df = datasets.load_rossi()
    fig = Figure(figsize=(8, 6), dpi=100)
    ax = fig.subplots()
    for _, g in df.groupby("fin"):
        from bayesurv.digitize.testing import km_curve

        times, surv = km_curve(g["week"], g["arrest"])
        ax.step(np.r_[0, times, 52], np.r_[1, surv, surv[-1]], where="post")
    ax.set_xlim(0, 60)
    ax.set_ylim(0, 1)
    ax.set_xticklabels([])
    path = tmp_path / "nolabels.png"
    fig.savefig(path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["digitize", str(path), "--out", str(out)])
    _one_sentence_exit_2(result, "x (time) axis", "--x-range")
    assert not out.exists()
    ok = runner.invoke(app, ["digitize", str(path), "--x-range", "0,60", "--out", str(out)])
    assert ok.exit_code == 0, ok.output


def test_out_that_is_a_file_is_one_sentence(tmp_path):
    from typer.testing import CliRunner

    from bayesurv.cli import app

    fig = tmp_path / "x.png"
    fig.write_bytes(b"")
    target = tmp_path / "out"
    target.write_text("mine")
    r = CliRunner().invoke(
        app,
        [
            "digitize",
            str(fig),
            "--x-range",
            "0,10",
            "--y-range",
            "0,1",
            "--out",
            str(target),
            "--force",
        ],
    )
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert target.read_text() == "mine"


def test_crop_box(tmp_path):
    from typer.testing import CliRunner

    from bayesurv.cli import app

    fig = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (200, 100), "white").save(fig)
    r = CliRunner().invoke(
        app,
        [
            "digitize",
            str(fig),
            "--x-range",
            "0,10",
            "--y-range",
            "0,1",
            "--crop",
            "0,0,300,50",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 2 and "not a box inside the 200x100-pixel image" in r.output
    r = CliRunner().invoke(
        app,
        [
            "digitize",
            str(fig),
            "--x-range",
            "0,10",
            "--y-range",
            "0,1",
            "--crop",
            "0,0,3",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 2 and "four pixel numbers" in r.output
    assert not (tmp_path / "o").exists()


def test_force_replaces_the_whole_folder_and_only_one_digitize_wrote(tmp_path, monkeypatch):
    """digitize --force into an earlier run's folder leaves none of its files (arms A and B
    with a table, then arm C without one: A.csv, B.csv and at_risk.csv stayed beside a
    digitize.json that named C only); a folder of the user's own is never replaced."""
    import types

    import pandas as pd
    from PIL import Image
    from typer.testing import CliRunner

    import bayesurv.digitize
    from bayesurv.cli import app

    def fake(arms, table):
        curve = pd.DataFrame({"time": [0.0, 5.0], "survival": [1.0, 0.8]})
        nar = pd.DataFrame({"time": [0.0], "at_risk": [20], "arm": [arms[0]]})
        return types.SimpleNamespace(
            curves={a: curve for a in arms},
            censor_marks=pd.DataFrame({"arm": [], "time": [], "survival": []}),
            table=types.SimpleNamespace(to_frame=lambda: nar) if table else None,
            overlay=Image.new("RGB", (60, 40), "white"),
            report={"arms": arms},
            colors={a: "#000000" for a in arms},
        )

    fig = tmp_path / "fig.png"
    Image.new("RGB", (60, 40), "white").save(fig)
    out = tmp_path / "dig"
    for arms, table, extra in ((["A", "B"], True, []), (["C"], False, ["--force"])):
        monkeypatch.setattr(
            bayesurv.digitize, "digitize_file", lambda *a, _x=(arms, table), **k: fake(*_x)
        )
        r = CliRunner().invoke(app, ["digitize", str(fig), "--out", str(out), *extra])
        assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["C.csv", "censor_marks.csv", "digitize.json", "overlay.png"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own file")
    r = CliRunner().invoke(app, ["digitize", str(fig), "--out", str(mine), "--force"])
    assert r.exit_code == 2 and "did not write" in r.output
    assert (mine / "notes.txt").read_text() == "my own file"
