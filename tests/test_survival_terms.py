"""The one likelihood: the compiled PyTensor log-likelihood equals its NumPy twin (the one LOO,
the MLE and the outputs use) at a random point, over a grid of structures; and the terms
against independent formulas."""

import zlib

import numpy as np
import pandas as pd
import pytest
from pytensor.compile.mode import Mode
from scipy import integrate, stats

from bayesurv.evidence.reported import check_landmarks, validate_landmarks, validate_registry
from bayesurv.lifetable import us_life_table
from bayesurv.survival import terms
from bayesurv.survival.builder import build
from bayesurv.survival.data import External, Summaries, prepare
from bayesurv.survival.evidence import ReportedArm
from bayesurv.survival.families import NP
from bayesurv.survival.population import Population
from bayesurv.survival.structure import SHIFTED, ModelSpec, parameters, prior_of

RAW = Mode(linker="py", optimizer=None)  # no rewrites: the graph as written, compiled fast


def _ipd(n=60, seed=1):
    rng = np.random.default_rng(seed)
    t = rng.weibull(1.3, n) * 10 + 0.1
    df = pd.DataFrame(
        {
            "time": t,
            "event": rng.integers(0, 2, n),
            "arm": np.where(np.arange(n) % 2, "b", "a"),
            "group": rng.choice(["Good", "Medium", "Poor"], n),
            "age": rng.uniform(40, 70, n),
            "entry": np.where(np.arange(n) % 3 == 0, 0.0, t * rng.uniform(0, 0.5, n)),
        }
    )
    df.loc[:1, "event"] = 1
    return df


IPD = _ipd()
LM = check_landmarks(
    pd.DataFrame(
        {"time": [3.0, 12.0], "survival": [0.7, 0.45], "lower": [0.6, 0.35], "upper": [0.8, 0.55]}
    )
)
EV = pd.DataFrame({"n": [100], "events": [40], "median_followup": [10.0], "max_followup": [16.0]})
MD = pd.DataFrame({"median": [8.0], "lower": [6.0], "upper": [11.0]})
HR = pd.DataFrame(
    {"hr": [0.7], "lower": [0.5], "upper": [0.95], "median_followup": [10.0], "max_followup": [16]}
)


def summaries(use=("landmarks", "events", "hazard_ratios", "medians"), arms=("a", "b")):
    return Summaries({a: ReportedArm(LM, EV, MD) for a in arms}, HR, use)


EXTERNAL = External(
    validate_landmarks(
        pd.DataFrame(
            {"time": [20.0], "survival": [0.2], "lower": [0.15], "upper": [0.25], "arm": ["a"]}
        )
    ),
    validate_registry(
        pd.DataFrame({"start": [12.0], "stop": [24.0], "n_at_risk": [50], "events": [10]})
    ),
)
TABLE = us_life_table(2014)
POP_IPD = Population(TABLE, age_column="age", male=0.4, smr=1.3)
POP_AGES = Population(TABLE, ages=("uniform", 30, 60), male=0.5, smr=1.1)
TWO = dict(arm="arm")
ARMS = dict(arms=("a", "b"))

