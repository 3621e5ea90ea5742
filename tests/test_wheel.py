"""An installed wheel works outside the checkout: it carries its data (bayesurv/_data/) and runs
``bayesurv demo`` and ``bayesurv fit --life-table us`` in an empty folder.

The wheel is built offline from a copy of the working tree (``pip wheel --no-deps
--no-build-isolation --no-index``: setuptools comes from the lock), installed into a fresh venv
outside the checkout (``--without-pip``; pip runs on it through ``pip --python``), and that venv
reuses this environment's installed dependencies through one ``.pth`` line added after the
install (so pip never sees the checkout's editable bayesurv, and nothing reaches the network).
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd, *, cwd, timeout=900):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _source_copy(dest: Path) -> Path:
    """The files a fresh clone would have (tracked, plus new ones git does not ignore)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs a git checkout to know which files a clone holds")
    r = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    for rel in filter(None, r.stdout.split("\0")):
        src = ROOT / rel
        if src.is_file():  # deleted in the tree but still in the index: not in a clone either
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(bin folder of a fresh venv with the wheel installed, the wheel, seconds to build)."""
    base = tmp_path_factory.mktemp("wheel")
    assert not base.resolve().is_relative_to(ROOT)
    src = _source_copy(base / "src")
    started = time.perf_counter()
    r = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", base / "dist", src],
        cwd=base,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (base / "dist").glob("bayesurv-*.whl")
    venv = base / "venv"
    r = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base)
    assert r.returncode == 0, r.stderr
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    r = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         wheel],
        cwd=base,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    # the dependencies: this environment's site-packages, after the venv's own (a plain path
    # line, so the checkout's editable-install hook in it is not run)
    r = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=base)
    site = Path(r.stdout.strip())
    deps = dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib"))
    (site / "_bayesurv_test_deps.pth").write_text("".join(f"{p}\n" for p in deps))
    return bin_dir, python, wheel, time.perf_counter() - started


@pytest.mark.slow
@pytest.mark.mcmc
def test_the_wheel_carries_the_data(installed):
    _, _, wheel, _ = installed
    with zipfile.ZipFile(wheel) as z:
        inside = set(z.namelist())
    for name in (
        "data/lifetables/survexp_us.csv",
        "data/examples/gbsg2/clicks_tamoxifen.csv",
        "data/case_study/study_20120215_landmarks.csv",
        "data/README.md",
        "models/case_study.toml",
        "models/ball_nma.toml",
    ):
        assert f"bayesurv/_data/{name}" in inside, name
    assert wheel.stat().st_size < 2_000_000  # the data are ~150 KB; nothing else slipped in
    assert not any(n.startswith(("tests/", "data/", "models/")) for n in inside)


@pytest.mark.slow
@pytest.mark.mcmc
def test_installed_package_reads_its_own_data(installed, tmp_path):
    _, python, _, _ = installed
    code = (
        "import bayesurv, bayesurv.datasets as d, bayesurv.lifetable as lt;"
        "print(bayesurv.__file__); print(d.root()); print(lt.US_TABLE);"
        "print(len(d.load_us_life_table()), len(d.load_gbsg2_clicks()))"
    )
    r = _run([python, "-c", code], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    module, root, table, sizes = r.stdout.splitlines()
    venv = python.parent.parent
    for p in (module, root, table):
        assert Path(p).resolve().is_relative_to(venv.resolve()), p
        assert not Path(p).resolve().is_relative_to(ROOT), p
    assert Path(root).name == "_data"
    assert sizes.split()[0] == "660"  # the US table: 3 years x 110 ages x 2 sexes


@pytest.mark.slow
@pytest.mark.mcmc
def test_demo_from_the_wheel_in_an_empty_folder(installed, tmp_path):
    bin_dir, _, _, _ = installed
    work = tmp_path / "empty"
    work.mkdir()
    bayesurv = bin_dir / ("bayesurv.exe" if os.name == "nt" else "bayesurv")
    r = _run([bayesurv, "demo", "--draws", "10", "--quiet"], cwd=work)
    assert r.returncode == 0, r.stdout + r.stderr
    out = work / "results" / "demo"
    for rel in (
        "case_study/report.html",
        "case_study/summary.json",
        "ball_nma/report.html",
        "reconstruction/ipd.csv",
        "reconstruction/ipd_tamoxifen.csv",
    ):
        assert (out / rel).is_file(), rel
    assert "known truth" in r.stdout
    assert f"Report: {Path('results/demo/case_study/report.html')}" in r.stdout
    # a second run does not replace the results without --force, and says so before any work
    report = out / "case_study" / "report.html"
    before = report.stat().st_mtime_ns
    again = _run([bayesurv, "demo", "--draws", "10", "--quiet"], cwd=work)
    assert again.returncode == 2
    assert "--force" in again.stdout + again.stderr
    assert "Traceback" not in again.stdout + again.stderr
    assert report.stat().st_mtime_ns == before


@pytest.mark.slow
@pytest.mark.mcmc
def test_fit_with_the_us_life_table_from_the_wheel(installed, tmp_path):
    bin_dir, _, _, _ = installed
    work = tmp_path / "empty"
    work.mkdir()
    rng = np.random.default_rng(14)
    t, c = rng.weibull(1.3, 40) * 4.0, rng.uniform(2.0, 6.0, 40)  # years
    ipd = pd.DataFrame({"time": np.minimum(t, c).round(3), "event": (t <= c).astype(int)})
    ipd.to_csv(work / "ipd.csv", index=False)
    bayesurv = bin_dir / ("bayesurv.exe" if os.name == "nt" else "bayesurv")
    r = _run(
        [bayesurv, "fit", "ipd.csv", "--family", "weibull", "--life-table", "us", "--age", "60",
         "--sex", "male", "--time-unit", "years", "--draws", "50", "--tune", "50", "--chains",
         "2", "--seed", "3", "--json", "fit.json"],
        cwd=work,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    j = json.loads((work / "fit.json").read_text())
    mean = j["mean_survival_years"]
    # the simulation's truth: Weibull(shape 1.3, scale 4 years) alone, mean 4 Gamma(1 + 1/1.3)
    # = 3.69 years (the population's hazard at 60, about 0.01 a year, barely lowers it), inside
    # the 95% interval (the model's hazard is never below the population's, so its mean is below
    # the life expectancy by construction: not a check)
    from scipy.special import gamma

    assert mean["lower"] < 4 * gamma(1 + 1 / 1.3) < mean["upper"]
    assert j["horizon_years"] > 0
    assert sorted(p.name for p in work.iterdir()) == ["fit.json", "ipd.csv"]


def test_demo_refuses_to_replace_its_results_without_force(tmp_path):
    """Checked before any work: an earlier demo's folder needs --force, a foreign one is kept."""
    from typer.testing import CliRunner

    from bayesurv.cli import app

    earlier = tmp_path / "demo"
    earlier.mkdir()
    (earlier / ".bayesurv-demo").write_text("")
    (earlier / "report.html").write_text("earlier")
    r = CliRunner().invoke(app, ["demo", "--out", str(earlier), "--quiet"])
    assert r.exit_code == 2 and "--force" in r.output, r.output
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("x")
    r = CliRunner().invoke(app, ["demo", "--out", str(mine), "--force", "--quiet"])
    assert r.exit_code == 2 and "did not write" in r.output, r.output
    assert (earlier / "report.html").read_text() == "earlier"
    assert (mine / "thesis.txt").read_text() == "x"
