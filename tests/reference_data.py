"""Reference data sets for the cure-model checks, rebuilt offline from their published definitions.

* :func:`load_bc` -- flexsurv's ``bc`` (German Breast Cancer Study Group, 686 patients with
  node-positive breast cancer; Royston & Parmar 2002, Sauerbrei & Royston 1999). flexsurv is not
  installed here and Debian ships no ``r-cran-flexsurv``, so ``bc`` is rebuilt from the same
  patients as shipped by lifelines (``lifelines.datasets.load_gbsg2()``, MIT licence; the data
  also appear as ``GBSG2`` in R's TH.data): ``rectime`` = ``time`` (days to recurrence or death),
  ``censrec`` = ``cens``. flexsurv's help page (``man/bc.Rd``, chjackson/flexsurv) defines
  ``group`` as "Prognostic group: Good, Medium or Poor, from a regression model developed by
  Sauerbrei and Royston (1999)". We rebuild it as tertiles (Stata's ``xtile`` rule: 229 / 229 /
  228 patients, matching the group means 0.334 / 0.332 that flexsurvcure's vignette prints) of
  the prognostic index of Sauerbrei & Royston's model III (FP2 in age with powers -2, -0.5;
  grade 2-3 vs 1; exp(-0.12 x nodes); sqrt(progesterone + 1); hormonal therapy), with the
  coefficients of a Cox (Efron) fit of that model to these data (:data:`BC_PI_COEF`).
  Verified (tests/test_cure_reference.py): the intercept-only mixture-cure MLE reproduces the
  Stata output in flexsurvcure's ``tests/testthat/test_match_stata.R`` to 6 digits, and the
  ``~ group`` fit reproduces every number of the vignette's ``print(cure_model)``
  (``vignettes/flexsurvcure.html``, jrdnmdhl/flexsurvcure), log-likelihood -2580.012 included;
  swapping the two patients either side of a tertile cut moves that log-likelihood by >= 0.3.
  The tertile cuts are close (gaps of 0.0025 and 0.0005 in the index), so the coefficients are
  kept to eight digits and the test checks the group sizes.

* :func:`make_curedata` -- survextrap's ``curedata`` (``data-raw/curedata.r``, chjackson/
  survextrap): 200 people, ``x`` = 0 for the first 100 and 1 for the rest, cure probability
  ``plogis(qlogis(0.5) + 0.5 x)`` (0.5 and 0.622), uncured times Weibull(shape 1.5, scale 1.2)
  (R's ``qweibull``: S_u(t) = exp(-(t / 1.2)^1.5)), drawn one at a time with
  ``flexsurvcure::rmixsurv(qweibull, n=1, ...)`` after ``set.seed(1)``, administratively censored
  at 10. ``rmixsurv`` is ``qmixsurv(qfun, runif(n), theta)``, which (flexsurvcure
  ``R/mixture.r``) sets t = Inf when 1 - u <= theta and otherwise
  t = qfun((1 - u - theta) / (1 - theta), lower.tail = FALSE). Because that is plain arithmetic
  on R's uniforms, the default call rebuilds the published draws exactly with a port of R's
  ``set.seed`` / Mersenne-Twister ``runif`` (:func:`r_runif`; checked against ``Rscript``
  when R is installed). Caveat: exact only if the flexsurvcure version that survextrap's author
  ran had this ``qmixsurv`` (the stored copy's); the rebuilt set also agrees with survextrap's
  own test values (pooled cure fraction near 0.574). ``make_curedata(seed=k)`` gives the same
  design with numpy's generator (our own draws) for replications.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

# ---------------------------------------------------------------- bc (flexsurv)

#: Cox (Efron ties) coefficients of Sauerbrei & Royston's model III refitted to the 686 GBSG
#: patients: (age/50)^-2, (age/50)^-0.5, grade >= 2, exp(-0.12 nodes), sqrt(pgr + 1), hormon
BC_PI_COEF = np.array([1.74282212, -7.82106318, 0.51759933, -1.98186279, -0.05819284, -0.39456728])


def _gbsg2() -> pd.DataFrame:
    from lifelines.datasets import load_gbsg2  # ships the CSV; no network

    return load_gbsg2()


def bc_prognostic_index(d: pd.DataFrame) -> np.ndarray:
    """Sauerbrei & Royston (1999) model III prognostic index for GBSG2-style columns."""
    age = d["age"].to_numpy(float) / 50.0
    x = np.column_stack(
        [
            age**-2.0,
            age**-0.5,
            (d["tgrade"].astype(str) != "I").to_numpy(float),
            np.exp(-0.12 * d["pnodes"].to_numpy(float)),
            np.sqrt(d["progrec"].to_numpy(float) + 1.0),
            (d["horTh"].astype(str) == "yes").to_numpy(float),
        ]
    )
    return x @ BC_PI_COEF


def _xtile3(values: np.ndarray) -> np.ndarray:
    """Stata ``xtile, nq(3)``: cut at x_(ceil(n k / 3)) (n k / 3 not an integer here), <= cut."""
    s = np.sort(values)
    n = len(s)
    cuts = [s[int(np.ceil(n * k / 3)) - 1] for k in (1, 2)]
    return np.where(values <= cuts[0], 0, np.where(values <= cuts[1], 1, 2))


def load_bc() -> pd.DataFrame:
    """flexsurv's ``bc``: columns ``rectime`` (days), ``censrec``, ``recyrs`` (rectime / 365),
    ``group`` (categorical Good < Medium < Poor), plus ``time``/``event`` aliases and the
    GBSG2 covariates. See the module docstring for the source and the verification."""
    d = _gbsg2()
    groups = np.array(["Good", "Medium", "Poor"])[_xtile3(bc_prognostic_index(d))]
    out = pd.DataFrame(
        {
            "rectime": d["time"].to_numpy(float),
            "censrec": d["cens"].to_numpy(int),
            # flexsurv's recyrs is rectime / 365: its published log-likelihoods for ~ group (six
            # families, Royston-Parmar) are reproduced to 1e-4 with 365 and all differ by
            # 299 log(365.25 / 365) = 0.2047 with 365.25 (tests/test_survival_compare.py)
            "recyrs": d["time"].to_numpy(float) / 365.0,
            "group": pd.Categorical(groups, categories=["Good", "Medium", "Poor"], ordered=True),
        }
    )
    out["time"] = out["rectime"]
    out["event"] = out["censrec"]
    for col in ("horTh", "age", "menostat", "tsize", "tgrade", "pnodes", "progrec", "estrec"):
        out[col] = d[col].to_numpy()
    return out


# ---------------------------------------------------------------- curedata (survextrap)

CUREDATA_N = 200
CUREDATA_LOGOR = 0.5
CUREDATA_SHAPE = 1.5  # Weibull shape (R's qweibull)
CUREDATA_SCALE = 1.2  # Weibull scale (R's qweibull, AFT): S_u(t) = exp(-(t / 1.2)^1.5)
CUREDATA_CENSOR = 10.0


def r_runif(n: int, seed: int) -> np.ndarray:
    """R's ``set.seed(seed); runif(n)`` (default Mersenne-Twister, R >= 1.7).

    set.seed scrambles the seed with 50 LCG steps (69069 s + 1), fills mti and the 624-word
    state with further steps, sets mti = 624; ``unif_rand`` is genrand_int32 * 2^-32 kept
    inside (0, 1) (R's src/main/RNG.c).
    """
    s = seed & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    words = []
    for _ in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        words.append(s)
    bitgen = np.random.MT19937(0)
    bitgen.state = {
        "bit_generator": "MT19937",
        "state": {"key": np.array(words[1:], dtype=np.uint32), "pos": 624},
    }
    u = bitgen.random_raw(n).astype(np.float64) * 2.3283064365386963e-10
    i2_32m1 = 2.328306437080797e-10
    u = np.where(u <= 0.0, 0.5 * i2_32m1, u)
    return np.where(1.0 - u <= 0.0, 1.0 - 0.5 * i2_32m1, u)


def curedata_cure_fraction(x) -> np.ndarray:
    """True cure probability of curedata: plogis(qlogis(0.5) + 0.5 x)."""
    return special.expit(special.logit(0.5) + CUREDATA_LOGOR * np.asarray(x, dtype=float))


def curedata_survival(t, x) -> np.ndarray:
    """True S(t | x) = pi(x) + (1 - pi(x)) exp(-(t / 1.2)^1.5)."""
    pi = curedata_cure_fraction(x)
    t = np.asarray(t, dtype=float)
    return pi + (1 - pi) * np.exp(-((t / CUREDATA_SCALE) ** CUREDATA_SHAPE))


def make_curedata(seed: int | None = None, n: int = CUREDATA_N) -> pd.DataFrame:
    """survextrap's ``curedata``: columns ``t``, ``status``, ``x`` (plus ``time``/``event``).

    ``seed=None`` (default) rebuilds the published set (R's set.seed(1) draws, see the module
    docstring); an integer draws a new set of the same design with numpy's generator.
    """
    x = np.repeat([0.0, 1.0], [round(n / 2), n - round(n / 2)])
    theta = curedata_cure_fraction(x)
    u = r_runif(n, 1) if seed is None else np.random.default_rng(seed).uniform(size=n)
    inv_p = 1.0 - u
    uncured = inv_p > theta
    t = np.full(n, np.inf)
    p = (inv_p[uncured] - theta[uncured]) / (1 - theta[uncured])
    t[uncured] = CUREDATA_SCALE * (-np.log(p)) ** (1.0 / CUREDATA_SHAPE)
    time = np.minimum(t, CUREDATA_CENSOR)
    status = (t < CUREDATA_CENSOR).astype(int)
    return pd.DataFrame(
        {"t": time, "status": status, "x": x.astype(int), "time": time, "event": status}
    )
