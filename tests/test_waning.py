"""Treatment-effect waning: weights, hazards and cumulative hazards against closed forms."""

import numpy as np
import pytest
from scipy import integrate

from bayesurv.errors import InputError
from bayesurv.survival.waning import (
    check_waning,
    waned_cumhaz,
    waned_log_hazard,
    waning_weight,
)

LC, LT = 0.10, 0.04  # constant control and treated hazards
T1, T2 = 2.0, 5.0
B = np.log(LT / LC)
GRID = np.array([0.0, 0.5, 2.0, 3.0, 4.7, 5.0, 7.5, 12.0])


def closed_form_H(t, scheme):
    """Waned cumulative hazard for constant hazards, by hand."""
    t = np.asarray(t, dtype=float)
    pre = LT * np.minimum(t, T1)
    if scheme == "abrupt":
        return pre + LC * np.maximum(t - T1, 0)
    u = np.clip(t, T1, T2)
    D = T2 - T1
    post = LC * np.maximum(t - T2, 0)
    if scheme == "linear_hazard":  # int_{T1}^{u} (LC + (LT - LC) w(s)) ds, w = (T2 - s)/D
        iw = (D**2 - (T2 - u) ** 2) / (2 * D)
        return pre + LC * (u - T1) + (LT - LC) * iw + post
    # linear_loghr: int_{T1}^{u} LC exp(B (T2 - s)/D) ds
    return pre + LC * D / B * (np.exp(B) - np.exp(B * (T2 - u) / D)) + post


def closed_form_h(t, scheme):
    t = np.asarray(t, dtype=float)
    w = np.clip((T2 - t) / (T2 - T1), 0, 1)
    if scheme == "abrupt":
        return np.where(t < T1, LT, LC)
    if scheme == "linear_hazard":
        return w * LT + (1 - w) * LC
    return np.where(t < T1, LT, LC * np.exp(B * w))


