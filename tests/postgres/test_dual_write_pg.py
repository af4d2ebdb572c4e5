"""The dual-write store on PostgreSQL: the dual-write acceptance tests, run again with the
database on the test server, and a server that is down or restarting under the store.

The tests imported from tests/dual_write run here unchanged: their `env` and `fixture_env`
fixtures are redefined below with a fresh PostgreSQL database instead of a SQLite file (pytest
looks a fixture up from the module that collects the test). What they cover: writes and reads
routed by phase, failing secondaries journaled, repair (newest side wins, deletes stay
deleted), the workload through every phase and back, 4 writer processes (each with its own
connections) across a phase move, and a writer SIGKILLed between the two writes, then repair.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator.adapters.incidents import IncidentLog
from migrator.adapters.journal import Journal, Side
from migrator.adapters.phase_state import Phase
from migrator.errors import DatabaseError
from migrator.repair import repair
from migrator.schemas.declaration import Schema
from tests.dual_write.conftest import FIXTURE_STORE, PARTITIONS, Env, seed, session
from tests.dual_write.conftest import failing as failing
from tests.dual_write.conftest import store as store
from tests.dual_write.test_phases import (  # noqa: F401 (collected here, on PostgreSQL)
    test_sqlite_only_archives_and_moving_back_rebuilds_json_exactly,
    test_sqlite_primary_needs_a_validation_recorded_in_dual_write,
    test_workload_through_every_phase_and_back,
)
from tests.dual_write.test_processes import (  # noqa: F401
    test_four_writers_lose_no_update_while_the_phase_moves,
    test_sigkill_mid_write_then_repair_validates_clean,
)
from tests.dual_write.test_repair import (  # noqa: F401
    test_a_document_deleted_on_the_primary_is_not_resurrected,
    test_repair_copies_failed_puts_and_deletes,
    test_repair_follows_the_newest_entry_across_a_phase_change,
    test_repair_never_puts_an_older_version_over_a_newer_one,
    test_repair_that_still_fails_keeps_the_entry_pending,
)
from tests.dual_write.test_store import (  # noqa: F401
    test_bad_document_is_refused_before_any_store_is_written,
    test_failing_primary_raises_and_leaves_the_write_pending,
    test_failing_secondary_is_journaled_not_raised,
    test_reads_come_from_the_phase_read_store,
    test_writes_go_where_the_phase_says,
)
from tests.pg_server import PgServer, create_database

pytestmark = pytest.mark.postgres


def _small_env(json_dir: Path, url: str, schema: Schema) -> Env:
    """3 partitions of 4 sessions each in both stores, in json-only (the SQLite tests' env)."""
    env = Env(json_dir, url, schema)  # type: ignore[arg-type]
    env.json_dir.mkdir()
    seed(env, {p: [session(f"{p}-{n}") for n in range(4)] for p in PARTITIONS})
    return env


@pytest.fixture
def env(tmp_path: Path, pg_db_url: str, sessions_schema: Schema) -> Env:
    """The dual-write tests' small stores, the database on the test server."""
    return _small_env(tmp_path / "json", pg_db_url, sessions_schema)


@pytest.fixture
def fixture_env(tmp_path: Path, pg_db_url: str, sessions_schema: Schema) -> Env:
    """The committed fixture store (every edge case) in JSON and imported into PostgreSQL."""
    result = Env(tmp_path / "json", pg_db_url, sessions_schema)  # type: ignore[arg-type]
    shutil.copytree(FIXTURE_STORE, result.json_dir)
    sql = result.sql_store()
    try:
        sql.init_schema()
        for partition, doc in result.json_store().iter_documents():
            sql.put(partition, doc)
    finally:
        sql.close()
    return result


# --------------------------------------------------------------------------- a server going away


@pytest.fixture
def private(
    tmp_path: Path, pg_private_server: PgServer, sessions_schema: Schema
) -> Iterator[tuple[Env, PgServer]]:
    """Small stores whose database lives on a server of this test's own, to halt and resume."""
    url = create_database(pg_private_server.url)
    yield _small_env(tmp_path / "json", url, sessions_schema), pg_private_server


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
    report = repair(env.json_dir, env.db)
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
    report = repair(env.json_dir, env.db)
    assert report.counts["put"] == 0 and report.counts["failed"] == 0
    assert Journal(env.json_dir).read().pending == ()
    env.assert_agree()
    assert env.documents("sql")["ws-a-1"] == env.documents("json")["ws-a-1"]  # v0 on both
