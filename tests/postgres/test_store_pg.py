"""SqlStore on PostgreSQL: what the suites of tests/adapters (the store contract, and the
partition conflict, run on PostgreSQL too) do not cover: constraints, the server."""

from __future__ import annotations

import copy
import socket
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect, text

from migrator.adapters.sql_store import SqlStore
from migrator.errors import DatabaseError, DocumentError
from migrator.schemas.declaration import Schema
from tests.pg_server import PgServer, create_database, libpq_url

pytestmark = pytest.mark.postgres


def session(doc_id: str, **changes: Any) -> dict[str, Any]:
    """A small valid session document."""
    doc: dict[str, Any] = {
        "id": doc_id,
        "type": "competition",
        "task": "do it",
        "status": "running",
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:00:00Z",
        "instances": [
            {
                "instance_id": 1,
                "worktree_path": "/w/1",
                "branch": "b1",
                "agent_name": "a",
                "status": "running",
                "tmux_session_id": "t1",
            }
        ],
        "chat_history": [
            {"id": f"{doc_id}-m1", "role": "user", "content": "hi", "timestamp": "t1"},
        ],
    }
    doc.update(changes)
    return doc


def test_chat_message_id_of_another_document_is_a_document_error(pg_store: SqlStore) -> None:
    """A chat message id another document uses is the document's error, and nothing is written."""
    pg_store.put("p1", session("s-1"))
    thief = session("s-2", chat_history=copy.deepcopy(session("s-1")["chat_history"]))
    with pytest.raises(DocumentError) as raised:
        pg_store.put("p1", thief)
    assert raised.value.doc_id == "s-2"
    assert raised.value.partition == "p1"
    assert "refused by the database" in str(raised.value)
    assert pg_store.get("s-2") is None
    assert pg_store.get("s-1") == session("s-1")
    pg_store.put("p1", session("s-3"))  # the connection is usable after the failed transaction


def test_init_schema_twice(pg_store: SqlStore, sessions_schema: Schema) -> None:
    """init_schema says it created the tables once; a second call (any process) keeps the data."""
    pg_store.put("p1", session("s-1"))
    again = SqlStore(pg_store.url, sessions_schema)
    assert again.init_schema() is False
    assert again.recorded_schema() == ("sessions", sessions_schema.version)
    assert again.get("s-1") == session("s-1")
    again.close()


def test_init_schema_reports_creation(pg_db_url: str, sessions_schema: Schema) -> None:
    """On an empty database init_schema creates the tables and says so."""
    store = SqlStore(pg_db_url, sessions_schema)
    assert store.is_initialized() is False
    assert store.init_schema() is True
    assert store.is_initialized() is True
    store.close()


def test_constraints_foreign_keys_and_indexes_exist(pg_store: SqlStore) -> None:
    """The declaration's CHECKs, cascading foreign keys, unique constraint and indexes are there."""
    found = inspect(pg_store.engine)
    checks = {
        table: {c["name"] for c in found.get_check_constraints(table)}
        for table in ("sessions", "instances", "chat_messages")
    }
    assert checks == {
        "sessions": {"ck_sessions_session_type", "ck_sessions_status"},
        "instances": {"ck_instances_status"},
        "chat_messages": {"ck_chat_messages_role"},
    }
    for table, parent in (
        ("sessions", "workspaces"),
        ("instances", "sessions"),
        ("chat_messages", "sessions"),
    ):
        (fk,) = found.get_foreign_keys(table)
        assert fk["referred_table"] == parent
        assert fk["options"].get("ondelete") == "CASCADE"
    indexes = {
        index["name"]
        for table in ("sessions", "instances", "chat_messages")
        for index in found.get_indexes(table)
    }
    assert indexes >= {
        "idx_sessions_workspace",
        "idx_sessions_status",
        "idx_sessions_type",
        "idx_sessions_created",
        "idx_instances_session",
        "idx_instances_status",
        "idx_messages_session",
        "idx_messages_timestamp",
    }
    unique = found.get_unique_constraints("instances")
    assert [u["column_names"] for u in unique] == [["session_id", "instance_id"]]


def test_check_constraint_and_cascade_are_enforced(pg_store: SqlStore) -> None:
    """The server itself refuses a status outside the choices and cascades a session's rows."""
    pg_store.put("p1", session("s-1"))
    with pytest.raises(sa_exc.IntegrityError), pg_store.engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET status = 'bogus' WHERE id = 's-1'"))
    with pg_store.engine.begin() as conn:
        conn.execute(text("DELETE FROM sessions WHERE id = 's-1'"))
        left = conn.execute(
            text("SELECT (SELECT count(*) FROM instances) + (SELECT count(*) FROM chat_messages)")
        ).scalar_one()
    assert left == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_server_is_a_one_line_database_error(sessions_schema: Schema) -> None:
    """A server that is down is a DatabaseError with a one-line message naming the database."""
    store = SqlStore(f"postgresql://postgres@127.0.0.1:{_closed_port()}/nothing", sessions_schema)
    for attempt in (store.init_schema, lambda: store.get("s-1"), store.partitions):
        with pytest.raises(DatabaseError) as raised:
            attempt()
        message = str(raised.value)
        assert "\n" not in message
        assert "127.0.0.1" in message and "nothing" in message
        assert isinstance(raised.value.__cause__, sa_exc.OperationalError)
    store.close()


def test_missing_database_is_a_database_error(pg_url: str, sessions_schema: Schema) -> None:
    """A database that does not exist on a running server is a one-line DatabaseError."""
    url = pg_url.rpartition("/")[0] + "/no_such_database"
    store = SqlStore(url, sessions_schema)
    with pytest.raises(DatabaseError, match="no_such_database") as raised:
        store.init_schema()
    assert "\n" not in str(raised.value)
    store.close()


def test_plain_postgresql_url_uses_psycopg(pg_db_url: str, sessions_schema: Schema) -> None:
    """`postgresql://` (no driver) works: it means psycopg 3, not the absent psycopg2."""
    plain = libpq_url(pg_db_url)
    assert plain.startswith("postgresql://")
    store = SqlStore(plain, sessions_schema)
    assert store.engine.driver == "psycopg"
    store.put("p1", session("s-1"))
    assert store.get("s-1") == session("s-1")
    store.close()


def test_server_down_then_back(pg_private_server: PgServer, sessions_schema: Schema) -> None:
    """While the server is down every call is a one-line DatabaseError; once it is back the
    same store works again (stale pooled connections are replaced) and nothing was lost."""
    url = create_database(pg_private_server.url)
    store = SqlStore(url, sessions_schema)
    store.put("p1", session("s-1"))
    pg_private_server.halt()
    for attempt in (lambda: store.get("s-1"), lambda: store.put("p1", session("s-2"))):
        with pytest.raises(DatabaseError) as raised:
            attempt()
        assert "\n" not in str(raised.value)
    pg_private_server.resume()
    assert store.get("s-1") == session("s-1")
    assert store.get("s-2") is None
    store.put("p1", session("s-2"))
    assert [doc["id"] for doc in store.list("p1")] == ["s-1", "s-2"]
    store.close()
