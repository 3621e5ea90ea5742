"""Survival models fitted to reported summaries: simulated trials with known truth, reported the
way journals report them (KM landmark with a log-log CI, events at the data cut-off)."""

import numpy as np
import pandas as pd
import pytest

from bayesurv.errors import InputError
from bayesurv.nonparametric import kaplan_meier, step_value
from bayesurv.sampling import diagnostics, sample
from bayesurv.survival.aggregate import (
    ReportedArm,
    build_reported_model,
    check_landmarks,
    followup_nodes,
    survival_draws,
)


def km_landmark_with_ci(t, e, at):
    """KM estimate at ``at`` with Greenwood's variance on the log-log scale (as R's survfit with
    conf.type = "log-log")."""
    km = kaplan_meier(t, e)
    k = km[km["time"] <= at]
    s = float(step_value(km["time"], km["survival"], [at])[0])
    var = np.sum(k["events"] / (k["at_risk"] * (k["at_risk"] - k["events"])))
    se = np.sqrt(var) / abs(np.log(s))
    return s, s ** np.exp(1.96 * se), s ** np.exp(-1.96 * se)


def simulate_arm(rng, n, cure, shape, scale, accrual=(20.0, 80.0)):
    cured = rng.uniform(size=n) < cure
    t_event = np.where(cured, np.inf, scale * rng.weibull(shape, n))
    c = rng.uniform(*accrual, n)  # potential follow-up at the data cut-off
    t = np.minimum(t_event, c)
    return t, (t_event <= c).astype(int), c


@pytest.mark.slow
def test_cure_model_recovers_known_truth_from_summaries():
    rng = np.random.default_rng(11)
    truth = {"control": (0.30, 1.2, 20.0), "experimental": (0.55, 1.2, 20.0)}  # cure, shape, scale
    arms = {}
    for arm, (cure, shape, scale) in truth.items():
        t, e, c = simulate_arm(rng, 400, cure, shape, scale)
        s, lo, hi = km_landmark_with_ci(t, e, 60.0)
        lm = check_landmarks(
            pd.DataFrame({"time": [60.0], "survival": [s], "lower": [lo], "upper": [hi]})
        )
        ev = pd.DataFrame(
            {
                "n": [len(t)],
                "events": [int(e.sum())],
                "median_followup": [float(np.median(c))],
                "max_followup": [float(c.max())],
            }
        )
        arms[arm] = ReportedArm(lm, ev)
    model = build_reported_model("weibull", arms, cure="mixture")
    idata = sample(model, seed=5, draws=600, tune=800, target_accept=0.95)
    d = diagnostics(idata)
    assert d.rhat_max < 1.02 and d.divergences == 0
    post = idata["posterior"].to_dataset()
    for arm, (cure, _, _) in truth.items():
        q = post[f"cure_fraction_{arm}"].quantile([0.005, 0.995]).values
        assert q[0] < cure < q[1], (arm, q)
    # S(t) far beyond follow-up (10 years): the truth inside the 99% interval in both arms
    s = survival_draws(post, "weibull", "mixture", np.array([120.0]), t_ref=50.0)
    for a, (arm, (cure, shape, scale)) in enumerate(truth.items()):
        true_s = cure + (1 - cure) * np.exp(-((120.0 / scale) ** shape))
        q = s.isel(arm=a, time=0).quantile([0.005, 0.995]).values
        assert q[0] < true_s < q[1], (arm, q, true_s)


def test_followup_nodes_integrate_the_uniform():
    nodes, w = followup_nodes(50.0, 80.0)
    assert w.sum() == pytest.approx(1.0)
    assert nodes.min() > 20.0 and nodes.max() < 80.0
    # E[C] of Uniform(20, 80) is 50; E[1 - exp(-C/30)] in closed form
    assert np.sum(w * nodes) == pytest.approx(50.0)
    exact = 1 - 30 * (np.exp(-20 / 30) - np.exp(-80 / 30)) / 60
    assert np.sum(w * (1 - np.exp(-nodes / 30))) == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize(
    "row, match",
    [
        ((60, 0.5, 0.6, 0.7), "strictly inside its 95% CI"),
        ((60, 0.5, 0.4, 1.0), "strictly inside"),
        ((0, 0.5, 0.4, 0.6), "must be positive"),
    ],
)
def test_bad_landmarks(row, match):
    df = pd.DataFrame([row], columns=["time", "survival", "lower", "upper"])
    with pytest.raises(InputError, match=match):
        check_landmarks(df, "lm.csv")


def test_effect_must_fit_the_cure_model():
    arm = ReportedArm(
        pd.DataFrame({"time": [60.0], "survival": [0.5], "lower": [0.4], "upper": [0.6]}),
        pd.DataFrame(
            {"n": [50], "events": [20], "median_followup": [40.0], "max_followup": [70.0]}
        ),
    )
    with pytest.raises(InputError, match="does not fit cure='none'"):
        build_reported_model(
            "weibull", {"control": arm, "experimental": arm}, cure="none", effect="cure"
        )
