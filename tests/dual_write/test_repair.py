"""`repair`: pending writes replayed idempotently, newest side wins, deletes stay deleted."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from migrator import repair
from migrator.adapters.journal import Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase
from migrator.adapters.sql_store import SqlStore
from tests.databases import on_both
from tests.dual_write.conftest import Env, session


@on_both
def test_repair_copies_failed_puts_and_deletes(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """After SQL was down in dual-write, repair brings it level and the stores validate."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    failing(SqlStore, "put")
    failing(SqlStore, "delete")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 3))
        store.put("ws-b", session("brand-new", 1))
        store.delete("ws-c-0")
    monkeypatch.undo()
    assert not env.validate().ok
    report = repair(env.json_dir, env.db, snapshot=False)
    assert report.ok and not report.dry_run
    assert report.counts == {"put": 2, "delete": 1, "none": 0, "skipped": 0, "failed": 0}
    env.assert_agree()
    assert Journal(env.json_dir).read().pending == ()
    assert repair(env.json_dir, env.db, snapshot=False).actions == ()


def test_dry_run_shows_the_plan_and_changes_nothing(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """--dry-run lists what would be copied, leaving stores and journal as they were."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    failing(SqlStore, "put")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 3))
    monkeypatch.undo()
    before = (env.documents("json"), env.documents("sql"), Journal(env.json_dir).read())
    report = repair(env.json_dir, env.db, dry_run=True, snapshot=False)
    assert [(a.doc_id, a.action, a.source.value) for a in report.actions] == [
        ("ws-a-1", "put", "json")
    ]
    assert (env.documents("json"), env.documents("sql"), Journal(env.json_dir).read()) == before


@on_both
def test_repair_never_puts_an_older_version_over_a_newer_one(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """A failed write followed by a newer one that reached both: repair keeps the newer."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    failing(SqlStore, "put")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 3))
    monkeypatch.undo()
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 4))
    report = repair(env.json_dir, env.db, snapshot=False)
    assert [a.action for a in report.actions] == ["none"]
    assert "changed since" in (report.actions[0].note or "")
    sql = env.sql_store()
    assert sql.get("ws-a-1") == session("ws-a-1", 4)
    sql.close()
    env.assert_agree()


@on_both
def test_repair_follows_the_newest_entry_across_a_phase_change(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """JSON failed last (in sqlite-primary) after SQL failed first: SQL's version wins."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    failing(SqlStore, "put")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 3))  # JSON has v3, SQL v0
    monkeypatch.undo()
    env.set_phase_raw(Phase.SQLITE_PRIMARY)
    failing(JsonStore, "stage_put")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 5))  # SQL has v5, JSON v3
    monkeypatch.undo()
    repair(env.json_dir, env.db, snapshot=False)
    assert JsonStore(env.json_dir, env.schema).get("ws-a-1") == session("ws-a-1", 5)
    env.assert_agree()


@on_both
def test_a_document_deleted_on_the_primary_is_not_resurrected(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """A put that failed on SQL, then a delete on JSON: repair deletes it from SQL."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    failing(SqlStore, "put")
    failing(SqlStore, "delete")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 3))
        store.delete("ws-a-1")
    monkeypatch.undo()
    report = repair(env.json_dir, env.db, snapshot=False)
    assert [(a.doc_id, a.action) for a in report.actions] == [("ws-a-1", "delete")]
    assert "ws-a-1" not in env.documents("sql")
    assert "ws-a-1" not in env.documents("json")
    env.assert_agree()


@on_both
def test_repair_that_still_fails_keeps_the_entry_pending(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """While SQL is still down repair reports failed, exits 1 in the CLI, keeps the entry."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    failing(SqlStore, "put")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 3))
    report = repair(env.json_dir, env.db, snapshot=False)
    assert not report.ok
    assert report.counts["failed"] == 1
    assert len(Journal(env.json_dir).read().pending) == 1


def test_repair_cli_reports_in_json_and_text(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """`migrator repair --dry-run --format json` plans; `migrator repair` does it."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    failing(SqlStore, "put")
    with env.open() as store:
        store.put("ws-b", session("ws-b-2", 8))
    monkeypatch.undo()
    args = ("--json-dir", str(env.json_dir), "--db", str(env.db))
    planned = env.cli("repair", *args, "--dry-run", "--format", "json")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["dry_run"] is True
    assert plan["documents"][0]["id"] == "ws-b-2"
    done = env.cli("repair", *args)
    assert done.returncode == 0, done.stderr
    assert "repaired 1 document(s): put 1" in done.stdout
    assert env.cli("repair", *args).stdout.startswith("nothing to repair")
    env.assert_agree()


def test_sqlite_only_skips_copies_into_the_archived_json(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """In sqlite-only, entries whose copy would go to JSON are closed as skipped."""
    env.set_phase_raw(Phase.SQLITE_PRIMARY)
    failing(JsonStore, "stage_put")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 3))
    monkeypatch.undo()
    env.set_phase_raw(Phase.SQLITE_ONLY)
    report = repair(env.json_dir, env.db, snapshot=False)
    assert [a.action for a in report.actions] == ["skipped"]
    assert Journal(env.json_dir).read().pending == ()
