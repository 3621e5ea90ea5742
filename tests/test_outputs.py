"""The output plan: outputs are checked before the work, never leave the results folder, never
overwrite without --force (an input never), and a failure leaves nothing behind."""

import hashlib
import json
import os
import stat

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.outputs import OutputPlan, finite_json, safe_name


def tree_hash(folder):
    """Names and contents of every file under folder (the parent's, to catch escapes)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize(
    "name, safe",
    [
        ("EFS across trials", "EFS_across_trials"),
        ("../../escaped", "escaped"),
        ("a/b/c", "a_b_c"),
        ("..\\..\\win", "win"),
        ("Überleben 5 J.", "Überleben_5_J"),
        ("nul", "nul_"),
    ],
)
def test_names_are_made_safe(name, safe):
    assert safe_name(name) == safe
    assert "/" not in safe and ".." not in safe


@pytest.mark.parametrize(
    "name, match",
    [
        ("a\x00b", "holds a control character"),
        ("line\nbreak", "holds a control character"),
        ("..", "has no letters or digits"),
        ("///", "has no letters or digits"),
        ("x" * 200, "is 200 characters long"),
    ],
)
def test_names_that_cannot_be_made_safe_are_refused(name, match):
    with pytest.raises(InputError, match=match):
        safe_name(name, "section name")


def test_outputs_cannot_leave_the_results_folder(tmp_path):
    out = tmp_path / "res"
    plan = OutputPlan(out)
    with pytest.raises(InputError, match="would be written outside --out"):
        plan.add("../../escaped.png", option="[[pool]] '../../escaped'", kind="figure")
    with pytest.raises(InputError, match="outside --out"):
        plan.add(tmp_path / "elsewhere.csv", option="--x")
    (out).mkdir()
    (out / "link").symlink_to(tmp_path)
    with pytest.raises(InputError, match="outside --out"):
        plan.add("link/through.csv", option="--x")


def test_refusals_before_the_work(tmp_path):
    inp = tmp_path / "curve.csv"
    inp.write_text("time,survival\n0,1\n")
    (tmp_path / "taken.json").write_text("{}")
    (tmp_path / "afile").write_text("x")
    plan = OutputPlan(inputs=(inp,))
    a = plan.add(tmp_path / "r.json", option="--json", kind="json")
    with pytest.raises(InputError, match="--netcdf and --json both name"):
        plan.add(tmp_path / "sub" / ".." / "r.json", option="--netcdf")
    with pytest.raises(InputError, match="cannot write a figure as '.xyz'; use .png, .svg, .pdf"):
        plan.add(tmp_path / "p.xyz", option="--plot", kind="figure")
    with pytest.raises(InputError, match="already exists; choose another path or pass --force"):
        plan.add(tmp_path / "taken.json", option="--report")
    with pytest.raises(InputError, match="is the input .*curve.csv.*never overwritten"):
        OutputPlan(force=True, inputs=(inp,)).add(inp, option="--out")
    with pytest.raises(InputError, match="afile is a file, so .* cannot be created"):
        plan.add(tmp_path / "afile" / "x.csv", option="--out")
    with pytest.raises(InputError, match="is a folder; give a file name"):
        plan.add(tmp_path, option="--out")
    assert a == tmp_path / "r.json"
    assert OutputPlan(force=True).add(tmp_path / "taken.json", option="--report")


def test_a_failure_leaves_nothing_behind(tmp_path):
    before = tree_hash(tmp_path)
    plan = OutputPlan()
    csv = plan.add(tmp_path / "new" / "deep" / "ipd.csv", option="--out", kind="csv")
    rep = plan.add(tmp_path / "ipd.report.json", option="--report", kind="json")
    with pytest.raises(ZeroDivisionError), plan.writing():
        plan.csv(csv, pd.DataFrame({"time": [1.0]}))
        plan.json(rep, {"a": 1})
        1 / 0  # noqa: B018 - the failure after two writes
    assert tree_hash(tmp_path) == before
    assert not (tmp_path / "new").exists()


def test_writers_and_strict_json(tmp_path):
    plan = OutputPlan(tmp_path / "res")
    paths = {
        "csv": plan.add("t.csv", option="a", kind="csv"),
        "json": plan.add("s.json", option="b", kind="json"),
        "nc": plan.add("r.nc", option="c", kind="netcdf"),
        "png": plan.add("figures/f.png", option="d", kind="figure"),
        "svg": plan.add("figures/f.svg", option="e", kind="figure"),
        "img": plan.add("overlay.png", option="f", kind="image"),
        "html": plan.add("report.html", option="g", kind="html"),
    }
    from PIL import Image

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ds = xr.Dataset({"hr": (("chain", "draw"), np.ones((2, 3)))})
    with plan.writing():
        plan.csv(paths["csv"], pd.DataFrame({"x": [1.0, 2.5]}))
        plan.json(paths["json"], {"nan": float("nan"), "inf": np.inf, "n": np.int64(3)})
        plan.netcdf(paths["nc"], xr.DataTree.from_dict({"posterior": ds}))
        plan.figure(paths["png"], fig, dpi=50)
        plan.figure(paths["svg"], fig)
        plan.image(paths["img"], Image.new("RGB", (4, 4)))
        plan.text(paths["html"], "<html></html>")
    plt.close(fig)
    res = tmp_path / "res"
    assert json.loads((res / "s.json").read_text()) == {"nan": None, "inf": "inf", "n": 3}
    assert (res / "figures" / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert (res / "figures" / "f.svg").read_text().lstrip().startswith("<?xml")
    assert xr.open_datatree(res / "r.nc")["posterior"]["hr"].shape == (2, 3)
    assert not [p for p in res.rglob("*") if p.name.startswith(".")]  # no temporary left


def test_a_results_folder_is_replaced_whole_or_not_at_all(tmp_path):
    out = tmp_path / "res"
    plan = OutputPlan(out, replace=True, marker=".mark")
    f = plan.add("a.json", option="x", kind="json")
    with plan.writing():
        plan.json(f, {"v": 1})
    assert sorted(p.name for p in out.iterdir()) == [".mark", "a.json"]
    with pytest.raises(InputError, match="already exists; choose another --out or pass --force"):
        OutputPlan(out, replace=True, marker=".mark")
    before = tree_hash(tmp_path)
    plan = OutputPlan(out, replace=True, marker=".mark", force=True)
    g = plan.add("b.json", option="x", kind="json")
    with pytest.raises(KeyboardInterrupt), plan.writing():
        plan.json(g, {"v": 2})
        raise KeyboardInterrupt  # an interrupted run: the old results stay as they were
    assert tree_hash(tmp_path) == before
    with plan.writing():
        plan.json(g, {"v": 2})
    assert sorted(p.name for p in out.iterdir()) == [".mark", "b.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.docx").write_text("x")
    with pytest.raises(InputError, match="holds files that bayesurv did not write"):
        OutputPlan(other, replace=True, marker=".mark", force=True)


def test_finite_json():
    assert finite_json({"a": [np.nan, -np.inf, np.float32(1.5)]}) == {"a": [None, "-inf", 1.5]}


def test_docstring_examples():
    import doctest

    import bayesurv.outputs

    res = doctest.testmod(bayesurv.outputs, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
@pytest.mark.parametrize("replace", [False, True], ids=["files", "owned-folder"])
def test_results_get_the_mode_the_umask_gives(tmp_path, umask, mode, replace):
    """tempfile.mkstemp made every result 0600 (os.replace keeps the temporary's mode); each
    writer's file now has the mode a file written directly under the same umask has."""
    from PIL import Image

    old = os.umask(umask)
    try:
        reference = tmp_path / "reference.txt"
        reference.write_text("x")  # what the user's own tools would make
        out = tmp_path / "res"
        plan = OutputPlan(out, replace=replace, marker=".mark" if replace else None)
        paths = {
            kind: plan.add(f"sub/r.{suffix}", option=f"--{kind}", kind=kind)
            if kind == "csv"
            else plan.add(f"r.{suffix}", option=f"--{kind}", kind=kind)
            for kind, suffix in [
                ("csv", "csv"),
                ("json", "json"),
                ("text", "txt"),
                ("netcdf", "nc"),
                ("figure", "png"),
                ("image", "png2.png"),
            ]
        }
        fig = plt.figure()
        with plan.writing():
            plan.csv(paths["csv"], pd.DataFrame({"a": [1]}))
            plan.json(paths["json"], {"a": 1})
            plan.text(paths["text"], "a\n")
            plan.netcdf(paths["netcdf"], xr.Dataset({"a": ("x", np.arange(2.0))}))
            plan.figure(paths["figure"], fig)
            plan.image(paths["image"], Image.new("RGB", (4, 4)))
        plt.close(fig)
    finally:
        os.umask(old)
    assert stat.S_IMODE(reference.stat().st_mode) == mode
    for kind, p in paths.items():
        assert stat.S_IMODE(p.stat().st_mode) == mode, (kind, oct(p.stat().st_mode))
    assert not [p for p in tmp_path.rglob("*.part")]
