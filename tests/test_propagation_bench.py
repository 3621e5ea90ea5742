"""``benchmarks/bench_propagation.py --methods``: the oracle alone is the same fit of the same
simulated trial as in the full replicate, and bad options end in one sentence (exit code 2)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.special import gamma, gammainc

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_propagation", ROOT / "benchmarks" / "bench_propagation.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_oracle_alone_equals_the_full_replicates_oracle():
    bp = _bench()
    kw = {"rep": 3, "design": "coarse", "draws": 2, "fit": "laplace", "fit_seed_base": 2026}
    full = bp.replicate(**kw, seed=11)
    alone = bp.replicate(**kw, seed=11, methods=("oracle",))
    assert set(alone) == {"rep", "design", "oracle"}
    assert set(full) == {"rep", "design", "oracle", "single", "pooled"}
    assert alone["oracle"] == full["oracle"]
    table = bp.coverage_table(
        [alone, bp.replicate(**{**kw, "rep": 4}, seed=12, methods=("oracle",))]
    )
    assert set(table["method"]) == {"oracle"} and (table["R"] == 2).all()
    assert "width_ratio_pooled_single" not in table


def test_rmst_truth_is_the_closed_form():
    """RMST of a Weibull to tau: (s / k) gamma_lower(1/k, (tau/s)^k), against the benchmark's
    quadrature; the hazard ratio of its two Weibull arms."""
    bp = _bench()
    k, tau = bp.SHAPE, bp.TAU
    closed = [s / k * gamma(1 / k) * gammainc(1 / k, (tau / s) ** k) for s in bp.scales()]
    t = bp.truth()
    np.testing.assert_allclose([t["rmst[control]"], t["rmst[treated]"]], closed, rtol=1e-9)
    # the arms are PH with the true HR: h1 / h0 = (s0 / s1)^k at every time
    s0, s1 = bp.scales()
    assert (s0 / s1) ** k == pytest.approx(t["hr"], rel=1e-12)


def test_unknown_method_is_one_sentence_and_exit_2(capsys):
    bp = _bench()
    assert bp.main(["--methods", "oracle,exact", "--csv", ""]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "choose methods from oracle, single, pooled" in err
