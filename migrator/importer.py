"""`import_store`: copy the legacy JSON store into the SQL database, one partition file at a time.

A run reads each partition file whole and hashes its bytes (`import_reader`, in a helper process
on a big store). A file whose hash matches its import mark, recorded with the data of its last
clean import, is skipped without being parsed and counted `unchanged`. Any other file is parsed,
each record validated and mapped to rows, and the rows written through `BatchWriter` in
transactions of about `batch_size` documents; a partition's mark is written in the same
transaction as its last rows, so an import killed at any moment and run again ends as an
uninterrupted one would.

What is rejected, each with the field at fault, into the rejects file (JSON Lines):
- a file that is not a JSON array: whole, with its line and column;
- a record the schema refuses (wrong type, value outside its choices, missing id);
- the second record of a file with an id already seen in that file (the legacy application
  reads the first);
- a record whose id another partition holds: the partition the database already holds it in
  keeps it while its file still has it; otherwise the first file in name order keeps it;
- a document the database refuses (a chat message id another session already uses).

Documents in the database that a file no longer has are reported as `gone` and deleted only with
`prune`. A partition with rejects or unpruned gone documents gets no mark, so the next run reads
it again and reports them again (and a later `prune` still finds them).

A dry run rehearses a first import into an empty in-memory database (it never opens the real
one, so nothing is `unchanged`): each partition is written, read back and compared with its file
by canonical bytes, then dropped to keep memory to one batch. Keys that clash between partitions
in child tables are therefore only found by a real import.

An error budget (`max_errors`, `max_error_ratio`: rejects over documents read from files in
this run, applied once `RATIO_MIN_DOCUMENTS` were read) is checked after each transaction and
after each file. Once the rejects exceed it, what is pending is committed and the run stops
(`ImportSummary.stopped` says why): partitions written whole keep their marks; one stopped
midway is `partial`, with no mark, so the next run reads it again; later files are not read.

A real import runs in `json-only` or `dual-write` under the phase lock, and is refused once SQL
is primary, where a file may be behind SQL. In `dual-write` each partition is read and committed
under the partition lock every dual write holds, so SQL catches up beside the application's
writes and no write of the partition interleaves or is undone. A file unchanged since its mark is
still skipped: every later write changed the file, and reached SQL or left a journal entry.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import StateDir
from migrator.adapters.store_identity import check_identity, record_identity
from migrator.defaults import DEFAULT_BATCH_SIZE, RATIO_MIN_DOCUMENTS
from migrator.errors import ImportInterrupted, PhaseError, UsageError
from migrator.import_budget import ErrorBudget, RejectLog
from migrator.import_dry_run import DryRunCheck
from migrator.import_run import ImportRun
from migrator.import_summary import ImportProgress, ImportSummary
from migrator.import_writer import BatchWriter
from migrator.prune_guard import PruneGuard
from migrator.rejects import RejectsFile

__all__ = ["RATIO_MIN_DOCUMENTS", "ImportProgress", "ImportSummary", "import_store"]

logger = logging.getLogger(__name__)


def import_store(
    json_store: JsonStore,
    sql_store: SqlStore,
    *,
    prune: bool = False,
    prune_all: bool = False,
    dry_run: bool = False,
    rejects_path: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[ImportProgress], None] | None = None,
    parallel: bool | None = None,
    before_write: Callable[[], object] | None = None,
    max_errors: int | None = None,
    max_error_ratio: float | None = None,
    force: bool = False,
) -> ImportSummary:
    """Import every partition file of `json_store` into `sql_store` (see the module docstring).

    `rejects_path` defaults to `<json dir>/.migrator/rejects-<UTC time>.jsonl`, created only
    when something is rejected (never in a dry run). `parallel` reads and maps files in a helper
    process (None: when there is a spare core and the store is big enough to pay for it; never
    in `dual-write`, where each file is read under its partition lock).
    `before_write` is called once, right before the first write of documents (never in a dry
    run, nor in a run with nothing to change): the CLI takes its snapshot there.
    `max_errors` and `max_error_ratio` stop the run once the rejects exceed them (see the module
    docstring); by default everything valid is imported and the rest reported. `prune` holds
    back the gone documents the JSON store may never have had (`migrator.prune_guard`);
    `prune_all` deletes those too. A database that mirrors another JSON store is refused
    unless `force` (`migrator.adapters.store_identity`)."""
    if not json_store.exists():
        raise UsageError(f"JSON store {json_store.root} does not exist or is not a directory")
    if batch_size < 1:
        raise UsageError(
            f"batch_size must be at least 1, not {batch_size}", parameters=["batch_size"]
        )
    if max_errors is not None and max_errors < 0:
        raise UsageError(
            f"max_errors must be at least 0, not {max_errors}", parameters=["max_errors"]
        )
    if max_error_ratio is not None and not 0 <= max_error_ratio <= 1:
        raise UsageError(
            f"max_error_ratio must be between 0 and 1, not {max_error_ratio}",
            parameters=["max_error_ratio"],
        )
    started = time.monotonic()
    if dry_run:
        target = SqlStore("sqlite://", json_store.schema)
        rejects_file = None
    else:
        target = sql_store
        path = Path(rejects_path) if rejects_path else StateDir(json_store.root).new_rejects_file()
        rejects_file = RejectsFile(path)
    rejects, schema = RejectLog(rejects_file), json_store.schema
    try:
        # A dry run writes only its in-memory database: it needs no lock and runs in any phase.
        held = (
            contextlib.nullcontext(Phase.JSON_ONLY)
            if dry_run
            else _importing(json_store.root, sql_store.location)
        )
        with held as phase:
            if not dry_run:
                check_identity(json_store.root, target, force=force)
            target.init_schema()
            if not dry_run:
                record_identity(json_store.root, target)
            guard = None if prune_all or dry_run else PruneGuard.for_store(json_store.root, schema)
            run = ImportRun(
                json_store,
                target,
                rejects,
                prune=prune or prune_all,
                guard=guard,
                check=DryRunCheck(target) if dry_run else None,
                budget=ErrorBudget(max_errors, max_error_ratio),
                locked=phase is Phase.DUAL_WRITE,
            )
            hook = None if dry_run else before_write
            try:
                run.run(BatchWriter(target, batch_size, run.written, hook), progress, parallel)
            except KeyboardInterrupt:
                committed = 0 if dry_run else sum(r.imported for r in run.results.values())
                raise ImportInterrupted(committed) from None
    finally:
        if rejects_file is not None:
            rejects_file.close()
        if dry_run:
            target.close()
    summary = ImportSummary(
        partitions=list(run.results.values()),
        rejects=rejects.kept,
        seconds=time.monotonic() - started,
        rejects_file=rejects_file.path if rejects_file and rejects_file.written else None,
        dry_run=dry_run,
        prune=prune or prune_all,
        stopped=run.stopped,
    )
    if run.stopped is not None:
        logger.info("import stopped: %s", run.stopped)
    logger.info(
        "import: %s files, %s imported, %s unchanged, %s rejected in %.1fs",
        summary.files,
        summary.imported,
        summary.unchanged,
        summary.rejected,
        summary.seconds,
    )
    return summary


@contextlib.contextmanager
def _importing(json_dir: Path, db: str) -> Iterator[Phase]:
    """Hold the phase lock while the store is in `json-only` or `dual-write` (see the module
    docstring), yielding the phase; a store with no state directory has never left `json-only`,
    and is left without one."""
    state = PhaseState(json_dir, db_hint=db)
    with state.lock() if state.state_dir.is_dir() else contextlib.nullcontext():
        phase = state.read().phase
        if phase.sql_is_primary:
            raise PhaseError(
                f"import runs in phase json-only or dual-write, not {phase}: SQL is the primary "
                "store now and the JSON files may be behind it, so an import could put older "
                "versions over newer ones; run `migrator repair` and `migrator validate` instead"
            )
        yield phase
