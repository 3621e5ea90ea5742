"""Kaplan-Meier figures in journal styles, drawn from real IPD, with everything known about them.

Each style draws the Kaplan-Meier curves of a real data set shipped by lifelines (GBSG-2,
Rossi, NCCTG lung, Freireich leukaemia, larynx) the way a journal, a statistics package or a
slide does, with its numbers-at-risk table printed under the plot, and returns the picture with
its truth (:class:`FigureTruth`): each arm's Kaplan-Meier step function
``S(t) = prod_{t_j <= t} (1 - d_j / n_j)``, the numbers at risk ``n(t) = #{i : T_i >= t}`` at
every labelled time tick, the axis ranges and ticks as values and as pixels, the arm names and
colours, and where each piece of text was drawn. The digitizer's tests and benchmarks read
these figures back and compare.

Styles (:data:`STYLES`): ``nejm`` (open grey axes, percent scale, arm labels inside the plot),
``lancet`` (legend and HR inside, censored counts in parentheses in the table), ``jco`` (solid
vs dotted, censor ticks, 0 labelled once at the origin), ``greyscale`` (black solid vs dashed
with '+' marks), ``survminer`` (ggplot2 padding, '+' marks, coloured risk table), ``r_base``
(``plot.survfit``: box, 4% padding, y labels turned parallel to the axis), ``sas`` (PROC
LIFETEST defaults), ``stata`` (``sts graph``: tinted graph region, horizontal grid), ``bands``
(dashed 95% bands in the arms' colours), ``bands_shaded``, ``cuminc`` (cumulative incidence on a
0-40% axis), ``three_arms``, ``four_arms``, ``slide`` (median drop-lines, HR and medians in the
panel, coloured table) and ``jpeg_small`` (300 px wide, JPEG quality 60).

Pixel coordinates follow :mod:`bayesurv.digitize.frame`: column ``c`` and row ``r`` name a
pixel's centre, rows grow downwards (matplotlib's display point ``(x, y)`` is column ``x - 0.5``,
row ``height - y - 0.5``).

Examples
--------
>>> from bayesurv.digitize.styles import render_style
>>> fig = render_style("nejm")  # doctest: +SKIP
>>> fig.image.shape, fig.truth.arms  # doctest: +SKIP
((550, 770, 3), ['No hormone therapy', 'Hormone therapy'])
>>> fig = render_style("jco", "jco.pdf")  # vector PDF for the path reader  # doctest: +SKIP
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from bayesurv.nonparametric import cox_hazard_ratio, kaplan_meier, step_median, step_value

DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class Dataset:
    """Real IPD split into arms: ``(name, time, event)`` per arm, in the order drawn."""

    key: str
    label: str
    time_unit: str
    arms: tuple[tuple[str, np.ndarray, np.ndarray], ...]


def _split(df: pd.DataFrame, by, time, event, names: dict, scale: float = 1.0):
    arms = []
    for value, name in names.items():
        g = df[df[by] == value] if not callable(by) else df[by(df) == value]
        arms.append((name, g[time].to_numpy(float) / scale, g[event].to_numpy(int)))
    return tuple(arms)


def load_dataset(key: str) -> Dataset:
    """One of the real IPD sets the styles draw (lifelines.datasets), split into named arms.

    Keys: ``gbsg2_horth`` (GBSG-2 by hormone therapy, months), ``gbsg2_horth_days``,
    ``gbsg2_menostat`` (by menopausal status, months), ``gbsg2_tgrade`` (by tumour grade,
    months), ``rossi_fin`` (Rossi recidivism by financial aid, weeks), ``lung_sex`` (NCCTG lung
    by sex, months), ``lung_sex_days``, ``leukemia_rx`` (Freireich 6-MP vs placebo, weeks),
    ``larynx_stage`` (larynx cancer by stage I-IV, years).
    """
    from lifelines import datasets

    if key.startswith("gbsg2"):
        df = datasets.load_gbsg2()
        months = DAYS_PER_MONTH if not key.endswith("_days") else 1.0
        unit = "days" if key.endswith("_days") else "months"
        if key.startswith("gbsg2_horth"):
            arms = _split(
                df,
                "horTh",
                "time",
                "cens",
                {"no": "No hormone therapy", "yes": "Hormone therapy"},
                months,
            )
            return Dataset(key, "GBSG-2 by hormone therapy", unit, arms)
        if key == "gbsg2_menostat":
            names = {"Pre": "Premenopausal", "Post": "Postmenopausal"}
            arms = _split(df, "menostat", "time", "cens", names, months)
            return Dataset(key, "GBSG-2 by menopausal status", unit, arms)
        if key == "gbsg2_tgrade":
            names = {"I": "Grade I", "II": "Grade II", "III": "Grade III"}
            arms = _split(df, "tgrade", "time", "cens", names, months)
            return Dataset(key, "GBSG-2 by tumour grade", unit, arms)
    if key == "rossi_fin":
        df = datasets.load_rossi()
        names = {1: "Financial aid", 0: "No financial aid"}
        return Dataset(
            key, "Rossi by financial aid", "weeks", _split(df, "fin", "week", "arrest", names)
        )
    if key.startswith("lung_sex"):
        df = datasets.load_lung()
        scale = 1.0 if key.endswith("_days") else DAYS_PER_MONTH
        unit = "days" if key.endswith("_days") else "months"
        arms = _split(df, "sex", "time", "status", {2: "Female", 1: "Male"}, scale)
        return Dataset(key, "NCCTG lung by sex", unit, arms)
    if key == "leukemia_rx":
        df = datasets.load_leukemia()
        names = {0: "6-MP", 1: "Placebo"}
        return Dataset(
            key, "Freireich leukaemia by treatment", "weeks", _split(df, "Rx", "t", "status", names)
        )
    if key == "larynx_stage":
        df = datasets.load_larynx()
        stage = 1 + df["Stage_II"] + 2 * df["Stage_III"] + 3 * df["Stage_IV"]
        df = df.assign(stage=stage)
        names = {1: "Stage I", 2: "Stage II", 3: "Stage III", 4: "Stage IV"}
        return Dataset(
            key, "Larynx cancer by stage", "years", _split(df, "stage", "time", "death", names)
        )
    raise KeyError(f"no data set {key!r}")


@dataclass(frozen=True)
class Style:
    """How a figure is drawn (see the module docstring for the styles)."""

    name: str
    description: str
    data: str
    x_max: float
    x_step: float
    x_label: str
    y_label: str
    colors: tuple[str, ...]
    linestyles: tuple = ("-",)
    linewidth: float = 1.5
    size: tuple[float, float] = (7.0, 5.5)
    dpi: int = 100
    fmt: str = "png"
    jpeg_quality: int = 90
    font_size: float = 10.0
    percent: bool = False
    y_max: float = 1.0
    y_step: float = 0.2
    y_tick_format: str = "{:.1f}"
    y_zero_label: bool = True
    cumulative: bool = False
    box: bool = False
    spine_color: str = "black"
    spine_width: float = 1.0
    pad: float = 0.0
    grid: str | None = None
    face: str = "white"
    outer_face: str = "white"
    censor_marker: str | None = None
    censor_size: float = 6.0
    censor_color: str | None = None
    legend: str | None = None
    legend_title: str | None = None
    in_plot_labels: bool = False
    hr_text: str | None = None
    medians: bool = False
    bands: str | None = None
    nar_title: str = "No. at risk"
    nar_censored: bool = False
    nar_colored: bool = False
    y_labels_rotated: bool = False
    title: str | None = None


BLUE, RED = "#1f77b4", "#d62728"

STYLES: dict[str, Style] = {
    s.name: s
    for s in [
        Style(
            "nejm",
            "NEJM-like: open grey thin axes, percent scale, arm names inside the plot",
            "gbsg2_horth",
            96,
            12,
            "Months since randomization",
            "Recurrence-free survival (%)",
            ("#BC3C29", "#0072B5"),
            size=(7.0, 5.2),
            dpi=110,
            percent=True,
            y_max=100,
            y_step=20,
            y_tick_format="{:.0f}",
            spine_color="#8c8c8c",
            spine_width=0.8,
            in_plot_labels=True,
            nar_title="No. at Risk",
        ),
        Style(
            "lancet",
            "Lancet-like: legend and HR inside the plot, (censored) counts in the table",
            "gbsg2_menostat",
            84,
            12,
            "Time since surgery (months)",
            "Recurrence-free survival (%)",
            ("#00468B", "#ED0000"),
            size=(8.0, 5.6),
            percent=True,
            y_max=100,
            y_step=25,
            y_tick_format="{:.0f}",
            censor_marker="|",
            legend="lower left",
            hr_text="upper right",
            nar_title="Number at risk (number censored)",
            nar_censored=True,
        ),
        Style(
            "jco",
            "JCO-like: thick gold solid vs blue dotted, black censor ticks, 0 labelled once",
            "gbsg2_horth",
            84,
            12,
            "Time (months)",
            "Proportion Recurrence Free",
            ("#D4AF37", "#2166AC"),
            linestyles=("-", ":"),
            linewidth=2.6,
            size=(7.5, 5.6),
            y_zero_label=False,
            censor_marker="|",
            censor_color="black",
            legend="upper right",
            hr_text="right",
            nar_title="No. of patients at risk",
        ),
        Style(
            "greyscale",
            "greyscale: black solid vs black dashed with '+' censor marks, boxed",
            "lung_sex",
            36,
            6,
            "Months",
            "Survival probability",
            ("black", "black"),
            linestyles=("-", "--"),
            box=True,
            censor_marker="+",
            legend="lower left",
        ),
        Style(
            "survminer",
            "survminer/ggplot2: 5% axis padding, '+' marks, legend on top, coloured risk table",
            "lung_sex_days",
            1000,
            250,
            "Time in days",
            "Survival probability",
            ("#F8766D", "#00BFC4"),
            size=(7.0, 6.0),
            pad=0.05,
            y_step=0.25,
            y_tick_format="{:.2f}",
            censor_marker="+",
            legend="top",
            legend_title="Strata",
            nar_title="Number at risk",
            nar_colored=True,
        ),
        Style(
            "r_base",
            "R plot.survfit: box, 4% padding, black solid vs dashed, y labels along the axis",
            "leukemia_rx",
            35,
            5,
            "Weeks",
            "Survival",
            ("black", "black"),
            linestyles=("-", "--"),
            box=True,
            pad=0.04,
            censor_marker="+",
            y_labels_rotated=True,
            legend="upper right",
            nar_title="Number at risk",
        ),
        Style(
            "sas",
            "SAS PROC LIFETEST: box, blue and red, '+' marks, 'Censored' legend below",
            "gbsg2_horth_days",
            2800,
            400,
            "Days",
            "Survival Probability",
            ("#445694", "#A23A2E"),
            box=True,
            pad=0.02,
            censor_marker="+",
            legend="below",
            title="Product-Limit Survival Estimates",
            nar_title="Number of Subjects at Risk",
        ),
        Style(
            "stata",
            "Stata sts graph: tinted graph region, horizontal grid, navy and maroon",
            "rossi_fin",
            50,
            10,
            "analysis time",
            "",
            ("#1a476f", "#90353b"),
            y_step=0.25,
            y_tick_format="{:.2f}",
            grid="y",
            outer_face="#eaf2f3",
            legend="below",
            title="Kaplan-Meier survival estimates",
            nar_title="Number at risk",
        ),
        Style(
            "bands",
            "dashed 95% confidence bands in the arms' colours, grid, censor ticks",
            "gbsg2_menostat",
            84,
            12,
            "Time, months",
            "Cumulative survival",
            ("#66c2a5", "#fc8d62"),
            y_step=0.25,
            y_tick_format="{:.2f}",
            grid="both",
            censor_marker="|",
            bands="dashed",
            legend="top",
            nar_title="Number at risk",
            nar_colored=True,
        ),
        Style(
            "bands_shaded",
            "shaded 95% confidence bands (lifelines-like), legend inside",
            "gbsg2_horth",
            84,
            12,
            "Months",
            "Survival probability",
            (BLUE, "#ff7f0e"),
            box=True,
            bands="shaded",
            legend="lower left",
        ),
        Style(
            "cuminc",
            "cumulative incidence (1 - KM) rising on a truncated 0-40% axis",
            "rossi_fin",
            52,
            13,
            "Weeks since release",
            "Cumulative incidence of arrest (%)",
            (BLUE, RED),
            percent=True,
            y_max=40,
            y_step=10,
            y_tick_format="{:.0f}",
            cumulative=True,
            legend="upper left",
            censor_marker="|",
        ),
        Style(
            "three_arms",
            "three arms by colour, legend inside",
            "gbsg2_tgrade",
            84,
            12,
            "Months",
            "Recurrence-free survival",
            ("#1b9e77", "#d95f02", "#7570b3"),
            legend="lower left",
            censor_marker="|",
            censor_size=4.0,
        ),
        Style(
            "four_arms",
            "four arms (stage I-IV), legend on top, coloured table",
            "larynx_stage",
            10,
            2,
            "Years",
            "Overall survival",
            ("#1b9e77", "#d95f02", "#7570b3", "#e7298a"),
            size=(7.0, 6.0),
            linewidth=1.8,
            y_step=0.25,
            y_tick_format="{:.2f}",
            legend="top",
            censor_marker="|",
            nar_colored=True,
            nar_title="Number at risk",
        ),
        Style(
            "slide",
            "slide: '+' marks, median drop-lines, HR and medians in the panel, coloured table",
            "gbsg2_horth",
            84,
            6,
            "Time (months)",
            "Recurrence-free survival (%)",
            ("#4355a5", "#e8262b"),
            size=(8.0, 5.8),
            percent=True,
            y_max=100,
            y_step=10,
            y_tick_format="{:.0f}",
            censor_marker="+",
            censor_size=5.0,
            legend="upper right",
            hr_text="center right",
            medians=True,
            nar_title="No. at Risk",
            nar_colored=True,
        ),
        Style(
            "jpeg_small",
            "300 px wide JPEG at quality 60",
            "leukemia_rx",
            35,
            5,
            "Weeks",
            "Survival",
            (BLUE, RED),
            size=(3.0, 2.6),
            fmt="jpg",
            jpeg_quality=60,
            font_size=6.5,
            linewidth=1.2,
            censor_marker="|",
            censor_size=3.0,
            legend="upper right",
        ),
    ]
}
"""Every style, by name."""


@dataclass
class FigureTruth:
    """What is known about a drawn figure.

    Attributes
    ----------
    style
        Style name.
    arms
        Arm names, in drawing order (as printed in the legend and the table).
    ipd
        ``time,event,arm`` of every patient.
    km
        Arm -> ``time,survival`` Kaplan-Meier step function (first row at time 0, S = 1).
    nar
        ``time,at_risk,arm`` as printed under the figure (``censored`` too: the number censored
        since the previous printed time, printed only where the style does).
    x_range, y_range
        Axis values at the plot frame's edges (left, right; bottom, top).
    x_ticks, y_ticks
        ``value,label,px`` of every tick: px is the tick's column (x) or row (y).
    plot_px
        ``(left, top, right, bottom)`` of the plot frame in pixel centres.
    colors, linestyles
        Arm -> line colour (hex) and matplotlib line style.
    scale
        ``"percent"`` or ``"proportion"``.
    kind
        ``"survival"`` or ``"cumulative_incidence"`` (the curve drawn is ``1 - S``).
    hr
        Cox HR (Efron) of the second arm vs the first in the true IPD, with its 95% CI.
    text_px
        ``kind,text,left,top,right,bottom`` of every text drawn (legend, in-plot labels, HR
        text, tick labels, axis titles, table cells and row labels), in pixels.
    nar_px
        ``arm,time,at_risk,col,row`` of each printed table cell's centre.
    image_px
        ``(width, height)`` of the saved image.
    """

    style: str
    arms: list[str]
    ipd: pd.DataFrame
    km: dict[str, pd.DataFrame]
    nar: pd.DataFrame
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x_ticks: pd.DataFrame
    y_ticks: pd.DataFrame
    plot_px: tuple[float, float, float, float]
    colors: dict[str, str]
    linestyles: dict[str, str]
    scale: str
    kind: str
    hr: dict[str, float]
    text_px: pd.DataFrame
    nar_px: pd.DataFrame
    image_px: tuple[int, int]
    time_unit: str = ""
    medians: dict[str, float] = field(default_factory=dict)

    def survival_at(self, arm: str, times) -> np.ndarray:
        """True right-continuous KM survival of ``arm`` at ``times``."""
        km = self.km[arm]
        return step_value(km["time"], km["survival"], times)


@dataclass
class StyledFigure:
    """A drawn figure: the pixels (as saved and read back), the file, and its truth."""

    image: np.ndarray
    truth: FigureTruth
    path: Path | None = None


def _hex(color: str) -> str:
    from matplotlib.colors import to_hex

    return to_hex(color)


def _nar_table(time: np.ndarray, event: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, ...]:
    """Numbers at risk n(t) = #{T >= t} at ``at``, and censored counts since the previous time."""
    at_risk = np.array([(time >= t).sum() for t in at])
    cens_times = time[event == 0]
    edges = np.r_[-np.inf, at]
    pairs = zip(edges[:-1], edges[1:], strict=True)
    censored = np.array([((cens_times >= a) & (cens_times < b)).sum() for a, b in pairs])
    censored[0] = 0
    return at_risk, censored


