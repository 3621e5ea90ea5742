"""``bayesurv digitize``: curve points per arm read from a figure image or PDF page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayesurv.cli.common import app, guard, refuse_overwrite
from bayesurv.errors import InputError


@app.command("digitize")
@guard
def digitize_command(
    figure: Annotated[Path, typer.Argument(help="PNG, JPEG or PDF of a Kaplan-Meier figure.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write (must not exist).")],
    x_range: Annotated[
        str | None,
        typer.Option(
            "--x-range",
            help="Time axis values MIN,MAX: the values of the first and last tick (not the "
            "frame's edges). Default: read from the tick labels.",
        ),
    ] = None,
    y_range: Annotated[
        str | None,
        typer.Option(
            "--y-range",
            help="Survival axis values MIN,MAX of the first and last tick (0-1 or 0-100). "
            "Default: read from the tick labels.",
        ),
    ] = None,
    arms: Annotated[
        int | None, typer.Option("--arms", help="Number of curves to separate by colour.")
    ] = None,
    colors: Annotated[
        str | None, typer.Option("--colors", help="The arms' line colours, e.g. '#1f77b4,#d62728'.")
    ] = None,
    page: Annotated[int | None, typer.Option("--page", help="Page of a PDF (1-based).")] = None,
    panel: Annotated[
        int | None,
        typer.Option("--panel", help="Panel K of a multi-panel figure (reading order)."),
    ] = None,
    names: Annotated[
        str | None,
        typer.Option("--names", help="The arms' names 'A,B' (in --colors order), if not read."),
    ] = None,
    x_calib: Annotated[
        str | None,
        typer.Option("--x-calib", help="Two x points as COLUMN:VALUE,COLUMN:VALUE (pixels)."),
    ] = None,
    y_calib: Annotated[
        str | None, typer.Option("--y-calib", help="Two y points as ROW:VALUE,ROW:VALUE (pixels).")
    ] = None,
    crop: Annotated[
        str | None,
        typer.Option(
            "--crop", help="Keep only this box of the image: LEFT,TOP,RIGHT,BOTTOM (pixels)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Unused: digitizing is deterministic.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace files in --out.")] = False,
) -> None:
    """Read the Kaplan-Meier curves of a figure: one time,survival CSV per arm.

    Reads the axes (tick labels by OCR), the legend, every arm's curve and the numbers-at-risk
    table. Writes OUT/<arm>.csv per arm, named as the figure names it (survival as a
    proportion, both corners of every drop; valid `bayesurv reconstruct` input),
    OUT/at_risk.csv (time,at_risk,arm as read), OUT/censor_marks.csv (arm,time,survival),
    OUT/overlay.png (what was read, over the figure) and OUT/digitize.json (axes, arms, table,
    warnings).
    """
    import json

    from bayesurv.digitize import digitize_file
    from bayesurv.digitize.arms import parse_colors
    from bayesurv.digitize.frame import parse_calib, parse_range
    from bayesurv.outputs import OutputPlan

    box = None
    if crop is not None:
        try:
            box = tuple(int(v) for v in crop.split(","))
        except ValueError:
            box = ()
        if len(box) != 4:
            raise InputError(
                f"--crop {crop!r} is not four pixel numbers; give LEFT,TOP,RIGHT,BOTTOM."
            )
    if out.exists() and not out.is_dir():  # before the work: the outputs' folder
        raise InputError(f"--out {out} is a file; give a folder for the digitized curves.")
    refuse_overwrite(out, force)
    # the folder is the command's: built beside --out and swapped in whole, so --force never
    # leaves an earlier run's arm files (or its at_risk.csv) beside this run's
    plan = OutputPlan(out, force=force, replace=True, marker=DIGITIZE_MARK, inputs=(figure,))
    fixed = {
        name: plan.add(f"{name}.{kind}", option="--out", kind=kind)
        for name, kind in (("censor_marks", "csv"), ("at_risk", "csv"), ("digitize", "json"))
    }
    overlay = plan.add("overlay.png", option="--out", kind="image")
    result = digitize_file(
        figure,
        parse_range(x_range, "--x-range") if x_range is not None else None,
        parse_range(y_range, "--y-range") if y_range is not None else None,
        page=page,
        crop=box,
        panel=panel,
        names=[v.strip() for v in names.split(",")] if names is not None else None,
        n_arms=arms,
        colors=parse_colors(colors) if colors is not None else None,
        x_calib=parse_calib(x_calib, "--x-calib") if x_calib is not None else None,
        y_calib=parse_calib(y_calib, "--y-calib") if y_calib is not None else None,
    )
    _distinct_files(list(result.curves), out)  # the arms' names: one file each, said in words
    curves = {  # the arms are known now: their files are checked before anything is written
        plan.add(f"{_file_name(name)}.csv", option=f"--out (arm {name!r})", kind="csv"): curve
        for name, curve in result.curves.items()
    }
    with plan.writing():
        for path, curve in curves.items():
            plan.csv(path, curve)
        plan.csv(fixed["censor_marks"], result.censor_marks)
        if result.table is not None:
            plan.csv(fixed["at_risk"], result.table.to_frame())
        plan.image(overlay, result.overlay)
        plan.text(fixed["digitize"], json.dumps(result.report, indent=2, default=float) + "\n")
    names = ", ".join(f"{name} ({color})" for name, color in result.colors.items())
    typer.echo(f"digitized {len(result.curves)} arm(s): {names}; wrote {out}")


#: marks a folder ``bayesurv digitize`` wrote (``--force`` replaces only such a folder)
DIGITIZE_MARK = ".bayesurv-digitize"


#: the files every run writes beside the arms' (an arm named so would overwrite one)
_FIXED = {"censor_marks": "the censor marks", "at_risk": "the numbers at risk",
          "digitize": "the report"}  # fmt: skip


def _distinct_files(arms: list[str], out: Path) -> None:
    """Refuse, in one sentence suggesting ``--names``, arms whose names make one file name
    (``'A/B'`` and ``'A B'`` are both ``A_B.csv``; compared in lower case, as a case-blind disk
    would) or the name of a file the run writes anyway (``at_risk.csv``)."""
    seen: dict[str, str] = {}
    for i, arm in enumerate(arms):
        file = _file_name(arm)
        key = file.lower()
        if key in _FIXED:
            clash, other = f"arm {arm!r} would be written to", f", which holds {_FIXED[key]}"
        elif key in seen:
            clash, other = f"arms {seen[key]!r} and {arm!r} would both be written to", ""
        else:
            seen[key] = arm
            continue
        renamed = [*arms[:i], f"{arm} 2" if key not in _FIXED else f"{arm} arm", *arms[i + 1 :]]
        raise InputError(
            f"{clash} {out / file}.csv{other} (file names keep letters, digits, '.', '-', '_' "
            f"and '+'); name the arms differently with --names, in --colors order, e.g. "
            f"--names {','.join(renamed)!r}."
        )


def _file_name(arm: str) -> str:
    """An arm name as a file name: letters, digits, '-', '_', '+' and '.' kept, everything else
    (path separators, spaces, control characters) as '_'; no leading '.' (a hidden file: '.x',
    '..x') or '-' (read as an option), no run of dots, no trailing '.'; 'arm' when nothing is
    left (``'..'``, ``''``)."""
    import re

    name = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(arm))
    name = re.sub(r"\.{2,}", ".", name)
    return name.strip("._-") or "arm"
