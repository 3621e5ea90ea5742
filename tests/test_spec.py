"""Analysis specs: a good one loads, and each kind of mistake is refused in one sentence that
names the file, the key and what is allowed."""

import pytest

from bayesurv.errors import InputError
from bayesurv.spec import load_spec

GOOD = """
title = "t"
seed = 3
[[survival]]
name = "EFS"
landmarks = "data/case_study/study_20120215_landmarks.csv"
events = "data/case_study/study_20120215_events.csv"
endpoint = "EFS"
families = ["weibull", "lognormal"]
[[pool]]
name = "pool"
effects = "data/effects_blinatumomab.csv"
where = { set = "pediatric" }
[queries]
statements = ["P(hr < 1)"]
"""


def write(tmp_path, text):
    p = tmp_path / "spec.toml"
    p.write_text(text)
    return p


def test_good_spec_loads_and_resolves_files(tmp_path, monkeypatch):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    spec, files = load_spec(write(tmp_path, GOOD))
    assert spec.survival[0].families == ["weibull", "lognormal"]
    assert spec.sampling.chains == 4
    assert files["survival[1].landmarks"].exists() and files["pool[1].effects"].exists()


@pytest.mark.parametrize(
    "change, match",
    [
        (("seed = 3", "seed = 3\nsede = 4"), "unknown key 'sede'"),
        (
            ('families = ["weibull", "lognormal"]', 'families = ["weibul"]'),
            "'survival\\[1\\].families\\[1\\]' is 'weibul'; allowed: 'exponential'",
        ),
        (("seed = 3", "seed = -1"), "'seed'"),
        (('title = "t"', ""), "'title' is missing"),
        (
            ("data/effects_blinatumomab.csv", "data/nope.csv"),
            "'pool\\[1\\].effects' names data/nope.csv, which does not exist",
        ),
        (('name = "pool"', 'name = "EFS"'), "EFS is used twice"),
        (("seed = 3", "seed = 3\n[sampling]\nchains = 0"), "'sampling.chains'"),
    ],
)
def test_bad_specs(tmp_path, monkeypatch, change, match):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    text = GOOD.replace(*change)
    with pytest.raises(InputError, match=match) as err:
        load_spec(write(tmp_path, text))
    assert "spec.toml" in str(err.value) and "\n" not in str(err.value)


def test_not_toml(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        load_spec(write(tmp_path, "title = \n"))
    with pytest.raises(InputError, match="no such spec"):
        load_spec(tmp_path / "missing.toml")


IPD = """
title = "t"
seed = 3
[[ipd]]
name = "GBSG-2"
at_risk = "data/examples/gbsg2/at_risk.csv"
families = ["weibull"]
[ipd.clicks]
a = "data/examples/gbsg2/clicks_no_tamoxifen.csv"
b = "data/examples/gbsg2/clicks_tamoxifen.csv"
"""


def test_ipd_and_reported_terms_load(tmp_path, monkeypatch):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    spec, files = load_spec(write(tmp_path, IPD))
    assert spec.ipd[0].families == ["weibull"] and files["ipd[1].clicks.b"].exists()
    text = GOOD.replace(
        'endpoint = "EFS"',
        'endpoint = "EFS"\nhazard_ratios = '
        '"data/case_study/study_20120215_hazard_ratios.csv"\nterms = ["landmarks"]',
    )
    spec, files = load_spec(write(tmp_path, text))
    assert spec.survival[0].terms == ["landmarks"] and files["survival[1].hazard_ratios"].exists()


@pytest.mark.parametrize(
    "text, match",
    [
        (
            IPD.replace("at_risk =", 'ipd = "data/examples/gbsg2/events.csv"\nat_risk ='),
            "give either ipd",
        ),
        (IPD.replace('at_risk = "data/examples/gbsg2/at_risk.csv"', ""), "needs at_risk"),
        (
            IPD.replace('families = ["weibull"]', 'families = ["weibull"]\nreference_arm = "c"'),
            "reference_arm must be one of a, b",
        ),
        (
            GOOD.replace(
                'landmarks = "data/case_study/study_20120215_landmarks.csv"\n', ""
            ).replace('events = "data/case_study/study_20120215_events.csv"\n', ""),
            "needs reported numbers",
        ),
        (
            GOOD.replace('endpoint = "EFS"', 'endpoint = "EFS"\nterms = ["hr"]'),
            "allowed: 'landmarks'",
        ),
        (
            IPD.replace('families = ["weibull"]', 'families = ["weibull"]\neffect_on = "cure"'),
            "effect_on cure or both needs a cure model",
        ),
        (
            IPD.replace(
                'families = ["weibull"]',
                'families = ["weibull"]\ncure = "mixture"\neffect_on = "ph"',
            ),
            "'ipd.1..effect_on' is 'ph'; allowed: 'hazard'",
        ),
        (
            IPD.replace('families = ["weibull"]', 'families = ["weibull"]\neffect = "cure"'),
            "'ipd.1..effect' is 'cure'; allowed: 'ph', 'aft' or 'separate'",
        ),
        (
            IPD.replace(
                'families = ["weibull"]',
                'families = ["weibull"]\nbackground = { life_table = "us", male = 0.5 }',
            ),
            "exactly one of age",
        ),
        (
            IPD.replace(
                'families = ["weibull"]',
                'families = ["weibull"]\n'
                'background = { life_table = "us", age = 50, male = 0.5, smr = 0.5 }',
            ),
            "greater than or equal to 1",
        ),
        (
            IPD.replace(
                'families = ["weibull"]',
                'families = ["weibull"]\n'
                'background = { life_table = "nowhere.csv", age = 50, male = 0.5 }',
            ),
            "nowhere.csv, which does not exist",
        ),
        (
            IPD.replace(
                'families = ["weibull"]',
                'families = ["weibull"]\nwaning = { scheme = "slowly", t1 = 60 }',
            ),
            "abrupt",
        ),
        (IPD.replace('families = ["weibull"]', 'families = ["splines"]'), "mspline"),
    ],
)
def test_bad_ipd_and_term_specs(tmp_path, monkeypatch, text, match):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    with pytest.raises(InputError, match=match) as err:
        load_spec(write(tmp_path, text))
    assert "\n" not in str(err.value)
