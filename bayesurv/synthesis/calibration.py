"""Simulation-based calibration (Talts et al. 2018) of the random-effects network
meta-analysis.

For each replication the parameters are drawn from the priors the model uses
(``d_k ~ N(0, d_sd^2)``, ``tau ~ HalfNormal(tau_sd)``), each study's relative effects from
``N(M d, tau^2 K)`` (correlation 1/2 between the arms of a multi-arm trial) and its reported log
HRs from ``N(delta_i, S_i)`` with the design's standard errors; the NUTS model
(:mod:`~bayesurv.synthesis.nma_model`), compiled once and given each replication's data through
nutpie's ``with_data``, is then sampled, and the rank of each true value among thinned posterior
draws is recorded. A correct likelihood, prior and sampler give uniform ranks. With
``simulated_tau_sd`` the heterogeneity is drawn from a wider half-normal than the model's prior:
a negative control whose tau ranks must fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: a connected design with a loop and a three-arm trial: (study, treatment, comparator, se)
DESIGN = (
    ("ab1", "B", "A", 0.25),
    ("ab2", "B", "A", 0.3),
    ("ab3", "B", "A", 0.35),
    ("ac1", "C", "A", 0.25),
    ("ac2", "C", "A", 0.4),
    ("bc1", "C", "B", 0.3),
    ("bc2", "C", "B", 0.35),
    ("abc", "B", "A", 0.3),
    ("abc", "C", "A", 0.3),
)


def design_table() -> pd.DataFrame:
    t = pd.DataFrame(DESIGN, columns=["study", "treatment", "comparator", "se"])
    t["log_hr"] = 0.0
    t["comparator_se"] = np.where(t["study"] == "abc", 0.2, np.nan)
    return t


def sbc_nma(
    reps: int = 100,
    seed: int = 1,
    d_sd: float = 1.0,
    tau_sd: float = 0.5,
    draws: int = 250,
    chains: int = 4,
    thin: int = 10,
    simulated_tau_sd: float | None = None,
) -> dict[str, np.ndarray]:
    """Ranks (0..draws*chains/thin) of ``d[B]``, ``d[C]`` and ``tau`` over ``reps`` simulated
    networks of :data:`DESIGN`."""
    import warnings

    from bayesurv.sampling import compile_model, sample
    from bayesurv.synthesis.network import read_network
    from bayesurv.synthesis.nma_model import build_data, build_model, multi_arm_correlation
    from bayesurv.synthesis.priors import parse_prior

    net = read_network(design_table(), reference="A")
    data = build_data(net)
    d_prior = parse_prior(f"normal(0, {d_sd:g})", "mu")
    tau_prior = parse_prior(f"halfnormal({tau_sd:g})", "tau")
    model = build_model(
        data, "random", [d_prior] * len(data.names), tau_prior, parse_prior("normal(0, 10)", "mu")
    )
    compiled = compile_model(model)
    rng = np.random.default_rng(seed)
    ranks: dict[str, list[int]] = {"d[B]": [], "d[C]": [], "tau": []}
    for r in range(reps):
        d = rng.normal(0.0, d_sd, len(data.names))
        tau = abs(rng.normal(0.0, simulated_tau_sd or tau_sd))
        mean = data.M @ d
        new = {}
        for b in data.blocks:
            K, S = multi_arm_correlation(b.m), b.S
            delta = mean[b.rows] + tau * rng.standard_normal(b.rows.shape) @ np.linalg.cholesky(K).T
            y = delta + np.einsum(
                "bij,bj->bi", np.linalg.cholesky(S), rng.standard_normal(b.rows.shape)
            )
            new[f"contrasts_{b.m}"] = y[:, 0] if b.m == 1 else y
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = sample(
                compiled.with_data(**new),
                seed=seed * 1000 + r,
                draws=draws,
                chains=chains,
                tune=draws,
                target_accept=0.95,
            )
        post = idata["posterior"]
        theta = post["theta"].values.reshape(-1, len(data.names))[::thin]
        taus = post["tau"].values.ravel()[::thin]
        ranks["d[B]"].append(int(np.sum(theta[:, 0] < d[0])))
        ranks["d[C]"].append(int(np.sum(theta[:, 1] < d[1])))
        ranks["tau"].append(int(np.sum(taus < tau)))
    return {k: np.asarray(v) for k, v in ranks.items()}
