"""The one interval helper: equal-tailed quantiles of the draws, the width set once."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayesurv.errors import InputError
from bayesurv.intervals import ci_width, interval, summary, table, width


def test_interval_is_the_equal_tailed_quantiles():
    # 200,000 standard normal draws: the 95% limits are -/+1.959964 within Monte Carlo error
    # (sd of a sample quantile: sqrt(p (1 - p) / n) / phi(z) = 0.006 at 2.5%, 0.0028 at 50%,
    # 0.0038 at 90%; tolerances about 3.5 sd)
    x = np.random.default_rng(3).normal(size=(4, 50_000))
    s = summary(x)
    assert s["lower"] == pytest.approx(-1.959964, abs=0.02)
    assert s["upper"] == pytest.approx(1.959964, abs=0.02)
    assert s["median"] == pytest.approx(0.0, abs=0.01)
    with ci_width(0.8):
        assert summary(x)["upper"] == pytest.approx(stats.norm.ppf(0.9), abs=0.013)
        assert width() == 0.8
    assert width() == 0.95  # restored after the block
    assert summary(x, ci=0.5)["lower"] == pytest.approx(float(np.quantile(x, 0.25)), rel=1e-9)


def test_interval_keeps_other_dims_and_infinite_draws():
    da = xr.DataArray(
        np.stack([np.arange(1000.0), np.full(1000, np.inf)], axis=-1)[None],
        dims=("chain", "draw", "arm"),
        coords={"arm": ["finite", "infinite"]},
    )
    q = interval(da)
    assert float(q["median"].sel(arm="finite")) == pytest.approx(499.5)
    assert float(q["lower"].sel(arm="finite")) == pytest.approx(np.quantile(np.arange(1000), 0.025))
    assert np.isinf(q["upper"].sel(arm="infinite")) and np.isinf(q["median"].sel(arm="infinite"))
    rows = table(da)
    assert list(rows.columns) == ["arm", "median", "lower", "upper"]
    assert rows["arm"].tolist() == ["finite", "infinite"]


@pytest.mark.parametrize("bad", [0, 1, 1.5, "wide", None])
def test_bad_width_is_one_sentence(bad):
    with pytest.raises(InputError, match="must lie in"):
        with ci_width(bad if bad is not None else "x"):
            pass
