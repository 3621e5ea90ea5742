"""The network meta-analysis model in PyMC, and its NumPy twin for fitted values, deviance and
the pointwise log likelihood.

Relative effects (stacked over the non-baseline arms of every study,
:meth:`Network.arm_table_for`)::

    delta = M theta                                      fixed effects
    delta = M theta + tau L z,  z ~ N(0, I)             random effects, L L' = blockdiag(K_i)

with ``K_i`` 1 on the diagonal and 1/2 between the arms of one multi-arm trial. Likelihoods:

* contrasts of study i (log HRs against its comparator, covariance ``S_i``): marginally over the
  study's random effects ``y_i ~ N(M_i theta, S_i + tau^2 K_i)`` (exact; no funnel for precise
  trials); their ``delta_i`` are drawn afterwards from ``delta_i | theta, tau, y_i``, which is
  normal (:func:`draw_contrast_effects`);
* arms: ``r_ik ~ Binomial(n_ik, p_ik)``, ``cloglog(p_ik) = log(time_ik) + mu_i + delta_ik``
  (``logit`` for odds ratios), ``delta_ib = 0`` (NICE DSU TSD 2);
* IPD: piecewise-exponential hazards ``h_i(t | k) = exp(alpha_ij + delta_ik)`` on the study's
  intervals ``j`` (cut at quantiles of its event times), whose likelihood is that of Poisson
  counts ``D_ikj ~ Poisson(E_ikj h_ikj)`` of events over exposure (Holford 1980), computed with
  array operations.

The builder takes the network and priors and returns a ``pm.Model``; :class:`NmaData` holds the
arrays, and its NumPy methods evaluate the same likelihood from posterior draws (for DIC, LOO
and tests that compare the two at a point).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from bayesurv.synthesis.network import Network
from bayesurv.synthesis.priors import Prior

_LOG2PI = float(np.log(2 * np.pi))


def multi_arm_correlation(m: int) -> np.ndarray:
    """The random-effects correlation of an (m+1)-arm trial's m relative effects."""
    return 0.5 * (np.eye(m) + np.ones((m, m)))


def pwe_cells(time, event, arm, n_arms: int, n_intervals: int = 10):
    """Events ``D`` and exposure ``E`` per arm (0..n_arms-1) and interval, and the cuts
    (quantiles of the event times, equal numbers of events per interval).

    Examples
    --------
    >>> D, E, cuts = pwe_cells([1.0, 2.0, 3.0, 4.0], [1, 1, 0, 1], [0, 1, 0, 1], 2, 2)
    >>> float(D.sum()), round(float(E.sum()), 6)
    (3.0, 10.0)
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    a = np.asarray(arm, dtype=int)
    ev = np.sort(t[e == 1])
    k = max(1, min(n_intervals, ev.size))
    inner = np.quantile(ev, np.linspace(0, 1, k + 1)[1:-1]) if k > 1 else np.array([])
    cuts = np.concatenate([[0.0], np.unique(inner), [np.inf]])
    k = cuts.size - 1
    lo, hi = cuts[:-1], cuts[1:]
    expo = np.clip(t[:, None] - lo[None, :], 0.0, (hi - lo)[None, :])
    idx = np.clip(np.searchsorted(cuts, t, side="left") - 1, 0, k - 1)
    onehot = (idx[:, None] == np.arange(k)[None, :]) * e[:, None]
    arm_mat = (a[None, :] == np.arange(n_arms)[:, None]).astype(float)
    return arm_mat @ onehot, arm_mat @ expo, cuts


@dataclass
class ContrastBlock:
    """Contrast studies with ``m`` relative effects each: ``y`` (B, m), ``S`` (B, m, m), the
    rows of the stacked effects they hold (B, m) and their study names."""

    m: int
    studies: list[str]
    rows: np.ndarray
    y: np.ndarray
    S: np.ndarray


@dataclass
class NmaData:
    """Arrays of one network model (see the module docstring)."""

    net: Network
    model: str
    split: tuple[str, str] | None
    tab: pd.DataFrame
    M: np.ndarray
    names: list[str]
    L: np.ndarray  # block Cholesky of the random-effects correlation (C, C)
    blocks: list[ContrastBlock]
    # arms
    arm_studies: list[str] = field(default_factory=list)
    arm_study_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    arm_delta: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # -1: baseline
    arm_r: np.ndarray = field(default_factory=lambda: np.zeros(0))
    arm_n: np.ndarray = field(default_factory=lambda: np.zeros(0))
    arm_offset: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # IPD cells
    ipd_studies: list[str] = field(default_factory=list)
    ipd_cell_study: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    ipd_cell_interval: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    ipd_cell_delta: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    ipd_D: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ipd_E: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ipd_crude: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_intervals: int = 1
    #: rows of the stacked effects that belong to arm or IPD studies (sampled non-centred)
    free_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    @property
    def n_effects(self) -> int:
        return len(self.tab)

    @property
    def contrast_only(self) -> bool:
        return not self.arm_studies and not self.ipd_studies

    @property
    def studies(self) -> list[str]:
        return [*[s for b in self.blocks for s in b.studies], *self.arm_studies, *self.ipd_studies]

    # -- the exact solver's view (contrast-only networks) ----------------------------------------
    def stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``y, X, S, K`` of the linear model over all contrast rows (in stacked order)."""
        C = self.n_effects
        y = np.zeros(C)
        S = np.zeros((C, C))
        for b in self.blocks:
            for i in range(len(b.studies)):
                r = b.rows[i]
                y[r] = b.y[i]
                S[np.ix_(r, r)] = b.S[i]
        K = self.L @ self.L.T
        return y, self.M, S, K


