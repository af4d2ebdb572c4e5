"""Writes routed by the phase, each journaled when it goes to both stores.

A write validates the document first (a `DocumentError` is raised before any store is
touched), then, holding the JSON partition's file lock for the whole write, reads the phase
and, when both stores are written: journals an intent, writes the primary, writes the
secondary, and journals `done`. The primary's result is the caller's; a secondary that raises
is journaled as failed and never raised. The intent's fsync runs while the primary's change is
prepared and is waited for just before that change becomes visible (`Intent.durable`).

In `dual-write` a put is one SQL transaction around the JSON file's replacement: intent
appended, the partition's next version staged beside its file, rows written (so SQL's refusal
comes before JSON changes), the staged file renamed over the partition, commit. SQL is written
once, and checked by that same write; the intent's and the staged file's fsyncs run while the
rows are written. A crash before the commit leaves SQL as it was and the intent pending: the
same state as a secondary that never ran.

Holding the partition lock across both stores keeps the order of writes to one
document the same in both (no JSON-A, JSON-B, SQL-B, SQL-A), and lets a phase move wait for
every write begun under the old phase (`migrator.adapters.dual_write.wait_for_writers`).

Repair rule (what `migrator repair` relies on): the primary of the newest pending journal
entry of a document holds its newest version, so repair copies that store's *current* version
(or its absence: a delete stays deleted) to the other store, never the journal's older one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from migrator.adapters.background_sync import sync_in_background
from migrator.adapters.faults import checkpoint
from migrator.adapters.journal import Side, revision_of
from migrator.adapters.json_store import JsonStore, check_partition_name
from migrator.adapters.phase_state import Phase
from migrator.adapters.store_pair import StorePair
from migrator.errors import (
    DocumentError,
    MigratorError,
    PartitionConflictError,
    StoreError,
)
from migrator.schemas.codec import validate

logger = logging.getLogger(__name__)

Document = dict[str, Any]
T = TypeVar("T")


class PhaseWrites:
    """The writes of one store pair, each routed by the phase read at that write."""

    def __init__(self, stores: StorePair) -> None:
        self._json, self._sql, self._phase = stores.json, stores.sql, stores.phase
        self._journal = stores.journal
        self._schema = stores.json.schema

    def put(self, partition: str, doc: Document) -> None:
        check_partition_name(partition)
        try:
            validate(self._schema, doc)
        except DocumentError as exc:
            raise exc.located(partition=partition) from None
        doc_id = doc[self._schema.id_key]
        with self._json.lock(partition):
            phase = self._phase()
            if phase is Phase.JSON_ONLY:
                self._json.put(partition, doc)
            elif phase is Phase.SQLITE_ONLY:
                self._sql().put(partition, doc)
            elif phase is Phase.DUAL_WRITE:
                self._put_json_primary(partition, doc, doc_id)
            else:
                self._dual(
                    phase,
                    "put",
                    doc_id,
                    partition,
                    revision_of(doc),
                    lambda side, durable: self._put_in(side, partition, doc, durable),
                )

    def _put_json_primary(self, partition: str, doc: Document, doc_id: str) -> None:
        """`dual-write`'s put, SQL written once and its fsyncs overlapped with the SQL work:
        intent appended (its fsync starts), the partition's next version staged beside it
        (its fsync starts), then one SQL transaction: the rows are written (so what SQL
        cannot hold, an id another partition holds or a child key another document uses, is
        refused with `sqlite-primary`'s error before JSON changes), both fsyncs are waited
        for, the staged file replaces the partition (the primary: its result is the caller's),
        and SQL commits. A SQL store that fails before JSON is replaced (down) refuses
        nothing: JSON is replaced alone and the SQL side journaled as failed; a JSON write
        that fails rolls the rows back."""
        intent = self._journal.intend("put", doc_id, partition, Side.JSON, revision_of(doc))
        try:
            staged = self._json.stage_put(partition, doc)
        except (DocumentError, PartitionConflictError):
            self._finish(intent.entry, by="refused")  # refused before anything was written
            raise
        try:
            syncing = sync_in_background(staged.tmp)
        except StoreError:
            staged.discard()
            raise
        entered = replaced = False

        def replace_json() -> None:
            nonlocal entered, replaced
            entered = True

            def durable() -> None:
                intent.durable()
                syncing.wait()

            staged.replace(before_rename=durable)
            replaced = True
            checkpoint("dual.between_writes")

        try:
            self._sql().put(partition, doc, before_commit=replace_json)
        except Exception as exc:
            if replaced:  # SQL failed to commit what JSON now holds
                self._failed(intent.entry, "put", doc_id, Side.JSON, exc)
                return
            if entered:  # the primary failed (its staged file is gone): the caller's error
                raise
            refused = isinstance(exc, DocumentError | PartitionConflictError)
            if refused or not isinstance(exc, MigratorError):
                staged.discard()
                if refused:
                    self._finish(intent.entry, by="refused")
                raise
            logger.info("SQL failed before the JSON write of %r: %s", doc_id, exc)
            replace_json()
            self._failed(intent.entry, "put", doc_id, Side.JSON, exc)
            return
        self._finish(intent.entry, by="writer")

    def delete(self, doc_id: str) -> bool:
        for _ in range(5):
            phase = self._phase()
            partition = self._partition_of(phase, doc_id)
            if partition is None:
                return False
            with self._json.lock(partition):
                if self._phase() is phase:
                    return self._delete_locked(phase, partition, doc_id)
            # The phase moved while we looked: look again under the new one.
        raise StoreError(f"cannot delete {doc_id!r}: the phase kept changing; try again")

    def _delete_locked(self, phase: Phase, partition: str, doc_id: str) -> bool:
        if not phase.writes_sql:
            return self._delete_in(Side.JSON, partition, doc_id)
        if not phase.writes_json:
            return self._delete_in(Side.SQL, partition, doc_id)
        return self._dual(
            phase,
            "delete",
            doc_id,
            partition,
            None,
            lambda side, durable: self._delete_in(side, partition, doc_id, durable),
        )

    def _dual(
        self,
        phase: Phase,
        op: str,
        doc_id: str,
        partition: str,
        revision: str | None,
        write: Callable[[Side, Callable[[], None]], T],
    ) -> T:
        """Journal, write the primary, then the secondary. `write(side, durable)` calls
        `durable` just before its change becomes visible (the intent's fsync runs until
        then)."""
        primary = Side.SQL if phase.sql_is_primary else Side.JSON
        intent = self._journal.intend(op, doc_id, partition, primary, revision)
        try:
            result = write(primary, intent.durable)
        except (DocumentError, PartitionConflictError):
            self._finish(intent.entry, by="refused")  # refused before anything was written
            raise
        checkpoint("dual.between_writes")
        try:
            write(primary.other, _nothing)
        except Exception as exc:
            self._failed(intent.entry, op, doc_id, primary, exc)
            return result
        self._finish(intent.entry, by="writer")
        return result

    def _failed(self, entry: str, op: str, doc_id: str, primary: Side, exc: Exception) -> None:
        """The secondary store refused or failed: journaled, never raised."""
        logger.warning("%s of %r reached %s, not %s: %s", op, doc_id, primary, primary.other, exc)
        try:
            self._journal.fail(entry, f"{type(exc).__name__}: {exc}")
        except StoreError:  # the intent is durable already: repair will still see it
            logger.exception("cannot journal the failure of %s %r", op, doc_id)

    def _finish(self, entry: str, *, by: str) -> None:
        try:
            self._journal.finish([entry], by=by)
        except StoreError:  # a lost `done` only makes repair copy an equal document
            logger.exception("cannot journal the end of write %s", entry)

    def _put_in(
        self, side: Side, partition: str, doc: Document, durable: Callable[[], None]
    ) -> None:
        if side is Side.SQL:
            self._sql().put(partition, doc, before_commit=durable)
        else:  # only ever the secondary: `dual-write` stages its JSON primary instead
            durable()
            self._json.put(partition, doc)

    def _delete_in(
        self, side: Side, partition: str, doc_id: str, durable: Callable[[], None] | None = None
    ) -> bool:
        if durable is not None:
            durable()
        if side is Side.SQL:
            return self._sql().delete(doc_id)
        id_key = self._schema.id_key
        with self._json.lock(partition):
            docs = self._json.read_partition(partition)
            kept = [d for d in docs if not (isinstance(d, dict) and d.get(id_key) == doc_id)]
            if len(kept) == len(docs):
                return False
            self._json.write_partition(partition, kept)
        return True

    def _partition_of(self, phase: Phase, doc_id: str) -> str | None:
        if phase.sql_is_primary:
            return self._sql().partition_of(doc_id)
        return json_partition_of(self._json, doc_id)


def _nothing() -> None:
    """A secondary's write waits for nothing: the intent is durable since the primary's."""


def json_partition_of(store: JsonStore, doc_id: str) -> str | None:
    """The partition whose file holds `doc_id` (a scan: the JSON store has no index)."""
    id_key = store.schema.id_key
    for partition in store.partitions():
        for doc in store.list(partition):
            if doc.get(id_key) == doc_id:
                return partition
    return None
