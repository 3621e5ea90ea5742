"""``bayesurv fit``: the JSON contract of design.md (and the long-term fields), the cycle CSV,
figures and NetCDF, the saved result's queries, and one-sentence refusals (exit 2, nothing
written). Contract tests run on known draws (tests/known_draws.py); one end-to-end fit samples
(``mcmc``)."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from known_draws import mock_nuts
from typer.testing import CliRunner

from bayesurv.cli import app
from bayesurv.lifetable import us_life_table
from bayesurv.survival import outputs as O
from bayesurv.survival.fit import Sampler, fit
from bayesurv.survival.population import Population

runner = CliRunner()
QUIET = pytest.mark.filterwarnings(
    "ignore::bayesurv.sampling.ConvergenceWarning",
    "ignore::bayesurv.survival.fit.IdentifiabilityWarning",
)
SMALL = ["--draws", "200", "--tune", "50", "--chains", "2", "--seed", "4"]
POINT = {"log_median": 0.4, "log_shape": 0.2, "log_hr": -0.3, "cure_logit": -0.4}


def simulate(n=300, seed=8, pi=(0.4, 0.6), shape=1.3, scale=2.0, hr=0.7):
    """Two-arm Weibull mixture cure (PH on the uncured), censoring uniform on [3, 6], ages
    1-17."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n // 2)
    cured = rng.random(n) < np.asarray(pi)[arm]
    u = -np.log(rng.random(n)) / np.where(arm == 1, hr, 1.0)
    t = np.where(cured, np.inf, scale * u ** (1 / shape))
    c = rng.uniform(3.0, 6.0, n)
    return pd.DataFrame(
        {
            "time": np.minimum(t, c).round(4),
            "event": (t <= c).astype(int),
            "arm": np.where(arm == 1, "treated", "control"),
            "age": rng.uniform(1, 17, n).round(2),
        }
    )


@pytest.fixture(scope="module")
def ipd_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("fit") / "ipd.csv"
    simulate().to_csv(path, index=False)
    return path


