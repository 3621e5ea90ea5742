"""One query vocabulary (issue 14 item 2): the natural names on a pool, a survival fit and a
network, times with units, thresholds outside a quantity's range, probabilities for people,
``--list`` and statements copied from the report -- each checked against numpy on the same
draws (known draws, the exact pool and the exact network: no MCMC)."""

import json
import warnings

import numpy as np
import pytest
import xarray as xr
from known_draws import mock_nuts
from typer.testing import CliRunner

from bayesurv.cli import app
from bayesurv.errors import InputError
from bayesurv.query import QueryWarning, for_people, probability, quantities_from_tree
from bayesurv.query_names import NAMES, listing
from bayesurv.survival.fit import Outputs, Sampler, fit
from bayesurv.synthesis.nma import nma
from bayesurv.synthesis.pool import pool

EFFECTS = ([-0.97, -0.36, -0.27], [0.28, 0.2, 0.21], ["AALL1331", "AALL1731", "COG"])
QUIET = pytest.mark.filterwarnings("ignore::bayesurv.survival.fit.IdentifiabilityWarning")


def p_of(statement, ds, **kw):
    return probability(statement, ds, **kw)["probability"]


# ------------------------------------------------------------------------------------ pool
@pytest.fixture(scope="module")
def pool_tree():
    """A pool's posterior as `bayesurv pool --netcdf` saves it, only ``mu, tau, theta,
    theta_new`` (the layout that made the README's 'P(hr < 0.8)' fail)."""
    tree = pool(EFFECTS).to_datatree(seed=5, draws=4000)
    return xr.DataTree.from_dict({"posterior": tree["posterior"].to_dataset()})


@pytest.mark.parametrize(
    "statement, numpy",
    [
        ("P(hr < 0.8)", lambda p: np.exp(p["mu"]) < 0.8),
        ("P(pooled_hr < 0.8)", lambda p: np.exp(p["mu"]) < 0.8),
        ("P(pooled_log_hr < -0.2)", lambda p: p["mu"] < -0.2),
        ("P(log_hr < -0.2)", lambda p: p["mu"] < -0.2),
        ("P(predictive_hr < 1)", lambda p: np.exp(p["theta_new"]) < 1),
        ("P(tau > 0.3)", lambda p: p["tau"] > 0.3),
        (
            "P(hr_study[AALL1331] < 0.5)",
            lambda p: np.exp(p["theta"].sel(study="AALL1331")) < 0.5,
        ),
        (
            "P(hr_subgroup[AALL1731] < hr_subgroup['COG'])",
            lambda p: p["theta"].sel(study="AALL1731") < p["theta"].sel(study="COG"),
        ),
        ('P(study_hr("COG") < 1)', lambda p: p["theta"].sel(study="COG") < 0),
        ("P(mu < 0)", lambda p: p["mu"] < 0),
    ],
)
def test_pool_aliases_match_numpy(pool_tree, statement, numpy):
    ds = quantities_from_tree(pool_tree)
    post = pool_tree["posterior"].to_dataset()
    assert p_of(statement, ds) == pytest.approx(float(numpy(post).mean()), abs=1e-12)


def test_pool_hr_is_the_exact_pooled_probability(pool_tree):
    """The alias answers what the exact solver says (quadrature; independent draws)."""
    exact = pool(EFFECTS).summary(thresholds=(0.8,))["probabilities"]
    ds = quantities_from_tree(pool_tree)
    for statement, key in (
        ("P(hr < 0.8)", "pooled_hr_lt_0_8"),
        ("P(predictive_hr < 0.8)", "predictive_hr_lt_0_8"),
    ):
        res = probability(statement, ds)
        assert res["probability"] == pytest.approx(exact[key], abs=4 * res["mcse"] + 1e-3)


