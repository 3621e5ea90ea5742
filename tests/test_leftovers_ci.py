"""The spec's interval width (``ci``) reaches every posterior and reference interval of a pool
and an NMA section and their labels (issue leftovers, item 2): the forest plot's observed bars,
the checks beside a pool (REML, tau^2 and I^2 intervals) and the NMA's sentences and tables. At
``ci = 0.9`` the numbers are checked against independent references: a REML and Q-profile
written here with scipy, normal quantiles, and the conjugate normal posterior of a fixed-effect
star network."""

import math
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from reference_pool import effects
from scipy import optimize, stats

from bayesurv.intervals import ci_width
from bayesurv.report_format import number
from bayesurv.sections.common import Progress

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "effects_blinatumomab.csv"
WHERE = {"set": "pediatric", "outcome": "event-free"}
Z90 = stats.norm.ppf(0.95)


def _reml(y, s):
    """REML tau^2 (restricted log-likelihood maximised by scipy) and the pooled mean, its se."""

    def nll(t2):
        w = 1 / (s**2 + t2)
        mu = (w @ y) / w.sum()
        return 0.5 * (np.sum(np.log(1 / w)) + np.log(w.sum()) + w @ (y - mu) ** 2)

    t2 = optimize.minimize_scalar(nll, bounds=(0, 10), method="bounded", options={"xatol": 1e-12})
    t2 = float(t2.x) if nll(t2.x) < nll(0.0) else 0.0
    w = 1 / (s**2 + t2)
    return t2, (w @ y) / w.sum(), 1 / math.sqrt(w.sum())


def _q_profile(y, s, level):
    """Viechtbauer's Q-profile interval for tau^2: Q(tau^2) at the chi^2_{k-1} quantiles."""

    def q(t2):
        w = 1 / (s**2 + t2)
        mu = (w @ y) / w.sum()
        return w @ (y - mu) ** 2

    df = y.size - 1
    a = (1 - level) / 2
    out = []
    for target in (stats.chi2.ppf(1 - a, df), stats.chi2.ppf(a, df)):
        root = 0.0 if q(0.0) < target else optimize.brentq(lambda t, c=target: q(t) - c, 0, 50)
        out.append(root)
    return out


def _spec(tmp_path, body: str, ci: float = 0.9):
    from bayesurv.spec import load_spec

    p = tmp_path / "spec.toml"
    p.write_text(f'title = "t"\nseed = 3\nci = {ci}\n{body}')
    return load_spec(p)


@pytest.fixture
def pool_run(tmp_path, monkeypatch):
    """run_pool_section at ci = 0.9 without NUTS: its "MCMC" pool is the exact one."""
    import importlib

    from bayesurv.sections.pool import run_pool_section

    P = importlib.import_module("bayesurv.synthesis.pool")  # bayesurv.synthesis.pool: a function

    real = P.pool

    def no_nuts(eff, *, method="exact", **kw):
        kw = {k: v for k, v in kw.items() if k in ("mu_prior", "tau_prior")}
        return real(eff, method="exact", **kw)

    monkeypatch.setattr(P, "pool", no_nuts)
    spec, files = _spec(
        tmp_path,
        f'[[pool]]\nname = "efs"\neffects = "{CSV}"\n'
        'where = { set = "pediatric", outcome = "event-free" }\n',
    )
    return run_pool_section(spec.pool[0], files, 1, spec, Progress(True))


