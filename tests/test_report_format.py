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
    plain,
    rhat,
    share_of_draws,
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
        (1e-12, "< 0.0000000001"),  # was "0.0000000000": a non-zero value printed as 0
        (-1e-12, "> -0.0000000001"),
        (3e-10, "0.0000000003"),  # ten decimals at most
    ],
)
def test_number(value, text):
    assert number(value) == text


def test_number_never_writes_an_exponent_and_keeps_three_significant_digits():
    """Down to 1e-15: three significant digits where ten decimals hold them, the value rounded
    to ten decimals below that, and a bound - never a 0 - for what ten decimals show as 0."""
    rng = np.random.default_rng(3)
    for x in 10.0 ** rng.uniform(-15, 7, 800) * rng.choice([-1, 1], 800):
        text = number(x)
        assert "e" not in text.lower(), text
        if abs(x) < 5e-11:  # ten decimals would read 0
            assert text == ("< 0.0000000001" if x > 0 else "> -0.0000000001"), (x, text)
            continue
        back = float(text.replace(",", ""))
        assert back != 0 and (back > 0) == (x > 0), (x, text)
        if abs(x) >= 1000:
            tol = 0.5
        elif abs(x) >= 1e-8:
            tol = 5e-3 * abs(x) + 1e-15
        else:
            tol = 0.5e-10 + 1e-20  # rounded to ten decimals
        assert abs(back - x) <= tol, (x, text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (100 * 0.07, "7"),  # 7.000000000000001: was "7.00"
        (100 * 0.1, "10"),
        (100 * 0.005, "0.5"),
        (-100 * 0.05, "-5"),
        (0.8125, "0.8125"),  # a threshold as typed, not to three significant digits
        (1000.0, "1,000"),
        (2.5, "2.5"),
        (1e-12, "< 0.0000000001"),
        (0.0, "0"),
    ],
)
def test_plain_shows_a_threshold_as_typed(value, text):
    assert plain(value) == text


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


def test_monte_carlo_error():
    assert error_percent(0.0048) == "0.5%" and error_percent(0.0003) == "0.03%"
    assert error_percent(0.00004) == "< 0.01%"
    assert share_of_draws(0.954375, 0.004857, 8000) == (
        "95.4%",
        "Monte Carlo error 0.5%; 8,000 posterior draws",
    )
    assert share_of_draws(0.25, 0.01, 1000, of=" of the weibull model")[1] == (
        "Monte Carlo error 1.0%; 1,000 posterior draws of the weibull model"
    )


def test_every_draw_agreeing_claims_only_the_rule_of_three_bound():
    """p = 1 over 1,000 draws was 'more than 99.9% (Monte Carlo error below 0.3%)': the draws
    support only P > 1 - 3/1000 (95% upper limit 3/n of a rate with no event in n trials)."""
    assert share_of_draws(1.0, 0.0, 1000) == (
        "above 99.7%",
        "it holds in all 1,000 posterior draws; 95% bound by the rule of three",
    )
    assert share_of_draws(0.0, 0.0, 1000, of=" of the weibull model") == (
        "below 0.3%",
        "it holds in none of the 1,000 posterior draws of the weibull model; 95% bound by the "
        "rule of three",
    )
    assert share_of_draws(1.0, 0.0, 8000)[0] == "above 99.96%"
    assert share_of_draws(1.0, 0.0, 3) == (
        "unknown",
        "it holds in all 3 posterior draws, too few to bound it",
    )
    # for any number of draws the bound shown is true (no stronger than 1 - 3/n) and at most
    # one unit of its last digit weaker
    for n in sorted({int(n) for n in 10 ** np.linspace(0.7, 7, 300)}):
        b = 3.0 / n
        for p in (1.0, 0.0):
            text, detail = share_of_draws(p, 0.0, n)
            if b >= 1:
                assert text == "unknown" and "too few" in detail, (n, text)
                continue
            word, shown = text.split()
            v = float(shown.rstrip("%")) / 100
            unit = 10.0 ** -(len(shown.rstrip("%").partition(".")[2]) + 2)
            if p == 1.0:
                assert word == "above" and 1 - b - unit - 1e-12 <= v <= 1 - b + 1e-12, (n, text)
            else:
                assert word == "below" and b - 1e-12 <= v <= b + unit + 1e-12, (n, text)
            assert f"{n:,} posterior draws" in detail


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
