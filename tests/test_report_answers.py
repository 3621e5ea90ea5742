"""The spec's questions as sentences, one value each (bayesurv.report_answers)."""

from types import SimpleNamespace

import pytest

from bayesurv.report_answers import EXACT_METHOD, answer, answers, console_line


def survival_summary(endpoint_arms=("control", "experimental")):
    return {
        "survival": {
            "OS": {
                "key": "os",
                "base_case": "weibull-mixture",
                "models": {
                    "weibull-mixture": {
                        "arms": list(endpoint_arms),
                        "time_unit": "months",
                        "horizon_years": 70.0,
                    }
                },
            }
        },
        "ipd": {},
        "pool": {},
        "nma": {},
    }


SPEC = SimpleNamespace(survival=[SimpleNamespace(name="OS", endpoint="OS")])


def q(statement, p=0.9, mcse=0.004, draws=8000):
    return {"statement": statement, "probability": p, "mcse": mcse, "draws": draws}


def test_survival_difference_in_years_and_points():
    s = survival_summary()
    a = answer(q("P(os_surv_diff(60) > 0.10)", 0.9995, 0.0003), s, SPEC)
    assert a.sentence == (
        "The probability that overall survival at 5 years is more than 10 percentage points "
        "higher in the experimental arm than in the control arm is more than 99.9% (Monte Carlo "
        "error 0.03%; 8,000 posterior draws of the weibull-mixture model)."
    )
    assert a.computation == "MCMC: share of posterior draws" and a.section == "OS"
    # 18 months is not a whole number of years: said in months; a unit in the statement kept
    assert "at 18 months" in answer(q("P(os_surv_diff(18) > 0)"), s, SPEC).sentence
    assert "at 52 weeks" in answer(q("P(os_surv_diff(52 weeks) > 0)"), s, SPEC).sentence


def test_every_draw_agreeing_gives_the_rule_of_three_bound():
    """All (or none) of 1,000 draws: the sentence claims only what the draws show, P > 1 - 3/n
    (was 'more than 99.9% (Monte Carlo error below 0.3%; ...)')."""
    s = survival_summary()
    a = answer(q("P(os_life_years_gained_discounted > 2)", 1.0, 0.0, 1000), s, SPEC)
    assert a.sentence == (
        "The probability that the experimental arm gains more than 2 discounted life-years over "
        "the control arm within 70 years (OS) is above 99.7% (it holds in all 1,000 posterior "
        "draws of the weibull-mixture model; 95% bound by the rule of three)."
    )
    b = answer(q("P(os_hr > 1.5)", 0.0, 0.0, 8000), s, SPEC)
    assert b.sentence.endswith(
        "is below 0.04% (it holds in none of the 8,000 posterior draws of the weibull-mixture "
        "model; 95% bound by the rule of three)."
    )


_DIFF = "the difference in overall survival at 5 years (the experimental arm minus the control arm)"
_THAN = "in the experimental arm than in the control arm"