def invoke(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


@QUIET
@pytest.mark.slow
def test_cure_fit_writes_the_contract(ipd_csv, tmp_path, monkeypatch):
    mock_nuts(monkeypatch, {**POINT, "cure_effect": 0.6})
    out, cyc, nc = tmp_path / "out.json", tmp_path / "cycles.csv", tmp_path / "fit.nc"
    invoke(
        "fit", ipd_csv, "--family", "weibull", "--cure", "mixture", "--arm-column", "arm",
        "--effect-on", "both", "--life-table", "us", "--age-column", "age", "--sex", "0.5",
        "--time-unit", "years", "--cycle", "yearly", "--cycle-csv", cyc, "--cycle-draws", "20",
        "--plots", tmp_path / "figures", "--netcdf", nc, "--json", out, *SMALL,
    )  # fmt: skip
    j = json.loads(out.read_text())
    assert (j["family"], j["cure"], j["effect"], j["effect_on"]) == (
        "weibull",
        "mixture",
        "ph",
        "both",
    )
    # the fit contract of design.md: survival rows, rmst, diagnostics
    assert {r["time"] for r in j["survival"]} == {1.0, 2.0, 5.0, 10.0, 20.0}
    assert set(j["survival"][0]) == {"arm", "time", "median", "lower", "upper"}
    assert j["rmst"]["to"] == pytest.approx(j["follow_up"]) and len(j["rmst"]["arms"]) == 2
    assert {"rhat_max", "ess_bulk_min", "divergences"} <= set(j["diagnostics"])
    assert [row["arm"] for row in j["cure_fraction"]] == ["control", "treated"]
    for key in ("life_years_gained", "life_years_gained_discounted", "cure_diff", "hr"):
        assert set(j[key]) == {"median", "lower", "upper"}
    # discounting shrinks the gain; a lifetime horizon for children (ages 1-17)
    assert 0 < j["life_years_gained_discounted"]["median"] < j["life_years_gained"]["median"]
    assert j["horizon_years"] > 80
    marks = {(r["arm"], r["landmark"]) for r in j["landmarks"]}
    assert ("treated", "20 years") in marks
    one = next(r for r in j["landmarks"] if r["arm"] == "control" and r["years"] == 2)
    assert one["km"] is not None and abs(one["km"] - one["median"]) < 0.08
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figures == [
        f"{n}.{e}" for n in ("cure_fraction", "extrapolation", "hazard") for e in ("png", "svg")
    ]
    # the same fit from Python gives the same numbers (same seed, same draws)
    res = fit(
        pd.read_csv(ipd_csv), "weibull", cure="mixture", arm="arm", effect_on="both",
        time_unit="years", seed=4, sampler=Sampler(200, 50, 2),
        population=Population(us_life_table(2014), age_column="age", male=0.5),
    )  # fmt: skip
    cf = O.cure_fraction(res).sel(arm="treated")
    assert j["cure_fraction"][1]["median"] == pytest.approx(float(cf.median()), rel=1e-12)
    lyg = res["derived"]["life_years_gained"]
    assert j["life_years_gained"]["median"] == pytest.approx(float(lyg.median()), rel=1e-12)
    # the committee's questions of the saved result, named as in the derived group
    q = runner.invoke(
        app,
        [
            "query", str(nc), "P(life_years_gained > 0)", "P(cure_diff > 0.148)",
            "P(surv_diff(10) > 0)", "--json",
        ],
    )  # fmt: skip
    assert q.exit_code == 0, q.output
    probs = [row["probability"] for row in json.loads(q.output)]
    assert probs[0] == pytest.approx(float((lyg > 0).mean()))
    # cure_diff from the saved draws of the model's own parameters, in closed form:
    # expit(cure_logit + cure_effect) - expit(cure_logit) (median 0.148 at the known point, so
    # the probability is near one half and says whether the right difference was taken)
    import xarray as xr

    with xr.open_datatree(nc) as tree:
        post = tree["posterior"].to_dataset().load()
    cl, ce = post["cure_logit"].values, post["cure_effect"].values
    diff = 1 / (1 + np.exp(-(cl + ce))) - 1 / (1 + np.exp(-cl))
    want = float((diff > 0.148).mean())
    assert 0.2 < want < 0.8
    assert probs[1] == pytest.approx(want, abs=1e-12)
    # every draw has cure_effect > 0 and log_hr < 0 (0.6 and -0.3, noise sd 0.02): the treated
    # arm survives better at 10 years in every draw (the children's background mortality over
    # 10 years, about 0.3%, is the same life table for both arms)
    assert float((ce > 0).mean()) == 1.0 and float((post["log_hr"].values < 0).mean()) == 1.0
    assert probs[2] == 1.0
    bad = runner.invoke(app, ["query", str(nc), "P(background_survival(10) > 0)"])
    assert bad.exit_code == 2 and "unknown name 'background_survival'" in bad.output
    # the cycle CSV: 20 draws x 2 arms x (lifetime years + 1), S(0) = 1, non-increasing
    tab = pd.read_csv(cyc)
    assert list(tab.columns) == ["arm", "draw", "cycle", "years", "survival"]
    assert tab["draw"].nunique() == 20 and set(tab["arm"]) == {"control", "treated"}
    assert (tab[tab.cycle == 0]["survival"] == 1).all()
    for _, g in tab.groupby(["arm", "draw"]):
        assert np.all(np.diff(g.sort_values("cycle")["survival"]) <= 1e-12)


@QUIET
def test_one_arm_non_mixture_with_times_rmst_and_horizon(ipd_csv, tmp_path, monkeypatch):
    mock_nuts(monkeypatch, POINT)
    ctrl = pd.read_csv(ipd_csv).query("arm == 'control'")
    path = tmp_path / "one.csv"
    ctrl.to_csv(path, index=False)
    out = tmp_path / "one.json"
    invoke(
        "fit", path, "--family", "weibull", "--cure", "non-mixture", "--time-unit", "years",
        "--horizon-years", "30", "--json", out, "--times", "2.5,25", "--rmst-to", "10", *SMALL,
    )  # fmt: skip
    j = json.loads(out.read_text())
    assert set(j["cure_fraction"]) == {"median", "lower", "upper"}
    assert j["horizon_years"] == 30
    assert [r["time"] for r in j["survival"]] == [2.5, 25.0]
    assert set(j["survival"][0]) == {"time", "median", "lower", "upper"}  # design.md's rows
    assert j["rmst"]["to"] == 10
    # the non-mixture (promotion-time) model at the known draws: S(t) = pi^F(t), F the Weibull
    # CDF with median exp(0.4) and shape exp(0.2) (R's dweibull), pi = 1 / (1 + exp(0.4));
    # RMST to 10 by quadrature (4.930; without the cured fraction it would be 1.885)
    from scipy import integrate

    pi, a = 1 / (1 + np.exp(0.4)), np.exp(0.2)
    b = np.exp(0.4) / np.log(2) ** (1 / a)

    def surv(t):
        return pi ** (1 - np.exp(-((t / b) ** a)))

    assert j["rmst"]["median"] == pytest.approx(integrate.quad(surv, 0, 10)[0], rel=3e-3)
    assert j["survival"][0]["median"] == pytest.approx(surv(2.5), abs=2e-3)
    # the non-mixture cure fraction at the draws: 1 / (1 + exp(-cure_logit))
    assert j["cure_fraction"]["median"] == pytest.approx(1 / (1 + np.exp(0.4)), abs=0.005)


@QUIET
def test_two_arms_report_the_hr_and_it_is_constant_under_ph(ipd_csv, tmp_path, monkeypatch):
    mock_nuts(monkeypatch, POINT)
    out, nc = tmp_path / "out.json", tmp_path / "fit.nc"
    invoke(
        "fit", ipd_csv, "--family", "weibull", "--arm-column", "arm", "--times", "1,2,4",
        "--json", out, "--netcdf", nc, *SMALL,
    )  # fmt: skip
    js = json.loads(out.read_text())
    assert js["arms"] == ["control", "treated"] and js["effect"] == "ph"
    assert js["hr"]["median"] == pytest.approx(np.exp(-0.3), rel=0.01)  # the known draws
    for row in js["hazard_ratio"]:
        assert row["median"] == pytest.approx(js["hr"]["median"], rel=1e-9)
    assert "difference" in js["rmst"]
    r = runner.invoke(app, ["query", str(nc), "P(hr < 1)", "P(surv_diff(2) > 0)", "--json"])
    assert r.exit_code == 0, r.output
    assert [row["probability"] for row in json.loads(r.output)] == [1.0, 1.0]
    # the same call again refuses to overwrite
    r = runner.invoke(app, ["fit", str(ipd_csv), "--family", "weibull", "--json", str(out), *SMALL])
    assert r.exit_code == 2 and "already exists" in r.output


@QUIET
@pytest.mark.slow
def test_plots_do_not_change_the_model(ipd_csv, tmp_path, monkeypatch):
    """``--plots`` draws figures; the model (and so every number) is what the other flags say."""
    mock_nuts(monkeypatch, POINT)
    base = ["fit", ipd_csv, "--family", "weibull", "--arm-column", "arm", "--effect", "ph"]
    invoke(*base, "--json", tmp_path / "a.json", *SMALL)
    invoke(*base, "--json", tmp_path / "b.json", "--plots", tmp_path / "figs", *SMALL)
    a, b = (json.loads((tmp_path / f"{k}.json").read_text()) for k in "ab")
    for key in ("effect", "cure", "survival", "rmst", "hr", "priors"):
        assert a[key] == b[key], key


@QUIET
def test_a_cured_fraction_writes_an_infinite_mean_as_inf(tmp_path, monkeypatch):
    # Gompertz with a negative shape: S(inf) = exp(rate / shape) > 0, so the mean is infinite
    # in every draw; JSON has no inf, the file says "inf" and the note says why
    mock_nuts(monkeypatch, {"log_rate": np.log(0.4), "shape_tref": -2.0})
    rng = np.random.default_rng(8)
    ipd = tmp_path / "ipd.csv"
    pd.DataFrame({"time": rng.uniform(0.5, 8.0, 100), "event": rng.integers(0, 2, 100)}).to_csv(
        ipd, index=False
    )
    out = tmp_path / "out.json"
    invoke("fit", ipd, "--family", "gompertz", "--json", out, *SMALL)
    js = json.loads(out.read_text())  # strict JSON parses
    assert js["mean"][0]["median"] == "inf"
    assert js["mean_note"].startswith("mean survival is infinite in 100.0% of posterior draws")


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
        (
            ["--life-table", "GAPPY", "--age", "10", "--sex", "male", "--time-unit", "years"],
            "gap|missing|without gaps",
        ),
        (
            ["--life-table", "us", "--age", "150", "--sex", "male", "--time-unit", "years"],
            "outside 0-110",
        ),
        (["--life-table", "us", "--age", "10", "--sex", "male"], "time unit"),
        (["--smr", "1.5"], "needs a life table"),
        (["--horizon-years", "30"], "needs --time-unit"),
        (["--cure", "mixture", "--cycle-csv", "x.csv"], "needs --cycle"),
        (["--cure", "sometimes"], "unknown cure model"),
        (["--family", "splinez"], "unknown family"),
        (["--prior", "log_shape"], "is not NAME=VALUE"),
        (["--prior", "log_shape=gamma(1, 1)"], "does not suit a real parameter"),
        (["--covariates", "nosuch"], "no column 'nosuch'"),
        (["--ci", "95"], "must lie in \\(0, 1\\)"),
        (["--times", "a,b"], "--times"),
        (["--rmst-to", "-5"], "RMST horizon must be a positive"),
        (["--scale", "odds"], "needs the Royston-Parmar"),
    ],
)
def test_bad_options_exit_2_with_one_sentence(ipd_csv, tmp_path, extra, match):
    extra = [str(_gappy_table(tmp_path)) if x == "GAPPY" else x for x in extra]
    out = tmp_path / "bad.json"
    fam = [] if "--family" in extra else ["--family", "weibull"]
    r = runner.invoke(
        app, ["fit", str(ipd_csv), *fam, "--arm-column", "arm", "--json", str(out), *extra]
    )
    assert r.exit_code == 2, r.output
    msg = r.output.strip()
    assert msg.startswith("bayesurv: ") and len(msg.splitlines()) == 1
    assert re.search(match, msg), msg
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("time,event\n1,0\n2,0\n", [], "has no events"),
        ("time,event\n1,1\n-2,0\n", [], "row 2: time must be a positive"),
        ("time,event\n1,1\n0,0\n", [], "row 2: time must be a positive"),
        ("time,status\n1,1\n", [], "needs 'event'"),
        ("", [], "is empty"),
        ("time,event\n1,1\n", ["--arm-column", "arm"], "no column 'arm'"),
    ],
)
def test_bad_ipd_is_one_sentence_and_exit_2(tmp_path, content, args, message):
    ipd = tmp_path / "ipd.csv"
    ipd.write_text(content)
    out = tmp_path / "out.json"
    r = runner.invoke(app, ["fit", str(ipd), "--family", "weibull", "--json", str(out), *args])
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.mcmc
@pytest.mark.filterwarnings("ignore::bayesurv.sampling.ConvergenceWarning")
def test_fit_samples_end_to_end(ipd_csv, tmp_path):
    """The command as a user runs it (NUTS): the contract holds and the two-arm Weibull HR is
    near the truth of the simulation (0.7 on the uncured; the cure fractions pull a PH fit
    without cure further from 1)."""
    out = tmp_path / "out.json"
    invoke(
        "fit", ipd_csv, "--family", "weibull", "--arm-column", "arm", "--times", "1,2,4",
        "--rmst-to", "4", "--json", out, "--draws", "300", "--tune", "300", "--chains", "2",
    )  # fmt: skip
    js = json.loads(out.read_text())
    assert js["diagnostics"]["divergences"] == 0 and js["diagnostics"]["rhat_max"] < 1.02
    assert 0.4 < js["hr"]["median"] < 0.8
    # S(t) per arm against lifelines' maximum-likelihood Weibull fit of the same data (the PH
    # Weibull is the AFT Weibull reparameterized): with 150 patients an arm and weak priors the
    # posterior median sits near the MLE, which its interval holds
    from lifelines import WeibullAFTFitter

    ipd = pd.read_csv(ipd_csv)
    x = ipd.assign(x=(ipd["arm"] == "treated").astype(int))[["time", "event", "x"]]
    mle = WeibullAFTFitter().fit(x, "time", "event")
    curves = mle.predict_survival_function(pd.DataFrame({"x": [0, 1]}), times=[1.0, 2.0, 4.0])
    assert len(js["survival"]) == 6
    for row in js["survival"]:
        want = float(curves.loc[row["time"], int(row["arm"] == "treated")])
        assert row["median"] == pytest.approx(want, abs=0.015), row
        assert row["lower"] < want < row["upper"], row
    assert js["rmst"]["to"] == 4.0 and js["rmst"]["difference"]["median"] > 0


