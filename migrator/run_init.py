"""`init_database` on a path or URL: the verb `migrator init` and `migrator.init_database`
call. It opens the database, creates the schema's tables if they are missing, and closes it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve


@dataclass(frozen=True)
class InitResult:
    """Which schema's tables are in which database, and whether this call created them."""

    schema: str
    version: int
    location: str
    created: bool


def init_database(db: str | Path, schema: str | Schema = "sessions") -> InitResult:
    """Create the tables of `schema` in `db` (safe to run twice: `created` says if it did)."""
    from migrator.adapters.sql_store import SqlStore

    resolved = resolve(schema)
    store = SqlStore(db, resolved)
    try:
        created = store.init_schema()
        return InitResult(resolved.name, resolved.version, store.location, created)
    finally:
        store.close()