GRID = {
    # every family and flexible hazard (two arms, the default effect)
    **{
        f: (ModelSpec(f, **TWO), {})
        for f in (
            "exponential",
            "weibull",
            "gompertz",
            "lognormal",
            "loglogistic",
            "gengamma",
            "mspline",
            "pwexp",
        )
    },
    **{f"rp-{s}": (ModelSpec("rp", scale=s, **TWO), {}) for s in ("hazard", "odds", "normal")},
    "one arm": (ModelSpec("weibull"), {}),
    "aft": (ModelSpec("weibull", effect="aft", **TWO), {}),
    "separate": (ModelSpec("loglogistic", effect="separate", **TWO), {}),
    # the density path (events by log f, the censored by log S): AFT covariates, delayed entry,
    # separate arms, one arm
    "density covariates": (ModelSpec("lognormal", covariates=["group", "age"], **TWO), {}),
    "density entry": (ModelSpec("gengamma", entry="entry", **TWO), {}),
    "density separate": (ModelSpec("gengamma", effect="separate", **TWO), {}),
    "density one arm": (ModelSpec("gengamma"), {}),
    # cure
    "mixture": (ModelSpec("weibull", cure="mixture", effect_on="both", **TWO), {}),
    "non-mixture": (ModelSpec("gompertz", cure="non-mixture", **TWO), {}),
    "gengamma mixture": (ModelSpec("gengamma", cure="mixture", effect_on="both", **TWO), {}),
    "mspline mixture": (ModelSpec("mspline", cure="mixture", **TWO), {}),
    # covariates and non-PH
    "covariates": (ModelSpec("weibull", covariates=["group", "age"], **TWO), {}),
    "cure covariates": (
        ModelSpec("weibull", cure="mixture", cure_covariates=["group=Poor"], **TWO),
        {},
    ),
    "ancillary": (ModelSpec("lognormal", ancillary={"log_sdlog": ["group"]}, **TWO), {}),
    "nonph weibull": (ModelSpec("weibull", nonph=True, **TWO), {}),
    "nonph rp": (ModelSpec("rp", nonph=True, covariates=["age"], **TWO), {}),
    "nonph mspline": (ModelSpec("mspline", nonph=True, **TWO), {}),
    # life table, SMR fixed and uncertain
    "life table": (
        ModelSpec("weibull", cure="mixture", time_unit="months", **TWO),
        {"population": POP_IPD},
    ),
    "smr prior": (
        ModelSpec(
            "weibull",
            cure="non-mixture",
            time_unit="months",
            smr_prior="lognormal(0.2, 0.1)",
            **TWO,
        ),
        {"population": POP_IPD},
    ),
    # waning inside follow-up, delayed entry
    **{
        f"waning {s}": (
            ModelSpec(
                "weibull",
                cure="mixture",
                effect_on="both",
                waning=(s, 3.0, None if s == "abrupt" else 7.0),
                **TWO,
            ),
            {},
        )
        for s in ("abrupt", "linear_loghr", "linear_hazard")
    },
    "waning covariates": (
        ModelSpec(
            "loglogistic",
            cure_covariates=["age"],
            cure="mixture",
            waning=("linear_loghr", 2.0, 6.0),
            **TWO,
        ),
        {},
    ),
    "entry": (ModelSpec("weibull", entry="entry", **TWO), {}),
    "entry life table": (
        ModelSpec("mspline", entry="entry", time_unit="months", **TWO),
        {"population": POP_IPD},
    ),
    # each reported term alone, on a summary-only model, and the external terms with IPD
    **{
        term: (
            ModelSpec("weibull", cure="mixture", **ARMS),
            {"ipd": None, "summaries": summaries((term,))},
        )
        for term in ("landmarks", "events", "hazard_ratios", "medians")
    },
    "summaries life table": (
        ModelSpec("lognormal", cure="non-mixture", time_unit="months", **ARMS),
        {"ipd": None, "summaries": summaries(), "population": POP_AGES},
    ),
    "external": (
        ModelSpec("weibull", cure="mixture", **TWO),
        {"external": External(EXTERNAL.landmarks)},
    ),
    "registry": (ModelSpec("rp", **TWO), {"external": External(None, EXTERNAL.registry)}),
    # everything at once: IPD, reported summaries, external evidence, a life table, waning
    "all": (
        ModelSpec(
            "weibull",
            cure="mixture",
            time_unit="months",
            covariates=["group"],
            waning=("linear_hazard", 4.0, 8.0),
            **TWO,
        ),
        {"summaries": summaries(), "external": EXTERNAL, "population": POP_IPD},
    ),
}


def point(spec, d, rng):
    """A random point near the prior's centre (constrained values, one draw)."""
    out = {}
    shifts = d.get("prior_shift", {})
    for p in parameters(spec):
        prior = prior_of(spec, p)
        size = p.size or (2 if p.dim == "arm" else None)
        noise = rng.normal(0, 0.3, size)
        if p.hyper or p.name == "smr":
            v = 1.0 + np.abs(noise) if p.name == "smr" else np.exp(noise)
        else:
            loc = prior.params[0] if prior.family == "normal" else 0.0
            loc += SHIFTED.get(p.role, 0.0) * float(d["log_t_ref"]) + shifts.get(p.name, 0.0)
            v = loc + noise
        out[p.name] = np.asarray(v, dtype=float)
    return out


