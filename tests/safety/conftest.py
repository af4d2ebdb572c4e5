"""Safety fixtures: the fixture store imported into a real SQLite file (stores closed, so the
database is one file with no WAL beside it) or a PostgreSQL database, and helpers to hash,
corrupt and invoke."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.cli import app
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.declaration import Schema


@dataclass
class Setup:
    """A JSON store and a SQLite database holding the same documents."""

    json_dir: Path
    db: Path
    schema: Schema

    def sql_store(self) -> SqlStore:
        return SqlStore(self.db, self.schema, create=False)

    def documents(self) -> dict[str, bytes]:
        """id -> canonical bytes of every document in the database."""
        store = self.sql_store()
        try:
            return {doc["id"]: canonical_bytes(doc) for _, doc in store.iter_documents()}
        finally:
            store.close()

    def cli(self, *args: str, input: str | None = None) -> Result:
        return invoke(*args, "--json-dir", str(self.json_dir), "--db", str(self.db), input=input)


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_into(json_dir: Path, db: Path, schema: Schema) -> None:
    """Every document of the JSON store into the database, then close (checkpoints the WAL)."""
    store = SqlStore(db, schema)
    try:
        for partition, doc in JsonStore(json_dir, schema).iter_documents():
            store.put(partition, doc)
    finally:
        store.close()


def corrupt_table_page(db: Path, table: str) -> None:
    """Overwrite the b-tree page header of `table`'s root page: a page in the middle of the file
    that SQLite cannot parse any more (the file header stays intact)."""
    conn = sqlite3.connect(db)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,))
        page = root.fetchone()[0]
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()
    assert page > 1
    with db.open("r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(b"\xff" * 64)


def raw_sql(db: Path, statement: str, params: tuple[Any, ...] = (), *, fk: bool = True) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if fk else 'OFF'}")
        conn.execute(statement, params)
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
def setup(fixture_store_dir: Path, sessions_schema: Schema, database: Path) -> Setup:
    """The fixture store imported into the test's database (a SQLite file; a PostgreSQL
    database for the tests decorated with `tests.databases.on_postgresql`)."""
    import_into(fixture_store_dir, database, sessions_schema)
    return Setup(fixture_store_dir, database, sessions_schema)
