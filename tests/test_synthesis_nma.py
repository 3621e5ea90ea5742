"""Network meta-analysis, exact solver: pool's answer on a two-treatment network, closed forms
of fixed-effect networks, node-splits and UME, ranks, DIC, the saved DataTree and queries."""

import math

import numpy as np
import pandas as pd
import pytest
from test_synthesis_exact import bcg

from bayesurv.errors import InputError
from bayesurv.synthesis.nma import consistency, nma, nodesplit_table, ume_table
from bayesurv.synthesis.pool import pool

FLAT = "normal(0, 1000)"  # a normal prior this wide is flat to 1e-7 on these scales


def star(y, s, treatments, comparator="ref"):
    return pd.DataFrame(
        {
            "study": [f"s{i}" for i in range(len(y))],
            "treatment": treatments,
            "comparator": comparator,
            "log_hr": y,
            "se": s,
        }
    )


def loop_network() -> pd.DataFrame:
    """A-B, A-C, B-C two-arm trials and one A-B-C trial given as contrasts vs A."""
    rows = [
        ("ab1", "B", "A", -0.30, 0.15),
        ("ab2", "B", "A", -0.10, 0.20),
        ("ac1", "C", "A", -0.50, 0.18),
        ("ac2", "C", "A", -0.35, 0.25),
        ("bc1", "C", "B", -0.05, 0.22),
        ("bc2", "C", "B", -0.40, 0.30),
        ("abc", "B", "A", -0.25, 0.20),
        ("abc", "C", "A", -0.45, 0.21),
    ]
    t = pd.DataFrame(rows, columns=["study", "treatment", "comparator", "log_hr", "se"])
    t["comparator_se"] = np.where(t["study"] == "abc", 0.12, np.nan)
    return t


@pytest.mark.parametrize("effects", ["fixed", "random"])
def test_two_treatment_network_is_exactly_pool(effects):
    # issue 15: "a two-arm star network must give exactly pool's answer"
    y, s = bcg()
    tau = "halfnormal(0.5)" if effects == "random" else "halfnormal(1e-9)"
    r = nma(star(y, s, "BCG"), reference="ref", effects=effects, seed=1, tau_prior=tau)
    p = pool((y, s, [f"s{i}" for i in range(13)]), "normal(0, 4)", tau)
    e, q = r.effect("BCG", "ref"), p.mu
    tol = 1e-12 if effects == "random" else 1e-8  # fixed effects: pool's tau -> 0 limit
    assert e.mean == pytest.approx(q.mean, abs=tol) and e.sd == pytest.approx(q.sd, abs=tol)
    assert e.interval() == pytest.approx(q.interval(), abs=10 * tol)
    if effects == "random":
        assert r.predictive("BCG", "ref").cdf(0.0) == pytest.approx(p.theta_new.cdf(0.0), abs=1e-12)
        assert r.exact.tau_posterior.median() == pytest.approx(p.tau.median(), abs=1e-12)
    assert r.prob_hr_below("BCG", "ref") == pytest.approx(p.prob_hr_below(1.0), abs=1e-10)


def test_fixed_effect_star_is_one_inverse_variance_pool_per_treatment():
    y = np.array([-0.3, -0.1, -0.6, -0.4, 0.1])
    s = np.array([0.1, 0.2, 0.15, 0.3, 0.25])
    r = nma(
        star(y, s, ["B", "B", "C", "C", "D"]),
        reference="ref",
        effects="fixed",
        d_prior=FLAT,
        seed=2,
    )
    for trt, idx in (("B", [0, 1]), ("C", [2, 3]), ("D", [4])):
        w = 1 / s[idx] ** 2
        assert r.effect(trt, "ref").mean == pytest.approx(np.dot(w, y[idx]) / w.sum(), abs=1e-6)
        assert r.effect(trt, "ref").sd == pytest.approx(math.sqrt(1 / w.sum()), rel=1e-6)
    # consistency: C vs B is the difference, its variance the sum
    assert r.effect("C", "B").mean == pytest.approx(
        r.effect("C", "ref").mean - r.effect("B", "ref").mean, abs=1e-10
    )


