"""IPD reconstruction: round trips on real trial IPD with known truth (lifelines' data sets),
the comparison with Guyot et al. (2012), and what the reconstruction says when input is odd."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_gbsg2, load_leukemia, load_rossi
from trials import staggered_two_arm_trial

from bayesurv.digitize.styles import load_dataset
from bayesurv.emulate import at_risk_table, emulate_clicks, round_trip
from bayesurv.errors import InputError
from bayesurv.evidence.curves import clean_curve
from bayesurv.nonparametric import cox_hazard_ratio, kaplan_meier, step_rmst
from bayesurv.reconstruct import accuracy_report, reconstruct


@pytest.fixture(scope="module")
def gbsg2():
    d = load_gbsg2()
    # GBSG-2 (Schumacher et al. 1994), recurrence-free survival in months by tamoxifen
    return d["time"] / 30.4375, d["cens"], (d["horTh"] == "yes").astype(int)


@pytest.fixture(scope="module")
def rossi():
    d = load_rossi()
    # Rossi et al. (1980) randomized financial aid for released prisoners; weeks to re-arrest
    return d["week"], d["arrest"], d["fin"]


def check_targets(res):
    """The issue's targets for arms of 100+ patients."""
    for arm in res["arms"].values():
        assert arm["n"][0] == arm["n"][1]
        assert arm["events"][0] == arm["events"][1]
        assert arm["mean_abs"] <= 0.005, arm
        # one event where ~60 remain at risk moves the KM by ~0.01: a single seed's maximum can
        # pass 0.02 by a hair (0.0202 seen); the average over seeds is held to 0.02 below
        assert arm["max_abs_25"] <= 0.025, arm
        assert abs(arm["rmst_rel"]) <= 0.01, arm
    assert abs(res["log_hr_ratio"]) <= 0.02, res


@pytest.mark.parametrize("style", ["corners", "auto"])
@pytest.mark.parametrize("seed", [0, 1])
def test_round_trip_gbsg2_meets_targets(gbsg2, style, seed):
    check_targets(round_trip(*gbsg2, nar_every=12, style=style, seed=seed))


@pytest.mark.parametrize("style", ["corners", "auto"])
@pytest.mark.parametrize("seed", [0, 1])
def test_round_trip_rossi_meets_targets(rossi, style, seed):
    # integer weeks: ties within and between arms, and 318 patients censored at week 52
    check_targets(round_trip(*rossi, nar_every=10, style=style, seed=seed))


@pytest.mark.slow
def test_maximum_difference_averaged_over_seeds_is_within_target(gbsg2, rossi):
    worst = []
    for data, every in ((gbsg2, 12), (rossi, 10)):
        for style in ("corners", "auto"):
            for seed in range(4):
                r = round_trip(*data, nar_every=every, style=style, seed=seed)
                worst += [a["max_abs_25"] for a in r["arms"].values()]
    assert np.mean(worst) <= 0.02


def test_without_total_events_patients_are_exact_and_events_close(gbsg2):
    res = round_trip(*gbsg2, nar_every=12, style="auto", with_total_events=False, seed=3)
    for arm in res["arms"].values():
        assert arm["n"][0] == arm["n"][1]
        assert abs(arm["events"][0] - arm["events"][1]) <= 3
    assert abs(res["log_hr_ratio"]) <= 0.02


def test_bayesurv_is_closer_to_the_truth_than_guyot(gbsg2, rossi):
    """Averaged over seeds and both data sets, on WebPlotDigitizer-style automatic extraction."""
    ours, theirs = [], []
    for data, every in ((gbsg2, 12), (rossi, 10)):
        for seed in range(3):
            for method, out in (("bayesurv", ours), ("guyot", theirs)):
                r = round_trip(*data, nar_every=every, style="auto", method=method, seed=seed)
                out.append(
                    [
                        np.mean([a["mean_abs"] for a in r["arms"].values()]),
                        np.mean([abs(a["rmst_rel"]) for a in r["arms"].values()]),
                    ]
                )
    ours, theirs = np.mean(ours, axis=0), np.mean(theirs, axis=0)
    assert ours[0] < 0.75 * theirs[0]  # mean |KM difference|
    assert ours[1] < 0.75 * theirs[1]  # RMST error


