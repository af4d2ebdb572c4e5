"""Fixtures for the PostgreSQL tests: a sessions store in a fresh database of the test server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from migrator.adapters.sql_store import SqlStore
from migrator.schemas.declaration import Schema


@pytest.fixture
def pg_store(pg_db_url: str, sessions_schema: Schema) -> Iterator[SqlStore]:
    """An initialized sessions store in a database of its own."""
    store = SqlStore(pg_db_url, sessions_schema)
    store.init_schema()
    yield store
    store.close()
