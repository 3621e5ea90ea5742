"""A last drop on the frame's right edge, clipped by it (issue 11, the ``stata`` style).

The ``stata`` style draws Rossi by financial aid to week 50, the axis' end and the last printed
time of the table. The financial-aid arm's last drop (2 arrests at week 50 of 170 at risk,
S 0.787 -> 0.778) is drawn on the frame's edge: half a 3-pixel stroke with no plateau after it,
shorter than the ``w + 2`` rows a last drop needed. It was lost, and the other arm's (5 arrests,
S 0.718 -> 0.694) read 0.7 pixel short; the Cox HR was 2.68% off the truth, though the same
reconstruction from the true curve and table is 0.04% off.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

from bayesurv.digitize.trace import _final_drop


def _residual() -> np.ndarray:
    """What is left of an arm once its plateaus (here a 2-pixel line at rows 110-111, level
    110.5, to the last column read) are taken out: nothing, until a stroke is drawn in."""
    return np.zeros((200, 520), bool)


def test_a_short_drop_on_the_right_edge_is_the_last_drop():
    residual = _residual()
    residual[112:115, 519] = True  # the drop's stroke below the line, clipped at column 519
    got = _final_drop(residual, 518.0, 110.5, 2.0, 190.0, right=519.5, plateau_from=400.0)
    assert got is not None
    assert got[0] >= 518.0 and abs(got[1] - 114.0) <= 0.5


def test_the_same_stroke_inside_the_frame_is_no_drop():
    # away from the edge a 3-row stroke is a line's end or noise, as before: w + 2 rows needed
    residual = _residual()
    residual[112:115, 301] = True
    assert _final_drop(residual, 300.0, 110.5, 2.0, 190.0, right=519.5, plateau_from=200.0) is None


def test_a_frame_line_on_the_right_edge_is_no_drop():
    residual = _residual()
    residual[5:190, 519] = True  # the frame's right side runs on above the curve
    assert _final_drop(residual, 518.0, 110.5, 2.0, 190.0, right=519.5, plateau_from=400.0) is None


def test_the_cap_of_a_drop_just_read_on_the_edge_is_no_drop():
    # a drop read one column before the edge: its stroke's cap shows 2 rows below the new level
    # in the edge column, where the line goes on (the cumulative-incidence style at week 52)
    residual = _residual()
    residual[112:114, 519] = True
    assert _final_drop(residual, 519.0, 110.5, 2.0, 190.0, right=519.5, plateau_from=518.5) is None


@functools.cache
def _stata():
    from bayesurv import reconstruct_figure
    from bayesurv.digitize.styles import render_style

    path = Path(tempfile.mkdtemp()) / "stata.png"
    fig = render_style("stata", path)
    return fig.truth, reconstruct_figure(path)


def test_stata_last_drops_are_read_and_the_hr_is_within_two_percent():
    from bayesurv.nonparametric import cox_hazard_ratio

    truth, rec = _stata()
    for arm in truth.arms:
        curve = rec.digitized.curves[arm]
        # the level after the last drop: the true KM's last value (what the figure draws at 50)
        s_end = float(truth.km[arm]["survival"].iloc[-1])
        assert abs(float(curve["survival"].iloc[-1]) - s_end) <= 0.003  # one pixel is 0.0028
        ipd = truth.ipd[truth.ipd["arm"] == arm]
        got = rec.ipd[rec.ipd["arm"] == arm]
        assert int(got["event"].sum()) == int(ipd["event"].sum())

    def hr(ipd):
        b = truth.arms[1]
        return cox_hazard_ratio(ipd["time"], ipd["event"], (ipd["arm"] == b).astype(int))["hr"]

    assert abs(hr(rec.ipd) / hr(truth.ipd) - 1.0) <= 0.02
