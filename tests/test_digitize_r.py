"""Round trip through R: real IPD -> R's ``plot.survfit`` PNG -> digitize -> compare with the truth.

The other round trips draw their figures with matplotlib; these are drawn by R (survival's
``plot(survfit(...))`` on the ``png()`` device, 800x600 at 100 dpi, ``lwd = 2``), which renders
differently: a one-pixel box drawn between two pixel rows (two grey rows, darker only under the
axis line, which ends at the last tick), '+' censor marks, dashes of ``lty = 2``, and dotted
``grid()`` lines. ``xaxs = "i"``/``yaxs = "i"`` make the box the axis ranges, and R prints the
box's device coordinates (``grconvertX``/``grconvertY`` of ``par("usr")``), so the frame the
digitizer finds is checked too.

Data (lifelines.datasets): GBSG2 by hormone therapy (440 / 246 patients, months = days /
30.4375) and Rossi by financial aid (216 / 216, weeks). Target: mean |digitized - KM| <= 0.005
per arm on a fine grid within follow-up (KM from lifelines), and the Cox HR after digitize ->
reconstruct (true numbers at risk every 12 months / 10 weeks, true total events) within 3% of
the HR of the original IPD. Known misses are strict xfails with the measured number.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter, datasets

from bayesurv.digitize import digitize_file
from bayesurv.emulate import at_risk_table
from bayesurv.nonparametric import cox_hazard_ratio
from bayesurv.reconstruct import reconstruct


def _r_with_survival() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = "quit(status = if (requireNamespace('survival', quietly = TRUE)) 0 else 1)"
    return subprocess.run(["Rscript", "-e", probe], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(
    not _r_with_survival(),
    reason="needs R: Rscript with the survival package (.ci/run installs r-base-core and "
    "r-cran-survival)",
)

#: Draws every style of STYLES from args[1] (CSV time,event,arm) into args[2]/<style>.png with
#: xlim c(0, args[3]); prints per style: name, then the box in device pixels (left right top
#: bottom; pixel edges at whole numbers, so pixel centre c is at device c + 0.5).
R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
fit <- survfit(Surv(time, event) ~ arm, data = d)
styles <- read.csv(args[4], stringsAsFactors = FALSE)
for (i in seq_len(nrow(styles))) {
  s <- styles[i, ]
  png(file.path(args[2], paste0(s$name, ".png")), width = 800, height = 600, res = 100)
  plot(fit, col = strsplit(s$col, " ")[[1]], lty = as.integer(strsplit(s$lty, " ")[[1]]),
       lwd = 2, mark.time = as.logical(s$marks), xlim = c(0, as.numeric(args[3])), ylim = c(0, 1),
       xaxs = "i", yaxs = "i", xlab = "Time", ylab = "Survival probability")
  if (as.logical(s$grid)) grid()
  u <- par("usr")
  cat(s$name, grconvertX(u[1:2], "user", "device"), grconvertY(u[4:3], "user", "device"), "\n")
  invisible(dev.off())
}
"""

RED, BLUE, BLACK = (255, 0, 0), (0, 0, 255), (0, 0, 0)

# name: (R colours, R line types, censor marks, grid, each arm's (colour, style))
STYLES = {
    "colour_censor_marks": ("red blue", "1 1", True, False, [(RED, "solid"), (BLUE, "solid")]),
    "colour_no_marks": ("red blue", "1 1", False, False, [(RED, "solid"), (BLUE, "solid")]),
    "greyscale_solid_dashed": (
        "black black",
        "1 2",
        False,
        False,
        [(BLACK, "solid"), (BLACK, "dashed")],
    ),
    "greyscale_solid_dashed_marks": (
        "black black",
        "1 2",
        True,
        False,
        [(BLACK, "solid"), (BLACK, "dashed")],
    ),
    "grid_lines_censor_marks": ("red blue", "1 1", True, True, [(RED, "solid"), (BLUE, "solid")]),
}