def _km_steps(time, event, x_end):
    km = kaplan_meier(time, event)
    xs = np.r_[km["time"].to_numpy(), min(time.max(), x_end)]
    ys = np.r_[km["survival"].to_numpy(), km["survival"].to_numpy()[-1]]
    keep = xs <= x_end
    return xs[keep], ys[keep], km


def _greenwood_band(km: pd.DataFrame, z: float = 1.96):
    """Log-log 95% pointwise band (R survfit's and lifelines' default transform)."""
    n, d, s = km["at_risk"].to_numpy(float), km["events"].to_numpy(float), km["survival"]
    s = s.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n - d > 0, d / (n * (n - d)), 0.0)
        var = np.cumsum(term)
        log_s = np.log(s)
        se = np.sqrt(var) / np.abs(log_s)
        lower = np.exp(-np.exp(np.log(-log_s) + z * se))
        upper = np.exp(-np.exp(np.log(-log_s) - z * se))
    lower = np.where(np.isfinite(lower), lower, s)
    upper = np.where(np.isfinite(upper), upper, s)
    return lower, upper


def _px(fig, x_disp: float, y_disp: float) -> tuple[float, float]:
    """Display point -> (column, row) of the pixel-centre convention."""
    height = fig.bbox.height
    return x_disp - 0.5, height - y_disp - 0.5


