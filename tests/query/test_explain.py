"""Each documented query shape runs through its declared index: EXPLAIN QUERY PLAN on SQLite,
EXPLAIN on PostgreSQL (with sequential scans disabled, so a tiny table still shows which index
the shape can use). The statements explained are the very ones `find` and `summaries` run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.schemas.codec import to_rows
from migrator.schemas.sessions import SESSIONS
from tests.schemas.samples import instance, message, session

#: shape -> (the call, the declared indexes its main statement may use: one of them must be)
SHAPES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "failed sessions, newest first": (
        {"where": {"status": "failed"}, "order": ["-created_at"], "limit": 100},
        ("idx_sessions_status_created",),
    ),
    "sessions of a type, newest first": (
        {"where": {"type": "debate"}, "order": ["-created_at"], "limit": 100},
        ("idx_sessions_type_created",),
    ),
    "newest sessions": ({"order": ["-created_at"], "limit": 100}, ("idx_sessions_created",)),
    "a workspace's sessions": ({"partition": "w1"}, ("idx_sessions_workspace",)),
    "sessions with a failed instance": (
        {"has": {"instances": {"status": "failed"}}, "order": ["-created_at"], "limit": 100},
        # SQLite probes each session's instances; PostgreSQL may also semi-join from status
        ("idx_instances_session_status", "idx_instances_status"),
    ),
    "sessions with messages since a time": (
        {"has": {"chat_history": {"timestamp__gte": "2025-01-02"}}, "limit": 100},
        ("idx_messages_session_time", "idx_messages_timestamp"),
    ),
}


def _sample_store(store: SqlStore) -> None:
    store.init_schema()
    for w in range(3):
        docs = [
            session(
                f"s{w}-{i}",
                status=("failed", "running")[i % 2],
                created_at=f"2025-01-0{1 + i % 9}",
                instances=[instance(1, status=("failed", "idle")[i % 2])],
                chat_history=[message(f"m{w}-{i}", timestamp=f"2025-01-0{1 + i % 9}")],
                timeout_seconds=2**70 if i == 3 else 600,  # one row with values in `extra`
            )
            for i in range(20)
        ]
        rows = [to_rows(SESSIONS, f"w{w}", d, i) for i, d in enumerate(docs)]
        store.write_partitions([PartitionWrite(f"w{w}", rows)])


def _statements(store: SqlStore, call: Any) -> list[tuple[str, Any]]:
    """The SELECTs on the schema's tables that `call` runs."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM sessions" in statement:
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def _sqlite_plan(store: SqlStore, statement: str, params: Any) -> str:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
    return "\n".join(str(row[-1]) for row in rows)


def _pg_plan(store: SqlStore, statement: str, params: Any) -> str:
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
    return "\n".join(str(row[0]) for row in rows)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(tmp_path / "plans.db", SESSIONS)
    _sample_store(store)
    yield store
    store.close()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_sqlite_uses_the_declared_index(sqlite_store: SqlStore, shape: str) -> None:
    """The main statement searches the shape's index; the statement for rows with values in
    `extra` reads the partial index, never the whole table."""
    query, indexes = SHAPES[shape]
    statements = _statements(sqlite_store, lambda: sqlite_store.find(**query))
    plans = [_sqlite_plan(sqlite_store, s, p) for s, p in statements]
    assert any(index in plans[0] for index in indexes), plans[0]
    for plan in plans[1:]:
        assert "_extra_keys" in plan, plan
        assert "SCAN sessions\n" not in plan + "\n" and not plan.endswith("SCAN sessions")


def test_sqlite_summaries_use_the_workspace_index(sqlite_store: SqlStore) -> None:
    """summaries(partition) reads the root table through the workspace index only (its
    statement is compiled once and run on the driver's cursor, so it is read from the store)."""
    statement = sqlite_store.reader.statements.roots_of_partition
    assert len(sqlite_store.summaries("w1")) == 20
    plan = _sqlite_plan(sqlite_store, statement, ("w1",))
    assert "idx_sessions_workspace" in plan
    assert "instances" not in plan and "chat_messages" not in plan


@pytest.mark.postgres
@pytest.mark.parametrize("shape", list(SHAPES))
def test_postgresql_uses_the_declared_index(pg_db_url: str, shape: str) -> None:
    """The same shapes on PostgreSQL: text sorted by code point (COLLATE "C") still uses the
    index, which is declared in that collation there."""
    store = SqlStore(pg_db_url, SESSIONS)
    try:
        _sample_store(store)
        query, indexes = SHAPES[shape]
        statements = _statements(store, lambda: store.find(**query))
        plan = _pg_plan(store, *statements[0])
        assert any(index in plan for index in indexes), plan
    finally:
        store.close()
