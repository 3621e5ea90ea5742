"""The warnings an analysis raised are on the report's first screen, under the answers, not
only in summary.json and on the terminal (a committee reads the page)."""

import html
import json

import pytest

from bayesurv.analysis_report import warnings_shown
from bayesurv.report_format import RHAT_NOTE


def test_each_warning_once_and_the_rest_counted():
    notes = [f"w{i}" for i in range(10)] + ["w0"]
    shown = warnings_shown(notes, most=8)
    assert shown[:2] == ["Warning: w0", "Warning: w1"] and len(shown) == 9
    assert shown[-1] == "2 more warnings: see summary.json."
    assert warnings_shown(["a", "a"]) == ["Warning: a"] and warnings_shown([]) == []


@pytest.mark.filterwarnings("ignore::bayesurv.survival.fit.IdentifiabilityWarning")
def test_a_runs_warnings_are_in_its_report(tmp_path, monkeypatch):
    """No MCMC (known draws): a one-chain run with 100 draws warns that R-hat needs more chains
    and that the bulk ESS is below 400; both sentences are in report.html, as summary.json
    holds them, before the evidence section."""
    from known_draws import one_chain_ipd_run

    r, out = one_chain_ipd_run(tmp_path, monkeypatch)
    assert r.exit_code == 0, r.output
    notes = json.loads((out / "summary.json").read_text())["warnings"]
    assert RHAT_NOTE in notes and any("bulk ESS is" in n for n in notes)
    page = html.unescape((out / "report.html").read_text())
    evidence = page.index("What this analysis rests on")
    for n in notes:
        assert 0 <= page.index(f"Warning: {n}") < evidence, n
