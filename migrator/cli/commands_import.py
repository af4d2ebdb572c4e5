"""`migrator import` and `migrator generate`: fill the database from the JSON store, and make a
synthetic store to rehearse on.

A labelled progress bar (files N/M, documents so far, elapsed and remaining time) is drawn only
for text output to a terminal (never with `--format json`, `--quiet` or a pipe); the summary
table follows pgloader's: per partition and in total, documents read, imported, unchanged,
rejected, time, documents per second.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from migrator.cli.app import app
from migrator.cli.option_groups import arguments
from migrator.cli.options import (
    NoSnapshot,
    OutputFormat,
    Quiet,
    ResultArgs,
    SchemaRef,
    StoreArgs,
)
from migrator.cli.output import warn
from migrator.cli.progress import generate_progress, import_progress
from migrator.cli.text import plural
from migrator.defaults import DEFAULT_BATCH_SIZE, RATIO_MIN_DOCUMENTS

if TYPE_CHECKING:
    from rich.console import Console

    from migrator.import_summary import ImportSummary

#: Above this many partitions the table lists only those with something to say.
LISTED_PARTITIONS = 40
LISTED_REJECTS = 10


Prune = Annotated[
    bool,
    typer.Option(
        "--prune",
        help="Delete documents gone from their file (default: only report them); those "
        "the JSON store may never have had are kept and counted (see --prune-all).",
    ),
]
PruneAll = Annotated[
    bool,
    typer.Option(
        "--prune-all",
        help="Also delete the gone documents --prune keeps: those whose file is missing, "
        "or newer in SQL than their file.",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Do the whole job in a throwaway in-memory database and compare what it reads "
        "back; write nothing (no database, no rejects file).",
    ),
]
Rejects = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        metavar="PATH",
        help="Where to write rejected records (JSON Lines) "
        "\\[default: a rejects-<UTC time>.jsonl in <json-dir>/.migrator, only if any].",
        show_default=False,
    ),
]
BatchSize = Annotated[
    int, typer.Option("--batch-size", min=1, metavar="N", help="Documents per transaction.")
]
MaxErrors = Annotated[
    int | None,
    typer.Option(
        "--max-errors",
        min=0,
        metavar="N",
        help="Stop once more than N records were rejected (at the next batch boundary; "
        "what was committed stays, and a re-run finishes the job) \\[default: no limit].",
        show_default=False,
    ),
]
MaxErrorRatio = Annotated[
    float | None,
    typer.Option(
        "--max-error-ratio",
        min=0.0,
        max=1.0,
        metavar="R",
        help="Stop once rejects exceed this share of the documents read in this run, "
        f"counted from the {RATIO_MIN_DOCUMENTS}th document on (0.01 = 1%) "
        "\\[default: no limit].",
        show_default=False,
    ),
]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Import even into a database that mirrors another JSON store (its documents "
        "this store lacks are then reported gone).",
    ),
]


@dataclass(frozen=True)
class ImportArgs(StoreArgs):
    """The stores and how to import: `migrator.import_store`'s parameters, by their names."""

    prune: Prune = False
    prune_all: PruneAll = False
    dry_run: DryRun = False
    rejects: Rejects = None
    batch_size: BatchSize = DEFAULT_BATCH_SIZE
    max_errors: MaxErrors = None
    max_error_ratio: MaxErrorRatio = None
    force: Force = False


@app.command("import")
def import_command(
    run: ImportArgs,
    result: ResultArgs,
    quiet: Quiet = False,
    no_snapshot: NoSnapshot = False,
) -> None:
    """Import the JSON store into the database: streamed file by file, idempotent, resumable.

    Files unchanged since their last import are skipped. Records the schema refuses go to the
    rejects file; the rest is imported. Creates the database schema when needed.

    One import at a time per JSON store: another one started meanwhile is refused. Runs in
    phase json-only or dual-write (beside the application's writes), never once SQL is primary.

    Exit 0 when everything was imported, 1 when some records were rejected (or the import
    stopped past --max-errors / --max-error-ratio), 2 on a usage or fatal error."""
    # The verb (and SQLAlchemy with it) is imported when the command runs, not at start-up.
    from migrator.run_import import import_store

    bar = not quiet and result.output_format is OutputFormat.text and sys.stdout.isatty()
    with import_progress(enabled=bar) as progress:
        summary = import_store(
            **arguments(run), snapshot=not no_snapshot, progress=progress, notice=warn
        )
    _show(summary, result)


def _show(summary: ImportSummary, result: ResultArgs) -> None:
    """The summary as a table or JSON, the stopped line on stderr; exit 1 unless all went in."""
    from rich.console import Console

    from migrator.cli.report import json_text, write_summary
    from migrator.run_import import stopped_line

    if result.summary_file is not None:
        write_summary(summary.to_dict(), result.summary_file)
    if result.output_format is OutputFormat.json:
        typer.echo(json_text(summary.to_dict()), nl=False)
    else:
        # Piped output is not cut to 80 columns: the table is read later, in a log or a file.
        width = None if sys.stdout.isatty() else 120
        _print_summary(Console(highlight=False, width=width), summary)
    stopped = stopped_line(summary)
    if stopped is not None:
        typer.echo(_flagged(stopped), err=True)
    if not summary.ok:
        raise typer.Exit(1)


