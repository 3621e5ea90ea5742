"""Survival models fitted to reported summaries: simulated trials with known truth, reported the
way journals report them (KM landmark with a log-log CI, events at the data cut-off)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from bayesurv.errors import InputError
from bayesurv.nonparametric import cox_hazard_ratio, kaplan_meier, step_value
from bayesurv.sampling import diagnostics, sample
from bayesurv.survival.aggregate import (
    ReportedArm,
    build_reported_model,
    check_landmarks,
    check_medians,
    cox_nodes,
    followup_nodes,
    hazard_ratio_terms,
    model_hazard_ratio,
    reported_loglik,
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


# --------------------------------------------------------------------------------------------
# hazard ratios and medians as likelihood terms
# --------------------------------------------------------------------------------------------
EMPTY_LM = pd.DataFrame(columns=["time", "survival", "lower", "upper"], dtype=float)
EMPTY_EV = pd.DataFrame(columns=["n", "events", "median_followup", "max_followup"], dtype=float)


def km_median_with_ci(t, e):
    """KM median with the Brookmeyer-Crowley 95% CI on the log-log scale (as R's survfit with
    conf.type = "log-log"): the times whose pointwise CI contains 0.5."""
    km = kaplan_meier(t, e)
    s = km["survival"].to_numpy()
    var = np.cumsum(km["events"] / (km["at_risk"] * (km["at_risk"] - km["events"]))).to_numpy()
    ok = (s > 0) & (s < 1)
    se = np.sqrt(var[ok]) / np.abs(np.log(s[ok]))
    z = (np.log(-np.log(s[ok])) - np.log(np.log(2.0))) / se
    times = km["time"].to_numpy()[ok]
    inside = times[np.abs(z) <= 1.96]
    med = float(times[np.argmax(s[ok] <= 0.5)])
    return med, float(inside.min()), float(inside.max())


def weibull_post(shape, scale, *, t_ref, log_hr=None, cure=None, cure_effect=None) -> xr.Dataset:
    """A one-draw 'posterior' holding known parameters in the model's parameterization."""
    v = {"log_median": np.log(scale) + np.log(np.log(2.0)) / shape, "log_shape": np.log(shape)}
    if log_hr is not None:
        v["log_hr"] = log_hr
    if cure is not None:
        v["cure_logit"] = np.log(cure / (1 - cure))
    if cure_effect is not None:
        v["cure_effect"] = cure_effect
    return xr.Dataset(
        {k: (("chain", "draw"), [[x]]) for k, x in v.items()}, coords={"chain": [0], "draw": [0]}
    )


def test_hazard_ratio_terms_say_which_rows_give_a_standard_error():
    """Study 20120215's published HRs (data/case_study/study_20120215_hazard_ratios.csv)."""
    df = pd.DataFrame(
        {
            "hr": [0.38, np.nan, 0.34, 0.35, 1.2],
            "lower": [0.22, np.nan, np.nan, np.nan, np.nan],
            "upper": [0.65, np.nan, np.nan, np.nan, np.nan],
            "p": ["<0.001", "0.001", "0.002", "<0.001", ""],
            "median_followup": [51.9, 51.9, np.nan, np.nan, 10.0],
        }
    )
    t = hazard_ratio_terms(df)
    assert t["se"].iloc[0] == pytest.approx((np.log(0.65) - np.log(0.22)) / 3.919927969)
    assert t["se"].iloc[2] == pytest.approx(abs(np.log(0.34)) / stats.norm.isf(0.001))
    assert t["used"].tolist() == [True, False, False, False, False]
    assert "p-value alone" in t["reason"].iloc[1]
    assert "no follow-up" in t["reason"].iloc[2]
    assert "bound" in t["reason"].iloc[3]
    assert "no CI and no p-value" in t["reason"].iloc[4]
    with pytest.raises(InputError, match="strictly inside"):
        hazard_ratio_terms(pd.DataFrame({"hr": [0.7], "lower": [0.8], "upper": [0.9]}), "hr.csv")


