"""File names made from a figure's arm labels (bayesurv digitize writes OUT/<arm>.csv): never
hidden, never outside OUT, never empty."""

from types import SimpleNamespace

import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from bayesurv.cli import app
from bayesurv.cli.digitize import _file_name

NAMES = [
    ("Placebo", "Placebo"),
    ("Arm 1.5 mg", "Arm_1.5_mg"),
    ("Nivo+Ipi", "Nivo+Ipi"),
    (".hidden", "hidden"),
    ("..x", "x"),
    ("...", "arm"),
    ("..", "arm"),
    (".", "arm"),
    ("", "arm"),
    ("../../etc/passwd", "etc_passwd"),
    ("..\\..\\win", "win"),
    ("a/b", "a_b"),
    ("-rf", "rf"),
    ("x..y", "x.y"),
    ("tail.", "tail"),
    ("line\nbreak\x00", "line_break"),
    ("Überleben", "berleben"),
]


@pytest.mark.parametrize("arm, expected", NAMES)
def test_arm_labels_become_plain_visible_file_names(arm, expected, tmp_path):
    name = _file_name(arm)
    assert name == expected
    assert name and not name.startswith((".", "-")) and ".." not in name
    assert "/" not in name and "\\" not in name
    path = tmp_path / f"{name}.csv"
    assert path.resolve().parent == tmp_path.resolve()
    path.write_text("time,survival\n0,1\n")  # a real file name on this system
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [path.name]


def test_digitize_writes_arms_named_dot_something_as_visible_files(tmp_path, monkeypatch):
    """Arms '.hidden' and '..x' (labels as OCR may read them) gave .hidden.csv and ..x.csv."""
    import bayesurv.digitize

    curve = pd.DataFrame({"time": [0.0, 5.0], "survival": [1.0, 0.8]})
    found = SimpleNamespace(
        curves={".hidden": curve, "..x": curve},
        censor_marks=pd.DataFrame({"arm": [], "time": [], "survival": []}),
        table=None,
        overlay=Image.new("RGB", (8, 8), "white"),
        report={"warnings": []},
        colors={".hidden": "#1f77b4", "..x": "#d62728"},
    )
    monkeypatch.setattr(bayesurv.digitize, "digitize_file", lambda *a, **k: found)
    figure = tmp_path / "f.png"
    Image.new("RGB", (60, 40), "white").save(figure)
    out = tmp_path / "dig"
    r = CliRunner().invoke(app, ["digitize", str(figure), "--out", str(out)])
    assert r.exit_code == 0, r.output
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible == ["censor_marks.csv", "digitize.json", "hidden.csv", "overlay.png", "x.csv"]
    assert pd.read_csv(out / "x.csv").astype(float).equals(curve)
