"""Writes routed by the phase, each journaled when it goes to both stores.

A write validates the document first (a `DocumentError` is raised before any store is
touched), then, holding the JSON partition's file lock for the whole write, reads the phase
and, when both stores are written: journals an intent, writes the primary, writes the
secondary, and journals `done`. The primary's result is the caller's; a secondary that raises
is journaled as failed and never raised. The intent's fsync runs while the primary's change is
prepared and is waited for just before that change becomes visible (`Intent.durable`). A put
to both stores stages its JSON side first, so that side's fsync runs beside the SQL work
(`migrator.adapters.dual_puts`).

Holding the partition lock across both stores keeps the order of writes to one
document the same in both (no JSON-A, JSON-B, SQL-B, SQL-A), and lets a phase move wait for
every write begun under the old phase (`migrator.adapters.dual_write.wait_for_writers`).

Repair rule (what `migrator repair` relies on): the primary of the newest pending journal
entry of a document holds its newest version, so repair copies that store's *current* version
(or its absence: a delete stays deleted) to the other store, never the journal's older one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from migrator.adapters.dual_puts import REFUSED, DualPuts, failed, finish
from migrator.adapters.faults import checkpoint
from migrator.adapters.journal import Side
from migrator.adapters.json_store import JsonStore, check_partition_name
from migrator.adapters.phase_state import Phase
from migrator.adapters.store_pair import StorePair
from migrator.errors import DocumentError, StoreError
from migrator.schemas.codec import validate

Document = dict[str, Any]
T = TypeVar("T")


class PhaseWrites:
    """The writes of one store pair, each routed by the phase read at that write."""

    def __init__(self, stores: StorePair) -> None:
        self._json, self._sql, self._phase = stores.json, stores.sql, stores.phase
        self._journal = stores.journal
        self._schema = stores.json.schema
        self._puts = DualPuts(stores)

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
                self._puts.json_primary(partition, doc, doc_id)
            else:
                self._puts.sql_primary(partition, doc, doc_id)

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
        except REFUSED:
            finish(self._journal, intent.entry, by="refused")  # refused before anything was written
            raise
        checkpoint("dual.between_writes")
        try:
            write(primary.other, _nothing)
        except Exception as exc:
            failed(self._journal, intent.entry, op, doc_id, primary, exc)
            return result
        finish(self._journal, intent.entry, by="writer")
        return result

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
