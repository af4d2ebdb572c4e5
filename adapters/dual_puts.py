"""A put that reaches both stores, its JSON side staged first so that side's fsync runs while
the SQL rows are written (`dual-write` and `sqlite-primary`; `migrator.adapters.phase_writes`
routes to it, holding the partition's lock for the whole put).

Why staged: a JSON write is read, re-encode, write a temporary file, fsync it, rename, fsync
the directory. Written after the SQL transaction, its fsync waited alone in the caller's path;
staged before it, the fsync runs on the sync thread (`migrator.adapters.background_sync`)
beside the SQL work, and only the rename waits for it.

`dual-write` (JSON primary): one SQL transaction around the JSON file's replacement: intent
appended, the partition's next version staged, rows written (so SQL's refusal comes before JSON
changes), the staged file renamed over the partition, commit. A crash before the commit leaves
SQL as it was and the intent pending: the same state as a secondary that never ran.

`sqlite-primary` (SQL primary): intent appended, JSON's next version staged, SQL transaction
committed (once the intent is durable), then the staged file renamed. A crash after the commit
leaves SQL newest and the intent pending, which repair copies to JSON; a staged file no rename
took is a hidden `.<partition>.json.*.tmp` no reader opens. A JSON side that cannot be staged
(a damaged file) is the secondary's failure: SQL is written all the same, the failure journaled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from migrator.adapters.background_sync import BackgroundSync, sync_in_background
from migrator.adapters.faults import checkpoint
from migrator.adapters.fs import fsync_directory
from migrator.adapters.journal import Journal, Side, revision_of
from migrator.adapters.json_store import StagedPartition
from migrator.adapters.store_pair import StorePair
from migrator.errors import DocumentError, MigratorError, PartitionConflictError, StoreError

logger = logging.getLogger(__name__)

Document = dict[str, Any]
#: What SQL refuses before anything is written: the call's error, the journal entry closed.
REFUSED = (DocumentError, PartitionConflictError)


class DualPuts:
    """The two-store puts of one store pair; `doc` is validated by the caller."""

    def __init__(self, stores: StorePair) -> None:
        self._json, self._sql, self._journal = stores.json, stores.sql, stores.journal

    def json_primary(self, partition: str, doc: Document, doc_id: str) -> None:
        """`dual-write`'s put: the intent's and the staged file's fsyncs run while the rows
        are written and are waited for just before the rename. A SQL store that fails before
        JSON is replaced (down) refuses nothing: JSON is replaced alone and the SQL side
        journaled as failed; a JSON write that fails rolls the rows back."""
        intent = self._journal.intend("put", doc_id, partition, Side.JSON, revision_of(doc))
        try:
            staged = self._json.stage_put(partition, doc)
            syncing = _synced(staged)
            checkpoint("dual.staged")
        except REFUSED:
            finish(self._journal, intent.entry, by="refused")
            raise
        replace = _Replacement(staged, intent.durable, syncing)
        try:
            self._sql().put(partition, doc, before_commit=replace, validated=True)
        except Exception as exc:
            if replace.replaced:  # SQL failed to commit what JSON now holds
                replace.wait_durable()
                failed(self._journal, intent.entry, "put", doc_id, Side.JSON, exc)
                return
            if replace.entered:  # the primary failed (its staged file is gone): the caller's error
                raise
            refused = isinstance(exc, REFUSED)
            if refused or not isinstance(exc, MigratorError):
                staged.discard()
                if refused:
                    finish(self._journal, intent.entry, by="refused")
                raise
            logger.info("SQL failed before the JSON write of %r: %s", doc_id, exc)
            replace()
            replace.wait_durable()
            failed(self._journal, intent.entry, "put", doc_id, Side.JSON, exc)
            return
        replace.wait_durable()
        finish(self._journal, intent.entry, by="writer")

    def sql_primary(self, partition: str, doc: Document, doc_id: str) -> None:
        """`sqlite-primary`'s put: JSON staged, SQL committed once the intent is durable, then
        the staged file renamed once its own fsync (run beside the SQL work) is done."""
        intent = self._journal.intend("put", doc_id, partition, Side.SQL, revision_of(doc))
        try:
            staged = self._json.stage_put(partition, doc)
            secondary: tuple[StagedPartition, BackgroundSync] | Exception = (
                staged,
                _synced(staged),
            )
            checkpoint("dual.staged")
        except Exception as exc:  # the secondary's failure, journaled once the primary has it
            secondary = exc
        try:
            self._sql().put(partition, doc, before_commit=intent.durable, validated=True)
        except BaseException as exc:
            if not isinstance(secondary, Exception):
                secondary[0].discard()
            if isinstance(exc, REFUSED):
                finish(self._journal, intent.entry, by="refused")
            raise
        checkpoint("dual.between_writes")
        try:
            if isinstance(secondary, Exception):
                raise secondary
            staged, syncing = secondary
            staged.replace(before_rename=syncing.wait)
        except Exception as exc:
            failed(self._journal, intent.entry, "put", doc_id, Side.SQL, exc)
            return
        finish(self._journal, intent.entry, by="writer")


class _Replacement:
    """`dual-write`'s JSON write, run inside the SQL transaction once the rows are written: the
    staged file renamed over the partition once it and the intent are durable. The rename is
    made durable (its directory's fsync) on the sync thread while SQL commits."""

    def __init__(
        self, staged: StagedPartition, intent: Callable[[], None], syncing: BackgroundSync
    ) -> None:
        self._staged, self._intent, self._syncing = staged, intent, syncing
        self._directory: BackgroundSync | None = None
        self.entered = self.replaced = False

    def __call__(self) -> None:
        self.entered = True
        self._staged.replace(before_rename=self._ready, sync_directory=False)
        self.replaced = True
        with contextlib.suppress(StoreError):  # not started: `wait_durable` syncs it itself
            self._directory = sync_in_background(self._staged.path.parent)
        checkpoint("dual.between_writes")

    def _ready(self) -> None:
        self._intent()
        self._syncing.wait()

    def wait_durable(self) -> None:
        """Return once the rename is durable; `StoreError` when it cannot be made so."""
        if self._directory is not None:
            self._directory.wait()
            return
        try:
            fsync_directory(self._staged.path.parent)
        except OSError as exc:
            raise StoreError(f"{self._staged.path}: cannot sync: {exc.strerror or exc}") from exc


def _synced(staged: StagedPartition) -> BackgroundSync:
    """The staged file's fsync, started on the sync thread (the staged file removed if not)."""
    try:
        return sync_in_background(staged.tmp)
    except StoreError:
        staged.discard()
        raise


def failed(
    journal: Journal, entry: str, op: str, doc_id: str, primary: Side, exc: Exception
) -> None:
    """The secondary store refused or failed: journaled, never raised."""
    logger.warning("%s of %r reached %s, not %s: %s", op, doc_id, primary, primary.other, exc)
    try:
        journal.fail(entry, f"{type(exc).__name__}: {exc}")
    except StoreError:  # the intent is durable already: repair will still see it
        logger.exception("cannot journal the failure of %s %r", op, doc_id)


def finish(journal: Journal, entry: str, *, by: str) -> None:
    """The write is on both stores (or refused before either changed)."""
    try:
        journal.finish([entry], by=by)
    except StoreError:  # a lost `done` only makes repair copy an equal document
        logger.exception("cannot journal the end of write %s", entry)
