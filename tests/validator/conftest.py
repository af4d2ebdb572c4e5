"""Validator fixtures: the committed fixture store in a real JSON directory and a real database
that holds exactly the same documents, ready for differences to be planted: a SQLite file, or
for a test decorated with `tests.databases.on_both` also a PostgreSQL database (a copy of a
seeded template database)."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.cli import app
from migrator.schemas.declaration import Schema
from migrator.schemas.jsontext import dumps_pretty, loads
from migrator.validator import ValidationReport, validate
from tests.pg_server import create_database, drop_database, libpq_url, with_database

P1, P2, P3 = "3f2a9c1e7b6d4a10", "8c1d2e3f4a5b6c7d", "a0b1c2d3e4f5a6b7"
FIXTURE_STORE = Path(__file__).resolve().parents[2] / "fixtures" / "store"


def sid(workspace: int, n: int) -> str:
    """The id of the n-th fixture session of a workspace (P1 is 0, P2 is 1, P3 is 2)."""
    return f"00000000-0000-4000-8000-{workspace:04d}{n:08d}"


def fixture_doc(partition: str, doc_id: str) -> dict[str, Any]:
    docs = loads((FIXTURE_STORE / f"{partition}.json").read_bytes())
    found: dict[str, Any] = next(doc for doc in docs if doc["id"] == doc_id)
    return found


@dataclass
class Stores:
    """A JSON store and a database that agree, with helpers to make them disagree."""

    json_dir: Path
    db: Path
    schema: Schema

    def sql(self, statement: str, *params: Any) -> None:
        """Run one raw SQL statement on the database (`?` placeholders; foreign keys on, so
        deletes cascade)."""
        if str(self.db).startswith("postgresql"):
            import psycopg

            from tests.pg_server import libpq_url

            with psycopg.connect(libpq_url(str(self.db))) as pg:
                pg.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]
            return
        conn = sqlite3.connect(self.db)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(statement, params)
            conn.commit()
        finally:
            conn.close()

    def edit_json(self, partition: str, change: Callable[[list[Any]], None]) -> None:
        """Rewrite a partition file after `change` edits its parsed records in place."""
        path = self.json_dir / f"{partition}.json"
        records = loads(path.read_bytes())
        change(records)
        path.write_bytes(dumps_pretty(records))

    def put_sql(self, partition: str, doc: dict[str, Any]) -> None:
        store = SqlStore(self.db, self.schema)
        try:
            store.put(partition, doc)
        finally:
            store.close()

    def validate(self, **options: Any) -> ValidationReport:
        sql_store = SqlStore(self.db, self.schema, create=False)
        try:
            return validate(JsonStore(self.json_dir, self.schema), sql_store, **options)
        finally:
            sql_store.close()

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """`migrator validate` on these stores, as a user runs it."""
        command = ["validate", "--json-dir", str(self.json_dir), "--db", str(self.db), *args]
        return CliRunner().invoke(app, command, env={"COLUMNS": "200", **(env or {})})


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory, sessions_schema: Schema) -> Path:
    """A database holding the fixture store, built once (each test gets a copy)."""
    db = tmp_path_factory.mktemp("seed") / "sessions.db"
    json_store = JsonStore(FIXTURE_STORE, sessions_schema)
    sql_store = SqlStore(db, sessions_schema)
    try:
        for partition, doc in json_store.iter_documents():
            sql_store.put(partition, doc)
    finally:
        sql_store.close()
    return db


@pytest.fixture(scope="session")
def seeded_pg_template(pg_url: str, sessions_schema: Schema) -> Iterator[str]:
    """A PostgreSQL database holding the fixture store, built once; tests get copies."""
    url = create_database(pg_url)
    store = SqlStore(url, sessions_schema)
    for partition, doc in JsonStore(FIXTURE_STORE, sessions_schema).iter_documents():
        store.put(partition, doc)
    store.close()  # no connection may stay open to a template
    yield url
    drop_database(pg_url, url)


def _copy_of_seeded_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    pg_url: str = request.getfixturevalue("pg_url")
    template: str = request.getfixturevalue("seeded_pg_template")
    name = f"v_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template.rpartition("/")[2])
            )
        )
    url = with_database(template, name)
    yield url
    drop_database(pg_url, url)


@pytest.fixture
def stores(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database: Path | str,
    sessions_schema: Schema,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Stores]:
    """Private copies of both stores; the CLI runs where no project config can interfere."""
    monkeypatch.chdir(tmp_path)
    for name in ("MIGRATOR_DB", "MIGRATOR_JSON_DIR", "MIGRATOR_CONFIG", "MIGRATOR_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    json_dir = tmp_path / "json"
    shutil.copytree(FIXTURE_STORE, json_dir)
    if isinstance(database, str):  # PostgreSQL: a copy of the seeded template instead
        for url in _copy_of_seeded_pg(request):
            yield Stores(json_dir=json_dir, db=url, schema=sessions_schema)  # type: ignore[arg-type]
        return
    seeded_db: Path = request.getfixturevalue("seeded_db")
    for suffix in ("", "-wal"):
        source = seeded_db.with_name(seeded_db.name + suffix)
        if source.exists():
            shutil.copy(source, database.with_name(database.name + suffix))
    yield Stores(json_dir=json_dir, db=database, schema=sessions_schema)


@dataclass(frozen=True)
class Planted:
    """What `plant_every_kind` changed: the expected findings."""

    status_before: str
    removed_message: dict[str, Any]
    extra_doc_id: str


def plant_every_kind(stores: Stores) -> Planted:
    """One of each kind of difference, all on the SQL side (the JSON store stays pristine)."""
    # A changed field in a child row.
    stores.sql(
        "UPDATE instances SET status = 'archived' WHERE session_id = ? AND position = 1", sid(0, 2)
    )
    # A deleted child row (the last chat message).
    stores.sql("DELETE FROM chat_messages WHERE session_id = ? AND position = 3", sid(0, 4))
    # Type changes: 600 becomes 600.0, and "600", through the extra column.
    set_extra = "UPDATE sessions SET extra = ? WHERE id = ?"
    stores.sql(set_extra, '{"keys":{"timeout_seconds":600.0}}', sid(0, 5))
    stores.sql(set_extra, '{"keys":{"timeout_seconds":"600"}}', sid(0, 8))
    # An unknown key dropped (the instance's `sandbox`, kept only in its extra column).
    stores.sql("UPDATE instances SET extra = NULL WHERE session_id = ? AND position = 0", sid(0, 0))
    # A missing document, an extra document, a moved document.
    stores.sql("DELETE FROM sessions WHERE id = ?", sid(1, 3))
    extra = dict(fixture_doc(P2, sid(1, 0)), id="11111111-2222-4333-8444-555555555555")
    extra["instances"], extra["chat_history"] = [], []
    stores.put_sql(P2, extra)
    stores.sql("UPDATE sessions SET workspace_hash = ? WHERE id = ?", P3, sid(1, 5))
    return Planted(
        status_before=fixture_doc(P1, sid(0, 2))["instances"][1]["status"],
        removed_message=fixture_doc(P1, sid(0, 4))["chat_history"][3],
        extra_doc_id=extra["id"],
    )


def expected_mismatches(planted: Planted) -> list[dict[str, Any]]:
    """The `mismatched` list of the JSON report after `plant_every_kind`."""

    def one(partition: str, doc_id: str, path: str, kind: str, j: Any, s: Any) -> dict[str, Any]:
        difference = {"path": path, "kind": kind, "json": j, "sqlite": s}
        return {"id": doc_id, "partition": partition, "differences": [difference]}

    sandbox = {"cpu": 2, "ratio": 0.5}
    timeout = "root['timeout_seconds']"
    return [
        one(P1, sid(0, 0), "root['instances'][0]['sandbox']", "dictionary_item_removed",
            sandbox, None),
        one(P1, sid(0, 2), "root['instances'][1]['status']", "values_changed",
            planted.status_before, "archived"),
        one(P1, sid(0, 4), "root['chat_history'][3]", "iterable_item_removed",
            planted.removed_message, None),
        one(P1, sid(0, 5), timeout, "type_changes", 600, 600.0),
        one(P1, sid(0, 8), timeout, "type_changes", 600, "600"),
        one(P2, sid(1, 5), "root", "partition_changed", P2, P3),
    ]  # fmt: skip
