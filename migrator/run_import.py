"""`import_store` on paths, under the run protocol: the verb `migrator import` and
`migrator.import_store` both call.

It takes the import lock (a second import is refused at once), records the run in the history,
snapshots the database right before the first write (never in a dry run, nor when there is
nothing to change), opens the stores and closes them. `migrator.importer.import_store` is the
work itself, on opened stores.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from migrator.defaults import DEFAULT_BATCH_SIZE
from migrator.errors import ImportInterrupted, require_json_dir
from migrator.import_summary import ImportProgress, ImportSummary
from migrator.run_protocol import Notice, Snapshot, log_notice, verb_run
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)


def import_store(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    *,
    prune: bool = False,
    prune_all: bool = False,
    dry_run: bool = False,
    rejects: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_errors: int | None = None,
    max_error_ratio: float | None = None,
    force: bool = False,
    snapshot: bool = True,
    parallel: bool | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    notice: Notice = log_notice,
) -> ImportSummary:
    """Import the JSON store at `json_dir` into `db` (the options: `migrator.importer`).

    A store with no partition file is a notice; with no database either, nothing is created
    (an empty or mistyped folder makes no empty database) and the summary is empty."""
    from migrator.adapters.json_store import JsonStore
    from migrator.adapters.sql_store import SqlStore
    from migrator.import_lock import exclusive_import
    from migrator.importer import import_store as run_import

    root = Path(json_dir)
    require_json_dir(root)
    resolved = resolve(schema)
    json_store = JsonStore(root, resolved)
    if not json_store.partitions():
        notice(f"warning: no partition files (*.json) in {root}: nothing to import")
        if not _database_exists(db):
            return ImportSummary(partitions=[], rejects=[], seconds=0.0, rejects_file=None)
    with verb_run(
        "import",
        root,
        lock=exclusive_import(root, enabled=not dry_run),
        # An import never changes the JSON store: its snapshot holds the database only.
        snapshot=Snapshot("import", db, resolved, include_json=False, deferred=True)
        if snapshot and not dry_run
        else None,
        record=not dry_run,
    ) as run:
        sql_store = SqlStore(db, resolved)  # a dry run never connects to it
        try:
            summary = run_import(
                json_store,
                sql_store,
                prune=prune,
                prune_all=prune_all,
                dry_run=dry_run,
                rejects_path=rejects,
                batch_size=batch_size,
                progress=progress,
                parallel=parallel,
                before_write=run.before_write,
                max_errors=max_errors,
                max_error_ratio=max_error_ratio,
                force=force,
            )
        except ImportInterrupted as stop:
            run.record.message = str(stop)  # the history says interrupted, and how far it got
            raise
        finally:
            sql_store.close()
        run.record.outcome = "ok" if summary.ok else "rejected"
        run.record.message = stopped_line(summary)
        run.record.counts = {
            "documents": summary.documents,
            "imported": summary.imported,
            "unchanged": summary.unchanged,
            "rejected": summary.rejected,
        }
    return summary


def stopped_line(summary: ImportSummary) -> str | None:
    """The one line that says an import stopped past its error budget, or None."""
    if summary.stopped is None:
        return None
    if summary.dry_run:
        return f"stopped: {summary.stopped}; dry run, nothing written"
    n = summary.imported
    documents = f"{n:,} document{'' if n == 1 else 's'}"
    return f"stopped: {summary.stopped}; {documents} committed, rejects in {summary.rejects_file}"


def _database_exists(db: str | Path) -> bool:
    from migrator.adapters.dialects import database_url, dialect_for

    url = database_url(db)
    return dialect_for(url).database_exists(url)
