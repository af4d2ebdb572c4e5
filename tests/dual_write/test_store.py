"""DualWriteStore: routing by phase, bad input, failing secondaries, fallback and shadow reads."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.adapters.base import DocumentStore
from migrator.adapters.dual_write import DualWriteStore, open_store
from migrator.adapters.incidents import IncidentLog
from migrator.adapters.journal import Journal, Side
from migrator.adapters.json_store import JsonStore, StagedPartition
from migrator.adapters.phase_state import Phase
from migrator.adapters.sql_store import SqlStore
from migrator.errors import DocumentError, UnsafePartitionError, UsageError
from tests.databases import on_both
from tests.dual_write.conftest import Env, session


def test_open_store_is_a_document_store_and_a_context_manager(env: Env) -> None:
    """open_store gives the small store interface every store offers, and closes on exit."""
    with open_store(env.json_dir, env.db) as store:
        assert isinstance(store, DocumentStore)
        assert store.phase is Phase.JSON_ONLY
        assert [d["id"] for d in store.list("ws-a")] == [f"ws-a-{n}" for n in range(4)]


@on_both
@pytest.mark.parametrize(
    ("phase", "json_changed", "sql_changed"),
    [
        (Phase.JSON_ONLY, True, False),
        (Phase.DUAL_WRITE, True, True),
        (Phase.SQLITE_PRIMARY, True, True),
        (Phase.SQLITE_ONLY, False, True),
    ],
)
def test_writes_go_where_the_phase_says(
    env: Env, phase: Phase, json_changed: bool, sql_changed: bool
) -> None:
    """A put and a delete reach the stores of the routing table, and only those."""
    env.set_phase_raw(phase)
    with env.open() as store:
        store.put("ws-b", session("new", 1))
        assert store.delete("ws-a-0") is True
        assert store.get("new") == session("new", 1)
        assert store.get("ws-a-0") is None
    json_docs, sql_docs = env.documents("json"), env.documents("sql")
    assert ("new" in json_docs) is json_changed
    assert ("ws-a-0" not in json_docs) is json_changed
    assert ("new" in sql_docs) is sql_changed
    assert ("ws-a-0" not in sql_docs) is sql_changed
    assert Journal(env.json_dir).read().pending == ()


@on_both
@pytest.mark.parametrize("phase", list(Phase))
def test_reads_come_from_the_phase_read_store(env: Env, phase: Phase) -> None:
    """get and list answer from JSON before sqlite-primary and from SQL from then on."""
    sql = env.sql_store()
    sql.put("ws-a", session("ws-a-1", version=7))  # SQL alone now holds version 7
    sql.close()
    env.set_phase_raw(phase)
    with env.open() as store:
        expected = 7 if phase.sql_is_primary else 0
        assert store.get("ws-a-1") == session("ws-a-1", expected)
        assert store.list("ws-a")[1] == session("ws-a-1", expected)
        assert store.partitions() == ["ws-a", "ws-b", "ws-c"]


def test_delete_of_a_missing_document_is_false(store: DualWriteStore) -> None:
    """Deleting what the primary does not hold changes nothing and says so."""
    assert store.delete("no-such-id") is False


@on_both
@pytest.mark.parametrize("phase", list(Phase))
def test_bad_document_is_refused_before_any_store_is_written(env: Env, phase: Phase) -> None:
    """A DocumentError is raised with nothing written and nothing journaled."""
    env.set_phase_raw(phase)
    before = (env.documents("json"), env.documents("sql"))
    with env.open() as store, pytest.raises(DocumentError, match="status") as raised:
        store.put("ws-a", session("bad", status="sleeping"))
    assert raised.value.partition == "ws-a"
    assert (env.documents("json"), env.documents("sql")) == before
    assert not Journal(env.json_dir).path.exists()


def test_unsafe_partition_is_refused(store: DualWriteStore) -> None:
    """A partition name that could escape the directory is refused before anything else."""
    with pytest.raises(UnsafePartitionError):
        store.put("../escape", session("x"))
    with pytest.raises(UnsafePartitionError):
        store.list("../escape")


def test_shadow_rate_out_of_range_is_a_usage_error(env: Env) -> None:
    """A sampling rate outside [0, 1] is refused when the store is opened."""
    with pytest.raises(UsageError):
        open_store(env.json_dir, env.db, shadow_rate=1.5)


# --------------------------------------------------------------------------- failing secondary


@on_both
@pytest.mark.parametrize(
    ("phase", "broken", "method", "primary"),
    [
        (Phase.DUAL_WRITE, SqlStore, "put", Side.JSON),
        (Phase.DUAL_WRITE, SqlStore, "delete", Side.JSON),
        (Phase.SQLITE_PRIMARY, JsonStore, "write_partition", Side.SQL),
        (Phase.SQLITE_PRIMARY, JsonStore, "stage_put", Side.SQL),
        (Phase.SQLITE_PRIMARY, StagedPartition, "replace", Side.SQL),
    ],
)
def test_failing_secondary_is_journaled_not_raised(
    env: Env,
    failing: Callable[[type, str], None],
    phase: Phase,
    broken: type,
    method: str,
    primary: Side,
) -> None:
    """The caller sees the primary's result; the failure is durable in the journal."""
    env.set_phase_raw(phase)
    failing(broken, method)
    with env.open() as store:
        if method == "delete" or method == "write_partition":
            assert store.delete("ws-a-2") is True
            op, doc_id = "delete", "ws-a-2"
        else:
            store.put("ws-c", session("ws-c-1", 5))
            op, doc_id = "put", "ws-c-1"
    state = Journal(env.json_dir).read()
    assert [(p.op, p.doc_id, p.primary) for p in state.pending] == [(op, doc_id, primary)]
    assert "injected failure" in (state.pending[0].error or "")
    assert state.failures == 1


