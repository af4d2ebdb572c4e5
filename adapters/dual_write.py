"""The store the application opens: one `put/get/list/delete`, routed by the current phase.

| phase            | writes                          | reads                                  |
|------------------|---------------------------------|----------------------------------------|
| `json-only`      | JSON                            | JSON                                   |
| `dual-write`     | JSON (primary), then SQL        | JSON; sampled shadow reads of SQL      |
| `sqlite-primary` | SQL (primary), then JSON backup | SQL; JSON when SQL raises (recorded)   |
| `sqlite-only`    | SQL                             | SQL                                    |

The phase is read at every call (one `stat` of the phase file), so a change made by another
process applies from the next call. `DualWriteStore` only assembles the parts, each of one idea:
the writes and their journal (`migrator.adapters.phase_writes`), the reads and their fallback
(`migrator.adapters.phase_reads`), and the shadow reads of `dual-write`
(`migrator.adapters.shadow_reads`).
"""

from __future__ import annotations

import builtins
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrator.adapters.base import DocumentStore
from migrator.adapters.dialects import database_url, redacted
from migrator.adapters.incidents import IncidentLog
from migrator.adapters.journal import Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_reads import PhaseReads
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.phase_writes import PhaseWrites
from migrator.adapters.query import Findable, Page, Query
from migrator.adapters.search_query import SearchHit
from migrator.adapters.shadow_reads import ShadowReads
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import StateDir
from migrator.adapters.state_lock import StateLock
from migrator.adapters.store_pair import StorePair
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

Document = dict[str, Any]


def wait_for_writers(json_dir: Path | str) -> int:
    """Take and release every partition lock once: afterwards, no write begun before the call
    is still running. The number of locks passed."""
    passed = 0
    for path in StateDir(json_dir).partition_lock_files():
        with StateLock(path, purpose=f"the partition lock {path.name}", reentrant=True):
            passed += 1
    return passed


class DualWriteStore(DocumentStore, Findable):
    """Documents in a JSON store and a SQL store, routed by the phase both share.

    `shadow_rate` (0 to 1) overrides the phase state's sampling rate of shadow reads; `rng`
    draws the samples."""

    def __init__(
        self,
        json_dir: Path | str,
        db: str | Path,
        schema: Schema,
        *,
        shadow_rate: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.schema = schema
        self.json_dir = Path(json_dir)
        self.json = JsonStore(self.json_dir, schema)
        self.state = PhaseState(self.json_dir, db_hint=redacted(db))
        self.journal = Journal(self.json_dir)
        self.incidents = IncidentLog(self.json_dir)
        self._db = db
        self._sql: SqlStore | None = None
        shadow = ShadowReads(schema.id_key, self.state, self.incidents, rate=shadow_rate, rng=rng)
        stores = StorePair(self.json, self._open_sql, self._current_phase, self.journal)
        self._writes = PhaseWrites(stores)
        self._reads = PhaseReads(
            stores, self.incidents, shadow, sqlite=database_url(db).startswith("sqlite")
        )

    @property
    def phase(self) -> Phase:
        """The current phase, as another process may just have set it."""
        return self._current_phase()

    @property
    def sql(self) -> SqlStore:
        """The SQL store, opened on first use (a `json-only` store may have no database)."""
        return self._open_sql()

    def _current_phase(self) -> Phase:
        return self.state.current().phase

    def _open_sql(self) -> SqlStore:
        """Never created here: `phase set dual-write` creates the tables, and a database that
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

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def put(self, partition: str, doc: Document) -> None:
        """Create or replace `doc` (by id) in `partition`."""
        self._writes.put(partition, doc)

    def delete(self, doc_id: str) -> bool:
        """Remove the document; False when the primary store has none."""
        return self._writes.delete(doc_id)

    def get(self, doc_id: str) -> Document | None:
        """The document with this id, or None."""
        return self._reads.get(doc_id)

    def list(self, partition: str) -> builtins.list[Document]:
        """The partition's documents in stored order ([] for an unknown partition)."""
        return self._reads.list(partition)

    def search(self, text: str, *, limit: int = 20) -> builtins.list[SearchHit]:
        """The documents that best match `text`, from the store this phase reads
        (`migrator.adapters.search_query` describes the language). Shadow reads compare
        SQLite's answer (PostgreSQL ranks otherwise: not compared)."""
        return self._reads.search(text, limit=limit)

    def partitions(self) -> builtins.list[str]:
        return self._reads.partitions()

    def run_query(self, query: Query) -> Page:
        """`find`, answered by the store the phase reads; shadow reads compare the answers."""
        return self._reads.run_query(query)

    def summaries(self, partition: str) -> builtins.list[Document]:
        """The partition's documents without their child lists, in stored order."""
        return self._reads.summaries(partition)

    def iter_documents(self) -> Iterator[tuple[str, Document]]:
        for partition in self.partitions():
            for doc in self.list(partition):
                yield partition, doc


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
