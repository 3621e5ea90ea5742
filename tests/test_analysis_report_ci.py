"""One interval width for a whole analysis (issue 14): a spec with ``ci = 0.9`` gets its posterior
intervals computed at 90% and labelled 90% in report.html, while the trials' own confidence
intervals, a fact about the source, stay 95%.

The report is the default-tier pool report of test_report_committee (the shipped paediatric EFS
hazard ratios), built as ``bayesurv run`` builds it: the summary inside the spec's width. Its
numbers are checked against the independent trapezoid-rule posterior of tests/reference_pool.py
at the 5% and 95% quantiles."""

import math
import re

import numpy as np
import pytest
import test_report_committee as committee
from reference_pool import NormalNormal, effects

from bayesurv.intervals import ci_width
from bayesurv.report_format import interval

CSV = committee.ROOT / "data" / "effects_blinatumomab.csv"


@pytest.fixture(scope="module")
def report90(tmp_path_factory):
    spec = committee.SPEC.replace("seed = 5\n", "seed = 5\nci = 0.9\n")
    assert "ci = 0.9" in spec
    saved = committee.SPEC
    committee.SPEC = spec
    try:
        with ci_width(0.9):  # as bayesurv.runner._run does with the spec's ci
            page, summary, run = committee.pool_report(tmp_path_factory.mktemp("ci90"))
    finally:
        committee.SPEC = saved
    ref = NormalNormal(*effects(CSV, set="pediatric", outcome="event-free"))
    return page, summary, run, ref


def test_posterior_intervals_are_computed_at_the_spec_width(report90):
    page, summary, run, ref = report90
    ex = summary["pool"][committee.NAME]["exact"]
    assert ex["level"] == 0.9
    hr = ex["pooled"]["hr"]
    assert hr["lower"] == pytest.approx(math.exp(ref.mu_quantile(0.05)), rel=1e-4)
    assert hr["upper"] == pytest.approx(math.exp(ref.mu_quantile(0.95)), rel=1e-4)
    # 95% limits would be wider by about 0.05 on the log scale: this check can fail
    assert math.log(hr["lower"]) - ref.mu_quantile(0.025) > 0.02
    # the sensitivity table's tau upper limit: the 95% quantile of tau, no longer 97.5%
    sens = run.sensitivity.loc["halfnormal(0.5)"]
    cdf = np.cumsum(ref.weight)
    tau95 = float(np.interp(0.95, cdf, ref.tau))
    assert sens["tau_upper"] == pytest.approx(tau95, rel=2e-3)
    assert sens["hr_lower"] == pytest.approx(hr["lower"], rel=1e-6)
    # the page shows those numbers under a 90% label
    text = committee.visible_text(page.read_text())
    assert f"pooled HR {interval(hr)}" in text


def test_posterior_labels_follow_the_width_and_published_cis_stay_95(report90):
    page, _, _, _ = report90
    text = committee.visible_text(page.read_text())
    for said in ("median (90% CrI)", "pooled HR (90% CrI)", "HR of a new trial, 90% PrI"):
        assert said in text, said
    assert "tau median (95% limit)" in text  # the upper limit of tau's 90% interval
    assert not re.search(r"95% (CrI|PrI|band|interval)|97\.5% limit", text), re.findall(
        r".{40}95% (?:CrI|PrI|band|interval).{10}", text
    )
    # what the trials published is a fact about the source
    assert "lower 95% CI" in text and "hazard ratios and 95% CIs" in text