@app.command("generate")
def generate_command(
    sessions: Annotated[
        int, typer.Option("--sessions", min=0, metavar="N", help="How many sessions.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Directory to write the partition files into (new).")
    ],
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="The same seed writes the same bytes.")
    ] = 0,
    schema: SchemaRef = "sessions",
    quiet: Quiet = False,
) -> None:
    """Write a synthetic legacy session store to rehearse and measure a migration on.

    About 100 sessions per workspace file, 1-10 instances and a dozen chat messages each,
    outputs of a few KB (some large), unicode, optional fields sometimes absent, sometimes
    null. The same seed writes the same bytes."""
    from migrator.generate import generate_store

    with generate_progress(sessions, enabled=not quiet and sys.stdout.isatty()) as progress:
        result = generate_store(out, sessions=sessions, seed=seed, schema=schema, progress=progress)
    typer.echo(
        f"wrote {result.sessions} sessions in {result.files} files "
        f"({result.bytes / 1e6:.1f} MB) to {result.directory}"
    )


# --------------------------------------------------------------------------- summary


def _print_summary(console: Console, summary: ImportSummary) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from migrator.cli.tables import longest

    title = "import (dry run: nothing written)" if summary.dry_run else "import"
    if summary.stopped is not None:
        title += f" stopped early: {_flagged(summary.stopped)}"
    shown = summary.partitions
    if len(shown) > LISTED_PARTITIONS:
        shown = [p for p in shown if p.rejected or p.gone or p.status != "imported"]
        shown = [p for p in shown if p.status != "unchanged" or p.gone][:LISTED_PARTITIONS]
    s = summary
    total = f"total ({plural(s.files, 'file')})"
    # A dry run writes nothing: what it read would be imported, not "imported".
    statuses = [_dry_status(p.status) if s.dry_run else p.status for p in shown]
    # 80 columns hold the nine columns with one space between them, names and statuses at
    # their own width, nothing cut (tests/cli/test_tables_80.py).
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0)
    )
    table.add_column(
        "partition", no_wrap=True, min_width=longest([p.name for p in shown], at_least=len(total))
    )
    table.add_column("status", no_wrap=True, min_width=longest([*statuses, "dry run"]))
    for name in ("read", "imported", "unchanged", "rejected", "gone", "time", "docs/s"):
        table.add_column(name, justify="right", no_wrap=True)
    for p, status in zip(shown, statuses, strict=True):
        table.add_row(
            p.name,
            status,
            *_cells(p.documents, p.imported, p.unchanged, p.rejected, len(p.gone), p.seconds),
        )
    hidden = len(summary.partitions) - len(shown)
    if hidden:
        table.caption = f"and {plural(hidden, 'more partition')} with nothing to report"
        table.caption_justify = "left"
    table.add_section()
    table.add_row(
        total,
        "dry run" if s.dry_run else "",
        *_cells(s.documents, s.imported, s.unchanged, s.rejected, s.gone, s.seconds),
        style="bold",
    )
    console.print(table)
    for reject in summary.rejects[:LISTED_REJECTS]:
        where = f"{reject.file}" + ("" if reject.index is None else f" record {reject.index}")
        console.print(f"[red]rejected[/] {escape(where)}: {escape(reject.error)}", soft_wrap=True)
    if summary.rejected > LISTED_REJECTS:
        console.print(f"… and {plural(summary.rejected - LISTED_REJECTS, 'more reject')}")
    if summary.rejects_file is not None:
        console.print(f"rejected records written to {summary.rejects_file}", soft_wrap=True)
    if summary.gone and not summary.prune:
        console.print(
            f"{plural(summary.gone, 'document')} {'is' if summary.gone == 1 else 'are'} "
            "in the database but gone from their file: "
            "run again with --prune to delete them"
        )
    elif summary.pruned:
        console.print(
            f"{plural(summary.pruned, 'document')} gone from their file deleted (--prune)"
        )
    if summary.kept_newer:
        console.print(
            f"{plural(summary.kept_newer, 'document')} newer in SQL than in their file "
            "(version key) kept, not overwritten: see `migrator validate` and decide"
        )
    if summary.held:
        console.print(
            f"{plural(summary.held, 'gone document')} kept: their file is missing or older "
            "than SQL's copy, so the JSON store may never have had them; --prune-all would "
            f"delete those {summary.held}"
        )


def _flagged(text: str) -> str:
    """An import's stopped reason with the budget's parameters as this command's flags."""
    from migrator.cli.flags import flagged
    from migrator.import_budget import PARAMETERS

    return flagged(text, PARAMETERS)


def _dry_status(status: str) -> str:
    return "to import" if status == "imported" else status


def _cells(
    read: int, imported: int, unchanged: int, rejected: int, gone: int, seconds: float
) -> list[str]:
    # Below 10 ms a rate says more about the clock than about the import.
    rate = f"{(imported + unchanged) / seconds:,.0f}" if seconds >= 0.01 else "-"
    return [
        f"{read:,}",
        f"{imported:,}",
        f"{unchanged:,}",
        f"[red]{rejected:,}[/]" if rejected else "0",
        f"{gone:,}",
        f"{seconds:.2f}s",
        rate,
    ]
