"""`bayesurv run`: a spec runs end to end into a results folder, reproducibly, and the case
study's fitted models reproduce what was published."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from reference_pool import NormalNormal, effects
from typer.testing import CliRunner

from bayesurv.browser import chromium, render
from bayesurv.cli import app

ROOT = Path(__file__).resolve().parent.parent
PEDIATRIC_EFS = {"set": "pediatric", "outcome": "event-free"}

SMALL = """
title = "small"
seed = 7
[sampling]
draws = 300
tune = 300
chains = 2
[[survival]]
name = "EFS"
endpoint = "EFS"
landmarks = "{root}/data/case_study/study_20120215_landmarks.csv"
events = "{root}/data/case_study/study_20120215_events.csv"
families = ["weibull"]
cure = ["mixture"]
horizon_years = 30
landmark_times = [12, 60, 120]
[survival.population]
life_table = "{root}/data/lifetables/survexp_us.csv"
age_distribution = "uniform"
age_min = 1
age_max = 17
male = 0.5
year = 2014
[[pool]]
name = "EFS pool"
effects = "{root}/data/effects_blinatumomab.csv"
where = {{ set = "pediatric", outcome = "event-free" }}
[queries]
statements = ["P(efs_pool_pooled_hr < 1)", "P(efs_surv_diff(60) > 0.10)"]
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    spec = d / "small.toml"
    spec.write_text(SMALL.format(root=ROOT))
    r = CliRunner().invoke(app, ["run", str(spec), "--out", str(d / "out"), "--quiet"])
    assert r.exit_code == 0, r.output
    return d, spec


@pytest.mark.mcmc
def test_results_folder_has_everything(small_run):
    d, _ = small_run
    out = d / "out"
    for name in ("summary.json", "report.html", "efs.nc", "efs_pool.nc", "efs/weibull-mixture.nc"):
        assert (out / name).exists(), name
    assert list((out / "figures").glob("*.png")) and list((out / "figures").glob("*.svg"))
    s = json.loads((out / "summary.json").read_text())
    assert s["survival"]["EFS"]["base_case"] == "weibull-mixture"
    assert [q["statement"] for q in s["queries"]] == [
        "P(efs_pool_pooled_hr < 1)",
        "P(efs_surv_diff(60) > 0.10)",
    ]
    # P(pooled HR < 1) against the model integrated independently (tests/reference_pool.py,
    # 0.99092; defaults normal(0, 4), halfnormal(0.5)): the exact answer reported to 1e-6, the
    # 600 NUTS draws' share within 4 of its MCSE (0.015 measured; binomial error as a floor)
    ref = NormalNormal(*effects(ROOT / "data" / "effects_blinatumomab.csv", **PEDIATRIC_EFS))
    p = ref.p_mu_below(0.0)
    q = s["queries"][0]
    assert q["reported_probability"] == pytest.approx(p, abs=1e-6)
    mcse = max(q["mcse"], np.sqrt(p * (1 - p) / q["draws"]))
    assert q["probability"] == pytest.approx(p, abs=4 * mcse)
    # every section samples the spec's draws, so statements never mix padded draws
    assert {q["draws"] for q in s["queries"]} == {2 * 300}
    tree = xr.open_datatree(out / "efs.nc")
    assert {"posterior", "derived", "sample_stats"} <= set(tree.children)
    prov = json.loads(tree.attrs["bayesurv_provenance"])
    assert prov["seed"] and "pymc" in prov["versions"] and prov["inputs"]


@pytest.mark.mcmc
def test_rerun_needs_force_and_reproduces_the_numbers(small_run):
    d, spec = small_run
    runner = CliRunner()
    r = runner.invoke(app, ["run", str(spec), "--out", str(d / "out"), "--quiet"])
    assert r.exit_code == 2 and "already exists" in r.output
    r = runner.invoke(app, ["run", str(spec), "--out", str(d / "again"), "--quiet"])
    assert r.exit_code == 0, r.output
    a = json.loads((d / "out" / "summary.json").read_text())
    b = json.loads((d / "again" / "summary.json").read_text())
    assert a["queries"] == b["queries"]
    assert (
        a["survival"]["EFS"]["models"]["weibull-mixture"]["rmst"]["difference"]
        == b["survival"]["EFS"]["models"]["weibull-mixture"]["rmst"]["difference"]
    )


