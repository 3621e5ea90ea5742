"""Operating characteristics of a planned trial borrowing through a robust MAP prior: closed form
for a normal prior, and simulated trials for a mixture."""

import math

import numpy as np
import pytest
from scipy import stats

from bayesurv.synthesis.mixture import NormalMixture
from bayesurv.synthesis.planned_trial import (
    critical_value,
    operating_characteristics,
    planned_se,
    success_probability,
)


def test_normal_prior_has_a_closed_form_boundary():
    # prior N(m0, s0^2), data y ~ N(theta, se^2): P(theta < 0 | y) > q iff the posterior mean
    # m1 = (m0/s0^2 + y/se^2) / P satisfies m1 < -z_q / sqrt(P), P = 1/s0^2 + 1/se^2
    m0, s0, q = -0.2, 0.3, 0.975
    se = planned_se(150)
    prec = 1 / s0**2 + 1 / se**2
    yc = se**2 * (-stats.norm.ppf(q) * math.sqrt(prec) - m0 / s0**2)
    assert critical_value(NormalMixture.normal(m0, s0), se, q) == pytest.approx(yc, abs=1e-9)
    assert success_probability(NormalMixture.normal(m0, s0), yc, se) == pytest.approx(q)
    # a vague prior gives the frequentist one-sided test: type I error 2.5%, and power at
    # HR 0.7 with 331 events is about 90% (Schoenfeld: d = 4 (1.96 + 1.28)^2 / log(0.7)^2)
    oc = operating_characteristics(NormalMixture.normal(0.0, 100.0), events=331, true_hrs=[0.7])
    assert oc["type_one_error"] == pytest.approx(0.025, abs=1e-4)
    assert oc["power"][0]["power"] == pytest.approx(0.90, abs=0.005)


def test_mixture_prior_power_and_assurance_match_simulated_trials():
    # a robust MAP-like prior: 0.8 N(-0.5, 0.15^2) + 0.2 N(0, 2^2); 100 events, 1:1
    prior = NormalMixture(np.array([0.8, 0.2]), np.array([-0.5, 0.0]), np.array([0.15, 2.0]))
    oc = operating_characteristics(prior, events=100, true_hrs=[1.0, 0.8, 0.6])
    se = planned_se(100)
    rng = np.random.default_rng(8)
    for row in oc["power"]:
        y = rng.normal(math.log(row["hr"]), se, 20_000)
        p = np.array([success_probability(prior, v, se) > 0.975 for v in y[:4000]]).mean()
        assert row["power"] == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / 4000) + 1e-3)
    # borrowing raises the type I error above 2.5% when the new trial's truth is HR 1
    assert oc["type_one_error"] > 0.025
    theta = prior.sample(rng, 4000)
    y = rng.normal(theta, se)
    p = np.array([success_probability(prior, v, se) > 0.975 for v in y]).mean()
    assert oc["probability_of_success"] == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / 4000))
    assert set(oc["prior_ess_events"]) == {"elir", "moment", "morita"}