def test_fixed_effects_with_a_multi_arm_trial_is_generalized_least_squares():
    # the A-B-C trial's two contrasts share the A arm: covariance comparator_se^2 = 0.0144
    t = loop_network()
    r = nma(t, reference="A", effects="fixed", d_prior=FLAT, seed=3)
    X = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [-1, 1], [-1, 1], [1, 0], [0, 1]], float)
    S = np.diag(t["se"].to_numpy() ** 2)
    S[6, 7] = S[7, 6] = 0.12**2
    W = np.linalg.inv(S)
    V = np.linalg.inv(X.T @ W @ X)
    d = V @ X.T @ W @ t["log_hr"].to_numpy()
    assert r.effect("B", "A").mean == pytest.approx(d[0], abs=1e-6)
    assert r.effect("C", "A").mean == pytest.approx(d[1], abs=1e-6)
    assert r.effect("C", "B").sd == pytest.approx(
        math.sqrt(V[0, 0] + V[1, 1] - 2 * V[0, 1]), rel=1e-6
    )
    # pD of a fixed-effect normal model with flat priors is the number of parameters, and the
    # mean residual deviance is the minimum chi-square plus that number
    dic = r.dic()
    chi2 = float((t["log_hr"].to_numpy() - X @ d) @ W @ (t["log_hr"].to_numpy() - X @ d))
    assert dic["pD"] == pytest.approx(2.0, abs=0.05)
    assert dic["resdev"] == pytest.approx(chi2 + 2.0, abs=0.1)


def test_node_split_gives_the_direct_and_indirect_estimates():
    # fixed effects, flat priors, two-arm trials only: the direct estimate of B vs A is the
    # inverse-variance pool of the A-B trials and the indirect one (C vs A) - (C vs B) from the
    # pools of the A-C and B-C trials, so the difference has variance v_direct + v_indirect
    t = loop_network()
    t = t[t["study"] != "abc"].drop(columns="comparator_se")
    r = nma(t, reference="A", effects="fixed", d_prior=FLAT, seed=4)
    tab = nodesplit_table(r).set_index(["treatment", "vs"])
    assert set(tab.index) == {("B", "A"), ("C", "A"), ("C", "B")}

    def fe(studies):
        d = t[t["study"].isin(studies)]
        w = 1 / d["se"].to_numpy() ** 2
        return float(np.dot(w, d["log_hr"]) / w.sum()), float(1 / w.sum())

    (m_ab, v_ab), (m_ac, v_ac), (m_bc, v_bc) = (
        fe(["ab1", "ab2"]),
        fe(["ac1", "ac2"]),
        fe(["bc1", "bc2"]),
    )
    row = tab.loc[("B", "A")]
    assert row["direct_median"] == pytest.approx(m_ab, abs=1e-6)
    assert row["indirect_median"] == pytest.approx(m_ac - m_bc, abs=1e-6)
    diff = m_ab - (m_ac - m_bc)
    sd = math.sqrt(v_ab + v_ac + v_bc)
    assert row["difference_median"] == pytest.approx(diff, abs=1e-6)
    from scipy import stats

    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(diff) / sd), abs=1e-6)
    row = tab.loc[("C", "B")]
    assert row["direct_median"] == pytest.approx(m_bc, abs=1e-6)
    assert row["indirect_median"] == pytest.approx(m_ac - m_ab, abs=1e-6)


