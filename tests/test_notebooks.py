"""The teaching notebooks in notebooks/: each percent-format .py (the reviewed source) and its
.ipynb are in sync, and each notebook runs top to bottom with small draws and prints sensible
numbers (its last cell prints ``RESULTS_JSON {...}``)."""

import json
import time
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pytest
from reference_pool import NormalNormal, effects
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["assessor", "meta_analyst", "committee"]
SMALL_DRAWS = "200"
SMALL_CHAINS = "2"
#: seconds per notebook at small draws on 2 cores (measured about 15-30 s)
TIME_LIMIT = 120
EFFECTS = ROOT / "data" / "effects_blinatumomab.csv"


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_py_and_ipynb_are_in_sync(name):
    py = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    ipynb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    assert _cells(py) == _cells(ipynb), (
        f"notebooks/{name}.ipynb differs from {name}.py; run "
        f"jupytext --to ipynb notebooks/{name}.py"
    )
    assert len(py.cells) > 5
    assert py.metadata["kernelspec"]["name"] == "python3"


def test_assessor_states_the_cohort_assumption():
    text = (ROOT / "notebooks" / "assessor.py").read_text()
    assert "The age and sex mix at entry is an assumption, not data." in text


def test_pairing_is_declared():
    text = (ROOT / "jupytext.toml").read_text()
    assert 'formats = "ipynb,py:percent"' in text


def _execute(name: str, monkeypatch) -> tuple[str, float]:
    """Run notebooks/NAME.ipynb from the repository root; return its text output and seconds."""
    from nbclient import NotebookClient

    monkeypatch.setenv("BAYESURV_NOTEBOOK_DRAWS", SMALL_DRAWS)
    monkeypatch.setenv("BAYESURV_NOTEBOOK_CHAINS", SMALL_CHAINS)
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=TIME_LIMIT, resources={"metadata": {"path": str(ROOT)}}
    )
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    seconds = time.perf_counter() - t0
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", out
            if out["output_type"] == "stream":
                texts.append(out["text"])
            elif "text/plain" in out.get("data", {}):
                texts.append(out["data"]["text/plain"])
    return "\n".join(texts), seconds


def _results(text: str) -> dict:
    lines = [ln for ln in text.splitlines() if ln.startswith("RESULTS_JSON ")]
    assert len(lines) == 1, "the notebook's last cell prints RESULTS_JSON once"
    return json.loads(lines[0].removeprefix("RESULTS_JSON "))


# jupyter_client/zmq may warn about their own deprecated calls while the kernel starts
KERNEL_WARNINGS = [
    "ignore::DeprecationWarning:jupyter_client.*",
    "ignore::DeprecationWarning:zmq.*",
    "ignore::DeprecationWarning:nbclient.*",
    "ignore::DeprecationWarning:traitlets.*",
    "ignore:.*platformdirs.*:DeprecationWarning",
]


def _slow_kernel(func):
    for flt in KERNEL_WARNINGS:
        func = pytest.mark.filterwarnings(flt)(func)
    return pytest.mark.mcmc(pytest.mark.slow(func))


@_slow_kernel
def test_assessor_runs(monkeypatch):
    text, seconds = _execute("assessor", monkeypatch)
    r = _results(text)
    assert "posterior draws per chain: 200, chains: 2" in text
    # published 5-year OS with blinatumomab 0.784 (95% CI 0.642-0.874): the fit lands inside
    assert 0.642 < r["os_s60_experimental_cure"] < 0.874
    assert 0 < r["os_cure_fraction_control"] < r["os_cure_fraction_experimental"] < 1
    # discounting at 3.5% shrinks the gain; both cure assumptions give a positive gain
    assert 0 < r["os_ly_gained_discounted_cure"] < r["os_ly_gained_undiscounted_cure"]
    assert r["os_ly_gained_discounted_nocure"] > 0
    # GBSG-2 reconstructed and extrapolated with cure and general-population mortality
    assert 0 < r["gbsg2_cure_fraction_control"] < 0.6 and r["gbsg2_lyg_discounted"] > 0
    assert seconds < TIME_LIMIT


