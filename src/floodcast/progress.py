"""Progress bars shown while long runs work (the CLI and the demo share them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

# progress and errors go to stderr so stdout stays clean for piping
console = Console(stderr=True)


@contextmanager
def sim_progress(
    duration_s: float, out: Console | None = None, enabled: bool = True
) -> Iterator[Any]:
    """A rich progress bar over simulated time; yields the solver's ``progress`` callback.
    Drawn only when ``enabled`` and stderr is a terminal, as :func:`count_progress`."""
    out = out or console
    columns = (
        TextColumn("[bold]simulating"),
        BarColumn(),
        TextColumn("t = {task.fields[t]:>8.0f} / {task.total:.0f} s"),
        TextColumn("{task.fields[steps]:>7d} steps"),
        TextColumn("wall"),
        TimeElapsedColumn(),
    )
    shown = enabled and out.is_terminal  # piped: not even rich's one final line
    with Progress(*columns, console=out, transient=False, disable=not shown) as bar:
        task = bar.add_task("sim", total=duration_s, t=0.0, steps=0)
        last = [0.0]

        def update(sim: Any) -> None:
            now = time.perf_counter()
            if now - last[0] > 0.1 or sim.t >= duration_s:
                last[0] = now
                bar.update(task, completed=min(sim.t, duration_s), t=sim.t, steps=sim.steps)

        yield update
        bar.update(task, completed=duration_s)


@contextmanager
def count_progress(
    what: str, unit: str, enabled: bool = True, out: Console | None = None
) -> Iterator[Any]:
    """A rich progress bar over a count (tiles, leads); yields the ``progress(done, total)``
    callback. Drawn only when ``enabled`` and stderr is a terminal: piped or logged runs
    (and ``--quiet``) get no bar at all rather than one final line of it."""
    out = out or console
    columns = (
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        TextColumn(f"{{task.completed:.0f}} / {{task.total:.0f}} {unit}"),
        TimeElapsedColumn(),
    )
    shown = enabled and out.is_terminal
    with Progress(*columns, console=out, transient=False, disable=not shown) as bar:
        task = bar.add_task(what, total=1)  # the count comes with the first call

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def tile_progress(what: str = "mapping", enabled: bool = True, out: Console | None = None) -> Any:
    """:func:`count_progress` over model tiles: the ``progress`` of
    :meth:`floodcast.predict.mapper.FloodMapper.predict` (predict, nowcast)."""
    return count_progress(what, "tiles", enabled, out)
