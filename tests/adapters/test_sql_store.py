"""SqlStore on SQLite (a test marked `on_both` on PostgreSQL too): connection settings, the
reference design's schema, whole-document writes, schema records, and the second schema end to
end."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect, text

from migrator.adapters.sql_store import SqlStore
from migrator.errors import (
    DatabaseCorruptError,
    DatabaseError,
    DocumentError,
    PartitionConflictError,
    SchemaMismatchError,
)
from migrator.schemas.sessions import SESSIONS
from tests.adapters.snapshot import snapshot
from tests.databases import on_both
from tests.schemas.samples import instance, message, session
from tests.schemas.strategies import assert_same_document
from tests.second_schema import NOTES, note


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = SqlStore(tmp_path / "s.db", SESSIONS)
    opened.init_schema()
    yield opened
    opened.close()


def query(store: SqlStore, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection, as another program would open the file."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


# --------------------------------------------------------------------------- connection


def test_connection_pragmas(store: SqlStore) -> None:
    """Connections run in WAL mode, foreign keys on, synchronous=NORMAL, with a busy timeout."""
    with store.engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,
        "busy_timeout": 30000,
    }


def test_opened_by_path_or_url(tmp_path: Path) -> None:
    """A plain path and a sqlite:/// URL name the same database."""
    path = tmp_path / "u.db"
    SqlStore(path, SESSIONS).put("ws1", session("s1"))
    by_url = SqlStore(f"sqlite:///{path}", SESSIONS)
    assert_same_document(session("s1"), by_url.get("s1"))
    assert by_url.location == f"sqlite:///{path}"


def test_read_only_store_needs_an_existing_database(tmp_path: Path) -> None:
    """create=False refuses a missing file (and does not create it)."""
    with pytest.raises(DatabaseError, match="does not exist"):
        SqlStore(tmp_path / "missing.db", SESSIONS, create=False)
    assert not (tmp_path / "missing.db").exists()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    """Garbage where the database should be is DatabaseCorruptError, which says how to recover."""
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database at all " * 20)
    with pytest.raises(DatabaseCorruptError, match="migrator restore"):
        SqlStore(path, SESSIONS).get("s1")


# --------------------------------------------------------------------------- schema


def test_init_schema_twice_is_safe(tmp_path: Path) -> None:
    """init creates the tables once; again (same or another store object) changes nothing."""
    first = SqlStore(tmp_path / "s.db", SESSIONS)
    assert first.init_schema() is True
    first.put("ws1", session("s1"))
    assert first.init_schema() is False
    second = SqlStore(tmp_path / "s.db", SESSIONS)
    assert second.init_schema() is False
    assert_same_document(session("s1"), second.get("s1"))
    assert second.recorded_schema() == ("sessions", 1)


def test_newer_schema_version_is_refused(store: SqlStore, tmp_path: Path) -> None:
    """A database recorded by a newer version of the schema is not touched by this one."""
    store.put("ws1", session("s1"))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE migrator_meta SET value = '99' WHERE key = 'version'"))
    before = snapshot(store)
    reopened = SqlStore(tmp_path / "s.db", SESSIONS)
    with pytest.raises(SchemaMismatchError, match="version 99, newer than"):
        reopened.init_schema()
    with pytest.raises(SchemaMismatchError):
        reopened.put("ws1", session("s2"))
    with pytest.raises(SchemaMismatchError):
        SqlStore(tmp_path / "s.db", SESSIONS, create=False).get("s1")
    assert snapshot(store) == before


def test_other_schema_is_refused(tmp_path: Path) -> None:
    """A database made for the notes schema is not opened as a sessions one, nor the reverse."""
    notes = SqlStore(tmp_path / "n.db", NOTES)
    notes.put("inbox", note("n1"))
    assert notes.recorded_schema() == ("notes", 3)
    with pytest.raises(SchemaMismatchError, match="holds schema 'notes', not 'sessions'"):
        SqlStore(tmp_path / "n.db", SESSIONS).init_schema()
    sessions = SqlStore(tmp_path / "s.db", SESSIONS)
    sessions.init_schema()
    with pytest.raises(SchemaMismatchError, match="holds schema 'sessions', not 'notes'"):
        SqlStore(tmp_path / "s.db", NOTES).get("n1")


def test_reference_design_indexes(store: SqlStore) -> None:
    """The indexes of the design's "Design SQLite schema" exist."""
    names = {
        table: {index["name"] for index in inspect(store.engine).get_indexes(table)}
        for table in ("sessions", "instances", "chat_messages")
    }
    assert names["sessions"] >= {
        "idx_sessions_workspace",
        "idx_sessions_status",
        "idx_sessions_type",
        "idx_sessions_created",
    }
    assert names["instances"] >= {"idx_instances_session", "idx_instances_status"}
    assert names["chat_messages"] >= {"idx_messages_session", "idx_messages_timestamp"}
    unique = inspect(store.engine).get_unique_constraints("instances")
    assert [sorted(u["column_names"]) for u in unique] == [["instance_id", "session_id"]]


