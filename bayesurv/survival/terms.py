"""Every likelihood term, on the one predictor (:mod:`bayesurv.survival.predictor`).

One function, :func:`loglik`, gives each term's log-likelihood with PyTensor (the model's
potential, summed) or NumPy (its twin: one value per patient or reported number, for LOO, the
MLE and the tests). Patient-level data enter through each patient's own hazard; every other
kind of evidence through the cohort's ``S_a(t)`` and ``h_a(t)`` at fixed points (evaluated once
for all the terms)::

    ipd          d log h(t) - H(t) + H(entry)                      (h with background: smr h_pop
                                                                     + h_exc; entry 0 adds 0)
                 = d log f(t) + (1 - d) log S(t) + H(entry)         (spec.density_path: summed)
    landmarks    cloglog S_hat ~ N(log H_a(t), se^2)               (reported KM with its CI)
    events       D ~ Binomial(n, 1 - sum_k w_k S_a(c_k))           (uniform potential follow-up)
    hazard_ratios log HR_hat ~ N(sum w f (log h_1 - log h_0) / sum w f, se^2)
                 f = r_0 f_0 + r_1 f_1 (the arms' event densities), w = GL weight x P(C > t)
    medians      log L = log phi((log H(m) - log log 2) / (b se)) - log se,  b = m h(m) / H(m)
    external     log C(n, d) + d log(1 - S_a(t)) - (n - d) H_a(t)  (binomial equivalent)
    registry     log C(n, d) + d log(1 - e^-dH) - (n - d) dH,  dH = H_a(stop) - H_a(start)

(:mod:`bayesurv.evidence.reported` reads the numbers and documents each term's derivation;
:mod:`bayesurv.survival.evidence` builds the arrays these terms take.)
"""

from __future__ import annotations

import numpy as np

from bayesurv.survival import predictor as P
from bayesurv.survival.families import LOG_2PI, LOG_LOG2

#: the reported terms, in the order of the ``reported`` log-likelihood
REPORTED = ("landmarks", "events", "hazard_ratios", "medians", "external", "registry")


def _at(m, a, i):
    """``a`` (points on its last axis) at point indices ``i`` of any shape."""
    return a[..., i] if m.name == "numpy" else a[i]


def _log_choose(m, n, d):
    return m.gammaln(n + 1.0) - m.gammaln(d + 1.0) - m.gammaln(n - d + 1.0)


def _clip(m, x, lo, hi):
    return m.where(x < lo, lo, m.where(x > hi, hi, x))


def profiles(m, spec, raw, d):
    """The profiles' parameters (:func:`bayesurv.survival.predictor.profile_params`)."""
    prof = {k[5:]: v for k, v in d.items() if k.startswith("prof_")}
    return P.profile_params(m, spec, raw, prof, d["log_t_ref"])


def smr_of(raw, d):
    """The SMR: sampled (an SMR prior), else the population's fixed one (1 without)."""
    return raw["smr"] if "smr" in raw else d.get("smr", 1.0)


def n_patterns(m, spec, d):
    n = d["prof_arm"].shape[-1] if m.name == "numpy" else d["prof_arm"].shape[0]
    return n // 2 if spec.two_arms else n


def ipd(m, spec, raw, pp, d, smr, pointwise: bool):
    """Patients' ``d log h(t) - H(t) + H(entry)``: per patient (pointwise) or summed."""
    G = n_patterns(m, spec, d)

    def curve(prefix, rows=None):
        x = {k[len(prefix) + 2 :]: v for k, v in d.items() if k.startswith(prefix + "x_")}
        x["t"] = d[prefix + "t"]
        lh, H = P.excess(
            m, spec, raw, pp, x, d[prefix + "idx"], d[prefix + "arm"], d[prefix + "g"], G
        )
        if spec.background:
            lh, H = P.total(m, lh, H, d[prefix + "log_h_pop"], d[prefix + "H_pop"], smr)
        return lh, H

    if pointwise:  # every patient at once
        if spec.density_path:  # log f where d = 1, log S where d = 0 (NumPy: no S at events)
            ev = d["event"] > 0
            lf = P.log_density(m, spec, raw, pp, {"t": d["ev_t"]}, d["ev_idx"])
            _, Hc = curve("ce_")
            ll = np.empty(np.broadcast_shapes(lf.shape[:-1], Hc.shape[:-1]) + ev.shape)
            ll[..., ev], ll[..., ~ev] = lf, -Hc
        else:  # the event term where d = 1
            lh, H = curve("")
            ll = m.where(d["event"] > 0, lh, 0.0) - H
        if spec.entry:
            _, H0 = curve("en_")
            ll = ll + d["en_pos"] * H0
        return ll
    if spec.density_path:  # log f at the events, log S at the censored times
        x_ev = {"t": d["ev_t"]}
        total = P.log_density(m, spec, raw, pp, x_ev, d["ev_idx"]).sum() - curve("ce_")[1].sum()
    else:
        lh_ev, _ = curve("ev_")  # log h at the event times only
        _, H = curve("")
        total = lh_ev.sum() - H.sum()
    if spec.entry:
        _, H0 = curve("en_")
        total = total + (d["en_pos"] * H0).sum()
    return total


