"""Recovery fixtures: the live fixtures (the fixture store imported into a real SQLite file, a
writer process) and helpers to damage a database and to read every document of both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.declaration import Schema
from tests.live.conftest import live, start_writer

__all__ = ["corrupt", "json_documents", "live", "sql_documents", "start_writer"]


def corrupt(db: Path) -> None:
    """Overwrite the middle of a SQLite file (its header intact): `PRAGMA quick_check` fails."""
    size = db.stat().st_size
    assert size > 16 * 1024, size
    with db.open("r+b") as handle:
        handle.seek(4096 * 2)
        handle.write(b"\xff" * (size - 4096 * 3))


def sql_documents(db: Path, schema: Schema) -> dict[str, Any]:
    """id -> document of every document in the database."""
    store = SqlStore(db, schema, create=False)
    try:
        return dict((doc[schema.id_key], doc) for _, doc in store.iter_documents())
    finally:
        store.close()


def json_documents(json_dir: Path, schema: Schema) -> dict[str, Any]:
    """id -> document of every document in the JSON store's partition files."""
    return {doc[schema.id_key]: doc for _, doc in JsonStore(json_dir, schema).iter_documents()}


def canonical(docs: dict[str, Any]) -> dict[str, bytes]:
    return {doc_id: canonical_bytes(doc) for doc_id, doc in docs.items()}
