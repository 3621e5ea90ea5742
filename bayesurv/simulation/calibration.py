"""Simulation-based calibration (Talts et al. 2018) of the survival models.

Draw parameters from the prior, simulate censored IPD, fit, and record the rank of each true
parameter among the posterior draws. If the model and the sampler are right, the ranks are
uniform. Priors here are fixed numbers (:data:`SBC_PRIORS`, not the data-scaled defaults) and
the time reference is 1 (``log t_ref = 0``), so that the prior does not depend on the simulated
data. Every replication re-uses one compiled model (:func:`bayesurv.survival.builder.compiled`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.stats as st

from bayesurv.survival.families import NP, get_family

#: fixed priors (Normal mu, sigma) on the sampled parameters, times of order 1
SBC_PRIORS = {
    "exponential": {"log_median": (0.0, 0.5)},
    "weibull": {"log_median": (0.0, 0.5), "log_shape": (0.0, 0.3)},
    "gompertz": {"log_rate": (float(np.log(np.log(2))), 0.5), "shape_tref": (0.0, 0.5)},
    "lognormal": {"log_median": (0.0, 0.5), "log_sdlog": (0.0, 0.3)},
    "loglogistic": {"log_median": (0.0, 0.5), "log_shape": (0.3, 0.3)},
    "gengamma": {"mu": (0.0, 0.5), "log_sigma": (-0.3, 0.3), "Q": (0.0, 0.5)},
}
#: fixed priors for the cure-model SBC: a Weibull for the uncured (years), the cure fraction
SBC_CURE_PRIORS = {"log_median": (0.0, 0.4), "log_shape": (0.2, 0.25), "cure_logit": (0.0, 0.8)}


def _ranks(spec, ipd, raw, pri, population, seed, thin, fit: dict) -> dict:
    """The rank of each true parameter among one replication's posterior draws, thinned
    (``fit``: nutpie's draws, tune and chains)."""
    import nutpie

    from bayesurv.survival.builder import compiled
    from bayesurv.survival.data import prepare

    spec, d, _ = prepare(spec, ipd, population=population)
    d["log_t_ref"] = np.asarray(0.0)  # the fixed time reference of SBC_PRIORS
    tr = nutpie.sample(
        compiled(spec, d), **fit, seed=seed, progress_bar=False, adaptation="low_rank"
    )
    return {k: int(np.sum(tr["posterior"][k].values[:, ::thin].ravel() < raw[k])) for k in pri}


def sbc_ranks(
    family: str,
    *,
    n_rep: int = 40,
    n_patients: int = 80,
    draws: int = 200,
    tune: int = 200,
    chains: int = 2,
    thin: int = 2,
    seed: int = 0,
    time_scale: float = 1.0,
) -> dict[str, np.ndarray]:
    """Ranks (0..draws*chains/thin) of each true sampled parameter over ``n_rep`` replications.

    ``time_scale`` != 1 simulates from a deliberately wrong model (times stretched), as a
    negative control: the ranks must then fail the uniformity test.
    """
    from bayesurv.survival.structure import ModelSpec

    rng = np.random.default_rng(seed)
    fit = {"draws": draws, "tune": tune, "chains": chains}
    pri = SBC_PRIORS[family]
    spec = ModelSpec(family, priors={k: f"normal({m}, {s})" for k, (m, s) in pri.items()})
    fam = get_family(family)
    ranks = {k: [] for k in pri}
    for rep in range(n_rep):
        raw = {k: rng.normal(m, s) for k, (m, s) in pri.items()}
        t = fam.rvs(rng, n_patients, **fam.natural(NP, raw, 0.0)) * time_scale
        c = rng.uniform(0.3, 4.0, n_patients)  # censoring; median time is about 1
        event = (t <= c).astype(float)
        if event.sum() == 0:
            event[np.argmin(t)] = 1.0  # pragma: no cover - vanishingly rare
        ipd = pd.DataFrame({"time": np.minimum(t, c), "event": event})
        for k, r in _ranks(spec, ipd, raw, pri, None, int(seed) * 100_003 + rep, thin, fit).items():
            ranks[k].append(r)
    return {k: np.asarray(v) for k, v in ranks.items()}


def uniformity_pvalue(ranks: np.ndarray, n_max: int, bins: int = 5) -> float:
    """Chi-square test p-value that ranks in 0..n_max are uniform (``bins`` equal bins)."""
    edges = np.linspace(0, n_max + 1, bins + 1)
    counts, _ = np.histogram(ranks, bins=edges)
    return float(st.chisquare(counts).pvalue)


def sbc_ranks_cure(
    cure: str = "mixture",
    *,
    background: bool = True,
    n_rep: int = 30,
    n_patients: int = 200,
    draws: int = 200,
    tune: int = 300,
    chains: int = 2,
    thin: int = 2,
    seed: int = 0,
    fit_background: bool | None = None,
) -> dict[str, np.ndarray]:
    """SBC ranks of a Weibull cure model, optionally with US 2014 general-population mortality
    for patients aged 50-70 (women), data simulated by
    :func:`bayesurv.simulation.simulate.simulate_cure` (5-year follow-up after a 3-year accrual),
    fixed priors :data:`SBC_CURE_PRIORS`. ``fit_background=False`` with ``background=True`` fits
    a model that ignores the simulated background deaths: a negative control whose ranks must
    fail."""
    from bayesurv.lifetable import us_life_table
    from bayesurv.simulation.simulate import simulate_cure
    from bayesurv.survival.population import Population
    from bayesurv.survival.structure import ModelSpec

    rng = np.random.default_rng(seed)
    fit = {"draws": draws, "tune": tune, "chains": chains}
    table = us_life_table(2014) if background else None
    fit_bg = background if fit_background is None else fit_background
    pop = (
        Population(table or us_life_table(2014), age_column="age", male="female")
        if fit_bg
        else None
    )
    priors = {k: f"normal({m}, {s})" for k, (m, s) in SBC_CURE_PRIORS.items()}
    spec = ModelSpec("weibull", cure=cure, priors=priors, time_unit="years")
    ranks = {k: [] for k in SBC_CURE_PRIORS}
    for rep in range(n_rep):
        raw = {k: rng.normal(m, s) for k, (m, s) in SBC_CURE_PRIORS.items()}
        shape = float(np.exp(raw["log_shape"]))
        scale = float(np.exp(raw["log_median"] - np.log(np.log(2)) / shape))
        sim = simulate_cure(
            n_patients,
            cure_fraction=float(1 / (1 + np.exp(-raw["cure_logit"]))),
            family="weibull",
            params={"shape": shape, "scale": scale},
            cure=cure,
            life_table=table,
            ages=rng.uniform(50, 70, n_patients),
            sexes="female",
            follow_up=8.0,
            accrual=3.0,
            seed=rng.integers(2**31),
        )
        if sim.data["event"].sum() == 0:  # pragma: no cover - vanishingly rare
            continue
        rep_seed = int(seed) * 100_003 + rep
        for k, r in _ranks(spec, sim.data, raw, SBC_CURE_PRIORS, pop, rep_seed, thin, fit).items():
            ranks[k].append(r)
    return {k: np.asarray(v) for k, v in ranks.items()}
