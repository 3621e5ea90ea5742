"""One chain (``--chains 1``, ``[sampling] chains = 1``): R-hat is null with the note
(:data:`bayesurv.report_format.RHAT_NOTE`), never NaN or "R-hat is nan" and never numpy's
"All-NaN slice" warning; the ESS and divergence checks still speak, with ArviZ's numbers."""

import json
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pytest
import xarray as xr

from bayesurv.report_format import RHAT_NOTE
from bayesurv.sampling import check, diagnostics


def _tree(chains: int, draws: int, rho: float, seed: int = 2) -> xr.DataTree:
    """AR(1) draws (autocorrelation ``rho``, so ESS well below ``draws``), one divergence."""
    rng = np.random.default_rng(seed)
    x = np.zeros((chains, draws))
    for i in range(1, draws):
        x[:, i] = rho * x[:, i - 1] + rng.standard_normal(chains)
    div = np.zeros((chains, draws), bool)
    div[0, 5] = True
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"x": (("chain", "draw"), x)}),
            "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), div)}),
        }
    )


def test_one_chain_has_a_null_rhat_with_the_note_and_keeps_the_other_checks():
    tree = _tree(1, 500, 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "All-NaN slice" RuntimeWarning would raise
        d = diagnostics(tree)
    post = tree["posterior"].to_dataset()
    ess = float(az.ess(post, method="bulk")["x"])  # ArviZ on the same chain
    assert ess < 400  # rho = 0.9: about 500 (1 - 0.9) / (1 + 0.9) = 26
    assert d.ess_bulk_min == pytest.approx(ess, rel=1e-12)
    assert d.ess_tail_min == pytest.approx(float(az.ess(post, method="tail")["x"]), rel=1e-12)
    assert not any("R-hat" in p for p in d.problems)
    assert d.problems == [
        f"bulk ESS is {ess:.0f} (should be >= 400)",
        f"tail ESS is {d.ess_tail_min:.0f} (should be >= 400)",
        "1 divergent transitions",
    ]
    js = d.as_dict()
    assert js["rhat_max"] is None and js["rhat_note"] == RHAT_NOTE
    assert js["chains"] == 1 and js["draws"] == 500 and js["divergences"] == 1
    json.dumps(js, allow_nan=False)  # strict JSON
    with pytest.warns(UserWarning) as rec:
        check(d, "the toy fit")
    assert "R-hat" not in str(rec[0].message) and "bulk ESS is" in str(rec[0].message)


def test_two_chains_still_report_rhat_and_no_note():
    tree = _tree(2, 500, 0.3)
    d = diagnostics(tree)
    want = float(az.rhat(tree["posterior"].to_dataset())["x"])
    assert d.rhat_max == pytest.approx(want, rel=1e-12)
    js = d.as_dict()
    assert js["rhat_max"] == pytest.approx(want, rel=1e-12) and "rhat_note" not in js


@pytest.mark.filterwarnings("ignore::bayesurv.survival.fit.IdentifiabilityWarning")
def test_a_one_chain_run_says_no_rhat_nan(tmp_path, monkeypatch):
    """No MCMC (known draws, tests/known_draws.py). ``bayesurv run`` with ``chains = 1``: no
    "R-hat is nan" on the terminal or in summary.json's warnings, the IPD fit's diagnostics
    hold rhat_max null with the note, and the ESS warning (100 draws < 400) is still there."""
    from known_draws import one_chain_ipd_run

    r, out = one_chain_ipd_run(tmp_path, monkeypatch)
    assert r.exit_code == 0, r.output
    assert "R-hat is nan" not in r.output and "nan" not in r.output.lower().split()
    text = Path(out / "summary.json").read_text()
    assert "R-hat is nan" not in text and "NaN" not in text
    s = json.loads(text)
    d = s["ipd"]["g"]["models"]["exponential"]["diagnostics"]
    assert d["chains"] == 1 and d["rhat_max"] is None and d["rhat_note"] == RHAT_NOTE
    assert not any("R-hat" in p for p in d["problems"])
    assert any("bulk ESS is" in w for w in s["warnings"])
    assert RHAT_NOTE in s["warnings"]