def test_guyot_reproduces_exact_clicks(gbsg2):
    t, e, g = gbsg2
    a_t, a_e = t[g == 1], e[g == 1]
    clicks = emulate_clicks(a_t, a_e, style="corners", noise_px=0.0, seed=0)
    nar = at_risk_table(a_t, np.arange(0, 84, 12))
    r = reconstruct(clicks, nar, method="guyot")
    assert len(r.ipd) == len(a_t)
    assert r.report["km_vs_clicks"]["mean_abs_diff"] < 0.003
    # Guyot censors at the midpoint between clicks, which can fall after a NAR time across a
    # flat stretch, so the table is not always reproduced; bayesurv's censoring stays inside
    ours = reconstruct(clicks, nar)
    assert [x["reconstructed"] for x in ours.report["at_risk"]] == nar["at_risk"].tolist()


def test_numbers_at_risk_the_curve_cannot_support_are_reported_not_overwritten():
    clicks = pd.DataFrame({"time": [0, 2, 2, 8, 8, 20], "survival": [1, 1, 0.6, 0.6, 0.5, 0.5]})
    nar = pd.DataFrame({"time": [0, 5, 10], "at_risk": [100, 90, 80]})
    r = reconstruct(clicks, nar)
    w = [w for w in r.report["warnings"] if "cannot support" in w][0]
    assert "[0, 5)" in w and "100 at risk" in w and "at least 40 events" in w and "says 90" in w
    rows = {x["time"]: x for x in r.report["at_risk"]}
    assert rows[5.0]["reported"] == 90 and rows[5.0]["reconstructed"] == 60
    assert len(r.ipd) == 100


