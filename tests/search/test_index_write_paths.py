"""Every write path keeps the full-text index in step with the rows, in the rows' transaction:
put, replace, delete, a refused write, the bulk import and its catch-up (with --prune), a
restore, and an older database that gets the index at schema creation."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Connection

from migrator import api
from migrator.adapters.fulltext import FullTextIndex, name
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.backup import create_backup
from migrator.errors import DatabaseError, DocumentError
from migrator.generate import generate_store
from migrator.restore import restore_backup
from migrator.schemas.declaration import Schema
from tests.search.helpers import doc, index_problems, ranked

#: Words the generated store holds in some values and not others, and words it never holds.
PROBES = ("test", "session", "fix*", '"the store"', "error", "zebra", "refactor")


def _ids(store: SqlStore, text: str) -> list[str]:
    return [hit.doc_id for hit in store.search(text, limit=100)]


def test_put_replace_and_delete_keep_the_index(sqlite_store: SqlStore) -> None:
    """A new word is found once written, gone once replaced, and the document is gone once
    deleted; the index agrees with the rows after each step."""
    sqlite_store.put("p", doc("s1", "plain task", ["a zebra here"], ["yak output"]))
    assert _ids(sqlite_store, "zebra") == ["s1"]
    assert _ids(sqlite_store, "yak") == ["s1"]
    sqlite_store.put("p", doc("s1", "plain task", ["an okapi now"], [None]))
    assert _ids(sqlite_store, "zebra") == []
    assert _ids(sqlite_store, "yak") == []
    assert _ids(sqlite_store, "okapi") == ["s1"]
    assert index_problems(sqlite_store) == []
    assert sqlite_store.delete("s1")
    assert _ids(sqlite_store, "okapi") == _ids(sqlite_store, "plain") == []
    assert index_problems(sqlite_store) == []


def test_a_refused_write_leaves_no_index_entry(sqlite_store: SqlStore) -> None:
    """A write the database refuses (a message id another document owns) rolls back its
    index entries with its rows."""
    sqlite_store.put("p", doc("s1", "first", ["shared message"]))
    intruder = doc("s2", "quokka task", ["quokka words"])
    intruder["chat_history"][0]["id"] = "s1-m0"
    with pytest.raises(DocumentError):
        sqlite_store.put("p", intruder)
    assert _ids(sqlite_store, "quokka") == []
    assert index_problems(sqlite_store) == []


def _generated(tmp_path: Path, schema: Schema, sessions: int = 120) -> JsonStore:
    generate_store(tmp_path / "json", sessions=sessions, schema=schema, seed=3)
    return JsonStore(tmp_path / "json", schema)


def _agree(json_store: JsonStore, sql: SqlStore) -> None:
    assert index_problems(sql) == []
    for probe in PROBES:
        assert ranked(json_store.search(probe, limit=50)) == ranked(sql.search(probe, limit=50)), (
            probe
        )


def _agree_in(json_store: JsonStore, db: Path, schema: Schema) -> None:
    """`_agree` with the database at `db`, opened for it and closed after."""
    sql = SqlStore(db, schema, create=False)
    try:
        _agree(json_store, sql)
    finally:
        sql.close()


def test_bulk_import_and_catch_up_keep_the_index(tmp_path: Path, sessions_schema: Schema) -> None:
    """The bulk import (executemany per table) fills the index; a catch-up import that
    replaces changed documents and prunes deleted ones keeps it exact."""
    json_store = _generated(tmp_path, sessions_schema)
    db = tmp_path / "s.db"
    summary = api.import_store(json_store.root, db, sessions_schema)
    assert summary.ok and summary.imported == 120
    sql = SqlStore(db, sessions_schema, create=False)
    try:
        assert any(sql.search(probe) for probe in PROBES)
        _agree(json_store, sql)
        partition = json_store.partitions()[0]
        docs = json_store.list(partition)
        docs[0]["task"] = "zebra crossing rewritten"
        json_store.write_partition(partition, docs[:-1])  # one changed, one deleted
        api.import_store(json_store.root, db, sessions_schema, prune=True)
        assert _ids(sql, "zebra") == [docs[0]["id"]]
        assert docs[-1]["id"] not in {h.doc_id for p in PROBES for h in sql.search(p, limit=999)}
        _agree(json_store, sql)
    finally:
        sql.close()


def test_the_import_indexes_rows_in_rowid_order_one_segment_per_statement(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """FTS5 starts a new segment whenever a rowid is not above the last one it took, so the
    import hands it each partition's rows in rowid order: with merging off, one segment per
    field and partition (in the order of the parent ids it was one per document or two, and
    the import's index upkeep took 2-3x as long, bench/RESULTS.md)."""
    json_store = _generated(tmp_path, sessions_schema)
    db = tmp_path / "s.db"
    SqlStore(db, sessions_schema).init_schema()
    raw = sqlite3.connect(db)
    for field in sessions_schema.search_fields:
        fts = name(field)
        raw.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('automerge', 0)")
        raw.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('crisismerge', 1999)")
    raw.commit()
    assert api.import_store(json_store.root, db, sessions_schema).imported == 120
    partitions = len(json_store.partitions())
    for field in sessions_schema.search_fields:
        # A segment's pages are rows of <index>_data keyed (segment id << 37) + page number.
        (segments,) = raw.execute(
            f"SELECT count(DISTINCT id >> 37) FROM {name(field)}_data WHERE id >= (1 << 37)"
        ).fetchone()
        assert 1 <= segments <= partitions, (field.path, segments, partitions)
    raw.close()
    _agree_in(json_store, db, sessions_schema)


def test_the_import_turns_automatic_merging_off_only_inside_its_transactions(
    tmp_path: Path, sessions_schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import writes its batches with FTS5's automerge at 0 and sets it back before each
    commit: after it, an index configured with its own value keeps it, the others FTS5's
    default, and every index agrees with the rows."""
    json_store = _generated(tmp_path, sessions_schema)
    db = tmp_path / "s.db"
    SqlStore(db, sessions_schema).init_schema()
    first, *others = [name(field) for field in sessions_schema.search_fields]
    raw = sqlite3.connect(db)
    raw.execute(f"INSERT INTO {first}({first}, rank) VALUES ('automerge', 7)")
    raw.commit()
    during: set[tuple[str, str]] = set()
    index = FullTextIndex.index

    def watched(self: FullTextIndex, conn: Connection, doc_ids: Sequence[str]) -> None:
        for fts in (first, *others):
            setting = f"SELECT v FROM {fts}_config WHERE k = 'automerge'"
            during.add((fts, str(conn.exec_driver_sql(setting).scalar())))
        index(self, conn, doc_ids)

    monkeypatch.setattr(FullTextIndex, "index", watched)
    assert api.import_store(json_store.root, db, sessions_schema, batch_size=40).imported == 120
    settings = {
        fts: raw.execute(f"SELECT v FROM {fts}_config WHERE k = 'automerge'").fetchone()
        for fts in (first, *others)
    }
    assert during == {(fts, "0") for fts in (first, *others)}
    assert settings == {first: (7,), **{fts: (4,) for fts in others}}
    raw.close()
    _agree_in(json_store, db, sessions_schema)


def test_restore_brings_back_the_index_of_the_restored_rows(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """After a restore the index answers for the restored rows, not for later writes."""
    json_dir, db = tmp_path / "json", tmp_path / "s.db"
    sql = SqlStore(db, sessions_schema)
    sql.put("p", doc("s1", "before the backup", ["okapi"]))
    sql.close()
    JsonStore(json_dir, sessions_schema).put("p", doc("s1", "before the backup", ["okapi"]))
    backup = create_backup(json_dir, db, sessions_schema, out_dir=tmp_path / "backups")
    sql = SqlStore(db, sessions_schema)
    sql.put("p", doc("s2", "after the backup", ["wombat"]))
    assert _ids(sql, "wombat") == ["s2"]
    sql.close()
    restore_backup(backup.path, json_dir, db, sessions_schema, confirm=lambda plan: True)
    sql = SqlStore(db, sessions_schema, create=False)
    try:
        assert _ids(sql, "wombat") == []
        assert _ids(sql, "okapi") == ["s1"]
        assert index_problems(sql) == []
    finally:
        sql.close()


def test_a_database_without_the_index_gets_it_at_schema_creation(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """A database made before search existed (no index tables) refuses searches but takes
    writes; it gets the index, built over its rows, the next time its schema is created
    (`migrator init`, an import)."""
    db = tmp_path / "old.db"
    sql = SqlStore(db, sessions_schema)
    sql.put("p", doc("s1", "legacy task", ["capybara message"]))
    sql.close()
    with sqlite3.connect(db) as conn:
        for field in sessions_schema.search_fields:
            conn.execute(f'DROP TABLE "{name(field)}"')
    old = SqlStore(db, sessions_schema, create=False)
    with pytest.raises(DatabaseError, match="full-text index is missing"):
        old.search("capybara")
    assert index_problems(old)
    old.put("p", doc("s2", "written meanwhile", ["tapir message"]))  # writes go on
    old.close()
    sql = SqlStore(db, sessions_schema)
    try:
        sql.init_schema()
        assert _ids(sql, "capybara") == ["s1"]
        assert _ids(sql, "tapir") == ["s2"]
        assert index_problems(sql) == []
    finally:
        sql.close()
