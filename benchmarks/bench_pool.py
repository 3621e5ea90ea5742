"""Speed and accuracy of the pooled model: exact quadrature vs MCMC (nutpie), on dat.bcg and the
edge cases of tests/test_synthesis_mcmc.py. Run: python benchmarks/bench_pool.py [--seed S]

Prints, per case, the exact solve time, the MCMC time (compile + sample), divergences, and the
largest |MCMC - exact| over mean and median of mu, tau, theta_new and every theta_i, in units of
the exact posterior sd.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_synthesis_mcmc import CASES  # noqa: E402

from bayesurv.synthesis.pool import pool  # noqa: E402


def main(seed: int) -> None:
    print(f"{'case':<14}{'exact s':>9}{'mcmc s':>9}{'div':>5}{'param':>12}{'max dev/sd':>12}")
    for name, (y, s, tau_prior, param) in CASES.items():
        y, s = np.asarray(y, float), np.asarray(s, float)
        labels = [f"study {i + 1}" for i in range(y.size)]
        t0 = time.perf_counter()
        ex = pool((y, s, labels), "normal(0, 4)", tau_prior)
        ex.summary()
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mc = pool(
                (y, s, labels),
                "normal(0, 4)",
                tau_prior,
                method="mcmc",
                seed=seed,
                draws=2000,
                parameterization=param,
            )
        t2 = time.perf_counter()
        worst = max(
            max(
                abs(ex.dist(q).mean - mc.dist(q).mean),
                abs(ex.dist(q).median() - mc.dist(q).median()),
            )
            / ex.dist(q).sd
            for q in ["pooled", "predictive", "tau", *labels]
        )
        print(
            f"{name:<14}{t1 - t0:>9.3f}{t2 - t1:>9.1f}{mc.diagnostics['divergences']:>5}"
            f"{mc.diagnostics['parameterization']:>12}{worst:>12.3f}"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20240215)
    main(ap.parse_args().seed)
