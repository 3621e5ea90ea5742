"""Cure models as excess hazards: one formula for NumPy and PyTensor.

From the uncured log hazard ``log h_u``, log survival ``log S_u`` and the cure fraction's linear
predictor ``eta`` (``pi = logistic(eta)``):

    none          S_exc = S_u                          h_exc = h_u
    mixture       S_exc = pi + (1 - pi) S_u            h_exc = (1 - pi) h_u S_u / S_exc
    non-mixture   S_exc = pi ^ (1 - S_u)               h_exc = -log(pi) h_u S_u

(mixture: Boag 1949, Berkson and Gage 1952; non-mixture or promotion time: Yakovlev and Tsodikov
1996, as in flexsurvcure's ``mixture = FALSE``). All logs are taken in stable forms (log-sum-exp,
softplus) so the likelihood stays finite for any parameters. ``m`` is the math namespace
(:data:`bayesurv.survival.families.NP` or ``PT``).
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the doctests use it)

CURES = ("none", "mixture", "non-mixture")


def excess(m, cure: str, log_h_u, log_s_u, cure_lin=None, log_pi=None):
    """``(log h_exc, H_exc)`` from the uncured log hazard and log survival and the cure
    fraction's linear predictor (logit scale), for the three cure models (see module docstring);
    ``log_pi`` may give :func:`log_fractions` already computed.

    Examples
    --------
    >>> from bayesurv.survival.families import NP
    >>> lh, H = excess(NP, "mixture", np.log(0.2), -1.0, cure_lin=0.0)      # pi = 0.5
    >>> round(float(H), 6), round(float(-np.log(0.5 + 0.5 * np.exp(-1.0))), 6)
    (0.379885, 0.379885)
    """
    if cure == "none":
        return log_h_u, -log_s_u
    if log_pi is None:
        log_pi = log_fractions(m, cure_lin)
    log_pi, log_1m_pi = log_pi
    if cure == "mixture":
        # log S_exc = log(pi + (1 - pi) S_u); h_exc = (1 - pi) f_u / S_exc
        a, b = log_pi, log_1m_pi + log_s_u
        log_s_exc = m.logaddexp(a, b)
        return log_1m_pi + log_h_u + log_s_u - log_s_exc, -log_s_exc
    # non-mixture: H_exc = -log(pi) F_u(t); h_exc = -log(pi) f_u(t)
    neg_log_pi = -log_pi
    return (
        m.log(neg_log_pi) + log_h_u + log_s_u,
        neg_log_pi * (-m.expm1(log_s_u)),
    )


def log_fractions(m, cure_lin):
    """``(log pi, log(1 - pi))`` from the cure fraction's logit ``cure_lin`` (a ``log_pi``
    argument of :func:`excess`, computed once per profile rather than per time point)."""
    return -m.softplus(-cure_lin), -m.softplus(cure_lin)