@_slow_kernel
def test_meta_analyst_runs(monkeypatch):
    text, seconds = _execute("meta_analyst", monkeypatch)
    r = _results(text)
    # exact and MCMC agree: medians of the pooled HR within a few per cent at 400 draws
    # (the MCMC median's Monte Carlo s.e. on the log scale is about 0.2 / sqrt(100) = 0.02)
    assert abs(r["mcmc_pooled_hr"] / r["exact_pooled_hr"] - 1) < 0.08
    assert abs(r["mcmc_tau_median"] - r["exact_tau_median"]) < 0.1
    # the prediction interval is wider than the pooled interval on both sides
    pi, ci = r["prediction_interval_hr"], r["pooled_interval_hr"]
    assert pi[0] < ci[0] < r["exact_pooled_hr"] < ci[1] < pi[1]
    assert 0.3 < r["exact_pooled_hr"] < 0.8 and 0.3 < r["with_adults_pooled_hr"] < 0.8
    # study 20120215 against the MAP prior of the other three paediatric EFS trials, integrated
    # independently (tests/reference_pool.py): Box's p from the unimodal predictive's two tails
    # (0.31835; the notebook's grid rule is accurate to about 1e-3), and the weakly informative
    # component's posterior weight 0.2 f_vague / (0.2 f_vague + 0.8 f_MAP) at y* (0.08841)
    y, s = effects(EFFECTS, set="pediatric", outcome="event-free")
    new, rest = y[0], NormalNormal(y[1:], s[1:])  # the file's first row is 20120215
    assert r["box_p"] == pytest.approx(rest.box_p(new, s[0]), abs=1e-3)
    f_map = rest.estimate_pdf(new, s[0])[0]
    f_vague = stats.norm.pdf(new, 0.0, np.sqrt(2.0**2 + s[0] ** 2))  # N(0, 2^2) + its se
    w = 0.2 * f_vague / (0.2 * f_vague + 0.8 * f_map)
    assert r["robust_weight_posterior"] == pytest.approx(w, rel=1e-6)
    assert r["sensitivity_rows"] == 5
    assert seconds < TIME_LIMIT


@_slow_kernel
def test_committee_runs(monkeypatch):
    text, seconds = _execute("committee", monkeypatch)
    r = _results(text)
    assert r["n_draws"] == 400  # 2 chains x 200 draws, the same for every section
    # the pooled EFS HR's probabilities (NUTS draws, 2 chains x 200) against the model integrated
    # independently (tests/reference_pool.py; P(HR < 1) = 0.9909, P(HR < 0.8) = 0.9586), within
    # 4 binomial Monte Carlo errors at an effective 200 draws (half the 400): 0.027 and 0.056
    ref = NormalNormal(*effects(EFFECTS, set="pediatric", outcome="event-free"))
    for statement, log_hr in (("P(hr < 1)", 0.0), ("P(hr < 0.8)", np.log(0.8))):
        p = ref.p_mu_below(log_hr)
        assert r[statement] == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / 200)), statement
    # 5-year EFS published for 20120215 (data/case_study/study_20120215_landmarks.csv): 0.578
    # [0.425, 0.704] vs 0.276 [0.162, 0.403]; their difference as normal, se from the CIs,
    # gives P(difference > 0.10) = 0.984; the cure model's within 0.05 (4 Monte Carlo errors
    # at 200 effective draws are 0.036; the rest is the normal approximation of skewed CIs)
    se = np.hypot(0.704 - 0.425, 0.403 - 0.162) / (2 * stats.norm.ppf(0.975))
    published = stats.norm.sf((0.10 - (0.578 - 0.276)) / se)
    assert r["P(efs_surv_diff(60) > 0.10)"] == pytest.approx(published, abs=0.05)
    assert 0 < r["mcse_max"] < 0.1
    # the misspelt name is refused in a sentence that lists the names that exist
    assert "unknown name 'pooled_hr'; the result has" in text
    assert "efs_across_paediatric_trials_pooled_hr" in text
    assert seconds < TIME_LIMIT