def test_medians_not_reached_and_one_sided():
    t = check_medians(
        pd.DataFrame(
            {
                "median": [20.0, 30.0, np.nan, 15.0],
                "lower": [15.0, 24.0, 40.0, np.nan],
                "upper": [28.0, np.nan, np.nan, 20.0],
            }
        )
    )
    assert t["used"].tolist() == [True, True, False, False]
    assert t["se"].iloc[0] == pytest.approx(np.log(28 / 15) / 3.919927969)
    assert t["se"].iloc[1] == pytest.approx(np.log(30 / 24) / 1.959963985)
    assert t["se_from"].iloc[1].startswith("one-sided")
    with pytest.raises(InputError, match="strictly inside"):
        check_medians(pd.DataFrame({"median": [20.0], "lower": [21.0], "upper": [30.0]}))


def test_median_term_is_the_log_normal_density_of_the_median_for_a_weibull():
    """For a Weibull, cloglog S is linear in log t, so the term equals N(log m_hat; log m, se)
    exactly (the Newton step is exact)."""
    post = weibull_post(1.4, 20.0, t_ref=20.0, log_hr=np.log(0.6))
    med = pd.DataFrame({"median": [14.0], "lower": [11.0], "upper": [18.0]})
    arms = {
        "control": ReportedArm(EMPTY_LM, EMPTY_EV, med),
        "experimental": ReportedArm(EMPTY_LM, EMPTY_EV, med),
    }
    ll, names = reported_loglik(post, "weibull", "none", arms, t_ref=20.0)
    se = np.log(18 / 11) / 3.919927969
    m0 = 20.0 * np.log(2.0) ** (1 / 1.4)
    m1 = m0 * 0.6 ** (-1 / 1.4)
    want = [stats.norm.logpdf(np.log(14.0), np.log(m), se) for m in (m0, m1)]
    assert names == ["median control 14", "median experimental 14"]
    np.testing.assert_allclose(ll[0, 0], want, rtol=1e-8)


@pytest.mark.parametrize(
    "truth",
    [
        # cure fractions control/experimental, Weibull shape and scale, HR on the uncured
        (0.30, 0.55, 1.2, 20.0, 1.0),
        (0.20, 0.40, 0.8, 15.0, 0.7),
        (0.10, 0.50, 1.0, 10.0, 1.0),
    ],
)
def test_cox_weighted_log_hr_matches_a_cox_fit_of_mixture_cure_ipd(truth):
    """Large simulated trials (200,000 per arm) from a known mixture-cure Weibull with uniform
    potential follow-up on [20, 80]: the model's event-weighted average log HR against the Cox
    estimate (Efron ties, bayesurv.nonparametric), whose sd here is about 0.005; the average is
    a first-order approximation of the Cox limit, so the tolerance is 0.03."""
    c0, c1, k, lam, hr = truth
    rng = np.random.default_rng(20260)
    n = 200_000
    cols = []
    for g, (cure, h) in enumerate(((c0, 1.0), (c1, hr))):
        cured = rng.uniform(size=n) < cure
        t_ev = np.where(cured, np.inf, lam * (rng.exponential(size=n) / h) ** (1 / k))
        c = rng.uniform(20.0, 80.0, n)
        cols.append((np.minimum(t_ev, c), (t_ev <= c).astype(int), np.full(n, g)))
    t, e, grp = (np.concatenate(x) for x in zip(*cols, strict=True))
    cox = cox_hazard_ratio(t, e, grp)["log_hr"]
    effect = np.log(c1 / (1 - c1)) - np.log(c0 / (1 - c0))
    post = weibull_post(k, lam, t_ref=50.0, log_hr=np.log(hr), cure=c0, cure_effect=effect)
    model = model_hazard_ratio(
        post, "weibull", "mixture", t_ref=50.0, median_followup=50.0, max_followup=80.0
    )
    assert abs(float(model[0, 0]) - cox) < 0.03, (model, cox)


