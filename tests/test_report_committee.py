"""report.html reads like a committee paper (issue 14 item 1): the questions answered first, one
value per question with the computation named, numbers for people, tables inside the page,
convergence stated truly, what each result rests on, and a print stylesheet for A4.

The default-tier report is built by :func:`bayesurv.analysis_report.build_report` from a real
pool section (the shipped paediatric EFS hazard ratios, exact posterior by quadrature) whose
"MCMC" draws are independent draws from that exact posterior in 4 chains: the plumbing of a
sampled result without NUTS. The MCMC tier runs ``bayesurv run`` on the GBSG-2 spec."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from bayesurv.analysis_report import (
    _ipd_source,
    build_report,
    convergence_problems,
    convergence_sentence,
)
from bayesurv.browser import chromium, layout, print_pdf, render
from bayesurv.report_format import percent

ROOT = Path(__file__).resolve().parent.parent
NAME = "EFS across paediatric trials"
KEY = "efs_across_paediatric_trials"
SPEC = """
title = "Blinatumomab: pooled EFS hazard ratio"
description = "The paediatric trials' event-free survival hazard ratios pooled hierarchically."
seed = 5
[[pool]]
name = "EFS across paediatric trials"
effects = "{root}/data/effects_blinatumomab.csv"
where = {{ set = "pediatric", outcome = "event-free" }}
tau_prior = "halfnormal(0.5)"
[queries]
statements = [
  "P(efs_across_paediatric_trials_pooled_hr < 0.8)",
  "P(efs_across_paediatric_trials_predictive_hr < 1)",
  "P(efs_across_paediatric_trials_tau > 0.2 and efs_across_paediatric_trials_pooled_hr < 1)",
]
"""
needs_chromium = pytest.mark.skipif(
    chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)


def pool_report(folder: Path, shift: float = 0.0, draws: int = 250) -> tuple[Path, dict, object]:
    """Build the report of the pool spec into ``folder``; ``shift`` moves chain 0's mu (a fit
    that has not converged). Returns the report's path, the summary and the PoolRun."""
    from bayesurv.evidence.effects import read_effects
    from bayesurv.provenance import provenance
    from bayesurv.query import probability
    from bayesurv.sections.pool import DEFAULT_SENSITIVITY, PoolRun, pool_quantities
    from bayesurv.spec import load_spec
    from bayesurv.synthesis.pool import mcmc_result, pool, sensitivity

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.toml"
    path.write_text(SPEC.format(root=ROOT))
    spec, files = load_spec(path)
    sec = spec.pool[0]
    eff = read_effects(files["pool[1].effects"], sec.where or None)
    exact = pool(eff, mu_prior=sec.mu_prior, tau_prior=sec.tau_prior, method="exact")
    d = exact.exact.sample(np.random.default_rng(20120215), 4 * draws)
    k = len(exact.studies)
    mu = d["mu"].reshape(4, draws)
    mu[0] += shift
    post = xr.Dataset(
        {
            "mu": (("chain", "draw"), mu),
            "tau": (("chain", "draw"), d["tau"].reshape(4, draws)),
            "theta": (("chain", "draw", "study"), d["theta"].reshape(4, draws, k)),
            "theta_new": (("chain", "draw"), d["theta_new"].reshape(4, draws)),
        },
        coords={"chain": np.arange(4), "draw": np.arange(draws), "study": exact.studies},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ConvergenceWarning of the shifted chain
        mcmc = mcmc_result(
            xr.DataTree.from_dict({"posterior": post}),
            method="mcmc",
            studies=exact.studies,
            y=exact.y,
            se=exact.se,
            mu_prior=exact.mu_prior,
            tau_prior=exact.tau_prior,
            what="the test pool",
            settings={},
            seed=1,
        )
    sens = sensitivity(eff, DEFAULT_SENSITIVITY, mu_prior=sec.mu_prior, thresholds=sec.thresholds)
    run = PoolRun(sec, eff, exact, mcmc, sens)
    ds = pool_quantities(mcmc.idata["posterior"].to_dataset())
    ds = xr.Dataset({f"{KEY}_{n}": v for n, v in ds.data_vars.items()})
    summary = {
        "title": spec.title,
        "survival": {},
        "ipd": {},
        "pool": {
            NAME: {
                "key": KEY,
                "exact": exact.summary(thresholds=sec.thresholds),
                "mcmc": mcmc.summary(thresholds=sec.thresholds),
            }
        },
        "nma": {},
        "queries": [probability(q, ds) for q in spec.queries.statements],
        "provenance": provenance(seed=spec.seed, inputs=files),
    }
    out = folder / "out"
    (out / "figures").mkdir(parents=True, exist_ok=True)
    build_report(out, spec, summary, {}, {NAME: run})
    return out / "report.html", summary, run


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return pool_report(tmp_path_factory.mktemp("committee"))


def visible_text(html: str) -> str:
    """The page's text without its figures (SVG paths hold machine numbers) and style."""
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    html = re.sub(r'src="data:[^"]*"', "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_questions_come_first_answered_in_sentences(report):
    page, summary, run = report
    html = page.read_text()
    first_answer = html.index('class="answer"')
    assert first_answer < html.index("<table")  # above the first evidence table
    assert first_answer < html.index("What this analysis rests on") < html.index(">Evidence<")
    assert (
        html.index(">Evidence<")
        < html.index("hierarchical synthesis")
        < html.index(">Diagnostics<")
    )
    exact = run.exact.prob_hr_below(0.8, "pooled")
    sentence = summary["queries"][0]["answer"]
    assert sentence == (
        f"The probability that the pooled hazard ratio ({NAME}) is below 0.8 is "
        f"{percent(exact)} (exact, by quadrature over tau)."
    )
    assert sentence in visible_text(html)
    # the compound statement has no exact answer: the share of draws and its MC error
    third = summary["queries"][2]
    assert third["computation"] == "MCMC: share of posterior draws"
    assert third["reported_probability"] == third["probability"]
    assert "Monte Carlo error" in third["answer"] and "1,000 posterior draws" in third["answer"]
    # the code form stays beside the sentence, in small print
    assert "asked as P(efs_across_paediatric_trials_pooled_hr &lt; 0.8)" in html


def test_one_value_per_question(report):
    """The exact and the sampled probability differ at the digits shown; only the exact one is
    on the page, in the answer and in the pool's exact table alike."""
    page, summary, run = report
    html = visible_text(page.read_text())
    exact_p = run.exact.prob_hr_below(0.8, "pooled")
    sampled_p = summary["queries"][0]["probability"]
    assert percent(exact_p) != percent(sampled_p)  # else this test could not fail
    assert summary["queries"][0]["reported_probability"] == pytest.approx(exact_p)
    assert summary["queries"][0]["computation"] == "exact, by quadrature over tau"
    assert percent(sampled_p) not in html
    row = re.search(r"P\(pooled HR &lt; 0\.8\)\s+(\S+)", html)
    assert row is not None and row.group(1) == percent(exact_p)
    predictive = run.exact.prob_hr_below(1.0, "predictive")
    assert percent(predictive) in summary["queries"][1]["answer"]


def test_numbers_are_for_people(report):
    page, _, _ = report
    text = visible_text(page.read_text())
    assert not re.search(r"\d[eE][+-]\d", text)  # no 1.19e+03
    assert not re.search(r"\b(True|False|nan|NaN|None)\b", text)
    assert "MC error 0.000" not in text and "1.000 (" not in text
    assert re.search(r"\d+\.\d%", text)  # probabilities as percentages


def test_convergence_status_is_true_when_a_fit_fails(tmp_path):
    page, _, run = pool_report(tmp_path / "bad", shift=2.0)
    assert run.mcmc.diagnostics["rhat_max"] > 1.5
    html = page.read_text()
    text = visible_text(html)
    assert "Convergence: 1 of 1 MCMC fits fail a check" in text
    assert "problems: none" not in text
    row = re.search(r"normal-normal \(MCMC\)(.*?)</tr>", html, re.S).group(1)
    assert "R-hat is" in row and ">none<" not in row


def test_convergence_status_when_every_fit_passes(report):
    page, _, run = report
    assert run.mcmc.diagnostics["problems"] == []
    assert "Convergence: all 1 MCMC fits pass the checks" in visible_text(page.read_text())


def test_convergence_is_checked_from_the_numbers_not_the_recorded_problems():
    """The issue's case: R-hat 1.02 and ESS 44 recorded with no problems."""
    d = {"rhat_max": 1.02, "ess_bulk_min": 44.0, "ess_tail_min": 600.0, "divergences": 0}
    got = convergence_problems({**d, "chains": 4, "draws": 500, "problems": []})
    assert got == ["R-hat is 1.020 (should be ≤ 1.01)", "bulk ESS is 44 (should be ≥ 400)"]
    one = convergence_problems({**d, "rhat_max": float("nan"), "chains": 1, "problems": []})
    assert one[0].startswith("one chain only")
    fits = [{"section": "GBSG-2", "model": "weibull", "problems": got, "answers": True}]
    sentence, bad = convergence_sentence(fits)
    assert bad and "1 of 1 MCMC fits fail" in sentence and "bulk ESS is 44" in sentence
    ok = convergence_problems(
        {"rhat_max": 1.004, "ess_bulk_min": 900, "ess_tail_min": 800, "divergences": 0, "chains": 4}
    )
    assert ok == []


def test_rests_on_says_an_ipd_file_came_from_a_reconstruction(tmp_path):
    """An [[ipd]] file written by `bayesurv reconstruct` (its .report.json beside it) is a
    reconstruction, not 'patient-level data as given'; a bare file is taken as observed."""
    from types import SimpleNamespace

    ipd = tmp_path / "ipd.csv"
    ipd.write_text("time,event,arm\n1,1,a\n2,0,b\n")
    spec = SimpleNamespace(ipd=[SimpleNamespace(name="T")])
    summary = {"provenance": {"inputs": {"ipd[1].ipd": {"path": str(ipd)}}}}
    run = SimpleNamespace(reconstructed=False, section=SimpleNamespace(ipd="ipd.csv"))
    what, figure = _ipd_source(spec, summary, "T", run)
    assert not figure and what == "patient-level data as given (ipd.csv), taken as observed"
    (tmp_path / "ipd.report.json").write_text("{}")
    what, figure = _ipd_source(spec, summary, "T", run)
    assert figure and what.startswith("curves reconstructed from a digitized figure by bayesurv")
    here = SimpleNamespace(reconstructed=True, section=SimpleNamespace(ipd=None))
    assert _ipd_source(spec, {}, "T", here)[1]


@needs_chromium
def test_first_screen_holds_the_answers_and_nothing_overflows(report, tmp_path):
    page, summary, _ = report
    box = layout(page, [".answer", ".answers", "table", ".table-box"], width=1400, height=900)
    answers = box["elements"][".answer"]
    assert len(answers) == len(summary["queries"]) == 3
    assert answers[0]["text"].startswith("The probability that the pooled hazard ratio")
    assert all(a["bottom"] <= 900 for a in answers)  # every answer on the first screen
    assert answers[0]["top"] < box["elements"]["table"][0]["top"]
    assert box["scrollWidth"] <= 1400, box["overflowing"]
    assert box["overflowing"] == []
    # the screenshot of the first screen shows the answers' box where the layout put it
    from PIL import Image

    shot = tmp_path / "first_screen.png"
    assert render(page, shot, width=1400, height=900) == []
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape[:2] == (900, 1400)
    b = box["elements"][".answers"][0]
    area = img[int(b["top"]) + 2 : int(b["bottom"]) - 2, int(b["left"]) + 8 : int(b["right"]) - 2]
    blue = (np.abs(area - np.array([0xEA, 0xF2, 0xFB])).max(axis=-1) <= 6).mean()
    assert blue > 0.6  # the light-blue box of the answers, mostly background around the text
    dark = (area.max(axis=-1) < 100).mean()
    assert dark > 0.01  # with text in it


@needs_chromium
def test_report_prints_on_a4_with_the_answers_on_page_one(report, tmp_path):
    import pypdfium2 as pdfium

    page, summary, _ = report
    pdf = pdfium.PdfDocument(print_pdf(page, tmp_path / "report.pdf"))
    w, h = pdf[0].get_size()
    assert abs(w - 595.3) < 1.5 and abs(h - 841.9) < 1.5  # A4 in points
    first = " ".join(pdf[0].get_textpage().get_text_range().split())
    assert summary["queries"][0]["answer"][:60] in first
    assert len(pdf) >= 2


# --------------------------------------------------------------------------------------------
# the MCMC tier: a real `bayesurv run` (GBSG-2 reconstructed from emulated clicks, and a
# summary-only section), its report laid out in Chromium
# --------------------------------------------------------------------------------------------
@pytest.mark.mcmc
@needs_chromium
def test_run_report_first_screen_and_width(tmp_path):
    from typer.testing import CliRunner

    from bayesurv.cli import app

    out = tmp_path / "out"
    r = CliRunner().invoke(
        app,
        ["run", str(ROOT / "tests" / "specs" / "gbsg2_ipd.toml"), "--out", str(out), "--quiet"],
    )
    assert r.exit_code == 0, r.output
    page = out / "report.html"
    box = layout(page, [".answer", "table", "h2"], width=1400, height=900)
    answers = box["elements"][".answer"]
    assert len(answers) == 2 and all(a["bottom"] <= 900 for a in answers)
    assert answers[0]["text"].startswith(
        "The probability that survival (GBSG-2) at 5 years is higher in tamoxifen than in "
        "no_tamoxifen is"
    )
    assert answers[-1]["bottom"] < box["elements"]["table"][0]["top"]
    assert box["scrollWidth"] <= 1400 and box["overflowing"] == []
    text = visible_text(page.read_text())
    assert "GBSG-2 (survival models on IPD) curves reconstructed from a digitized figure" in text
    assert "No Kaplan-Meier curve was reconstructed" not in text
    # the lead sentence and the diagnostics table agree, fit by fit
    import json

    s = json.loads((out / "summary.json").read_text())
    diags = [m["diagnostics"] for m in s["ipd"]["GBSG-2"]["models"].values()]
    diags += [m["fit"]["diagnostics"] for m in s["survival"]["EFS"]["models"].values()]
    bad = [d for d in diags if convergence_problems(d)]
    assert ("fail a check" in text) == bool(bad)
    assert (f"{len(bad)} of {len(diags)} MCMC fits fail" in text) == bool(bad)


# --------------------------------------------------------------------------------------------
# a real `bayesurv run` without NUTS: the shipped network (TOWER and INO-VATE through
# chemotherapy, a contrast network solved exactly)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nma_run(tmp_path_factory):
    from typer.testing import CliRunner

    from bayesurv.cli import app

    out = tmp_path_factory.mktemp("nma") / "out"
    spec = ROOT / "models" / "ball_nma.toml"
    r = CliRunner().invoke(app, ["run", str(spec), "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    return out


def test_network_questions_answered_with_the_exact_value(nma_run):
    import json

    s = json.loads((nma_run / "summary.json").read_text())
    doc = next(iter(s["nma"].values()))
    assert doc["method"] == "exact"
    exact = {(r["treatment"], r["vs"]): r["p_hr_lt_1"] for r in doc["relative_effects"]}
    pair = re.compile(r'_hr\("([^"]+)", "([^"]+)"\) < 1\)$')
    seen = 0
    for q in s["queries"]:
        a, b = pair.search(q["statement"]).groups()
        if (a, b) not in exact:
            continue
        seen += 1
        assert q["reported_probability"] == pytest.approx(exact[(a, b)])
        assert q["computation"].startswith("exact")
        assert f"is {percent(exact[(a, b)])} (exact" in q["answer"]
        assert f"hazard ratio of {a} versus {b} (" in q["answer"]
    assert seen >= 2
    # blinatumomab vs chemotherapy: 4,000 draws give 99.7%, the exact posterior 99.5%
    shown = visible_text((nma_run / "report.html").read_text())
    sampled = [q["probability"] for q in s["queries"] if "chemotherapy" in q["statement"]]
    assert any(percent(p) not in shown for p in sampled)


@needs_chromium
def test_network_report_first_screen(nma_run):
    box = layout(nma_run / "report.html", [".answer", "table"], width=1400, height=900)
    answers = box["elements"][".answer"]
    assert len(answers) == 3 and all(a["bottom"] <= 900 for a in answers)
    assert answers[-1]["bottom"] < box["elements"]["table"][0]["top"]
    assert box["scrollWidth"] <= 1400 and box["overflowing"] == []


def test_demo_prints_the_value_the_report_gives(tmp_path, monkeypatch):
    """``bayesurv demo`` printed the sampled share with its MC error (0.954, 0.005) where the
    report gives the exact value (95.9%, exact): it prints the report's value and names the
    computation. The case study's runner is replaced by its summary (no MCMC); the
    reconstruction example runs as shipped."""
    from typer.testing import CliRunner

    import bayesurv.runner
    from bayesurv.cli import app
    from bayesurv.report_answers import EXACT_METHOD, SAMPLED_METHOD

    exact_q = {
        "statement": "P(efs_pooled_hr < 0.8)",
        "probability": 0.954,
        "mcse": 0.005,
        "draws": 8000,
        "computation": EXACT_METHOD,
        "reported_probability": 0.95858,
    }
    every_q = {
        "statement": "P(os_surv_diff(5 years) > -0.05)",
        "probability": 1.0,
        "mcse": 0.0,
        "draws": 1000,
        "computation": SAMPLED_METHOD,
        "reported_probability": 1.0,
    }
    nma_q = {**exact_q, "statement": "P(nma_hr('blinatumomab', 'inotuzumab') < 1)"}
    calls = iter([{"queries": [exact_q, every_q]}, {"queries": [nma_q]}])
    monkeypatch.setattr(bayesurv.runner, "run", lambda *a, **k: next(calls))
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "95.9% (exact, by quadrature over tau)" in r.output
    assert "P(nma_hr('blinatumomab', 'inotuzumab') < 1) 95.9% (exact" in r.output
    assert "0.954" not in r.output and "MC error" not in r.output
    assert (
        "above 99.7% (MCMC: share of posterior draws; it holds in all 1,000 posterior draws; "
        "95% bound by the rule of three)" in r.output
    )
