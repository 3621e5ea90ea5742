"""The one progress bar: a rich bar on standard error with the count, elapsed time and ETA, for
a command's long steps (``fit --family`` lists, a many-fit job, and the NUTS draws of one fit
or one pool, :func:`sampling_progress`). Standard output stays the results.

Examples
--------
>>> with progress_bar(enabled=False) as bar:
...     task = bar.add_task("fitting", total=2)
...     bar.advance(task, 2)
"""

from __future__ import annotations

import contextlib
import threading


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


@contextlib.contextmanager
def sampling_progress(label: str, bar=None, enabled: bool | None = None, console=None):
    """A bar over the NUTS draws of every fit sampled inside the block: warm-up plus draws of
    all chains, with elapsed time and ETA, from nutpie's progress callback (each chain's
    ``finished_draws`` of ``total_draws``). ``bar``: add the task to that progress bar (a
    command's bar over its fits) instead of a new one. Shown only where the bar would be (a
    terminal, unless ``enabled`` says otherwise); elsewhere the block runs as it is, untouched.

    bayesurv samples through :func:`bayesurv.sampling.sample`, which calls ``nutpie.sample``
    without a callback, so inside the block ``nutpie.sample`` is wrapped to pass one (and put
    back after, also on error); a caller's own ``progress_callback`` is kept.

    >>> with sampling_progress("sampling", enabled=False):
    ...     pass
    """
    import nutpie

    own = bar is None
    if own:
        bar = progress_bar(enabled, console)
    if bar.disable:
        yield bar
        return
    original = nutpie.sample
    lock = threading.Lock()

    def sample(*args, **kwargs):
        if kwargs.get("progress_callback") is not None:
            return original(*args, **kwargs)
        total = int(kwargs.get("chains") or 4) * int(
            (kwargs.get("draws") or 1000) + (kwargs.get("tune") or 300)
        )
        task = bar.add_task(label, total=total)

        def callback(chains) -> None:
            done = sum(int(c.finished_draws) for c in chains)
            every = sum(int(c.total_draws) for c in chains) or total
            with lock:
                bar.update(task, completed=done, total=every)

        kwargs["progress_callback"] = callback
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                t = bar.tasks[[x.id for x in bar.tasks].index(task)]
                bar.update(task, completed=t.total)

    nutpie.sample = sample
    try:
        if own:
            with bar:
                yield bar
        else:
            yield bar
    finally:
        nutpie.sample = original
