"""``bayesurv fit`` of one model prints its headline numbers (issue leftovers, item 5): a cure
fit printed only "wrote cure.json". The printed cure fractions, HR, medians, means, life-years
gained and RMST are the JSON's numbers at the ``--ci`` width, and (known draws,
tests/known_draws.py) the cure fractions and the HR are the chosen point's: control
expit(-0.5), treated expit(-0.5 + 0.4), HR exp(-0.3), with their 90% intervals from the
draws' noise (sd 0.02 on the logit and log scale)."""

import json
import math
import re

import numpy as np
import pytest
from known_draws import mock_nuts, write_two_arm_weibull_ipd
from scipy import stats
from scipy.special import expit
from typer.testing import CliRunner

from bayesurv.cli import app

POINT = {"log_shape": 0.2, "log_hr": -0.3, "cure_logit": -0.5, "cure_effect": 0.4}
NUM = r"-?[\d,]+(?:\.\d+)?|not reached"


@pytest.fixture(scope="module")
def ipd_csv(tmp_path_factory):
    return write_two_arm_weibull_ipd(tmp_path_factory.mktemp("fit") / "ipd.csv")


def _value(text: str) -> float:
    return math.inf if text == "not reached" else float(text.replace(",", ""))


def printed(output: str) -> dict:
    """``{line label: {arm or "": (median, lower, upper)}}`` of the printed summary."""
    out = {}
    for line in output.splitlines():
        if not line.startswith("  ") or ": " not in line:
            continue
        label, rest = line.strip().split(": ", 1)
        rows = {}
        for part in re.split(r", (?=[A-Za-z])|; ", rest):
            m = re.fullmatch(rf"(?:([A-Za-z][\w ]*?) )?({NUM}) \(({NUM}) to ({NUM})\)", part)
            assert m, (line, part)
            rows[m.group(1) or ""] = tuple(_value(m.group(k)) for k in (2, 3, 4))
        out[label] = rows
    return out


def same(got: tuple, row: dict) -> None:
    """A printed (median, lower, upper) is the JSON row's to the 3 digits printed."""
    for g, key in zip(got, ("median", "lower", "upper"), strict=True):
        want = float(row[key])
        assert g == pytest.approx(want, rel=6e-3, abs=1e-9) or (math.isinf(g) and g == want)


@pytest.mark.filterwarnings(
    "ignore::bayesurv.survival.fit.IdentifiabilityWarning",
    "ignore::bayesurv.sampling.ConvergenceWarning",
)
def test_a_cure_fit_prints_the_numbers_its_json_holds(ipd_csv, tmp_path, monkeypatch):
    mock_nuts(monkeypatch, POINT)
    out = tmp_path / "cure.json"
    r = CliRunner().invoke(
        app,
        ["fit", str(ipd_csv), "--family", "weibull", "--cure", "mixture", "--effect-on", "both"]
        + ["--arm-column", "arm", "--life-table", "us", "--age", "50", "--sex", "0.5"]
        + ["--time-unit", "years", "--ci", "0.9", "--json", str(out)]
        + ["--draws", "400", "--tune", "50", "--seed", "2"],
    )
    assert r.exit_code == 0, r.output
    assert "posterior median (90% interval)" in r.output
    js = json.loads(out.read_text())
    assert js["ci"] == 0.9
    p = printed(r.stdout)
    arms = {row["arm"]: row for row in js["cure_fraction"]}
    assert set(p["cure fraction"]) == {"control", "treated"}
    for arm, got in p["cure fraction"].items():
        same(got, arms[arm])
    same(p["cure fraction difference, treated - control"][""], js["cure_diff"])
    same(p["hazard ratio, treated vs control"][""], js["hr"])
    for label, key in (
        ("median survival", "median"),
        ("mean survival (years)", "mean_survival_years"),
        ("mean survival (years, discounted)", "mean_survival_discounted_years"),
    ):
        rows = {row["arm"]: row for row in js[key]}
        assert set(p[label]) == set(rows), label
        for arm, got in p[label].items():
            same(got, rows[arm])
    same(p["life-years gained, treated vs control"][""], js["life_years_gained"])
    same(
        p["life-years gained, discounted, treated vs control"][""],
        js["life_years_gained_discounted"],
    )
    rmst_label = next(k for k in p if k.startswith("RMST to"))
    rm = {row["arm"]: row for row in js["rmst"]["arms"]}
    for arm in ("control", "treated"):
        same(p[rmst_label][arm], rm[arm])
    # independent: the known point and the draws' noise (4 chains x 400 draws)
    z = stats.norm.ppf(0.95)
    for arm, logit, sd in (("control", -0.5, 0.02), ("treated", -0.1, 0.02 * math.sqrt(2))):
        med, lo, hi = p["cure fraction"][arm]
        assert med == pytest.approx(expit(logit), abs=2e-3)
        assert (lo, hi) == pytest.approx(expit([logit - z * sd, logit + z * sd]), abs=2e-3)
    med, lo, hi = p["hazard ratio, treated vs control"][""]
    assert med == pytest.approx(math.exp(-0.3), abs=2e-3)
    assert (lo, hi) == pytest.approx(np.exp([-0.3 - z * 0.02, -0.3 + z * 0.02]), abs=3e-3)


@pytest.mark.filterwarnings(
    "ignore::bayesurv.survival.fit.IdentifiabilityWarning",
    "ignore::bayesurv.sampling.ConvergenceWarning",
)
def test_a_plain_fit_prints_its_hr_median_and_rmst(ipd_csv, tmp_path, monkeypatch):
    mock_nuts(monkeypatch, {"log_shape": 0.2, "log_hr": -0.3})
    out = tmp_path / "w.json"
    r = CliRunner().invoke(
        app,
        ["fit", str(ipd_csv), "--family", "weibull", "--arm-column", "arm", "--json", str(out)]
        + ["--draws", "400", "--tune", "50"],
    )
    assert r.exit_code == 0, r.output
    js = json.loads(out.read_text())
    p = printed(r.stdout)
    assert "cure fraction" not in p
    same(p["hazard ratio, treated vs control"][""], js["hr"])
    assert p["hazard ratio, treated vs control"][""][0] == pytest.approx(math.exp(-0.3), abs=2e-3)
    rows = {row["arm"]: row for row in js["median"]}
    for arm, got in p["median survival"].items():
        same(got, rows[arm])
    assert "wrote" in r.stdout.splitlines()[-1]
