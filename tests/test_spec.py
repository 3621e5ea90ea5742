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
        (('name = "pool"', 'name = "EFS"'), "EFS is used twice, so rename one"),
        (
            ('name = "pool"', 'name = "efs"'),
            r"\[\[survival\]\] name 'EFS' and \[\[pool\]\] name 'efs' give the same key 'efs' "
            r"\(.*\), so their results \(efs.nc, .*\) would overwrite each other; "
            "rename one section",
        ),
        (('name = "pool"', 'name = " EFS!"'), "name ' EFS!' give the same key 'efs'"),
        (('name = "pool"', 'name = "Figures"'), "gives the key 'figures'.*; rename the section"),
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
                'background = { life_table = "us", age = 50, male = 0.5, smr = 0 }',
            ),
            "greater than 0",
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


def test_unknown_key_lists_the_keys_of_its_table(tmp_path, monkeypatch):
    """Issue 14 item 6: the message lists what the table takes (it used to send the user to
    bayesurv/spec.py)."""
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    bad = GOOD.replace('endpoint = "EFS"', 'endpoint = "EFS"\nhorizon_yrs = 40')
    with pytest.raises(InputError) as err:
        load_spec(write(tmp_path, bad))
    msg = str(err.value)
    assert "unknown key 'survival[1].horizon_yrs'" in msg and "bayesurv/spec.py" not in msg
    assert "survival[1] takes" in msg and "horizon_years" in msg and "landmark_times" in msg
    assert "pool" not in msg.split("takes")[1]  # the section's own keys, not the top level's
    bad = GOOD.replace("seed = 3", "seed = 3\n[sampling]\ndraw = 10")
    with pytest.raises(InputError, match="sampling takes draws, tune, chains, target_accept"):
        load_spec(write(tmp_path, bad))
    with pytest.raises(InputError, match="the top level takes title, description, seed"):
        load_spec(write(tmp_path, GOOD.replace("seed = 3", "seed = 3\nsede = 4")))


WITH_POPULATION = GOOD.replace(
    'families = ["weibull", "lognormal"]',
    'families = ["weibull", "lognormal"]\npopulation = { life_table = "us", age = 10, male = 0.5 }',
)
SCENARIOS = WITH_POPULATION + (
    '[[scenario]]\nname = "smr 2"\nsection = "EFS"\nsmr = 2\n'
    '[[scenario]]\nname = "wide tau"\nsection = "pool"\ntau_prior = "halfnormal(1)"\n'
    'exclude = { study = "AALL1331" }\n'
    '[[scenario]]\nname = "lognormal only"\nsection = "EFS"\nfamily = "lognormal"\n'
    'cure = ["none"]\n'
    '[[scenario]]\nname = "own table"\nsection = "EFS"\n'
    'life_table = "data/lifetables/survexp_us.csv"\n'
    '[execution]\nscheduler = "local:2"\n'
)


def test_scenarios_override_their_section(tmp_path, monkeypatch):
    from bayesurv.spec import scenario_files, scenario_section

    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    spec, files = load_spec(write(tmp_path, SCENARIOS))
    assert spec.execution.scheduler == "local:2"
    got = [scenario_section(spec, sc) for sc in spec.scenario]
    assert [(kind, k) for kind, k, _ in got] == [("survival", 1), ("pool", 1)] + [
        ("survival", 1)
    ] * 2
    smr, tau, logn, table = (sec for _, _, sec in got)
    assert smr.population.smr == 2 and smr.population.age == 10  # the rest kept
    assert spec.survival[0].population.smr == 1  # the base case unchanged
    assert tau.tau_prior == "halfnormal(1)" and tau.exclude == {"study": "AALL1331"}
    assert tau.where == {"set": "pediatric"}
    assert logn.families == ["lognormal"] and logn.cure == ["none"]
    own = scenario_files(files, 4, "survival", 1)
    assert own["survival[1].population.life_table"].name == "survexp_us.csv"
    assert own["survival[1].landmarks"] == files["survival[1].landmarks"]
    assert "survival[1].population.life_table" not in files  # the base case uses "us"


