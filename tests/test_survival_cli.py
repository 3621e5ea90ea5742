"""`bayesurv fit`: the JSON contract and one-sentence refusals (exit 2, nothing written)."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayesurv.cli import app

runner = CliRunner()


@pytest.fixture
def ipd_csv(tmp_path):
    rng = np.random.default_rng(1)
    t = rng.weibull(1.3, 120) * 30
    c = rng.uniform(10, 60, 120)
    arm = np.where(np.arange(120) < 60, "control", "active")
    df = pd.DataFrame(
        {"time": np.minimum(t, c).round(3), "event": (t <= c).astype(int), "arm": arm}
    )
    path = tmp_path / "ipd.csv"
    df.to_csv(path, index=False)
    return path


# short chains for speed: their ESS may fall below 400, which the CLI reports as a warning
LOW_ESS_OK = pytest.mark.filterwarnings("ignore::bayesurv.sampling.ConvergenceWarning")
SMALL = ["--draws", "200", "--tune", "300", "--chains", "2", "--seed", "3"]


@pytest.mark.slow
@LOW_ESS_OK
def test_fit_writes_the_contract(ipd_csv, tmp_path):
    out = tmp_path / "out.json"
    nc = tmp_path / "fit.nc"
    r = runner.invoke(
        app,
        [
            "fit",
            str(ipd_csv),
            "--family",
            "weibull",
            "--times",
            "12,24,48",
            "--rmst-to",
            "48",
            "--json",
            str(out),
            "--netcdf",
            str(nc),
            *SMALL,
        ],
    )
    assert r.exit_code == 0, r.output
    js = json.loads(out.read_text())
    assert js["family"] == "weibull"
    assert [row["time"] for row in js["survival"]] == [12.0, 24.0, 48.0]
    for row in js["survival"]:
        assert set(row) == {"time", "median", "lower", "upper"}
        assert 0 < row["lower"] < row["median"] < row["upper"] < 1
    assert js["rmst"]["to"] == 48.0
    assert js["rmst"]["lower"] < js["rmst"]["median"] < js["rmst"]["upper"] <= 48.0
    assert {"rhat_max", "ess_bulk_min", "divergences"} <= set(js["diagnostics"])
    assert nc.exists()
    # the same call again refuses to overwrite
    r = runner.invoke(app, ["fit", str(ipd_csv), "--family", "weibull", "--json", str(out)])
    assert r.exit_code == 2 and "already exists" in r.output


@pytest.mark.slow
@LOW_ESS_OK
def test_fit_two_arms_reports_hr(ipd_csv, tmp_path):
    out = tmp_path / "out.json"
    nc = tmp_path / "fit.nc"
    args = [
        "fit",
        str(ipd_csv),
        "--family",
        "weibull",
        "--arm-column",
        "arm",
        "--times",
        "12,24,48",
    ]
    r = runner.invoke(app, [*args, "--json", str(out), "--netcdf", str(nc), *SMALL])
    assert r.exit_code == 0, r.output
    js = json.loads(out.read_text())
    assert js["arms"] == ["control", "active"] and js["effect"] == "ph"
    assert {row["arm"] for row in js["survival"]} == {"control", "active"}
    assert js["hr"]["lower"] < js["hr"]["median"] < js["hr"]["upper"]
    # PH: HR(t) is the same at every time and equals the single HR
    assert js["hazard_ratio"][0]["median"] == pytest.approx(js["hr"]["median"], rel=1e-9)
    assert "difference" in js["rmst"]
    # the saved result answers the design's query examples
    r = runner.invoke(app, ["query", str(nc), "P(hr < 1)", "P(surv_diff(24) > 0)", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert 0 <= rows[0]["probability"] <= 1 and 0 <= rows[1]["probability"] <= 1


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("time,event\n1,0\n2,0\n", [], "has no events"),
        ("time,event\n1,1\n-2,0\n", [], "row 2: time must be a positive"),
        ("time,event\n1,1\n0,0\n", [], "row 2: time must be a positive"),
        ("time,status\n1,1\n", [], "no column 'event'"),
        ("", [], "is empty"),
        ("time,event\n1,1\n", ["--family", "weibul"], "unknown family"),
        ("time,event\n1,1\n", ["--arm-column", "arm"], "no column 'arm'"),
        ("time,event\n1,1\n", ["--times", "a,b"], "--times"),
        ("time,event\n1,1\n", ["--rmst-to", "-5"], "RMST horizon must be a positive"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(tmp_path, content, args, message):
    ipd = tmp_path / "ipd.csv"
    ipd.write_text(content)
    out = tmp_path / "out.json"
    base = ["fit", str(ipd), "--json", str(out)]
    if "--family" not in args:
        base += ["--family", "weibull"]
    r = runner.invoke(app, base + args)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.slow
@LOW_ESS_OK
def test_cured_fraction_writes_infinite_mean_as_inf(tmp_path):
    # Gompertz with shape -0.5, rate 0.4: S(inf) = exp(0.4 / -0.5) = 0.45, so the mean is
    # infinite in (nearly) every posterior draw; JSON has no inf, the file says "inf"
    rng = np.random.default_rng(8)
    u = rng.uniform(size=250)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.log1p(-0.5 * -np.log(u) / 0.4) / -0.5
    t = np.where(np.isfinite(t), t, np.inf)
    c = rng.uniform(0.5, 8.0, 250)
    ipd = tmp_path / "ipd.csv"
    pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)}).to_csv(ipd, index=False)
    out = tmp_path / "out.json"
    r = runner.invoke(app, ["fit", str(ipd), "--family", "gompertz", "--json", str(out), *SMALL])
    assert r.exit_code == 0, r.output
    js = json.loads(out.read_text())  # strict JSON parses
    assert js["mean"][0]["median"] == "inf"
    assert "infinite" in js["mean_note"]
