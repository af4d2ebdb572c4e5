"""The store the application opens: one `put/get/list/delete`, routed by the current phase.

| phase            | writes                          | reads                                  |
|------------------|---------------------------------|----------------------------------------|
| `json-only`      | JSON                            | JSON                                   |
| `dual-write`     | JSON (primary), then SQL        | JSON; sampled shadow reads of SQL      |
| `sqlite-primary` | SQL (primary), then JSON backup | SQL; JSON when SQL raises (recorded)   |
| `sqlite-only`    | SQL                             | SQL                                    |

A write validates the document first (a `DocumentError` is raised before any store is
touched), then, holding the JSON partition's file lock for the whole write: reads the phase
(one `stat` of the phase file, so a change made by another process applies from the next
call), journals an intent, writes the primary, writes the secondary, and journals `done`. The
primary's result is the caller's; a secondary that raises is journaled as failed and never
raised. Holding the partition lock across both stores keeps the order of writes to one
document the same in both (no JSON-A, JSON-B, SQL-B, SQL-A), and lets a phase move wait for
every write begun under the old phase (`wait_for_writers`).

Repair rule (what `migrator repair` relies on): the primary of the newest pending journal
entry of a document holds its newest version, so repair copies that store's *current* version
(or its absence: a delete stays deleted) to the other store, never the journal's older one.
"""

from __future__ import annotations

import builtins
import logging
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from migrator.adapters.dialects import database_url, redacted
from migrator.adapters.faults import checkpoint
from migrator.adapters.incidents import IncidentLog
from migrator.adapters.journal import Journal, Side, revision_of
from migrator.adapters.json_store import JsonStore, check_partition_name
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.query import Findable, Page, Query, describe
from migrator.adapters.search_query import SearchHit
from migrator.adapters.shadow import (
    ShadowOutcome,
    compare_document,
    compare_partition,
    error_outcome,
)
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import FALLBACK_LOG, SHADOW_LOG, StateDir
from migrator.adapters.state_lock import StateLock
from migrator.errors import (
    DatabaseError,
    DocumentError,
    MigratorError,
    PartitionConflictError,
    StoreError,
    UsageError,
)
from migrator.schemas.codec import validate
from migrator.schemas.comparison import compile_ignore_paths
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)

Document = dict[str, Any]
T = TypeVar("T")


def wait_for_writers(json_dir: Path | str) -> int:
    """Take and release every partition lock once: afterwards, no write begun before the call
    is still running. The number of locks passed."""
    passed = 0
    for path in StateDir(json_dir).partition_lock_files():
        with StateLock(path, purpose=f"the partition lock {path.name}", reentrant=True):
            passed += 1
    return passed