def test_ph_model_without_cure_uses_its_parameter():
    post = weibull_post(1.3, 20.0, t_ref=20.0, log_hr=-0.4)
    out = model_hazard_ratio(post, "weibull", "none", t_ref=20.0, median_followup=30.0)
    assert float(out[0, 0]) == pytest.approx(-0.4)
    # a lognormal AFT model has no constant HR: the weighted average is used and differs
    v = {"log_median": np.log(20.0), "log_sdlog": 0.0, "log_hr": 0.4}
    post = xr.Dataset({k: (("chain", "draw"), [[x]]) for k, x in v.items()})
    out = model_hazard_ratio(post, "lognormal", "none", t_ref=20.0, median_followup=30.0)
    assert -0.6 < float(out[0, 0]) < -0.2 and float(out[0, 0]) != pytest.approx(-0.4)


def test_cox_nodes_weight_by_the_follow_up_survivor():
    t, w = cox_nodes(50.0, 80.0)
    assert t.min() > 0 and t.max() < 80.0
    # int_0^80 G(t) dt = 20 + 30 = 50 (= E[C])
    assert w.sum() == pytest.approx(50.0)


def _weibull_ph_arms(rng, n, shape, scale, hr, fu=(30.0, 90.0)):
    out = {}
    data = []
    for g, h in enumerate((1.0, hr)):
        t_ev = scale * (rng.exponential(size=n) / h) ** (1 / shape)
        c = rng.uniform(*fu, n)
        data.append((np.minimum(t_ev, c), (t_ev <= c).astype(int), np.full(n, g)))
    for g, arm in enumerate(("control", "experimental")):
        med, lo, hi = km_median_with_ci(data[g][0], data[g][1])
        out[arm] = ReportedArm(
            EMPTY_LM, EMPTY_EV, pd.DataFrame({"median": [med], "lower": [lo], "upper": [hi]})
        )
    t, e, grp = (np.concatenate(x) for x in zip(*data, strict=True))
    c = cox_hazard_ratio(t, e, grp)
    hrs = pd.DataFrame(
        {
            "hr": [c["hr"]],
            "lower": [c["lower"]],
            "upper": [c["upper"]],
            "median_followup": [60.0],
            "max_followup": [90.0],
        }
    )
    return out, hrs


@pytest.mark.slow
def test_medians_alone_recover_a_known_exponential():
    """Two medians identify one parameter per arm: a Weibull of shape 1 (exponential, scale 24,
    HR 0.6; 400 per arm) fitted as an exponential PH model to the two KM medians (Brookmeyer-
    Crowley CIs) alone: the posterior medians and the HR cover the truth (99% intervals) and
    the posterior median of each arm's median is within 15% of the truth."""
    scale, hr = 24.0, 0.6
    arms, _ = _weibull_ph_arms(np.random.default_rng(3), 400, 1.0, scale, hr)
    true_med = {"control": scale * np.log(2), "experimental": scale * np.log(2) / hr}
    model = build_reported_model("exponential", arms, cure="none", t_ref=24.0)
    idata = sample(model, seed=3, draws=600, tune=800, target_accept=0.95)
    d = diagnostics(idata)
    assert d.divergences == 0 and d.rhat_max < 1.02
    post = idata["posterior"].to_dataset()
    s = survival_draws(post, "exponential", "none", np.linspace(1, 80, 800), t_ref=24.0)
    for arm, m in true_med.items():
        sa = s.sel(arm=arm).values.reshape(-1, s.sizes["time"])
        med = s["time"].values[np.argmax(sa <= 0.5, axis=-1)]
        lo, mid, hi = np.quantile(med, [0.005, 0.5, 0.995])
        assert lo < m < hi, (arm, lo, m, hi)
        assert abs(mid / m - 1) < 0.15, (arm, mid, m)
    lo, hi = np.quantile(np.exp(post["log_hr"].values), [0.005, 0.995])
    assert lo < hr < hi


