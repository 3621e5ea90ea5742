"""`bayesurv nma` and the `[[nma]]` spec section on the shipped TOWER / INO-VATE network."""

import json
import math
from pathlib import Path

import pytest
from scipy import stats
from typer.testing import CliRunner

from bayesurv.cli import app

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "nma_ball_os.csv"
runner = CliRunner()


def bucher():
    """Bucher et al. (1997) indirect comparison of blinatumomab with inotuzumab through
    chemotherapy from the published HRs (../shared/evidence/related_trials.toml): TOWER
    HR 0.71, 95% CI 0.55-0.93; INO-VATE HR 0.75, 97.5% CI 0.57-0.99."""
    se_t = (math.log(0.93) - math.log(0.55)) / (2 * stats.norm.ppf(0.975))
    se_i = (math.log(0.99) - math.log(0.57)) / (2 * stats.norm.ppf(0.9875))
    return math.log(0.71) - math.log(0.75), math.hypot(se_t, se_i)


def test_nma_cli_writes_the_json_contract_netcdf_and_plots(tmp_path):
    out, nc, plots = tmp_path / "o.json", tmp_path / "o.nc", tmp_path / "plots"
    res = runner.invoke(
        app,
        [
            "nma",
            str(DATA),
            "--reference",
            "chemotherapy",
            "--effects",
            "fixed",
            "--json",
            str(out),
            "--netcdf",
            str(nc),
            "--plots",
            str(plots),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    for key in ("relative_effects", "tau", "ranks", "diagnostics"):
        assert key in doc
    assert doc["tau"] is None  # fixed effects
    row = next(
        r
        for r in doc["relative_effects"]
        if (r["treatment"], r["vs"]) == ("blinatumomab", "inotuzumab ozogamicin")
    )
    m, s = bucher()
    # the N(0, 4^2) prior on each log HR shrinks by about se^2 / 16: 0.1% here
    assert row["log_hr"]["mean"] == pytest.approx(m, abs=2e-3)
    assert row["log_hr"]["sd"] == pytest.approx(s, rel=2e-3)
    assert row["p_hr_lt_1"] == pytest.approx(stats.norm.cdf(-m / s), abs=2e-3)
    for k in ("mean", "sd", "median", "lower", "upper"):
        assert k in row["log_hr"] and k in row["hr"]
    assert "no closed loop" in doc["consistency"]["nodesplit_note"]
    assert {p.name for p in plots.iterdir()} == {"network.png", "league.png", "forest.png"}
    q = runner.invoke(
        app, ["query", str(nc), 'P(hr("blinatumomab", "inotuzumab ozogamicin") < 1)', "--json"]
    )
    assert q.exit_code == 0, q.output
    r = json.loads(q.output)[0]
    assert r["probability"] == pytest.approx(row["p_hr_lt_1"], abs=4 * r["mcse"] + 0.005)
    assert "blinatumomab" in res.output and "P(HR < 1)" in res.output


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("study,treatment,comparator,log_hr,se\nA,x,c,-0.2,0.1\nB,z,y,-0.1,0.2\n", "disconnected"),
        ("study,treatment,comparator,log_hr,se\nA,x,x,-0.2,0.1\n", "compared with itself"),
        (
            "study,treatment,comparator,log_hr,se\nA,x,c,-0.2,0.1\nA,y,x,-0.1,0.1\n",
            "do not share a comparator",
        ),
        ("study,treatment,comparator,log_hr,se\nA,x,c,-0.2,-0.1\n", "se must be positive"),
        (
            "study,treatment,comparator,hr,lower,upper,ci_level\nA,x,c,0.8,0.6,1.0,95\n",
            "outside (0, 1)",
        ),
    ],
)
def test_bad_networks_exit_2_in_one_sentence_and_write_nothing(tmp_path, text, fragment):
    src = tmp_path / "net.csv"
    src.write_text(text)
    out = tmp_path / "o.json"
    res = runner.invoke(app, ["nma", str(src), "--json", str(out)])
    assert res.exit_code == 2, res.output
    assert fragment in res.output and "net.csv, row" in res.output
    assert "Traceback" not in res.output and not out.exists()


def test_unknown_reference_and_effects_are_refused(tmp_path):
    out = tmp_path / "o.json"
    res = runner.invoke(app, ["nma", str(DATA), "--reference", "placebo", "--json", str(out)])
    assert res.exit_code == 2 and "use one of" in res.output and not out.exists()
    res = runner.invoke(app, ["nma", str(DATA), "--effects", "mixed", "--json", str(out)])
    assert res.exit_code == 2 and "fixed or random" in res.output


def test_the_shipped_spec_answers_the_question_with_its_assumptions(tmp_path):
    # models/ball_nma.toml: P(blinatumomab better than inotuzumab) with its uncertainty, and the
    # words that it rests on one trial per comparison and on similar chemotherapy arms
    from bayesurv.runner import run

    out = tmp_path / "res"
    summary = run(ROOT / "models" / "ball_nma.toml", out, quiet=True, draws=250)
    q = summary["queries"][0]
    assert "blinatumomab" in q["statement"]
    m, s = bucher()
    assert q["probability"] == pytest.approx(stats.norm.cdf(-m / s), abs=4 * q["mcse"] + 0.01)
    sec = summary["nma"]["OS network"]
    assert len(sec["sensitivity"]) == 2 and sec["effects"] == "fixed"
    html = (out / "report.html").read_text()
    assert "one trial per comparison" in html and "chemotherapy arms being similar" in html
    assert "probability that blinatumomab is better" in html
    # each trial is its comparison's only one: PSIS-LOO's k is about 1 for both (k = 1/(1 +
    # se^2/16), test_synthesis_nma), and the report says so wherever the estimate shows it
    loo = sec["diagnostics"]["loo"]
    assert loo["pareto_k_max"] > loo["pareto_k_threshold"]
    assert "LOO is unreliable for" in html and loo["pareto_k_high"][0] in html
    assert (out / "figures" / "OS_network_league.png").exists()
    assert (out / "os_network.nc").exists()