def build_data(
    net: Network,
    model: str = "consistency",
    split: tuple[str, str] | None = None,
    n_intervals: int = 10,
) -> NmaData:
    """The arrays of ``model`` on ``net`` (no PyMC)."""
    tab = net.arm_table_for(model, split)
    M = net.design(model, split)
    names = net.parameters(model, split)
    C = len(tab)
    L = np.zeros((C, C))
    for _, rows in tab.groupby("study", sort=False):
        r = rows["index"].to_numpy()
        L[np.ix_(r, r)] = np.linalg.cholesky(multi_arm_correlation(r.size))
    # contrast studies, grouped by size
    by_size: dict[int, list] = {}
    ct = net.contrasts
    for study, rows in tab[tab["kind"] == "contrast"].groupby("study", sort=False):
        obs = ct[ct["study"] == study].set_index("treatment")
        r = rows["index"].to_numpy()
        trts = rows["treatment"].tolist()
        y = obs.loc[trts, "log_hr"].to_numpy(float)
        se = obs.loc[trts, "se"].to_numpy(float)
        cse = obs.loc[trts, "comparator_se"].to_numpy(float)
        cov = float(np.nanmean(cse) ** 2) if np.isfinite(cse).any() else 0.0
        S = np.diag(se**2) + cov * (np.ones((r.size, r.size)) - np.eye(r.size))
        by_size.setdefault(r.size, []).append((study, r, y, S))
    blocks = [
        ContrastBlock(
            m=m,
            studies=[v[0] for v in vals],
            rows=np.array([v[1] for v in vals]),
            y=np.array([v[2] for v in vals]),
            S=np.array([v[3] for v in vals]),
        )
        for m, vals in sorted(by_size.items())
    ]
    data = NmaData(net=net, model=model, split=split, tab=tab, M=M, names=names, L=L, blocks=blocks)
    free = tab[tab["kind"] != "contrast"]["index"].to_numpy()
    data.free_rows = free
    pos = {int(c): j for j, c in enumerate(free)}  # stacked row -> position among free rows
    # arm studies
    ar = net.arms
    s_idx, d_idx, r_, n_, off = [], [], [], [], []
    arm_studies = []
    for study, rows in tab[tab["kind"] == "arm"].groupby("study", sort=False):
        j = len(arm_studies)
        arm_studies.append(study)
        obs = ar[ar["study"] == study].set_index("treatment")
        base = rows["baseline"].iloc[0]
        for t, row in [(base, -1), *zip(rows["treatment"], rows["index"], strict=True)]:
            s_idx.append(j)
            d_idx.append(-1 if row == -1 else pos[int(row)])
            r_.append(float(obs.loc[t, "events"]))
            n_.append(float(obs.loc[t, "n"]))
            off.append(float(np.log(obs.loc[t, "time"])) if net.link == "cloglog" else 0.0)
    data.arm_studies = arm_studies
    data.arm_study_idx = np.array(s_idx, int)
    data.arm_delta = np.array(d_idx, int)
    data.arm_r, data.arm_n, data.arm_offset = (np.array(v, float) for v in (r_, n_, off))
    # IPD studies
    ip = net.ipd
    cs, ci, cd, D_, E_, crude, ipd_studies = [], [], [], [], [], [], []
    for study, rows in tab[tab["kind"] == "ipd"].groupby("study", sort=False):
        j = len(ipd_studies)
        ipd_studies.append(study)
        pts = ip[ip["study"] == study]
        arms = [rows["baseline"].iloc[0], *rows["treatment"]]
        deltas = [-1, *[pos[int(c)] for c in rows["index"]]]
        a = pts["treatment"].map({t: k for k, t in enumerate(arms)}).to_numpy()
        D, E, _ = pwe_cells(pts["time"], pts["event"], a, len(arms), n_intervals)
        keep = E > 0
        arm_k, int_k = np.nonzero(keep)
        cs.append(np.full(arm_k.size, j))
        ci.append(int_k)
        cd.append(np.array(deltas)[arm_k])
        D_.append(D[keep])
        E_.append(E[keep])
        crude.append(float(np.log(pts["event"].sum() / pts["time"].sum())))
    data.ipd_studies = ipd_studies
    if ipd_studies:
        data.ipd_cell_study = np.concatenate(cs)
        data.ipd_cell_interval = np.concatenate(ci)
        data.ipd_cell_delta = np.concatenate(cd)
        data.ipd_D = np.concatenate(D_)
        data.ipd_E = np.concatenate(E_)
        data.ipd_crude = np.array(crude)
        data.n_intervals = int(data.ipd_cell_interval.max()) + 1
    return data


