"""Numbers for people: the one formatter of report.html (bayesurv.report_format)."""

import math

import numpy as np
import pandas as pd
import pytest

from bayesurv.report_format import (
    error_percent,
    format_table,
    header,
    interval,
    number,
    percent,
    probability_error,
    rhat,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1190.4, "1,190"),  # was printed 1.19e+03
        (1114.018, "1,114"),
        (-1596.5, "-1,596"),  # round half to even, as Python rounds
        (999.7, "1,000"),
        (0.0012345, "0.00123"),
        (0.38, "0.380"),
        (12.34, "12.3"),
        (2.0, "2"),
        (7, "7"),
        (np.int64(440), "440"),
        (True, "yes"),
        (np.False_, "no"),
        (None, ""),
        (float("nan"), ""),
        (math.inf, "∞"),
        (0.0, "0"),
    ],
)
def test_number(value, text):
    assert number(value) == text


def test_number_never_writes_an_exponent_and_keeps_three_significant_digits():
    rng = np.random.default_rng(3)
    for x in 10.0 ** rng.uniform(-6, 7, 400) * rng.choice([-1, 1], 400):
        text = number(x)
        assert "e" not in text.lower(), text
        back = float(text.replace(",", ""))
        tol = 0.5 if abs(x) >= 1000 else 5e-3 * abs(x) + 1e-12
        assert abs(back - x) <= tol, (x, text)


@pytest.mark.parametrize(
    ("p", "text", "words"),
    [
        (0.95858, "95.9%", "95.9%"),
        (0.9995, "> 99.9%", "more than 99.9%"),
        (1.0, "> 99.9%", "more than 99.9%"),  # was "1.000 (MC error 0.000)"
        (0.99949, "99.9%", "99.9%"),
        (0.0004, "< 0.1%", "less than 0.1%"),
        (0.0, "< 0.1%", "less than 0.1%"),
        (0.5, "50.0%", "50.0%"),
    ],
)
def test_percent(p, text, words):
    assert percent(p) == text and percent(p, words=True) == words


def test_monte_carlo_error_and_the_rule_of_three():
    assert error_percent(0.0048) == "0.5%" and error_percent(0.0003) == "0.03%"
    assert error_percent(0.00004) == "< 0.01%"
    # every one of 8,000 draws satisfies the statement: the error given is the bound 3/8000
    assert probability_error(1.0, 0.0, 8000) == ("more than 99.9%", "below 0.04%")
    assert probability_error(0.954375, 0.004857, 8000) == ("95.4%", "0.5%")


def test_interval_header_and_rhat():
    d = {"median": -0.105, "lower": -0.42, "upper": 0.2}
    assert interval(d) == "-0.105 (-0.420 to 0.200)"  # "to": a negative limit reads right
    assert interval({"median": 0.47, "lower": 0.29, "upper": 0.672}, pct=True) == (
        "47.0% (29.0% to 67.2%)"
    )
    assert header("within_published_ci") == "within published CI"
    assert header("R-hat max") == "R-hat max"
    assert rhat(1.0039) == "1.004" and rhat(1.0104) == "1.0104" and rhat(1.0096) == "1.010"


def test_format_table_applies_one_rule_per_column():
    df = pd.DataFrame(
        {
            "model": ["weibull", "lognormal"],
            "P(HR < 1)": [0.99975, 0.4],
            "R-hat max": [1.0104, 1.002],
            "ess_bulk_min": [1114.02, 98.8],
            "within_published_ci": [True, False],
            "AIC": [3193.0071, np.nan],
            "p_loo": [2.87, 3.1],  # the effective number of parameters, not a probability
        }
    )
    out = format_table(df)
    assert list(out.columns) == [
        "model",
        "P(HR < 1)",
        "R-hat max",
        "ESS bulk min",
        "within published CI",
        "AIC",
        "p LOO",
    ]
    assert out.iloc[0].tolist() == ["weibull", "> 99.9%", "1.0104", "1,114", "yes", "3,193", "2.87"]
    assert out.iloc[1].tolist() == ["lognormal", "40.0%", "1.002", "99", "no", "", "3.10"]
    # a legacy format string sets the decimals, and still no exponent
    legacy = format_table(pd.DataFrame({"x": [1234567.891, 0.5]}), "{:.3f}")
    assert legacy["x"].tolist() == ["1,234,567.891", "0.500"]