@pytest.mark.parametrize("case", list(GRID))
def test_pytensor_loglik_equals_the_numpy_twin(case):
    spec, kw = GRID[case]
    kw = dict(kw)
    ipd = kw.pop("ipd", IPD)
    spec, d, _ = prepare(spec, ipd, **kw)
    model = build(spec, d)
    assert spec.density_path == ("ce_t" in d)  # the summed IPD term's form is the data's
    pt = point(spec, d, np.random.default_rng(zlib.crc32(case.encode())))
    f = model.compile_fn(model["loglik"], inputs=[model[k] for k in pt], mode=RAW)
    got = float(f(pt))
    raw = {k: v.reshape(1, -1) if v.ndim else v.reshape(1, 1) for k, v in pt.items()}
    parts = terms.loglik(NP, spec, raw, d, pointwise=True)
    want = sum(float(np.sum(v)) for v in parts.values())
    assert np.isfinite(want)
    assert abs(got - want) <= 1e-8 * max(1.0, abs(want)), (case, got, want)


@pytest.mark.parametrize("case", [c for c in GRID if c.startswith("density")])
def test_density_path_is_the_hazard_form_per_patient(case):
    # per patient, log f(t) at an event and log S(t) at a censoring (the density path) equal
    # d log h(t) - H(t) (+ H(entry)) computed from the family's hazard and cumulative hazard
    from bayesurv.survival import predictor as P

    spec, kw = GRID[case]
    spec, d, _ = prepare(spec, kw.get("ipd", IPD))
    pt = point(spec, d, np.random.default_rng(zlib.crc32(case.encode())))
    raw = {k: v.reshape(1, -1) if v.ndim else v.reshape(1, 1) for k, v in pt.items()}
    got = terms.loglik(NP, spec, raw, d, pointwise=True)["ipd"]
    pp, G = terms.profiles(NP, spec, raw, d), terms.n_patterns(NP, spec, d)

    def excess(pre):
        x = {k[len(pre) + 2 :]: v for k, v in d.items() if k.startswith(pre + "x_")}
        x["t"] = d[pre + "t"]
        return P.excess(NP, spec, raw, pp, x, d[pre + "idx"], d[pre + "arm"], d[pre + "g"], G)

    lh, H = excess("")
    want = np.where(d["event"] > 0, lh, 0.0) - H
    if spec.entry:
        want = want + d["en_pos"] * excess("en_")[1]
    assert spec.density_path and d["event"].min() == 0 and d["event"].max() == 1
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ---- the terms against independent formulas ------------------------------------------------
def twin(spec, ipd=IPD, **kw):
    """The NumPy log-likelihood of each term at one point given by name."""
    spec, d, _ = prepare(spec, ipd, **kw)

    def at(**values):
        raw = {k: np.asarray(v, float).reshape(1, -1) for k, v in values.items()}
        return terms.loglik(NP, spec, raw, d, pointwise=True)

    return at, d


def _weibull(point):
    shape = np.exp(point["log_shape"])
    return shape, np.exp(point["log_median"] - np.log(np.log(2)) / shape)