def render_style(
    name: str | Style,
    path: str | Path | None = None,
    *,
    fmt: str | None = None,
    dataset: str | None = None,
) -> StyledFigure:
    """Draw a style from :data:`STYLES` (or a :class:`Style`) and return pixels and truth.

    Parameters
    ----------
    name
        Style name or a :class:`Style` (``dataclasses.replace`` a stock one to vary it).
    path
        Where to save the figure; its suffix (``.png``, ``.jpg``, ``.pdf``) sets the format.
        Without a path the figure is rendered in memory in the style's own format.
    fmt
        Format when no path is given (default: the style's).
    dataset
        Draw another data set (a :func:`load_dataset` key) in this style.

    Returns
    -------
    StyledFigure
        ``image`` is the figure as saved and read back (a PDF is rendered at the style's dpi by
        :func:`bayesurv.digitize.image.load_image`, so pixel truths stay valid).
    """
    style = STYLES[name] if isinstance(name, str) else name
    if dataset is not None:
        style = replace(style, data=dataset)
    data = load_dataset(style.data)
    if path is not None:
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
    fmt = {"jpeg": "jpg"}.get(fmt or style.fmt, fmt or style.fmt)
    fig, truth = _draw(style, data)
    buffer = io.BytesIO()
    kwargs: dict = {"format": {"jpg": "jpeg"}.get(fmt, fmt), "dpi": style.dpi}
    if fmt == "jpg":
        kwargs["pil_kwargs"] = {"quality": style.jpeg_quality}
    fig.savefig(buffer, **kwargs)
    data_bytes = buffer.getvalue()
    if path is not None:
        path.write_bytes(data_bytes)
    if fmt == "pdf":
        from bayesurv.digitize.image import load_image

        target = path
        if target is None:
            import tempfile

            with tempfile.NamedTemporaryFile(suffix=".pdf", delete=False) as tmp:
                tmp.write(data_bytes)
                target = Path(tmp.name)
        image = load_image(target, dpi=style.dpi)
        if path is None:
            target.unlink()
    else:
        with Image.open(io.BytesIO(data_bytes)) as opened:
            image = np.asarray(opened.convert("RGB"), dtype=np.uint8)
    return StyledFigure(image, truth, path)


