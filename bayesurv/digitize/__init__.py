"""Digitize Kaplan-Meier figures: figure image -> one step curve per arm, plus censor marks.

The picture is read with a model of how a Kaplan-Meier plot is drawn: a frame of dark axis lines
whose extent is the axis ranges, and per arm a non-increasing step function drawn in one colour as
horizontal plateaus joined by vertical drops, possibly with short vertical censor ticks. Pixel
``p`` maps to data linearly, ``v = v0 + (p - p0)(v1 - v0)/(p1 - p0)``, through the frame edges or
two calibration points per axis.

Measured (``benchmarks/bench_digitize.py``, 800x600 figures drawn from lifelines' real IPD): the
digitized curve is within 0.0005-0.0025 of the true Kaplan-Meier curve (mean absolute
difference), and the Cox HR after :func:`bayesurv.reconstruct.reconstruct` within 0-2%.

Limits: the axis ranges must be the frame's extent (else give two calibration points per axis);
a curve hidden at its start is taken to start at S = 1; large '+' censor marks crowding a
falling stretch blur it (about 0.003 mean error instead of 0.002); ticks crowded closer than
their own width are counted as one mark; a tick on a curve's very last drop is read as part of
the drop; arms sharing one colour are told apart only as one solid and one dashed curve (with
dense censor ticks on both, the dashed one reads to about 0.007, and with R's '+' marks on
GBSG2 to 0.03); shaded confidence bands are ignored, not read. R's ``plot.survfit`` PNGs
(``tests/test_digitize_r.py``) read to 0.0008-0.0021.

The axes, the arms' names and the numbers-at-risk table are read from the figure's text by
OCR (:mod:`.ocr`, :mod:`.axes`, :mod:`.legend`, :mod:`.table`): ``x_range``/``y_range`` are
optional overrides in axis values (the first and last tick's), no longer required.
:func:`bayesurv.reconstruct_figure` goes on to the IPD of every arm.

Modules, one job each: :mod:`.image` (load PNG/JPEG/PDF page), :mod:`.ocr` (words by OCR),
:mod:`.axes` (axis lines, ticks, labels, calibration), :mod:`.frame` (pixel-to-data maps),
:mod:`.legend` (arm names, text mask), :mod:`.arms` (separate arms by colour or line style),
:mod:`.trace` (step-curve trace), :mod:`.censor` (censor marks), :mod:`.table` (numbers at
risk), :mod:`.panels` (multi-panel figures), :mod:`.overlay` (what was read, drawn over the
figure), :mod:`.figure` (the pipeline), :mod:`.testing` and :mod:`.styles` (figures with known
truth).

Examples
--------
>>> from bayesurv.digitize import digitize_file
>>> result = digitize_file("km.png")  # doctest: +SKIP
>>> result.curves["Placebo"], result.at_risk("Placebo")  # doctest: +SKIP
"""

from bayesurv.digitize.figure import Digitized, digitize, digitize_file
from bayesurv.digitize.image import load_image

__all__ = ["Digitized", "digitize", "digitize_file", "load_image"]