@QUIET
def test_family_all_writes_the_tsd14_table_with_aic_at_the_mle(tmp_path, monkeypatch):
    """``--family weibull,lognormal`` on GBSG-2 (lifelines' data, 686 patients, two arms by
    hormonal therapy): AIC and BIC equal lifelines' maximum-likelihood Weibull and log-normal
    AFT fits (the Weibull PH model is the Weibull AFT model reparameterized), rows ordered by
    LOO with the best marked, the reference arm as asked, and one figure of every model."""
    from lifelines import LogNormalAFTFitter, WeibullAFTFitter
    from lifelines.datasets import load_gbsg2

    g = load_gbsg2()
    ipd = pd.DataFrame({"time": g["time"], "event": g["cens"], "arm": g["horTh"]})
    path = tmp_path / "gbsg2.csv"
    ipd.to_csv(path, index=False)
    mock_nuts(monkeypatch, {})
    out = tmp_path / "tsd14.json"
    r = invoke(
        "fit", path, "--family", "weibull,lognormal", "--arm-column", "arm",
        "--reference-arm", "yes", "--json", out, "--plots", tmp_path / "figs", *SMALL,
    )  # fmt: skip
    js = json.loads(out.read_text())
    x = ipd.assign(x=(ipd["arm"] == "no").astype(int))[["time", "event", "x"]]
    n = len(ipd)
    for fam, F in (("weibull", WeibullAFTFitter), ("lognormal", LogNormalAFTFitter)):
        ll = F().fit(x, "time", "event").log_likelihood_
        row = next(r for r in js["comparison"] if r["model"] == fam)
        assert row["AIC"] == pytest.approx(6 - 2 * ll, abs=0.01)
        assert row["BIC"] == pytest.approx(3 * np.log(n) - 2 * ll, abs=0.01)
        assert js["models"][fam]["arms"] == ["yes", "no"]
    elpd = [row["elpd_loo"] for row in js["comparison"]]
    assert elpd == sorted(elpd, reverse=True) and js["best"]["loo"] == js["comparison"][0]["model"]
    assert js["best"]["aic"] == "lognormal"  # 5234.2 vs 5270.2 at the MLE
    assert "* best by LOO" in r.output and (tmp_path / "figs" / "models.png").stat().st_size > 0


