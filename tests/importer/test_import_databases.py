"""`import` on SQLite and on PostgreSQL: the cases where the two databases' write paths differ
most (PostgreSQL's COPY against SQLite's batched inserts), each run on both through the
`database` fixture (`tests.databases.on_both`).

Import, re-import (idempotent: nothing written), an edited file re-imported alone, a document
the database refuses (the failed batch rolled back and retried document by document), an import
SIGKILLed between two batches that a second run completes; and records only PostgreSQL cannot
hold (an id too long for a btree index, a NUL), rejected alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.importer import import_store
from migrator.schemas.declaration import Schema
from migrator.schemas.jsontext import dumps_pretty, loads
from migrator.validator import validate
from tests.databases import on_both, on_postgresql
from tests.validator.conftest import P1, P2, P3, sid

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(database: Path | str, sql_path: Path) -> str:
    """The test's database: the importer suite's SQLite path, or a PostgreSQL URL."""
    return database if isinstance(database, str) else str(sql_path)


@pytest.fixture
def json_dir(fixture_store_dir: Path) -> Path:
    """A private copy of the committed fixture store (the root conftest's)."""
    return fixture_store_dir


def run_import(json_dir: Path, url: str, schema: Schema, **options: Any) -> Any:
    store = SqlStore(url, schema)
    try:
        return import_store(JsonStore(json_dir, schema), store, **options)
    finally:
        store.close()


def agree(json_dir: Path, url: str, schema: Schema) -> Any:
    store = SqlStore(url, schema, create=False)
    try:
        return validate(JsonStore(json_dir, schema), store)
    finally:
        store.close()


def edit(json_dir: Path, partition: str, change: Any) -> None:
    path = json_dir / f"{partition}.json"
    records = loads(path.read_bytes())
    change(records)
    path.write_bytes(dumps_pretty(records))


@on_both
def test_import_then_reimport_is_idempotent(
    json_dir: Path, db: str, sessions_schema: Schema
) -> None:
    """The first import writes all 36 documents; the second finds every file unchanged."""
    first = run_import(json_dir, db, sessions_schema)
    assert (first.imported, first.unchanged, first.rejected) == (36, 0, 0)
    assert agree(json_dir, db, sessions_schema).ok
    second = run_import(json_dir, db, sessions_schema)
    assert (second.imported, second.unchanged, second.rejected) == (0, 36, 0)
    assert {p.name: p.status for p in second.partitions} == dict.fromkeys((P1, P2, P3), "unchanged")
    report = agree(json_dir, db, sessions_schema)
    assert report.ok and report.counts["matched"] == 36


@on_both
def test_edited_file_is_reimported_alone(json_dir: Path, db: str, sessions_schema: Schema) -> None:
    """After one file changes, only it is imported again and the stores agree."""
    run_import(json_dir, db, sessions_schema)

    def change(records: list[Any]) -> None:
        records[1]["status"] = "failed"
        records[1]["chat_history"] = records[1].get("chat_history", [])[:1]
        del records[2]

    edit(json_dir, P2, change)
    again = run_import(json_dir, db, sessions_schema, prune=True)
    statuses = {p.name: p.status for p in again.partitions}
    assert statuses == {P1: "unchanged", P2: "imported", P3: "unchanged"}
    assert again.pruned == 1
    report = agree(json_dir, db, sessions_schema)
    assert report.ok, report.to_dict()
    assert report.counts["matched"] == 35


@on_both
def test_document_the_database_refuses_is_rejected_alone(
    json_dir: Path, db: str, sessions_schema: Schema, tmp_path: Path
) -> None:
    """A chat message id another partition's session already uses: that document is rejected
    (the failed COPY's transaction rolled back, its batch retried), every other is imported."""
    owner = next(d for d in JsonStore(json_dir, sessions_schema).list(P1) if d.get("chat_history"))
    stolen = owner["chat_history"][0]

    def add_thief(records: list[Any]) -> None:
        thief = dict(records[0], id="thief-0000")
        thief["chat_history"] = [dict(stolen)]
        records.append(thief)

    edit(json_dir, P3, add_thief)
    summary = run_import(json_dir, db, sessions_schema, rejects_path=tmp_path / "r.jsonl")
    assert (summary.imported, summary.rejected) == (36, 1)
    (reject,) = summary.rejects
    assert reject.to_dict()["id"] == "thief-0000"
    store = SqlStore(db, sessions_schema)
    assert store.get("thief-0000") is None
    assert store.count() == 36
    store.close()


@on_both
def test_import_killed_between_batches_is_completed_by_the_next_run(
    json_dir: Path, db: str, sessions_schema: Schema
) -> None:
    """SIGKILL after the first committed batch; the next run imports the rest, and the stores
    agree as after an uninterrupted import."""
    command = [sys.executable, "-m", "migrator", "import", "--json-dir", str(json_dir)]
    command += ["--db", db, "--batch-size", "5", "--format", "json", "--quiet"]
    env = {**os.environ, "MIGRATOR_CRASH_AT": "sql.after_commit:2"}
    env.pop("MIGRATOR_DB", None)
    killed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert killed.returncode == -9, killed.stderr
    store = SqlStore(db, sessions_schema)
    partly = store.count()
    store.close()
    assert 0 < partly < 36
    env.pop("MIGRATOR_CRASH_AT")
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rejected"] == 0
    assert summary["imported"] + summary["unchanged"] == 36
    report = agree(json_dir, db, sessions_schema)
    assert report.ok and report.counts["matched"] == 36
    assert sid(0, 0) in {doc["id"] for doc in JsonStore(json_dir, sessions_schema).list(P1)}


@on_postgresql
@pytest.mark.parametrize(
    "bad_id",
    ["".join(hashlib.sha256(bytes([n])).hexdigest() for n in range(100)), "nul\x00inside"],
    ids=["id-too-long-for-a-btree-index", "id-holding-nul"],
)
def test_one_record_postgresql_cannot_hold_is_rejected_alone(
    json_dir: Path, db: str, sessions_schema: Schema, tmp_path: Path, bad_id: str
) -> None:
    """Issue 15, finding 9: an id too long for a btree index (about 2.7 KB) or holding NUL is
    rejected as one record, as SQLite would, instead of aborting the whole import."""

    def add_bad(records: list[Any]) -> None:
        records.append(dict(records[0], id=bad_id, chat_history=[]))

    edit(json_dir, P3, add_bad)
    summary = run_import(json_dir, db, sessions_schema, rejects_path=tmp_path / "r.jsonl")
    assert (summary.imported, summary.rejected) == (36, 1)
    assert summary.rejects[0].to_dict()["id"] == bad_id
    assert agree(json_dir, db, sessions_schema).counts["matched"] == 36