def _draw(style: Style, data: Dataset):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import blended_transform_factory

    n_arms = len(data.arms)
    fs = style.font_size
    fig = Figure(figsize=style.size, dpi=style.dpi, facecolor=style.outer_face)
    FigureCanvasAgg(fig)
    # Room under the plot: tick labels, axis title, the table (title + one row per arm).
    line_in = fs * 1.55 / 72.0
    height_in = style.size[1]
    table_in = (n_arms + 1.3) * line_in
    bottom_in = 2.6 * line_in + table_in + (1.4 * line_in if style.legend == "below" else 0.0)
    top_in = (1.6 * line_in if style.title else 0.25) + (
        1.6 * line_in if style.legend == "top" else 0.0
    )
    # The table's row labels sit left of the first column: measure the widest one (and the
    # widest first cell) so that the plot starts right of them.
    renderer = fig.canvas.get_renderer()
    probe = fig.text(0, 0, "", fontsize=fs)
    widths = []
    for body in [a[0] for a in data.arms] + ["0000 (000)" if style.nar_censored else "0000"]:
        probe.set_text(body)
        widths.append(probe.get_window_extent(renderer).width / style.dpi)
    probe.remove()
    label_in, cell_in = max(widths[:-1]), widths[-1]
    left_in = max(0.9 + (0.0 if style.y_label else -0.2), 0.12 + label_in + 0.1 + 0.6 * cell_in)
    fig.subplots_adjust(
        left=left_in / style.size[0],
        right=1 - 0.3 / style.size[0],
        bottom=bottom_in / height_in,
        top=1 - top_in / height_in,
    )
    ax = fig.add_subplot(facecolor=style.face)
    scale = 100.0 if style.percent else 1.0
    x_lo, x_hi = 0.0, float(style.x_max)
    y_lo, y_hi = 0.0, float(style.y_max)
    pad_x, pad_y = style.pad * (x_hi - x_lo), style.pad * (y_hi - y_lo)
    x_range = (x_lo - pad_x, x_hi + pad_x)
    y_range = (y_lo - pad_y, y_hi + pad_y)

    rows = []
    kms = {}
    colors, styles, medians = {}, {}, {}
    for k, (arm, time, event) in enumerate(data.arms):
        color = style.colors[k % len(style.colors)]
        ls = style.linestyles[k % len(style.linestyles)]
        xs, ys, km = _km_steps(time, event, x_hi)
        kms[arm] = km[["time", "survival"]].reset_index(drop=True)
        medians[arm] = step_median(km["time"], km["survival"])
        curve = (1.0 - ys) if style.cumulative else ys
        if style.bands:
            lower, upper = _greenwood_band(km)
            bx = np.r_[km["time"].to_numpy(), xs[-1]]
            lo_b = np.r_[lower, lower[-1]]
            up_b = np.r_[upper, upper[-1]]
            keep = bx <= x_hi
            bx, lo_b, up_b = bx[keep], lo_b[keep], up_b[keep]
            if style.bands == "shaded":
                ax.fill_between(
                    bx, lo_b * scale, up_b * scale, step="post", color=color, alpha=0.25, lw=0
                )
            else:
                for band in (lo_b, up_b):
                    ax.step(bx, band * scale, where="post", color=color, lw=0.8, ls=(0, (3, 2)))
        ax.step(xs, curve * scale, where="post", color=color, linestyle=ls, lw=style.linewidth)
        if style.censor_marker:
            cens = np.unique(time[(event == 0) & (time <= x_hi)])
            s_c = step_value(km["time"], km["survival"], cens)
            y_c = (1.0 - s_c) if style.cumulative else s_c
            ax.plot(
                cens,
                y_c * scale,
                ls="none",
                marker=style.censor_marker,
                ms=style.censor_size,
                mew=1.0,
                color=style.censor_color or color,
            )
        colors[arm] = _hex(color)
        styles[arm] = {"-": "solid", "--": "dashed", ":": "dotted"}.get(ls, str(ls))
        rows.append(pd.DataFrame({"time": time, "event": event, "arm": arm}))

    ax.set_xlim(*x_range)
    ax.set_ylim(*y_range)
    x_ticks = np.arange(0.0, x_hi + 1e-9, style.x_step)
    y_ticks = np.arange(0.0, y_hi + 1e-9, style.y_step)
    ax.set_xticks(x_ticks)
    ax.set_xticklabels([f"{v:g}" for v in x_ticks], fontsize=fs)
    y_labels = [style.y_tick_format.format(v) for v in y_ticks]
    if not style.y_zero_label:
        y_labels[0] = ""
    ax.set_yticks(y_ticks)
    ax.set_yticklabels(
        y_labels,
        fontsize=fs,
        rotation=90 if style.y_labels_rotated else 0,
        va="center",
    )
    ax.set_xlabel(style.x_label, fontsize=fs * 1.1)
    if style.y_label:
        ax.set_ylabel(style.y_label, fontsize=fs * 1.1)
    if style.title:
        ax.set_title(style.title, fontsize=fs * 1.2, pad=fs * 0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(style.box)
    for spine in ax.spines.values():
        spine.set_color(style.spine_color)
        spine.set_linewidth(style.spine_width)
    ax.tick_params(color=style.spine_color, width=style.spine_width, direction="out")
    if style.grid:
        ax.grid(True, axis=style.grid, color="#d9d9d9", lw=0.8)
        ax.set_axisbelow(True)

    handles = ax.get_lines()
    arm_names = [a[0] for a in data.arms]
    text_artists: list[tuple[str, object]] = []
    main_lines = [ln for ln in handles if ln.get_linestyle() != "None" and ln.get_lw() > 1.0]
    if style.legend == "top":
        leg = ax.legend(
            main_lines,
            arm_names,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=n_arms,
            frameon=False,
            fontsize=fs,
            title=style.legend_title,
            title_fontsize=fs,
        )
        text_artists.append(("legend", leg))
    elif style.legend and style.legend != "below":
        leg = ax.legend(main_lines, arm_names, loc=style.legend, frameon=False, fontsize=fs)
        text_artists.append(("legend", leg))
    if style.in_plot_labels:
        for k, arm in enumerate(arm_names):
            km = kms[arm]
            t_lab = 0.72 * x_hi
            s_lab = float(step_value(km["time"], km["survival"], [t_lab])[0])
            order = np.argsort([-kms[a]["survival"].iloc[-1] for a in arm_names])
            offset = 0.07 if list(order).index(k) == 0 else -0.09
            text = ax.text(
                t_lab,
                (s_lab + offset) * scale,
                arm,
                color=colors[arm],
                fontsize=fs,
                ha="left",
                va="center",
            )
            text_artists.append(("label", text))
    hr = _hr(data)
    if style.hr_text:
        decimal = "\u00b7" if style.name == "lancet" else "."
        body = f"HR {hr['hr']:.2f} (95% CI {hr['lower']:.2f}-{hr['upper']:.2f})".replace(
            ".", decimal
        )
        if style.name == "jco":
            body = f"Hazard ratio (95% CI): {hr['hr']:.2f} ({hr['lower']:.2f} to {hr['upper']:.2f})"
        pos = {"upper right": (0.97, 0.95), "right": (0.97, 0.72), "center right": (0.97, 0.84)}
        x_t, y_t = pos[style.hr_text]
        text = ax.text(
            x_t, y_t, body, transform=ax.transAxes, ha="right", va="top", fontsize=fs * 0.95
        )
        text_artists.append(("hr", text))
    if style.medians:
        for k, arm in enumerate(arm_names):
            m = medians[arm]
            if not np.isfinite(m) or m > x_hi:
                continue
            ax.plot([m, m], [0, 50], color=colors[arm], ls="--", lw=0.8, alpha=0.7)
            ax.plot([0, m], [50, 50], color="#b0b0b0", ls="--", lw=0.8)
            text = ax.text(
                m + 0.01 * x_hi,
                8 + 8 * k,
                f"Median, {m:.1f} mo",
                color=colors[arm],
                fontsize=fs * 0.9,
                ha="left",
            )
            text_artists.append(("median", text))

    # The numbers-at-risk table under the plot, one row per arm, a cell under every x tick.
    blend = blended_transform_factory(ax.transData, ax.transAxes)
    fig.canvas.draw()
    ax_box = ax.get_window_extent()
    below_px = ax_box.y0 - ax.xaxis.get_tightbbox().y0 if ax.xaxis.get_tightbbox() else 40
    px_per_axes = ax_box.height
    if style.legend == "below":
        leg = ax.legend(
            main_lines,
            arm_names,
            loc="upper center",
            bbox_to_anchor=(0.5, -(below_px + 0.1 * line_in * style.dpi) / px_per_axes),
            ncol=n_arms,
            frameon=False,
            fontsize=fs,
        )
        text_artists.append(("legend", leg))
    start = -(below_px + (1.5 * line_in * style.dpi if style.legend == "below" else 0.0))
    start -= 0.5 * line_in * style.dpi
    title_y = (start - 0.4 * line_in * style.dpi) / px_per_axes
    title = ax.text(
        -(left_in - 0.12) / (style.size[0] * ax.get_position().width),
        title_y,
        style.nar_title,
        transform=ax.transAxes,
        ha="left",
        va="center",
        fontsize=fs,
    )
    text_artists.append(("nar_title", title))
    nar_rows = []
    cells = []
    for k, (arm, time, event) in enumerate(data.arms):
        at = x_ticks
        at_risk, censored = _nar_table(time, event, at)
        y_row = (start - (k + 1.4) * line_in * style.dpi) / px_per_axes
        color = colors[arm] if style.nar_colored else "black"
        label = ax.text(
            -(0.1 + 0.6 * cell_in) / (style.size[0] * ax.get_position().width)
            + (0.0 - x_range[0]) / (x_range[1] - x_range[0]),
            y_row,
            arm,
            transform=ax.transAxes,
            ha="right",
            va="center",
            fontsize=fs,
            color=color,
        )
        text_artists.append(("nar_label", label))
        for t, n, c in zip(at, at_risk, censored, strict=True):
            body = f"{n} ({c})" if style.nar_censored else f"{n}"
            cell = ax.text(
                t, y_row, body, transform=blend, ha="center", va="center", fontsize=fs, color=color
            )
            cells.append((arm, float(t), int(n), cell))
            text_artists.append(("nar_cell", cell))
        nar_rows.append(
            pd.DataFrame({"time": at, "at_risk": at_risk, "censored": censored, "arm": arm})
        )
    fig.canvas.draw()

    width_px, height_px = int(round(fig.bbox.width)), int(round(fig.bbox.height))
    box = ax.get_window_extent()
    left, top = _px(fig, box.x0, box.y1)
    right, bottom = _px(fig, box.x1, box.y0)
    tick_rows = []
    for v, lab in zip(x_ticks, [f"{v:g}" for v in x_ticks], strict=True):
        c, _ = _px(fig, *ax.transData.transform((v, y_range[0])))
        tick_rows.append((float(v), lab, c))
    x_tick_df = pd.DataFrame(tick_rows, columns=["value", "label", "px"])
    tick_rows = []
    for v, lab in zip(y_ticks, y_labels, strict=True):
        _, r = _px(fig, *ax.transData.transform((x_range[0], v)))
        tick_rows.append((float(v), lab, r))
    y_tick_df = pd.DataFrame(tick_rows, columns=["value", "label", "px"])

    renderer = fig.canvas.get_renderer()
    texts = []
    for kind, artist in text_artists:
        bb = artist.get_window_extent(renderer)
        c0, r0 = _px(fig, bb.x0, bb.y1)
        c1, r1 = _px(fig, bb.x1, bb.y0)
        body = artist.get_text() if hasattr(artist, "get_text") else "legend"
        texts.append((kind, body, c0, r0, c1, r1))
    for kind, labels in (("x_tick", ax.get_xticklabels()), ("y_tick", ax.get_yticklabels())):
        for lab in labels:
            if not lab.get_text():
                continue
            bb = lab.get_window_extent(renderer)
            c0, r0 = _px(fig, bb.x0, bb.y1)
            c1, r1 = _px(fig, bb.x1, bb.y0)
            texts.append((kind, lab.get_text(), c0, r0, c1, r1))
    for kind, artist in (("x_title", ax.xaxis.label), ("y_title", ax.yaxis.label)):
        if artist.get_text():
            bb = artist.get_window_extent(renderer)
            c0, r0 = _px(fig, bb.x0, bb.y1)
            c1, r1 = _px(fig, bb.x1, bb.y0)
            texts.append((kind, artist.get_text(), c0, r0, c1, r1))
    text_df = pd.DataFrame(texts, columns=["kind", "text", "left", "top", "right", "bottom"])
    nar_px = []
    for arm, t, n, cell in cells:
        bb = cell.get_window_extent(renderer)
        c, r = _px(fig, 0.5 * (bb.x0 + bb.x1), 0.5 * (bb.y0 + bb.y1))
        nar_px.append((arm, t, n, c, r))
    nar_px_df = pd.DataFrame(nar_px, columns=["arm", "time", "at_risk", "col", "row"])

    truth = FigureTruth(
        style=style.name,
        arms=arm_names,
        ipd=pd.concat(rows, ignore_index=True),
        km=kms,
        nar=pd.concat(nar_rows, ignore_index=True),
        x_range=x_range,
        y_range=y_range,
        x_ticks=x_tick_df,
        y_ticks=y_tick_df,
        plot_px=(left, top, right, bottom),
        colors=colors,
        linestyles=styles,
        scale="percent" if style.percent else "proportion",
        kind="cumulative_incidence" if style.cumulative else "survival",
        hr=hr,
        text_px=text_df,
        nar_px=nar_px_df,
        image_px=(width_px, height_px),
        time_unit=data.time_unit,
        medians=medians,
    )
    return fig, truth


def _hr(data: Dataset) -> dict[str, float]:
    """Cox HR (Efron) of the second arm against the first."""
    (_, t0, e0), (_, t1, e1) = data.arms[0], data.arms[1]
    return cox_hazard_ratio(
        np.r_[t0, t1], np.r_[e0, e1], np.r_[np.zeros(t0.size), np.ones(t1.size)]
    )