@on_both
def test_failing_primary_raises_and_leaves_the_write_pending(
    env: Env, failing: Callable[[type, str], None]
) -> None:
    """A primary that raises fails the call; its intent stays for repair to check."""
    env.set_phase_raw(Phase.SQLITE_PRIMARY)
    failing(SqlStore, "put")
    with env.open() as store, pytest.raises(Exception, match="injected failure"):
        store.put("ws-a", session("ws-a-0", 9))
    assert env.documents("json")["ws-a-0"] == env.documents("sql")["ws-a-0"]
    assert [p.doc_id for p in Journal(env.json_dir).read().pending] == ["ws-a-0"]


# --------------------------------------------------------------------------- fallback reads


def _break_database(db: Path) -> None:
    db.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def test_fallback_reads_serve_json_when_sql_is_broken(env: Env) -> None:
    """In sqlite-primary a corrupt database is read around: JSON answers, incidents counted."""
    env.set_phase_raw(Phase.SQLITE_PRIMARY)
    _break_database(env.db)
    with env.open() as store:
        assert store.get("ws-b-3") == session("ws-b-3")
        assert [d["id"] for d in store.list("ws-c")] == [f"ws-c-{n}" for n in range(4)]
    summary = IncidentLog(env.json_dir).summary()
    assert summary.counters["fallbacks"] == 2
    assert summary.recent_fallbacks[0]["key"] == "ws-b-3"
    assert "corrupt" in summary.recent_fallbacks[0]["error"]


def test_no_fallback_in_sqlite_only(env: Env) -> None:
    """In sqlite-only SQL is the only store: its error reaches the caller."""
    env.set_phase_raw(Phase.SQLITE_ONLY)
    _break_database(env.db)
    with env.open() as store, pytest.raises(Exception, match="corrupt"):
        store.get("ws-b-3")


# --------------------------------------------------------------------------- shadow reads


def _diverge(env: Env, doc_id: str, **changes: object) -> None:
    sql = env.sql_store()
    doc = sql.get(doc_id)
    assert doc is not None
    partition = sql.partition_of(doc_id)
    assert partition is not None
    sql.put(partition, {**doc, **changes})
    sql.close()


