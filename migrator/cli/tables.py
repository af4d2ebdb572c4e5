"""The command line's tables, built to fit a real 80-column terminal (issue 16, point 8).

The rules every table here follows, and tests/cli/test_tables_80.py checks at 80 columns:
- Nothing is cut with an ellipsis: no column is squeezed out and no id, name or size is
  truncated. Ids, names, sizes and times never wrap (`no_wrap`); prose folds or wraps in the
  one column that has room to give (`ratio=1`).
- A column whose every value is short keeps the width of its longest value (`min_width`), so
  Rich does not take space from it to give to prose.

Rich is imported by the caller's command, not at start-up: this module is imported lazily too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from migrator.cli.text import counts_text, moment, size_text

if TYPE_CHECKING:
    from migrator.backup_manifest import BackupInfo
    from migrator.doctor import DoctorReport
    from migrator.history import Run


def longest(values: Iterable[str], *, at_least: int = 0, at_most: int | None = None) -> int:
    """The width of the longest value (at least `at_least`, at most `at_most`)."""
    width = max([at_least, *(len(v) for v in values)])
    return width if at_most is None else min(width, at_most)


def backups_table(infos: Sequence[BackupInfo]) -> Table:
    """Name (what `restore` takes), size, phase, and whether the checksums still verify."""
    names = [info.path.name for info in infos]
    sizes = [size_text(info.manifest.size) if info.manifest else "?" for info in infos]
    verdicts = ["ok" if info.verified else "FAILED" for info in infos]
    # One space between columns: a snapshot's name alone is 51 characters.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    table.add_column("backup", no_wrap=True, min_width=longest(names))
    table.add_column("size", justify="right", no_wrap=True, min_width=longest(sizes))
    table.add_column("phase", overflow="fold", ratio=1)
    table.add_column("checksums", no_wrap=True, min_width=len("checksums"))
    for info, name, size, verdict in zip(infos, names, sizes, verdicts, strict=True):
        phase = info.manifest.phase if info.manifest else "?"
        table.add_row(name, size, phase, Text(verdict, style="" if info.verified else "red"))
    return table


def backup_problems(infos: Sequence[BackupInfo]) -> list[str]:
    """What no longer verifies, one line per failed backup (printed below the table)."""
    return [
        f"{info.path.name}: {'; '.join(info.problems)}"
        for info in infos
        if info.problems  # None: not checked; []: verified
    ]


def history_table(runs: Sequence[Run]) -> Table:
    """One run per row: when, what, how it ended, the phase (and its move), what it counted."""
    commands = [run.command for run in runs]
    outcomes = [run.outcome or "?" for run in runs]
    # One space between columns leaves the counts 23 of 80 columns, a few to a line.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    table.add_column("started (UTC)", no_wrap=True, min_width=19)
    table.add_column("command", no_wrap=True, min_width=longest(commands, at_least=7))
    table.add_column("outcome", no_wrap=True, min_width=longest(outcomes, at_least=7))
    table.add_column("phase", min_width=len("sqlite-primary"), max_width=len("sqlite-primary"))
    table.add_column("counts and message", ratio=1, overflow="fold")
    for run, outcome in zip(runs, outcomes, strict=True):
        phase = run.phase_before or ""
        if run.phase_after and run.phase_after != run.phase_before:
            phase = f"{phase} -> {run.phase_after}"
        details = counts_text(run.counts) if run.counts else ""
        if run.message:
            details = f"{details}; {run.message}" if details else run.message
        table.add_row(moment(run.started_at), run.command, outcome, phase, details)
    return table


def doctor_table(report: DoctorReport) -> Table:
    """Each check: its name, its verdict, and what it found."""
    marks = {"ok": "ok", "problem": "PROBLEM", "info": "", "skipped": "n/a"}
    names = [check.name for check in report.checks]
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("check", no_wrap=True, min_width=longest(names))
    table.add_column("verdict", no_wrap=True, min_width=len("PROBLEM"))
    table.add_column("detail", ratio=1, overflow="fold")
    for check in report.checks:
        table.add_row(check.name, marks[check.status], check.detail)
    return table


def settings_table(settings: dict[str, tuple[Any, str]], where: str | None) -> Table:
    """`migrator config`: each setting, its value and where it came from."""
    keys = list(settings)
    sources = [source for _, source in settings.values()]
    table = Table(
        title=f"config file: {where or 'none found'}", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("setting", no_wrap=True, min_width=longest(keys))
    table.add_column("value", ratio=1, overflow="fold")
    table.add_column("source", no_wrap=True, min_width=longest(sources))
    for key, (value, source) in settings.items():
        table.add_row(key, Text("-" if value is None else str(value)), source)
    return table
