"""Helpers for the importer tests: real JSON stores and SQLite files in tmp_path."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.errors import DocumentError, JsonFileError
from migrator.generate import generate_store
from migrator.schemas.codec import canonical_bytes, validate
from migrator.schemas.declaration import Schema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def stored_documents(sql_store: SqlStore) -> dict[str, tuple[str, bytes]]:
    """id -> (partition, canonical bytes) of every document in the database."""
    return {
        doc["id"]: (partition, canonical_bytes(doc))
        for partition, doc in sql_store.iter_documents()
    }


def valid_documents(json_store: JsonStore) -> dict[str, tuple[str, bytes]]:
    """id -> (partition, canonical bytes) of what an import keeps: valid records whose id is
    the first of its file and of the store (files in name order); unreadable files skipped."""
    found: dict[str, tuple[str, bytes]] = {}
    for partition in json_store.partitions():
        try:
            records = json_store.read_partition(partition)
        except JsonFileError:
            continue
        seen: set[str] = set()
        for doc in records:
            doc_id = doc.get("id") if isinstance(doc, dict) else None
            if isinstance(doc_id, str):
                if doc_id in seen:
                    continue
                seen.add(doc_id)
            try:
                validate(json_store.schema, doc)
            except DocumentError:
                continue
            found.setdefault(doc["id"], (partition, canonical_bytes(doc)))
    return found


def table_rows(sql_store: SqlStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every document table (not the housekeeping ones), sorted."""
    with sql_store.engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(table.select())), key=repr)
            for table in sql_store.schema.tables
            if table.name != "workspaces"
        }


def tree_digest(*roots: Path) -> dict[str, str]:
    """path -> sha256 of every file under `roots` (and the roots' own listing)."""
    digests: dict[str, str] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            key = str(path)
            digests[key] = (
                hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            )
    return digests


@pytest.fixture
def sql_path(tmp_path: Path) -> Path:
    """Where the test's database goes (its directory holds nothing else)."""
    directory = tmp_path / "db"
    directory.mkdir()
    return directory / "sessions.db"


@pytest.fixture
def sql_store(sql_path: Path, sessions_schema: Schema) -> SqlStore:
    store = SqlStore(sql_path, sessions_schema)
    yield store  # type: ignore[misc]
    store.close()


@pytest.fixture
def bad_store_dir(tmp_path: Path) -> Path:
    """A private copy of fixtures/bad: one malformed partition file per kind of bad input."""
    target = tmp_path / "bad"
    shutil.copytree(FIXTURES / "bad", target)
    return target


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory: pytest.TempPathFactory, sessions_schema: Schema) -> Path:
    """A synthetic store of 400 sessions (read-only: copy it before changing anything)."""
    out = tmp_path_factory.mktemp("generated") / "json"
    generate_store(out, sessions=400, seed=11, schema=sessions_schema)
    return out


@pytest.fixture
def generated_store_dir(generated_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the synthetic store."""
    target = tmp_path / "json"
    shutil.copytree(generated_dir, target)
    return target
