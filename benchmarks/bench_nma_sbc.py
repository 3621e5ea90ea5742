"""Simulation-based calibration of the random-effects network meta-analysis (a loop of three
treatments with a three-arm trial; bayesurv.synthesis.calibration): chi-square p-values of rank
uniformity of d[B], d[C] and tau, and a negative control (tau simulated from HalfNormal(2) while
the prior is HalfNormal(0.5)). Run: python benchmarks/bench_nma_sbc.py [--reps 200]
"""

from __future__ import annotations

import argparse
import time

from bayesurv.simulation.calibration import uniformity_pvalue
from bayesurv.synthesis.calibration import sbc_nma

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    draws, chains, thin = 250, 4, 10
    for label, kw in (("calibrated", {}), ("negative control", {"simulated_tau_sd": 2.0})):
        t0 = time.perf_counter()
        ranks = sbc_nma(reps=a.reps, seed=a.seed, draws=draws, chains=chains, thin=thin, **kw)
        p = {k: uniformity_pvalue(v, draws * chains // thin) for k, v in ranks.items()}
        print(
            f"{label:<17s} reps {a.reps}: "
            + ", ".join(f"{k} p = {v:.3g}" for k, v in p.items())
            + f"  ({time.perf_counter() - t0:.0f} s)"
        )
