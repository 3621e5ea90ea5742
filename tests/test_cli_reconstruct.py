"""The command line: reconstruct and demo, and one sentence with exit code 2 for bad input."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bayesurv import __version__
from bayesurv.cli import app

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "gbsg2"
runner = CliRunner()


def test_version_and_help():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0 and "Kaplan-Meier" in r.output and "reconstruct" in r.output


def test_reconstruct_writes_ipd_report_and_plot(tmp_path):
    out = tmp_path / "ipd.csv"
    plot = tmp_path / "rec.png"
    r = runner.invoke(
        app,
        [
            "reconstruct",
            str(EXAMPLE / "clicks_tamoxifen.csv"),
            "--at-risk",
            str(EXAMPLE / "at_risk.csv"),
            "--arm",
            "tamoxifen",
            "--total-events",
            "94",
            "--out",
            str(out),
            "--plot",
            str(plot),
        ],
    )
    assert r.exit_code == 0, r.output
    text = out.read_text().splitlines()
    assert text[0] == "time,event,arm" and len(text) == 247
    rep = json.loads(out.with_suffix(".report.json").read_text())
    assert rep["n"] == {"reported": 246, "reconstructed": 246}
    assert rep["events"] == {"reported": 94, "reconstructed": 94}
    assert rep["km_vs_clicks"]["max_abs_diff"] < 0.03
    assert rep["provenance"]["inputs"]["curve"]["sha256"]
    assert "pymc" in rep["provenance"]["versions"]
    assert plot.stat().st_size > 10_000
    # nothing the user has is overwritten
    before = out.read_bytes()
    r = runner.invoke(
        app, ["reconstruct", str(EXAMPLE / "clicks_tamoxifen.csv"), "--n", "246", "--out", str(out)]
    )
    assert r.exit_code == 2 and "already exists" in r.output and out.read_bytes() == before


@pytest.mark.parametrize(
    "curve, extra, match",
    [
        ("time,survival\n", [], "no data rows"),
        ("", [], "is empty"),
        ("time,surv\n0,1\n1,0.9\n", [], "needs 'time' and 'survival'"),
        ("time,survival\n0,1\n-2,0.9\n3,0.8\n", [], "time -2 is negative"),
        ("time,survival\n0,100\n2,140\n3,80\n", [], "above 100%"),
        ("time,survival\n0,1\n", [], "only 1 point"),
        ("time,survival\n0,1\n2,0.9\n9,0.8\n", ["--at-risk", "NAR"], "numbers at risk rise"),
        ("time,surv_pct\n0,100\n2,90\n", ["--columns", "time,surv"], "no column 'surv'"),
        ("time,survival\n0,1\n2,0.9\n", ["--columns", "time"], "not two column names"),
        ("time,survival\n0,1\n2,0.9\n", ["--censor-marks", "MARKS"], "time -3 is negative"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_nothing_written(tmp_path, curve, extra, match):
    c = tmp_path / "curve.csv"
    c.write_text(curve)
    (tmp_path / "nar.csv").write_text("time,at_risk\n0,50\n5,40\n8,45\n")
    (tmp_path / "far.csv").write_text("time,at_risk\n0,50\n5,40\n30,20\n")
    (tmp_path / "marks.csv").write_text("time\n1.5\n-3\n")
    files = {"NAR": "nar.csv", "FAR": "far.csv", "MARKS": "marks.csv"}
    extra = [str(tmp_path / files[x]) if x in files else x for x in extra]
    if "--at-risk" not in extra:
        extra += ["--n", "50"]
    out = tmp_path / "out.csv"
    r = runner.invoke(app, ["reconstruct", str(c), "--out", str(out), *extra])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and match in lines[0], r.output
    assert "Traceback" not in r.output
    assert not out.exists() and not out.with_suffix(".report.json").exists()


def test_missing_file_is_one_sentence(tmp_path):
    r = runner.invoke(
        app,
        ["reconstruct", str(tmp_path / "nope.csv"), "--n", "5", "--out", str(tmp_path / "o.csv")],
    )
    assert r.exit_code == 2 and "no such file" in r.output


def test_a_table_past_the_last_click_is_accepted_and_said(tmp_path):
    c = tmp_path / "curve.csv"
    c.write_text("time,survival\n0,1\n2,1\n2,0.9\n9,0.9\n9,0.8\n15.2,0.8\n")
    nar = tmp_path / "nar.csv"
    nar.write_text("time,at_risk\n0,50\n6,44\n12,30\n18,18\n")
    out = tmp_path / "ipd.csv"
    r = runner.invoke(app, ["reconstruct", str(c), "--at-risk", str(nar), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "runs past the last click" in " ".join(r.output.split())
    rep = json.loads(out.with_suffix(".report.json").read_text())
    assert rep["at_risk"][-1] == {
        "time": 18.0,
        "reported": 18,
        "reconstructed": 0,
        "beyond_curve": True,
    }
    assert rep["n"]["reconstructed"] == 50


def test_other_column_names_and_censor_marks(tmp_path):
    c = tmp_path / "curve.csv"
    c.write_text("months,surv_pct\n0,100\n2,100\n2,90\n9,90\n9,80\n20,80\n")
    marks = tmp_path / "marks.csv"
    marks.write_text("arm,time,survival\nA,4,0.9\nA,12,0.8\nA,15,0.8\nB,3,0.7\n")
    out = tmp_path / "ipd.csv"
    r = runner.invoke(
        app,
        [
            "reconstruct",
            str(c),
            "--columns",
            "months,surv_pct",
            "--n",
            "20",
            "--arm",
            "A",
            "--censor-marks",
            str(marks),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    ipd = out.read_text().splitlines()
    cens = sorted(float(line.split(",")[0]) for line in ipd[1:] if line.split(",")[1] == "0")
    assert cens[:3] == [4.0, 12.0, 15.0]  # the marks of arm A; the rest at the end (20)
    assert all(t == 20.0 for t in cens[3:])
    rep = json.loads(out.with_suffix(".report.json").read_text())
    assert rep["censor_marks"]["given"] == 3
    assert rep["provenance"]["inputs"]["censor_marks"]["sha256"]


def test_a_trace_from_a_padded_figure_is_read_as_written(tmp_path):
    # digitize output of an R/ggplot-style figure whose frame is padded: the trace's flat start
    # lies before t = 0 (by 4% of the axis); it was refused as a bad click
    c = tmp_path / "arm1.csv"
    c.write_text("time,survival\n-1.4,1\n-0.3,1\n2,1\n2,0.9\n9,0.9\n9,0.8\n20,0.8\n")
    out = tmp_path / "ipd.csv"
    r = runner.invoke(app, ["reconstruct", str(c), "--n", "30", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rep = json.loads(out.with_suffix(".report.json").read_text())
    assert any("flat start before time 0" in line for line in rep["cleaning"]["log"])
    assert rep["n"]["reconstructed"] == 30


def test_draws_range_is_computed_and_labelled_at_the_ci_asked(tmp_path):
    """``--ci 0.9`` (issue 14's one width): the --draws RMST range is the 5% and 95% quantiles
    of the random reconstructions' RMSTs, each recomputed here by lifelines (Kaplan-Meier, then
    the area under it to the report's horizon), and the line says "90% range" (it said 95%
    whatever the width)."""
    import re

    import numpy as np
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    from bayesurv.cli.reconstruct import run_reconstruction

    out = tmp_path / "ipd.csv"
    args = ["--at-risk", str(EXAMPLE / "at_risk.csv"), "--arm", "tamoxifen"]
    r = runner.invoke(
        app,
        ["reconstruct", str(EXAMPLE / "clicks_tamoxifen.csv"), *args, "--total-events", "94"]
        + ["--out", str(out), "--draws", "30", "--seed", "3", "--ci", "0.9"],
    )
    assert r.exit_code == 0, r.output
    line = " ".join(r.output.split())
    got = re.search(r"RMST ([\d.]+)-([\d.]+) \((\d+)% range\)", line)
    assert got is not None, line
    assert got.group(3) == "90"
    rep = json.loads(out.with_suffix(".report.json").read_text())
    u = rep["uncertainty"]
    assert u["ci"] == 0.9
    # the same 30 reconstructions (same seed), their RMSTs by lifelines
    rec = run_reconstruction(
        EXAMPLE / "clicks_tamoxifen.csv",
        at_risk=EXAMPLE / "at_risk.csv",
        total_events=94,
        n=None,
        arm="tamoxifen",
        dataset=None,
        percent=None,
        cumulative_incidence=False,
        method="bayesurv",
        draws=30,
        seed=3,
    )
    tau = rep["rmst"]["to"]
    rmst = []
    for d in rec.draws:
        km = KaplanMeierFitter().fit(d["time"], d["event"])
        rmst.append(restricted_mean_survival_time(km, t=tau))
    want = np.quantile(rmst, [0.05, 0.95])
    assert u["rmst"] == pytest.approx(want, abs=1e-6)
    assert [float(got.group(1)), float(got.group(2))] == pytest.approx(want, abs=0.006)
    assert np.quantile(rmst, 0.975) - np.quantile(rmst, 0.025) > want[1] - want[0]  # not 95%


def test_reconstruct_refuses_a_ci_outside_0_1(tmp_path):
    out = tmp_path / "ipd.csv"
    r = runner.invoke(
        app,
        ["reconstruct", str(EXAMPLE / "clicks_tamoxifen.csv"), "--n", "246", "--out", str(out)]
        + ["--ci", "95"],
    )
    assert r.exit_code == 2 and "must lie in (0, 1)" in r.output and not out.exists()
    assert len(r.output.strip().splitlines()) == 1