@pytest.mark.parametrize(
    ("statement", "words"),
    [
        # a negative threshold lost its sign: "> -0.05" read "is above 5 percentage points"
        ("os_surv_diff(5 years) > -0.05", f"{_DIFF} is above -5 percentage points"),
        ("-0.05 < os_surv_diff(60)", f"{_DIFF} is above -5 percentage points"),
        ("os_surv_diff(60) >= -0.05", f"{_DIFF} is at least -5 percentage points"),
        ("os_surv_diff(60) > -0.01", f"{_DIFF} is above -1 percentage point"),
        ("os_surv_diff(60) < 0.05", f"{_DIFF} is below 5 percentage points"),
        ("os_surv_diff(60) <= 0.05", f"{_DIFF} is at most 5 percentage points"),
        ("0.05 > os_surv_diff(60)", f"{_DIFF} is below 5 percentage points"),
        (
            "os_surv_diff(60) > 0.05",
            f"overall survival at 5 years is more than 5 percentage points higher {_THAN}",
        ),
        (
            "os_surv_diff(60) >= 0.05",
            f"overall survival at 5 years is at least 5 percentage points higher {_THAN}",
        ),
        (
            "os_surv_diff(60) < -0.05",
            f"overall survival at 5 years is more than 5 percentage points lower {_THAN}",
        ),
        (
            "os_surv_diff(60) <= -0.05",
            f"overall survival at 5 years is at least 5 percentage points lower {_THAN}",
        ),
        (
            "-0.05 >= os_surv_diff(60)",
            f"overall survival at 5 years is at least 5 percentage points lower {_THAN}",
        ),
        ("os_surv_diff(60) > 0", f"overall survival at 5 years is higher {_THAN}"),
        ("os_surv_diff(60) >= 0", f"overall survival at 5 years is at least as high {_THAN}"),
        ("os_surv_diff(60) < 0", f"overall survival at 5 years is lower {_THAN}"),
        ("os_surv_diff(60) <= 0", f"overall survival at 5 years is at most as high {_THAN}"),
        (
            "os_cure_diff > -0.1",
            "the difference in the cured fraction (OS) (the experimental arm minus the control "
            "arm) is above -10 percentage points",
        ),
        (
            "os_cure_diff < -0.1",
            f"the cured fraction (OS) is more than 10 percentage points lower {_THAN}",
        ),
        (
            "os_cure_diff > 0.1",
            f"the cured fraction (OS) is more than 10 percentage points higher {_THAN}",
        ),
        (
            "os_cure_diff <= 0.1",
            "(the experimental arm minus the control arm) is at most 10 percentage points",
        ),
        # thresholds without float noise (100 * 0.07 = 7.000000000000001 printed "7.00")
        ("os_surv_diff(60) > 0.07", "is more than 7 percentage points higher"),
        ("os_surv_diff(60) > 0.1", "is more than 10 percentage points higher"),
        ("os_surv_diff(60) > 0.005", "is more than 0.5 percentage points higher"),
        ("os_surv_diff(60) < -0.005", "is more than 0.5 percentage points lower"),
        ("os_survival('control', 5 years) > 0.07", "in the control arm is above 7%"),
        (
            "os_life_years_gained > -0.5",
            "over the control arm within 70 years (OS) is above -0.5 years",
        ),
        ("os_hr < 0.8125", "is below 0.8125"),
    ],
)
def test_every_comparison_keeps_its_direction_and_sign(statement, words):
    a = answer(q(f"P({statement})", 0.6), survival_summary(), SPEC)
    assert words in a.sentence, a.sentence
    assert a.sentence.startswith("The probability that") and "statement" not in a.sentence


def test_console_line_gives_the_reported_value_and_its_computation():
    """What ``bayesurv demo`` / ``run`` print: the value the report gives, not the share."""
    exact = {
        "statement": "P(p_pooled_hr < 0.8)",
        "probability": 0.954,
        "mcse": 0.005,
        "draws": 8000,
        "answer": "...",
        "computation": EXACT_METHOD,
        "reported_probability": 0.95858,
    }
    assert (
        console_line(exact, width=24)
        == "P(p_pooled_hr < 0.8)     95.9% (exact, by quadrature over tau)"
    )
    sampled = {
        **exact,
        "computation": "MCMC: share of posterior draws",
        "reported_probability": 0.954,
    }
    assert console_line(sampled, width=0) == (
        "P(p_pooled_hr < 0.8) 95.4% (MCMC: share of posterior draws; Monte Carlo error 0.5%; "
        "8,000 posterior draws)"
    )
    every = {**sampled, "probability": 1.0, "mcse": 0.0, "draws": 1000, "reported_probability": 1.0}
    assert console_line(every, width=0) == (
        "P(p_pooled_hr < 0.8) above 99.7% (MCMC: share of posterior draws; it holds in all 1,000 "
        "posterior draws; 95% bound by the rule of three)"
    )
    # a summary whose report was not built: the share of draws, said so
    bare = {k: exact[k] for k in ("statement", "probability", "mcse", "draws")}
    assert console_line(bare, width=0) == (
        "P(p_pooled_hr < 0.8) 95.4% (MCMC: share of posterior draws; Monte Carlo error 0.5%; "
        "8,000 posterior draws)"
    )


def test_named_arms_survival_and_a_statement_without_words():
    s = survival_summary(("HC3", "blinatumomab"))
    a = answer(q("P(os_survival('HC3', 5 years) < 30%)", 0.25), s, SPEC)
    assert a.sentence.startswith(
        "The probability that overall survival at 5 years in HC3 is below 30% is 25.0%"
    )
    b = answer(q("P(os_hr < 0.8)", 0.7), s, SPEC)
    assert "the hazard ratio of blinatumomab to HC3 (OS) is below 0.8" in b.sentence
    c = answer(q("P(os_rmst_diff > 3 and os_hr < 1)", 0.5), s, SPEC)
    assert c.sentence.startswith(
        "The probability that the statement os_rmst_diff > 3 and os_hr < 1 holds is 50.0%"
    )