def _relative_survival_mle(t, e, h_pop, H_pop, registry=None):
    """AIC and BIC of the exponential and Weibull (flexsurv's shape a, scale b) excess hazards
    on top of a known population hazard, maximized by scipy: log L = sum d log(h_pop + h_exc)
    - H_pop - H_exc, plus each registry interval's binomial log C(n, d) + d log(1 - e^-dH)
    - (n - d) dH, dH = H_exc(stop) - H_exc(start) (``registry``: rows start, stop, n, d)."""
    from scipy.optimize import minimize
    from scipy.special import gammaln

    def loglik(h, H):
        ll = np.sum(e * np.log(h_pop + h(t))) - np.sum(H_pop) - np.sum(H(t))
        for a, b, n, d in registry or ():
            dh = H(b) - H(a)
            ll += gammaln(n + 1) - gammaln(d + 1) - gammaln(n - d + 1)
            ll += d * np.log(-np.expm1(-dh)) - (n - d) * dh
        return ll

    models = {
        "exponential": lambda v: loglik(lambda x: np.exp(v[0]) + 0 * x, lambda x: np.exp(v[0]) * x),
        "weibull": lambda v: loglik(
            lambda x: np.exp(v[0] - v[1]) * (x / np.exp(v[1])) ** (np.exp(v[0]) - 1),
            lambda x: (x / np.exp(v[1])) ** np.exp(v[0]),
        ),
    }
    out = {}
    for name, f in models.items():
        k = 1 if name == "exponential" else 2
        opt = {"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}
        ll = -minimize(lambda v, f=f: -f(v), np.zeros(k), method="Nelder-Mead", options=opt).fun
        out[name] = (2 * k - 2 * ll, k * np.log(len(t)) - 2 * ll)
    return out


@QUIET
def test_tsd14_aic_with_a_life_table_or_registry_equals_a_scipy_mle(tmp_path, monkeypatch):
    """``--family exponential,weibull`` with ``--life-table`` (or external registry counts)
    printed AIC/BIC as null: the table's compare was not given the likelihood's arrays. Now
    both equal an independent scipy MLE of the same likelihood (to 0.01): a life table whose
    annual hazard is 0.02 before age 62 and 0.05 from 62 on, so a 60-year-old man's population
    hazard is 0.02 for the first 2 years and 0.05 after; and, without it, a registry interval
    (5 to 10 years: 80 at risk, 30 deaths) whose BIC note says n counts only the patients."""
    mock_nuts(monkeypatch, {})
    rng = np.random.default_rng(3)
    t, c = rng.exponential(4.0, 150), rng.uniform(1, 5, 150)
    ipd = pd.DataFrame({"time": np.minimum(t, c).round(3), "event": (t <= c).astype(int)})
    ipd.to_csv(tmp_path / "ipd.csv", index=False)
    life = [(a, s, 0.02 if a < 62 else 0.05) for s in ("male", "female") for a in range(101)]
    pd.DataFrame(life, columns=["age", "sex", "hazard"]).to_csv(tmp_path / "lt.csv", index=False)
    pd.DataFrame({"start": [5.0], "stop": [10.0], "n_at_risk": [80], "events": [30]}).to_csv(
        tmp_path / "registry.csv", index=False
    )
    t, e = ipd["time"].to_numpy(), ipd["event"].to_numpy()
    cases = {
        "life": (
            ["--life-table", tmp_path / "lt.csv", "--age", "60", "--sex", "male"],
            _relative_survival_mle(
                t, e, np.where(t < 2, 0.02, 0.05), 0.02 * np.minimum(t, 2) + 0.05 * (t - 2).clip(0)
            ),
        ),
        "registry": (
            ["--external-registry", tmp_path / "registry.csv"],
            _relative_survival_mle(t, e, 0.0, 0.0 * t, registry=[(5.0, 10.0, 80, 30)]),
        ),
    }
    for case, (extra, mle) in cases.items():
        out = tmp_path / f"{case}.json"
        r = invoke(
            "fit", tmp_path / "ipd.csv", "--family", "exponential,weibull", *extra,
            "--time-unit", "years", "--json", out, *SMALL,
        )  # fmt: skip
        rows = {row["model"]: row for row in json.loads(out.read_text())["comparison"]}
        for fam, (aic, bic) in mle.items():
            assert rows[fam]["AIC"] == pytest.approx(aic, abs=0.01), (case, fam)
            assert rows[fam]["BIC"] == pytest.approx(bic, abs=0.01), (case, fam)
        assert " n/a " not in r.output
        if case == "life":
            assert all("note" not in row for row in rows.values())
        else:
            assert all("BIC's n is the 150 patients" in row["note"] for row in rows.values())
            assert "note (exponential, weibull): BIC's n is the 150 patients" in r.output


def test_a_file_with_an_arm_column_needs_arm_column_said(ipd_csv, tmp_path):
    """Leaving out --arm-column used to pool both arms silently."""
    r = runner.invoke(
        app, ["fit", str(ipd_csv), "--family", "weibull", "--json", str(tmp_path / "o.json")]
    )
    assert r.exit_code == 2 and "--arm-column arm" in r.output and "--arm-column none" in r.output
    assert not (tmp_path / "o.json").exists()
    r = runner.invoke(
        app,
        ["fit", str(ipd_csv), "--family", "weibull", "--arm-column", "arm", "--reference-arm",
         "placebo", "--json", str(tmp_path / "o.json")],
    )  # fmt: skip
    assert r.exit_code == 2 and "'control', 'treated'" in r.output


def _infant_table(tmp_path):
    """The US 2014 table cut to ages 0-1 (issue 14: such a table for a 60-year-old cohort gave a
    mean survival of 67 years with a lifetime horizon of 130 years, exit 0, no word)."""
    lt = pd.read_csv("data/lifetables/survexp_us.csv", comment="#")
    path = tmp_path / "infant.csv"
    lt[(lt.year == 2014) & (lt.age <= 1)][["age", "sex", "hazard"]].to_csv(path, index=False)
    return path


def _one_arm_ipd(tmp_path):
    rng = np.random.default_rng(1)
    t, c = rng.exponential(7.0, 200), rng.uniform(2, 6, 200)
    path = tmp_path / "ipd.csv"
    pd.DataFrame({"time": np.minimum(t, c).round(3), "event": (t <= c).astype(int)}).to_csv(
        path, index=False
    )
    return path


def test_a_grid_checks_every_familys_model_before_the_first_fit(ipd_csv, tmp_path, monkeypatch):
    """``--family weibull,lognormal --effect ph``: the log-normal is not closed under PH. Its
    model was built only when its turn came, after the Weibull had been sampled; now every
    family's model is checked first and nothing is sampled or written."""
    import bayesurv.sampling

    def sample(*_, **__):
        raise AssertionError("sampled before refusing the grid")

    monkeypatch.setattr(bayesurv.sampling, "sample", sample)
    out = tmp_path / "grid.json"
    r = runner.invoke(
        app,
        ["fit", str(ipd_csv), "--family", "weibull,lognormal", "--effect", "ph", "--arm-column",
         "arm", "--json", str(out), *SMALL],
    )  # fmt: skip
    assert r.exit_code == 2, r.output
    msg = r.output.strip()
    assert len(msg.splitlines()) == 1 and "lognormal family is not closed under proportional" in msg
    assert not out.exists()


@pytest.mark.parametrize("horizon", [[], ["--horizon-years", "20"]])
def test_a_life_table_short_of_the_cohort_is_refused_before_sampling(
    tmp_path, monkeypatch, horizon
):
    import bayesurv.sampling

    def no_sampling(*a, **k):
        raise AssertionError("sampled before refusing the life table")

    monkeypatch.setattr(bayesurv.sampling, "sample", no_sampling)
    ipd, table, out = _one_arm_ipd(tmp_path), _infant_table(tmp_path), tmp_path / "o.json"
    r = runner.invoke(
        app,
        [
            "fit", str(ipd), "--family", "weibull", "--cure", "mixture", "--life-table",
            str(table), "--age", "60", "--sex", "male", "--time-unit", "years", "--json",
            str(out), "--netcdf", str(tmp_path / "o.nc"), *horizon, *SMALL,
        ],
    )  # fmt: skip
    assert r.exit_code == 2, r.output
    msg = r.output.strip()
    assert len(msg.splitlines()) == 1 and msg.startswith(f"bayesurv: {table}: the life table")
    assert "covers ages 0-1, yet the cohort enters at age 60" in msg
    assert ("for a lifetime" if not horizon else "followed to age 80 (20 years)") in msg
    assert "reaches age 100" in msg and "--life-table-extend constant" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["infant.csv", "ipd.csv"]


@QUIET
@pytest.mark.filterwarnings("default::bayesurv.lifetable.LifeTableWarning")
def test_life_table_extend_constant_says_the_rule_and_the_ages(tmp_path, monkeypatch):
    mock_nuts(monkeypatch, {"log_median": np.log(5.0), "log_shape": 0.0, "cure_logit": 0.0})
    ipd, table, out = _one_arm_ipd(tmp_path), _infant_table(tmp_path), tmp_path / "o.json"
    r = invoke(
        "fit", ipd, "--family", "weibull", "--cure", "mixture", "--life-table", table,
        "--life-table-extend", "constant", "--age", "60", "--sex", "male", "--time-unit",
        "years", "--json", out, *SMALL,
    )  # fmt: skip
    assert (
        f"bayesurv: warning: {table} ends at age 1; the cohort (entry at age 60, followed for "
        "a lifetime) takes the hazard of age 1 at every age from 2 on (rule: constant hazard "
        "beyond the last age)." in " ".join(r.output.split())
    )
    assert " ".join(r.output.split()).count("takes the hazard of age 1") == 1
    notes = json.loads(out.read_text())["notes"]
    assert any("rule: constant hazard beyond the last age" in n for n in notes)  # on record
    bad = runner.invoke(
        app,
        ["fit", str(ipd), "--family", "weibull", "--life-table-extend", "constant", "--json",
         str(tmp_path / "b.json")],
    )  # fmt: skip
    assert bad.exit_code == 2 and "--life-table-extend needs --life-table" in bad.output


@QUIET
def test_several_families_show_one_progress_bar_on_a_terminal_only(tmp_path, monkeypatch):
    """``--family a,b``: one rich bar over the families (count, elapsed, ETA) on standard error
    when it is a terminal; nothing at all when it is not (a pipe, a log, CliRunner)."""
    import io

    from rich.console import Console

    import bayesurv.cli.common

    mock_nuts(monkeypatch, {})
    ipd = _one_arm_ipd(tmp_path)
    args = ["fit", ipd, "--family", "weibull,exponential", *SMALL]
    quiet = invoke(*args, "--json", tmp_path / "a.json")
    assert "fitting" not in quiet.output and "ETA" not in quiet.output
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(bayesurv.cli.common, "stderr_console", lambda: terminal)
    loud = invoke(*args, "--json", tmp_path / "b.json")
    shown = screen.getvalue()
    assert "fitted 2 families" in shown and "2/2" in shown and "ETA" in shown
    assert "fitting" not in loud.output  # the bar is not in standard output
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert a["comparison"] == b["comparison"]  # the bar changes nothing


@QUIET
@pytest.mark.filterwarnings("default::bayesurv.lifetable.LifeTableWarning")
@pytest.mark.filterwarnings("default::bayesurv.survival.fit.PopulationWarning")
def test_several_families_keep_every_fits_notes(tmp_path, monkeypatch):
    """``--family weibull,exponential`` with a fixed SMR of 0.5 and a life table extended by
    the constant rule: the JSON's notes were the extension's alone, the SMR note of every fit
    lost; now they hold each distinct note of the fits once, beside the extension's, every
    model keeps its own, and each is said once on the terminal."""
    from bayesurv.survival.fit import smr_note

    mock_nuts(monkeypatch, {})
    ipd, table, out = _one_arm_ipd(tmp_path), _infant_table(tmp_path), tmp_path / "o.json"
    r = invoke(
        "fit", ipd, "--family", "weibull,exponential", "--life-table", table,
        "--life-table-extend", "constant", "--age", "60", "--sex", "male", "--smr", "0.5",
        "--time-unit", "years", "--json", out, *SMALL,
    )  # fmt: skip
    js = json.loads(out.read_text())
    smr = smr_note(0.5)
    assert js["notes"].count(smr) == 1
    assert sum("rule: constant hazard beyond the last age" in n for n in js["notes"]) == 1
    assert all(smr in js["models"][fam]["notes"] for fam in ("weibull", "exponential"))
    said = " ".join(r.output.split())
    assert said.count("the SMR is 0.5, below 1") == 1, r.output
    assert said.count("takes the hazard of age 1") == 1


def test_grid_notes_name_the_models_a_note_is_about():
    """A note every model carries is written once as it is; one of only some models names
    them; the extension rule comes first and once."""
    from bayesurv.cli.fit import _grid_notes

    models = {
        "weibull": {"notes": ["rule", "smr", "left out"]},
        "gompertz": {"notes": ["smr"]},
        "exponential": {"notes": ["rule", "smr", "left out"]},
    }
    assert _grid_notes(models, "rule") == [
        "rule",
        "smr",
        "weibull, exponential: left out",
    ]
    assert _grid_notes({"weibull": {}, "gompertz": {"notes": []}}, None) == []