@pytest.mark.parametrize("cure", ["none", "mixture", "non-mixture"])
def test_ipd_term_is_the_relative_survival_likelihood(cure):
    # the excess hazard by hand (flexsurv's Weibull, PH), general-population hazards from
    # Population.patient_curves, SMR 1.3
    spec = ModelSpec(
        "weibull",
        cure=cure,
        effect_on="both" if cure != "none" else None,
        time_unit="months",
        **TWO,
    )
    at, d = twin(spec, population=POP_IPD)
    pt = {
        "log_median": 2.2,
        "log_shape": 0.2,
        "log_hr": -0.3,
        "cure_logit": -0.2,
        "cure_effect": 0.5,
    }
    pt = {
        k: v
        for k, v in pt.items()
        if k in {p.name for p in parameters(prepare(spec, IPD, population=POP_IPD)[0])}
    }
    got = at(**pt)["ipd"][0]
    shape, scale = _weibull(pt)
    t, ev, x = IPD["time"].to_numpy(), IPD["event"].to_numpy(), (IPD["arm"] == "b").to_numpy(float)
    H_u = (t / scale) ** shape * np.exp(pt["log_hr"] * x)
    h_u = shape / scale * (t / scale) ** (shape - 1) * np.exp(pt["log_hr"] * x)
    S, h = np.exp(-H_u), h_u
    if cure != "none":
        pi = 1 / (1 + np.exp(-(pt["cure_logit"] + pt["cure_effect"] * x)))
        S = pi + (1 - pi) * np.exp(-H_u) if cure == "mixture" else pi ** (1 - np.exp(-H_u))
        h = (
            (1 - pi) * h_u * np.exp(-H_u) / S
            if cure == "mixture"
            else -np.log(pi) * h_u * np.exp(-H_u)
        )
    lh_pop, H_pop = POP_IPD.patient_curves(t, IPD["age"].to_numpy(), np.full(len(t), 0.4), 12.0)
    want = ev * np.log(1.3 * np.exp(lh_pop) + h) - 1.3 * H_pop + np.log(S)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_covariates_are_dummy_coded_against_the_reference_and_centred():
    spec = ModelSpec("weibull", covariates=["group=Medium", "age"], **TWO)
    at, d = twin(spec)
    s, _, _ = prepare(spec, IPD)
    assert s.covariates[0].levels == ("Medium", "Good", "Poor")
    assert s.covariates[0].terms == ("group[Good]", "group[Poor]")
    beta = np.array([0.4, -0.7, 0.02])
    pt = {"log_median": 2.0, "log_shape": 0.1, "log_hr": 0.3, "beta": beta}
    got = at(**pt)["ipd"][0]
    z = np.column_stack([IPD["group"] == "Good", IPD["group"] == "Poor", IPD["age"]]).astype(float)
    eta = 0.3 * (IPD["arm"] == "b") + (z - z.mean(axis=0)) @ beta
    shape, scale = _weibull(pt)
    t = IPD["time"].to_numpy()
    want = IPD["event"] * (np.log(shape / scale) + (shape - 1) * np.log(t / scale) + eta) - (
        t / scale
    ) ** shape * np.exp(eta)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_delayed_entry_adds_the_cumulative_hazard_at_entry():
    # exponential: log L_i = d log(rate) - rate (t - entry)
    at, _ = twin(ModelSpec("exponential", entry="entry"))
    got = at(log_median=2.0)["ipd"][0]
    rate = np.log(2) / np.exp(2.0)
    want = IPD["event"] * np.log(rate) - rate * (IPD["time"] - IPD["entry"])
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_rp_odds_scale_is_a_proportional_odds_model():
    spec = ModelSpec("rp", scale="odds", df=1, **TWO)
    at, d = twin(spec)
    s, _, _ = prepare(spec, IPD)
    g0, g1, b = -0.3, 1.4, 0.5
    got = at(rp_gamma0=g0, rp_gamma1=g1, log_or=b)["ipd"][0]
    x0 = np.mean(np.log([s.knots[0], s.knots[-1]]))
    t, x = IPD["time"].to_numpy(), (IPD["arm"] == "b").to_numpy(float)
    odds = np.exp(g0 + g1 * (np.log(t) - x0) + b * x)  # (1 - S) / S, log-logistic here
    S = 1 / (1 + odds)
    f = g1 / t * odds / (1 + odds) ** 2
    np.testing.assert_allclose(got, np.where(IPD["event"] > 0, np.log(f), np.log(S)), rtol=1e-8)


