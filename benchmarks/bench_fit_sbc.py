"""Larger simulation-based calibration of every family (the tests run 40 replications).

Run:  .venv/bin/python benchmarks/bench_fit_sbc.py [--reps 200] [--families weibull,gengamma]

Prints, per family and sampled parameter, the chi-square p-value of rank uniformity over 10
bins, and the seconds taken. Expect p-values spread over (0, 1); values below 0.001 for a
parameter in several seeds point to a wrong likelihood, prior or transform.
"""

from __future__ import annotations

import argparse
import time

from bayesurv.simulation.calibration import SBC_PRIORS, sbc_ranks, uniformity_pvalue


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--families", default=",".join(SBC_PRIORS))
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    for fam in args.families.split(","):
        t0 = time.perf_counter()
        ranks = sbc_ranks(fam, n_rep=args.reps, draws=400, tune=400, thin=4, seed=args.seed)
        secs = time.perf_counter() - t0
        n_max = 2 * 400 // 4
        for name, r in ranks.items():
            p = uniformity_pvalue(r, n_max, bins=10)
            print(f"{fam:12s} {name:12s} reps={len(r):4d}  chi2 p={p:.3f}  ({secs:.0f} s)")


if __name__ == "__main__":
    main()
