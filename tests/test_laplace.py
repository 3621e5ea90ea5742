"""The Laplace two-arm fit against closed forms and lifelines' maximum likelihood."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from bayesurv.errors import InputError
from bayesurv.laplace import laplace_fit
from bayesurv.survival.families import NP, get_family


def _trial(n=300, seed=2, shape=1.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat(["control", "treated"], n // 2)
    scale = np.where(arm == "treated", 16.0, 11.0)
    t = scale * rng.weibull(shape, n)
    c = rng.uniform(6, 36, n)
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int), "arm": arm})


def test_exponential_log_hr_is_the_closed_form_with_its_standard_error():
    ipd = _trial()
    post = laplace_fit(ipd, "exponential", seed=1, draws=200_000)
    g = ipd.groupby("arm")
    d, T = g["event"].sum(), g["time"].sum()
    # MLE of a two-arm exponential PH model: log HR = log(d1/T1) - log(d0/T0), se^2 = 1/d0 + 1/d1
    mle = np.log(d["treated"] / T["treated"]) - np.log(d["control"] / T["control"])
    se = np.sqrt(1 / d["control"] + 1 / d["treated"])
    assert post.attrs["mode"][-1] == pytest.approx(mle, abs=1e-5)
    assert post.attrs["se"][-1] == pytest.approx(se, rel=1e-4)
    draws = post["log_hr"].values.ravel()
    assert draws.std() == pytest.approx(se, rel=0.01)  # 200,000 draws: MC error 0.16%
    assert np.median(post["hr"].values) == pytest.approx(np.exp(mle), rel=0.005)


def test_loglogistic_time_ratio_and_se_equal_lifelines():
    from lifelines import LogLogisticAFTFitter

    ipd = _trial()
    post = laplace_fit(ipd, "loglogistic", seed=1, draws=100)
    df = ipd.assign(x=(ipd["arm"] == "treated").astype(float)).drop(columns="arm")
    ref = LogLogisticAFTFitter().fit(df, "time", "event")
    # lifelines: log alpha = alpha_Intercept + alpha_x * x; our log_median = log alpha (median of
    # the log-logistic is its scale) and log_tr = alpha_x
    # the same maximum (ours is 6e-6 higher: lifelines stops its optimizer a little earlier)
    assert post.attrs["max_loglik"] == pytest.approx(ref.log_likelihood_, abs=1e-4)
    assert post.attrs["max_loglik"] >= ref.log_likelihood_ - 1e-9
    se = ref.standard_errors_[("alpha_", "x")]
    assert post.attrs["mode"][-1] == pytest.approx(ref.params_[("alpha_", "x")], abs=0.01 * se)
    assert post.attrs["se"][-1] == pytest.approx(ref.standard_errors_[("alpha_", "x")], rel=2e-3)
    assert post.attrs["effect"] == "aft" and "time_ratio" in post


def test_rmst_draws_equal_quadrature_of_the_family_survival():
    ipd = _trial()
    post = laplace_fit(ipd, "weibull", seed=3, draws=5, rmst_to=24.0)
    fam = get_family("weibull")
    i = 2
    raw = {
        "log_median": post["log_median"].values[0, i],
        "log_shape": post["log_shape"].values[0, i],
    }
    log_ref = float(np.log(np.median(ipd["time"])))
    p0 = fam.natural(NP, raw, log_ref)
    p1 = fam.ph(p0, post["log_hr"].values[0, i])
    for arm, p in (("control", p0), ("treated", p1)):
        ref = integrate.quad(
            lambda t, p=p: float(fam.survival(np.array(t), **p)), 0, 24.0, epsabs=1e-12
        )[0]
        # 64-point Gauss-Legendre: 2e-9 relative (t^shape is not smooth at 0)
        assert float(post["rmst"].sel(arm=arm).values[0, i]) == pytest.approx(ref, rel=1e-7)
    diff = post["rmst"].sel(arm="treated") - post["rmst"].sel(arm="control")
    np.testing.assert_allclose(post["rmst_diff"].values, diff.values)


def test_bad_inputs_are_one_sentence():
    ipd = _trial()
    with pytest.raises(InputError, match="exactly two arms"):
        laplace_fit(ipd.assign(arm="a"), seed=1)
    with pytest.raises(InputError, match="no 'group' column"):
        laplace_fit(ipd, seed=1, arm="group")
    with pytest.raises(InputError, match="positive"):
        laplace_fit(ipd.assign(time=0.0), seed=1)
    with pytest.raises(InputError, match="unknown family"):
        laplace_fit(ipd, "weibul", seed=1)


def test_same_seed_same_draws():
    ipd = _trial()
    a = laplace_fit(ipd, seed=5, draws=50)
    assert a.identical(laplace_fit(ipd, seed=5, draws=50))
    assert not a["log_hr"].equals(laplace_fit(ipd, seed=6, draws=50)["log_hr"])


@pytest.mark.parametrize("family", ["weibull", "lognormal", "gengamma"])
def test_max_loglik_is_the_ipd_terms_numpy_twin_at_the_mode(family):
    """laplace has no likelihood of its own: its maximum is the IPD term's NumPy twin (the one
    predictor, as NUTS, LOO and AIC/BIC use it) at the mode, and equals the family's own
    ``event log h + log S`` with the arm effect applied by hand (PH: h0 e^b; AFT: t e^-b)."""
    from bayesurv.survival import terms
    from bayesurv.survival.data import prepare
    from bayesurv.survival.structure import ModelSpec, parameters

    ipd = _trial()
    post = laplace_fit(ipd, family, seed=1, draws=10)
    spec, d, _ = prepare(ModelSpec(hazard=family, arm="arm", arms=("control", "treated")), ipd)
    names = [p.name for p in parameters(spec)]
    assert post.attrs["parameters"] == names
    mode = post.attrs["mode"]
    raw = {n: np.array([[v]]) for n, v in zip(names, mode, strict=True)}
    twin = float(np.sum(terms.loglik(NP, spec, raw, d, pointwise=True)["ipd"]))
    assert post.attrs["max_loglik"] == pytest.approx(twin, abs=1e-10)
    fam = get_family(family)
    p0 = fam.natural(NP, dict(zip(names[:-1], mode[:-1], strict=True)), np.log(ipd.time.median()))
    p1 = (fam.ph if post.attrs["effect"] == "ph" else fam.aft)(p0, mode[-1])
    x = (ipd["arm"] == "treated").to_numpy()
    t, ev = ipd["time"].to_numpy(float), ipd["event"].to_numpy(float)
    by_hand = sum(
        float(np.sum(fam.loglik(NP, t[sel], ev[sel], None, **p))) for sel, p in ((~x, p0), (x, p1))
    )
    assert post.attrs["max_loglik"] == pytest.approx(by_hand, abs=1e-10)
    # and it is the maximum: lifelines' MLE of the same model (Weibull PH = Weibull AFT)
    if family != "gengamma":
        from lifelines import LogNormalAFTFitter, WeibullAFTFitter

        ref = {"weibull": WeibullAFTFitter, "lognormal": LogNormalAFTFitter}[family]()
        ref.fit(ipd.assign(x=x.astype(float)).drop(columns="arm"), "time", "event")
        assert post.attrs["max_loglik"] == pytest.approx(ref.log_likelihood_, abs=1e-4)
        assert post.attrs["max_loglik"] >= ref.log_likelihood_ - 1e-9