@pytest.mark.parametrize(
    "scenario, match",
    [
        (
            'name = "a"\nsection = "EFS"\nsmrr = 2',
            r"\[\[scenario\]\] a.smrr: not an option of \[\[survival\]\] 'EFS'; allowed: "
            "families, ",
        ),
        (
            'name = "a"\nsection = "EFS"\nsmr = 0',
            r"\[\[scenario\]\] a.smr: Input should be greater than 0\.",
        ),
        ('name = "a"\nsection = "EFS"\nfamily = "weibul"', r"a.family: 'weibul' is not allowed"),
        ('name = "a"\nsection = "pool"\nmethod = "exakt"', r"a.method: 'exakt' is not allowed"),
        ('name = "a"\nsection = "nope"\nsmr = 2', r"a.section: 'nope' is not a section.*'EFS'"),
        ('name = "a"\nsection = "EFS"', r"\[\[scenario\]\] a: it changes nothing"),
        ('name = "a"\nsection = "EFS"\nname = "b"', "Cannot overwrite|defined|duplicate|name"),
        ('section = "EFS"\nsmr = 2', "'scenario\\[1\\].name' is missing"),
        (
            'name = "a"\nsection = "EFS"\nlife_table = "nowhere.csv"',
            r"\[\[scenario\]\] a.life_table names nowhere.csv, which does not exist",
        ),
        ('name = "a"\nsection = "pool"\nsmr = 2', r"a.smr: not an option of \[\[pool\]\]"),
        (
            'name = "a"\nsection = "pool"\nsmr = 2',
            r"a.smr: not an option of \[\[pool\]\] 'pool'; allowed: effects, where",
        ),
        ('name = "a"\nsection = "EFS"\nterms = []', r"a.terms: give at least one"),
    ],
)
def test_bad_scenarios_are_one_sentence(tmp_path, monkeypatch, scenario, match):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    with pytest.raises(Exception, match=match) as err:
        load_spec(write(tmp_path, WITH_POPULATION + "[[scenario]]\n" + scenario + "\n"))
    assert err.type is InputError or err.type.__name__ == "TOMLDecodeError"
    assert "\n" not in str(err.value)


def test_two_scenario_names_with_one_key_are_refused(tmp_path, monkeypatch):
    """'Tau 1' and 'tau-1' would share their fits' keys (scenario/tau_1/) in the job store."""
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    one = '[[scenario]]\nname = "{}"\nsection = "pool"\ntau_prior = "halfnormal(1)"\n'
    load_spec(write(tmp_path, GOOD + one.format("Tau 1") + one.format("tau 2")))
    with pytest.raises(InputError) as err:
        load_spec(write(tmp_path, GOOD + one.format("Tau 1") + one.format("tau-1")))
    msg = str(err.value)
    assert msg.startswith(str(tmp_path / "spec.toml")) and "\n" not in msg
    assert "name 'Tau 1' and [[scenario]] name 'tau-1' give the same key 'tau_1'" in msg
    assert msg.endswith("rename one scenario.")


def test_scenario_names_are_unique_and_scheduler_is_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    two = GOOD + '[[scenario]]\nname = "a"\nsection = "pool"\ntau_prior = "halfnormal(1)"\n' * 2
    with pytest.raises(InputError, match="scenario names must be unique; a is used twice"):
        load_spec(write(tmp_path, two))
    bad = GOOD.replace("seed = 3", 'seed = 3\n[execution]\nscheduler = "locl"')
    with pytest.raises(InputError, match="'execution.scheduler'"):
        load_spec(write(tmp_path, bad))


POOL_END = 'where = { set = "pediatric" }'
FAMILIES = 'families = ["weibull", "lognormal"]'


@pytest.mark.parametrize(
    "after, added, key, fix",
    [
        (
            POOL_END,
            'tau_prior = "halfnormal(-1)"',
            "'pool[1].tau_prior'",
            "must be positive (sigma > 0); write e.g. halfnormal(1).",
        ),
        (
            POOL_END,
            'mu_prior = "bogus(1)"',
            "'pool[1].mu_prior'",
            "'bogus' is not a prior for mu; write e.g. normal(0, 4) or flat (got 'bogus(1)').",
        ),
        (
            POOL_END,
            'tau_prior = "normal(0, 1)"',
            "'pool[1].tau_prior'",
            "'normal' is not a prior for tau; write e.g. halfnormal(0.5)",
        ),
        (
            FAMILIES,
            'priors = { log_shape = "gamma(0, 2)" }',
            "'survival[1].priors.log_shape'",
            "must be positive (alpha > 0); write e.g. gamma(1, 2).",
        ),
        (
            FAMILIES,
            'priors = { log_shape = { dist = "Normal", sigma = 1 } }',
            "'survival[1].priors.log_shape'",
            "Normal needs exactly mu, sigma; write {dist = 'Normal', mu = ..., sigma = ...}",
        ),
        (
            POOL_END,
            '[[scenario]]\nname = "wide"\nsection = "pool"\ntau_prior = "uniform(2, 1)"',
            "[[scenario]] wide.tau_prior",
            "needs a < b (0 <= a < b for a scale), got 'uniform(2, 1)'; write e.g. uniform(0, 2)",
        ),
    ],
)
def test_a_bad_prior_names_the_file_the_key_and_what_to_write(
    tmp_path, monkeypatch, after, added, key, fix
):
    """Refused when the spec is read (the pool's priors had said only 'the tau prior: ...',
    with neither the file nor the section, once the section ran)."""
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parent.parent)
    assert after in GOOD
    path = write(tmp_path, GOOD.replace(after, f"{after}\n{added}"))
    with pytest.raises(InputError) as err:
        load_spec(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and key in msg and fix in msg and "\n" not in msg