def test_ume_gives_each_comparison_its_own_pool():
    y = np.array([-0.3, -0.1, -0.6, -0.4])
    s = np.array([0.1, 0.2, 0.15, 0.3])
    t = star(y, s, ["B", "B", "C", "C"])
    r = nma(t, reference="ref", effects="fixed", model="ume", d_prior=FLAT, seed=5)
    tab = ume_table(r).set_index("comparison")
    w = 1 / s[:2] ** 2
    assert tab.loc["d[B vs ref]", "mean"] == pytest.approx(np.dot(w, y[:2]) / w.sum(), abs=1e-6)
    c = consistency(nma(t, reference="ref", effects="fixed", d_prior=FLAT, seed=5))
    assert c["fit"]["consistency"]["DIC"] == pytest.approx(c["fit"]["ume"]["DIC"], abs=0.2)
    assert c["nodesplit"] == [] and "no closed loop" in c["nodesplit_note"]


def test_ranks_sucra_and_probabilities():
    r = nma(loop_network(), reference="A", effects="random", seed=6)
    rk = r.ranks().set_index("treatment")
    K = 3
    probs = rk[[f"p_rank_{k}" for k in range(1, K + 1)]].to_numpy()
    assert probs.sum(1) == pytest.approx(np.ones(K)) and probs.sum(0) == pytest.approx(np.ones(K))
    # SUCRA = (K - mean rank) / (K - 1) (Salanti et al. 2011)
    assert rk["sucra"].to_numpy() == pytest.approx((K - rk["mean_rank"].to_numpy()) / (K - 1))
    assert rk.loc["C", "sucra"] > rk.loc["A", "sucra"]  # C has the lowest hazard
    # P(HR(C vs B) < 1) from the exact mixture and from the rank draws agree
    d = r.d_draws()
    assert r.prob_hr_below("C", "B") == pytest.approx(float((d[:, 2] < d[:, 1]).mean()), abs=0.03)


def test_datatree_answers_queries_as_written(tmp_path):
    import xarray as xr

    from bayesurv.query import probability, quantities_from_tree

    r = nma(loop_network(), reference="A", effects="random", seed=7)
    path = tmp_path / "nma.nc"
    r.to_datatree().to_netcdf(path)
    q = quantities_from_tree(xr.open_datatree(path))
    res = probability('P(hr("C", "B") < 1)', q)
    assert res["probability"] == pytest.approx(
        r.prob_hr_below("C", "B"), abs=4 * res["mcse"] + 0.005
    )
    res = probability('P(predictive_hr("C", "A") < 1)', q)
    assert res["probability"] < r.prob_hr_below("C", "A")  # a new trial is less certain
    assert probability('P(rank("C") == 1)', q)["probability"] == pytest.approx(
        float(r.ranks().set_index("treatment").loc["C", "p_rank_1"]), abs=1e-12
    )


def test_summary_is_the_json_contract():
    r = nma(loop_network(), reference="A", effects="random", seed=8)
    doc = r.summary()
    for key in ("relative_effects", "tau", "ranks", "diagnostics"):
        assert key in doc
    row = doc["relative_effects"][0]
    assert {"treatment", "vs", "log_hr", "hr", "predictive"} <= set(row)
    for k in ("mean", "sd", "median", "lower", "upper"):
        assert k in row["log_hr"] and k in row["hr"]
    assert {"resdev", "pD", "DIC"} <= set(doc["diagnostics"]["dic"])
    assert "elpd_loo" in doc["diagnostics"]["loo"]
    assert doc["probabilities"]["P(HR(C vs A) < 1)"] == pytest.approx(r.prob_hr_below("C", "A"))


def test_the_exact_solver_refuses_arm_data():
    t = pd.DataFrame(
        {
            "study": ["a", "a"],
            "treatment": ["x", "y"],
            "events": [10, 12],
            "n": [50, 50],
            "time": [2.0, 2.0],
        }
    )
    with pytest.raises(InputError, match="use method mcmc"):
        nma(t, method="exact", seed=1)
    with pytest.raises(InputError, match="needs a seed"):
        nma(t)


