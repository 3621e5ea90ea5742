"""``bayesurv nma`` shows a bar over its NUTS draws (issue leftovers, item 3), as ``fit`` and
``pool --method mcmc`` do (:func:`bayesurv.progress.sampling_progress`): on a terminal only,
fed by nutpie's progress callback; in a pipe nothing is wrapped or shown."""

import io
import json
import math
from types import SimpleNamespace

import nutpie
import pytest
from rich.console import Console
from scipy import stats
from typer.testing import CliRunner

from bayesurv.cli import app

STAR = "study,treatment,comparator,log_hr,se\na,x,c,-0.2,0.1\nb,y,c,-0.1,0.2\n"


def terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=120), buf


def test_nma_wraps_its_sampling_in_the_bar_on_a_terminal_only(tmp_path, monkeypatch):
    """No MCMC: the network fit is the exact one, preceded by a stand-in nutpie.sample that
    reports 2 chains x 150 draws through the callback the bar passes (300/300 with ETA). Not on
    a terminal, nutpie.sample is left as it is and nothing is drawn."""
    import importlib

    import bayesurv.cli.common as common

    N = importlib.import_module("bayesurv.synthesis.nma")  # bayesurv.synthesis.nma: a function
    calls = []

    def fake(model, *, draws, tune, chains, progress_callback=None, **_):
        calls.append(progress_callback)
        if progress_callback is not None:
            for done in (50, 150):
                progress_callback([SimpleNamespace(finished_draws=done, total_draws=150)] * chains)
        return None

    monkeypatch.setattr(nutpie, "sample", fake)
    real = N.nma_file

    def fit(*args, **kw):
        nutpie.sample(None, draws=100, tune=50, chains=2)  # what a sampled fit does inside
        return real(*args, **kw)

    monkeypatch.setattr(N, "nma_file", fit)
    data = tmp_path / "net.csv"
    data.write_text(STAR)
    console, buf = terminal()
    monkeypatch.setattr(common, "stderr_console", lambda: console)
    args = ["nma", str(data), "--reference", "c", "--effects", "fixed", "--no-consistency"]
    r = CliRunner().invoke(app, [*args, "--json", str(tmp_path / "a.json")])
    assert r.exit_code == 0, r.output
    assert calls and calls[-1] is not None  # the bar's callback reached nutpie
    text = buf.getvalue()
    assert "sampling the network model" in text and "300/300" in text and "ETA" in text
    assert nutpie.sample is fake  # put back
    quiet = io.StringIO()
    monkeypatch.setattr(common, "stderr_console", lambda: Console(file=quiet))  # not a terminal
    r = CliRunner().invoke(app, [*args, "--json", str(tmp_path / "b.json")])
    assert r.exit_code == 0, r.output
    assert calls[-1] is None and quiet.getvalue() == ""


@pytest.mark.mcmc
@pytest.mark.filterwarnings("ignore::bayesurv.sampling.ConvergenceWarning")
def test_nma_mcmc_shows_the_draws_bar_and_the_conjugate_answer(tmp_path, monkeypatch):
    """Real NUTS on the fixed-effect star network: the bar counts 4 chains x (1,000 warm-up +
    200 draws) = 4800 as nutpie counts them and ends full; HR(x vs c)'s median is the conjugate
    normal posterior's (d ~ N(0, 4^2): precision 1/0.1^2 + 1/16) within Monte Carlo error."""
    import bayesurv.cli.common as common

    console, buf = terminal()
    monkeypatch.setattr(common, "stderr_console", lambda: console)
    data = tmp_path / "net.csv"
    data.write_text(STAR)
    out = tmp_path / "nma.json"
    r = CliRunner().invoke(
        app,
        ["nma", str(data), "--reference", "c", "--effects", "fixed", "--method", "mcmc"]
        + ["--no-consistency", "--draws", "200", "--json", str(out)],
    )
    assert r.exit_code == 0, r.output
    text = buf.getvalue()
    assert "sampling the network model" in text and "4800/4800" in text
    prec = 1 / 0.1**2 + 1 / 16
    m, sd = -0.2 / 0.1**2 / prec, 1 / math.sqrt(prec)
    doc = json.loads(out.read_text())
    hr = next(e for e in doc["relative_effects"] if (e["treatment"], e["vs"]) == ("x", "c"))["hr"]
    # median of 800 draws: MCSE about 1.25 sd / sqrt(ESS >= 200); 4 of them
    assert math.log(hr["median"]) == pytest.approx(m, abs=4 * 1.25 * sd / math.sqrt(200))
    assert math.log(hr["upper"]) == pytest.approx(m + stats.norm.ppf(0.975) * sd, abs=0.6 * sd)