# -------------------------------------------------------------------------------- survival
def _ipd(unit_scale: float):
    rng = np.random.default_rng(4)
    n = 300
    arm = np.repeat([0, 1], n // 2)
    t = 2.0 * (-np.log(rng.random(n)) / np.where(arm == 1, 0.7, 1.0)) ** (1 / 1.3)
    c = rng.uniform(3.0, 6.0, n)
    import pandas as pd

    return pd.DataFrame(
        {
            "time": np.minimum(t, c) * unit_scale,
            "event": (t <= c).astype(int),
            "arm": np.where(arm == 1, "treated", "control"),
        }
    )


@pytest.fixture(scope="module")
def surv(tmp_path_factory):
    """A two-arm Weibull PH fit in months from known draws, saved and read back."""
    mp = pytest.MonkeyPatch()
    try:
        mock_nuts(mp, {"log_median": np.log(30.0), "log_shape": 0.2, "log_hr": -0.3})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit(
                _ipd(12.0),
                "weibull",
                arm="arm",
                time_unit="months",
                seed=3,
                sampler=Sampler(draws=300, tune=100, chains=2),
                outputs=Outputs(horizon=240.0, times=(12.0, 60.0)),
            )
            bare = fit(
                _ipd(12.0),
                "weibull",
                arm="arm",
                seed=3,
                sampler=Sampler(draws=300, tune=100, chains=2),
                outputs=Outputs(times=(12.0, 60.0)),
            )
    finally:
        mp.undo()
    path = tmp_path_factory.mktemp("surv") / "efs.nc"
    res.to_netcdf(path)
    return path, xr.load_datatree(path), bare


@QUIET
@pytest.mark.parametrize(
    "statement, numpy",
    [
        ("P(surv_diff(5 years) > 0.05)", lambda d: d["surv_diff"].sel(time=60.0) > 0.05),
        ("P(surv_diff(60 months) > 0.05)", lambda d: d["surv_diff"].sel(time=60.0) > 0.05),
        ("P(surv_diff(60) > 0.05)", lambda d: d["surv_diff"].sel(time=60.0) > 0.05),
        ("P(surv_diff(60) > 5%)", lambda d: d["surv_diff"].sel(time=60.0) > 0.05),
        (
            'P(survival("treated", 52 weeks) > 0.7)',
            lambda d: d["survival"].sel(arm="treated").interp(time=12 * 52 * 7 / 365.25) > 0.7,
        ),
        ("P(hr < 0.8)", lambda d: d["hr"] < 0.8),
        ("P(rmst_diff > 1)", lambda d: d["rmst_diff"] > 1),
        ("P(median_diff > 3)", lambda d: d["median_diff"] > 3),
        ("P(hazard_ratio(2 years) < 0.8)", lambda d: d["hazard_ratio"].sel(time=24.0) < 0.8),
        ("P(life_years_gained > 0.5)", lambda d: d["life_years_gained"] > 0.5),
    ],
)
def test_survival_names_and_time_units_match_numpy(surv, statement, numpy):
    _, tree, _ = surv
    der = tree["derived"].to_dataset()
    want = float(numpy(der).mean())
    got = p_of(statement, quantities_from_tree(tree))
    assert got == pytest.approx(want, abs=1e-12)


@QUIET
def test_a_unit_on_a_result_without_a_time_unit_is_refused(surv):
    _, _, bare = surv
    ds = quantities_from_tree(bare)
    assert p_of("P(surv_diff(60) > 0)", ds) == pytest.approx(
        float((bare["derived"]["surv_diff"].sel(time=60.0) > 0).mean())
    )
    with pytest.raises(InputError, match="does not say its time unit") as err:
        probability("P(surv_diff(5 years) > 0)", ds)
    assert str(err.value).replace("e.g. ", "").count(". ") == 0  # one sentence


@QUIET
def test_times_with_units_outside_the_grid_say_both_units(surv):
    ds = quantities_from_tree(surv[1])
    with pytest.raises(InputError, match=r"30 years, 360 months.*0 to 240 months"):
        probability("P(surv_diff(30 years) > 0)", ds)
    with pytest.raises(InputError, match="argument of a quantity over time"):
        probability("P(hr < 5 years)", ds)


@QUIET
def test_a_threshold_outside_the_range_warns_once_with_the_fix(surv):
    ds = quantities_from_tree(surv[1])
    with pytest.warns(QueryWarning, match=r"between -1 and 1.*did you mean 0\.1\?"):
        res = probability("P(surv_diff(60) > 10)", ds)
    n = ds.sizes["chain"] * ds.sizes["draw"]
    assert res["probability"] == 0.0 and res["probability_text"] == f"< {3 / n:.3f}"
    with pytest.warns(QueryWarning, match="between 0 and inf"):
        probability("P(hr > -1)", ds)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # in range: silent
        probability("P(surv_diff(60) > 0.10)", ds)
        probability("P(0.5 < hr < 0.9)", ds)


# ------------------------------------------------------------------------------------- nma
@pytest.fixture(scope="module")
def nma_tree(tmp_path_factory):
    res = nma("data/nma_ball_os.csv", reference="chemotherapy", effects="fixed", seed=2)
    path = tmp_path_factory.mktemp("nma") / "os_network.nc"
    res.to_datatree().to_netcdf(path)
    return path, xr.load_datatree(path)


def test_nma_hr_a_vs_b_matches_numpy(nma_tree):
    tree = nma_tree[1]
    ds = quantities_from_tree(tree)
    hr = tree["derived"]["hr"]
    a, b = "blinatumomab", "inotuzumab ozogamicin"
    want = float((hr.sel(treatment=a, vs=b) < 1).mean())
    assert p_of(f"P(hr[{a} vs {b}] < 1)", ds) == pytest.approx(want, abs=1e-12)
    assert p_of(f'P(hr("{a}", "{b}") < 1)', ds) == pytest.approx(want, abs=1e-12)
    d = tree["posterior"]["d"]
    assert p_of(f"P(d[{a}] < d[{b}])", ds) == pytest.approx(
        float((d.sel(treatment=a) < d.sel(treatment=b)).mean()), abs=1e-12
    )
    with pytest.raises(InputError, match="no label 'rituximab'"):
        probability(f"P(hr[rituximab vs {b}] < 1)", ds)
    with pytest.warns(QueryWarning, match="rank"):
        probability("P(rank[blinatumomab] > 5)", ds)


# ------------------------------------------------------------------ for people, the report
def test_probabilities_for_people():
    """All draws: no more than the rule-of-three bound 3/n claims ("> 0.999" from 4,000 draws,
    "> 0.995" from 600); none: "< 0.001"."""
    assert for_people(1.0, 0.0, 4000) == ("> 0.999", "< 0.001")
    assert for_people(0.0, 0.0, 4000) == ("< 0.001", "< 0.001")
    assert for_people(1.0, 0.0, 600) == ("> 0.995", "< 0.005")
    assert for_people(0.9996, 0.0003, 4000) == ("> 0.999", "< 0.001")
    assert for_people(0.9584, 0.0031, 4000) == ("0.958", "0.003")


@QUIET
def test_statements_copied_from_the_report_read_on_the_section_file(surv, pool_tree):
    """The report names quantities ``<section key>_<name>`` (runner); the section's own file
    ``<key>.nc`` accepts them, and no other prefix."""
    tree = surv[1]
    ds = quantities_from_tree(tree, section_key="efs")
    der = tree["derived"].to_dataset()
    want = float((der["surv_diff"].sel(time=60.0) > 0.10).mean())
    assert p_of("P(efs_surv_diff(60) > 0.10)", ds) == pytest.approx(want, abs=1e-12)
    assert p_of("P(efs_surv_diff(60) ≥ 0.10)", ds) == pytest.approx(want, abs=1e-12)
    with pytest.raises(InputError, match="unknown name 'os_surv_diff'"):
        probability("P(os_surv_diff(60) > 0.10)", ds)
    pooled = quantities_from_tree(pool_tree, section_key="efs_across_paediatric_trials")
    post = pool_tree["posterior"]
    assert p_of("P(efs_across_paediatric_trials_pooled_hr < 0.8)", pooled) == pytest.approx(
        float((np.exp(post["mu"]) < 0.8).mean()), abs=1e-12
    )


# ------------------------------------------------------------------------------------- CLI
@QUIET
@pytest.mark.filterwarnings("default::bayesurv.query.QueryWarning")
def test_cli_list_and_query_on_every_kind(surv, pool_tree, nma_tree, tmp_path):
    runner = CliRunner()
    pool_nc = tmp_path / "pool.nc"
    pool_tree.to_netcdf(pool_nc)
    for nc, must in (
        (pool_nc, ["hr", "pooled_hr", "predictive_hr", "tau", "hr_study[label]"]),
        (surv[0], ["surv_diff(t)", 'survival("label", t)', "hr", "rmst_diff"]),
        (nma_tree[0], ["hr[A vs B]", "rank[label]"]),
    ):
        r = runner.invoke(app, ["query", str(nc), "--list", "--json"])
        assert r.exit_code == 0, r.output
        rows = json.loads(r.output)
        names = [x["name"] for x in rows]
        for m in must:
            assert m in names, (nc, names)
        assert all(x["meaning"] for x in rows if x["name"].split("[")[0].split("(")[0] in NAMES)
    unit = {
        x["name"]: x["unit"]
        for x in json.loads(runner.invoke(app, ["query", str(surv[0]), "--list", "--json"]).output)
    }
    assert unit["rmst_diff"] == "months" and unit["life_years_gained"] == "years"
    r = runner.invoke(app, ["query", str(pool_nc), "P(hr < 0.8)", "P(hr < 10)"])
    assert r.exit_code == 0, r.output
    assert "> 0.999" in r.output and "1.000" not in r.output
    r = runner.invoke(
        app, ["query", str(nma_tree[0]), "--list", "P(hr[blinatumomab vs chemotherapy] < 1)"]
    )
    assert r.exit_code == 0, r.output
    assert "hr[A vs B]" in r.output and "hr[blinatumomab vs" in r.output  # not read as markup
    r = runner.invoke(app, ["query", str(surv[0]), "P(surv_diff(5 years) > 10)"])
    assert r.exit_code == 0 and "did you mean 0.1?" in r.output
    r = runner.invoke(app, ["query", str(surv[0])])
    assert r.exit_code == 2 and "--list" in r.output


def test_every_name_in_the_table_has_a_meaning():
    assert all(n.meaning for n in NAMES.values())
    ds = xr.Dataset({"x": (("chain", "draw"), np.zeros((1, 3)))})
    assert listing(ds)["meaning"].tolist() == ["model parameter"]


@QUIET
def test_a_results_folder_answers_the_report_statements(surv, pool_tree, tmp_path):
    """``bayesurv query results/NAME`` reads every section under the report's names
    (``<section key>_<name>``, runner.quantities_from_results), with time units."""
    folder = tmp_path / "results"
    folder.mkdir()
    surv[1].to_netcdf(folder / "efs.nc")
    c, n = surv[1]["posterior"].sizes["chain"], surv[1]["posterior"].sizes["draw"]
    post = pool_tree["posterior"].to_dataset().isel(chain=0, draw=slice(0, c * n))
    post = xr.Dataset(  # the runner draws every section alike: the survival fit's chains x draws
        {
            k: (("chain", "draw", *v.dims[1:]), v.values.reshape(c, n, *v.shape[1:]))
            for k, v in post.items()
        },
        coords={"study": post["study"].values},
    )
    xr.DataTree.from_dict({"posterior": post}).to_netcdf(folder / "efs_across_trials.nc")
    summary = {
        "survival": {"EFS": {"key": "efs"}},
        "pool": {"EFS across": {"key": "efs_across_trials"}},
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    r = CliRunner().invoke(
        app,
        [
            "query",
            str(folder),
            "P(efs_surv_diff(5 years) > 0.05)",
            "P(efs_across_trials_pooled_hr < 0.8)",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    got = [x["probability"] for x in json.loads(r.output)]
    der = surv[1]["derived"]
    lst = CliRunner().invoke(app, ["query", str(folder), "--list", "--json"])
    rows = {x["name"]: x for x in json.loads(lst.output)}
    assert rows["efs_across_trials_pooled_hr"]["meaning"] == NAMES["pooled_hr"].meaning
    assert rows["efs_surv_diff(t)"]["give"].startswith("t in months")
    assert got[0] == pytest.approx(float((der["surv_diff"].sel(time=60.0) > 0.05).mean()))
    assert got[1] == pytest.approx(float((np.exp(post["mu"]) < 0.8).mean()))


def test_undefined_draws_warn_with_their_share():
    """inf - inf (two medians not reached) is NaN: counted false, and said."""
    diff = np.array([[1.0, np.nan, 2.0, np.inf]])  # inf - inf in the second draw
    ds = xr.Dataset({"median_diff": (("chain", "draw"), diff)})
    with pytest.warns(QueryWarning, match=r"NaN\) in 25\.0% of draws"):
        assert p_of("P(median_diff > 0)", ds) == pytest.approx(0.75)