def test_pool_checks_are_at_the_spec_width_and_say_so(pool_run):
    from bayesurv.sections.pool import checks_summary, checks_table

    y, s = effects(CSV, **WHERE)
    t2, mu, se = _reml(y, s)
    c = checks_summary(pool_run.checks)
    assert c["level"] == 0.9
    assert c["reml_tau2"] == pytest.approx(t2, rel=1e-4, abs=1e-8)
    assert c["reml_hr_lower"] == pytest.approx(math.exp(mu - Z90 * se), rel=1e-5)
    assert c["reml_hr_upper"] == pytest.approx(math.exp(mu + Z90 * se), rel=1e-5)
    # a 95% interval would be wider by 0.3 se on each side: this check can fail
    assert math.log(c["reml_hr_upper"]) - (mu + Z90 * se) < 0.01 * se
    lo, hi = _q_profile(y, s, 0.9)
    assert c["reml_tau2_lower"] == pytest.approx(lo, abs=1e-6)
    assert c["reml_tau2_upper"] == pytest.approx(hi, rel=1e-4)
    table = checks_table(pool_run).set_index("check")["value"]
    assert table["REML pooled HR (90% CI)"] == (
        f"{number(c['reml_hr'])} ({number(c['reml_hr_lower'])} to {number(c['reml_hr_upper'])})"
    )
    assert "REML tau^2 (90% Q-profile CI)" in table.index and "I^2 (90% CI)" in table.index
    assert not any("95%" in k for k in table.index)


def test_forest_labels_the_observed_bars_with_their_width():
    from bayesurv.plots.forest import forest
    from bayesurv.synthesis.pool import pool

    y, s = np.array([-0.97, -0.36]), np.array([0.28, 0.2])
    r = pool((y, s, ["a", "b"]))
    with ci_width(0.9):
        fig = forest(r)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "observed (90% CI from its se)" in labels, labels
    texts = [t.get_text() for t in ax.texts]
    for yi, si in zip(y, s, strict=True):  # the numbers beside the bars: exp(y -+ 1.645 se)
        want = "{:.2f} ({:.2f}, {:.2f})".format(*np.exp([yi, yi - Z90 * si, yi + Z90 * si]))
        assert want in texts, (want, texts)
    fig = forest(r, level=0.975)
    assert "observed (97.5% CI from its se)" in [
        t.get_text() for t in fig.axes[0].get_legend().get_texts()
    ]
    assert "97.5% interval" in fig.axes[0].get_xlabel()
    plt.close("all")


def test_nma_section_sentences_and_tables_at_the_spec_width(tmp_path):
    """A fixed-effect star network (x vs c: log HR -0.2, se 0.1; y vs c: -0.1, se 0.2) under
    d ~ N(0, 4^2): each d is normal with precision 1/se^2 + 1/16 (conjugate), so the 90% interval
    of HR(x vs c) is exp(m -+ 1.645 sd)."""
    from bayesurv.report import Report
    from bayesurv.sections.nma import report_part, run_nma_section

    data = tmp_path / "net.csv"
    data.write_text("study,treatment,comparator,log_hr,se\na,x,c,-0.2,0.1\nb,y,c,-0.1,0.2\n")
    spec, files = _spec(
        tmp_path,
        f'[[nma]]\nname = "net"\ndata = "{data}"\nreference = "c"\neffects = "fixed"\n',
    )
    nr = run_nma_section(spec.nma[0], files, 1, spec, Progress(True))

    def post(y, se):
        prec = 1 / se**2 + 1 / 16
        return y / se**2 / prec, 1 / math.sqrt(prec)

    m, sd = post(-0.2, 0.1)
    rel = {(r["treatment"], r["vs"]): r for r in nr.doc["relative_effects"]}
    assert nr.doc["level"] == 0.9
    hr = rel[("x", "c")]["hr"]
    assert hr["lower"] == pytest.approx(math.exp(m - Z90 * sd), rel=1e-6)
    assert hr["upper"] == pytest.approx(math.exp(m + Z90 * sd), rel=1e-6)
    (out := tmp_path / "out" / "figures").mkdir(parents=True)
    rep = Report("t")
    with ci_width(0.9):
        report_part(rep, out.parent, "net", nr, lambda *a: None)
    html = rep.render()
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    said = f"(90% credible interval {math.exp(m - Z90 * sd):.2f} to {math.exp(m + Z90 * sd):.2f})"
    assert said in text, text[:600]
    assert "HR (90% CrI)" in text and "95%" not in text
    plt.close("all")
