"""Reads routed by the phase: JSON until `sqlite-primary`, SQL from then on.

In `dual-write` JSON answers and a sampled share of reads is shadowed on SQL
(`migrator.adapters.shadow_reads`); in `sqlite-primary` a read SQL fails (a `DatabaseError`,
a corrupt row included) is served from JSON and recorded in the fallback log, with whether a
pending journal entry means JSON may be stale for it.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from migrator.adapters.incidents import IncidentLog
from migrator.adapters.journal import Side
from migrator.adapters.json_store import JsonStore, check_partition_name
from migrator.adapters.phase_state import Phase
from migrator.adapters.query import Page, Query, describe
from migrator.adapters.search_query import SearchHit
from migrator.adapters.shadow_reads import ShadowReads
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import FALLBACK_LOG
from migrator.adapters.store_pair import StorePair
from migrator.errors import DatabaseError

logger = logging.getLogger(__name__)

Document = dict[str, Any]
T = TypeVar("T")


def _items(page: Page) -> builtins.list[Document]:
    """What two answers to `find` must agree on: the documents, not the cursor."""
    return page.items


class PhaseReads:
    """The reads of one store pair, each asked of the store the phase read at that call reads."""

    def __init__(
        self, stores: StorePair, incidents: IncidentLog, shadow: ShadowReads, *, sqlite: bool
    ) -> None:
        self._json, self._sql, self._phase = stores.json, stores.sql, stores.phase
        self._journal = stores.journal
        self._incidents = incidents
        self._shadow = shadow
        #: Search is shadowed on SQLite only: PostgreSQL ranks otherwise by design.
        self._shadow_search = sqlite

    def get(self, doc_id: str) -> Document | None:
        return self._routed("get", doc_id, lambda store: store.get(doc_id))

    def list(self, partition: str) -> builtins.list[Document]:
        check_partition_name(partition)
        return self._routed("list", partition, lambda store: store.list(partition))

    def summaries(self, partition: str) -> builtins.list[Document]:
        check_partition_name(partition)
        return self._routed("summaries", partition, lambda store: store.summaries(partition))

    def search(self, text: str, *, limit: int) -> builtins.list[SearchHit]:
        return self._routed(
            "search",
            text,
            lambda store: store.search(text, limit=limit),
            compared=self._hits,
            shadow=self._shadow_search,
        )

    def _hits(self, hits: builtins.list[SearchHit]) -> builtins.list[Document]:
        """Hits as the shadow comparison pairs them (by id; snippets differ by design)."""
        id_key = self._json.schema.id_key
        return [
            {id_key: h.doc_id, "partition": h.partition, "field": h.field, "score": h.score}
            for h in hits
        ]

    def partitions(self) -> builtins.list[str]:
        return self._read(self._phase(), "partitions", "", lambda store: store.partitions())

    def run_query(self, query: Query) -> Page:
        return self._routed(
            "find", describe(query), lambda store: store.run_query(query), compared=_items
        )

    def _routed(
        self,
        what: str,
        key: str,
        read: Callable[[JsonStore | SqlStore], T],
        *,
        compared: Callable[[T], Any] = lambda answer: answer,
        shadow: bool = True,
    ) -> T:
        """`read` asked of the store the phase reads. In `dual-write` JSON answers and a
        sampled share is shadowed: SQL's answer compared with JSON's, both seen through
        `compared` (what the two stores must agree on)."""
        phase = self._phase()
        if phase is not Phase.DUAL_WRITE:
            return self._read(phase, what, key, read)
        result = read(self._json)
        if shadow and self._shadow.sampled():
            self._shadow.compare(
                what,
                key,
                compared(result),
                lambda: compared(read(self._sql())),
                lambda: compared(read(self._json)),
            )
        return result

    def _read(
        self, phase: Phase, what: str, key: str, read: Callable[[JsonStore | SqlStore], T]
    ) -> T:
        if not phase.sql_is_primary:
            return read(self._json)
        if phase is Phase.SQLITE_ONLY:
            return read(self._sql())
        try:
            return read(self._sql())
        except DatabaseError as exc:
            self._record_fallback(what, key, exc)
            return read(self._json)

    def _record_fallback(self, what: str, key: str, exc: DatabaseError) -> None:
        logger.warning("%s %r served from JSON: SQL failed: %s", what, key, exc)
        try:
            pending = self._journal.read().pending
            stale = any(p.primary is Side.SQL and key in (p.doc_id, p.partition) for p in pending)
            entry = {"read": what, "key": key, "error": str(exc), "json_may_be_stale": stale}
            self._incidents.record(FALLBACK_LOG, "fallbacks", [entry])
        except Exception:  # recording must never fail the read it describes
            logger.exception("cannot record a fallback read")
