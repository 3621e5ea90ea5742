"""The one progress bar: a rich bar on standard error with the count, elapsed time and ETA, for
a command's long steps (``fit --family`` lists, a many-fit job). Standard output stays the
results.

Examples
--------
>>> with progress_bar(enabled=False) as bar:
...     task = bar.add_task("fitting", total=2)
...     bar.advance(task, 2)
"""

from __future__ import annotations


def progress_bar(enabled: bool | None = None, console=None):
    """The bar; ``enabled=None`` shows it only when standard error is a terminal (not in a
    pipe, a log file or the tests). A disabled bar's ``console`` still prints lines."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = console or Console(stderr=True)
    show = console.is_terminal if enabled is None else enabled
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
        transient=False,
    )
