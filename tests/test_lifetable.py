"""Life tables: reading, validation, hazard lookup and exact cumulative hazards."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from bayesurv.errors import InputError
from bayesurv.lifetable import (
    OPEN_AGE,
    US_TABLE,
    LifeTable,
    LifeTableWarning,
    check_coverage,
    read_life_table,
    us_life_table,
)

#: tests that call R; CI must install it (apt-get install r-base-core r-cran-survival)
needs_r = pytest.mark.skipif(
    shutil.which("Rscript") is None,
    reason="needs R: Rscript with the survival package (apt-get install r-base-core "
    "r-cran-survival); the stored R values below still run",
)


def _table(rows, cols=("age", "sex", "hazard")):
    return pd.DataFrame(rows, columns=list(cols))


def _write(tmp_path, text, name="lt.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


TWO_AGES = _table([(0, "male", 0.1), (1, "male", 0.2), (0, "female", 0.05), (1, "female", 0.1)])


def test_hazard_is_piecewise_constant_and_the_oldest_age_extends():
    lt = LifeTable.from_frame(TWO_AGES)
    got = lt.hazard([0.0, 0.999, 1.0, 7.5, 200.0], "male")
    np.testing.assert_array_equal(got, [0.1, 0.1, 0.2, 0.2, 0.2])
    # vectorized over sex as well
    np.testing.assert_array_equal(lt.hazard([0.5, 0.5], ["male", "F"]), [0.1, 0.05])
    np.testing.assert_array_equal(lt.hazard_per_unit(0.5, "female", time_scale=12), 0.05 / 12)


def test_cumulative_hazard_closed_form_and_time_scale():
    lt = LifeTable.from_frame(TWO_AGES)
    # from age 0.25 over 2 years: 0.75 * 0.1 + 1 * 0.2 + 0.25 * 0.2 (extended)
    exact = 0.75 * 0.1 + 1.25 * 0.2
    assert lt.background_cumhaz(2.0, 0.25, "male") == pytest.approx(exact, rel=1e-14)
    assert lt.background_cumhaz(24.0, 0.25, "male", time_scale=12) == pytest.approx(
        exact, rel=1e-14
    )
    assert lt.background_cumhaz(0.0, 0.25, "male") == 0.0
    # broadcasting: times x ages
    H = lt.background_cumhaz(np.array([[0.5], [1.0]]), np.array([0.0, 0.5]), "female")
    np.testing.assert_allclose(H, [[0.025, 0.025], [0.05, 0.075]], rtol=1e-14)


def test_us_table_cumhaz_matches_quadrature_of_the_hazard():
    lt = us_life_table(2014)
    for age0, sex, t in [(0.0, "male", 30.0), (47.3, "female", 40.0), (83.9, "male", 35.5)]:
        pts = np.arange(np.ceil(age0), age0 + t)  # the jumps, so quad integrates each piece
        q, _ = integrate.quad(
            lambda a, sex=sex: float(lt.hazard(a, sex)),
            age0,
            age0 + t,
            points=pts,
            limit=200,
            epsabs=0,
            epsrel=1e-12,
        )
        assert lt.background_cumhaz(t, age0, sex) == pytest.approx(q, rel=1e-10)


def test_us_table_shape_and_values():
    full = read_life_table(US_TABLE)
    assert full.years == (2010, 2012, 2014)
    np.testing.assert_array_equal(full.ages, np.arange(110))
    lt = us_life_table(2014)
    # R 3.5.3 / survival 3.5.3: survexp.us["70", "male", "2014"] * 365.25
    assert lt.hazard(70.0, "male")[()] == pytest.approx(0.022958542, rel=1e-7)
    # R: survexp.us["109", "male", "2014"] * 365.25 (the oldest age, extended)
    assert lt.hazard(120.0, "male")[()] == pytest.approx(0.9407398464, rel=1e-9)
    assert us_life_table(2013).years == (2012,)  # the latest shipped year not after 2013
    with pytest.raises(InputError, match="before the first year"):
        us_life_table(1990)
    with pytest.raises(InputError, match="choose one with year="):
        full.hazard(50.0, "male")
    assert full.hazard(50.0, "male", year=2010)[()] != full.hazard(50.0, "male", year=2014)[()]


def test_qx_is_converted_to_a_hazard(tmp_path):
    p = _write(tmp_path, "# a comment\nage,sex,qx\n0,male,0.5\n1,male,0.25\n")
    lt = read_life_table(p)
    np.testing.assert_allclose(lt.hazard([0.5, 1.5], "male"), [np.log(2), -np.log(0.75)])


@pytest.mark.parametrize(
    "text, match",
    [
        ("age,sex,hazard\n0,male,0.1\n2,male,0.2\n", "ages jump from 0 to 2"),
        ("age,sex,hazard\n0,male,0.1\n0,male,0.2\n", "row 2: age 0, sex male repeats row 1"),
        ("age,sex,hazard\n0,male,-0.1\n", "row 1: hazard -0.1 is negative"),
        ("age,sex,qx\n0,male,1.2\n", "row 1: qx 1.2 is not below 1"),
        ("age,sex,hazard\n0,man,0.1\n", "row 1: sex 'man' is not known"),
        ("age,sex,hazard\n140,male,0.1\n", "row 1: age 140 is not a whole number"),
        ("age,sex,hazard\n0.5,male,0.1\n", "row 1: age 0.5 is not a whole number"),
        ("age,sex,hazard\n0,male,abc\n", "row 1: hazard is 'abc', not a number"),
        ("age,sex,hazard\n0,male,inf\n", "row 1: hazard is 'inf', not a finite number"),
        ("age,sex,hazard\n0,male,0,5\n", "row 1: the row has 4 fields but the header has 3"),
        ("age,sex,hazard\n0,male,1\x000\n", "line 2: holds a NUL byte"),
        ("age,sex,hazard,qx\n0,male,0.1,0.1\n", "exactly one of the columns"),
        ("age,hazard\n0,0.1\n", "needs 'sex'"),
        ("age,sex,hazard\n0,male,0.1\n1,male,0.1\n1,female,0.1\n", "ages 0-1 differ from 1-1"),
        ("year,age,sex,hazard\n2000,0,male,0.1\n2001,0,female,0.1\n", "has no rows for year"),
        ("age,sex,hazard\n", "no data rows"),
    ],
)
def test_bad_tables_raise_one_sentence(tmp_path, text, match):
    p = _write(tmp_path, text)
    with pytest.raises(InputError, match=match) as e:
        read_life_table(p)
    msg = str(e.value)
    assert msg.startswith(str(p)) and msg.endswith(".") and msg.count(". ") == 0


def test_semicolons_decimal_commas_and_utf16_read_as_the_plain_table(tmp_path):
    """The shared reader: a ';' table with decimal commas and a UTF-16 file with a BOM give the
    same rates as the plain comma-separated table (and '#' comment lines are skipped)."""
    plain = read_life_table(_write(tmp_path, "age,sex,qx\n0,male,0.1\n1,male,0.25\n", "a.csv"))
    comma = _write(tmp_path, "# from a spreadsheet\nage;sex;qx\n0;male;0,1\n1;male;0,25\n")
    wide = tmp_path / "w.csv"
    wide.write_text("age,sex,qx\n0,male,0.1\n1,male,0.25\n", encoding="utf-16")
    for other in (read_life_table(comma), read_life_table(wide)):
        np.testing.assert_array_equal(other.rates[("male", None)], plain.rates[("male", None)])
    np.testing.assert_allclose(plain.rates[("male", None)], -np.log1p(-np.array([0.1, 0.25])))


def test_bad_lookups_raise():
    lt = LifeTable.from_frame(_table([(40, "male", 0.1), (41, "male", 0.2)]))
    with pytest.raises(InputError, match="attained age 39 is outside the life table"):
        lt.hazard(39.0, "male")
    with pytest.raises(InputError, match="sex 'female' is not in the life table"):
        lt.hazard(40.0, "female")
    with pytest.raises(InputError, match="time_scale"):
        lt.background_cumhaz(1.0, 40.0, "male", time_scale=0)
    with pytest.raises(InputError, match=">= 0"):
        lt.background_cumhaz(-1.0, 40.0, "male")
    with pytest.raises(InputError, match="does not exist"):
        read_life_table("/nonexistent/lt.csv")


@needs_r
@pytest.mark.slow
def test_shipped_table_equals_r_survexp_us():
    code = (
        "library(survival); for (y in c('2010','2012','2014')) for (s in c('male','female')) "
        "cat(sprintf('%.17g', survexp.us[, s, y] * 365.25), '\\n')"
    )
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True)
    r = np.array([[float(v) for v in line.split()] for line in out.stdout.strip().splitlines()])
    full = read_life_table(US_TABLE)
    ours = np.array([full.rates[(s, y)] for y in (2010, 2012, 2014) for s in ("male", "female")])
    np.testing.assert_array_equal(ours, r)


def test_docstring_examples():
    import doctest
    import importlib

    res = doctest.testmod(
        importlib.import_module("bayesurv.lifetable"), optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert res.attempted > 0 and res.failed == 0


# ---- coverage: a table that does not reach the cohort is refused before the work ----------
INFANT = _table([(0, "male", 0.0067), (1, "male", 0.00045)])


def test_a_table_covering_the_cohort_passes():
    lt = LifeTable.from_frame(INFANT, "infant.csv")
    assert check_coverage(lt, [0.2, 0.5], horizon=1.5) is None  # reaches age 2.0 = 1 + 1
    # an open last age (>= OPEN_AGE): survexp.us ends at 109, its last row every older age
    assert us_life_table(2014).ages[-1] == 109 and OPEN_AGE <= 109
    assert check_coverage(us_life_table(2014), [60.0, 85.0]) is None


@pytest.mark.parametrize(
    ("ages", "horizon", "match"),
    [
        # the friction of issue 14: ages 0-1 for a 60-year-old cohort, lifetime horizon
        (
            [60.0],
            None,
            r"^infant\.csv: the life table covers ages 0-1, yet the cohort enters at age 60 "
            r"and is followed for a lifetime; give a table that reaches age 100 .*"
            r"--life-table-extend constant",
        ),
        ([0.5, 0.9], 5.0, r"ages 0.5-0.9 and is followed to age 5.9 \(5 years\).*ends by age 2"),
        ([40.0], 10.0, "followed to age 50"),
    ],
)
def test_a_table_short_of_the_cohort_is_refused_in_one_sentence(ages, horizon, match):
    lt = LifeTable.from_frame(INFANT, "infant.csv")
    with pytest.raises(InputError, match=match) as e:
        check_coverage(lt, ages, horizon)
    msg = str(e.value)
    assert msg.endswith(".") and msg.count(". ") == 0 and "\n" not in msg


def test_a_table_starting_after_the_youngest_entry_is_refused():
    lt = LifeTable.from_frame(_table([(40, "male", 0.1), (41, "male", 0.2)]), "old.csv")
    with pytest.raises(InputError, match=r"covers ages 40-41, yet the cohort enters at ages "
                       r"39.5-40; give a table from age 39 or younger"):  # fmt: skip
        check_coverage(lt, [39.5, 40.0], horizon=1.0)
    with pytest.raises(InputError, match="covers ages 40-41"):  # extension is only upwards
        check_coverage(lt, [39.5], horizon=1.0, extend="constant")


def test_the_constant_rule_extends_with_a_warning_naming_the_ages():
    lt = LifeTable.from_frame(INFANT, "infant.csv")
    rule = r"infant\.csv ends at age 1; .*entry at age 60.* hazard of age 1 at every age from 2 on"
    with pytest.warns(LifeTableWarning, match=rule + r" \(rule: constant hazard"):
        note = check_coverage(lt, [60.0], None, extend="constant")
    assert "constant hazard beyond the last age" in note
    # the rule is what the table does past its last age: the hazard of age 1, at age 75
    assert lt.hazard(75.0, "male") == pytest.approx(0.00045)
    with pytest.raises(InputError, match="unknown life-table extension 'linear'"):
        check_coverage(lt, [60.0], extend="linear")


def test_a_shorter_horizon_is_offered_only_when_the_follow_up_fits_in_the_table():
    """The data's own follow-up sets the floor of the horizon: a table to age 62 for
    60-year-olds followed 7.3 years cannot be met by a shorter --horizon-years (the fix the
    message used to offer; following it was refused again)."""
    rows = [(a, "male", 0.01) for a in range(0, 63)]
    lt = LifeTable.from_frame(_table(rows), "to62.csv")
    with pytest.raises(InputError) as long_follow:
        check_coverage(lt, [60.0], horizon=10.0, follow_up=7.28)
    assert "--horizon-years" not in str(long_follow.value)
    assert "--life-table-extend constant" in str(long_follow.value)
    with pytest.raises(InputError, match=r"a --horizon-years that ends by age 63"):
        check_coverage(lt, [60.0], horizon=10.0, follow_up=2.0)
    assert check_coverage(lt, [60.0], horizon=3.0, follow_up=2.0) is None
