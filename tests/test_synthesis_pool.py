"""Pool results: summaries, probabilities, sensitivity across tau priors, subgroups, MAP prior,
forest plot. Case-study numbers come from data/*.csv (copied from /work/shared/evidence)."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import optimize, stats

from bayesurv.errors import InputError
from bayesurv.evidence.effects import read_effects
from bayesurv.plots.forest import forest
from bayesurv.synthesis.map_prior import MapPrior, box_p, map_prior
from bayesurv.synthesis.mixture import NormalMixture
from bayesurv.synthesis.pool import pool, pool_groups, sensitivity

DATA = Path(__file__).resolve().parents[1] / "data"


def pediatric(outcome):
    return read_effects(DATA / "effects_blinatumomab.csv", {"set": "pediatric", "outcome": outcome})


def test_probabilities_are_consistent():
    r = pool(pediatric("event-free"))
    p = r.probabilities((1.0, 0.8))
    assert p["pooled_hr_lt_0_8"] < p["pooled_hr_lt_1"]
    assert p["predictive_hr_lt_1"] < p["pooled_hr_lt_1"]  # the predictive is wider
    assert r.prob_hr_below(1.0) == pytest.approx(r.mu.cdf(0.0))
    assert r.prob_hr_below(0.5, "AALL1731") == pytest.approx(r.dist("AALL1731").cdf(np.log(0.5)))
    with pytest.raises(InputError):
        r.prob_hr_below(0.0)
    # shrinkage: every study's posterior median lies between its estimate and the pooled median
    mu = r.mu.median()
    for name, y in zip(r.studies, r.y, strict=True):
        med = r.dist(name).median()
        assert min(y, mu) - 1e-9 <= med <= max(y, mu) + 1e-9


def test_sensitivity_table_across_heterogeneity_priors():
    priors = {
        "halfnormal(0.25)": "halfnormal(0.25)",
        "halfnormal(0.5)": "halfnormal(0.5)",
        "halfcauchy(0.5)": "halfcauchy(0.5)",
        "Turner composite, pharma vs pharma": "turner(composite, pharma-pharma)",
        "uniform(0, 2)": "uniform(0, 2)",
    }
    tab = sensitivity(pediatric("event-free"), priors)
    assert list(tab.index) == list(priors)
    assert {"pooled_hr_lt_1", "pooled_hr_lt_0_8", "predictive_hr_lt_1", "tau_median"} <= set(
        tab.columns
    )
    # more prior mass on large tau -> wider prediction interval
    assert tab.loc["halfnormal(0.25)", "new_hr_upper"] < tab.loc["halfnormal(0.5)", "new_hr_upper"]
    assert ((tab["pooled_hr_lt_1"] > 0) & (tab["pooled_hr_lt_1"] <= 1)).all()


@pytest.mark.parametrize("outcome", ["EFS", "OS"])
def test_subgroups_as_exchangeable_effects(outcome):
    # Study 20120215 subgroups by age (two levels partition the patients), EFS and OS.
    sub = read_effects(DATA / "study_20120215_subgroups.csv", {"outcome": outcome, "factor": "age"})
    r = pool(sub, tau_prior="halfnormal(0.5)")
    s = r.summary()
    assert [x["study"] for x in s["studies"]] == ["age 1-9 years", "age <1 or >9 years"]
    # each subgroup's posterior median is that of a brute-force (mu, tau) grid posterior
    # (normal(0, 4) on mu, halfnormal(0.5) on tau; agreement about 2e-4)
    got = [x["log_hr"]["median"] for x in s["studies"]]
    np.testing.assert_allclose(got, _grid_study_medians(r.y, r.se), atol=1e-3)
    # shrinkage pulls the less precise subgroup (<1 or >9 years) further towards the pooled
    # value, as a share of its distance to it (EFS 0.78 against 0.56, OS 0.80 against 0.67)
    mu = s["pooled"]["log_hr"]["median"]
    share = [
        abs(x["log_hr"]["median"] - x["observed"]["log_hr"]) / abs(x["observed"]["log_hr"] - mu)
        for x in s["studies"]
    ]
    assert s["studies"][1]["observed"]["se"] > s["studies"][0]["observed"]["se"]
    assert share[1] > share[0] + 0.1


def _grid_study_medians(y, se, mu_sd=4.0, tau_sd=0.5):
    """Each study's posterior median of theta_i under y_i ~ N(theta_i, se_i^2), theta_i ~
    N(mu, tau^2), mu ~ N(0, mu_sd^2), tau ~ halfnormal(tau_sd), by a brute-force grid over
    (mu, tau) (scipy only; nothing from bayesurv.synthesis)."""
    M, T = np.meshgrid(np.linspace(-4, 2, 1201), np.linspace(1e-4, 3.0, 1000), indexing="ij")
    logp = stats.norm.logpdf(M, 0, mu_sd) + stats.halfnorm.logpdf(T, scale=tau_sd)
    for yi, si in zip(y, se, strict=True):
        logp = logp + stats.norm.logpdf(yi, M, np.sqrt(si**2 + T**2))
    w = np.exp(logp - logp.max())
    keep = w > 1e-12
    w, M, T = w[keep] / w[keep].sum(), M[keep], T[keep]
    out = []
    for yi, si in zip(y, se, strict=True):
        prec = 1 / si**2 + 1 / T**2
        m, sd = (yi / si**2 + M / T**2) / prec, 1 / np.sqrt(prec)
        cdf = lambda x, m=m, sd=sd: np.sum(w * stats.norm.cdf(x, m, sd)) - 0.5  # noqa: E731
        out.append(optimize.brentq(cdf, -10, 10, xtol=1e-9))
    return np.array(out)


def test_map_prior_is_the_predictive_and_robustification_widens_it():
    eff = pediatric("event-free")
    hist = eff[eff["study"] != "20120215"]
    m = map_prior(hist, tau_prior="halfnormal(0.5)", weight=0.2)
    r = pool(hist, tau_prior="halfnormal(0.5)")
    assert m.map.mean == pytest.approx(r.theta_new.mean)
    assert m.robust.sd > m.map.sd
    assert m.robust.weights[-1] == pytest.approx(0.2)
    # 20120215 EFS (final 5-year) HR 0.38 [0.22, 0.65] as the "new" trial
    y = np.log(0.38)
    se = (np.log(0.65) - np.log(0.22)) / (2 * 1.959964)
    c = m.conflict(y, se)
    # against the MAP predictive normal mixture (each sd widened by se), from scipy's normal
    # pdfs and cdfs: the tail p exactly; Box's p as the mass outside the density's level set
    # {f > f(y)} = (a, b) of this unimodal predictive, a and b found by brentq
    pred = stats.norm(m.map.means, np.sqrt(m.map.sds**2 + se**2))
    F = lambda x: float(np.sum(m.map.weights * pred.cdf(x)))  # noqa: E731
    f = lambda x: float(np.sum(m.map.weights * pred.pdf(x)))  # noqa: E731
    assert c["predictive_tail_p"] == pytest.approx(2 * min(F(y), 1 - F(y)), abs=1e-12)
    mode = optimize.minimize_scalar(lambda x: -f(x), bounds=(-3, 2), method="bounded").x
    other = (mode, 5.0) if y < mode else (-5.0, mode)
    z = optimize.brentq(lambda x: f(x) - f(y), *other, xtol=1e-12)
    a, b = sorted((y, z))
    assert c["box_p"] == pytest.approx(F(a) + 1 - F(b), abs=1e-3)  # box_p's grid rule: 1e-3
    # a new trial close to the MAP centre lowers the weight of the vague component, one far away
    # raises it
    near = m.conflict(m.map.median(), 0.2)
    far = m.conflict(np.log(4.0), 0.1)
    assert near["robust_weight_posterior"] < 0.2 < far["robust_weight_posterior"]
    assert far["predictive_tail_p"] < 0.01 < near["predictive_tail_p"]
    with pytest.raises(InputError):
        map_prior(hist, weight=1.0)


def test_box_p_equals_the_two_sided_tail_for_a_normal_predictive():
    # For a normal predictive N(0, 2) Box's p-value is 2 * (1 - Phi(|y| / sqrt(2))).
    prior = MapPrior(
        map=NormalMixture.normal(0.0, 1.0), vague=NormalMixture.normal(0, 2), weight=0.0
    )
    c = prior.conflict(2.5, 1.0)
    ref = 2 * stats.norm.sf(2.5 / np.sqrt(2))
    assert c["predictive_tail_p"] == pytest.approx(ref, rel=1e-9)
    assert c["box_p"] == pytest.approx(ref, abs=1e-3)  # grid rule, accurate to ~1e-3
    assert box_p(NormalMixture.normal(0, 1), 0.0) == pytest.approx(1.0, abs=1e-3)


def test_forest_plot(tmp_path):
    r = pool(pediatric("overall"))
    fig = forest(r)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [*r.studies, "pooled", "new trial"]
    fig.savefig(tmp_path / "forest.png")
    assert (tmp_path / "forest.png").stat().st_size > 5000
    plt.close(fig)


def test_pool_groups_gives_efs_and_os_subgroup_pools():
    res = pool_groups(
        DATA / "study_20120215_subgroups.csv", ["outcome", "factor"], tau_prior="halfnormal(0.5)"
    )
    assert sorted(res) == [
        ("EFS", "age"),
        ("EFS", "baseline MRD"),
        ("OS", "age"),
        ("OS", "baseline MRD"),
    ]
    os_mrd = res[("OS", "baseline MRD")]
    assert os_mrd.studies == ["MRD negative", "MRD positive"]
    # the imprecise MRD-positive OS subgroup (HR 0.09 [0.01, 0.71]) is pulled strongly towards
    # the pooled value
    med = os_mrd.dist("MRD positive").median()
    assert np.log(0.09) < med < os_mrd.mu.median()
    with pytest.raises(InputError, match="no column 'arm'"):
        pool_groups(DATA / "study_20120215_subgroups.csv", ["arm"])


@pytest.mark.slow
def test_map_prior_few_component_form_is_close_to_the_exact_map():
    m = map_prior(pediatric("event-free"), tau_prior="halfnormal(0.5)")
    a = m.map_components(3)
    assert a.weights.size == 3 and a.weights.sum() == pytest.approx(1.0)
    assert a.mean == pytest.approx(m.map.mean, abs=1e-3)
    assert a.sd == pytest.approx(m.map.sd, rel=1e-2)
    for q in (0.025, 0.5, 0.975):
        assert abs(a.ppf(q) - m.map.ppf(q)) < 0.05 * m.map.sd
    d = m.as_dict()
    assert d["robust_weight"] == 0.2 and len(d["map"]["weights"]) == 3


def test_exact_result_as_datatree_matches_exact_summaries(tmp_path):
    import xarray as xr

    r = pool(pediatric("event-free"), tau_prior="halfcauchy(0.5)")
    tree = r.to_datatree(seed=11, draws=20000)
    tree.to_netcdf(tmp_path / "pool.nc")
    back = xr.load_datatree(tmp_path / "pool.nc")
    assert list(back["posterior"]["theta"].coords["study"].values) == r.studies
    assert "bayesurv_provenance" in back.attrs
    post = tree["posterior"]
    assert post["theta"].dims == ("chain", "draw", "study")
    assert list(post["theta"].coords["study"].values) == r.studies
    assert "provenance" not in tree.attrs and "bayesurv_provenance" in tree.attrs
    # independent draws: Monte Carlo error of a mean is sd / sqrt(20000) = 0.007 sd
    for name, dist in [("mu", r.mu), ("tau", r.tau), ("theta_new", r.theta_new)]:
        assert abs(float(post[name].mean()) - dist.mean) < 0.03 * dist.sd, name
    for study in r.studies:
        th = post["theta"].sel(study=study)
        assert abs(float(th.mean()) - r.dist(study).mean) < 0.03 * r.dist(study).sd
    with pytest.raises(InputError):
        r.to_datatree()


def test_hpd_intervals_are_the_shortest_with_the_same_mass():
    # a skewed posterior (tau): the HPD interval is shorter than the equal-tailed one, holds the
    # same 95%, and its ends have equal density (the defining property of an HPD interval)
    import numpy as np

    from bayesurv.synthesis.pool import pool

    r = pool(([-0.97, -0.36, -0.27, -0.9], [0.28, 0.2, 0.21, 0.3], list("abcd")))
    s_hpd = r.summary(interval="hpd")
    s_eti = r.summary()
    lo, hi = s_hpd["tau"]["lower"], s_hpd["tau"]["upper"]
    assert hi - lo < s_eti["tau"]["upper"] - s_eti["tau"]["lower"]
    assert r.tau.cdf(hi) - r.tau.cdf(lo) == pytest.approx(0.95, abs=1e-4)
    mu = r.mu
    a, b = mu.hpd(0.9)
    assert float(mu.pdf(a)) == pytest.approx(float(mu.pdf(b)), rel=1e-3)
    assert mu.cdf(b) - mu.cdf(a) == pytest.approx(0.9, abs=1e-6)
    # draws: ArviZ's hdi
    from bayesurv.synthesis.pool import Draws

    d = Draws(np.random.default_rng(1).exponential(size=20000))
    lo, hi = d.hpd(0.9)
    assert lo == pytest.approx(0.0, abs=0.01) and hi == pytest.approx(-np.log(0.1), abs=0.05)


def test_draws_too_many_for_a_netcdf_are_refused_in_one_sentence(monkeypatch):
    import importlib

    pool_module = importlib.import_module(
        "bayesurv.synthesis.pool"
    )  # the package's pool is a function
    r = pool_module.pool(([-0.5, -0.2, -0.3], [0.2, 0.3, 0.25], ["a", "b", "c"]))
    monkeypatch.setattr(pool_module, "MAX_DRAWN_CELLS", 3 * 999)
    with pytest.raises(InputError, match="3 studies' effects .3,000 numbers"):
        r.to_datatree(seed=1, draws=1000)
    assert r.to_datatree(seed=1, draws=999)["posterior"]["theta"].shape == (1, 999, 3)