@pytest.mark.parametrize("scheme", ["abrupt", "linear_loghr", "linear_hazard"])
def test_waning_in_the_likelihood_equals_quadrature_of_the_waned_hazard(scheme):
    w = (scheme, 3.0, None if scheme == "abrupt" else 7.0)
    at, _ = twin(ModelSpec("weibull", cure="mixture", effect_on="both", waning=w, **TWO))
    pt = {
        "log_median": 2.0,
        "log_shape": 0.15,
        "log_hr": -0.6,
        "cure_logit": -1.0,
        "cure_effect": 0.4,
    }
    got = at(**pt)["ipd"][0]
    shape, scale = _weibull(pt)

    def h_exc(u, a):
        hr = np.exp(pt["log_hr"] * a)
        pi = 1 / (1 + np.exp(-(pt["cure_logit"] + pt["cure_effect"] * a)))
        Su = np.exp(-((u / scale) ** shape) * hr)
        hu = shape / scale * (u / scale) ** (shape - 1) * hr
        return (1 - pi) * hu * Su / (pi + (1 - pi) * Su)

    def h_treated(u):
        if u < w[1]:
            return h_exc(u, 1)
        if scheme == "abrupt":
            return h_exc(u, 0)
        wt = np.clip((w[2] - u) / (w[2] - w[1]), 0, 1)
        if scheme == "linear_loghr":
            return h_exc(u, 0) * np.exp(wt * np.log(h_exc(w[1], 1) / h_exc(w[1], 0)))
        return wt * h_exc(u, 1) + (1 - wt) * h_exc(u, 0)

    for t, dd, a, ll in zip(IPD["time"], IPD["event"], IPD["arm"] == "b", got, strict=True):
        h = h_treated if a else (lambda u: h_exc(u, 0))
        pts = [p for p in w[1:] if p is not None and p < t]
        H = integrate.quad(h, 0, t, points=pts or None, limit=200, epsrel=1e-11)[0]
        assert ll == pytest.approx(dd * np.log(h(t)) - H, rel=1e-7, abs=1e-9)


def test_reported_terms_against_scipy():
    # a Weibull without cure, one point: each term by hand
    spec = ModelSpec("weibull", **ARMS)
    at, d = twin(spec, None, summaries=summaries())
    pt = {"log_median": 2.0, "log_shape": 0.3, "log_hr": np.log(0.6)}
    ll = at(**pt)
    shape, scale = _weibull(pt)

    def S(t, a):
        return np.exp(-((t / scale) ** shape) * 0.6**a)

    # landmarks: cloglog S_hat ~ N(cloglog S(t), se)
    y = np.log(-np.log(LM["survival"]))
    se = (np.log(-np.log(LM["lower"])) - np.log(-np.log(LM["upper"]))) / 3.919927969
    want = [stats.norm.logpdf(y, np.log(-np.log(S(LM["time"], a))), se) for a in (0, 1)]
    np.testing.assert_allclose(ll["landmarks"][0], np.concatenate(want), rtol=1e-10)
    # events: D ~ Binomial(n, mean of 1 - S over the uniform potential follow-up [4, 16])
    p = [1 - integrate.quad(lambda c, a=a: S(c, a), 4.0, 16.0)[0] / 12.0 for a in (0, 1)]
    np.testing.assert_allclose(ll["events"][0], stats.binom.logpmf(40, 100, p), rtol=1e-9)
    # medians: for a Weibull the Newton step is exact: N(log m_hat; log median, se)
    m0 = scale * np.log(2) ** (1 / shape)
    se_m = np.log(11 / 6) / 3.919927969
    want = [
        stats.norm.logpdf(np.log(8.0), np.log(m0 * 0.6 ** (-1 / shape * a)), se_m) for a in (0, 1)
    ]
    np.testing.assert_allclose(ll["medians"][0], want, rtol=1e-9)
    # hazard ratio: PH, so the Cox-weighted average is the HR itself
    se_hr = (np.log(0.95) - np.log(0.5)) / 3.919927969
    np.testing.assert_allclose(
        ll["hazard_ratios"][0], stats.norm.logpdf(np.log(0.7), np.log(0.6), se_hr), rtol=1e-9
    )


