"""``bayesurv digitize``: arms whose names make one output file are refused in one sentence
that suggests ``--names`` (issue leftovers, item 4), and the names it suggests then work."""

import re
import types

import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

import bayesurv.digitize
from bayesurv.cli import app


def _fake(read_names):
    """digitize_file reading arms ``read_names`` from the figure, or the --names given."""

    def fake(*_, names=None, **__):
        arms = names or read_names
        curve = pd.DataFrame({"time": [0.0, 5.0], "survival": [1.0, 0.8]})
        return types.SimpleNamespace(
            curves={a: curve for a in arms},
            censor_marks=pd.DataFrame({"arm": [], "time": [], "survival": []}),
            table=None,
            overlay=Image.new("RGB", (60, 40), "white"),
            report={"arms": arms},
            colors={a: "#000000" for a in arms},
        )

    return fake


@pytest.mark.parametrize(
    "read, words, file",
    [
        (["A/B", "A B"], ["arms 'A/B' and 'A B' would both be written to"], "A_B.csv"),
        (["ctrl", "CTRL"], ["arms 'ctrl' and 'CTRL'"], "CTRL.csv"),
        (["at risk", "B"], ["arm 'at risk'", "which holds the numbers at risk"], "at_risk.csv"),
    ],
    ids=["slash and space", "case", "a fixed file"],
)
def test_clashing_arm_files_suggest_names_and_the_suggestion_works(
    tmp_path, monkeypatch, read, words, file
):
    monkeypatch.setattr(bayesurv.digitize, "digitize_file", _fake(read))
    fig = tmp_path / "fig.png"
    Image.new("RGB", (60, 40), "white").save(fig)
    out = tmp_path / "dig"
    r = CliRunner().invoke(app, ["digitize", str(fig), "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    line = r.output.strip()
    for w in words:
        assert w in line, line
    assert f"{out / file}" in line and "name the arms differently with --names" in line
    assert not out.exists()  # nothing written
    suggested = re.search(r"--names '([^']+)'\.$", line).group(1)
    r = CliRunner().invoke(app, ["digitize", str(fig), "--out", str(out), "--names", suggested])
    assert r.exit_code == 0, r.output
    written = sorted(p.name for p in out.glob("*.csv") if p.name != "censor_marks.csv")
    assert len(written) == len(read) and len({w.lower() for w in written}) == len(read), written
