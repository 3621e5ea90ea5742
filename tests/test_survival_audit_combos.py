"""Issue 12's "any combination either works or is refused in one sentence", over the product of
the ModelSpec's switches on the test IPD; and the compile cache re-used across data sets whose
spline knots differ, against the second data set's own NumPy likelihood."""

import itertools
import warnings
import zlib

import numpy as np
import pytest
from pytensor.compile.mode import Mode
from test_survival_terms import IPD, POP_IPD, _ipd, point

from bayesurv.errors import InputError
from bayesurv.survival import terms
from bayesurv.survival.builder import _data, _log_times, build, key
from bayesurv.survival.data import prepare
from bayesurv.survival.families import NP
from bayesurv.survival.structure import HAZARDS, ModelSpec

AXES = (
    list(HAZARDS),
    [None, "ph", "aft", "separate"],  # effect
    [None, "hazard", "cure", "both"],  # effect_on
    ["none", "mixture", "non-mixture"],  # cure
    [False, True],  # nonph
    [None, ("linear_hazard", 3.0, 7.0)],  # waning inside follow-up
    [None, "entry"],  # delayed entry
    [None, POP_IPD],  # a life table (SMR 1.3, ages from the IPD)
    [(), ("group",)],  # a 3-level categorical covariate on the hazard
)
PRODUCT = list(itertools.product(*AXES))
RAW = Mode(linker="py", optimizer=None)


def _outcome(combo) -> str:
    """'ok' (a finite NumPy log-likelihood at a random point), 'refused' (one sentence) or what
    went wrong."""
    hz, ef, on, cu, nph, wn, en, pop, cv = combo
    kw = dict(arm="arm", effect=ef, effect_on=on, cure=cu, nonph=nph, waning=wn, entry=en)
    kw.update(covariates=cv, time_unit="months" if pop is not None else None)
    case = repr((hz, kw, pop is not None))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec, d, _ = prepare(ModelSpec(hz, **kw), IPD, population=pop)
        pt = point(spec, d, np.random.default_rng(zlib.crc32(case.encode())))
        raw = {k: np.reshape(v, (1, -1)) for k, v in pt.items()}
        with np.errstate(all="ignore"):
            parts = terms.loglik(NP, spec, raw, d, pointwise=True)
        total = sum(float(np.sum(v)) for v in parts.values())
        return "ok" if np.isfinite(total) else f"{case}: log-likelihood {total}"
    except InputError as e:
        text = str(e).strip()
        one = "\n" not in text and text.endswith((".", ")", "'")) and len(text) < 400
        return "refused" if one else f"{case}: not one sentence: {text!r}"
    except Exception as e:  # noqa: BLE001 - any other exception is the failure being tested
        return f"{case}: {type(e).__name__}: {e}"


def _check(combos):
    outcomes = [_outcome(c) for c in combos]
    bad = [o for o in outcomes if o not in ("ok", "refused")]
    assert not bad, f"{len(bad)} of {len(combos)} combinations fail, e.g. {bad[:3]}"
    # the sample exercises both sides: some combinations fit, some are refused
    assert {"ok", "refused"} <= set(outcomes)


def test_a_seeded_sample_of_combinations_works_or_is_refused_in_one_sentence():
    rng = np.random.default_rng(12)
    _check([PRODUCT[i] for i in rng.choice(len(PRODUCT), 300, replace=False)])


@pytest.mark.slow
def test_every_combination_works_or_is_refused_in_one_sentence():
    assert len(PRODUCT) == 13_824  # 9 hazards x 4 x 4 x 3 x 2 x 2 x 2 x 2 x 2
    _check(PRODUCT)


def test_the_outcome_check_catches_a_broken_likelihood(monkeypatch):
    """The check above can fail: a NaN log-likelihood or a multi-line refusal is reported."""
    combo = ("weibull", "ph", "hazard", "none", False, None, None, None, ())
    assert _outcome(combo) == "ok"
    monkeypatch.setattr(terms, "loglik", lambda *a, **k: {"ipd": np.array([np.nan])})
    assert "log-likelihood nan" in _outcome(combo)

    def refuse(*a, **k):
        raise InputError("first line\nsecond line")

    monkeypatch.setattr(terms, "loglik", refuse)
    assert "not one sentence" in _outcome(combo)


@pytest.mark.parametrize(
    "hazard, kw",
    [
        ("mspline", {}),
        ("rp", {}),
        ("rp", {"scale": "odds"}),
        ("rp", {"nonph": True}),
        ("pwexp", {}),
    ],
)
def test_a_model_compiled_on_one_knot_set_gives_another_data_sets_likelihood(hazard, kw):
    """One compiled structure serves data sets whose knots differ: the model built on data set 1
    and given data set 2's arrays (what ``compiled`` does with ``with_data``) has data set 2's
    log-likelihood, as data set 2's own NumPy twin computes it, to 1e-8; and a model built on
    data set 2 directly agrees."""
    s1, d1, _ = prepare(ModelSpec(hazard, arm="arm", **kw), _ipd(60, 1))
    s2, d2, _ = prepare(ModelSpec(hazard, arm="arm", **kw), _ipd(90, 5))
    assert not np.allclose(s1.knots, s2.knots)  # the knots do differ
    assert key(s1, d1) == key(s2, d2)  # so the cache re-uses the first model
    reused, fresh = build(s1, d1), build(s2, d2)
    with reused:
        for k, v in _data(d2).items():
            reused.set_data(f"data_{k}", v)
        for k, v in _log_times(d2).items():
            reused.set_data(f"logdata_{k}", v)
        for k, v in d2.get("prior_shift", {}).items():
            reused.set_data(f"shift_{k}", np.asarray(v))
    pt = point(s2, d2, np.random.default_rng(3))
    raw = {k: np.reshape(v, (1, -1)) for k, v in pt.items()}
    want = sum(float(np.sum(v)) for v in terms.loglik(NP, s2, raw, d2, pointwise=True).values())
    for m in (reused, fresh):
        got = float(m.compile_fn(m["loglik"], inputs=[m[k] for k in pt], mode=RAW)(pt))
        assert got == pytest.approx(want, rel=1e-8, abs=1e-8)
    # and it is data set 2's likelihood, not data set 1's
    other = sum(float(np.sum(v)) for v in terms.loglik(NP, s1, raw, d1, pointwise=True).values())
    assert abs(other - want) > 1.0
