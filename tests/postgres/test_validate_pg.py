"""`validate` against PostgreSQL: the validator's own acceptance cases, on the test server.

The stores are the validator tests' (`tests/validator/conftest.py`): the fixture store in JSON
and the same documents in the database, with the same planted differences; only the database
is a PostgreSQL one (a copy of a seeded template database per test).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.declaration import Schema
from tests.pg_server import create_database, drop_database, libpq_url, with_database
from tests.validator.conftest import (
    FIXTURE_STORE,
    P2,
    Stores,
    expected_mismatches,
    plant_every_kind,
    sid,
)

pytestmark = pytest.mark.postgres

CLEAN_COUNTS = {
    "json": 36,
    "sqlite": 36,
    "matched": 36,
    "missing_in_sqlite": 0,
    "missing_in_json": 0,
    "mismatched": 0,
    "ignored": 0,
    "invalid_in_json": 0,
    "in_flight": 0,
    "settled": 0,
}


@dataclass
class PgStores(Stores):
    """The validator tests' stores with the database on PostgreSQL (`db` is its URL)."""

    def sql(self, statement: str, *params: Any) -> None:
        """Run one raw SQL statement (`?` placeholders, as the SQLite helpers write them)."""
        with psycopg.connect(libpq_url(str(self.db))) as conn:
            conn.execute(statement.replace("?", "%s"), params)


@pytest.fixture(scope="module")
def seeded_template(pg_url: str, sessions_schema: Schema) -> Iterator[str]:
    """A database holding the fixture store, built once; each test gets a copy of it."""
    url = create_database(pg_url)
    store = SqlStore(url, sessions_schema)
    for partition, doc in JsonStore(FIXTURE_STORE, sessions_schema).iter_documents():
        store.put(partition, doc)
    store.close()  # no connection may stay open to a template
    yield url
    drop_database(pg_url, url)


@pytest.fixture
def pg_stores(
    tmp_path: Path,
    pg_url: str,
    seeded_template: str,
    sessions_schema: Schema,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[PgStores]:
    """A private JSON copy of the fixture store and a private copy of the seeded database."""
    monkeypatch.chdir(tmp_path)
    for name in ("MIGRATOR_DB", "MIGRATOR_JSON_DIR", "MIGRATOR_CONFIG", "MIGRATOR_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    json_dir = tmp_path / "json"
    shutil.copytree(FIXTURE_STORE, json_dir)
    name = f"v_{uuid.uuid4().hex[:16]}"
    template = seeded_template.rpartition("/")[2]
    with psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    url = with_database(seeded_template, name)
    yield PgStores(json_dir=json_dir, db=url, schema=sessions_schema)  # type: ignore[arg-type]
    drop_database(pg_url, url)


def exactly(actual: Any, expected: Any) -> bool:
    """Equal as JSON documents, types included (600 is not 600.0)."""
    return canonical_bytes(actual) == canonical_bytes(expected)


def test_identical_stores_agree_on_postgres(pg_stores: PgStores) -> None:
    """The fixture store in JSON and in PostgreSQL: ok, every document matched."""
    report = pg_stores.validate()
    assert report.ok
    assert report.counts == CLEAN_COUNTS


def test_every_planted_kind_is_found_exactly_on_postgres(pg_stores: PgStores) -> None:
    """Child field, deleted child, type changes, dropped key, missing, extra and moved docs."""
    planted = plant_every_kind(pg_stores)
    report = pg_stores.validate()
    data = report.to_dict()
    assert not report.ok
    assert exactly(data["mismatched"], expected_mismatches(planted))
    assert data["missing_in_sqlite"] == [{"id": sid(1, 3), "partition": P2}]
    assert data["missing_in_json"] == [{"id": planted.extra_doc_id, "partition": P2}]
    assert report.counts["matched"] == 29
    assert report.counts["mismatched"] == 6


def test_cli_validate_with_a_postgresql_url(pg_stores: PgStores) -> None:
    """`migrator validate --db postgresql://...` exits 0 when the stores agree, 1 when not."""
    clean = pg_stores.cli("--format", "json")
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["counts"] == CLEAN_COUNTS
    pg_stores.sql("UPDATE sessions SET status = 'paused' WHERE id = ?", sid(0, 1))
    different = pg_stores.cli("--format", "json")
    assert different.exit_code == 1, different.output
    (mismatch,) = json.loads(different.stdout)["mismatched"]
    assert mismatch["id"] == sid(0, 1)
    assert mismatch["differences"][0]["sqlite"] == "paused"