def test_foreign_keys_cascade(store: SqlStore) -> None:
    """Children reference their session and the session its workspace, ON DELETE CASCADE."""
    found = {
        table: {
            (tuple(fk["constrained_columns"]), fk["referred_table"], fk["options"].get("ondelete"))
            for fk in inspect(store.engine).get_foreign_keys(table)
        }
        for table in ("sessions", "instances", "chat_messages")
    }
    assert found == {
        "sessions": {(("workspace_hash",), "workspaces", "CASCADE")},
        "instances": {(("session_id",), "sessions", "CASCADE")},
        "chat_messages": {(("session_id",), "sessions", "CASCADE")},
    }
    store.put("ws1", session("s1"))
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM sessions WHERE id = 's1'"))
    assert query(store, "SELECT count(*) FROM instances") == [(0,)]
    assert query(store, "SELECT count(*) FROM chat_messages") == [(0,)]


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        (
            "INSERT INTO sessions (id, workspace_hash, session_type, task, status, created_at, "
            "updated_at, position) VALUES ('x', 'ws1', 'competition', 't', 'bad', 'c', 'u', 0)",
            "CHECK constraint failed: ck_sessions_status",
        ),
        (
            "INSERT INTO sessions (id, workspace_hash, session_type, task, status, created_at, "
            "updated_at, position) VALUES ('x', 'ws1', 'solo', 't', 'running', 'c', 'u', 0)",
            "CHECK constraint failed: ck_sessions_session_type",
        ),
        (
            "INSERT INTO instances (session_id, instance_id, worktree_path, branch, agent_name, "
            "status, tmux_session_id, position) VALUES ('s1', 9, 'w', 'b', 'a', 'gone', 't', 0)",
            "CHECK constraint failed: ck_instances_status",
        ),
        (
            "INSERT INTO chat_messages (id, session_id, role, content, timestamp, position) "
            "VALUES ('m9', 's1', 'robot', 'c', 't', 0)",
            "CHECK constraint failed: ck_chat_messages_role",
        ),
        (
            "INSERT INTO chat_messages (id, session_id, role, content, timestamp, position) "
            "VALUES ('m9', 'nobody', 'user', 'c', 't', 0)",
            "FOREIGN KEY constraint failed",
        ),
        (
            "INSERT INTO instances (session_id, instance_id, worktree_path, branch, agent_name, "
            "status, tmux_session_id, position) VALUES ('s1', 1, 'w', 'b', 'a', 'idle', 't', 0)",
            "UNIQUE constraint failed: instances.session_id, instances.instance_id",
        ),
        (
            "INSERT INTO sessions (id, workspace_hash, session_type, task, status, created_at, "
            "updated_at, position) VALUES ('x', 'ws1', 'debate', NULL, 'running', 'c', 'u', 0)",
            "NOT NULL constraint failed: sessions.task",
        ),
    ],
)
def test_database_enforces_the_design_constraints(
    store: SqlStore, tmp_path: Path, sql: str, constraint: str
) -> None:
    """Another program writing the file directly still meets the CHECK, FK, UNIQUE and NOT NULL
    constraints of the design."""
    store.put("ws1", session("s1"))
    conn = raw(tmp_path / "s.db")
    with pytest.raises(sqlite3.IntegrityError, match=constraint):
        conn.execute(sql)
    conn.close()


# --------------------------------------------------------------------------- writes


def test_put_replaces_the_whole_document(store: SqlStore) -> None:
    """A second put leaves only the new version's child rows: the old ones are gone."""
    store.put("ws1", session("s1", instances=[instance(1), instance(2), instance(3)]))
    store.put("ws1", session("s2"))
    store.put("ws1", session("s1", instances=[instance(9)], chat_history=[]))
    assert query(store, "SELECT instance_id FROM instances WHERE session_id = 's1'") == [(9,)]
    assert query(store, "SELECT count(*) FROM chat_messages WHERE session_id = 's1'") == [(0,)]
    assert query(store, "SELECT count(*) FROM instances WHERE session_id = 's2'") == [(2,)]
    assert query(store, "SELECT id, position FROM sessions ORDER BY position") == [
        ("s1", 0),
        ("s2", 1),
    ]


def test_typed_columns_hold_the_values(store: SqlStore) -> None:
    """Known fields are real columns (queryable); a plain document has no `extra` anywhere."""
    store.put("ws1", session("s1", type="debate", timeout_seconds=2**40))
    assert query(
        store, "SELECT session_type, status, timeout_seconds, workspace_hash, extra FROM sessions"
    ) == [("debate", "running", 2**40, "ws1", None)]
    assert query(store, "SELECT count(*) FROM instances WHERE extra IS NOT NULL") == [(0,)]
    assert query(store, "SELECT count(*) FROM chat_messages WHERE extra IS NOT NULL") == [(0,)]
    assert query(store, "SELECT hash, path FROM workspaces") == [("ws1", "ws1")]


