"""The `store` fixture: every contract test runs once per backend, on a real store: JSON files and
a SQLite database in tmp_path, and a fresh database on the PostgreSQL test server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.declaration import Schema
from migrator.schemas.sessions import SESSIONS
from tests.second_schema import NOTES

Store = JsonStore | SqlStore


#: "sql" is SQLite (the name the test ids have always had).
KINDS = ["json", "sql", pytest.param("postgresql", marks=pytest.mark.postgres)]


def open_store(kind: str, schema: Schema, root: Path, url: str | None = None) -> Store:
    """An empty store of `kind` ("json", "sql" or "postgresql" at `url`) for `schema` under
    `root`."""
    if kind == "json":
        return JsonStore(root / "json", schema)
    root.mkdir(parents=True, exist_ok=True)
    store = SqlStore(url if kind == "postgresql" and url else root / "store.db", schema)
    store.init_schema()
    return store


def _opened(request: pytest.FixtureRequest, schema: Schema, root: Path) -> Iterator[Store]:
    url = request.getfixturevalue("pg_db_url") if request.param == "postgresql" else None
    opened = open_store(request.param, schema, root, url)
    yield opened
    opened.close()


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty sessions store: JSON files, a SQLite database, a PostgreSQL database."""
    yield from _opened(request, SESSIONS, tmp_path / "stores")


@pytest.fixture(params=KINDS)
def notes_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of the second schema (tests/second_schema.py), once per backend."""
    yield from _opened(request, NOTES, tmp_path / "stores")
