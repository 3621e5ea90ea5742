"""MCMC (PyMC + nutpie) against the exact quadrature: within 0.1 posterior sd, no divergences."""

import json

import numpy as np
import pytest
from test_synthesis_exact import bcg  # BCG log risk ratios (Colditz et al. 1994)

from bayesurv.synthesis.pool import pool

CASES = {
    # 13 BCG trials (metafor dat.bcg), two very precise trials -> marginal parameterization
    "bcg": (*bcg(), "halfnormal(0.5)", "auto"),
    # the two ends of the case study's event-free HRs (20120215 EFS 0.38 [0.22, 0.65],
    # AALL1331-HR/IR DFS 0.70 [0.47, 1.03]): two studies only
    "two_studies": (
        [np.log(0.38), np.log(0.70)],
        [np.log(0.65 / 0.22) / 3.919928, np.log(1.03 / 0.47) / 3.919928],
        "halfcauchy(0.5)",
        "auto",
    ),
    # the case study's pediatric OS HRs (data/effects_blinatumomab.csv: 20120215 0.35 [0.17, 0.70],
    # AALL1331-HR/IR 0.62 [0.39, 0.98], AALL1331-LR 0.65 [0.32, 1.30]) with the Turner et al.
    # (2015) all-cause mortality, pharma vs pharma prior (log-normal on tau)
    "case_os_turner": (
        [np.log(0.35), np.log(0.62), np.log(0.65)],
        [
            np.log(0.70 / 0.17) / 3.919928,
            np.log(0.98 / 0.39) / 3.919928,
            np.log(1.30 / 0.32) / 3.919928,
        ],
        "turner(mortality, pharma-pharma)",
        "auto",
    ),
    # zero heterogeneity: identical estimates
    "identical": ([-0.4] * 4, [0.2] * 4, "halfnormal(0.5)", "noncentred"),
    # one very precise study among imprecise ones
    "one_precise": ([-0.5, -0.1, -0.8, -0.3], [0.02, 0.3, 0.35, 0.25], "halfnormal(0.5)", "auto"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_mcmc_agrees_with_exact(case):
    y, s, tau_prior, param = CASES[case]  # param: the MCMC parameterization asked for
    y, s = np.asarray(y, float), np.asarray(s, float)
    labels = [f"study {i + 1}" for i in range(y.size)]
    exact = pool((y, s, labels), "normal(0, 4)", tau_prior, method="exact")
    mcmc = pool(
        (y, s, labels),
        "normal(0, 4)",
        tau_prior,
        method="mcmc",
        seed=20240215,
        draws=2000,
        parameterization=param,
    )
    assert mcmc.diagnostics["divergences"] == 0
    assert mcmc.diagnostics["rhat_max"] <= 1.01
    worst = 0.0
    for q in ["pooled", "predictive", "tau", *labels]:
        e, m = exact.dist(q), mcmc.dist(q)
        # means and medians within 0.1 exact posterior sd (MCSE of a mean at ESS >= 400 is
        # <= 0.05 sd, so 0.1 sd is two MCSEs at worst)
        worst = max(worst, abs(e.mean - m.mean) / e.sd, abs(e.median() - m.median()) / e.sd)
        assert abs(e.mean - m.mean) < 0.1 * e.sd, q
        assert abs(e.median() - m.median()) < 0.1 * e.sd, q
        # tail probabilities: P(HR < 1) agrees to 0.02
        if q != "tau":
            assert abs(e.cdf(0.0) - m.cdf(0.0)) < 0.02, q
    assert worst < 0.1


@pytest.mark.slow
def test_mcmc_result_is_a_datatree_with_named_dims_and_provenance():
    y, s = bcg()
    labels = [f"trial {i + 1}" for i in range(y.size)]
    pick = [0, 1, 2, 6]  # four small trials (no very precise one)
    y, s, labels = y[pick], s[pick], [labels[i] for i in pick]
    r = pool(
        (y, s, labels),
        "normal(0, 4)",
        "halfnormal(0.5)",
        method="mcmc",
        seed=3,
        parameterization="noncentred",
    )
    post = r.idata["posterior"]
    assert post["theta"].dims == ("chain", "draw", "study")
    assert list(post["theta"].coords["study"].values) == labels
    assert list(r.idata["observed_data"]["y"].coords["study"].values) == labels
    prov = json.loads(r.idata.attrs["bayesurv_provenance"])
    assert prov["seed"] == 3 and prov["tau_prior"] == "halfnormal(0.5)"
    summary = r.summary()
    assert summary["method"] == "mcmc"
    assert summary["diagnostics"]["divergences"] == 0