# name: (loader, split by, time column, event column, divide time by, x axis end, NAR every)
DATA = {
    "gbsg2_horth": (datasets.load_gbsg2, "horTh", "time", "cens", 30.4375, 90.0, 12.0),
    "rossi_fin": (datasets.load_rossi, "fin", "week", "arrest", 1.0, 60.0, 10.0),
}

KNOWN_ROUGH = {
    # Two black arms, solid and dashed, both strewn with R's '+' marks (GBSG2: 387 censorings,
    # most in mid follow-up): the marks bridge the dashes and where the arms run close (the first
    # two years) the dashed trace is pulled onto the solid curve. Measured 0.0053 (solid) and
    # 0.031 (dashed); the same style on Rossi (marks only at week 52) reads to 0.0015.
    ("gbsg2_horth", "greyscale_solid_dashed_marks"): "0.0053 solid / 0.031 dashed",
}

KNOWN_ROUGH_HR = {
    # The dashed Rossi arm reads to 0.0015, but its drops around weeks 12-16 fall in dash gaps and
    # are misplaced by a week or so (48 events in all), and with those drops off whole weeks
    # reconstruct does not detect the weekly time unit, so event times do not tie with the other
    # arm's: measured HR +6.5% (+3.9% with time_unit=1).
    ("rossi_fin", "greyscale_solid_dashed"): "HR +6.5%",
}


def _arms(data: str) -> list[tuple[np.ndarray, np.ndarray]]:
    load, by, time_col, event_col, unit, _, _ = DATA[data]
    df = load()
    return [
        (g[time_col].to_numpy(float) / unit, g[event_col].to_numpy(int)) for _, g in df.groupby(by)
    ]