def test_hr_summary_gives_quantiles_of_exp_and_moments_only_when_meaningful():
    # known draws: a log HR ~ N(-0.3, 0.2^2) (HR coefficient of variation 0.20) and
    # N(0.1, 3^2) (CV sqrt(exp(9) - 1) = 90: the mean and sd would be set by a few draws)
    from bayesurv.intervals import summary
    from bayesurv.synthesis.mixture import NormalMixture
    from bayesurv.synthesis.nma import hr_summary
    from bayesurv.synthesis.pool import Draws

    rng = np.random.default_rng(3)
    narrow = rng.normal(-0.3, 0.2, 200_000)
    h = hr_summary(Draws(narrow))
    ref = summary(np.exp(narrow), 0.95)
    assert (h["median"], h["lower"], h["upper"]) == (ref["median"], ref["lower"], ref["upper"])
    m, v = math.exp(-0.3 + 0.02), math.exp(-0.6 + 0.04) * (math.exp(0.04) - 1)
    assert h["mean"] == pytest.approx(m, rel=2e-3) and h["sd"] == pytest.approx(
        math.sqrt(v), rel=1e-2
    )
    assert "note" not in h
    wide = rng.normal(0.1, 3.0, 200_000)
    h = hr_summary(Draws(wide))
    assert h["mean"] is None and h["sd"] is None and "coefficient of variation" in h["note"]
    assert h["median"] == pytest.approx(math.exp(0.1), rel=0.02)  # MC error of the median
    assert h["upper"] == pytest.approx(np.quantile(np.exp(wide), 0.975), rel=1e-3)
    # exact: one normal component has the lognormal's moments and quantiles to rounding
    h = hr_summary(NormalMixture([1.0], [-0.3], [0.2]))
    assert h["mean"] == pytest.approx(m, rel=1e-12) and h["sd"] == pytest.approx(math.sqrt(v))
    assert h["lower"] == pytest.approx(math.exp(-0.3 - 1.959963984540054 * 0.2), rel=1e-9)
    # a mixture whose far components have negligible weight but huge variance (a long tail of
    # tau's posterior): the exact mean is enormous although the HR's interval is narrow
    h = hr_summary(NormalMixture([1 - 1e-9, 1e-9], [-0.3, -0.3], [0.2, 40.0]))
    assert h["mean"] is None and h["upper"] == pytest.approx(math.exp(-0.3 + 1.96 * 0.2), rel=1e-3)


def test_the_shipped_network_no_longer_prints_a_lognormal_sd_of_millions():
    # data/nma_ball_os.csv with random effects and halfnormal(0.5): the predictive log HR of
    # blinatumomab vs inotuzumab has sd 0.86; its lognormal sd was 1.25e7 in nma.json
    import json
    from pathlib import Path

    from bayesurv.synthesis.nma import _hr_moments

    data = Path(__file__).resolve().parents[1] / "data" / "nma_ball_os.csv"
    r = nma(data, reference="chemotherapy", effects="random", seed=1)
    doc = json.loads(json.dumps(r.summary()))  # None is null in the JSON
    row = next(x for x in doc["relative_effects"] if x["vs"] == "inotuzumab ozogamicin")
    pred = r.predictive("blinatumomab", "inotuzumab ozogamicin")
    assert _hr_moments(pred)[1] > 1e6  # what was printed
    assert row["predictive"]["hr"]["sd"] is None and "note" in row["predictive"]["hr"]
    lo, hi = pred.interval()
    assert row["predictive"]["hr"]["median"] == pytest.approx(math.exp(pred.median()), rel=1e-12)
    assert (row["predictive"]["hr"]["lower"], row["predictive"]["hr"]["upper"]) == pytest.approx(
        (math.exp(lo), math.exp(hi)), rel=1e-12
    )
    assert row["predictive"]["log_hr"]["sd"] == pytest.approx(pred.sd)  # kept on the log scale