class DualWriteStore(Findable):
    """Documents in a JSON store and a SQL store, routed by the phase both share."""

    def __init__(
        self,
        json_dir: Path | str,
        db: str | Path,
        schema: Schema,
        *,
        shadow_rate: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if shadow_rate is not None and not 0.0 <= shadow_rate <= 1.0:
            raise UsageError(f"shadow rate must be between 0 and 1, got {shadow_rate}")
        self.schema = schema
        self.json_dir = Path(json_dir)
        self.json = JsonStore(self.json_dir, schema)
        self.state = PhaseState(self.json_dir, db_hint=redacted(db))
        self.journal = Journal(self.json_dir)
        self.incidents = IncidentLog(self.json_dir)
        self._db = db
        self._sql: SqlStore | None = None
        self._shadow_rate = shadow_rate
        self._rng = rng or random.Random()
        self._ignore: tuple[tuple[str, ...], tuple[re.Pattern[str], ...]] = ((), ())

    # ------------------------------------------------------------------ basics

    @property
    def phase(self) -> Phase:
        """The current phase, as another process may just have set it."""
        return self.state.current().phase

    @property
    def sql(self) -> SqlStore:
        """The SQL store, opened on first use (a `json-only` store may have no database).

        Never created here: `phase set dual-write` creates the tables, and a database that
        went missing later must fail (and be journaled, or read around), not be silently
        replaced by an empty one."""
        if self._sql is None:
            self._sql = SqlStore(self._db, self.schema, create=False)
        return self._sql

    def close(self) -> None:
        self.incidents.flush()
        if self._sql is not None:
            self._sql.close()

    def __enter__(self) -> DualWriteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def put(self, partition: str, doc: Document) -> None:
        """Create or replace `doc` (by id) in `partition`."""
        check_partition_name(partition)
        try:
            validate(self.schema, doc)
        except DocumentError as exc:
            raise exc.located(partition=partition) from None
        doc_id = doc[self.schema.id_key]
        with self.json.lock(partition):
            phase = self.phase
            if phase is Phase.JSON_ONLY:
                self.json.put(partition, doc)
            elif phase is Phase.SQLITE_ONLY:
                self.sql.put(partition, doc)
            else:
                if phase is Phase.DUAL_WRITE:
                    self._refuse_what_sql_cannot_hold(partition, doc)
                self._dual(
                    phase,
                    "put",
                    doc_id,
                    partition,
                    revision_of(doc),
                    lambda side: self._store(side).put(partition, doc),
                )

    def delete(self, doc_id: str) -> bool:
        """Remove the document; False when the primary store has none."""
        for _ in range(5):
            phase = self.phase
            partition = self._partition_of(phase, doc_id)
            if partition is None:
                return False
            with self.json.lock(partition):
                if self.phase is phase:
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
            lambda side: self._delete_in(side, partition, doc_id),
        )

    def _dual(
        self,
        phase: Phase,
        op: str,
        doc_id: str,
        partition: str,
        revision: str | None,
        write: Callable[[Side], T],
    ) -> T:
        primary = Side.SQL if phase.sql_is_primary else Side.JSON
        entry = self.journal.begin(op, doc_id, partition, primary, revision)
        try:
            result = write(primary)
        except (DocumentError, PartitionConflictError):
            self._finish(entry, by="refused")  # refused before anything was written
            raise
        checkpoint("dual.between_writes")
        try:
            write(primary.other)
        except Exception as exc:
            logger.warning(
                "%s of %r reached %s, not %s: %s", op, doc_id, primary, primary.other, exc
            )
            try:
                self.journal.fail(entry, f"{type(exc).__name__}: {exc}")
            except StoreError:  # the intent is durable already: repair will still see it
                logger.exception("cannot journal the failure of %s %r", op, doc_id)
            return result
        self._finish(entry, by="writer")
        return result

    def _refuse_what_sql_cannot_hold(self, partition: str, doc: Document) -> None:
        """Raise, before JSON accepts it, what SQL would refuse for this document (the same
        error as in `sqlite-primary`): otherwise it would be journaled, and repair would fail
        on it at every run. A SQL store that cannot answer (down) refuses nothing: the write
        goes on and its secondary failure is journaled as usual."""
        try:
            self.sql.check_put(partition, doc)
        except (DocumentError, PartitionConflictError):
            raise
        except MigratorError as exc:
            logger.info("cannot check %r against SQL before the write: %s", partition, exc)

    def _finish(self, entry: str, *, by: str) -> None:
        try:
            self.journal.finish([entry], by=by)
        except StoreError:  # a lost `done` only makes repair copy an equal document
            logger.exception("cannot journal the end of write %s", entry)

    def _store(self, side: Side) -> JsonStore | SqlStore:
        return self.json if side is Side.JSON else self.sql

    def _delete_in(self, side: Side, partition: str, doc_id: str) -> bool:
        if side is Side.SQL:
            return self.sql.delete(doc_id)
        id_key = self.schema.id_key
        with self.json.lock(partition):
            docs = self.json.read_partition(partition)
            kept = [d for d in docs if not (isinstance(d, dict) and d.get(id_key) == doc_id)]
            if len(kept) == len(docs):
                return False
            self.json.write_partition(partition, kept)
        return True

    def _partition_of(self, phase: Phase, doc_id: str) -> str | None:
        if phase.sql_is_primary:
            return self.sql.partition_of(doc_id)
        return json_partition_of(self.json, doc_id)

    # ------------------------------------------------------------------ reading

    def get(self, doc_id: str) -> Document | None:
        """The document with this id, or None."""
        phase = self.phase
        if phase is Phase.DUAL_WRITE:
            result = self.json.get(doc_id)
            if self._sampled():
                self._shadow("get", doc_id, result, lambda: self.sql.get(doc_id))
            return result
        return self._read(phase, "get", doc_id, lambda store: store.get(doc_id))

    def list(self, partition: str) -> builtins.list[Document]:
        """The partition's documents in stored order ([] for an unknown partition)."""
        check_partition_name(partition)
        phase = self.phase
        if phase is Phase.DUAL_WRITE:
            result = self.json.list(partition)
            if self._sampled():
                self._shadow("list", partition, result, lambda: self.sql.list(partition))
            return result
        return self._read(phase, "list", partition, lambda store: store.list(partition))

    def search(self, text: str, *, limit: int = 20) -> builtins.list[SearchHit]:
        """The documents that best match `text`, from the store this phase reads
        (`migrator.adapters.search_query` describes the language). Shadow reads compare SQLite's
        answer
        (PostgreSQL ranks otherwise: not compared)."""
        phase = self.phase
        if phase is Phase.DUAL_WRITE:
            result = self.json.search(text, limit=limit)
            if self._sampled() and database_url(self._db).startswith("sqlite"):
                self._shadow(
                    "search",
                    text,
                    self._hits(result),
                    lambda: self._hits(self.sql.search(text, limit=limit)),
                    reread=lambda: self._hits(self.json.search(text, limit=limit)),
                )
            return result
        return self._read(phase, "search", text, lambda s: s.search(text, limit=limit))

    def _hits(self, hits: builtins.list[SearchHit]) -> builtins.list[Document]:
        """Hits as the shadow comparison pairs them (by id; snippets differ by design)."""
        return [
            {
                self.schema.id_key: h.doc_id,
                "partition": h.partition,
                "field": h.field,
                "score": h.score,
            }
            for h in hits
        ]

    def partitions(self) -> builtins.list[str]:
        return self._read(self.phase, "partitions", "", lambda store: store.partitions())

    def run_query(self, query: Query) -> Page:
        """`find`, answered by the store the phase reads; shadow reads compare the answers."""
        phase = self.phase
        if phase is Phase.DUAL_WRITE:
            result = self.json.run_query(query)
            if self._sampled():
                self._shadow(
                    "find",
                    describe(query),
                    result.items,
                    lambda: self.sql.run_query(query).items,
                    reread=lambda: self.json.run_query(query).items,
                )
            return result
        return self._read(phase, "find", describe(query), lambda store: store.run_query(query))

    def summaries(self, partition: str) -> builtins.list[Document]:
        """The partition's documents without their child lists, in stored order."""
        check_partition_name(partition)
        phase = self.phase
        if phase is Phase.DUAL_WRITE:
            result = self.json.summaries(partition)
            if self._sampled():
                self._shadow(
                    "summaries",
                    partition,
                    result,
                    lambda: self.sql.summaries(partition),
                    reread=lambda: self.json.summaries(partition),
                )
            return result
        return self._read(phase, "summaries", partition, lambda s: s.summaries(partition))

    def iter_documents(self) -> Iterator[tuple[str, Document]]:
        for partition in self.partitions():
            for doc in self.list(partition):
                yield partition, doc

    def _read(
        self, phase: Phase, what: str, key: str, read: Callable[[JsonStore | SqlStore], T]
    ) -> T:
        if not phase.sql_is_primary:
            return read(self.json)
        if phase is Phase.SQLITE_ONLY:
            return read(self.sql)
        try:
            return read(self.sql)
        except DatabaseError as exc:
            self._record_fallback(what, key, exc)
            return read(self.json)

    def _record_fallback(self, what: str, key: str, exc: DatabaseError) -> None:
        logger.warning("%s %r served from JSON: SQL failed: %s", what, key, exc)
        try:
            pending = self.journal.read().pending
            stale = any(p.primary is Side.SQL and key in (p.doc_id, p.partition) for p in pending)
            entry = {"read": what, "key": key, "error": str(exc), "json_may_be_stale": stale}
            self.incidents.record(FALLBACK_LOG, "fallbacks", [entry])
        except Exception:  # recording must never fail the read it describes
            logger.exception("cannot record a fallback read")

    # ------------------------------------------------------------------ shadow reads

    def _sampled(self) -> bool:
        rate = self._shadow_rate
        if rate is None:
            rate = self.state.current().shadow_rate
        return rate > 0 and self._rng.random() < rate

    def _ignore_patterns(self) -> tuple[re.Pattern[str], ...]:
        paths = self.state.current().ignore_paths
        if paths != self._ignore[0]:
            self._ignore = (paths, compile_ignore_paths(paths))
        return self._ignore[1]

    def _shadow(
        self,
        what: str,
        key: str,
        control: Any,
        candidate: Callable[[], Any],
        *,
        reread: Callable[[], Any] | None = None,
    ) -> None:
        """Compare the SQL answer with the JSON one the caller gets; record, never raise."""
        try:
            outcome = self._experiment(what, key, control, candidate)
            if outcome.verdict == "mismatched":
                # A write between the two reads looks like a mismatch: look once more.
                if reread is not None:
                    again = reread()
                elif what == "get":
                    again = self.json.get(key)
                else:
                    again = self.json.list(key)
                outcome = self._experiment(what, key, again, candidate)
            self._publish(what, key, outcome)
        except Exception:
            logger.exception("shadow %s of %r could not be recorded", what, key)

    def _experiment(
        self, what: str, key: str, control: Any, candidate: Callable[[], Any]
    ) -> ShadowOutcome:
        try:
            found = candidate()
        except Exception as exc:
            return error_outcome(exc)
        ignore = self._ignore_patterns()
        if what == "get":
            return compare_document(key, control, found, ignore)
        return compare_partition(self.schema.id_key, control, found, ignore)

    def _publish(self, what: str, key: str, outcome: ShadowOutcome) -> None:
        incidents = self.incidents
        incidents.count("shadow_compared")
        if outcome.verdict == "matched":
            incidents.count("shadow_matched")
        elif outcome.verdict == "ignored":
            incidents.count("shadow_ignored")
        elif outcome.verdict == "error":
            entry = {"read": what, "key": key, "error": outcome.error}
            incidents.record(SHADOW_LOG, "shadow_errors", [entry])
        else:
            entries = [
                {
                    "read": what,
                    "key": key,
                    "id": finding.doc_id,
                    "paths": [d.path for d in finding.differences],
                    "differences": [d.to_dict() for d in finding.differences],
                }
                for finding in outcome.findings
            ]
            incidents.record(SHADOW_LOG, "shadow_mismatched", entries)


def json_partition_of(store: JsonStore, doc_id: str) -> str | None:
    """The partition whose file holds `doc_id` (a scan: the JSON store has no index)."""
    id_key = store.schema.id_key
    for partition in store.partitions():
        for doc in store.list(partition):
            if doc.get(id_key) == doc_id:
                return partition
    return None


def open_store(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    *,
    shadow_rate: float | None = None,
) -> DualWriteStore:
    """The application's store over `json_dir` and `db`, in whatever phase they are.

    `shadow_rate` (0 to 1) overrides the phase state's sampling rate of shadow reads."""
    return DualWriteStore(json_dir, db, resolve(schema), shadow_rate=shadow_rate)
