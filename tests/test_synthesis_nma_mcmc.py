"""Network meta-analysis by NUTS: the NICE DSU worked examples' published posteriors (as
multinma's test suite reproduces them), exact-vs-MCMC agreement, and IPD in the network.

Published values are rounded to 2-3 digits and came from WinBUGS runs; the comparison is
multinma's (tests/testthat/test-example_*.R, testthat's expect_equal with tolerance 0.05: the
mean absolute difference relative to the mean absolute published value), plus a per-number bound
of 0.25 posterior sd + 0.01 for rounding.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_synthesis_exact import bcg
from test_synthesis_frequentist import ABLAT
from test_synthesis_nma import loop_network, star

from bayesurv.synthesis.nma import nma, nodesplit_table, ume_table

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
pytestmark = [pytest.mark.mcmc, pytest.mark.slow]


def close_to_published(ours, published, sds, tol=0.05, relative=True):
    """multinma's criterion (mean |difference| / mean |published| < tol) where ``relative``
    (means, sds: interval limits near 0 make it meaningless), and every number within 0.25
    posterior sd + 0.01 (rounding to 2 digits and Monte Carlo error of both runs)."""
    ours, published, sds = (np.asarray(a, float) for a in (ours, published, sds))
    if relative:
        rel = np.mean(np.abs(ours - published)) / np.mean(np.abs(published))
        assert rel < tol, f"mean relative difference {rel:.3f}: {ours} vs {published}"
    assert np.all(np.abs(ours - published) <= 0.25 * sds + 0.01), f"{ours} vs {published}"


def close_dic(dic, published):
    """multinma's DIC criterion (tolerance 0.1 on the mean relative difference) and each of
    resdev, pD and DIC within 5% of the published value."""
    ours = np.array([dic["resdev"], dic["pD"], dic["DIC"]])
    published = np.asarray(published, float)
    assert np.mean(np.abs(ours - published)) / np.mean(published) < 0.1, (ours, published)
    assert np.all(np.abs(ours - published) <= 0.05 * published), (ours, published)


def summaries(r, pairs):
    rows = [(r.effect(a, b), r.effect(a, b).interval()) for a, b in pairs]
    return (
        np.array([d.mean for d, _ in rows]),
        np.array([d.sd for d, _ in rows]),
        np.array([iv[0] for _, iv in rows]),
        np.array([iv[1] for _, iv in rows]),
    )


def test_tsd4_thrombolytics_fixed_effects_consistency_and_ume():
    # NICE DSU TSD 4 (../shared/reference/nma/thrombolytics.expected.csv; multinma
    # test-example_thrombolytics.R): binomial logit, fixed effects, N(0, 100^2) priors;
    # consistency resdev 105.9, pD 58, DIC 163.9; UME resdev 99.7, pD 65, DIC 164.7
    exp = pd.read_csv(REF / "tsd4_thrombolytics_expected.csv", comment="#")
    kw = dict(
        effects="fixed", link="logit", d_prior="normal(0, 100)", baseline_prior="normal(0, 100)"
    )
    r = nma(REF / "tsd4_thrombolytics.csv", reference="SK", seed=3, **kw)
    assert r.diagnostics["problems"] == []
    cons = exp[exp["model"] == "consistency"]
    mean, sd, lo, hi = summaries(r, list(zip(cons["trt"], cons["trt_b"], strict=True)))
    close_to_published(mean, cons["mean"], cons["sd"])
    close_to_published(sd, cons["sd"], cons["sd"])
    close_to_published(lo, cons["lower"], cons["sd"], relative=False)
    close_to_published(hi, cons["upper"], cons["sd"], relative=False)
    dic = r.dic()
    close_dic(dic, [105.9, 58, 163.9])
    u = nma(r.network, model="ume", seed=4, **kw)
    tab = ume_table(u).set_index("comparison")
    ume = exp[exp["model"] == "ume"]
    names = [f"d[{t} vs {b}]" for t, b in zip(ume["trt"], ume["trt_b"], strict=True)]
    close_to_published(tab.loc[names, "mean"], ume["mean"], ume["sd"])
    close_to_published(tab.loc[names, "sd"], ume["sd"], ume["sd"])
    dic = u.dic()
    close_dic(dic, [99.7, 65, 164.7])


def test_tsd2_diabetes_cloglog_random_and_fixed_effects():
    # NICE DSU TSD 2 Example 5 (multinma test-example_diabetes.R): binomial, cloglog link with
    # log(time) offset, so d are log hazard ratios vs Diuretic.
    # RE (normal(0, 10) priors, half-normal(5) on tau): Placebo -0.29 (0.09), Beta Blocker
    # -0.07 (0.09), CCB -0.24 (0.08), ACE Inhibitor -0.40 (0.09), ARB -0.47 (0.11); tau median
    # 0.12, 95% 0.05-0.23; resdev 53.7, pD 38.0, DIC 91.7.
    # FE (normal(0, 100)): -0.25 (0.06), -0.06 (0.06), -0.25 (0.05), -0.36 (0.05), -0.45 (0.06);
    # resdev 78.25, pD 27.0, DIC 105.2.
    trts = ["Placebo", "Beta Blocker", "CCB", "ACE Inhibitor", "ARB"]
    pairs = [(t, "Diuretic") for t in trts]
    re = nma(
        REF / "tsd2_diabetes.csv",
        reference="Diuretic",
        effects="random",
        seed=5,
        d_prior="normal(0, 10)",
        baseline_prior="normal(0, 10)",
        tau_prior="halfnormal(5)",
    )
    mean, sd, lo, hi = summaries(re, pairs)
    close_to_published(mean, [-0.29, -0.07, -0.24, -0.40, -0.47], sd)
    close_to_published(sd, [0.09, 0.09, 0.08, 0.09, 0.11], sd)
    close_to_published(lo, [-0.47, -0.25, -0.41, -0.58, -0.70], sd, relative=False)
    close_to_published(hi, [-0.12, 0.10, -0.08, -0.24, -0.27], sd, relative=False)
    tau = re.draws["tau"]
    close_to_published(
        [np.median(tau), *np.quantile(tau, [0.025, 0.975])], [0.12, 0.05, 0.23], [0.04] * 3
    )
    dic = re.dic()
    close_dic(dic, [53.7, 38.0, 91.7])
    fe = nma(
        re.network,
        effects="fixed",
        seed=6,
        d_prior="normal(0, 100)",
        baseline_prior="normal(0, 100)",
    )
    mean, sd, _, _ = summaries(fe, pairs)
    close_to_published(mean, [-0.25, -0.06, -0.25, -0.36, -0.45], sd)
    # sds published to one significant digit (0.05, 0.06): rounding alone is 10%
    close_to_published(sd, [0.06, 0.06, 0.05, 0.05, 0.06], sd, relative=False)
    dic = fe.dic()
    close_dic(dic, [78.25, 27.0, 105.2])


def test_tsd4_smoking_random_effects():
    # NICE DSU TSD 4 (multinma test-example_smoking.R): logit, RE, normal(0, 100) priors,
    # half-normal(5) on tau. Log ORs of quitting (higher is better): dAB 0.49 (0.40), dAC 0.84
    # (0.24), dAD 1.10 (0.44), dBC 0.35 (0.41), dBD 0.61 (0.49), dCD 0.26 (0.41); tau median
    # 0.82, 95% 0.55-1.27; resdev 54.0, pD 45.0, DIC 99.0.
    A, B, C, D = "No intervention", "Self-help", "Individual counselling", "Group counselling"
    r = nma(
        REF / "tsd4_smoking.csv",
        reference=A,
        effects="random",
        link="logit",
        seed=7,
        d_prior="normal(0, 100)",
        baseline_prior="normal(0, 100)",
        tau_prior="halfnormal(5)",
        lower_better=False,
    )
    pairs = [(B, A), (C, A), (D, A), (C, B), (D, B), (D, C)]
    mean, sd, lo, hi = summaries(r, pairs)
    close_to_published(mean, [0.49, 0.84, 1.10, 0.35, 0.61, 0.26], sd)
    close_to_published(sd, [0.40, 0.24, 0.44, 0.41, 0.49, 0.41], sd)
    tau = r.draws["tau"]
    close_to_published(
        [np.median(tau), *np.quantile(tau, [0.025, 0.975])], [0.82, 0.55, 1.27], [0.19] * 3
    )
    dic = r.dic()
    close_dic(dic, [54.0, 45.0, 99.0])
    assert r.ranks().set_index("treatment").loc[D, "mean_rank"] < 2  # best: group counselling


def test_tsd3_bcg_random_effects_meta_regression_on_latitude():
    # NICE DSU TSD 3 (multinma test-example_bcg_vaccine.R): logit, RE, normal(0, 100) priors,
    # half-normal(5) on tau, latitude centred at its mean. Unadjusted: d -0.762 (0.22),
    # tau median 0.649; with latitude: d -0.763 (0.126), beta -0.032 (0.009), tau median 0.272;
    # DIC 49.6 (unadjusted) and 51.5 (regression).
    c = pd.read_csv(REF / "colditz1994_bcg.csv")
    arms = pd.concat(
        [
            pd.DataFrame(
                {
                    "study": c["trial"],
                    "treatment": "Unvaccinated",
                    "events": c["cpos"],
                    "n": c["cpos"] + c["cneg"],
                    "latitude": ABLAT,
                }
            ),
            pd.DataFrame(
                {
                    "study": c["trial"],
                    "treatment": "Vaccinated",
                    "events": c["tpos"],
                    "n": c["tpos"] + c["tneg"],
                    "latitude": ABLAT,
                }
            ),
        ]
    )
    kw = dict(
        reference="Unvaccinated",
        effects="random",
        link="logit",
        d_prior="normal(0, 100)",
        baseline_prior="normal(0, 100)",
        tau_prior="halfnormal(5)",
        beta_prior="normal(0, 100)",
    )
    un = nma(arms, seed=8, **kw)
    d = un.effect("Vaccinated", "Unvaccinated")
    close_to_published([d.mean, d.sd], [-0.762, 0.22], [d.sd] * 2)
    close_to_published([np.median(un.draws["tau"])], [0.649], [0.2])
    # as multinma (adapt_delta 0.99); tau's posterior reaches 0.03, so tune longer
    lat = nma(arms, seed=9, covariate="latitude", target_accept=0.99, tune=2000, draws=2000, **kw)
    d = lat.effect("Vaccinated", "Unvaccinated")
    beta = lat.draws["theta"][:, lat.data.names.index("beta[Vaccinated]")]
    close_to_published([d.mean, d.sd], [-0.763, 0.126], [d.sd] * 2)
    close_to_published([beta.mean(), beta.std()], [-0.032, 0.009], [beta.std()] * 2)
    close_to_published([np.median(lat.draws["tau"])], [0.272], [0.188], tol=0.1)
    for r, ref in ((un, [26.1, 23.5, 49.6]), (lat, [30.4, 21.1, 51.5])):
        close_dic(r.dic(), ref)


@pytest.mark.parametrize(
    ("effects", "model"),
    [
        ("random", "consistency"),
        ("fixed", "consistency"),
        ("fixed", "ume"),
        ("random", "ume"),
        ("random", "nodesplit"),
    ],
)
def test_mcmc_agrees_with_exact_within_a_tenth_of_a_posterior_sd(effects, model):
    t = loop_network()
    split = ("A", "B") if model == "nodesplit" else None
    ex = nma(t, reference="A", effects=effects, model=model, split=split, seed=10)
    mc = nma(
        t,
        reference="A",
        effects=effects,
        model=model,
        split=split,
        seed=10,
        method="mcmc",
        draws=2000,
    )
    assert mc.diagnostics["divergences"] == 0
    for j in range(len(ex.data.names)):
        e = ex.exact.linear(j)
        m = mc.draws["theta"][:, j]
        assert abs(m.mean() - e.mean) < 0.1 * e.sd and abs(np.median(m) - e.median()) < 0.1 * e.sd
        assert m.std() == pytest.approx(e.sd, rel=0.1)
    if effects == "random":
        tp = ex.exact.tau_posterior
        assert abs(np.median(mc.draws["tau"]) - tp.median()) < 0.1 * tp.sd
    assert mc.dic()["DIC"] == pytest.approx(ex.dic()["DIC"], abs=0.3)


def test_mcmc_two_treatment_network_is_pool():
    from bayesurv.synthesis.pool import pool

    y, s = bcg()
    mc = nma(
        star(y, s, "BCG"), reference="ref", effects="random", method="mcmc", seed=12, draws=2000
    )
    p = pool((y, s, [f"s{i}" for i in range(13)]), "normal(0, 4)", "halfnormal(0.5)")
    d = mc.effect("BCG", "ref")
    assert abs(d.mean - p.mu.mean) < 0.1 * p.mu.sd
    assert abs(np.median(mc.draws["tau"]) - p.tau.median()) < 0.1 * p.tau.sd


def test_ipd_trial_enters_through_its_piecewise_exponential_likelihood(tmp_path):
    # one trial as (simulated) IPD, two as reported log HRs: the network's answer matches the
    # exact network in which the IPD trial is replaced by its own Cox estimate and se
    from bayesurv.nonparametric import cox_hazard_ratio

    rng = np.random.default_rng(21)
    n = 300
    t0, t1 = rng.weibull(1.3, n) * 12, rng.weibull(1.3, n) * 12 * 0.6 ** (-1 / 1.3)
    c = rng.uniform(6, 30, 2 * n)
    time = np.minimum(np.concatenate([t0, t1]), c)
    event = (np.concatenate([t0, t1]) <= c).astype(int)
    arm = np.repeat(["chemo", "new"], n)
    pd.DataFrame({"time": time, "event": event, "treatment": arm}).to_csv(
        tmp_path / "ipd.csv", index=False
    )
    cox = cox_hazard_ratio(time, event, (arm == "new").astype(int))
    contrasts = pd.DataFrame(
        {
            "study": ["T1", "T2"],
            "treatment": ["new", "other"],
            "comparator": ["chemo", "chemo"],
            "log_hr": [-0.4, -0.2],
            "se": [0.15, 0.2],
        }
    )
    net = pd.concat(
        [
            contrasts,
            pd.DataFrame({"study": "IPD trial", "treatment": ["chemo", "new"], "ipd": "ipd.csv"}),
        ]
    )
    net.to_csv(tmp_path / "net.csv", index=False)
    mc = nma(
        tmp_path / "net.csv",
        reference="chemo",
        effects="fixed",
        method="mcmc",
        seed=13,
        n_intervals=12,
    )
    ref = pd.concat(
        [
            contrasts,
            pd.DataFrame(
                {
                    "study": ["IPD trial"],
                    "treatment": ["new"],
                    "comparator": ["chemo"],
                    "log_hr": [cox["log_hr"]],
                    "se": [cox["se"]],
                }
            ),
        ]
    )
    ex = nma(ref, reference="chemo", effects="fixed", seed=13)
    for a in ("new", "other"):
        e, m = ex.effect(a, "chemo"), mc.effect(a, "chemo")
        assert abs(m.mean - e.mean) < 0.15 * e.sd, (a, m.mean, e.mean)
        assert m.sd == pytest.approx(e.sd, rel=0.1)
    assert nodesplit_table(mc).empty  # no loop
