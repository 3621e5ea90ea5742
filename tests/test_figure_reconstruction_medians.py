"""The median printed in a figure against the reconstructed KM's (``median_check``).

Unit cases in closed form: 100 patients with one death a month (KM 1 - k/100 at month k, median
50) and a KM that stays just above 0.5 on a long plateau. The real case: KEYNOTE-061's two
figures (``../shared/figures``, used in place), whose colour-coded boxes print the medians with
their intervals; the values are checked against the published ones in ``truth.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesurv.figure_reconstruction import READING_PX, arm_warnings, median_check
from bayesurv.nonparametric import step_median

FIGURES = Path(__file__).resolve().parents[2] / "shared" / "figures"
KEYNOTE = FIGURES / "keynote061_os_pembro_vs_paclitaxel"


def _monthly():
    """One death a month for 100 months: S(k) = 1 - k/100, at risk 101 - k at month k."""
    return pd.DataFrame({"time": np.arange(1.0, 101.0), "event": np.ones(100, int)})


def _plateau():
    """49 deaths at months 1..49 (S = 0.51 from month 49), then 51 censored at month 100."""
    time = np.r_[np.arange(1.0, 50.0), np.full(51, 100.0)]
    return pd.DataFrame({"time": time, "event": np.r_[np.ones(49, int), np.zeros(51, int)]})


@pytest.mark.parametrize(
    ("printed", "ok"),
    [
        # e = 0.01 + 0.5/51 = 0.0198: the KM is within e of 0.5 from month 49 (S = 0.51) to
        # month 52 (S = 0.48); +/- 0.1 (time axis) + 0.05 (printed to 0.1): 48.85 to 52.15
        ("50.0 (45.0-55.0)", True),
        ("48.9 (45.0-55.0)", True),
        ("48.8 (45.0-55.0)", False),
        ("52.1 mo (45.0-55.0)", True),
        ("52.2 mo (45.0-55.0)", False),
        ("NR (40.0-NR)", False),  # the KM falls to 0.48
    ],
)
def test_printed_median_against_a_steady_fall(printed, ok):
    ipd = _monthly()
    assert step_median(np.arange(1.0, 101.0), 1 - np.arange(1.0, 101.0) / 100) == 50.0
    c = median_check(printed, ipd, reading_error=0.01, time_error=0.1)
    assert c["reconstructed"] == 50.0
    assert (c["from"], c["to"]) == (49.0, 52.0)
    assert c["tolerance"] == pytest.approx(0.1 if printed.startswith("NR") else 0.15)
    assert c["ok"] is ok


@pytest.mark.parametrize(
    ("printed", "ok"),
    [
        ("NR (30.0-NR)", True),  # the KM never reaches 0.5
        ("80.0 (40.0-NR)", True),  # 0.51 is within the reading error of 0.5 from month 49 on
        ("30.0 (20.0-40.0)", False),  # the KM is still 0.70 there
    ],
)
def test_printed_median_against_a_plateau_near_one_half(printed, ok):
    c = median_check(printed, _plateau(), reading_error=0.01, time_error=0.1)
    assert c["reconstructed"] is None
    assert (c["from"], c["to"]) == (49.0, None)
    assert c["ok"] is ok


def test_a_disagreeing_median_is_one_warning_of_its_arm():
    bad = median_check("60.0 (55.0-65.0)", _monthly(), reading_error=0.01, time_error=0.1)
    good = median_check("50.0 (45.0-55.0)", _monthly(), reading_error=0.01, time_error=0.1)
    said, notes = arm_warnings("A", [], [], median=bad)
    assert len(said) == 1 and not notes
    assert said[0].startswith("A: the median printed in the figure ('60.0 (55.0-65.0)': 60)")
    assert "(50)" in said[0] and "from t = 49 to 52" in said[0]
    assert arm_warnings("A", [], [], median=good) == ([], [])
    assert median_check("Fulvestrant 500 mg", _monthly(), reading_error=0.01, time_error=0) is None


@pytest.mark.slow
@pytest.mark.skipif(not KEYNOTE.is_dir(), reason="the real figures (../shared/figures) are absent")
def test_keynote061_printed_medians_checked_against_the_reconstruction():
    from bayesurv import reconstruct_figure

    truth = json.loads((KEYNOTE / "truth.json").read_text())["panels"]
    # no legend: arm1 is the teal pembrolizumab curve, arm2 the maroon paclitaxel one (by n)
    published = {
        panel: [truth[panel]["arms"][a]["median"] for a in ("Pembrolizumab", "Paclitaxel")]
        for panel in ("CPS1", "CPS10")
    }
    for panel, name in (("CPS1", "figure_cps1.jpg"), ("CPS10", "figure_cps10.jpg")):
        rec = reconstruct_figure(KEYNOTE / name)
        checks = [rec.confidence[arm]["median"] for arm in rec.arms]
        assert [c["printed"] for c in checks] == published[panel]  # read as published
        for arm, c, median in zip(rec.arms, checks, published[panel], strict=True):
            gap = max(c["from"] - median, median - c["to"], 0.0)
            # a warning exactly where the published median is off the reconstructed KM
            assert c["ok"] is (gap <= c["tolerance"])
            said = [w for w in rec.warnings if w.startswith(f"{arm}: the median printed")]
            assert len(said) == (0 if c["ok"] else 1)
        if panel == "CPS1":  # 9.1 / 8.3 published, 8.8 / 8.2 reconstructed: both agree
            assert all(c["ok"] for c in checks)
            # the other arm's median is caught: 9.1 is off the paclitaxel KM (7.8-8.2 +/- 0.5)
            arm2 = rec.reconstructions[rec.arms[1]].ipd
            swapped = median_check(
                "9.1 mo (6.2-10.7)",
                arm2,
                reading_error=rec.confidence[rec.arms[1]]["reading_error"],
                time_error=abs(rec.digitized.axes.x.slope) * READING_PX,
            )
            assert not swapped["ok"]
        else:  # 8.0 published for paclitaxel, 8.65 reconstructed: said
            assert [c["ok"] for c in checks] == [True, False]
