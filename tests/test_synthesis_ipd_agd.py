"""One-stage IPD + aggregate-data synthesis: PWE counts, agreement with Cox (lifelines) and with
the two-stage exact pool, recovery of simulated effects."""

import numpy as np
import pandas as pd
import pytest

from bayesurv.errors import InputError
from bayesurv.sampling import diagnostics, sample
from bayesurv.synthesis.ipd_agd import build_ipd_agd_model, pool_ipd_agd, pwe_counts
from bayesurv.synthesis.pool import pool


def simulate(rng, n, log_hr, shape=1.3, scale=20.0, censor=40.0):
    """Weibull proportional hazards, H(t | arm) = (t / scale)^shape * exp(log_hr * arm), with
    uniform censoring on (0, censor)."""
    arm = rng.integers(0, 2, n)
    t = scale * (-np.log(rng.uniform(size=n)) / np.exp(log_hr * arm)) ** (1 / shape)
    c = rng.uniform(0, censor, n)
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int), "arm": arm})


def test_pwe_counts_are_events_and_exposure():
    df = simulate(np.random.default_rng(0), 500, -0.4)
    D, E, cuts = pwe_counts(df["time"], df["event"], df["arm"], n_intervals=8)
    assert D.shape == E.shape == (2, 8)
    for a in (0, 1):
        sub = df[df["arm"] == a]
        assert D[a].sum() == sub["event"].sum()
        assert E[a].sum() == pytest.approx(sub["time"].sum())
    # equal numbers of events per interval (quantile cuts), up to ties
    assert D.sum(0).min() >= D.sum() / 8 - 2


def test_bad_ipd_is_refused():
    with pytest.raises(InputError, match="column 'arm'"):
        build_ipd_agd_model({"T": pd.DataFrame({"time": [1.0], "event": [1]})}, None)
    agd = pd.DataFrame({"study": ["T"], "log_hr": [-0.2], "se": [0.2]})
    df = simulate(np.random.default_rng(0), 50, 0.0)
    with pytest.raises(InputError, match="both as IPD and as a reported HR"):
        build_ipd_agd_model({"T": df}, agd)


def _cox(df):
    from lifelines import CoxPHFitter

    f = CoxPHFitter().fit(df, "time", "event")
    return float(f.params_["arm"]), float(f.standard_errors_["arm"])


@pytest.mark.slow
def test_ipd_only_matches_lifelines_cox():
    df = simulate(np.random.default_rng(1), 400, -0.5)
    beta, se = _cox(df)  # lifelines CoxPHFitter (Efron ties; continuous times so no ties)
    m = build_ipd_agd_model({"T1": df}, None, n_intervals=10, pooling="none")
    idata = sample(m, seed=1, draws=1000, tune=1000, target_accept=0.95)
    assert diagnostics(idata, ["theta"]).divergences == 0
    th = idata["posterior"]["theta"].sel(study="T1").values.ravel()
    assert abs(th.mean() - beta) < 0.1 * th.std()
    assert th.std() == pytest.approx(se, rel=0.1)


@pytest.mark.slow
def test_one_stage_recovers_simulated_effects_and_matches_two_stage():
    rng = np.random.default_rng(2024)
    truth = {"T1": -0.5, "T2": -0.3, "T3": -0.7}
    ipd = {k: simulate(rng, 1200, v) for k, v in truth.items()}
    # each trial alone (no pooling): its true log HR lies within 3 posterior sd
    m = build_ipd_agd_model(ipd, None, n_intervals=10, pooling="none")
    idata = sample(m, seed=2, draws=1000, tune=1000, target_accept=0.95)
    for k, v in truth.items():
        th = idata["posterior"]["theta"].sel(study=k).values.ravel()
        assert abs(th.mean() - v) < 3 * th.std(), k
    # hierarchical one-stage with two reported HRs vs the exact two-stage pool of Cox estimates
    agd = pd.DataFrame({"study": ["A1", "A2"], "log_hr": [-0.45, -0.2], "se": [0.2, 0.25]})
    cox = {k: _cox(d) for k, d in ipd.items()}
    two = pd.concat(
        [
            pd.DataFrame(
                {
                    "study": list(cox),
                    "log_hr": [c[0] for c in cox.values()],
                    "se": [c[1] for c in cox.values()],
                }
            ),
            agd,
        ]
    )
    exact = pool(two, "normal(0, 4)", "halfnormal(0.5)")
    res = pool_ipd_agd(ipd, agd, "normal(0, 4)", "halfnormal(0.5)", seed=3, draws=2000)
    assert res.diagnostics["divergences"] == 0 and res.diagnostics["rhat_max"] <= 1.01
    summary = res.summary()
    assert summary["studies"][0]["observed"] is None  # IPD trial: no single reported estimate
    assert summary["studies"][3]["observed"]["log_hr"] == -0.45
    post = res.idata["posterior"]
    pairs = [("mu", post["mu"], exact.mu), ("tau", post["tau"], exact.tau)]
    pairs += [(k, post["theta"].sel(study=k), exact.dist(k)) for k in [*truth, "A1", "A2"]]
    for name, draws, ref in pairs:
        # PWE vs Cox partial likelihood and normal approximation of the Cox estimate: 0.15 sd
        assert abs(float(draws.mean()) - ref.mean) < 0.15 * ref.sd, name
