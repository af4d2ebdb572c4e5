"""The `store` fixture: every contract test runs once per backend, on a real store in tmp_path."""

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


def open_store(kind: str, schema: Schema, root: Path) -> Store:
    """An empty store of `kind` ("json" or "sql") for `schema` under `root`."""
    if kind == "json":
        return JsonStore(root / "json", schema)
    root.mkdir(parents=True, exist_ok=True)
    store = SqlStore(root / "store.db", schema)
    store.init_schema()
    return store


@pytest.fixture(params=["json", "sql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty sessions store, once as JSON files and once as a SQLite database."""
    opened = open_store(request.param, SESSIONS, tmp_path / "stores")
    yield opened
    opened.close()


@pytest.fixture(params=["json", "sql"])
def notes_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of the second schema (tests/second_schema.py), once per backend."""
    opened = open_store(request.param, NOTES, tmp_path / "stores")
    yield opened
    opened.close()
