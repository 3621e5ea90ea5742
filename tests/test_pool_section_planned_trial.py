"""A `[[pool]]` section with ``plan_events``: the MAP prior of a new trial from the section's
trials, its effective sample size in events, and the operating characteristics of a planned
trial that borrows through it (issue 15 item 3), checked against an independent quadrature of
the normal-normal model (tests/reference_pool.py) and the closed form of a normal prior."""

import math
from pathlib import Path

import pytest
from reference_pool import NormalNormal, effects
from scipy import stats

from bayesurv.errors import InputError
from bayesurv.evidence.effects import read_effects
from bayesurv.sections.pool import planned_trial
from bayesurv.spec import Pool, load_spec

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "effects_blinatumomab.csv"
WHERE = {"set": "pediatric", "outcome": "event-free"}


def _section(**kw) -> Pool:
    return Pool(name="efs", effects=str(CSV), where=WHERE, **kw)


def test_map_prior_ess_and_planned_trial_match_quadrature_and_closed_form():
    sec = _section(plan_events=150)
    doc = planned_trial(read_effects(CSV, WHERE), sec)
    # the MAP prior is theta_new | y: its variance by quadrature over tau (mixture of normals)
    ref = NormalNormal(*effects(CSV, **WHERE), m0=0.0, sd0=4.0, tau_scale=0.5)
    mean = ref.weight @ ref.mean
    var = ref.weight @ (ref.pred_sd**2 + ref.mean**2) - mean**2
    # moment ESS in events: sigma^2 / Var with sigma^2 = 4 per event for a 1:1 log HR
    assert doc["ess_events"]["map"]["moment"] == pytest.approx(4.0 / var, rel=2e-3)
    assert doc["map"]["exact_summary"]["mean"] == pytest.approx(mean, abs=2e-3)
    # without borrowing the prior is N(0, 2^2): success iff the posterior mean is below
    # -z sqrt(1/P); the critical log HR and power at HR 0.7 in closed form
    se = 2.0 / math.sqrt(150)
    prec = 1 / 2.0**2 + 1 / se**2
    yc = se**2 * (-stats.norm.ppf(0.975) * math.sqrt(prec))
    vague = doc["planned_trial_without_borrowing"]
    assert vague["critical_hr"] == pytest.approx(math.exp(yc), rel=1e-6)
    p07 = next(r["power"] for r in vague["power"] if r["hr"] == 0.7)
    assert p07 == pytest.approx(stats.norm.cdf((yc - math.log(0.7)) / se), abs=1e-9)
    # borrowing from trials that favour the treatment raises the type I error at HR 1 above
    # the vague prior's (the price of borrowing), and the robust part caps the ESS below the
    # MAP prior's
    assert doc["planned_trial"]["type_one_error"] > vague["type_one_error"] + 0.01
    assert doc["ess_events"]["robust"]["moment"] < doc["ess_events"]["map"]["moment"]
    assert doc["robust_weight"] == 0.2


def test_robust_weight_reaches_the_prior():
    eff = read_effects(CSV, WHERE)
    light = planned_trial(eff, _section(plan_events=150, robust_weight=0.5))
    heavy = planned_trial(eff, _section(plan_events=150, robust_weight=0.1))
    # the robust prior is (1 - w) MAP + w N(0, 4): its variance is the mixture's, exactly
    for doc, w in ((light, 0.5), (heavy, 0.1)):
        m = doc["map"]["exact_summary"]["mean"]
        v_map = 4.0 / doc["ess_events"]["map"]["moment"]
        var = (1 - w) * (v_map + m**2) + w * 4.0 - ((1 - w) * m) ** 2
        assert 4.0 / doc["ess_events"]["robust"]["moment"] == pytest.approx(var, rel=1e-3)


@pytest.mark.parametrize(
    "extra, key",
    [("plan_events = 0", "plan_events"), ("robust_weight = 1.0", "robust_weight")],
)
def test_bad_plan_is_one_sentence_naming_the_key(tmp_path, monkeypatch, extra, key):
    monkeypatch.chdir(ROOT)
    p = tmp_path / "spec.toml"
    p.write_text(
        'title = "t"\nseed = 3\n[[pool]]\nname = "efs"\neffects = "data/effects_blinatumomab.csv"\n'
        f'where = {{ set = "pediatric", outcome = "event-free" }}\n{extra}\n'
    )
    with pytest.raises(InputError, match=key) as err:
        load_spec(p)
    assert "spec.toml" in str(err.value) and "\n" not in str(err.value)
