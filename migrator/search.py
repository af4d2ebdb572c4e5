"""`search` and `reindex`: full-text search from whichever store the phase reads, and the
rebuild of the SQL index from the rows.

The search itself is a store capability (`store.search`, see `migrator.adapters.search_query` for
the
language); this verb opens the application's store for a caller that has paths, and says which
store answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.adapters.dual_write import DualWriteStore
from migrator.adapters.search_query import SearchHit
from migrator.adapters.sql_store import SqlStore
from migrator.errors import DatabaseError, UsageError
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve


@dataclass(frozen=True)
class SearchResult:
    """The hits of one search, best first, and where they came from."""

    text: str
    phase: str
    #: `json` (a scan of the files) or `sql` (the full-text index).
    source: str
    hits: tuple[SearchHit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.text,
            "phase": self.phase,
            "source": self.source,
            "hits": [hit.to_dict() for hit in self.hits],
        }


def search(
    json_dir: Path | str,
    db: str | Path | None,
    text: str,
    schema: Schema | str = "sessions",
    *,
    limit: int = 20,
) -> SearchResult:
    """Search the store at `json_dir` / `db` as the application's store would in this phase
    (`db` may be left out while the phase reads JSON)."""
    resolved = resolve(schema)
    with DualWriteStore(json_dir, db or "", resolved) as store:
        phase = store.phase
        if phase.sql_is_primary and not db:
            raise UsageError(f"phase {phase} reads the database: give db", parameters=["db"])
        hits = store.search(text, limit=limit)
    source = "sql" if phase.sql_is_primary else "json"
    return SearchResult(text, str(phase), source, tuple(hits))


@dataclass(frozen=True)
class ReindexResult:
    """Values indexed per searchable field after a rebuild."""

    location: str
    indexed: dict[str, int]


def reindex(db: str | Path, schema: Schema | str = "sessions") -> ReindexResult:
    """Build the database's full-text index again from its rows, in one transaction (the fix
    `doctor` names when the index disagrees with the rows)."""
    store = SqlStore(db, resolve(schema), create=False)
    try:
        store.rebuild_search_index()
        checks = store.search_index_checks()
    finally:
        store.close()
    for check in checks:
        if check.status != "ok":
            raise DatabaseError(f"{check.name} after the rebuild: {check.detail}")
    return ReindexResult(
        store.location, {c.name.removeprefix("search index "): int(c.data) for c in checks}
    )
