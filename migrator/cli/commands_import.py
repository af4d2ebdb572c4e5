"""`migrator import` and `migrator generate`: fill the database from the JSON store, and make a
synthetic store to rehearse on.

A labelled progress bar (files N/M, documents so far, elapsed and remaining time) is drawn only
for text output to a terminal (never with `--format json`, `--quiet` or a pipe); the summary
table follows pgloader's: per partition and in total, documents read, imported, unchanged,
rejected, time, documents per second.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from migrator.cli.app import app
from migrator.cli.options import Db, JsonDir, NoSnapshot, Quiet, SchemaRef, SummaryFile
from migrator.cli.progress import generate_progress, import_progress
from migrator.cli.text import plural
from migrator.defaults import DEFAULT_BATCH_SIZE, RATIO_MIN_DOCUMENTS
from migrator.errors import ImportInterrupted, require_json_dir

if TYPE_CHECKING:
    from rich.console import Console

    from migrator.import_summary import ImportSummary

#: Above this many partitions the table lists only those with something to say.
LISTED_PARTITIONS = 40
LISTED_REJECTS = 10


class SummaryFormat(enum.StrEnum):
    text = "text"
    json = "json"


@app.command("import")
def import_command(
    json_dir: JsonDir,
    db: Db,
    schema: SchemaRef = "sessions",
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Delete documents gone from their file (default: only report them); those "
            "the JSON store may never have had are kept and counted (see --prune-all).",
        ),
    ] = False,
    prune_all: Annotated[
        bool,
        typer.Option(
            "--prune-all",
            help="Also delete the gone documents --prune keeps: those whose file is missing, "
            "or newer in SQL than their file.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Do the whole job in a throwaway in-memory database and compare what it reads "
            "back; write nothing (no database, no rejects file).",
        ),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            metavar="PATH",
            help="Where to write rejected records (JSON Lines) "
            "\\[default: a rejects-<UTC time>.jsonl in <json-dir>/.migrator, only if any].",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, metavar="N", help="Documents per transaction.")
    ] = DEFAULT_BATCH_SIZE,
    max_errors: Annotated[
        int | None,
        typer.Option(
            "--max-errors",
            min=0,
            metavar="N",
            help="Stop once more than N records were rejected (at the next batch boundary; "
            "what was committed stays, and a re-run finishes the job) \\[default: no limit].",
            show_default=False,
        ),
    ] = None,
    max_error_ratio: Annotated[
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
    ] = None,
    output_format: Annotated[
        SummaryFormat, typer.Option("--format", help="Summary as text (a table) or json.")
    ] = SummaryFormat.text,
    summary_file: SummaryFile = None,
    quiet: Quiet = False,
    no_snapshot: NoSnapshot = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Import even into a database that mirrors another JSON store (its documents "
            "this store lacks are then reported gone).",
        ),
    ] = False,
) -> None:
    """Import the JSON store into the database: streamed file by file, idempotent, resumable.

    Files unchanged since their last import are skipped. Records the schema refuses go to the
    rejects file; the rest is imported. Creates the database schema when needed.

    One import at a time per JSON store: another one started meanwhile is refused. Runs in
    phase json-only or dual-write (beside the application's writes), never once SQL is primary.

    Exit 0 when everything was imported, 1 when some records were rejected (or the import
    stopped past --max-errors / --max-error-ratio), 2 on a usage or fatal error."""
    # The verbs (and SQLAlchemy with them) are imported when a command runs, not at start-up.
    from rich.console import Console

    from migrator.adapters.json_store import JsonStore
    from migrator.adapters.sql_store import SqlStore
    from migrator.backup import snapshot_hook
    from migrator.history import record_run
    from migrator.import_lock import exclusive_import
    from migrator.importer import import_store
    from migrator.report import json_text, write_summary
    from migrator.schemas.registry import resolve

    require_json_dir(json_dir)
    resolved = resolve(schema)
    if not JsonStore(json_dir, resolved).partitions():
        typer.echo(
            f"warning: no partition files (*.json) in {json_dir}: nothing to import", err=True
        )
        if not _database_exists(db):
            return  # no empty database made from an empty (or mistyped) folder
    # Taken right before the first write (an unchanged re-import takes none), of a database
    # that exists now; the database only, since an import never changes the JSON store.
    snapshot = snapshot_hook(
        "import", json_dir, db, resolved, enabled=not (no_snapshot or dry_run), include_json=False
    )
    sql_store = SqlStore(db, resolved)
    try:
        with (
            exclusive_import(json_dir, enabled=not dry_run),  # a second import is refused
            record_run(json_dir, "import", enabled=not dry_run) as run,
            import_progress(
                enabled=not quiet and output_format is SummaryFormat.text and sys.stdout.isatty()
            ) as progress,
        ):
            try:
                summary = import_store(
                    JsonStore(json_dir, resolved),
                    sql_store,
                    prune=prune,
                    prune_all=prune_all,
                    dry_run=dry_run,
                    rejects_path=rejects,
                    batch_size=batch_size,
                    progress=progress,
                    before_write=snapshot,
                    max_errors=max_errors,
                    max_error_ratio=max_error_ratio,
                    force=force,
                )
            except ImportInterrupted as stop:
                run.message = str(stop)  # the history says interrupted, and how far it got
                raise
            run.outcome = "ok" if summary.ok else "rejected"
            run.message = _stopped_line(summary)
            run.counts = {
                "documents": summary.documents,
                "imported": summary.imported,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
            }
    except ImportInterrupted as stop:  # printed once the progress bar is gone
        typer.echo(str(stop), err=True)
        raise typer.Exit(130) from None
    finally:
        sql_store.close()
    if summary_file is not None:
        write_summary(summary.to_dict(), summary_file)
    if output_format is SummaryFormat.json:
        typer.echo(json_text(summary.to_dict()), nl=False)
    else:
        # Piped output is not cut to 80 columns: the table is read later, in a log or a file.
        width = None if sys.stdout.isatty() else 120
        _print_summary(Console(highlight=False, width=width), summary)
    stopped = _stopped_line(summary)
    if stopped is not None:
        typer.echo(stopped, err=True)
    if not summary.ok:
        raise typer.Exit(1)


def _database_exists(db: str) -> bool:
    from migrator.adapters.dialects import database_url, dialect_for

    url = database_url(db)
    return dialect_for(url).database_exists(url)


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
    from migrator.schemas.registry import resolve

    with generate_progress(sessions, enabled=not quiet and sys.stdout.isatty()) as progress:
        result = generate_store(
            out, sessions=sessions, seed=seed, schema=resolve(schema), progress=progress
        )
    typer.echo(
        f"wrote {result.sessions} sessions in {result.files} files "
        f"({result.bytes / 1e6:.1f} MB) to {result.directory}"
    )


# --------------------------------------------------------------------------- summary


def _stopped_line(summary: ImportSummary) -> str | None:
    """The one line that says an import stopped past its error budget, or None."""
    if summary.stopped is None:
        return None
    if summary.dry_run:
        return f"stopped: {summary.stopped}; dry run, nothing written"
    documents = plural(summary.imported, "document")
    return f"stopped: {summary.stopped}; {documents} committed, rejects in {summary.rejects_file}"


def _print_summary(console: Console, summary: ImportSummary) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from migrator.cli.tables import longest

    title = "import (dry run: nothing written)" if summary.dry_run else "import"
    if summary.stopped is not None:
        title += f" stopped early: {summary.stopped}"
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
