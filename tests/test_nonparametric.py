"""KM, median, RMST and the two-group Cox HR against lifelines (an independent implementation)."""

import numpy as np
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_gbsg2, load_rossi
from lifelines.utils import restricted_mean_survival_time

from bayesurv.nonparametric import (
    cox_hazard_ratio,
    kaplan_meier,
    step_distance,
    step_median,
    step_rmst,
)


@pytest.fixture(scope="module")
def rossi():
    return load_rossi()


def test_km_matches_lifelines_with_ties(rossi):
    km = kaplan_meier(rossi["week"], rossi["arrest"]).set_index("time")["survival"]
    ref = KaplanMeierFitter().fit(rossi["week"], rossi["arrest"]).survival_function_["KM_estimate"]
    assert np.max(np.abs(km - ref.reindex(km.index))) < 1e-12


def test_median_and_rmst_match_lifelines():
    d = load_gbsg2()
    km = kaplan_meier(d["time"], d["cens"])
    kmf = KaplanMeierFitter().fit(d["time"], d["cens"])
    assert step_median(km["time"], km["survival"]) == pytest.approx(kmf.median_survival_time_)
    for tau in (365.0, 1000.5, 2000.0):
        assert step_rmst(km["time"], km["survival"], tau) == pytest.approx(
            restricted_mean_survival_time(kmf, t=tau), rel=1e-9
        )


def test_cox_matches_lifelines_efron(rossi):
    # lifelines' CoxPHFitter uses Efron's ties, as R's coxph(Surv(week, arrest) ~ fin) does
    ours = cox_hazard_ratio(rossi["week"], rossi["arrest"], rossi["fin"])
    ref = CoxPHFitter().fit(rossi[["week", "arrest", "fin"]], "week", "arrest")
    assert ours["hr"] == pytest.approx(ref.hazard_ratios_["fin"], rel=1e-6)
    assert ours["se"] == pytest.approx(ref.standard_errors_["fin"], rel=1e-5)


def test_step_distance_finds_the_absolute_maximum_at_a_left_limit():
    # curve A drops 1 -> 0.5 at t=2, curve B drops 1 -> 0.6 at t=1 and 0.6 -> 0.5 at t=2:
    # on [1, 2) they differ by 0.4 (A = 1, B = 0.6); a grid evaluated only at jump times from the
    # right would see 0.4 at t=1; just before t=3 where B falls to 0.1 and A stays 0.5, 0.4 again.
    sup, mean = step_distance([2.0], [0.5], [1.0, 2.0, 3.0], [0.6, 0.5, 0.1], upto=4.0)
    assert sup == pytest.approx(0.4)
    assert mean == pytest.approx((0.4 * 1 + 0.0 * 1 + 0.4 * 1) / 4)
    sup2, _ = step_distance([2.0], [0.5], [1.0], [0.9], upto=2.0)
    assert sup2 == pytest.approx(0.4)  # at t=2: A = 0.5, B = 0.9
