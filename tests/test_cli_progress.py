"""Every long step shows a progress bar with ETA (issue 14 item 5): the NUTS draws of one fit
and of a sampled pool get a rich bar on standard error, fed by nutpie's progress callback, on a
terminal only (a pipe, a log file and these tests' CliRunner see nothing unless the console is
made a terminal, as here)."""

import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import nutpie
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from bayesurv.progress import sampling_progress

ROOT = Path(__file__).resolve().parent.parent


def terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=120), buf


def test_the_bar_follows_nutpies_callback_and_is_put_back(monkeypatch):
    """A stand-in for nutpie.sample reports 2 chains' progress three times: the bar's total is
    the chains' total_draws (2 x 150), its count their finished draws, with an ETA; afterwards
    nutpie.sample is what it was, also where the bar is off."""
    seen = []

    def fake(model, *, draws, tune, chains, progress_callback=None, **_):
        for done in (30, 90, 150):
            progress_callback([SimpleNamespace(finished_draws=done, total_draws=150)] * chains)
            seen.append(done)
        return "trace"

    monkeypatch.setattr(nutpie, "sample", fake)
    console, buf = terminal()
    with sampling_progress("sampling x", enabled=True, console=console) as bar:
        assert nutpie.sample is not fake
        assert nutpie.sample(None, draws=100, tune=50, chains=2) == "trace"
        (task,) = bar.tasks
        assert (task.total, task.completed) == (300, 300)
    assert nutpie.sample is fake and seen == [30, 90, 150]
    text = buf.getvalue()
    assert "sampling x" in text and "300/300" in text and "ETA" in text
    with sampling_progress("quiet", enabled=False):
        assert nutpie.sample is fake  # not a terminal: nothing wrapped, nothing shown
    with pytest.raises(RuntimeError), sampling_progress("x", enabled=True, console=console):
        raise RuntimeError
    assert nutpie.sample is fake


@pytest.mark.mcmc
@pytest.mark.filterwarnings("ignore::bayesurv.sampling.ConvergenceWarning")
def test_fit_and_mcmc_pool_show_the_draws_bar(tmp_path, monkeypatch):
    """Real NUTS: ``fit`` (one family) and ``pool --method mcmc`` draw a bar whose total is
    chains x (warm-up + draws) as nutpie counts them (4 x 400 for the fit, 4 x 2,000 for the
    pool's defaults), ending full; the pool's answer is the exact posterior's within MCMC
    error (its P(HR < 1) from quadrature)."""
    import bayesurv.cli.common as common
    from bayesurv.cli import app
    from bayesurv.synthesis.pool import pool

    console, buf = terminal()
    monkeypatch.setattr(common, "stderr_console", lambda: console)
    rng = np.random.default_rng(2)
    t, c = rng.weibull(1.3, 120) * 2, rng.uniform(1, 5, 120)
    ipd = tmp_path / "ipd.csv"
    pd.DataFrame({"time": np.minimum(t, c).round(3), "event": (t <= c).astype(int)}).to_csv(
        ipd, index=False
    )
    runner = CliRunner()
    r = runner.invoke(
        app,
        ["fit", str(ipd), "--family", "weibull", "--json", str(tmp_path / "fit.json")]
        + ["--draws", "200", "--tune", "200", "--seed", "3"],
    )
    assert r.exit_code == 0, r.output
    text = buf.getvalue()
    assert "sampling weibull" in text and "1600/1600" in text and "ETA" in text
    effects = ROOT / "data" / "effects_blinatumomab.csv"
    out = tmp_path / "pool.json"
    r = runner.invoke(
        app,
        ["pool", str(effects), "--where", "set=pediatric", "--where", "outcome=event-free"]
        + ["--method", "mcmc", "--json", str(out), "--sensitivity", "none"],
    )
    assert r.exit_code == 0, r.output
    text = buf.getvalue()
    assert "sampling the pooled model" in text and "8000/8000" in text
    from bayesurv.evidence.effects import read_effects

    eff = read_effects(effects, {"set": "pediatric", "outcome": "event-free"})
    exact = pool(eff).prob_hr_below(1.0)
    got = json.loads(out.read_text())["probabilities"]["pooled_hr_lt_1"]
    assert got == pytest.approx(exact, abs=0.02)
