"""Fixtures for the query tests: the same documents in a JSON store and a SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.schemas.codec import to_rows
from migrator.schemas.declaration import Schema
from migrator.schemas.sessions import SESSIONS


def fill(
    json_store: JsonStore, sql_store: SqlStore, partitions: dict[str, list[dict[str, Any]]]
) -> None:
    """Write each partition's documents, in order, to both stores."""
    for partition, docs in partitions.items():
        json_store.write_partition(partition, docs)
        rows = [to_rows(sql_store.schema, partition, doc, i) for i, doc in enumerate(docs)]
        sql_store.write_partitions([PartitionWrite(partition, rows)])


def open_pair(schema: Schema, root: Path) -> tuple[JsonStore, SqlStore]:
    root.mkdir(parents=True, exist_ok=True)
    sql_store = SqlStore(root / "store.db", schema)
    sql_store.init_schema()
    return JsonStore(root / "json", schema), sql_store


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[JsonStore, SqlStore]]:
    """An empty sessions store as JSON files and as a SQLite database."""
    json_store, sql_store = open_pair(SESSIONS, tmp_path / "pair")
    yield json_store, sql_store
    sql_store.close()