def test_values_kept_aside_come_back(store: SqlStore) -> None:
    """A big int leaves its column NULL and lives in `extra`; get restores it."""
    doc = session("s1", timeout_seconds=2**64, x={"y": -(2**70)})
    store.put("ws1", doc)
    assert query(store, "SELECT timeout_seconds FROM sessions") == [(None,)]
    assert_same_document(doc, store.get("s1"))


@on_both
def test_id_in_another_partition_is_a_conflict(database: Path | str) -> None:
    """An id already stored under one partition cannot be put into another; nothing changes."""
    store = SqlStore(database, SESSIONS)
    try:
        store.put("ws1", session("s1"))
        before = snapshot(store)
        with pytest.raises(PartitionConflictError) as caught:
            store.put("ws2", session("s1", task="moved"))
        assert (caught.value.doc_id, caught.value.partition, caught.value.existing) == (
            "s1",
            "ws2",
            "ws1",
        )
        assert snapshot(store) == before
    finally:
        store.close()


def test_refused_by_the_database_keeps_the_old_version(store: SqlStore) -> None:
    """A replacement the database refuses (a chat id another session owns) rolls back whole:
    the old version, children included, is still there."""
    store.put("ws1", session("s1"))
    store.put("ws1", session("s2", chat_history=[message("taken")]))
    before = snapshot(store)
    with pytest.raises(DocumentError, match="refused by the database") as caught:
        store.put("ws1", session("s1", chat_history=[message("taken")]))
    assert (caught.value.partition, caught.value.doc_id) == ("ws1", "s1")
    assert snapshot(store) == before
    assert_same_document(session("s1"), store.get("s1"))


def test_delete_removes_child_rows(store: SqlStore) -> None:
    """delete leaves no row of the document in any table."""
    store.put("ws1", session("s1"))
    assert store.delete("s1") is True
    for table in ("sessions", "instances", "chat_messages"):
        assert query(store, f"SELECT count(*) FROM {table}") == [(0,)]


def test_emptied_partition_is_no_longer_listed(store: SqlStore) -> None:
    """Partitions are those with documents (the JSON store keeps an emptied file listed)."""
    store.put("ws1", session("s1"))
    store.delete("s1")
    assert store.partitions() == []


# --------------------------------------------------------------------------- the second schema


def test_second_schema_end_to_end(tmp_path: Path) -> None:
    """The notes schema creates its own tables and constraints and stores notes exactly."""
    store = SqlStore(tmp_path / "n.db", NOTES)
    assert store.init_schema() is True
    tables = set(inspect(store.engine).get_table_names())
    assert {"notes", "note_tags", "note_revisions"} <= tables
    assert not {"sessions", "instances", "chat_messages", "workspaces"} & tables
    docs = [
        note("n1"),
        note("n2", weight=-0.0, score=7, tags=..., meta={"z": [2**70]}, extra_key=None),
        note("n3", revisions=[{"rev": 3, "text": "c"}, {"rev": 1, "text": "a", "ratio": 1.0}]),
    ]
    for doc in docs:
        store.put("inbox", doc)
    for doc, got in zip(docs, store.list("inbox"), strict=True):
        assert_same_document(doc, got)
    assert query(store, "SELECT note_id, folder, note_kind, weight, archived FROM notes") == [
        ("n1", "inbox", "memo", 1.5, 0),
        ("n2", "inbox", "memo", -0.0, 0),
        ("n3", "inbox", "memo", 1.5, 0),
    ]
    assert query(
        store, "SELECT note, rev, body FROM note_revisions WHERE note = 'n3' ORDER BY position"
    ) == [
        ("n3", 3, "c"),
        ("n3", 1, "a"),
    ]
    conn = raw(tmp_path / "n.db")
    with pytest.raises(sqlite3.IntegrityError, match="ck_notes_note_kind"):
        conn.execute("UPDATE notes SET note_kind = 'poem'")
    with pytest.raises(sqlite3.IntegrityError, match="ck_note_tags_color"):
        conn.execute("UPDATE note_tags SET color = 'pink'")
    conn.execute("UPDATE note_tags SET color = NULL")  # the nullable choice column
    conn.close()
    assert store.delete("n1") is True
    assert query(store, "SELECT owner FROM note_tags") == [("n3",)]
    store.close()


def test_engine_errors_become_database_errors(store: SqlStore) -> None:
    """A driver error surfaces as our DatabaseError (the original chained), never raw."""
    store.put("ws1", session("s1"))
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE chat_messages"))
    with pytest.raises(DatabaseError) as caught:
        store.get("s1")
    assert isinstance(caught.value.__cause__, sa_exc.DBAPIError)