def test_a_pool_quantity_is_answered_exactly_and_says_so():
    """With the PoolRun the exact posterior answers any threshold; from the summary alone only
    the thresholds it recorded; the MCMC share is not used for either."""
    from bayesurv.synthesis.pool import pool

    exact = pool(
        ([-0.97, -0.36, -0.27], [0.28, 0.2, 0.21], ["a", "b", "c"]),
        tau_prior="halfnormal(0.5)",
        method="exact",
    )
    summary = {
        "pool": {"P": {"key": "p", "exact": exact.summary(thresholds=(1.0, 0.8))}},
        "queries": [],
    }
    pools = {"P": SimpleNamespace(exact=exact)}
    a = answer(q("P(p_pooled_hr < 0.7)", 0.123), summary, pools=pools)
    want = exact.prob_hr_below(0.7, "pooled")
    assert a.probability == pytest.approx(want) and a.probability != 0.123
    assert a.computation == EXACT_METHOD and a.mcse is None
    assert a.sentence.endswith(f"is {100 * want:.1f}% (exact, by quadrature over tau).")
    tau = answer(q("P(p_tau > 0.3)", 0.5), summary, pools=pools)
    assert tau.probability == pytest.approx(1 - float(exact.tau.cdf(0.3)))
    study = answer(q("P(p_hr_study[b] < 1)", 0.5), summary, pools=pools)
    assert study.probability == pytest.approx(exact.prob_hr_below(1.0, "b"))
    assert "the hazard ratio of b (P) is below 1" in study.sentence
    # summary only: the recorded exact probability at 0.8; 0.7 was not recorded
    got = answers({**summary, "queries": [q("P(p_predictive_hr < 0.8)"), q("P(p_hr < 0.7)")]})
    assert got[0].probability == pytest.approx(exact.prob_hr_below(0.8, "predictive"))
    assert got[0].computation == EXACT_METHOD
    assert got[1].probability == 0.9 and got[1].computation.startswith("MCMC")
    # the other way round reads the same: 0.8 > pooled_hr
    flipped = answer(q("P(0.8 > p_pooled_hr)"), summary, pools=pools)
    assert flipped.probability == pytest.approx(exact.prob_hr_below(0.8, "pooled"))


def test_a_meta_regression_coefficient_in_words():
    summary = {"pool": {"EFS by MRD": {"key": "efs_by_mrd", "exact": {}}}, "queries": []}
    a = answer(q('P(efs_by_mrd_coefficient_hr("level[positive]") < 1)', 0.8), summary)
    assert a.sentence.startswith(
        "The probability that the meta-regression's ratio of hazard ratios for level[positive] "
        "(EFS by MRD) is below 1 is 80.0% (Monte Carlo error 0.4%"
    )
    assert a.computation.startswith("MCMC")


def test_a_meta_regression_coefficient_is_answered_exactly():
    """Subgroups of study 20120215 by baseline MRD (data/study_20120215_subgroups.csv): the
    interaction's P(ratio of HRs < 1) from the exact posterior, as the section's table has it."""
    from pathlib import Path

    from bayesurv.evidence.effects import read_effects
    from bayesurv.synthesis.metaregression import metaregression

    path = Path(__file__).resolve().parent.parent / "data" / "study_20120215_subgroups.csv"
    eff = read_effects(path, {"outcome": "EFS", "factor": "baseline MRD"})
    reg = metaregression(eff, ["level"], tau_prior="halfnormal(0.5)", heterogeneity="fixed")
    label = "level[positive (>=1e-3)]"
    want = float(reg.coefficient(label).cdf(0.0))
    summary = {"pool": {"MRD": {"key": "mrd", "meta_regression": reg.summary()}}, "queries": []}
    statement = f'P(mrd_coefficient_hr("{label}") < 1)'
    with_run = answer(q(statement, 0.5), summary, pools={"MRD": SimpleNamespace(regression=reg)})
    from_summary = answer(q(statement, 0.5), summary)
    for a in (with_run, from_summary):
        assert a.probability == pytest.approx(want) and a.computation == EXACT_METHOD
    # fixed heterogeneity: the coefficient's posterior is normal, P(< 0) = Phi(-mean / sd)
    from scipy.stats import norm

    c = next(c for c in reg.summary()["coefficients"] if c["name"] == label)
    assert want == pytest.approx(norm.cdf(-c["mean"] / c["sd"]), abs=1e-6)
    above = answer(
        q(f'P(mrd_coefficient_hr("{label}") > 0.5)', 0.5),
        summary,
        pools={"MRD": SimpleNamespace(regression=reg)},
    )
    assert above.probability == pytest.approx(
        1 - float(reg.coefficient(label).cdf(-0.6931471805599453))
    )