def parts(m, spec, raw, pp, d, smr) -> dict:
    """Each reported term's sampling distribution at the draws: ``{"y", "mu", "se"}`` (normal on
    the term's scale) or ``{"n", "k", "log_p", "log_q"}`` (binomial, ``q = 1 - p``), from the
    cohort's ``log S`` and ``log h`` at the points."""
    x = {k[4:]: v for k, v in d.items() if k.startswith("ptx_")}
    x["t"] = d["pt_t"]
    pop = {"idx": d["pt_idx"], "g": d["pt_g"], "n_patterns": n_patterns(m, spec, d)}
    for k in ("H_pop", "h_pop", "w", "M", "share"):
        if f"pop_{k}" in d:
            pop[k] = d[f"pop_{k}"]
    log_S, log_h = P.cohort(m, spec, raw, pp, x, d["pt_arm"], pop, smr, d.get("log_PQ"))
    H = m.maximum(-log_S, 1e-300)
    out = {}
    if "lm_i" in d:  # cloglog S_hat ~ N(log H, se^2)
        out["landmarks"] = {"y": d["lm_y"], "mu": m.log(_at(m, H, d["lm_i"])), "se": d["lm_se"]}
    if "ev_i" in d:  # 1 - p = E_C S(C)
        log_q = m.logsumexp(m.log(d["ev_w"]) + _at(m, log_S, d["ev_i"]), axis=-1)
        log_q = _clip(m, log_q, np.log(1e-9), np.log1p(-1e-9))
        out["events"] = _binomial(m, d["ev_n"], d["ev_d"], log_q)
    if "hr_i0" in d:  # the Cox-weighted average log HR
        i0, i1 = d["hr_i0"], d["hr_i1"]
        mu = cox_average(
            m,
            _at(m, log_h, i0),
            _at(m, log_h, i1),
            _at(m, log_S, i0),
            _at(m, log_S, i1),
            d["hr_w"],
            d["hr_r0"],
            d["hr_r1"],
        )
        out["hazard_ratios"] = {"y": d["hr_y"], "mu": mu, "se": d["hr_se"]}
    if "md_i" in d:  # log m_hat ~ N(log m_model by one Newton step, se^2)
        ls = _clip(m, _at(m, log_S, d["md_i"]), np.log(1e-12), np.log1p(-1e-12))
        slope = d["md_t"] * m.exp(_at(m, log_h, d["md_i"])) / -ls
        y = m.log(d["md_t"])
        out["medians"] = {"y": y, "mu": y - (m.log(-ls) - LOG_LOG2) / slope, "se": d["md_se"]}
    if "xl_i" in d:  # binomial equivalent of a landmark
        out["external"] = _binomial(m, d["xl_n"], d["xl_d"], -_at(m, H, d["xl_i"]))
    if "rg_i0" in d:  # deaths among those at risk at the interval's start
        dH = m.maximum(_at(m, H, d["rg_i1"]) - _at(m, H, d["rg_i0"]), 1e-300)
        out["registry"] = _binomial(m, d["rg_n"], d["rg_d"], -dH)
    return out


def _binomial(m, n, k, log_q) -> dict:
    """A binomial term: ``k`` of ``n`` with probability ``p = 1 - q``."""
    return {"n": n, "k": k, "log_q": log_q, "log_p": m.log(-m.expm1(log_q))}


def cox_average(m, lh0, lh1, log_S0, log_S1, w, r0, r1):
    """The event-weighted average of log(h_1 / h_0) over the nodes (last axis): weights
    ``w (r_0 f_0 + r_1 f_1)`` with ``f_a = h_a S_a`` (what a Cox fit of the cut estimates)."""
    f = r0 * m.exp(lh0 + log_S0) + r1 * m.exp(lh1 + log_S1)
    wf = w * f
    return (wf * (lh1 - lh0)).sum(axis=-1) / wf.sum(axis=-1)


def term_loglik(m, q: dict):
    """One term's log-likelihood per row from :func:`parts`."""
    if "mu" in q:
        z = (q["y"] - q["mu"]) / q["se"]
        return -0.5 * z * z - 0.5 * LOG_2PI - m.log(q["se"])
    n, k = q["n"], q["k"]
    return _log_choose(m, n, k) + k * q["log_p"] + (n - k) * q["log_q"]


def loglik(m, spec, raw, d, pointwise: bool = False) -> dict:
    """``{"ipd": ..., <reported term>: ...}``: each term's log-likelihood, per row when
    ``pointwise`` (NumPy), else the IPD's sum and the reported rows."""
    pp = profiles(m, spec, raw, d)
    smr = smr_of(raw, d)
    out = {}
    if "t" in d:
        out["ipd"] = ipd(m, spec, raw, pp, d, smr, pointwise)
    if "pt_t" in d:
        out.update({k: term_loglik(m, q) for k, q in parts(m, spec, raw, pp, d, smr).items()})
    return out