def test_weight_endpoints_range_and_monotone():
    t = np.linspace(0, 10, 1001)
    for scheme, t2 in [("abrupt", None), ("linear_loghr", T2), ("linear_hazard", T2)]:
        w = waning_weight(np, t, scheme, T1, t2)
        assert w.min() == 0.0 and w.max() == 1.0
        assert np.all(np.diff(w) <= 0)
        assert np.all(w[t < T1] == 1.0) and np.all(w[t >= (t2 or T1)] == 0.0)
    lin = waning_weight(np, np.array([T1, (T1 + T2) / 2, T2]), "linear_loghr", T1, T2)
    np.testing.assert_array_equal(lin, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(
        waning_weight(np, np.array([T1 - 1e-12, T1]), "abrupt", T1), [1.0, 0.0]
    )


@pytest.mark.parametrize("scheme", ["abrupt", "linear_loghr", "linear_hazard"])
def test_cumhaz_closed_form_constant_hazards(scheme):
    t2 = None if scheme == "abrupt" else T2
    H = waned_cumhaz(np, GRID, lambda s: LC * s, lambda s: LT * s, scheme, T1, t2, loghr_t1=B)
    np.testing.assert_allclose(H, closed_form_H(GRID, scheme), rtol=1e-13, atol=1e-15)
    # the log hazard agrees
    lh = waned_log_hazard(np, GRID, np.log(LC), np.log(LT), scheme, T1, t2, loghr_t1=B)
    np.testing.assert_allclose(np.exp(lh), closed_form_h(GRID, scheme), rtol=1e-13)


@pytest.mark.parametrize("scheme", ["abrupt", "linear_loghr", "linear_hazard"])
def test_weibull_arms_against_quadrature(scheme):
    """Non-proportional hazards: control Weibull(1.4, 6), treated Weibull(0.8, 15)."""
    t2 = None if scheme == "abrupt" else T2

    def Hc(s):
        return (s / 6.0) ** 1.4

    def Ht(s):
        return (s / 15.0) ** 0.8

    def lhc(s):
        return np.log(1.4 / 6.0) + 0.4 * np.log(s / 6.0)

    def lht(s):
        return np.log(0.8 / 15.0) - 0.2 * np.log(s / 15.0)

    b = lht(T1) - lhc(T1)

    def h(s):
        return float(np.exp(waned_log_hazard(np, np.array(s), lhc(s), lht(s), scheme, T1, t2, b)))

    t = np.array([1.0, 3.3, 6.0, 20.0])
    H = waned_cumhaz(np, t, Hc, Ht, scheme, T1, t2, loghr_t1=b)
    for ti, Hi in zip(t, H, strict=True):
        # before t1 the integrand is h_T (singular at 0): integrate H_T exactly there
        q = Ht(min(ti, T1))
        if ti > T1:
            q += integrate.quad(
                h, T1, ti, points=[T2] if T2 < ti else None, epsabs=0, epsrel=1e-12, limit=200
            )[0]
        assert Hi == pytest.approx(q, rel=1e-10)
    # dH/dt = h away from the changes
    eps = 1e-6
    for ti in [1.0, 3.3, 6.0]:
        d = (
            waned_cumhaz(np, ti + eps, Hc, Ht, scheme, T1, t2, loghr_t1=b)
            - waned_cumhaz(np, ti - eps, Hc, Ht, scheme, T1, t2, loghr_t1=b)
        ) / (2 * eps)
        assert d == pytest.approx(h(ti), rel=1e-6)


@pytest.mark.parametrize("scheme", ["abrupt", "linear_loghr", "linear_hazard"])
def test_cumhaz_is_the_trapezoid_integral_of_the_waned_hazard_on_a_grid(scheme):
    t2 = None if scheme == "abrupt" else T2
    t = np.linspace(0, 10, 2001)  # contains T1 = 2 and T2 = 5
    # smooth hazards (Weibull shapes 2 and 3), so the trapezoid error is O(dt^2)
    hc, ht = 2 / 6 * (t / 6), 3 / 15 * (t / 15) ** 2
    b = np.log((3 / 15 * (T1 / 15) ** 2) / (2 / 6 * (T1 / 6)))
    # both hazards are 0 at t = 0 (log -inf), so the waned hazard is 0 there
    lh = waned_log_hazard(np, t[1:], np.log(hc[1:]), np.log(ht[1:]), scheme, T1, t2, b)
    h = np.concatenate([[0.0], np.exp(lh)])
    # piece by piece (the abrupt jump at T1 is a grid point): the left limit before T1
    left, right = h[:-1].copy(), h[1:].copy()
    jump = np.flatnonzero(np.isclose(t[1:], T1))
    right[jump] = ht[1:][jump] if scheme == "abrupt" else right[jump]
    trapezoid = np.concatenate([[0.0], np.cumsum(np.diff(t) * (left + right) / 2)])
    exact = waned_cumhaz(
        np, t, lambda s: (s / 6) ** 2, lambda s: (s / 15) ** 3, scheme, T1, t2, loghr_t1=b
    )
    # trapezoid error bound: T dt^2 / 12 max|h''| = 10 * 0.005^2 / 12 * ~0.005 ~ 1e-7
    np.testing.assert_allclose(trapezoid, exact, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(h[t < T1], ht[t < T1], rtol=1e-13)
    np.testing.assert_allclose(h[t >= (t2 or T1)], hc[t >= (t2 or T1)], rtol=1e-13)


def test_pytensor_matches_numpy_and_has_a_gradient():
    import pytensor
    import pytensor.tensor as pt

    rate_c = pt.scalar("rate_c")
    t = np.array([0.5, 3.0, 9.0])
    for scheme in ["linear_loghr", "linear_hazard"]:
        H = waned_cumhaz(
            pt,
            pt.as_tensor(t),
            lambda s: rate_c * s,
            lambda s: 0.5 * rate_c * s,
            scheme,
            T1,
            T2,
            loghr_t1=np.log(0.5),
        )
        f = pytensor.function([rate_c], [H, pt.grad(H.sum(), rate_c)])
        val, g = f(0.1)
        want = waned_cumhaz(
            np, t, lambda s: 0.1 * s, lambda s: 0.05 * s, scheme, T1, T2, loghr_t1=np.log(0.5)
        )
        np.testing.assert_allclose(val, want, rtol=1e-12)
        assert g == pytest.approx(want.sum() / 0.1, rel=1e-10)  # H is linear in the rate


@pytest.mark.parametrize(
    "args, match",
    [
        (("linear_loghr", 5.0, 5.0), "t2 5 is not after t1 5"),
        (("linear_loghr", 5.0, 2.0), "t2 2 is not after t1 5"),
        (("linear_hazard", -1.0, 2.0), "t1 -1 is negative"),
        (("linear_hazard", 1.0, None), "t2 is missing"),
        (("abrupt", 1.0, 2.0), "uses t1 only"),
        (("gradual", 1.0, 2.0), "scheme 'gradual' is not known"),
    ],
)
def test_bad_waning_specs(args, match):
    with pytest.raises(InputError, match=match) as e:
        check_waning(*args)
    assert str(e.value).endswith(".")


def test_bad_times_and_missing_loghr():
    with pytest.raises(InputError, match="times must be finite and >= 0"):
        waning_weight(np, np.array([-1.0, 2.0]), "abrupt", 1.0)
    with pytest.raises(InputError, match="needs loghr_t1"):
        waned_cumhaz(np, 3.0, lambda s: s, lambda s: s, "linear_loghr", 1.0, 2.0)
    with pytest.raises(InputError, match="times must be finite and >= 0"):
        waned_cumhaz(np, np.array([-1.0, 2.0]), lambda s: s, lambda s: s, "abrupt", 1.0)


def test_docstring_examples():
    import doctest
    import importlib

    res = doctest.testmod(
        importlib.import_module("bayesurv.survival.waning"),
        optionflags=doctest.NORMALIZE_WHITESPACE,
    )
    assert res.attempted > 0 and res.failed == 0


def test_with_the_family_namespaces_as_the_model_builder_will_call_it():
    """Weibull arms through bayesurv.survival.families (NP and PT give the same numbers)."""
    import pytensor.tensor as pt

    from bayesurv.survival.families import FAMILIES, NP, PT

    fam = FAMILIES["weibull"]
    pc, ptr = {"shape": 1.3, "scale": 8.0}, {"shape": 1.1, "scale": 14.0}
    t = np.array([0.5, 3.0, 4.0, 11.0])
    out = {}
    for name, m in [("np", NP), ("pt", PT)]:
        tt = t if m is NP else pt.as_tensor(t)
        if m is PT:  # float64 tensors, as the model's parameters (python floats may be float32)
            pc = {k: pt.as_tensor(np.float64(v)) for k, v in pc.items()}
            ptr = {k: pt.as_tensor(np.float64(v)) for k, v in ptr.items()}
        t1 = np.float64(T1) if m is NP else pt.as_tensor(np.float64(T1))
        b = fam.log_hazard(m, t1, **ptr) - fam.log_hazard(m, t1, **pc)
        H = waned_cumhaz(
            m,
            tt,
            lambda s, m=m, pc=pc: fam.cum_hazard(m, s, **pc),
            lambda s, m=m, ptr=ptr: fam.cum_hazard(m, s, **ptr),
            "linear_loghr",
            T1,
            T2,
            loghr_t1=b,
        )
        lh = waned_log_hazard(
            m,
            tt,
            fam.log_hazard(m, tt, **pc),
            fam.log_hazard(m, tt, **ptr),
            "linear_loghr",
            T1,
            T2,
            loghr_t1=b,
        )
        out[name] = (
            np.asarray(H if m is NP else H.eval()),
            np.asarray(lh if m is NP else lh.eval()),
        )
    np.testing.assert_allclose(out["pt"][0], out["np"][0], rtol=1e-12)
    np.testing.assert_allclose(out["pt"][1], out["np"][1], rtol=1e-12)
    # before t1 the treated arm is untouched
    assert out["np"][0][0] == pytest.approx((0.5 / 14.0) ** 1.1, rel=1e-14)


@pytest.mark.parametrize("scheme", ["linear_loghr", "linear_hazard"])
def test_accuracy_when_waning_starts_at_zero_with_an_infinite_hazard(scheme):
    """Weibull shape 0.5 arms, waning from 0 to 5: the documented 1e-6 bound."""

    def lhc(s):
        return np.log(0.5 / 6) - 0.5 * np.log(s / 6)

    def lht(s):
        return np.log(0.5 / 15) - 0.5 * np.log(s / 15)

    b = np.log(np.sqrt(6 / 15))  # log HR, constant under PH
    H = waned_cumhaz(
        np, 3.0, lambda s: (s / 6) ** 0.5, lambda s: (s / 15) ** 0.5, scheme, 0.0, 5.0, b
    )

    def h(s):
        return float(np.exp(waned_log_hazard(np, np.array(s), lhc(s), lht(s), scheme, 0.0, 5.0, b)))

    q = integrate.quad(h, 0.0, 3.0, epsabs=0, epsrel=1e-13, limit=500)[0]
    assert H == pytest.approx(q, rel=1e-6)