@pytest.mark.slow
def test_medians_and_hr_recover_a_known_weibull():
    """Simulated Weibull PH trial (shape 1.3, scale 24, HR 0.6; 400 per arm), fitted to its two
    KM medians and its Cox HR only: shape, scale and HR are identified (the ratio of medians is
    HR^(-1/shape)) and each lies inside its 99% posterior interval."""
    shape, scale, hr = 1.3, 24.0, 0.6
    arms, hrs = _weibull_ph_arms(np.random.default_rng(3), 400, shape, scale, hr)
    # medians + HR
    model = build_reported_model("weibull", arms, cure="none", t_ref=24.0, hazard_ratios=hrs)
    idata = sample(model, seed=4, draws=600, tune=800, target_accept=0.95)
    assert diagnostics(idata).divergences == 0
    post = idata["posterior"].to_dataset()
    shape_d = np.exp(post["log_shape"].values.ravel())
    scale_d = np.exp(post["log_median"].values.ravel()) / np.log(2) ** (1 / shape_d)
    for name, draws, true in (
        ("shape", shape_d, shape),
        ("scale", scale_d, scale),
        ("hr", np.exp(post["log_hr"].values.ravel()), hr),
    ):
        lo, hi = np.quantile(draws, [0.005, 0.995])
        assert lo < true < hi, (name, lo, true, hi)
    # the reported-number log-likelihood has one column per median and HR, finite
    ll, names = reported_loglik(post, "weibull", "none", arms, t_ref=24.0, hazard_ratios=hrs)
    assert ll.shape[-1] == 3 and np.isfinite(ll).all() and names[-1].startswith("hazard ratio")
    ll, _ = reported_loglik(
        post, "weibull", "none", arms, t_ref=24.0, hazard_ratios=hrs, use_medians=False
    )
    assert ll.shape[-1] == 1


def test_non_mixture_summary_model_uses_the_promotion_time_formula():
    """S_a(t) = pi_a ^ (1 - S_u(t)) with the PH effect on the uncured; h = -d log S / dt."""
    rng = np.random.default_rng(2)
    post = xr.Dataset({
        "log_median": (("chain", "draw"), rng.normal(3.0, 0.1, (1, 5))),
        "log_shape": (("chain", "draw"), rng.normal(0.2, 0.05, (1, 5))),
        "log_hr": (("chain", "draw"), rng.normal(-0.4, 0.05, (1, 5))),
        "cure_logit": (("chain", "draw"), rng.normal(-0.5, 0.1, (1, 5))),
        "cure_effect": (("chain", "draw"), rng.normal(0.6, 0.1, (1, 5))),
    }, coords={"chain": [0], "draw": np.arange(5)})
    t = np.array([6.0, 24.0, 60.0, 240.0])
    s = survival_draws(post, "weibull", "non-mixture", t, t_ref=20.0)
    shape = np.exp(post["log_shape"].values)[..., None]
    scale = np.exp(post["log_median"].values[..., None] - np.log(np.log(2)) / shape)
    for a in (0, 1):
        hr = np.exp(a * post["log_hr"].values)[..., None]
        pi = 1 / (1 + np.exp(-(post["cure_logit"].values + a * post["cure_effect"].values)))
        s_u = np.exp(-((t / scale) ** shape) * hr)
        np.testing.assert_allclose(s.isel(arm=a).values, pi[..., None] ** (1 - s_u), rtol=1e-10)


@pytest.mark.slow
def test_non_mixture_model_fits_reported_summaries():
    rng = np.random.default_rng(4)
    arms = {}
    for arm, cure in (("control", 0.3), ("experimental", 0.5)):
        t, e, c = simulate_arm(rng, 400, cure, 1.2, 20.0)
        s, lo, hi = km_landmark_with_ci(t, e, 60.0)
        arms[arm] = ReportedArm(
            check_landmarks(pd.DataFrame({"time": [60.0], "survival": [s], "lower": [lo],
                                          "upper": [hi]})),
            pd.DataFrame({"n": [len(t)], "events": [int(e.sum())],
                          "median_followup": [float(np.median(c))],
                          "max_followup": [float(c.max())]}))
    model = build_reported_model("weibull", arms, cure="non-mixture")
    idata = sample(model, seed=3, draws=500, tune=800, target_accept=0.95)
    post = idata["posterior"].to_dataset()
    s = survival_draws(post, "weibull", "non-mixture", np.array([60.0]), t_ref=50.0)
    for a, arm in enumerate(("control", "experimental")):
        obs = arms[arm].landmarks
        med = float(s.isel(arm=a, time=0).median())
        assert float(obs["lower"].iloc[0]) < med < float(obs["upper"].iloc[0])
    assert float(post["cure_fraction_experimental"].median()) > float(
        post["cure_fraction_control"].median())
