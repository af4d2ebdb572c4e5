"""Everything a store holds, as a comparable value: proves a refused call changed nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore


def snapshot(store: JsonStore | SqlStore) -> dict[str, Any]:
    """JSON: every file under the store's root (and beside it) with its bytes. SQL: every row
    of every table, sorted."""
    if isinstance(store, JsonStore):
        return files_under(store.root.parent)
    tables: dict[str, Any] = {}
    with store.engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            tables[name] = sorted(repr(tuple(row)) for row in rows)
    return tables


def files_under(root: Path) -> dict[str, bytes | None]:
    """Relative path -> bytes (None for a directory) of everything under `root`."""
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }
