"""bayesurv.datasets: every shipped file found, each loader's numbers checked against the file in
the checkout and, where the data were derived from a public data set, against that data set."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesurv import datasets
from bayesurv.errors import InputError
from bayesurv.lifetable import US_TABLE, us_life_table

ROOT = Path(__file__).resolve().parent.parent


def test_a_checkout_reads_its_own_data_folder():
    assert datasets.root() == ROOT
    assert (
        datasets.path("data/lifetables/survexp_us.csv") == ROOT / "data/lifetables/survexp_us.csv"
    )
    assert US_TABLE == ROOT / "data/lifetables/survexp_us.csv"


def test_names_lists_every_file_that_ships():
    want = {p.relative_to(ROOT).as_posix() for p in (ROOT / "data").rglob("*") if p.is_file()}
    want |= {"models/case_study.toml", "models/ball_nma.toml"}
    assert set(datasets.names()) == want
    for name in datasets.names():
        assert datasets.path(name).is_file()


def test_an_installed_wheel_reads_bayesurv_data(tmp_path, monkeypatch):
    """Where the package holds _data/ (a wheel), that folder is the root, not the checkout."""
    (tmp_path / "_data" / "models").mkdir(parents=True)
    (tmp_path / "_data" / "models" / "case_study.toml").write_text("x = 1\n")
    monkeypatch.setattr(datasets.resources, "files", lambda package: tmp_path)
    datasets.root.cache_clear()
    try:
        assert datasets.root() == tmp_path / "_data"
        assert datasets.path("models/case_study.toml").read_text() == "x = 1\n"
        assert datasets.names() == ["models/case_study.toml"]
    finally:
        datasets.root.cache_clear()


@pytest.mark.parametrize(
    "name", ["data/nope.csv", "../pyproject.toml", "data", "/etc/passwd", "data/../setup.py"]
)
def test_a_name_that_does_not_ship_is_refused_in_one_sentence(name):
    with pytest.raises(InputError, match=r"is not a file bayesurv ships; give one of"):
        datasets.path(name)


GBSG2, CASE = "data/examples/gbsg2", "data/case_study/study_20120215"


@pytest.mark.parametrize(
    ("loader", "file", "columns"),
    [
        ("load_gbsg2_at_risk", f"{GBSG2}/at_risk.csv", ["arm", "time", "at_risk"]),
        ("load_gbsg2_events", f"{GBSG2}/events.csv", ["arm", "n", "total_events"]),
        ("load_case_study_landmarks", f"{CASE}_landmarks.csv", None),
        ("load_case_study_events", f"{CASE}_events.csv", None),
        ("load_case_study_hazard_ratios", f"{CASE}_hazard_ratios.csv", None),
        ("load_blinatumomab_effects", "data/effects_blinatumomab.csv", None),
        ("load_ball_nma", "data/nma_ball_os.csv", None),
        ("load_us_life_table", "data/lifetables/survexp_us.csv", ["year", "age", "sex", "hazard"]),
    ],
)
def test_each_loader_is_its_file_as_a_plain_table(loader, file, columns):
    got = getattr(datasets, loader)()
    assert type(got) is pd.DataFrame
    want = pd.read_csv(
        ROOT / file, comment="#", skipinitialspace=True, float_precision="round_trip"
    )
    pd.testing.assert_frame_equal(got, want)
    if columns is not None:
        assert list(got.columns) == columns


def test_case_study_hr_is_the_published_one():
    """Locatelli et al., final 5-year analysis: EFS HR 0.38 (95% CI 0.22-0.65)."""
    hr = datasets.load_case_study_hazard_ratios()
    row = hr.query("analysis == 'final 5-year' and endpoint == 'EFS'").iloc[0]
    assert (row["hr"], row["lower"], row["upper"]) == (0.38, 0.22, 0.65)
    assert "Locatelli" in row["source"]


def test_us_life_table_is_what_the_life_table_module_reads():
    lt, table = datasets.load_us_life_table(), us_life_table(2014)
    assert len(lt) == 3 * 110 * 2
    for sex in ("male", "female"):
        rows = lt.query("year == 2014 and sex == @sex").sort_values("age")
        np.testing.assert_array_equal(
            table.hazard(rows["age"].to_numpy() + 0.5, sex), rows["hazard"].to_numpy()
        )


@pytest.fixture(scope="module")
def gbsg2():
    lifelines = pytest.importorskip("lifelines")
    df = lifelines.datasets.load_gbsg2()
    return df.assign(arm=np.where(df["horTh"] == "yes", "tamoxifen", "no_tamoxifen"))


def test_gbsg2_example_matches_lifelines_ipd(gbsg2):
    """The counts and the truth come from lifelines' GBSG-2 IPD (load_gbsg2: 686 patients)."""
    events = datasets.load_gbsg2_events().set_index("arm")
    ipd = gbsg2.groupby("arm").agg(n=("cens", "size"), total_events=("cens", "sum"))
    for arm in ("tamoxifen", "no_tamoxifen"):
        assert events.loc[arm, "n"] == ipd.loc[arm, "n"]
        assert events.loc[arm, "total_events"] == ipd.loc[arm, "total_events"]
    nar = datasets.load_gbsg2_at_risk()
    months = gbsg2["time"] / (365.25 / 12)
    for _, row in nar.iterrows():
        at_risk = int(((gbsg2["arm"] == row["arm"]) & (months >= row["time"])).sum())
        assert abs(row["at_risk"] - at_risk) <= 1, row.to_dict()


def test_gbsg2_truth_is_lifelines_cox_fit(gbsg2):
    """Cox PH (Efron ties), tamoxifen vs none: lifelines' CoxPHFitter on the same IPD."""
    from lifelines import CoxPHFitter

    df = pd.DataFrame(
        {"T": gbsg2["time"], "E": gbsg2["cens"], "tam": (gbsg2["arm"] == "tamoxifen").astype(int)}
    )
    cph = CoxPHFitter().fit(df, "T", "E")
    truth = datasets.load_gbsg2_truth()
    assert truth["hr"] == pytest.approx(float(np.exp(cph.params_["tam"])), abs=1e-4)
    ci = np.exp(cph.confidence_intervals_.loc["tam"].to_numpy())
    assert truth["lower"] == pytest.approx(ci[0], abs=1e-4)
    assert truth["upper"] == pytest.approx(ci[1], abs=1e-4)


def test_gbsg2_clicks_follow_the_km_curve(gbsg2):
    """Emulated clicks (1-pixel noise on a 600x400 plot) lie within 0.02 of lifelines' KM."""
    from lifelines import KaplanMeierFitter

    clicks = datasets.load_gbsg2_clicks()
    assert set(clicks["arm"]) == {"tamoxifen", "no_tamoxifen"}
    for arm, pts in clicks.groupby("arm"):
        sub = gbsg2[gbsg2["arm"] == arm]
        km = KaplanMeierFitter().fit(sub["time"] / (365.25 / 12), sub["cens"])
        s = km.survival_function_.iloc[:, 0]
        lo = s.reindex(pts["time"] + 0.5, method="ffill").to_numpy()  # after a step
        hi = s.reindex(pts["time"] - 0.5, method="ffill").fillna(1.0).to_numpy()  # before it
        y = pts["survival"].to_numpy()
        inside = (y >= np.minimum(lo, hi) - 0.02) & (y <= np.maximum(lo, hi) + 0.02)
        assert inside.mean() > 0.95, arm
