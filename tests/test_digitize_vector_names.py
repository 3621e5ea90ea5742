"""Vector-PDF legends name their arms as raster legends do (:func:`.legend.split_statistic`).

The test draws its own PDF with matplotlib: two KM step curves whose legend labels are
``Pembrolizumab: 10.4 mo (5.9-18.3)`` (a name with its printed median: the median is cut off and
kept as the arm's ``printed`` statistic) and ``Cohort 2 (2005-2010)`` (numbers in parentheses
that are no median: the name stays whole).
"""

from __future__ import annotations

import numpy as np

from bayesurv.digitize.legend import split_statistic
from bayesurv.digitize.vector import read_vector_pdf

LABELS = ["Pembrolizumab: 10.4 mo (5.9-18.3)", "Cohort 2 (2005-2010)"]


def _pdf(path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.5))
    ax = fig.subplots()
    steps = [
        ([0, 2, 4, 7, 10, 14, 20], [1.0, 0.9, 0.75, 0.6, 0.5, 0.35, 0.35]),
        ([0, 1, 3, 5, 8, 12, 20], [1.0, 0.85, 0.7, 0.5, 0.4, 0.3, 0.3]),
    ]
    for (t, s), label, colour in zip(steps, LABELS, ("#1f77b4", "#d62728"), strict=True):
        ax.step(t, s, where="post", color=colour, linewidth=1.5, label=label)
    ax.set_xlim(0, 20)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Months")
    ax.legend(loc="upper right")
    fig.savefig(path)
    return steps


def test_vector_legend_cuts_the_printed_median_off_the_name(tmp_path):
    path = tmp_path / "legend_medians.pdf"
    steps = _pdf(path)
    reading = read_vector_pdf(path)
    expected = [split_statistic(label) for label in LABELS]
    assert expected == [("Pembrolizumab", "10.4 mo (5.9-18.3)"), ("Cohort 2 (2005-2010)", "")]
    assert list(reading.curves) == [name for name, _ in expected]
    printed = {row["arm"]: row.get("printed") for row in reading.report["arms"]}
    assert printed == {"Pembrolizumab": "10.4 mo (5.9-18.3)", "Cohort 2 (2005-2010)": None}
    # the curves are still the ones drawn: the level between two drawn drops, exact to
    # single precision
    for (t, s), name in zip(steps, reading.curves, strict=True):
        curve = reading.curves[name]
        mid = 0.5 * (np.asarray(t[:-1], float) + np.asarray(t[1:], float))
        i = np.searchsorted(curve["time"].to_numpy(), mid, side="right") - 1
        np.testing.assert_allclose(curve["survival"].to_numpy()[i], s[:-1], atol=1e-5)