def build_model(
    data: NmaData,
    effects: str,
    theta_priors: list[Prior],
    tau_prior: Prior | None,
    baseline_prior: Prior,
    ipd_baseline_sd: float = 5.0,
):
    """The PyMC model of :class:`NmaData` (dims ``parameter``, ``arm_study``, ``ipd_study``,
    ``interval``); free variables ``theta`` (one per parameter), ``tau`` (random effects), ``z``
    (their non-centred draws, arm and IPD studies), ``mu`` (arm-study baselines), ``alpha``
    (IPD baseline log hazards)."""
    import pymc as pm
    import pytensor.tensor as pt

    coords = {"parameter": data.names}
    if data.arm_studies:
        coords["arm_study"] = data.arm_studies
    if data.ipd_studies:
        coords["ipd_study"] = data.ipd_studies
        coords["interval"] = list(range(data.n_intervals))
    if data.free_rows.size:
        coords["free_effect"] = [
            f"{r.study}: {r.treatment} vs {r.baseline}"
            for r in data.tab.iloc[data.free_rows].itertuples()
        ]
    with pm.Model(coords=coords) as model:
        if all(p.family == "normal" for p in theta_priors):  # one vector: a smaller graph
            theta = pm.Normal(
                "theta",
                mu=np.array([p.params[0] for p in theta_priors]),
                sigma=np.array([p.params[1] for p in theta_priors]),
                dims="parameter",
            )
        else:
            parts = [p.pymc(f"theta_{k}") for k, p in enumerate(theta_priors)]
            theta = pm.Deterministic("theta", pt.stack(parts), dims="parameter")
        mean = pt.as_tensor(data.M) @ theta
        tau = tau_prior.pymc("tau") if effects == "random" else None
        # arm and IPD studies: non-centred study effects
        if data.free_rows.size:
            fr = data.free_rows
            if effects == "random":
                z = pm.Normal("z", 0.0, 1.0, dims="free_effect")
                Lf = data.L[np.ix_(fr, fr)]
                delta_f = mean[fr] + tau * (pt.as_tensor(Lf) @ z)
            else:
                delta_f = mean[fr]
            delta_f = pm.Deterministic("delta", delta_f, dims="free_effect")
            delta_ext = pt.concatenate([delta_f, pt.zeros(1)])
        if data.arm_studies:
            mu = baseline_prior.pymc("mu", dims="arm_study")
            idx = np.where(data.arm_delta < 0, data.free_rows.size, data.arm_delta)
            eta = data.arm_offset + mu[data.arm_study_idx] + delta_ext[idx]
            # binomial log likelihood without its constant: r log p + (n - r) log(1 - p)
            if data.net.link == "cloglog":
                h = pt.exp(eta)  # cumulative hazard: log(1 - p) = -h
                log_p, log_q = pt.log(-pt.expm1(-h)), -h
            else:
                log_p, log_q = -pt.softplus(-eta), -pt.softplus(eta)
            r = pm.Data("events", data.arm_r)
            pm.Potential("r", pt.sum(r * log_p + (data.arm_n - r) * log_q))
        if data.ipd_studies:
            alpha = pm.Normal(
                "alpha",
                mu=data.ipd_crude[:, None],
                sigma=ipd_baseline_sd,
                dims=("ipd_study", "interval"),
            )
            idx = np.where(data.ipd_cell_delta < 0, data.free_rows.size, data.ipd_cell_delta)
            log_rate = (
                alpha[data.ipd_cell_study, data.ipd_cell_interval]
                + delta_ext[idx]
                + np.log(data.ipd_E)
            )
            # Poisson log likelihood without its constant: D log(lambda) - lambda
            D = pm.Data("ipd_events", data.ipd_D)
            pm.Potential("D", pt.sum(D * log_rate - pt.exp(log_rate)))
        for b in data.blocks:  # observed values in pm.Data: a compiled model takes new data
            # S + tau^2 K = D + a J with D = diag(se^2 - c + tau^2/2), a = c + tau^2/2 (c the
            # shared comparator's variance, S's off-diagonal; tau = 0 for fixed effects):
            # Sherman-Morrison gives the normal log density with elementwise operations only
            # (fast to compile; equal to the NumPy twin's Cholesky, tested)
            Mb = data.M[b.rows.ravel()]  # constant (B m, P): a product, not a gather
            mb = (pt.as_tensor(Mb) @ theta).reshape(b.rows.shape)  # (B, m)
            t2 = tau**2 / 2 if effects == "random" else 0.0
            se2 = np.einsum("bii->bi", b.S)
            c = b.S[:, 0, 1] if b.m > 1 else np.zeros(len(b.studies))
            obs = pm.Data(f"contrasts_{b.m}", b.y if b.m > 1 else b.y[:, 0])
            r = (obs if b.m > 1 else obs[:, None]) - mb
            d = (se2 - c[:, None]) + t2
            a_ = c + t2
            w = 1.0 / d
            s0, s1 = pt.sum(w, axis=1), pt.sum(w * r, axis=1)
            quad = pt.sum(w * r**2, axis=1) - a_ * s1**2 / (1 + a_ * s0)
            logdet = pt.sum(pt.log(d), axis=1) + pt.log1p(a_ * s0)
            pm.Potential(f"y_{b.m}", -0.5 * pt.sum(logdet + quad + b.m * _LOG2PI))
    return model