def test_shadow_reads_record_mismatches_and_never_change_results(env: Env) -> None:
    """Sampled reads compare SQL; the caller gets JSON's answer, the mismatch is logged."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    _diverge(env, "ws-a-1", status="failed")
    with env.open(shadow_rate=1.0) as store:
        assert store.get("ws-a-1") == session("ws-a-1")
        assert store.list("ws-a")[1] == session("ws-a-1")
        assert store.get("ws-a-2") == session("ws-a-2")
    summary = IncidentLog(env.json_dir).summary()
    assert summary.counters["shadow_compared"] == 3
    assert summary.counters["shadow_mismatched"] == 2
    assert summary.counters["shadow_matched"] == 1
    entry = summary.recent_mismatches[0]
    assert entry["id"] == "ws-a-1"
    assert entry["paths"] == ["root['status']"]
    assert entry["differences"][0]["json"] == "running"
    assert entry["differences"][0]["sqlite"] == "failed"


def test_shadow_ignored_paths_are_counted_as_ignored(env: Env) -> None:
    """A difference only in a path the team allows is `ignored`, not a mismatch."""
    from migrator.phases import configure_shadow

    env.set_phase_raw(Phase.DUAL_WRITE)
    configure_shadow(env.json_dir, rate=1.0, ignore_paths=[r"root\['updated_at'\]"])
    _diverge(env, "ws-a-1", updated_at="2030-01-01T00:00:00Z")
    with env.open() as store:
        assert store.get("ws-a-1") == session("ws-a-1")
    counters = IncidentLog(env.json_dir).summary().counters
    assert counters["shadow_ignored"] == 1
    assert counters["shadow_mismatched"] == 0


def test_shadow_read_errors_are_captured_never_raised(env: Env) -> None:
    """A broken SQL side during dual-write costs a logged error, not a failed read."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    _break_database(env.db)
    with env.open(shadow_rate=1.0) as store:
        assert store.get("ws-a-1") == session("ws-a-1")
    summary = IncidentLog(env.json_dir).summary()
    assert summary.counters["shadow_errors"] == 1
    assert "corrupt" in summary.recent_mismatches[-1]["error"]


def test_a_shadow_read_of_a_value_json_cannot_hold_is_a_shadow_error(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """Found from outside (issue 20 point 5): SQL answering a BLOB where JSON has text (a hand
    edit SQLite keeps) made the comparison itself fail, logged as a shadow read that "could not
    be recorded" with a traceback; it is counted as a shadow error, naming what failed."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    raw = sqlite3.connect(env.db)
    raw.execute("UPDATE sessions SET task = X'00ff' WHERE id = 'ws-a-1'")
    raw.commit()
    raw.close()
    with env.open(shadow_rate=1.0) as store:
        assert store.get("ws-a-1") == session("ws-a-1")
    summary = IncidentLog(env.json_dir).summary()
    assert summary.counters["shadow_errors"] == 1
    assert "not JSON serializable" in summary.recent_mismatches[-1]["error"]
    assert "could not be recorded" not in caplog.text


def test_shadow_sampling_rate_zero_reads_no_sql(env: Env) -> None:
    """With the default rate of 0 no read touches SQL, even a broken one."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    _break_database(env.db)
    with env.open() as store:
        for _ in range(20):
            store.get("ws-a-1")
    assert IncidentLog(env.json_dir).summary().counters["shadow_compared"] == 0


def test_shadow_sampling_follows_the_rate(env: Env) -> None:
    """About `rate` of the reads are compared."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    store = DualWriteStore(env.json_dir, env.db, env.schema, shadow_rate=0.5, rng=random.Random(3))
    with store:
        for _ in range(200):
            store.get("ws-a-1")
    compared = IncidentLog(env.json_dir).summary().counters["shadow_compared"]
    assert 60 < compared < 140


def test_a_missing_database_is_never_replaced_by_an_empty_one(env: Env) -> None:
    """With the database file gone, sqlite-primary reads fall back and dual-write journals
    the SQL writes; no empty database appears in its place."""
    env.db.unlink()
    env.set_phase_raw(Phase.SQLITE_PRIMARY)
    with env.open() as store:
        assert store.get("ws-a-1") == session("ws-a-1")
    env.set_phase_raw(Phase.DUAL_WRITE)
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 2))
    assert not env.db.exists()
    assert IncidentLog(env.json_dir).summary().counters["fallbacks"] == 1
    assert [p.doc_id for p in Journal(env.json_dir).read().pending] == ["ws-a-1"]