@pytest.mark.mcmc
def test_query_command_reads_a_section_result(small_run):
    d, _ = small_run
    r = CliRunner().invoke(
        app,
        [
            "query",
            str(d / "out" / "efs.nc"),
            "P(surv_diff(60) > 0.10)",
            "P(cure_diff > 0)",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows[1]["probability"] > 0.9


@pytest.mark.mcmc
def test_folder_not_written_by_bayesurv_is_never_replaced(small_run, tmp_path):
    _, spec = small_run
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    r = CliRunner().invoke(app, ["run", str(spec), "--out", str(mine), "--force", "--quiet"])
    assert r.exit_code == 2 and "did not write" in r.output
    assert (mine / "thesis.docx").read_text() == "precious"


@pytest.mark.mcmc
@pytest.mark.skipif(
    chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_report_opens_in_chromium_with_figures(small_run, tmp_path):
    d, _ = small_run
    shot = tmp_path / "report.png"
    errors = render(d / "out" / "report.html", shot, height=4000)
    assert errors == []
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    blue = (
        (np.abs(img[..., 0] - 0x1F) < 40)
        & (np.abs(img[..., 1] - 0x5F) < 40)
        & (np.abs(img[..., 2] - 0x99) < 40)
    )
    assert blue.sum() > 3000  # the experimental arm's curve and band are drawn


def test_bad_spec_is_one_sentence(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('title = "x"\nseed = 1\nsurvivl = 3\n')
    r = CliRunner().invoke(app, ["run", str(spec), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "unknown key 'survivl'" in r.output
    assert not (tmp_path / "o").exists()


@pytest.mark.mcmc
def test_quantities_of_a_results_folder_answer_the_same_questions(small_run):
    from bayesurv.query import probability
    from bayesurv.runner import quantities_from_results

    d, _ = small_run
    s = json.loads((d / "out" / "summary.json").read_text())
    ds = quantities_from_results(d / "out")
    for q in s["queries"]:
        assert probability(q["statement"], ds)["probability"] == pytest.approx(q["probability"])


# --------------------------------------------------------------------------------------------
# [[ipd]] sections: GBSG-2 reconstructed from emulated clicks inside `bayesurv run`
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ipd_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ipd") / "out"
    r = CliRunner().invoke(
        app, ["run", str(ROOT / "tests" / "specs" / "gbsg2_ipd.toml"), "--out", str(out), "--quiet"]
    )
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.mcmc
def test_ipd_section_reconstructs_fits_and_compares(ipd_run):
    """GBSG-2 from emulated clicks (data/examples/gbsg2): the reconstruction matches N, events
    and every number at risk exactly and its KM stays within 0.02 of the clicks; the Weibull PH
    HR covers the original IPD's Cox HR 0.695 (data/examples/gbsg2/truth.csv); LOO compares the
    two families; the IPD, the fits and the best model's NetCDF are written."""
    s = json.loads((ipd_run / "summary.json").read_text())
    g = s["ipd"]["GBSG-2"]
    assert g["source"] == "reconstructed from digitized curves"
    assert g["reference_arm"] == "no_tamoxifen" and g["n"] == {
        "no_tamoxifen": 440,
        "tamoxifen": 246,
    }
    for row in g["reconstruction_accuracy"]:
        assert row["N reported"] == row["N reconstructed"]
        assert row["events reported"] == row["events reconstructed"]
        assert row["max |NAR diff|"] == 0
        assert row["max |dS| (KM vs clicks)"] < 0.02
    hr = g["models"]["weibull"]["hr"]
    assert hr["lower"] < 0.6949 < hr["upper"]
    assert abs(g["cox_hr"]["hr"] / 0.6949 - 1) < 0.03
    assert {r["model"] for r in g["comparison"]} == {"weibull", "lognormal"}
    assert g["best"] in ("weibull", "lognormal")
    for name in ("gbsg_2.nc", "gbsg_2/weibull.nc", "gbsg_2/lognormal.nc", "gbsg_2/ipd.csv"):
        assert (ipd_run / name).exists(), name
    assert [q["statement"] for q in s["queries"]][0] == "P(gbsg_2_surv_diff(60) > 0)"
    assert s["queries"][0]["probability"] > 0.9


@pytest.mark.mcmc
def test_report_says_what_rests_on_reconstructed_curves(ipd_run):
    html = (ipd_run / "report.html").read_text()
    assert "Which results rest on reconstructed curves and which on reported summaries" in html
    assert "curves reconstructed from a digitized figure" in html
    assert "reported summaries only (no curve, no patient-level data)" in html
    # the reconstruction accuracy is a table, not a statement only
    assert "accuracy of the reconstruction" in html and "max |dS| (KM vs clicks)" in html
    assert "numbers at risk matched" in html
    assert "posterior predictive" in html
    # the summary-only section shows the published HR against the model's
    assert "published hazard ratios" in html


def test_ipd_spec_errors_are_one_sentence(tmp_path):
    text = (ROOT / "tests" / "specs" / "gbsg2_ipd.toml").read_text()
    spec = tmp_path / "bad.toml"
    spec.write_text(
        text.replace(
            'totals = "data/examples/gbsg2/events.csv"',
            'totals = "data/examples/gbsg2/events.csv"\nipd = "x.csv"',
        )
    )
    r = CliRunner().invoke(app, ["run", str(spec), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "give either ipd" in r.output
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def cure_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cure") / "res"
    r = CliRunner().invoke(
        app,
        ["run", str(ROOT / "tests" / "specs" / "gbsg2_cure.toml"), "--out", str(out), "--quiet"],
    )
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.mcmc
def test_ipd_section_with_cure_and_life_table_extrapolates_to_a_lifetime(cure_run):
    """[[ipd]] with cure = "mixture", a life table and waning: lifetime
    horizon, cure fractions, landmarks beside the reconstructed KM, life-years gained, the
    extrapolation figures in the report, strict JSON, and queryable life-years."""
    s = json.loads(
        (cure_run / "summary.json").read_text(),
        parse_constant=lambda c: pytest.fail(f"summary.json holds {c}"),
    )
    g = s["ipd"]["GBSG-2 cure"]
    for fam in ("weibull", "lognormal"):
        lt = g["models"][fam]
        assert lt["cure"] == "mixture" and 40 < lt["horizon_years"] < 60  # women aged 53
        assert [r["arm"] for r in lt["cure_fraction"]] == ["no_tamoxifen", "tamoxifen"]
        five = [r for r in lt["landmarks"] if r["years"] == 5]
        for r in five:  # the model reproduces the reconstructed KM at 5 years
            assert r["lower"] - 0.03 < r["km"] < r["upper"] + 0.03
        # life-years gained recomputed from the fit's own survival curves (gbsg_2_cure/FAM.nc,
        # months to the 54-year horizon): the trapezoid rule over (S_tamoxifen - S_none) / 12,
        # undiscounted and discounted at 3.5% a year, (1.035)^(-t/12); the summary's median and
        # 95% interval agree to 1.1e-4 years (asserted 2e-3; continuous discounting,
        # exp(-0.035 t/12), would be off by 0.02)
        ly, ly_disc = _life_years_from_curves(cure_run / "gbsg_2_cure" / f"{fam}.nc", 0.035)
        for got, draws in (
            (lt["life_years_gained"], ly),
            (lt["life_years_gained_discounted"], ly_disc),
        ):
            want = np.quantile(draws, [0.5, 0.025, 0.975])
            np.testing.assert_allclose(
                [got[k] for k in ("median", "lower", "upper")], want, atol=2e-3
            )
    # AIC at the maximum of the same likelihood for every model, cure and background included
    assert all(np.isfinite(r["AIC"]) and r["BIC"] > r["AIC"] for r in g["comparison"])
    html = (cure_run / "report.html").read_text()
    assert "extrapolated survival" in html and "Life-years gained over" in html
    assert s["queries"][0]["statement"] == "P(gbsg_2_cure_life_years_gained > 0)"
    # the share of the best model's draws whose recomputed life-years gained exceed 0 (0.9967
    # for lognormal at seed 5); one draw's worth (1/600) for a draw within the 1e-4 of 0
    ly, _ = _life_years_from_curves(cure_run / "gbsg_2_cure" / f"{g['best']}.nc", 0.035)
    assert s["queries"][0]["probability"] == pytest.approx((ly > 0).mean(), abs=1 / ly.size)


def _life_years_from_curves(nc: Path, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Each draw's life-years gained (experimental minus reference arm) by the trapezoid rule on
    the stored survival curves (time in months), undiscounted and discounted at ``rate`` a year."""
    with xr.open_datatree(nc) as tree:
        d = tree["derived"].to_dataset().load()
    t = d["time"].values
    diff = (d["survival"].sel(arm="tamoxifen") - d["survival"].sel(arm="no_tamoxifen")).values
    ly = np.trapezoid(diff, t, axis=-1).ravel() / 12
    ly_disc = np.trapezoid(diff * (1 + rate) ** (-t / 12), t, axis=-1).ravel() / 12
    return ly, ly_disc


# --- the runner on the execution layer (issue 13: same seed, same numbers; --resume) ---------
SCENARIOS = ROOT / "tests" / "specs" / "gbsg2_scenarios.toml"
STAMPS = {"provenance", "bayesurv_provenance", "created", "created_at", "execution"}


def _numbers(x):
    """summary.json without its time stamps (provenance: versions, command, creation time)."""
    if isinstance(x, dict):
        return {k: _numbers(v) for k, v in x.items() if k not in STAMPS}
    if isinstance(x, list):
        return [_numbers(v) for v in x]
    return x


def _run_spec(out, *extra):
    r = CliRunner().invoke(
        app, ["run", str(SCENARIOS), "--out", str(out), "--quiet", "--draws", "100", *extra]
    )
    assert r.exit_code == 0, r.output
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "res"
    return out, _run_spec(out, "--scheduler", "serial")


def _same_trees(a, b):
    for group in ("posterior", "derived", "log_likelihood"):
        x, y = a[group].to_dataset(), b[group].to_dataset()
        assert set(x.data_vars) == set(y.data_vars), group
        for name in x.data_vars:
            np.testing.assert_array_equal(x[name].values, y[name].values, err_msg=name)


@pytest.mark.mcmc
def test_a_local_cluster_of_two_workers_gives_the_serial_numbers(serial_run, tmp_path):
    """Issue 13: a spec's fits (sections and scenarios) serially and on local:2 give identical
    numbers: summary.json equal apart from time stamps, every draw of the base case equal."""
    out, serial = serial_run
    cluster = _run_spec(tmp_path / "res", "--scheduler", "local:2")
    assert _numbers(cluster) == _numbers(serial)
    # the base case's HR against the Weibull PH MLE of the same reconstructed IPD (lifelines
    # WeibullAFTFitter, HR = exp(-beta x rho): 0.672, se of log HR 0.125); the posterior median
    # of 2 x 100 draws within 0.07 on the log scale, 4 Monte Carlo errors of a median at an
    # effective 100 draws (1.25 x 0.125 / 10 = 0.016; measured 0.657, 0.023 off)
    from lifelines import WeibullAFTFitter

    ipd = pd.read_csv(out / "gbsg_2" / "ipd.csv")
    ipd["x"] = (ipd["arm"] == "tamoxifen").astype(float)
    aft = WeibullAFTFitter().fit(ipd[["time", "event", "x"]], "time", "event")
    mle = -aft.params_[("lambda_", "x")] * np.exp(aft.params_[("rho_", "Intercept")])
    hr = serial["scenarios"]["GBSG-2"]["rows"][0]["quantities"]["hr"]["median"]
    assert abs(np.log(hr) - mle) < 0.07
    with (
        xr.open_datatree(out / "gbsg_2.nc") as a,
        xr.open_datatree(tmp_path / "res" / "gbsg_2.nc") as b,
    ):
        _same_trees(a.load(), b.load())


@pytest.mark.mcmc
def test_resume_after_a_killed_run_keeps_its_fits_and_the_numbers(serial_run, tmp_path):
    """A run killed (SIGKILL) after its first fit keeps it in <out>.jobs; without --resume the
    folder is refused in one sentence; --resume runs only the rest and gives the serial run's
    numbers."""
    import os
    import signal
    import subprocess
    import sys
    import time

    _, serial = serial_run
    out = tmp_path / "res"
    jobs = tmp_path / "res.jobs"
    code = (
        "import sys; from bayesurv.cli import main; sys.argv = ['bayesurv', 'run', "
        f"{str(SCENARIOS)!r}, '--out', {str(out)!r}, '--quiet', '--draws', '100', "
        "'--scheduler', 'serial']; main()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline = time.time() + 600
        while time.time() < deadline and proc.poll() is None:
            if len(list((jobs / "tasks").glob("*.meta.json"))) >= 1:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    done = {p.name for p in (jobs / "tasks").glob("*.meta.json")}
    assert 1 <= len(done) < 4 and not out.exists()
    r = CliRunner().invoke(app, ["run", str(SCENARIOS), "--out", str(out), "--quiet"])
    assert r.exit_code == 2 and "--resume" in r.output and "res.jobs" in r.output
    resumed = _run_spec(out, "--scheduler", "serial", "--resume")
    assert _numbers(resumed) == _numbers(serial)
    assert not jobs.exists()  # removed once every fit is in the results folder


def test_scheduler_option_is_checked_before_any_work(tmp_path):
    r = CliRunner().invoke(
        app, ["run", str(SCENARIOS), "--out", str(tmp_path / "o"), "--scheduler", "locl"]
    )
    assert r.exit_code == 2 and "--scheduler" in r.output and "local:N" in r.output
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.jobs").exists()


def test_default_scheduler_fits_the_cores():
    from bayesurv.runner import choose_scheduler
    from bayesurv.spec import AnalysisSpec

    spec = AnalysisSpec.model_validate(
        {"title": "t", "seed": 1, "pool": [{"name": "p", "effects": "x.csv"}]}
    )
    assert choose_scheduler("serial", spec) == "serial"
    with_exec = spec.model_copy(
        update={"execution": spec.execution.model_copy(update={"scheduler": "local:3"})}
    )
    assert choose_scheduler(None, with_exec) == "local:3"
    assert choose_scheduler("tcp://127.0.0.1:1", with_exec) == "tcp://127.0.0.1:1"
    from bayesurv.batch import local_workers

    want = "local" if local_workers(spec.sampling.chains) >= 2 else "serial"
    assert choose_scheduler(None, spec) == want


@pytest.mark.mcmc
@pytest.mark.slow
def test_a_spec_through_a_dask_scheduler_address_runs_on_its_worker(serial_run, tmp_path):
    """Issue 13: `bayesurv run --scheduler tcp://127.0.0.1:PORT` on a `dask scheduler` and a
    `dask worker` started here (loopback only) gives the serial numbers, and the fits ran on
    that worker."""
    import os
    import subprocess
    import sys
    import time

    dask = str(Path(sys.executable).with_name("dask"))
    sfile = tmp_path / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    quiet = {
        "cwd": tmp_path,
        "env": env,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
    }
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sfile)],
            **quiet,
        )
    ]  # fmt: skip
    try:
        deadline = time.time() + 120
        while not sfile.exists() and time.time() < deadline:
            assert procs[0].poll() is None, "dask scheduler exited"
            time.sleep(0.2)
        address = json.loads(sfile.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(
            subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--host",
                 "127.0.0.1", "--no-dashboard", "--no-nanny"],
                **quiet,
            )
        )  # fmt: skip
        remote = _run_spec(tmp_path / "res", "--scheduler", address)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    _, serial = serial_run
    assert _numbers(remote) == _numbers(serial)
    ex = remote["execution"]
    assert ex["scheduler"] == f"Dask cluster at {address}" and ex["fits"] == 4
    assert len(ex["workers"]) == 1 and ex["workers"][0].startswith("tcp://127.0.0.1:")
    assert serial["execution"]["workers"] == ["serial"]


@pytest.mark.slow  # 5 s: four reconstructions of GBSG-2
def test_a_failed_base_case_fit_stops_in_one_sentence_and_keeps_the_job(tmp_path, monkeypatch):
    """No MCMC: every fit task raises. The run refuses in one sentence naming the fit and
    --resume, writes no results folder, and keeps the job folder with the failure records."""
    import bayesurv.batch.fits as fits

    def broken(ipd, model, **kw):
        raise RuntimeError("the sampler could not start")

    monkeypatch.setattr(fits, "section_fit", broken)
    monkeypatch.chdir(ROOT)
    out = tmp_path / "res"
    r = CliRunner().invoke(
        app, ["run", str(SCENARIOS), "--out", str(out), "--quiet", "--scheduler", "serial"]
    )
    assert r.exit_code == 2, r.output
    assert "the fit gbsg_2/weibull failed (RuntimeError: the sampler could not start" in r.output
    assert "--resume" in r.output and "\n" not in r.output.strip()
    assert not out.exists()
    records = list((tmp_path / "res.jobs" / "tasks").glob("*.meta.json"))
    assert len(records) == 4 and all(not json.loads(p.read_text())["ok"] for p in records)


def test_a_life_table_short_of_the_cohort_is_refused_before_any_fit(tmp_path, monkeypatch):
    """No MCMC. A spec's [[ipd]] population on a life table of ages 0-1 for 60-year-olds ran
    with exit 0 (horizon 130 years, no word); it is refused in one sentence before any fit,
    with no results or job folder; life_table_extend = "constant" lets it run, and says so."""
    from known_draws import mock_nuts

    ipd = tmp_path / "ipd.csv"
    rng = np.random.default_rng(5)
    t = rng.exponential(20.0, 60).round(2) + 0.1
    rows = "".join(f"{x},{int(x < 30)},{'ab'[i % 2]}\n" for i, x in enumerate(t.clip(max=30)))
    ipd.write_text("time,event,arm\n" + rows)
    infant = tmp_path / "infant.csv"
    infant.write_text(
        "age,sex,hazard\n" + "".join(f"{a},{s},0.001\n" for a in (0, 1) for s in ("male", "female"))
    )
    spec = tmp_path / "s.toml"
    body = (
        'title = "t"\nseed = 1\n[sampling]\ndraws = 100\ntune = 100\nchains = 2\n'
        '[[ipd]]\nname = "g"\nipd = "ipd.csv"\nfamilies = ["exponential"]\n'
        'time_unit = "months"\npopulation = { life_table = "infant.csv", age = 60, male = 1%s }\n'
    )
    spec.write_text(body % "")
    out = tmp_path / "res"
    r = CliRunner().invoke(app, ["run", str(spec), "--out", str(out), "--scheduler", "serial"])
    assert r.exit_code == 2, r.output
    line = r.output.strip().splitlines()[-1]
    assert "infant.csv: the life table covers ages 0-1" in line and "life_table_extend" in line
    assert not out.exists() and not (tmp_path / "res.jobs").exists()
    mock_nuts(monkeypatch, {})
    spec.write_text(body % ', life_table_extend = "constant"')
    r = CliRunner().invoke(
        app, ["run", str(spec), "--out", str(out), "--scheduler", "serial", "--quiet"]
    )
    assert r.exit_code == 0, r.output
    notes = json.dumps(json.loads((out / "summary.json").read_text()))
    assert "rule: constant hazard beyond the last age" in notes


def test_a_section_writes_the_cycle_draws_of_its_base_case(tmp_path, monkeypatch):
    """No MCMC (known draws). ``cycle = "monthly"`` on an [[ipd]] and a [[survival]] section
    writes ``<key>/cycles.csv``: at every cycle start t = m/12 years, S(t) equals
    outputs.survival of the saved base case at those times draw by draw (an independent
    evaluation: cycle_draws = every draw, so the draws are all of them in order), is
    non-increasing per draw and starts at 1; summary.json says where. An unknown cycle length
    is one sentence naming the key."""
    import pandas as pd
    from known_draws import mock_nuts

    from bayesurv.summaries import CYCLES
    from bayesurv.survival.outputs import survival

    root = Path(__file__).resolve().parents[1]
    ipd = tmp_path / "ipd.csv"
    rng = np.random.default_rng(3)
    t = rng.exponential(20.0, 60).round(2) + 0.1
    rows = "".join(f"{x},{int(x < 30)},{'ab'[i % 2]}\n" for i, x in enumerate(t.clip(max=30)))
    ipd.write_text("time,event,arm\n" + rows)
    cs = root / "data" / "case_study"
    body = (
        'title = "t"\nseed = 1\n[sampling]\ndraws = 100\ntune = 100\nchains = 2\n'
        '[[ipd]]\nname = "g"\nipd = "ipd.csv"\nfamilies = ["weibull"]\nhorizon = 60\n'
        'cycle = "%s"\ncycle_draws = 200\n'
        '[[survival]]\nname = "EFS"\nendpoint = "EFS"\n'
        f'landmarks = "{cs}/study_20120215_landmarks.csv"\n'
        f'events = "{cs}/study_20120215_events.csv"\nfamilies = ["exponential"]\n'
        'cure = ["none"]\nhorizon_years = 5\ncycle = "yearly"\ncycle_draws = 500\n'
    )
    spec = tmp_path / "s.toml"
    spec.write_text(body % "fortnightly")
    out = tmp_path / "res"
    r = CliRunner().invoke(app, ["run", str(spec), "--out", str(out), "--scheduler", "serial"])
    assert r.exit_code == 2, r.output
    line = r.output.strip().splitlines()[-1]
    assert "'ipd[1].cycle' is 'fortnightly'" in line and "monthly" in line, line
    assert sorted(CYCLES) == ["monthly", "weekly", "yearly"]  # one vocabulary with fit --cycle
    mock_nuts(monkeypatch, {})
    spec.write_text(body % "monthly")
    r = CliRunner().invoke(
        app, ["run", str(spec), "--out", str(out), "--scheduler", "serial", "--quiet"]
    )
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    for kind, key, per_year, n_cycles in (("ipd", "g", 12, 61), ("survival", "efs", 1, 6)):
        where = summary[kind]["EFS" if key == "efs" else "g"]["cycles"]
        assert where["file"] == f"{key}/cycles.csv" and where["draws"] == 200
        table = pd.read_csv(out / where["file"])
        assert where["cycles"] == n_cycles == table["cycle"].nunique()
        years = np.arange(n_cycles) / per_year
        np.testing.assert_allclose(np.sort(table["years"].unique()), years, rtol=1e-7)
        with xr.open_datatree(out / f"{key}.nc") as opened:
            tree = opened.load()
        unit = 12.0  # both sections' time unit is months
        ref = survival(tree, years * unit).stack(sample=("chain", "draw")).transpose("sample", ...)
        for a, arm in enumerate(ref["arm"].values):
            got = (
                table[table["arm"] == arm]
                .pivot(index="draw", columns="cycle", values="survival")
                .to_numpy()
            )
            np.testing.assert_allclose(got, ref.isel(arm=a).values, rtol=1e-7, atol=1e-9)
            assert np.all(np.diff(got, axis=1) <= 1e-6) and np.allclose(got[:, 0], 1.0)
