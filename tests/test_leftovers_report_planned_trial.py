"""report.html shows a ``[[pool]]`` section's planned trial (issue leftovers, item 6): with
``plan_events`` summary.json holds a ``map_prior`` record (sections.pool.planned_trial) and the
page a table of it, borrowing beside no borrowing. Every number of the table is the record's
(to the digits shown), and the no-borrowing column's critical HR, type I error and power are
the closed form of a normal prior N(0, 2^2) and a trial of 150 events (se 2 / sqrt(150))."""

import html as html_lib
import json
import math
import re

import pytest
import test_report_committee as committee
from scipy import stats

from bayesurv.analysis_report import build_report
from bayesurv.sections.pool import planned_trial
from bayesurv.spec import load_spec

EVENTS = 150


def _table_after(page: str, caption_start: str) -> list[list[str]]:
    """The cells of the table whose caption starts with ``caption_start``."""
    i = page.index(f'<div class="caption">{caption_start}')
    body = page[i : page.index("</table>", i)]
    rows = []
    for tr in re.findall(r"<tr.*?</tr>", body, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, flags=re.S)
        rows.append([html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def _num(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planned")
    _, summary, run = committee.pool_report(folder)
    sec = run.section.model_copy(update={"plan_events": EVENTS})
    # as summary.json holds it (runner: summary["pool"][name]["map_prior"])
    record = json.loads(json.dumps(planned_trial(run.effects, sec)))
    summary["pool"][committee.NAME]["map_prior"] = record
    spec, _ = load_spec(folder / "spec.toml")
    out = folder / "out"
    build_report(out, spec, summary, {}, {committee.NAME: run})
    return (out / "report.html").read_text(), record


def test_the_planned_trial_table_holds_the_records_numbers(report):
    page, rec = report
    name = html_lib.escape(committee.NAME)
    caption = f"{name}: planned trial with {EVENTS} events borrowing through the robust MAP prior"
    rows = _table_after(page, caption)
    head, body = rows[0], {r[0]: r[1:] for r in rows[1:]}
    assert head[1].startswith("borrowing") and head[2].startswith("no borrowing")
    b, v = rec["planned_trial"], rec["planned_trial_without_borrowing"]
    ess = body["prior ESS of the MAP prior, events (ELIR)"]
    assert _num(ess[0]) == pytest.approx(rec["ess_events"]["map"]["elir"], rel=5e-3)
    used = next(k for k in body if k.startswith("prior ESS of the prior used"))
    assert _num(body[used][0]) == pytest.approx(rec["ess_events"]["robust"]["elir"], rel=5e-3)
    assert _num(body[used][1]) == pytest.approx(v["prior_ess_events"]["elir"], rel=5e-3)
    crit = body["critical HR (success if the observed HR is below)"]
    assert _num(crit[0]) == pytest.approx(b["critical_hr"], rel=5e-3)
    assert _num(crit[1]) == pytest.approx(v["critical_hr"], rel=5e-3)
    t1 = body["type I error (true HR 1)"]
    assert _num(t1[0]) == pytest.approx(100 * b["type_one_error"], abs=0.051)
    assert _num(t1[1]) == pytest.approx(100 * v["type_one_error"], abs=0.051)
    listed = [r["hr"] for r in b["power"] if r["hr"] != 1.0]
    assert 0.7 in listed and 0.8 in listed
    for k, hr in enumerate(listed):
        cells = body[f"power at HR {hr:g}"]
        assert _num(cells[0]) == pytest.approx(100 * b["power"][k + 1]["power"], abs=0.051)
        want = next(r["power"] for r in v["power"] if r["hr"] == hr)
        assert _num(cells[1]) == pytest.approx(100 * want, abs=0.051)
    pos = next(k for k in body if k.startswith("probability of success"))
    assert _num(body[pos][0]) == pytest.approx(100 * b["probability_of_success"], abs=0.051)
    assert _num(body[pos][1]) == pytest.approx(100 * v["probability_of_success"], abs=0.051)
    # independent: the no-borrowing column in closed form (N(0, 2^2) prior, se = 2/sqrt(150))
    se = 2 / math.sqrt(EVENTS)
    prec = 1 / 4 + 1 / se**2
    yc = se**2 * (-stats.norm.ppf(0.975) * math.sqrt(prec))
    assert _num(crit[1]) == pytest.approx(math.exp(yc), abs=0.0051)
    assert _num(t1[1]) == pytest.approx(100 * stats.norm.cdf(yc / se), abs=0.051)
    p07 = 100 * stats.norm.cdf((yc - math.log(0.7)) / se)
    assert _num(body["power at HR 0.7"][1]) == pytest.approx(p07, abs=0.051)
    # borrowing from trials that favour the treatment: a larger critical HR, more power
    assert _num(crit[0]) > _num(crit[1]) and _num(body["power at HR 0.7"][0]) > p07


def test_no_plan_no_table(tmp_path):
    page, _, _ = committee.pool_report(tmp_path)
    assert "planned trial with" not in page.read_text()
