"""Speed of network meta-analysis and exact meta-regression (issue 15's targets: a 20-study,
6-treatment random-effects NMA in under 30 s on 2 cores; the exact meta-regression under 1 s).

Run: python benchmarks/bench_nma.py [--seed S] [--draws 1000]

A network of 20 trials (17 two-arm, 3 three-arm) of 6 treatments is simulated with known log
hazard ratios and tau = 0.2: once as arm counts with follow-up (binomial, cloglog link: NUTS) and
once as the contrasts those counts give (log HR with se: exact, and NUTS). Every case is timed
end to end (reading the table, building, compiling, sampling 4 chains, summaries with DIC and
LOO); the MCMC cases also split compile from sampling. Baselines measured in the same run, so
that the ratios hold on a loaded machine: the MCMC pool (``pool(method="mcmc")``, normal-normal,
nutpie, same draws) of 20 trials for the NMA, and the exact pool of the same 20 trials for the
exact solvers. The load average is printed before and after: other jobs share the 2 cores.
Output also goes to benchmarks/output/bench_nma.txt.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

TREATMENTS = ["A", "B", "C", "D", "E", "F"]
TRUE_D = np.array([0.0, -0.2, -0.35, -0.1, -0.5, 0.15])  # log HR vs A


def simulate(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Arm counts and contrasts of one simulated network (20 trials, 3 of them three-arm)."""
    rng = np.random.default_rng(seed)
    arms, contrasts = [], []
    designs = [tuple(rng.choice(6, 2, replace=False)) for _ in range(17)]
    designs += [(0, 1, 4), (0, 2, 3), (1, 4, 5)]
    for i, dsg in enumerate(designs):
        dsg = sorted(dsg)
        mu = np.log(0.25)  # baseline cumulative hazard per year on the log scale
        time_ = float(rng.uniform(1.5, 4.0))
        delta = TRUE_D[list(dsg)] - TRUE_D[dsg[0]]
        delta[1:] += 0.2 * rng.standard_normal(len(dsg) - 1)
        n = rng.integers(150, 400, len(dsg))
        p = 1 - np.exp(-np.exp(mu + np.log(time_) + delta))
        r = rng.binomial(n, p)
        for t, rr, nn in zip(dsg, r, n, strict=True):
            arms.append(
                {
                    "study": f"s{i}",
                    "treatment": TREATMENTS[t],
                    "events": int(rr),
                    "n": int(nn),
                    "time": time_,
                }
            )
        # contrasts of the same counts: log HR of cloglog risks, se by the delta method
        cl = np.log(-np.log1p(-r / n))
        v = (r / n) / (n * (1 - r / n) * np.log1p(-r / n) ** 2)
        for k in range(1, len(dsg)):
            contrasts.append(
                {
                    "study": f"s{i}",
                    "treatment": TREATMENTS[dsg[k]],
                    "comparator": TREATMENTS[dsg[0]],
                    "log_hr": cl[k] - cl[0],
                    "se": float(np.sqrt(v[k] + v[0])),
                    "comparator_se": float(np.sqrt(v[0])) if len(dsg) > 2 else np.nan,
                }
            )
    return pd.DataFrame(arms), pd.DataFrame(contrasts)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(seed: int, draws: int) -> str:
    from bayesurv.sampling import compile_model, sample
    from bayesurv.synthesis.metaregression import metaregression
    from bayesurv.synthesis.network import read_network
    from bayesurv.synthesis.nma import _priors, _theta_priors, nma
    from bayesurv.synthesis.nma_model import build_data, build_model
    from bayesurv.synthesis.pool import pool

    lines = [f"load average before: {os.getloadavg()}  (2 cores shared with other jobs)"]
    arms, con = simulate(seed)
    y = con.groupby("study").head(1)
    labels = y["study"].tolist()
    warnings.simplefilter("ignore")
    # baselines
    _, t_pool_mcmc = timed(
        lambda: pool((y["log_hr"], y["se"], labels), method="mcmc", seed=seed, draws=draws)
    )
    _, t_pool_exact = timed(lambda: pool((y["log_hr"], y["se"], labels)).summary())
    lines.append(
        f"baseline: MCMC pool of 20 trials {t_pool_mcmc:.1f} s; exact pool {t_pool_exact:.3f} s"
    )

    def run_nma(data, method):
        r = nma(data, reference="A", effects="random", method=method, seed=seed, draws=draws)
        return r, r.summary()

    rows = []
    for label, data, method in (
        ("arm counts, cloglog (NUTS)", arms, "mcmc"),
        ("contrasts (exact)", con, "exact"),
        ("contrasts (NUTS)", con, "mcmc"),
    ):
        (r, doc), t = timed(lambda d=data, m=method: run_nma(d, m))
        base = t_pool_mcmc if method == "mcmc" else t_pool_exact
        est = {
            row["treatment"]: row["log_hr"]["median"]
            for row in doc["relative_effects"]
            if row["vs"] == "A"
        }
        err = max(abs(est[t_] - TRUE_D[k + 1]) for k, t_ in enumerate(TREATMENTS[1:]))
        rows.append(
            f"{label:<28s} {t:7.1f} s  ({t / base:5.1f} x baseline)  "
            f"divergences {r.diagnostics.get('divergences', '-')}, "
            f"max |median - true log HR| {err:.3f}"
        )
    lines += ["20-trial, 6-treatment random-effects NMA, end to end:", *rows]
    # compile vs sampling of the arm-count model
    net = read_network(arms, reference="A")
    nd = build_data(net)
    pr = _priors(nd, None, None, None, None)
    model, t_build = timed(
        lambda: build_model(nd, "random", _theta_priors(nd, pr), pr["tau"], pr["baseline"])
    )
    compiled, t_comp = timed(lambda: compile_model(model))
    _, t_samp = timed(
        lambda: sample(compiled, seed=seed, draws=draws, tune=draws, chains=4, target_accept=0.95)
    )
    lines.append(
        f"arm-count model: build {t_build:.2f} s, compile {t_comp:.1f} s, sample "
        f"4 x {draws} (+{draws} tuning) {t_samp:.1f} s"
    )
    # exact meta-regression
    rng = np.random.default_rng(seed)
    for k in (20, 200):
        x = rng.uniform(20, 60, k)
        g = rng.choice(["a", "b", "c"], k)
        se = rng.uniform(0.1, 0.4, k)
        eff = pd.DataFrame(
            {
                "study": [f"t{i}" for i in range(k)],
                "se": se,
                "x": x,
                "g": g,
                "log_hr": -0.3
                - 0.01 * (x - 40)
                + 0.2 * (g == "b")
                + rng.normal(0, np.sqrt(se**2 + 0.04)),
            }
        )
        _, t_mr = timed(lambda e=eff: metaregression(e, ["x", "g"]).summary())
        _, t_p = timed(lambda e=eff: pool((e["log_hr"], e["se"], list(e["study"]))).summary())
        lines.append(
            f"exact meta-regression, {k} trials, 2 covariates (4 coefficients): "
            f"{t_mr:.3f} s ({t_mr / t_p:.1f} x the exact pool of the same trials, "
            f"{t_p:.3f} s)"
        )
    lines.append(f"load average after: {os.getloadavg()}")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args()
    text = main(args.seed, args.draws)
    print(text)
    out = Path(__file__).resolve().parent / "output"
    out.mkdir(exist_ok=True)
    (out / "bench_nma.txt").write_text(text + "\n")
