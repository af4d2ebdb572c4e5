"""Progress bars of the long commands (import, generate, validate): one labelled, terminal-wide
layout, drawn only when the caller enables it (text output on a terminal); rich is imported
only then, so start-up stays light."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from migrator.import_summary import ImportProgress


def _labelled_bar(label: str, *counts: str, console: Console | None) -> Progress:
    """`LABEL <bar> 40% COUNTS elapsed 0:00:05 left 0:00:07`, as wide as the terminal."""
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(label),
        BarColumn(bar_width=None),
        TaskProgressColumn(),
        *(TextColumn(count) for count in counts),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        expand=True,
        transient=True,
    )


@contextmanager
def import_progress(
    *, enabled: bool, console: Console | None = None
) -> Iterator[Callable[[ImportProgress], None] | None]:
    """`importing`, by bytes read: files N/M, documents so far, elapsed and remaining."""
    if not enabled:
        yield None
        return
    counts = ("files {task.fields[files]}", "{task.fields[documents]:,} docs")
    with _labelled_bar("importing", *counts, console=console) as bar:
        task = bar.add_task("import", total=None, documents=0, files="0/?")

        def update(step: ImportProgress) -> None:
            bar.update(
                task,
                total=step.bytes_total,
                completed=step.bytes_done,
                documents=step.documents,
                files=f"{step.files_done}/{step.files_total}",
            )

        yield update


@contextmanager
def generate_progress(
    total: int, *, enabled: bool, console: Console | None = None
) -> Iterator[Callable[[int, int], None] | None]:
    """`generating`: sessions written of the total asked for."""
    if not enabled:
        yield None
        return
    with _labelled_bar("generating", "{task.completed:,} sessions", console=console) as bar:
        task = bar.add_task("generate", total=total)
        yield lambda sessions, _bytes: bar.update(task, completed=sessions)


@contextmanager
def validate_progress(
    *, enabled: bool, console: Console | None = None
) -> Iterator[Callable[[int, int], None] | None]:
    """`validating`: partitions compared of the total."""
    if not enabled:
        yield None
        return
    counts = ("partitions {task.completed:.0f}/{task.fields[partitions]}",)
    with _labelled_bar("validating", *counts, console=console) as bar:
        task = bar.add_task("validate", total=None, partitions="?")

        def update(done: int, total: int) -> None:
            bar.update(task, total=total, completed=done, partitions=total)

        yield update