@pytest.fixture(scope="module")
def r_figures(tmp_path_factory):
    """data name -> (arms, {style: (png path, R's box in pixel-centre coordinates)})."""
    out = {}
    for data, (*_, x_end, _every) in DATA.items():
        folder = tmp_path_factory.mktemp(f"r_{data}")
        arms = _arms(data)
        ipd = pd.concat(
            [pd.DataFrame({"time": t, "event": e, "arm": k}) for k, (t, e) in enumerate(arms)]
        )
        ipd.to_csv(folder / "ipd.csv", index=False)
        pd.DataFrame(
            [
                {"name": n, "col": c, "lty": lt, "marks": m, "grid": g}
                for n, (c, lt, m, g, _) in STYLES.items()
            ]
        ).to_csv(folder / "styles.csv", index=False)
        done = subprocess.run(
            [
                "Rscript",
                "-e",
                R_SCRIPT,
                str(folder / "ipd.csv"),
                str(folder),
                f"{x_end:g}",
                str(folder / "styles.csv"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        boxes = {}
        for line in done.stdout.split("\n"):
            parts = line.split()
            if len(parts) == 5 and parts[0] in STYLES:
                boxes[parts[0]] = [float(v) - 0.5 for v in parts[1:]]
        assert set(boxes) == set(STYLES), done.stdout
        out[data] = (arms, {s: (folder / f"{s}.png", boxes[s]) for s in STYLES})
    return out


def _digitize(r_figures, data, style):
    """Read with no option: the axes from R's turned y tick labels and its tick marks."""
    arms, figures = r_figures[data]
    path, box = figures[style]
    result = digitize_file(path, n_arms=len(arms))
    return arms, box, result


def _arm_for(result, color, style) -> str:
    """The digitized arm nearest ``color``, and of ``style`` where two arms share a colour."""
    names = list(result.colors)
    target = np.array(color, dtype=float)

    def gap(name):
        rgb = np.array([int(result.colors[name][i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
        return np.abs(rgb - target).sum() + (0.0 if result.styles[name] == style else 40.0)

    return min(names, key=gap)


def _step_at(curve, grid):
    index = np.searchsorted(curve["time"].to_numpy(), grid, side="right") - 1
    return curve["survival"].to_numpy()[np.clip(index, 0, None)]


def _mean_abs_errors(arms, result, drawn) -> list[float]:
    errors = []
    for (time, event), (color, style) in zip(arms, drawn, strict=True):
        curve = result.curves[_arm_for(result, color, style)]
        grid = np.linspace(0.0, time.max(), 4000)
        truth = KaplanMeierFitter().fit(time, event).survival_function_at_times(grid).to_numpy()
        errors.append(float(np.abs(_step_at(curve, grid) - truth).mean()))
    return errors


def _cases():
    for data in DATA:
        for style in STYLES:
            marks = ()
            if (data, style) in KNOWN_ROUGH:
                reason = f"known digitizer limit, measured {KNOWN_ROUGH[data, style]}"
                marks = (pytest.mark.xfail(strict=True, reason=reason),)
            yield pytest.param(data, style, id=f"{data}-{style}", marks=marks)


@pytest.mark.parametrize(("data", "style"), list(_cases()))
@pytest.mark.slow
def test_r_plot_survfit_round_trip(r_figures, data, style):
    arms, box, result = _digitize(r_figures, data, style)
    frame = result.frame
    found = [frame.left, frame.right, frame.top, frame.bottom]
    assert np.allclose(found, box, atol=0.5), (found, box)
    assert frame.boxed
    # xaxs = yaxs = "i": R's box is (0, x end) by (0, 1); the calibration read from the tick
    # labels and marks puts those values within a tenth of a pixel of it.
    left, right, top, bottom = box
    x_end = DATA[data][5]
    assert result.axes.y.source == "tick labels"
    used = [t.value for t in result.axes.y.ticks if t.used]
    assert len(used) >= 5 and set(used) <= {1.0, 0.8, 0.6, 0.4, 0.2, 0.0}, used
    assert result.axes.x.to_pixel([0.0, x_end]) == pytest.approx([left, right], abs=0.1)
    assert result.axes.y.to_pixel([1.0, 0.0]) == pytest.approx([top, bottom], abs=0.1)
    assert len(result.curves) == len(arms)
    errors = _mean_abs_errors(arms, result, STYLES[style][4])
    assert max(errors) <= 0.005, f"{data}/{style}: mean |digitized - KM| per arm = {errors}"


def _hr_cases():
    for data in DATA:
        for style in ("colour_censor_marks", "greyscale_solid_dashed"):
            marks = ()
            if (data, style) in KNOWN_ROUGH_HR:
                reason = f"known limit, measured {KNOWN_ROUGH_HR[data, style]}"
                marks = (pytest.mark.xfail(strict=True, reason=reason),)
            yield pytest.param(data, style, id=f"{data}-{style}", marks=marks)


@pytest.mark.parametrize(("data", "style"), list(_hr_cases()))
@pytest.mark.slow
def test_r_figure_to_reconstructed_cox_hr(r_figures, data, style):
    arms, _, result = _digitize(r_figures, data, style)
    every = DATA[data][6]
    times, events, groups = [], [], []
    for k, ((time, event), (color, line)) in enumerate(zip(arms, STYLES[style][4], strict=True)):
        curve = result.curves[_arm_for(result, color, line)]
        nar = at_risk_table(time, np.arange(0.0, time.max(), every))
        ipd = reconstruct(curve, nar, total_events=int(event.sum())).ipd
        assert len(ipd) == len(time)
        assert int(ipd["event"].sum()) == int(event.sum())
        times.append(ipd["time"].to_numpy(float))
        events.append(ipd["event"].to_numpy(int))
        groups.append(np.full(len(ipd), k))
    true_hr = cox_hazard_ratio(
        np.concatenate([t for t, _ in arms]),
        np.concatenate([e for _, e in arms]),
        np.concatenate([np.full(len(t), k) for k, (t, _) in enumerate(arms)]),
    )["hr"]
    rebuilt_hr = cox_hazard_ratio(
        np.concatenate(times), np.concatenate(events), np.concatenate(groups)
    )["hr"]
    assert abs(rebuilt_hr / true_hr - 1.0) <= 0.03, (data, style, true_hr, rebuilt_hr)