def test_external_terms_are_binomials():
    at, d = twin(ModelSpec("exponential", **TWO), external=EXTERNAL)
    ll = at(log_median=2.5, log_hr=0.0)
    rate = np.log(2) / np.exp(2.5)
    lm = EXTERNAL.landmarks
    n, k = lm["n_eff"].iloc[0], lm["events_eff"].iloc[0]
    S20 = np.exp(-rate * 20.0)
    from scipy.special import gammaln

    want = (
        gammaln(n + 1)
        - gammaln(k + 1)
        - gammaln(n - k + 1)
        + k * np.log(1 - S20)
        + (n - k) * np.log(S20)
    )
    assert ll["external"][0, 0] == pytest.approx(want, rel=1e-10)
    q = 1 - np.exp(-rate * 12.0)  # deaths among 50 at risk at 12 by 24
    assert ll["registry"][0, 0] == pytest.approx(stats.binom.logpmf(10, 50, q), rel=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize(
    "truth",
    [
        # cure fractions control/experimental, Weibull shape and scale, HR on the uncured
        (0.30, 0.55, 1.2, 20.0, 1.0),
        (0.20, 0.40, 0.8, 15.0, 0.7),
        (0.10, 0.50, 1.0, 10.0, 1.0),
    ],
)
def test_cox_weighted_log_hr_matches_a_cox_fit_of_mixture_cure_ipd(truth):
    """Large simulated trials (200,000 per arm) from a known mixture-cure Weibull with uniform
    potential follow-up on [20, 80]: the model's event-weighted average log HR against the Cox
    estimate (Efron ties, bayesurv.nonparametric), whose sd here is about 0.005; the average is
    a first-order approximation of the Cox limit, so the tolerance is 0.03."""
    from bayesurv.nonparametric import cox_hazard_ratio

    c0, c1, k, lam, hr = truth
    rng = np.random.default_rng(20260)
    n = 200_000
    cols = []
    for g, (cure, h) in enumerate(((c0, 1.0), (c1, hr))):
        cured = rng.uniform(size=n) < cure
        t_ev = np.where(cured, np.inf, lam * (rng.exponential(size=n) / h) ** (1 / k))
        c = rng.uniform(20.0, 80.0, n)
        cols.append((np.minimum(t_ev, c), (t_ev <= c).astype(int), np.full(n, g)))
    t, e, grp = (np.concatenate(x) for x in zip(*cols, strict=True))
    cox = cox_hazard_ratio(t, e, grp)["log_hr"]
    hrs = pd.DataFrame(
        {
            "hr": [1.0],
            "lower": [0.5],
            "upper": [2.0],
            "median_followup": [50.0],
            "max_followup": [80.0],
        }
    )
    s = Summaries(
        {a: ReportedArm(LM.iloc[:0], EV.iloc[:0]) for a in ("a", "b")}, hrs, ("hazard_ratios",)
    )
    spec, d, _ = prepare(
        ModelSpec("weibull", cure="mixture", effect_on="both", **ARMS), None, summaries=s
    )
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    pt = {
        "log_median": np.log(lam) + np.log(np.log(2)) / k,
        "log_shape": np.log(k),
        "log_hr": np.log(hr),
        "cure_logit": logit(c0),
        "cure_effect": logit(c1) - logit(c0),
    }
    raw = {k_: np.asarray(v, float).reshape(1, 1) for k_, v in pt.items()}
    pp = terms.profiles(NP, spec, raw, d)
    mu = terms.parts(NP, spec, raw, pp, d, 1.0)["hazard_ratios"]["mu"]
    assert abs(float(mu[0, 0]) - cox) < 0.03, (mu, cox)


def test_waning_times_are_part_of_the_compile_key():
    """The predictor builds waning times into the graph, so two models that differ only in them
    must never share a compiled model (a re-used fit once kept the first model's times)."""
    a = ModelSpec("weibull", waning=("linear_loghr", 2.0, 6.0), **TWO)
    b = ModelSpec("weibull", waning=("linear_loghr", 3.0, 6.0), **TWO)
    c = ModelSpec("weibull", waning=("linear_loghr", 2.0, 6.0), **TWO)
    assert a.key() != b.key() and a.key() == c.key()
