"""The `bayesurv pool` command: JSON contract, and bad input -> one sentence, exit 2, no file."""

import json
from pathlib import Path

import numpy as np
import pytest
from reference_pool import NormalNormal, effects
from typer.testing import CliRunner

from bayesurv.cli import app

DATA = Path(__file__).resolve().parents[1] / "data"
runner = CliRunner()
PEDIATRIC_EFS = {"set": "pediatric", "outcome": "event-free"}


def test_pool_writes_the_json_contract(tmp_path):
    out = tmp_path / "out.json"
    res = runner.invoke(
        app,
        [
            "pool",
            str(DATA / "effects_blinatumomab.csv"),
            "--where",
            "set=pediatric",
            "--where",
            "outcome=event-free",
            "--mu-prior",
            "normal(0, 4)",
            "--tau-prior",
            "halfnormal(0.5)",
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    for key in ("mean", "median", "lower", "upper"):
        assert key in doc["pooled"]["log_hr"] and key in doc["predictive"]["log_hr"]
    for key in ("median", "lower", "upper"):
        assert key in doc["pooled"]["hr"] and key in doc["tau"] and key in doc["predictive"]["hr"]
    assert [s["study"] for s in doc["studies"]] == [
        "20120215",
        "AALL1331-HR/IR",
        "AALL1331-LR",
        "AALL1731",
    ]
    assert {"log_hr", "hr"} <= set(doc["studies"][0])
    # against the model integrated independently (tests/reference_pool.py: trapezoid rule over
    # tau, mu and theta_new normal given tau), with the same priors normal(0, 4), halfnormal(0.5):
    # P(HR < 1) = 0.99092, P(new HR < 1) = 0.93026, HR 0.554 [0.341, 0.859]
    ref = NormalNormal(*effects(DATA / "effects_blinatumomab.csv", **PEDIATRIC_EFS))
    p = doc["probabilities"]
    assert p["pooled_hr_lt_1"] == pytest.approx(ref.p_mu_below(0.0), abs=1e-6)
    assert p["predictive_hr_lt_1"] == pytest.approx(ref.p_new_below(0.0), abs=1e-6)
    assert doc["diagnostics"]["method"].startswith("exact")
    assert doc["provenance"]["inputs"]["effects"]["sha256"]
    got = [doc["pooled"]["hr"][k] for k in ("lower", "median", "upper")]
    want = [np.exp(ref.mu_quantile(q)) for q in (0.025, 0.5, 0.975)]
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.slow
def test_pool_mcmc_agrees_with_exact_via_cli(tmp_path):
    args = [
        "pool",
        str(DATA / "effects_blinatumomab.csv"),
        "--where",
        "set=pediatric",
        "--where",
        "outcome=overall",
        "--seed",
        "7",
    ]
    r1 = runner.invoke(app, [*args, "--json", str(tmp_path / "e.json")])
    r2 = runner.invoke(app, [*args, "--method", "mcmc", "--json", str(tmp_path / "m.json")])
    assert r1.exit_code == 0 and r2.exit_code == 0, r2.output
    e = json.loads((tmp_path / "e.json").read_text())
    m = json.loads((tmp_path / "m.json").read_text())
    sd = e["pooled"]["log_hr"]["sd"]
    assert abs(e["pooled"]["log_hr"]["mean"] - m["pooled"]["log_hr"]["mean"]) < 0.1 * sd
    assert m["diagnostics"]["divergences"] == 0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("study,hr,lower\nA,0.5,0.3\nB,0.6,0.4\n", "missing"),
        ("study,hr,lower,upper\nA,0.5,0.8,0.3\nB,0.6,0.4,0.9\n", "row 1"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nB,0,0.4,0.9\n", "row 2"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nB,1.2,0.4,0.9\n", "outside its CI"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nB,0.42,0.4,0.9\n", "not centred"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\nA,0.6,0.4,0.9\n", "more than once"),
        ("study,hr,lower,upper\nA,0.5,0.3,0.8\n", "only 1 study"),
    ],
)
def test_bad_input_exits_2_with_one_sentence_and_writes_nothing(tmp_path, text, fragment):
    src = tmp_path / "effects.csv"
    src.write_text(text)
    out = tmp_path / "out.json"
    res = runner.invoke(app, ["pool", str(src), "--json", str(out)])
    assert res.exit_code == 2
    assert fragment in res.output and "effects.csv" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--tau-prior", "__import__('os')", "not a prior for tau"),
        ("--tau-prior", "halfnormal(0.5) + 1", "cannot read"),
        ("--tau-prior", "normal(0, 1)", "not a prior for tau"),
        ("--tau-prior", "halfnormal(-1)", "must be positive"),
        ("--mu-prior", "halfcauchy(1)", "not a prior for mu"),
        ("--method", "magic", "method 'magic'"),
        ("--where", "outcome", "COLUMN=VALUE"),
    ],
)
def test_bad_options_exit_2(tmp_path, option, value, fragment):
    out = tmp_path / "out.json"
    res = runner.invoke(
        app,
        [
            "pool",
            str(DATA / "study_20120215_subgroups.csv"),
            "--where",
            "outcome=EFS",
            "--where",
            "factor=age",
            option,
            value,
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 2, res.output
    assert fragment in res.output
    assert not out.exists()


def test_refuses_to_overwrite(tmp_path):
    out = tmp_path / "out.json"
    out.write_text("keep")
    res = runner.invoke(app, ["pool", str(DATA / "effects_blinatumomab.csv"), "--json", str(out)])
    assert res.exit_code == 2 and out.read_text() == "keep"


@pytest.mark.slow
def test_pool_gives_what_a_meta_analyst_expects(tmp_path):
    # issue 14 item 4: a forest plot file, --netcdf readable by `bayesurv query`, tau-prior
    # sensitivity, leave-one-out, REML, I^2 and the prediction interval beside the Bayesian answer
    from test_synthesis_metaregression import bcg_table

    src = tmp_path / "bcg.csv"
    t = bcg_table().rename(columns={"study": "Study", "log_hr": "logHR", "se": "SE"})
    t.to_csv(src, index=False, sep=";", decimal=",")  # a ';' file with decimal commas
    out, nc, fig = tmp_path / "o.json", tmp_path / "o.nc", tmp_path / "forest.png"
    res = runner.invoke(
        app,
        [
            "pool",
            str(src),
            "--json",
            str(out),
            "--netcdf",
            str(nc),
            "--forest",
            str(fig),
            "--interval",
            "hpd",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["interval"] == "hpd"
    freq = doc["checks"]["frequentist"]
    assert freq["reml"]["tau2"] == pytest.approx(0.3132, abs=5e-5)  # metafor rma(), REML
    assert freq["heterogeneity"]["i2"] == pytest.approx(92.22, abs=5e-3)  # metafor README
    assert freq["knapp_hartung"]["se"] == pytest.approx(0.1808, abs=5e-5)  # metafor README
    assert len(freq["leave_one_out"]) == 13 and len(doc["checks"]["leave_one_out"]) == 13
    assert {"tau_0", "mu_0"} <= set(doc["checks"]["bayes_factors"])
    assert [r["tau_prior"] for r in doc["sensitivity"]][:2] == [
        "halfnormal(0.25)",
        "halfnormal(0.5)",
    ]
    assert fig.stat().st_size > 10_000
    q = runner.invoke(app, ["query", str(nc), "P(pooled_hr < 0.8)", "P(tau > 0.3)", "--json"])
    assert q.exit_code == 0, q.output
    rows = json.loads(q.output)
    p_exact = doc["probabilities"]["pooled_hr_lt_0_8"]
    assert rows[0]["probability"] == pytest.approx(p_exact, abs=4 * rows[0]["mcse"] + 1e-3)
    # P(tau > 0.3) from the draws against the independent quadrature (tests/reference_pool.py),
    # within 4 of the query's Monte Carlo errors
    p_tau = 1 - NormalNormal(t["logHR"], t["SE"]).tau_cdf(0.3)
    assert rows[1]["probability"] == pytest.approx(p_tau, abs=4 * rows[1]["mcse"] + 1e-3)


def test_pool_refuses_existing_side_outputs_before_work(tmp_path):
    out, nc = tmp_path / "o.json", tmp_path / "o.nc"
    nc.write_text("keep")
    res = runner.invoke(
        app,
        [
            "pool",
            str(DATA / "effects_blinatumomab.csv"),
            "--where",
            "set=pediatric",
            "--where",
            "outcome=event-free",
            "--json",
            str(out),
            "--netcdf",
            str(nc),
        ],
    )
    assert res.exit_code == 2 and nc.read_text() == "keep" and not out.exists()


@pytest.mark.slow
def test_pool_plans_a_trial_borrowing_through_the_robust_map_prior(tmp_path):
    out = tmp_path / "o.json"
    res = runner.invoke(
        app,
        [
            "pool",
            str(DATA / "effects_blinatumomab.csv"),
            "--where",
            "set=pediatric",
            "--where",
            "outcome=event-free",
            "--json",
            str(out),
            "--plan-events",
            "120",
            "--sensitivity",
            "none",
        ],
    )
    assert res.exit_code == 0, res.output
    m = json.loads(out.read_text())["map_prior"]
    assert set(m["ess_events"]["robust"]) == {"elir", "moment", "morita"}
    assert m["ess_events"]["robust"]["elir"] < m["ess_events"]["map"]["elir"]
    # without borrowing (the vague N(0, 2^2) part alone, one event's worth) the one-sided
    # type I error is the frequentist 2.5% less a hair; borrowing raises it
    alone = m["planned_trial_without_borrowing"]["type_one_error"]
    assert alone == pytest.approx(0.025, abs=0.002)
    assert m["planned_trial"]["type_one_error"] > alone
    assert "probability of success" in res.output


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--netcdf", "{out}/p.json"], "--netcdf"),  # the --json file, and not NetCDF
        (["--forest", "{out}/f.xyz"], "--forest"),  # a format matplotlib cannot write
        (["--netcdf", "{out}/afile/p.nc"], "afile"),  # a folder that is a file
    ],
)
def test_pool_outputs_are_checked_before_any_work(tmp_path, extra, named):
    out = tmp_path / "out"
    out.mkdir()
    (out / "afile").write_text("x")
    eff = tmp_path / "e.csv"
    eff.write_text("study,log_hr,se\nA,-0.2,0.2\nB,-0.3,0.3\n")
    args = ["pool", str(eff), "--json", str(out / "p.json")]
    args += [a.format(out=out) for a in extra]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and named in r.output, r.output
    assert sorted(p.name for p in out.iterdir()) == ["afile"]  # nothing written


@pytest.mark.slow
def test_nma_plots_are_written_atomically_into_their_folder(tmp_path):
    net = tmp_path / "n.csv"
    net.write_text(
        "study,treatment,comparator,log_hr,se\nA,x,y,-0.2,0.1\nB,y,z,0.1,0.2\nC,x,z,-0.1,0.2\n"
    )
    plots = tmp_path / "out" / "plots"
    args = ["nma", str(net), "--json", str(tmp_path / "out" / "n.json"), "--plots", str(plots)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in plots.iterdir()) == ["forest.png", "league.png", "network.png"]
    again = CliRunner().invoke(app, args)  # outputs exist: refused without --force
    assert again.exit_code == 2 and "--force" in again.output
    assert CliRunner().invoke(app, [*args, "--force"]).exit_code == 0


def test_pool_forest_of_too_many_studies_is_refused(tmp_path, monkeypatch):
    import importlib

    monkeypatch.setattr(importlib.import_module("bayesurv.cli.pool"), "MAX_FOREST_STUDIES", 2)
    eff = tmp_path / "e.csv"
    eff.write_text("study,log_hr,se\nA,-0.2,0.2\nB,-0.3,0.3\nC,-0.1,0.25\n")
    out = tmp_path / "out"
    args = ["pool", str(eff), "--json", str(out / "p.json"), "--forest", str(out / "f.png")]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and "3 studies" in r.output and "--where" in r.output, r.output
    assert not out.exists()