# -- the NumPy twin ----------------------------------------------------------------------------


def draw_contrast_effects(
    data: NmaData, theta: np.ndarray, tau: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """Draws (N, C) of every contrast study's relative effects given ``theta`` (N, P) and
    ``tau`` (N,): ``delta_i | theta, tau, y_i ~ N(A (K^-1 mu / tau^2 + S^-1 y), A)``,
    ``A = (K^-1 / tau^2 + S^-1)^-1`` (``delta_i = mu_i`` for fixed effects). Rows of arm and
    IPD studies are left at zero (they are sampled)."""
    N = theta.shape[0]
    out = np.zeros((N, data.n_effects))
    mean = theta @ data.M.T  # (N, C)
    for b in data.blocks:
        mu = mean[:, b.rows]  # (N, B, m)
        if tau is None:
            out[:, b.rows] = mu
            continue
        K = multi_arm_correlation(b.m)
        Kinv = np.linalg.inv(K)
        Sinv = np.linalg.inv(b.S)  # (B, m, m)
        t2 = np.maximum(tau, 1e-12)[:, None, None, None] ** 2
        prec = Kinv[None, None] / t2 + Sinv[None]  # (N, B, m, m)
        A = np.linalg.inv(prec)
        rhs = (
            np.einsum("ij,nbj->nbi", Kinv, mu) / t2[..., 0]
            + np.einsum("bij,bj->bi", Sinv, b.y)[None]
        )
        m = np.einsum("nbij,nbj->nbi", A, rhs)
        Lc = np.linalg.cholesky(A)
        z = rng.standard_normal(m.shape)
        out[:, b.rows] = m + np.einsum("nbij,nbj->nbi", Lc, z)
    return out


@dataclass
class Fitted:
    """Fitted values per draw: contrasts ``delta`` (N, C), arm probabilities ``p`` (N, A) and
    IPD cell means ``lam`` (N, cells)."""

    delta: np.ndarray
    p: np.ndarray
    lam: np.ndarray


def fitted(data: NmaData, draws: dict[str, np.ndarray]) -> Fitted:
    """Fitted values from flattened draws: ``delta_contrast`` (N, C; from
    :func:`draw_contrast_effects`), ``delta`` (N, free rows), ``mu`` (N, arm studies),
    ``alpha`` (N, IPD studies, intervals)."""
    N = draws["delta_contrast"].shape[0]
    delta = draws["delta_contrast"].copy()
    if data.free_rows.size:
        delta[:, data.free_rows] = draws["delta"]
    p = np.zeros((N, data.arm_r.size))
    lam = np.zeros((N, data.ipd_D.size))
    if data.arm_studies:
        d_ext = np.concatenate([draws["delta"], np.zeros((N, 1))], axis=1)
        idx = np.where(data.arm_delta < 0, data.free_rows.size, data.arm_delta)
        eta = data.arm_offset[None] + draws["mu"][:, data.arm_study_idx] + d_ext[:, idx]
        p = -np.expm1(-np.exp(eta)) if data.net.link == "cloglog" else special.expit(eta)
    if data.ipd_studies:
        d_ext = np.concatenate([draws["delta"], np.zeros((N, 1))], axis=1)
        idx = np.where(data.ipd_cell_delta < 0, data.free_rows.size, data.ipd_cell_delta)
        lam = (
            np.exp(draws["alpha"][:, data.ipd_cell_study, data.ipd_cell_interval] + d_ext[:, idx])
            * data.ipd_E[None]
        )
    return Fitted(delta=delta, p=p, lam=lam)


def _xlogy(x, y):
    return special.xlogy(x, y)


def residual_deviance(data: NmaData, f: Fitted) -> np.ndarray:
    """Residual deviance per study (N, studies) against the saturated model (TSD 2): normal
    ``(y - delta)' S^-1 (y - delta)``, binomial ``2 [r log(r/rhat) + (n-r) log((n-r)/(n-rhat))]``,
    Poisson ``2 [D log(D/lam) - (D - lam)]``."""
    cols = []
    for b in data.blocks:
        res = b.y[None] - f.delta[:, b.rows]  # (N, B, m)
        Sinv = np.linalg.inv(b.S)
        cols.append(np.einsum("nbi,bij,nbj->nb", res, Sinv, res))
    if data.arm_studies:
        r, n = data.arm_r[None], data.arm_n[None]
        rhat = n * f.p
        dev = 2 * (_xlogy(r, r) - _xlogy(r, rhat) + _xlogy(n - r, n - r) - _xlogy(n - r, n - rhat))
        cols.append(_by_study(dev, data.arm_study_idx, len(data.arm_studies)))
    if data.ipd_studies:
        D = data.ipd_D[None]
        dev = 2 * (_xlogy(D, D) - _xlogy(D, f.lam) - (D - f.lam))
        cols.append(_by_study(dev, data.ipd_cell_study, len(data.ipd_studies)))
    return np.concatenate(cols, axis=1)


def _by_study(x: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((x.shape[0], k))
    np.add.at(out, (slice(None), idx), x)
    return out


def plugin_deviance(data: NmaData, f: Fitted) -> float:
    """Deviance at the posterior mean of the fitted values (``D(theta bar)`` of TSD 2's pD)."""
    mean = Fitted(
        delta=f.delta.mean(0, keepdims=True),
        p=f.p.mean(0, keepdims=True),
        lam=f.lam.mean(0, keepdims=True),
    )
    return float(residual_deviance(data, mean).sum())


def log_likelihood(data: NmaData, draws: dict[str, np.ndarray], f: Fitted) -> np.ndarray:
    """Pointwise log likelihood per study (N, studies), for LOO: contrasts marginally over the
    study's random effect (``N(M_i theta, S_i + tau^2 K_i)``), arms and IPD given their
    sampled study effects."""
    cols = []
    theta = draws["theta"]
    tau = draws.get("tau")
    mean = theta @ data.M.T
    for b in data.blocks:
        mu = mean[:, b.rows]
        cov = np.broadcast_to(b.S[None], (theta.shape[0], *b.S.shape)).copy()
        if tau is not None:
            cov = cov + (tau**2)[:, None, None, None] * multi_arm_correlation(b.m)[None, None]
        Lc = np.linalg.cholesky(cov)
        res = b.y[None] - mu
        sol = np.linalg.solve(Lc, res[..., None])[..., 0]
        logdet = 2 * np.log(np.diagonal(Lc, axis1=2, axis2=3)).sum(-1)
        cols.append(-0.5 * (b.m * _LOG2PI + logdet + (sol**2).sum(-1)))
    if data.arm_studies:
        ll = stats.binom.logpmf(data.arm_r[None], data.arm_n[None], f.p)
        cols.append(_by_study(ll, data.arm_study_idx, len(data.arm_studies)))
    if data.ipd_studies:
        ll = stats.poisson.logpmf(data.ipd_D[None], f.lam)
        cols.append(_by_study(ll, data.ipd_cell_study, len(data.ipd_studies)))
    return np.concatenate(cols, axis=1)
