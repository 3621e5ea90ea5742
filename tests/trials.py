"""Simulated trials with known truth shared by the reconstruction tests."""

from __future__ import annotations

import numpy as np


def staggered_two_arm_trial(seed: int, n: int = 200):
    """Two arms of ``n`` (HR 1 and 0.7, exponential with median 24 ln 2 months in control),
    entry uniform over 36 months with the analysis at 60 and dropout at rate 1/150: a list of
    ``(time, event)`` per arm."""
    rng = np.random.default_rng(seed)
    arms = []
    for hr in (1.0, 0.7):
        ev = rng.exponential(24 / hr, n)
        c = np.minimum(60 - rng.uniform(0, 36, n), rng.exponential(150, n))
        arms.append((np.minimum(ev, c), (ev <= c).astype(int)))
    return arms
