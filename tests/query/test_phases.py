"""An application's queries stay unchanged while the phases move under it: the dual-write
store answers from the store the phase reads, and shadow reads compare query answers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import migrator
from migrator.adapters.dual_write import DualWriteStore
from migrator.adapters.incidents import IncidentLog
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase
from migrator.adapters.sql_store import SqlStore
from migrator.phases import set_phase
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.sessions import SESSIONS
from tests.schemas.samples import instance, session

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "store"

QUERIES: list[dict[str, Any]] = [
    {"where": {"status": "failed"}, "order": ["-created_at"], "limit": 5},
    {"has": {"instances": {"status": "failed"}}, "order": ["-created_at"], "returning": "ids"},
    {"where": {"type__in": ["debate", "ensemble"]}, "order": ["created_at"], "limit": 4},
    {"where": {"model__absent": True}, "returning": "ids"},
    {"where": {"created_at__gte": "2025-01-14"}, "returning": "documents"},
    {"where": {"total_duration__gt": 100}, "order": ["-total_duration"], "limit": 3},
    {"has": {"chat_history": {"role": "assistant"}}, "partition": "app", "returning": "ids"},
]


def answers(store: Any) -> list[bytes]:
    """Every query's pages (followed by cursor) and every partition's summaries, as bytes."""
    found = []
    for query in QUERIES:
        cursor = None
        while True:
            page = store.find(**query, after=cursor)
            found.append(canonical_bytes([page.items]))
            cursor = page.cursor
            if cursor is None:
                break
    for partition in [*sorted(JsonStore(FIXTURES, SESSIONS).partitions()), "app"]:
        found.append(canonical_bytes(store.summaries(partition)))
    return found


def test_the_same_answers_from_json_only_to_sqlite_only(tmp_path: Path) -> None:
    """One open store: written in json-only and dual-write, queried in every phase, always
    the same answers (the fixtures' edge cases included: NUL text, huge integers, absent keys)."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    shutil.copytree(FIXTURES, json_dir)
    with migrator.open_store(json_dir, db, shadow_rate=1.0) as store:
        assert store.phase is Phase.JSON_ONLY
        store.put("app", session("a1", status="failed", created_at="2025-02-01"))
        set_phase(json_dir, db, SESSIONS, "dual-write")
        migrator.import_store(json_dir, db)
        store.put(
            "app",
            session("a2", instances=[instance(1, status="failed")], created_at="2025-02-02"),
        )
        expected = answers(JsonStore(json_dir, SESSIONS))
        assert answers(store) == expected  # dual-write: from JSON, every answer shadow-read
        store.incidents.flush()
        shadow = IncidentLog(json_dir).summary().counters
        assert shadow.get("shadow_compared", 0) >= len(expected)
        assert shadow.get("shadow_mismatched", 0) == 0 and shadow.get("shadow_errors", 0) == 0
        for phase in ("sqlite-primary", "sqlite-only"):
            set_phase(json_dir, db, SESSIONS, phase, force=True)
            assert store.phase is Phase(phase)
            assert answers(store) == expected, phase


def test_find_reads_the_store_of_the_phase(tmp_path: Path) -> None:
    """json-only answers from the files, sqlite-primary from SQL (JSON when SQL fails)."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    JsonStore(json_dir, SESSIONS).write_partition("w", [session("j1", status="failed")])
    sql = SqlStore(db, SESSIONS)
    sql.put("w", session("q1", status="failed"))
    sql.close()
    with DualWriteStore(json_dir, db, SESSIONS) as store:
        assert list(store.find({"status": "failed"}, returning="ids")) == ["j1"]
        set_phase(json_dir, db, SESSIONS, "dual-write", force=True)
        set_phase(json_dir, db, SESSIONS, "sqlite-primary", force=True)
        assert list(store.find({"status": "failed"}, returning="ids")) == ["q1"]
        assert [s["id"] for s in store.summaries("w")] == ["q1"]
        store.sql.engine.dispose()
        db.unlink()
        db.mkdir()  # a directory where the database was: SQL fails, the read falls back
        assert list(store.find({"status": "failed"}, returning="ids")) == ["j1"]
    assert IncidentLog(json_dir).summary().counters.get("fallbacks", 0) == 1


def test_shadow_reads_compare_query_answers(tmp_path: Path) -> None:
    """In dual-write the caller gets JSON's answer; a SQL answer that differs is recorded."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    docs = [session("s1", status="failed"), session("s2", status="running")]
    JsonStore(json_dir, SESSIONS).write_partition("w", docs)
    sql = SqlStore(db, SESSIONS)
    sql.put("w", docs[0])
    sql.put("w", session("s2", status="failed"))  # SQL went wrong
    sql.close()
    set_phase(json_dir, db, SESSIONS, "dual-write", force=True)
    with migrator.open_store(json_dir, db, shadow_rate=1.0) as store:
        assert list(store.find({"status": "failed"}, returning="ids")) == ["s1"]
        assert [s["status"] for s in store.summaries("w")] == ["failed", "running"]
    summary = IncidentLog(json_dir).summary()
    assert summary.counters["shadow_mismatched"] == 2
    reads = {entry["read"] for entry in summary.recent_mismatches}
    assert reads == {"find", "summaries"}
    assert any("status__eq='failed'" in entry["key"] for entry in summary.recent_mismatches)
