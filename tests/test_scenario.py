"""`[[scenario]]` analyses (issue 13 item 4): a section run again with options changed, its
headline quantities beside the base case's in summary.json and in one table.

The MCMC tests run tests/specs/gbsg2_scenarios.toml (GBSG-2 from emulated clicks, Weibull with
US 2014 general-population mortality, women aged 53; a pool of reported HRs) with its short
sampling. Scenario fits share the base case's seeds, so

* a scenario that names the base case's own options gives its numbers exactly;
* waning that starts after follow-up (90 months; GBSG-2's last click is at 84 months) leaves
  the likelihood, hence every draw, unchanged: HR, RMST to follow-up and 5-year survival are
  exactly the base case's, and life-years gained fall (the benefit stops at 90 months);
* SMR 8 raises the background hazard: lifetime mean survival falls.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bayesurv.cli import app
from bayesurv.sections.scenario import BASE, scenario_table

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "specs" / "gbsg2_scenarios.toml"


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenarios") / "res"
    r = CliRunner().invoke(
        app, ["run", str(SPEC), "--out", str(out), "--quiet", "--scheduler", "serial"]
    )
    assert r.exit_code == 0, r.output
    assert not (out.parent / "res.jobs").exists()  # the job folder goes after success
    return json.loads((out / "summary.json").read_text())


def _rows(summary, section):
    return {r["scenario"]: r for r in summary["scenarios"][section]["rows"]}


@pytest.mark.mcmc
def test_an_unchanged_scenario_gives_the_base_case_numbers(scenario_run):
    rows = _rows(scenario_run, "GBSG-2")
    assert list(rows) == [BASE, "unchanged", "effect ends at 7.5 years", "SMR 8"]
    base, same = rows[BASE]["quantities"], rows["unchanged"]["quantities"]
    assert len(base) >= 8 and base == same
    # and the base case row is the section's own base case in summary.json
    model = scenario_run["ipd"]["GBSG-2"]["models"]["weibull"]
    assert base["life_years_gained"]["median"] == model["life_years_gained"]["median"]


@pytest.mark.mcmc
def test_waning_after_follow_up_lowers_life_years_gained_only(scenario_run):
    rows = _rows(scenario_run, "GBSG-2")
    base, wan = rows[BASE]["quantities"], rows["effect ends at 7.5 years"]["quantities"]
    for name in ("hr", "rmst_diff", "survival(60)[tamoxifen]", "survival(60)[no_tamoxifen]"):
        # same likelihood, same seed: the same draws, up to rounding (the waning model's graph
        # evaluates the same log density in another order: 1e-13 apart, measured)
        assert wan[name] == pytest.approx(base[name], rel=1e-9), name
    assert base["hr"]["upper"] < 1  # tamoxifen helps, so ending its effect costs life-years
    for name in ("life_years_gained", "life_years_gained_discounted"):
        assert wan[name]["median"] < base[name]["median"] - 0.2, name
    assert (
        wan["mean_survival_years[tamoxifen]"]["median"]
        < (base["mean_survival_years[tamoxifen]"]["median"])
    )
    # the control arm has no effect to lose (its lifetime mean equal up to the quadrature,
    # whose pieces break at the waning time: 3e-6 apart, measured)
    assert wan["mean_survival_years[no_tamoxifen]"] == pytest.approx(
        base["mean_survival_years[no_tamoxifen]"], rel=1e-4
    )


@pytest.mark.mcmc
def test_a_higher_smr_lowers_lifetime_mean_survival(scenario_run):
    rows = _rows(scenario_run, "GBSG-2")
    base, smr = rows[BASE]["quantities"], rows["SMR 8"]["quantities"]
    assert rows["SMR 8"]["changes"] == {"smr": 8}
    # measured: 6.98 -> 6.76 years (posterior sd 0.6, ~300 effective draws: ~4 MC errors)
    a = "mean_survival_years[tamoxifen]"
    assert smr[a]["median"] < base[a]["median"] - 0.08
    assert smr["life_years_gained"]["median"] < base["life_years_gained"]["median"]


@pytest.mark.mcmc
def test_a_wider_tau_prior_widens_the_predictive_interval(scenario_run):
    rows = _rows(scenario_run, "EFS pool")
    assert list(rows) == [BASE, "wide tau prior"]
    base, wide = rows[BASE]["quantities"], rows["wide tau prior"]["quantities"]
    assert wide["tau"]["median"] > base["tau"]["median"]  # exact posteriors: no MC error
    width = lambda q: q["predictive_hr"]["upper"] / q["predictive_hr"]["lower"]  # noqa: E731
    assert width(wide) > width(base)
    # the pool's base case row is the section's exact answer
    assert base["pooled_hr"] == scenario_run["pool"]["EFS pool"]["exact"]["pooled"]["hr"]


@pytest.mark.mcmc
def test_scenario_table_has_the_base_case_first(scenario_run):
    t = scenario_table(scenario_run)
    assert list(t.columns[:4]) == ["section", "scenario", "changes", "model"]
    assert t["scenario"].tolist() == [
        BASE,
        "unchanged",
        "effect ends at 7.5 years",
        "SMR 8",
        BASE,
        "wide tau prior",
    ]
    one = scenario_table(scenario_run, "GBSG-2", formatted=False)
    assert len(one) == 4 and one["changes"].iloc[3] == "smr = 8"
    assert (
        one["hr"].iloc[0]
        == scenario_run["scenarios"]["GBSG-2"]["rows"][0]["quantities"]["hr"]["median"]
    )
    cell = scenario_table(scenario_run, "GBSG-2")["hr"].iloc[0]
    assert cell.startswith("0.") and " to " in cell


def test_scenario_table_without_scenarios_is_empty_and_its_example_runs():
    import doctest

    import bayesurv.sections.scenario as module

    assert scenario_table({"title": "t"}).empty
    res = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


@pytest.mark.slow  # 4 s: five reconstructions of GBSG-2
def test_adding_a_scenario_never_changes_the_base_case_fits(tmp_path, monkeypatch):
    """The base case's fit tasks (keys, seeds, inputs hashes) are the same with and without
    scenarios; a scenario's task has its base model's seed (common random numbers) under its
    own key. No fitting: the tasks are planned only."""
    from bayesurv.batch import inputs_hash
    from bayesurv.runner import _plans
    from bayesurv.sections.common import Progress
    from bayesurv.spec import load_spec

    monkeypatch.chdir(ROOT)
    text = SPEC.read_text()
    bare = tmp_path / "bare.toml"
    bare.write_text(text[: text.index("[[scenario]]")])

    def tasks(path):
        spec, files = load_spec(path)
        plans = _plans(spec, files, Progress(True))
        shared = {k: v for *_, p in plans if p is not None for k, v in p.shared.items()}

        return {
            t.key: (t.seed, inputs_hash(t, t.seed, shared))
            for *_, p in plans
            if p is not None
            for t in p.tasks
        }

    with_sc, without = tasks(SPEC), tasks(bare)
    assert list(without) == ["gbsg_2/weibull"]
    assert {k: with_sc[k] for k in without} == without
    same = with_sc["scenario/unchanged/gbsg_2/weibull"]
    assert same == without["gbsg_2/weibull"]  # the unchanged scenario: the very same fit
    smr = with_sc["scenario/smr_8/gbsg_2/weibull"]
    assert smr[0] == same[0] and smr[1] != same[1]  # same seed, other inputs


def test_a_failed_scenario_is_a_row_that_says_why():
    summary = {
        "scenarios": {
            "OS": {
                "kind": "ipd",
                "rows": [
                    {
                        "scenario": BASE,
                        "changes": {},
                        "model": "weibull",
                        "quantities": {"hr": {"median": 0.7, "lower": 0.5, "upper": 0.9}},
                    },
                    {
                        "scenario": "late waning",
                        "changes": {"waning": {"scheme": "abrupt", "t1": 90}},
                        "model": "",
                        "quantities": {},
                        "failed": "the sampler diverged.",
                    },
                ],
            }
        }
    }
    t = scenario_table(summary, "OS")
    assert t["scenario"].tolist() == [BASE, "late waning"]
    assert t["model"].tolist() == ["weibull", "failed: the sampler diverged."]
    assert t["changes"].iloc[1] == "waning = {scheme = abrupt, t1 = 90}"
    assert t["hr"].iloc[0] == "0.70 (0.50 to 0.90)" and t["hr"].isna().iloc[1]
