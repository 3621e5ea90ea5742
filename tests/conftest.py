"""Shared test fixtures. Every random step is seeded per test."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _numpy_error_state():
    """numpy's floating-point error state as each test found it. lifelines' KaplanMeierFitter
    calls ``np.seterr(divide="ignore", invalid="ignore")`` for the whole process, so without
    this a test that expects numpy's RuntimeWarning passed or failed by what ran before it."""
    saved = np.geterr()
    yield
    np.seterr(**saved)
