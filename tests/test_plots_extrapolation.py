"""Extrapolation plots: what is drawn equals what was given (medians, bands, background, KM,
end of follow-up, log hazard axis, cure-fraction histograms)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.nonparametric import kaplan_meier
from bayesurv.plots.extrapolation import (
    plot_cure_fractions,
    plot_extrapolation,
    plot_hazard_extrapolation,
)

TIME_SCALE = 12.0  # the synthetic result is in months
FOLLOW_UP = 54.0  # months: 4.5 years
ARMS = ["control", "experimental"]
TIME = np.arange(0.0, 40 * 12 + 1, 6.0)  # 0 to 40 years, every 6 months


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _tree(arm_codes: bool = False) -> xr.DataTree:
    """A result of the documented layout (the module docstring) with known values."""
    rng = np.random.default_rng(7)
    chains, draws = 2, 60
    rate = rng.uniform(0.005, 0.02, (chains, draws, 2)) * np.array([1.0, 0.7])
    cure = rng.beta([20, 35], [80, 65], (chains, draws, 2))
    bg_rate = 0.002 * np.exp(0.004 * TIME)  # per month, rising
    s_bg = np.exp(-np.cumsum(np.r_[0.0, 0.5 * (bg_rate[1:] + bg_rate[:-1]) * np.diff(TIME)]))
    s_u = np.exp(-rate[..., None] * TIME)
    surv = s_bg * (cure[..., None] + (1 - cure[..., None]) * s_u)
    h_exc = (
        (1 - cure[..., None])
        * rate[..., None]
        * s_u
        / (cure[..., None] + (1 - cure[..., None]) * s_u)
    )
    haz = bg_rate + h_exc
    haz[..., 0] = np.inf  # a hazard that is infinite at t = 0 is left out, not drawn
    dims4 = ("chain", "draw", "arm", "time")
    coords = {"chain": [0, 1], "draw": np.arange(draws), "arm": ARMS, "time": TIME}
    derived = xr.Dataset(
        {
            "survival": (dims4, surv),
            "hazard": (dims4, haz),
            "background_survival": ("time", s_bg),
            "background_hazard": ("time", bg_rate),
            "cure_fraction": (("chain", "draw", "arm"), cure),
            "mean_survival": (("chain", "draw", "arm"), rng.uniform(5, 15, (chains, draws, 2))),
        },
        coords=coords,
    )
    n = 80
    arm = np.repeat([0, 1], n // 2)
    t = rng.exponential(30.0, n).clip(max=FOLLOW_UP)
    event = (t < FOLLOW_UP).astype(int)
    obs = xr.Dataset({"time": ("patient", t)})
    const = xr.Dataset(
        {
            "time": ("patient", event),
            "arm": ("patient", arm if arm_codes else np.asarray(ARMS, dtype=object)[arm]),
        }
    )
    # the derived group's attrs as bayesurv.survival.outputs.derived writes them
    derived.attrs.update({"time_scale": TIME_SCALE, "time_unit": "months", "follow_up": FOLLOW_UP})
    return xr.DataTree.from_dict({"derived": derived, "observed_data": obs, "constant_data": const})


def _by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, (gid, [a.get_gid() for a in ax.get_children() if a.get_gid()])
    return found[0]


def _band_limits(poly, x):
    """Lowest and highest y of a fill_between band at each x."""
    v = poly.get_paths()[0].vertices
    lo = np.array([v[np.isclose(v[:, 0], xi), 1].min() for xi in x])
    hi = np.array([v[np.isclose(v[:, 0], xi), 1].max() for xi in x])
    return lo, hi


@pytest.mark.parametrize("arm_codes", [False, True])
def test_survival_plot_draws_the_given_curves(arm_codes):
    tree = _tree(arm_codes)
    fig = plot_extrapolation(tree)
    ax = fig.axes[0]
    d = tree["derived"]
    x = TIME / TIME_SCALE
    for arm in ARMS:
        draws = d["survival"].sel(arm=arm).values.reshape(-1, TIME.size)
        med = _by_gid(ax, f"median:{arm}")
        np.testing.assert_allclose(med.get_xdata(), x)  # years on the x axis
        np.testing.assert_allclose(med.get_ydata(), np.quantile(draws, 0.5, axis=0), rtol=1e-12)
        lo, hi = _band_limits(_by_gid(ax, f"band:{arm}"), x)
        np.testing.assert_allclose(lo, np.quantile(draws, 0.025, axis=0), rtol=1e-12)
        np.testing.assert_allclose(hi, np.quantile(draws, 0.975, axis=0), rtol=1e-12)
        # the KM of the arm's observed patients, as steps
        code = ARMS.index(arm)
        sel = tree["constant_data"]["arm"].values == (code if arm_codes else arm)
        km = kaplan_meier(
            tree["observed_data"]["time"].values[sel], tree["constant_data"]["time"].values[sel]
        )
        line = _by_gid(ax, f"km:{arm}")
        assert line.get_drawstyle() == "steps-post"
        np.testing.assert_allclose(line.get_xdata(), km["time"] / TIME_SCALE)
        np.testing.assert_allclose(line.get_ydata(), km["survival"])
    bg = _by_gid(ax, "background")
    np.testing.assert_allclose(bg.get_xdata(), x)
    np.testing.assert_allclose(bg.get_ydata(), d["background_survival"].values)
    fu = _by_gid(ax, "follow-up")
    np.testing.assert_allclose(fu.get_xdata(), [FOLLOW_UP / TIME_SCALE] * 2)
    assert ax.get_xlim() == pytest.approx((0.0, 40.0))
    assert "Years" in ax.get_xlabel()


def test_survival_plot_ci_and_overrides():
    tree = _tree()
    fig = plot_extrapolation(tree, ci=0.5, follow_up=24.0, km=False, time_scale=1.0)
    ax = fig.axes[0]
    draws = tree["derived"]["survival"].sel(arm="control").values.reshape(-1, TIME.size)
    lo, hi = _band_limits(_by_gid(ax, "band:control"), TIME)
    np.testing.assert_allclose(lo, np.quantile(draws, 0.25, axis=0), rtol=1e-12)
    np.testing.assert_allclose(hi, np.quantile(draws, 0.75, axis=0), rtol=1e-12)
    np.testing.assert_allclose(_by_gid(ax, "follow-up").get_xdata(), [24.0, 24.0])
    assert not [a for a in ax.get_children() if str(a.get_gid()).startswith("km:")]


def test_survival_plot_with_plain_arrays_as_the_runner_calls_it():
    # analysis_report: plot_extrapolation(d["survival"], landmarks=..., background=ndarray,
    #                                     time_scale=scale, title=..., follow_up=...)
    tree = _tree()
    surv = tree["derived"]["survival"]
    bg = tree["derived"]["background_survival"].values
    lm = pd.DataFrame(
        {
            "arm": ARMS,
            "time": [36.0, 36.0],
            "survival": [0.5, 0.6],
            "lower": [0.4, 0.5],
            "upper": [0.6, 0.7],
        }
    )
    fig = plot_extrapolation(
        surv, landmarks=lm, background=bg, time_scale=12.0, title="T", follow_up=60.0
    )
    ax = fig.axes[0]
    np.testing.assert_allclose(_by_gid(ax, "background").get_ydata(), bg)
    np.testing.assert_allclose(_by_gid(ax, "follow-up").get_xdata(), [5.0, 5.0])
    np.testing.assert_allclose(_by_gid(ax, "median:control").get_xdata(), TIME / 12.0)
    assert ax.get_title() == "T"
    points = [ln for ln in ax.lines if str(ln.get_gid()).startswith("landmark:")]
    points = [ln for ln in points if ln.get_marker() == "o"]
    assert sorted((ln.get_gid(), ln.get_xdata()[0], ln.get_ydata()[0]) for ln in points) == [
        ("landmark:control", 3.0, 0.5),
        ("landmark:experimental", 3.0, 0.6),
    ]
    with pytest.raises(InputError):
        plot_extrapolation(surv, background=bg[:-1], time_scale=12.0)


def _legend_landmark_label(lm: pd.DataFrame) -> str:
    fig = plot_extrapolation(
        _tree()["derived"]["survival"], landmarks=lm, time_scale=12.0, follow_up=60.0
    )
    said = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    return next(t for t in said if t.startswith("published KM estimate"))


def test_landmark_legend_names_the_rows_ci_level():
    # study 20120215, final 5-year OS (data/case_study/study_20120215_landmarks.csv): 95% CIs
    lm = pd.DataFrame(
        {
            "arm": ["experimental", "control"],
            "time": [60.0, 60.0],
            "survival": [0.784, 0.414],
            "lower": [0.642, 0.263],
            "upper": [0.874, 0.559],
        }
    )
    assert _legend_landmark_label(lm) == "published KM estimate, 95% CI"
    assert _legend_landmark_label(lm.assign(ci_level=[np.nan, ""])) == (
        "published KM estimate, 95% CI"
    )
    # the same estimates with the limits of their 97.5% / 90% CI (the published 95% CI's
    # standard error on the cloglog scale, bayesurv.evidence.ci.centre_se)
    from bayesurv.evidence.ci import centre_se, z_of_level

    g, se = centre_se(lm["survival"], lm["lower"], lm["upper"], 0.95, "cloglog")
    at = {}
    for level, said in ((0.975, "97.5% CI"), (0.9, "90% CI")):
        z = z_of_level(level)
        at[level] = lm.assign(
            lower=np.exp(-np.exp(g + z * se)), upper=np.exp(-np.exp(g - z * se)), ci_level=level
        )
        assert _legend_landmark_label(at[level]) == f"published KM estimate, {said}"
    # experimental as published (95%), control at 97.5%
    mixed = pd.concat([lm.iloc[:1].assign(ci_level=0.95), at[0.975].iloc[1:]])
    assert _legend_landmark_label(mixed) == "published KM estimate, CI (level per row)"


def test_survival_plot_background_on_its_own_grid():
    tree = _tree()
    t_bg = np.linspace(0, 480, 11)
    bg = xr.DataArray(np.linspace(1, 0.2, 11), dims="time", coords={"time": t_bg})
    fig = plot_extrapolation(tree["derived"]["survival"], background=bg, time_scale=12.0)
    line = _by_gid(fig.axes[0], "background")
    np.testing.assert_allclose(line.get_xdata(), t_bg / 12)
    np.testing.assert_allclose(line.get_ydata(), bg.values)


def test_hazard_plot_log_axis_per_year():
    tree = _tree()
    fig = plot_hazard_extrapolation(tree)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    d = tree["derived"]
    for arm in ARMS:
        draws = d["hazard"].sel(arm=arm).values.reshape(-1, TIME.size)
        med = _by_gid(ax, f"median:{arm}").get_ydata()
        assert np.isnan(med[0])  # the infinite hazard at 0 is a gap
        np.testing.assert_allclose(
            med[1:], TIME_SCALE * np.quantile(draws[:, 1:], 0.5, axis=0), rtol=1e-12
        )
    bg = _by_gid(ax, "background")
    np.testing.assert_allclose(bg.get_xdata(), TIME / TIME_SCALE)
    np.testing.assert_allclose(bg.get_ydata(), TIME_SCALE * d["background_hazard"].values)
    np.testing.assert_allclose(_by_gid(ax, "follow-up").get_xdata(), [4.5, 4.5])
    assert "per year" in ax.get_ylabel()


def test_cure_fraction_histograms_from_the_tree():
    tree = _tree()
    fig = plot_cure_fractions(tree, "cure", prior=np.random.default_rng(1).uniform(size=5000))
    ax = fig.axes[0]
    edges = np.linspace(0, 1, 61)
    for arm in ARMS:
        x = tree["derived"]["cure_fraction"].sel(arm=arm).values.ravel()
        patch = _by_gid(ax, f"cure:{arm}")
        values, got_edges, _ = patch.get_data()
        np.testing.assert_allclose(got_edges, edges)
        np.testing.assert_allclose(values, np.histogram(x, edges, density=True)[0])
        med, lo, hi = np.quantile(x, [0.5, 0.025, 0.975])
        assert patch.get_label() == f"{arm}: {med:.2f} ({lo:.2f}-{hi:.2f})"
    prior = _by_gid(ax, "prior")
    assert prior.get_fill() is False
    assert ax.get_title() == "cure"


def test_cure_fraction_legacy_dict_and_prior_density():
    rng = np.random.default_rng(2)
    draws = {"control": rng.beta(20, 80, 3000), "experimental": rng.beta(40, 60, 3000)}
    fig = plot_cure_fractions(draws, "t", prior=lambda p: np.ones_like(p))
    ax = fig.axes[0]
    assert {p.get_gid() for p in ax.patches} == {"cure:control", "cure:experimental"}
    np.testing.assert_allclose(_by_gid(ax, "prior").get_ydata(), 1.0)
    with pytest.raises(InputError):
        plot_cure_fractions(draws, ci=1.5)


def test_single_curve_without_arm_or_samples():
    t = np.linspace(0, 10, 21)
    s = xr.DataArray(np.exp(-0.1 * t), dims="time", coords={"time": t}, name="survival")
    fig = plot_extrapolation(s, time_scale=1.0)
    med = _by_gid(fig.axes[0], "median:")
    np.testing.assert_allclose(med.get_ydata(), np.exp(-0.1 * t))
    with pytest.raises(InputError):
        plot_extrapolation(xr.Dataset({"other": s}))


def test_km_from_a_given_table():
    tree = _tree()
    ipd = pd.DataFrame({"time": [3.0, 10.0, 20.0, 30.0], "event": [1, 0, 1, 1]})
    fig = plot_extrapolation(tree["derived"]["survival"], km=ipd, time_scale=12.0)
    line = _by_gid(fig.axes[0], "km:")  # no arm column: one pooled KM
    km = kaplan_meier(ipd["time"], ipd["event"])
    np.testing.assert_allclose(line.get_xdata(), km["time"] / 12.0)
    np.testing.assert_allclose(line.get_ydata(), km["survival"])
    with pytest.raises(InputError):
        plot_extrapolation(tree, km=pd.DataFrame({"time": [1.0]}))