def test_loo_flags_the_studies_whose_pareto_k_exceeds_0_7_known_draws():
    # Known tail: study i alone informs theta_i ~ N(m_i, v_i) (its posterior), with likelihood
    # N(y_i | theta_i, se_i^2). Leaving it out, the importance ratio is 1 / p(y_i | theta_i)
    # = exp((y_i - theta_i)^2 / (2 se_i^2)) up to a constant, and (y_i - theta_i)^2 is v_i times
    # a chi-square(1), so P(ratio > t) ~ t^(-se_i^2 / v_i): a Pareto tail with k = v_i / se_i^2.
    # A vague prior (sd 4) gives k = 1 / (1 + se^2/16) = 0.999; a prior as precise as the
    # study gives k = 0.5.
    import xarray as xr
    from scipy import stats

    from bayesurv.synthesis.nma import psis_loo

    rng = np.random.default_rng(11)
    S = 100_000
    se = np.array([0.14, 0.14])
    prior_sd = np.array([4.0, 0.14])
    y = np.array([-0.3, 0.1])
    v = 1 / (1 / se**2 + 1 / prior_sd**2)
    theta = rng.normal(v * y / se**2, np.sqrt(v), (S, 2))
    ll = stats.norm.logpdf(y, theta, se)
    ds = xr.Dataset(
        {"y": (("chain", "draw", "study"), ll.reshape(4, S // 4, 2))},
        coords={"study": ["alone", "shrunk"]},
    )
    loo = psis_loo(ds)
    k = loo["pareto_k"]
    truth = v / se**2  # 0.9988, 0.5
    assert k["alone"] == pytest.approx(truth[0], abs=0.15)
    assert k["shrunk"] == pytest.approx(truth[1], abs=0.15)
    assert loo["pareto_k_threshold"] == 0.7
    assert loo["n_pareto_k_high"] == 1 and loo["pareto_k_high"] == ["alone"]
    assert "LOO is unreliable for 1 of 2 studies" in loo["warning"]
    assert "alone (k = " in loo["warning"] and "shrunk" not in loo["warning"]
    # where k is small PSIS is the exact leave-one-out density: without the study, theta ~ its
    # prior N(0, 0.14^2), so p(y | rest) = N(y; 0, se^2 + 0.14^2)
    exact = stats.norm.logpdf(y[1], 0.0, math.sqrt(se[1] ** 2 + prior_sd[1] ** 2))
    assert loo["elpd_loo_i"]["shrunk"] == pytest.approx(exact, abs=0.01)
    assert loo["elpd_loo"] == pytest.approx(sum(loo["elpd_loo_i"].values()), abs=1e-9)


def test_the_shipped_network_warns_that_loo_is_unreliable_for_both_trials(tmp_path):
    # data/nma_ball_os.csv: each trial is the only one of its comparison, so leaving it out
    # sends its log HR back to the N(0, 4^2) prior: k = 1 / (1 + se^2 / 16) = 0.999 for both
    # (the known case above). PSIS estimates k with an error of about 0.15 from 4,000 draws
    # (0.62 to 1.08 over seeds), so 100,000 exact draws here.
    from pathlib import Path

    from typer.testing import CliRunner

    from bayesurv.cli import app
    from bayesurv.sections.nma import loo_warnings

    data = Path(__file__).resolve().parents[1] / "data" / "nma_ball_os.csv"
    r = nma(data, reference="chemotherapy", effects="fixed", seed=1, draws=25_000)
    doc = r.summary()
    loo = doc["diagnostics"]["loo"]
    assert loo["n_pareto_k_high"] == 2
    assert set(loo["pareto_k_high"]) == {"TOWER", "INO-VATE"}
    assert all(abs(k - 0.999) < 0.25 for k in loo["pareto_k"].values())
    (sentence,) = loo_warnings(doc)
    assert "LOO is unreliable for 2 of 2 studies" in sentence and "TOWER (k = " in sentence
    out = tmp_path / "nma.json"
    res = CliRunner().invoke(
        app,
        ["nma", str(data), "--reference", "chemotherapy", "--effects", "fixed", "--json", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "LOO is unreliable" in res.output  # printed, and in the JSON of both models
    import json

    fit = json.loads(out.read_text())["consistency"]["fit"]
    assert fit["consistency"]["loo_n_pareto_k_high"] >= 1 and "loo_warning" in fit["ume"]
