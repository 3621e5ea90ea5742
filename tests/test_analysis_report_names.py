"""Arm and section names that make the same figure file (issue 16: names made safe must not
collide): ``bayesurv run`` refuses them before any work, in one sentence that names the spec, the
section and both arms, and says how to rename one; nothing is written."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bayesurv.analysis_report import check_figure_names
from bayesurv.errors import InputError
from bayesurv.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
GBSG = ROOT / "data" / "examples" / "gbsg2"
SPEC = """
title = "two arms, one file name"
seed = 1
[[ipd]]
name = "GBSG-2"
clicks = {{ {a!r} = "{g}/clicks_no_tamoxifen.csv", {b!r} = "{g}/clicks_tamoxifen.csv" }}
at_risk = "{g}/at_risk.csv"
families = ["weibull"]
"""


def spec_file(tmp_path, a: str, b: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(a=a, b=b, g=GBSG).replace("'", '"'))
    return path


def test_run_refuses_arms_that_make_one_file_name(tmp_path):
    from bayesurv.cli import app

    path = spec_file(tmp_path, "A/B", "A B")
    out = tmp_path / "res"
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
    assert r.exit_code == 2, r.output
    msg = r.output.strip()
    assert len(msg.splitlines()) == 1 and "Traceback" not in msg
    assert msg.startswith(f"bayesurv: {path}: [[ipd]] 'GBSG-2' arm 'A/B' and [[ipd]] 'GBSG-2' arm")
    assert "figures/GBSG-2_A_B_reconstruction.png" in msg
    assert "rename one arm in clicks" in msg and "e.g. 'A B' as 'A B 2'" in msg
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["spec.toml"]


@pytest.mark.parametrize(
    ("a", "b", "clash"),
    [("A/B", "A B", True), ("arm 1", "ARM_1", True), ("A-B", "A B", False), ("x", "y", False)],
)
def test_figure_names_clash_only_when_the_safe_names_agree(tmp_path, a, b, clash):
    spec, _ = load_spec(spec_file(tmp_path, a, b))
    if clash:
        with pytest.raises(InputError, match="both make the figure"):
            check_figure_names(spec)
    else:
        check_figure_names(spec)
