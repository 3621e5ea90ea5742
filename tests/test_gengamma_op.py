"""The generalized gamma's numba Op (bayesurv.survival.gengamma_op) against the PyTensor graph of
families._gg_edgeworth / _gg_exact (every branch, joined by switch), the NumPy twin, and central
finite differences of that twin for its derivatives."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from bayesurv.survival import families as F
from bayesurv.survival import gengamma_op
from bayesurv.survival.gengamma_op import gg_log_parts

QS = np.array([-2, -0.5, -0.02, -0.011, -1e-4, 0.0, 1e-4, 0.011, 0.02, 0.5, 2.0])
WS = np.linspace(-8.0, 8.0, 33)
W, Q = (a.ravel() for a in np.meshgrid(WS, QS))


def _graph(w, q):
    small = pt.abs(q) < F.GENGAMMA_Q_SERIES
    ls_e, lf_e = F._gg_exact(F.PT, w, q)
    ls_s, lf_s = F._gg_edgeworth(F.PT, w, pt.switch(small, q, 0.0))
    return pt.switch(small, ls_s, ls_e), pt.switch(small, lf_s, lf_e)


@pytest.fixture(scope="module")
def evaluated():
    w, q = pt.dvector("w"), pt.dvector("q")
    op_S, op_f = gg_log_parts(w, q)
    gr_S, gr_f = _graph(w, q)
    outs = [op_S, op_f, gr_S, gr_f]
    for a, b in ((op_S, gr_S), (op_f, gr_f)):
        outs += pytensor.grad(a.sum(), [w, q]) + pytensor.grad(b.sum(), [w, q])
    fn = pytensor.function([w, q], outs, mode="NUMBA")
    return fn(W, Q)


def _numpy_parts(w, q):
    # t = e^w with mu = 0, sigma = 1: log f_T = log f_W - w
    log_S, log_f = F._gg_parts(F.NP, np.exp(w), 0.0, 1.0, q)
    return log_S, log_f + w


def _rel(a, b):
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-300)


def test_values_equal_the_graph_and_the_numpy_twin(evaluated):
    op_S, op_f, gr_S, gr_f = evaluated[:4]
    np_S, np_f = _numpy_parts(W, Q)
    for got, *refs in ((op_S, gr_S, np_S), (op_f, gr_f, np_f)):
        assert np.all(np.isfinite(got))
        for ref in refs:
            assert np.max(_rel(got, ref)) < 1e-10


def test_single_outputs_equal_the_pair():
    w, q = pt.dvector("w"), pt.dvector("q")
    both = gg_log_parts(w, q)
    only_S = gg_log_parts(w, q, want_f=False)
    only_f = gg_log_parts(w, q, want_S=False)
    assert only_S[1] is None and only_f[0] is None
    fn = pytensor.function([w, q], [*both, only_S[0], only_f[1]], mode="NUMBA")
    s, f, s1, f1 = fn(W, Q)
    np.testing.assert_array_equal(s, s1)
    np.testing.assert_array_equal(f, f1)


@pytest.mark.parametrize("which", ["S", "f"])
def test_gradient_equals_finite_differences_and_the_graph(evaluated, which):
    k = 0 if which == "S" else 1
    op_w, op_q, gr_w, gr_q = evaluated[4 + 4 * k : 8 + 4 * k]
    h = 1e-5

    def val(w, q):
        return _numpy_parts(w, q)[k]

    fd_w = (val(W + h, Q) - val(W - h, Q)) / (2 * h)
    # steps that stay on one side of the Edgeworth threshold (|Q| = 0.01) and of Q = 0
    hq = np.where(np.abs(Q) < F.GENGAMMA_Q_SERIES, 1e-6, np.minimum(1e-5, np.abs(Q) * 1e-3))
    fd_q = (val(W, Q + hq) - val(W, Q - hq)) / (2 * hq)
    for got, fd, ref in ((op_w, fd_w, gr_w), (op_q, fd_q, gr_q)):
        assert np.all(np.isfinite(got))
        scale = np.maximum(np.abs(ref), 1.0)
        assert np.max(np.abs(got - ref) / scale) < 1e-6
        # the finite differences carry the value's rounding (about 1e-11 at |Q| = 0.011,
        # where g log g - lgamma(g) cancels) divided by the step
        assert np.max(np.abs(got - fd) / scale) < 2e-5


def test_far_tail_branch_and_its_gradient():
    """Where Q(g, u) or P(g, u) underflows (the _gg_log_tail branch), in both signs of Q."""
    w, q = pt.dvector("w"), pt.dvector("q")
    ws = np.array([20.0, 30.0, 400.0, 600.0])
    qs = np.array([0.5, 0.5, -0.5, -0.5])
    op_S, _ = gg_log_parts(w, q, want_f=False)
    gr_S, _ = _graph(w, q)
    fn = pytensor.function(
        [w, q], [op_S, gr_S, *pytensor.grad(op_S.sum(), [w, q]), *pytensor.grad(gr_S.sum(), [w, q])]
    )
    s, s_ref, dw, dq, dw_ref, dq_ref = fn(ws, qs)
    assert np.all(s < np.log(1e-250))  # really the tail
    np.testing.assert_allclose(s, s_ref, rtol=1e-12)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-9)
    np.testing.assert_allclose(dq, dq_ref, rtol=1e-9)


def test_the_op_branches_where_the_graph_does():
    """The Op keeps its own copy of the Edgeworth threshold (families imports the Op, so the Op
    cannot import families): the two must be one number."""
    assert gengamma_op.GENGAMMA_Q_SERIES == F.GENGAMMA_Q_SERIES
    assert gengamma_op.LOG_2PI == F.LOG_2PI
