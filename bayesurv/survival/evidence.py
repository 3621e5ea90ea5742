"""The arrays side of the evidence other than patient-level data: what each reported term
needs beyond the checked numbers.

The reported summaries and external evidence are read and checked, and each number's standard
error derived, by :mod:`bayesurv.evidence.reported`; :mod:`bayesurv.survival.data` turns them
into term arrays with the pieces here: each landmark on the cloglog scale, its standard error
from its CI at the row's ``ci_level`` by :func:`bayesurv.evidence.ci.centre_se`
(:func:`landmark_scale`), the uniform potential follow-up of an events count by 24-point
Gauss-Legendre (:func:`followup_nodes`), the 2 x 32 nodes weighting the model's HR over a data
cut (:func:`cox_nodes`), and each arm's share of the patients (:func:`arm_shares`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayesurv.evidence.ci import centre_se, levels

_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)
ARMS = ("control", "experimental")
#: the reported terms, each switchable
TERMS = ("landmarks", "events", "hazard_ratios", "medians")
_GL32_X, _GL32_W = np.polynomial.legendre.leggauss(32)
_MEDIAN_COLUMNS = ["median", "lower", "upper"]


def _empty_medians() -> pd.DataFrame:
    return pd.DataFrame(columns=_MEDIAN_COLUMNS, dtype=float)


@dataclass(frozen=True)
class ReportedArm:
    """What was reported for one arm of one endpoint."""

    landmarks: pd.DataFrame  # time, survival, lower, upper (ci_level: optional, default 0.95)
    events: pd.DataFrame  # n, events, median_followup, max_followup (may be NaN)
    # median, lower, upper (NaN: not reached), optional ci_level
    medians: pd.DataFrame = field(default_factory=_empty_medians)


def landmark_scale(lm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each landmark estimate on the cloglog scale and its standard error from its CI at the
    row's ``ci_level`` (0.95 without one): ``(cloglog lower - cloglog upper) / (2 z)``."""
    y, se = centre_se(
        lm["survival"].to_numpy(float),
        lm["lower"].to_numpy(float),
        lm["upper"].to_numpy(float),
        levels(lm),
        "cloglog",
    )
    return np.atleast_1d(y), np.atleast_1d(se)


def _followup(median: float, maximum: float | None) -> tuple[float, float]:
    """The range ``[max(0, 2 m - M), M]`` of the uniform potential follow-up (M = 2 m if none)."""
    hi = float(maximum) if maximum is not None and np.isfinite(maximum) else 2.0 * median
    return max(0.0, 2.0 * median - hi), hi


def followup_nodes(median: float, maximum: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights (summing to 1) of the uniform potential follow-up."""
    lo, hi = _followup(median, maximum)
    return lo + (hi - lo) * (_GL_X + 1.0) / 2.0, _GL_W / 2.0


def cox_nodes(median: float, maximum: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Nodes on ``[0, M]`` and weights ``GL weight x G(t)`` (``G`` the probability of still
    being under the uniform potential follow-up of :func:`followup_nodes`), 2 x 32 points."""
    lo, hi = _followup(median, maximum)
    nodes, weights = [], []
    for a, b in ((0.0, lo), (lo, hi)):
        if b - a <= 0:
            continue
        x = a + (b - a) * (_GL32_X + 1.0) / 2.0
        nodes.append(x)
        weights.append(_GL32_W * (b - a) / 2.0)
    t, w = np.concatenate(nodes), np.concatenate(weights)
    g = np.where(t <= lo, 1.0, (hi - t) / (hi - lo))
    return t, w * g


def arm_shares(arms: dict[str, ReportedArm], labels=ARMS) -> tuple[float, float]:
    """Each arm's share of the patients (from the largest reported n; equal when unknown)."""
    n = []
    for arm in labels:
        ev = arms[arm].events
        n.append(float(ev["n"].max()) if len(ev) else np.nan)
    if not all(np.isfinite(n)) or sum(n) <= 0:
        return 0.5, 0.5
    return n[0] / sum(n), n[1] / sum(n)
