"""The dual-write store on a PostgreSQL server that goes down or restarts under it.

The dual-write acceptance tests themselves (writes and reads routed by phase, failing
secondaries journaled, repair, the workload through every phase and back, 4 writer processes
across a phase move, a writer SIGKILLed between the two writes) run on PostgreSQL from their
own modules in tests/dual_write, decorated with `tests.databases.on_both`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator import repair
from migrator.adapters.incidents import IncidentLog
from migrator.adapters.journal import Journal, Side
from migrator.adapters.phase_state import Phase
from migrator.errors import DatabaseError
from migrator.schemas.declaration import Schema
from tests.dual_write.conftest import Env, session, small_env
from tests.pg_server import PgServer, create_database

pytestmark = pytest.mark.postgres


# --------------------------------------------------------------------------- a server going away


@pytest.fixture
def private(
    tmp_path: Path, pg_private_server: PgServer, sessions_schema: Schema
) -> Iterator[tuple[Env, PgServer]]:
    """Small stores whose database lives on a server of this test's own, to halt and resume."""
    url = create_database(pg_private_server.url)
    yield small_env(tmp_path / "json", url, sessions_schema), pg_private_server


def test_server_down_and_restarting_in_dual_write_is_journaled_then_repaired(
    private: tuple[Env, PgServer],
) -> None:
    """In dual-write, writes while the server is down succeed on JSON and are journaled as
    failed; after the restart the same open store writes both again (its dead pooled
    connections are replaced), and repair brings SQL level: no write is lost."""
    env, server = private
    env.set_phase_raw(Phase.DUAL_WRITE)
    with env.open() as store:
        store.put("ws-a", session("before", 1))
        server.halt()
        store.put("ws-a", session("ws-a-1", 5))
        store.put("ws-b", session("while-down", 1))
        assert store.delete("ws-c-0") is True
        assert store.get("while-down") == session("while-down", 1)  # reads are JSON's
        state = Journal(env.json_dir).read()
        assert [(p.op, p.doc_id, p.primary) for p in state.pending] == [
            ("put", "ws-a-1", Side.JSON),
            ("put", "while-down", Side.JSON),
            ("delete", "ws-c-0", Side.JSON),
        ]
        assert all("DatabaseError" in (p.error or "") for p in state.pending)
        server.resume()
        store.put("ws-b", session("after", 1))  # the same store, on the restarted server
        assert "after" in env.documents("sql")
    assert not env.validate().ok
    report = repair(env.json_dir, env.db, snapshot=False)
    assert report.counts == {"put": 2, "delete": 1, "none": 0, "skipped": 0, "failed": 0}
    env.assert_agree()
    assert Journal(env.json_dir).read().pending == ()
    assert {"before", "while-down", "after"} <= set(env.documents("sql"))


def test_server_down_in_sqlite_primary_reads_json_and_refuses_writes(
    private: tuple[Env, PgServer],
) -> None:
    """In sqlite-primary, reads while the server is down are served from JSON and recorded
    as fallbacks; a write raises (its primary is down, so the caller knows it did not happen)
    and changes neither store; after the restart everything works and repair finds nothing
    to copy."""
    env, server = private
    env.set_phase_raw(Phase.SQLITE_PRIMARY)
    with env.open() as store:
        assert store.get("ws-b-3") == session("ws-b-3")  # opens the pool on a live server
        server.halt()
        assert store.get("ws-b-3") == session("ws-b-3")
        assert [d["id"] for d in store.list("ws-c")] == [f"ws-c-{n}" for n in range(4)]
        before = env.documents("json")
        with pytest.raises(DatabaseError) as raised:
            store.put("ws-a", session("ws-a-1", 9))
        assert "\n" not in str(raised.value)
        assert env.documents("json") == before
        server.resume()
        store.put("ws-a", session("ws-a-2", 9))
        assert store.get("ws-a-2") == session("ws-a-2", 9)
    summary = IncidentLog(env.json_dir).summary()
    assert summary.counters["fallbacks"] == 2
    assert summary.recent_fallbacks[0]["key"] == "ws-b-3"
    report = repair(env.json_dir, env.db, snapshot=False)
    assert report.counts["put"] == 0 and report.counts["failed"] == 0
    assert Journal(env.json_dir).read().pending == ()
    env.assert_agree()
    assert env.documents("sql")["ws-a-1"] == env.documents("json")["ws-a-1"]  # v0 on both