def test_any_input_ends(gbsg2):
    """Random curves against random (falling) tables: the reconstruction always finishes, with
    every patient accounted for."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        k = rng.integers(3, 60)
        t = np.sort(rng.uniform(0, 50, k))
        s = np.sort(rng.uniform(0, 1, k))[::-1]
        m = rng.integers(1, 6)
        nar_t = (
            np.concatenate([[0], np.sort(rng.uniform(1, 45, m - 1))]) if m > 1 else np.array([0.0])
        )
        nar_n = np.sort(rng.integers(0, 300, m))[::-1]
        nar_n[0] = max(nar_n[0], 1)
        nar = pd.DataFrame(
            {"time": np.unique(nar_t)[: len(nar_n)], "at_risk": nar_n[: len(np.unique(nar_t))]}
        )
        for method in ("bayesurv", "guyot"):
            r = reconstruct(pd.DataFrame({"time": t, "survival": s}), nar, method=method)
            assert len(r.ipd) == nar["at_risk"].iloc[0]


def test_a_curve_that_falls_to_zero_before_a_nar_time():
    # 10 patients: 4 events at 2, 2 censored before 5, 3 events at 5, the last at 8 (S = 0);
    # the table prints 0 at risk at 8.5
    clicks = pd.DataFrame(
        {"time": [0, 2, 2, 5, 5, 8, 8, 9], "survival": [1, 1, 0.6, 0.6, 0.2, 0.2, 0, 0]}
    )
    nar = pd.DataFrame({"time": [0, 5, 8.5], "at_risk": [10, 4, 0]})
    for method in ("bayesurv", "guyot"):
        r = reconstruct(clicks, nar, method=method)
        assert len(r.ipd) == 10, method
    ev = r.ipd[r.ipd["event"] == 1]["time"].tolist()
    r = reconstruct(clicks, nar)
    assert r.ipd[r.ipd["event"] == 1]["time"].tolist() == [2, 2, 2, 2, 5, 5, 5, 8]
    assert r.report["km_vs_clicks"]["max_abs_diff"] < 0.06  # 0.6 -> 0.2 with 4 at risk: 3 events
    assert ev  # Guyot runs too (its published code would divide by S = 0)


def test_total_events_matched_exactly_without_a_table(gbsg2):
    t, e, g = gbsg2
    a_t, a_e = t[g == 0], e[g == 0]
    clicks = emulate_clicks(a_t, a_e, style="auto", seed=2)
    r = reconstruct(clicks, None, n=len(a_t), total_events=int(a_e.sum()))
    assert len(r.ipd) == len(a_t) and r.ipd["event"].sum() == a_e.sum()
    assert "no numbers-at-risk table" in r.report["trust"]


EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples" / "gbsg2"


@pytest.mark.parametrize("arm", ["no_tamoxifen", "tamoxifen"])
def test_draws_without_a_table_keep_every_patient_and_the_total(arm):
    """n= and total_events= with draws=: random censoring times must never use a patient twice
    (9 of 10 seeds ended in "negative dimensions are not allowed" for no_tamoxifen)."""
    clicks = pd.read_csv(EXAMPLES / f"clicks_{arm}.csv", comment="#")
    events = pd.read_csv(EXAMPLES / "events.csv", comment="#").set_index("arm")
    n, total = int(events.loc[arm, "n"]), int(events.loc[arm, "total_events"])
    for seed in range(4):
        r = reconstruct(clicks, n=n, total_events=total, draws=5, seed=seed)
        for ipd in [r.ipd, *r.draws]:
            assert len(ipd) == n and int(ipd["event"].sum()) == total
        assert r.report["uncertainty"]["events"] == [total, total]


def test_small_arm_works_and_says_how_uncertain(rossi):
    d = load_leukemia()  # Freireich et al. (1963): 6-MP vs placebo, 21 patients per arm
    a = d[d["Rx"] == 0]
    clicks = emulate_clicks(a["t"], a["status"], style="corners", seed=1)
    nar = at_risk_table(a["t"], [0, 5, 10, 15, 20, 25, 30])
    r = reconstruct(clicks, nar, total_events=int(a["status"].sum()), draws=30, seed=4)
    assert len(r.ipd) == 21 and r.ipd["event"].sum() == a["status"].sum()
    assert "small arm (n = 21)" in r.report["trust"]
    u = r.report["uncertainty"]
    assert u["draws"] == 30 and u["rmst"][0] <= u["rmst"][1]
    km = kaplan_meier(a["t"], a["status"])
    true_rmst = step_rmst(km["time"], km["survival"], r.report["rmst"]["to"])
    assert u["rmst"][0] - 0.5 <= true_rmst <= u["rmst"][1] + 0.5


def test_whole_units_are_detected_and_said(rossi):
    t, e, g = rossi
    clicks = emulate_clicks(t[g == 0], e[g == 0], style="corners", seed=0, x_max=60)
    r = reconstruct(clicks, at_risk_table(t[g == 0], np.arange(0, 52, 10)))
    assert any("whole time units" in w for w in r.report["warnings"])
    assert np.all(r.ipd["time"] == np.round(r.ipd["time"]))
    r0 = reconstruct(clicks, at_risk_table(t[g == 0], np.arange(0, 52, 10)), time_unit=0)
    assert not np.all(r0.ipd["time"] == np.round(r0.ipd["time"]))


def test_continuous_times_are_not_rounded(gbsg2):
    t, e, g = gbsg2
    clicks = emulate_clicks(t[g == 0], e[g == 0], style="auto", seed=0)
    r = reconstruct(clicks, at_risk_table(t[g == 0], np.arange(0, 84, 12)))
    assert not any("whole time units" in w for w in r.report["warnings"])


def test_report_maximum_is_absolute():
    clicks = pd.DataFrame({"time": [0, 10, 10, 20], "survival": [1, 1, 0.9, 0.9]})
    cleaned = clean_curve(clicks)
    nar = pd.DataFrame({"time": [0.0], "at_risk": [10]})
    # IPD whose KM is *below* the clicks by 0.1 on [10, 20): 2 events at 10 instead of 1
    ipd = pd.DataFrame({"time": [10, 10] + [20] * 8, "event": [1, 1] + [0] * 8})
    rep = accuracy_report(ipd, cleaned, nar)
    assert rep["km_vs_clicks"]["max_abs_diff"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(at_risk=None), "number of patients is needed"),
        (dict(total_events=500), "more than the 50 patients"),
        (dict(total_events=3.5), "not a count"),
        (dict(method="magic"), "unknown method"),
        (dict(n=60), "disagrees"),
    ],
)
def test_bad_requests(kwargs, match):
    clicks = pd.DataFrame({"time": [0, 5, 5, 30], "survival": [1, 1, 0.8, 0.8]})
    args = dict(at_risk=pd.DataFrame({"time": [0, 10], "at_risk": [50, 30]}))
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        reconstruct(clicks, **args)


def test_zero_at_risk_beyond_the_curve_is_dropped_and_said():
    clicks = pd.DataFrame({"time": [0, 5, 5, 30], "survival": [1, 1, 0.8, 0.8]})
    nar = pd.DataFrame({"time": [0, 10, 40], "at_risk": [50, 30, 0]})
    r = reconstruct(clicks, nar)
    assert any("dropped numbers at risk of 0" in w for w in r.report["warnings"])


# --------------------------------------------------------------------------------------------
# real clicks: a table past the last click, a final drop to 0, censor marks, the trust line
# --------------------------------------------------------------------------------------------
def test_a_table_that_runs_past_the_last_click_is_used_not_refused(gbsg2):
    # the NEJM-like case: clicks stop (here at 39 months) before the printed table does (to 60,
    # with 58 still at risk); IPDfromKM and reconstructKM accept it, and so must we
    t, e, g = gbsg2
    a_t, a_e = t[g == 1].to_numpy(), e[g == 1].to_numpy()
    clicks = emulate_clicks(a_t, a_e, style="corners", seed=0)
    clicks = clicks[clicks["time"] <= 40.3]
    t_last = float(clicks["time"].max())
    nar = at_risk_table(a_t, np.arange(0, 61, 6))
    r = reconstruct(clicks, nar)
    assert len(r.ipd) == len(a_t)
    warning = next(w for w in r.report["warnings"] if "runs past the last click" in w)
    assert "120 at 42" in warning and "58 at 60" in warning
    rows = {x["time"]: x for x in r.report["at_risk"]}
    # every row up to the last click is matched exactly; the rows beyond are marked
    assert all(rows[x]["reported"] == rows[x]["reconstructed"] for x in rows if x <= t_last)
    assert all(rows[x].get("beyond_curve") for x in rows if x > t_last)
    # nobody's follow-up is invented past the curve: those still at risk are censored at its end
    assert r.ipd["time"].max() == pytest.approx(t_last)
    assert (r.ipd["time"] >= t_last).sum() >= 120  # the table says 120 still at risk at 42
    assert "rows after the last click" in r.report["trust"]


def test_an_overhang_with_few_patients_left_is_reconstructed():
    # clicks to 15.2 months, the table to 18 months with 18 at risk (the NEJM case)
    clicks = pd.DataFrame(
        {
            "time": [0, 3, 3, 7.5, 7.5, 11, 11, 15.2],
            "survival": [1, 1, 0.9, 0.9, 0.75, 0.75, 0.6, 0.6],
        }
    )
    nar = pd.DataFrame({"time": [0, 6, 12, 18], "at_risk": [60, 51, 34, 18]})
    r = reconstruct(clicks, nar)
    assert len(r.ipd) == 60
    assert (r.ipd["time"] >= 15.2).sum() >= 18
    assert any("runs past the last click" in w for w in r.report["warnings"])


#: a 12-patient arm whose curve ends by dropping to 0 (a censoring tied with an event at 24.8)
SMALL_ARM = (
    [1.8, 10.5, 11.5, 14.1, 16.0, 16.2, 18.2, 19.9, 23.8, 24.8, 24.8, 28.5],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1],
)


def test_a_12_patient_arm_gets_all_11_of_its_events():
    # emulated clicks (1 px noise, seed 118) and the table every 5 months: the old engine (and
    # Guyot's published algorithm, which IPDfromKM implements) reconstructed 10 of the 11
    # events, however the total was given: the missing event had nowhere to go because the
    # interval's censorings lay before its drop
    t, e = (np.array(x, dtype=float) for x in SMALL_ARM)
    clicks = emulate_clicks(t, e, style="corners", noise_px=1.0, seed=118)
    nar = at_risk_table(t, np.arange(0, t.max(), 5))
    r = reconstruct(clicks, nar, total_events=11)
    assert int(r.ipd["event"].sum()) == 11 and len(r.ipd) == 12
    assert [x["reconstructed"] for x in r.report["at_risk"]] == nar["at_risk"].tolist()
    km = kaplan_meier(r.ipd["time"], r.ipd["event"])
    assert km["survival"].iloc[-1] == 0.0


def test_a_curve_that_drops_to_zero_ends_in_an_event():
    # 12 patients, the curve ends at 0, the reported total 11: the old engine censored the last
    # patient before the final drop (its KM ended at 0.083, not 0)
    t = np.array([8.6, 4.6, 23.7, 20.3, 15.6, 24.6, 16.7, 29.4, 6.5, 16.8, 14.8, 10.9])
    e = np.ones(12, dtype=int)
    clicks = emulate_clicks(t, e, style="corners", noise_px=1.0, seed=1)
    for every in (3, 5, 6):
        nar = at_risk_table(t, np.arange(0, t.max(), every))
        r = reconstruct(clicks, nar, total_events=11)
        km = kaplan_meier(r.ipd["time"], r.ipd["event"])
        assert km["survival"].iloc[-1] == 0.0, every
        last = r.ipd.sort_values("time").iloc[-1]
        assert last["event"] == 1 and int(r.ipd["event"].sum()) == 11


def test_a_drop_clicked_just_above_zero_is_a_drop_to_zero():
    clicks = pd.DataFrame({"time": [0, 4, 4, 9, 9], "survival": [1, 1, 0.5, 0.5, 0.004]})
    r = reconstruct(clicks, None, n=10)
    km = kaplan_meier(r.ipd["time"], r.ipd["event"])
    assert km["survival"].iloc[-1] == 0.0 and int(r.ipd["event"].sum()) == 10
    assert any("final drop to 0" in w for w in r.report["warnings"])


def test_censor_marks_are_the_censorings_without_a_table(gbsg2):
    # GBSG-2 tamoxifen arm (246 patients, 152 censored): without a table nothing says when
    # patients left, so every drop is read against everyone still in the arm and the events
    # are overcounted; the figure's censor marks say when they left
    t, e, g = gbsg2
    a_t, a_e = t[g == 1].to_numpy(), e[g == 1].to_numpy()
    clicks = emulate_clicks(a_t, a_e, style="corners", seed=3)
    marks = np.unique(a_t[a_e == 0])  # one mark per distinct censoring time, as drawn
    plain = reconstruct(clicks, None, n=len(a_t))
    marked = reconstruct(clicks, None, n=len(a_t), censor_times=marks)
    assert marked.report["censor_marks"]["given"] == marks.size
    cens = np.sort(marked.ipd.loc[marked.ipd["event"] == 0, "time"].to_numpy())
    assert np.isin(np.round(marks, 9), np.round(cens, 9)).all()
    true_events = int(a_e.sum())
    assert abs(int(plain.ipd["event"].sum()) - true_events) > 40  # 138 for 94
    assert abs(int(marked.ipd["event"].sum()) - true_events) <= 10
    for x in (12.0, 24.0, 36.0, 48.0, 60.0):
        truth = int((a_t >= x).sum())
        assert abs(int((marked.ipd["time"] >= x).sum()) - truth) <= 0.05 * len(a_t), x
    assert "except at censor marks" in plain.report["trust"]


def test_censor_marks_place_the_censorings_within_a_table(gbsg2):
    # with the table, the marks decide where in each interval the censorings go; events and
    # numbers at risk stay exact
    t, e, g = gbsg2
    a_t, a_e = t[g == 0].to_numpy(), e[g == 0].to_numpy()
    clicks = emulate_clicks(a_t, a_e, style="corners", seed=0)
    nar = at_risk_table(a_t, np.arange(0, 84, 12))
    marks = np.unique(a_t[a_e == 0])
    r = reconstruct(clicks, nar, total_events=int(a_e.sum()), censor_times=marks)
    assert [x["reconstructed"] for x in r.report["at_risk"]] == nar["at_risk"].tolist()
    assert int(r.ipd["event"].sum()) == int(a_e.sum())
    cens = r.ipd.loc[r.ipd["event"] == 0, "time"].to_numpy()
    assert np.isin(marks, cens).mean() >= 0.95


def test_bad_censor_marks_are_one_sentence():
    clicks = pd.DataFrame({"time": [0, 5, 5, 30], "survival": [1, 1, 0.8, 0.8]})
    with pytest.raises(InputError, match="censor mark 2 is at time -1"):
        reconstruct(clicks, None, n=10, censor_times=[3, -1])
    with pytest.raises(InputError, match="censor mark 1 is not a number"):
        reconstruct(clicks, None, n=10, censor_times=["x"])


def test_trust_does_not_claim_the_table_when_the_km_leaves_the_curve():
    # a total of events the curve cannot carry: the KM of the result is far below the curve
    clicks = pd.DataFrame({"time": [0, 5, 5, 10, 10, 20], "survival": [1, 1, 0.9, 0.9, 0.8, 0.8]})
    nar = pd.DataFrame({"time": [0, 5, 10, 15], "at_risk": [50, 50, 45, 40]})
    ok = reconstruct(clicks, nar, source="arm B")
    assert ok.report["agreement"]["ok"]
    assert ok.report["trust"] == "numbers at risk at every printed time constrain the result"
    bad = reconstruct(clicks, nar, total_events=30, source="arm B")
    agreement = bad.report["agreement"]
    assert not agreement["ok"] and agreement["difference"] > 0.1
    assert bad.report["trust"].startswith("arm B: the reconstruction does not follow the curve")
    assert f"near time {agreement['time']:g}" in bad.report["trust"]
    assert "constrain the result" not in bad.report["trust"]
    assert any(w.startswith("arm B: the reconstructed KM is") for w in bad.report["warnings"])


def _log_hr(a: pd.DataFrame, b: pd.DataFrame) -> float:
    ipd = pd.concat([a.assign(g=0), b.assign(g=1)], ignore_index=True)
    return cox_hazard_ratio(ipd["time"], ipd["event"], ipd["g"])["log_hr"]


def _draws_log_hr(arms, step, total, draws, seed):
    """The one reconstruction's log HR and its draws' of two arms (corner clicks, NAR every
    ``step`` up to the last click, total events given or not)."""
    recs = []
    for k, (t, e) in enumerate(arms):
        clicks = emulate_clicks(t, e, style="corners", seed=seed + k)
        nar = at_risk_table(t, np.arange(0, clicks["time"].max(), step))
        total_events = int(np.sum(e)) if total else None
        recs.append(reconstruct(clicks, nar, total_events=total_events, draws=draws, seed=seed + k))
    base = _log_hr(recs[0].ipd, recs[1].ipd)
    pairs = zip(recs[0].draws, recs[1].draws, strict=True)
    return base, np.array([_log_hr(a, b) for a, b in pairs])


@pytest.mark.slow
def test_draws_spread_grows_with_a_coarser_table():
    """GBSG-2 by hormone therapy (the generator styles' data): the table pins how many were
    censored per interval, not when; a table every 36 months pins less than one every 6.
    Measured: SD of the draws' log HR 0.0048 (6) -> 0.0114 (36), x 2.39 (0.0047 -> 0.0079,
    x 1.67, before the draws also drew the censoring after the last printed time per patient,
    with an unknown analysis cut-off, and the split of a slope at a printed time); censoring
    times drawn flat alone (the first draws) gave 0.0033 -> 0.0040, x 1.20."""
    data = load_dataset("gbsg2_horth")
    arms = [(t, e) for _, t, e in data.arms]
    sd = {}
    for step in (6, 36):
        _, draws = _draws_log_hr(arms, step, total=False, draws=40, seed=7)
        sd[step] = draws.std(ddof=1)
    assert sd[36] > 1.4 * sd[6], sd


@pytest.mark.slow
def test_draws_cover_the_truth_where_the_table_does_not_pin_censoring():
    """Simulated trials with known truth (exponential arms, true HR 0.7, 200 per arm, accrual
    uniform over 36 months with analysis at 60, exponential dropout), NAR every 24 months: the
    IPD's Cox log HR should lie within the reconstruction draws' spread as if it were one more
    draw. Measured on these 20 trials: z = (mean of draws - truth) / SD of draws has rms 0.93
    and |z| < 1.645 in 95%; 1.26 and 85% before the censoring after the last printed time was
    drawn per patient with an unknown cut-off; censoring times drawn flat alone gave rms 2.15
    and 70%."""
    z = []
    for rep in range(20):
        arms = staggered_two_arm_trial(100 + rep)
        t = np.concatenate([a[0] for a in arms])
        e = np.concatenate([a[1] for a in arms])
        truth = cox_hazard_ratio(t, e, np.repeat([0, 1], 200))["log_hr"]
        _, draws = _draws_log_hr(arms, 24, total=False, draws=20, seed=2 * rep)
        z.append((draws.mean() - truth) / draws.std(ddof=1))
    z = np.array(z)
    assert np.sqrt(np.mean(z**2)) < 1.6, z
    assert np.mean(np.abs(z) < 1.645) >= 0.75, z
