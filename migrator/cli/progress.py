"""The `validate` progress bar: partitions N/M with elapsed and remaining time, drawn only when
the caller enables it (text output on a terminal); rich is imported only then."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def validate_progress(
    *, enabled: bool, console: Console | None = None
) -> Iterator[Callable[[int, int], None] | None]:
    """`validating <bar> 40% partitions 4/10 elapsed 0:00:05 left 0:00:07`, terminal-wide."""
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("validating"),
        BarColumn(bar_width=None),
        TaskProgressColumn(),
        TextColumn("partitions {task.completed:.0f}/{task.fields[partitions]}"),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        expand=True,
        transient=True,
    ) as bar:
        task = bar.add_task("validate", total=None, partitions="?")

        def update(done: int, total: int) -> None:
            bar.update(task, total=total, completed=done, partitions=total)

        yield update
