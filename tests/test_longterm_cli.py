"""`bayesurv fit --cure ... --life-table ...`: the long-term JSON contract, the cycle CSV, and
one-sentence refusals (exit 2, nothing written)."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayesurv.cli import app
from bayesurv.lifetable import us_life_table
from bayesurv.survival.longterm import fit_longterm
from test_longterm import simulate

runner = CliRunner()
QUIET = pytest.mark.filterwarnings(
    "ignore::bayesurv.sampling.ConvergenceWarning",
    "ignore::bayesurv.survival.longterm.IdentifiabilityWarning",
)
SMALL = ["--draws", "300", "--tune", "300", "--chains", "2", "--seed", "4"]


@pytest.fixture(scope="module")
def ipd_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("lt") / "ipd.csv"
    simulate(n=300, seed=8).to_csv(path, index=False)
    return path


@QUIET
def test_cure_fit_writes_the_contract(ipd_csv, tmp_path):
    out, cyc = tmp_path / "out.json", tmp_path / "cycles.csv"
    args = ["fit", str(ipd_csv), "--family", "weibull", "--cure", "mixture", "--arm-column",
            "arm", "--life-table", "us", "--age-column", "age", "--sex", "0.5", "--time-unit",
            "years", "--cycle", "yearly", "--cycle-csv", str(cyc), "--cycle-draws", "20",
            "--plots", str(tmp_path / "figures"), "--netcdf", str(tmp_path / "fit.nc"),
            "--json", str(out), *SMALL]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    j = json.loads(out.read_text())
    assert j["model"] == "longterm" and j["cure"] == "mixture"
    # the fit contract of design.md: survival rows, rmst, diagnostics
    assert {r["time"] for r in j["survival"]} == {1.0, 2.0, 5.0, 10.0, 20.0}
    assert set(j["survival"][0]) == {"arm", "time", "median", "lower", "upper"}
    assert j["rmst"]["to"] == pytest.approx(j["follow_up"]) and len(j["rmst"]["arms"]) == 2
    assert {"rhat_max", "ess_bulk_min", "divergences"} <= set(j["diagnostics"])
    arms = [row["arm"] for row in j["cure_fraction"]]
    assert arms == ["control", "treated"]
    for row in j["cure_fraction"]:
        assert 0 < row["lower"] < row["median"] < row["upper"] < 1
    for key in ("life_years_gained", "life_years_gained_discounted", "cure_diff"):
        assert set(j[key]) == {"median", "lower", "upper"}
    # discounting shrinks the gain; a lifetime horizon for children
    assert abs(j["life_years_gained_discounted"]["median"]) < abs(j["life_years_gained"]["median"])
    assert j["horizon_years"] > 80
    marks = {(r["arm"], r["landmark"]) for r in j["landmarks"]}
    assert ("treated", "20 years") in marks and ("control", "lifetime (mean, years)") in marks
    one = next(r for r in j["landmarks"] if r["arm"] == "control" and r["years"] == 2)
    assert one["km"] is not None and abs(one["km"] - one["median"]) < 0.08
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figures == [f"{n}.{e}" for n in ("cure_fraction", "extrapolation", "hazard")
                       for e in ("png", "svg")]
    # the committee's questions of a saved long-term result
    q = runner.invoke(app, ["query", str(tmp_path / "fit.nc"), "P(life_years_gained > 0)",
                            "P(cure_diff > 0.1)", "P(surv_diff(10) > 0)", "--json"])
    assert q.exit_code == 0, q.output
    probs = [row["probability"] for row in json.loads(q.output)]
    assert all(0 <= p <= 1 for p in probs)
    bad = runner.invoke(app, ["query", str(tmp_path / "fit.nc"), "P(background_survival(10) > 0)"])
    assert bad.exit_code == 2 and "unknown name 'background_survival'" in bad.output
    # the same fit from Python gives the same numbers (seeded)
    res = fit_longterm(pd.read_csv(ipd_csv), "weibull", cure="mixture", arm_column="arm",
                       life_table=us_life_table(2014), age_column="age", sex=0.5,
                       time_unit="years", seed=4, draws=300, tune=300, chains=2)
    py = float(res["derived"]["cure_fraction"].sel(arm="treated").median())
    assert j["cure_fraction"][1]["median"] == pytest.approx(py, rel=1e-12)
    assert probs[0] == pytest.approx(float((res["derived"]["life_years_gained"] > 0).mean()))
    # the cycle CSV: 20 draws x 2 arms x (lifetime years + 1), S(0) = 1, non-increasing
    tab = pd.read_csv(cyc)
    assert list(tab.columns) == ["arm", "draw", "cycle", "years", "survival"]
    assert tab["draw"].nunique() == 20 and set(tab["arm"]) == {"control", "treated"}
    assert (tab[tab.cycle == 0]["survival"] == 1).all()
    for _, g in tab.groupby(["arm", "draw"]):
        assert np.all(np.diff(g.sort_values("cycle")["survival"]) <= 1e-12)


@QUIET
def test_one_arm_cure_fraction_is_one_interval(ipd_csv, tmp_path):
    ctrl = pd.read_csv(ipd_csv).query("arm == 'control'")
    path = tmp_path / "one.csv"
    ctrl.to_csv(path, index=False)
    out = tmp_path / "one.json"
    r = runner.invoke(app, ["fit", str(path), "--family", "weibull", "--cure", "non-mixture",
                            "--time-unit", "years", "--horizon-years", "30", "--json", str(out),
                            "--times", "2.5,25", "--rmst-to", "10", *SMALL])
    assert r.exit_code == 0, r.output
    j = json.loads(out.read_text())
    assert set(j["cure_fraction"]) == {"median", "lower", "upper"}
    assert j["horizon_years"] == 30
    assert [r["time"] for r in j["survival"]] == [2.5, 25.0]
    assert j["rmst"]["to"] == 10 and j["rmst"]["lower"] < j["rmst"]["median"] < 10


def _gappy_table(tmp_path):
    lt = pd.read_csv("data/lifetables/survexp_us.csv", comment="#")
    lt = lt[(lt.year == 2014) & (lt.age != 40)]
    path = tmp_path / "gappy.csv"
    lt.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--waning", "linear_loghr:120:60"], "is not after t1"),
        (["--family", "mspline", "--waning", "linear_loghr:1:3"], "before the end of follow-up"),
        (["--waning", "soon"], "SCHEME:T1"),
        (["--life-table", "GAPPY", "--age", "10", "--sex", "male", "--time-unit", "years"],
         "gap|missing|without gaps"),
        (["--life-table", "us", "--age", "150", "--sex", "male", "--time-unit", "years"],
         "outside 0-110"),
        (["--life-table", "us", "--age", "10", "--sex", "male"], "time unit"),
        (["--cure", "mixture", "--cycle-csv", "x.csv"], "needs --cycle"),
        (["--cure", "sometimes"], "unknown cure model"),
        (["--family", "splinez"], "unknown family"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(ipd_csv, tmp_path, extra, match):
    extra = [str(_gappy_table(tmp_path)) if x == "GAPPY" else x for x in extra]
    out = tmp_path / "bad.json"
    fam = [] if "--family" in extra else ["--family", "weibull"]
    r = runner.invoke(app, ["fit", str(ipd_csv), *fam, "--arm-column", "arm", "--json", str(out),
                            *extra, "--draws", "50", "--tune", "50", "--chains", "1"])
    assert r.exit_code == 2, r.output
    msg = r.output.strip()
    assert msg.startswith("bayesurv: ") and len(msg.splitlines()) == 1
    import re

    assert re.search(match, msg), msg
    assert not out.exists()
