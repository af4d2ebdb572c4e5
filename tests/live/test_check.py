"""`migrator check`: fails for each thing that blocks the next phase (doctor problems, no
import, differences, pending repairs, a failing guard), names what to run, and passes once
that was run; exit 0 ready, 1 not ready, 2 fatal; text, JSON and JUnit."""

from __future__ import annotations

import json
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from migrator import repair
from migrator.adapters.dual_write import open_store
from migrator.adapters.phase_state import Phase
from migrator.adapters.sql_store import SqlStore
from migrator.checklist import CheckResult, check
from migrator.errors import DatabaseError, UsageError
from migrator.phases import set_phase
from tests.live.conftest import FIXTURE_STORE, P1, P3, Live, import_fixture_store, sid, stamp


def run_check(live: Live) -> CheckResult:
    return check(live.json_dir, live.db, live.schema)


def failed(result: CheckResult) -> dict[str, str]:
    """name -> fix of every failed item."""
    return {item.name: item.fix for item in result.failed}


def raw_sql(db: Path, statement: str) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
def unimported(tmp_path: Path, live: Live) -> Live:
    """The fixture store in json-only with no database yet."""
    json_dir = tmp_path / "fresh"
    shutil.copytree(FIXTURE_STORE, json_dir)
    return Live(json_dir, tmp_path / "fresh.db", live.schema)


def test_before_the_import_check_is_ready_for_dual_write(unimported: Live) -> None:
    """json-only without a database (issue 16, point 3): ready, since the documented flow moves
    to dual-write first and imports there; nothing is validated and no database is created."""
    result = run_check(unimported)
    assert (result.phase, result.next_phase) == (Phase.JSON_ONLY, Phase.DUAL_WRITE)
    assert result.ready, failed(result)
    assert result.validation is None
    assert not unimported.db.exists()
    assert [item.name for item in result.items] == [
        "doctor",
        "validation",
        "guard: database ready",
    ]
    import_fixture_store(unimported.json_dir, unimported.db, unimported.schema)
    after = run_check(unimported)
    assert after.ready, failed(after)


def test_differences_fail_the_check_until_put_right(live: Live) -> None:
    """dual-write with a lost update: validation and `validation clean` fail; fixed, it passes."""
    live.set_phase(Phase.DUAL_WRITE)
    original = live.doc(sid(0, 8))
    live.put_sql(P1, original | {"task": "lost"})
    result = run_check(live)
    assert not result.ready
    fixes = failed(result)
    assert set(fixes) == {"validation", "guard: validation clean"}
    assert fixes["validation"].startswith("migrator repair")
    for fix in fixes.values():  # and the import, for what was written before dual-write
        assert f"migrator import --json-dir {live.json_dir}" in fix and "--prune" in fix, fix
    assert result.validation is not None
    assert [m.id for m in result.validation.mismatched] == [sid(0, 8)]
    live.put_sql(P1, original)
    assert run_check(live).ready


def test_pending_repairs_fail_the_check_until_repaired(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dual write whose SQL half failed: doctor, validation and the repair and clean guards
    fail; after `migrator repair` the check passes."""
    live.set_phase(Phase.DUAL_WRITE)

    def down(*args: object, **kwargs: object) -> None:
        raise DatabaseError("injected: the database is down")

    monkeypatch.setattr(SqlStore, "put", down)
    with open_store(live.json_dir, live.db) as store:
        store.put(P3, live.doc(sid(2, 6)) | {"task": "reached JSON only"})
    monkeypatch.undo()
    result = run_check(live)
    fixes = failed(result)
    assert set(fixes) == {
        "doctor",
        "validation",
        "guard: validation clean",
        "guard: no pending repairs",
    }
    assert fixes["doctor"] == fixes["guard: no pending repairs"]
    assert fixes["doctor"].startswith("migrator repair")
    assert repair(live.json_dir, live.db, snapshot=False).ok
    after = run_check(live)
    assert after.ready, failed(after)
    assert "guard: validated after the last write failure" in [i.name for i in after.items]


def test_a_doctor_problem_fails_the_check_until_fixed(live: Live) -> None:
    """An orphan child row (the stores still validate): only the doctor's item fails."""
    live.set_phase(Phase.DUAL_WRITE)
    raw_sql(
        live.db,
        "INSERT INTO chat_messages (id, session_id, role, content, timestamp, position) "
        "VALUES ('orphan-1', 'no-such-session', 'user', 'hi', '2025', 0)",
    )
    result = run_check(live)
    assert set(failed(result)) == {"doctor"}
    doctor = result.failed[0]
    assert "orphans" in doctor.detail and "no-such-session" in doctor.detail
    raw_sql(live.db, "DELETE FROM chat_messages WHERE id = 'orphan-1'")
    assert run_check(live).ready


def test_a_ready_check_means_the_phase_move_passes_its_guards(live: Live) -> None:
    """check records its validation, so `phase set <next>` right after needs no --force."""
    live.set_phase(Phase.DUAL_WRITE)
    assert run_check(live).ready
    change = set_phase(live.json_dir, live.db, live.schema, Phase.SQLITE_PRIMARY)
    assert change.to_phase is Phase.SQLITE_PRIMARY and not change.forced


def test_sqlite_primary_check_runs_the_fresh_validation_guard(live: Live) -> None:
    """Before sqlite-only: the guard's own fresh validation fails on a difference; nothing moves."""
    live.set_phase(Phase.SQLITE_PRIMARY)
    original = live.doc(sid(0, 10))
    live.put_sql(P1, original | {"task": "lost"})
    result = run_check(live)
    assert result.next_phase is Phase.SQLITE_ONLY
    assert set(failed(result)) == {"validation", "guard: fresh validation clean"}
    live.put_sql(P1, original)
    assert run_check(live).ready
    assert live.json().partitions(), "a check never archives the JSON store"
    assert check(live.json_dir, live.db, live.schema).phase is Phase.SQLITE_PRIMARY


def test_in_the_last_phase_only_the_doctor_is_judged(live: Live) -> None:
    """sqlite-only has no next phase: ready when healthy, no validation run."""
    live.set_phase(Phase.SQLITE_ONLY)
    result = run_check(live)
    assert result.ready and result.next_phase is None and result.validation is None
    assert [item.name for item in result.items] == ["doctor", "next phase"]


def test_cli_text_lists_each_item_and_the_fix(live: Live) -> None:
    """Text: the verdict first, one line per item, `fix:` under a failed one; exit 1."""
    live.set_phase(Phase.DUAL_WRITE)
    live.put_sql(P1, live.doc(sid(0, 8)) | {"task": "lost"})
    result = live.cli("check")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "NOT READY: dual-write -> sqlite-primary: 2 of 5 checks failed"
    assert lines[1].startswith("  [ok  ] doctor: ")
    assert lines[2] == "  [FAIL] validation: differences: mismatched 1"
    assert lines[3].startswith(f"         fix: migrator repair --json-dir {live.json_dir}")
    assert "  [FAIL] guard: validation clean: " in result.stdout


def test_cli_json_and_junit(live: Live, tmp_path: Path) -> None:
    """JSON is the summary; JUnit has a test case per item and a failure per failed one."""
    live.set_phase(Phase.DUAL_WRITE)
    live.put_sql(P1, live.doc(sid(0, 8)) | {"task": "lost"})
    as_json = live.cli("check", "--format", "json")
    assert as_json.exit_code == 1
    summary = json.loads(as_json.stdout)
    assert summary["ready"] is False
    assert (summary["phase"], summary["next_phase"]) == ("dual-write", "sqlite-primary")
    assert summary["validation"]["counts"]["mismatched"] == 1
    assert [i["name"] for i in summary["items"] if not i["passed"]] == [
        "validation",
        "guard: validation clean",
    ]
    report = tmp_path / "report.xml"
    junit = live.cli("check", "--format", "junit", "--output", str(report))
    assert junit.exit_code == 1
    assert junit.stdout.splitlines()[-1] == f"report written to {report}"
    suite = ET.parse(report).getroot()
    assert suite.get("name") == "migrator check"
    assert (suite.get("tests"), suite.get("failures")) == ("5", "2")
    failures = {case.get("name"): case.find("failure") for case in suite.iter("testcase")}
    validation = failures["validation"]
    assert validation is not None and (validation.text or "").startswith("fix: migrator repair")
    assert failures["doctor"] is None


def test_cli_ready_exits_0(live: Live) -> None:
    """Ready: exit 0 and the READY line first."""
    result = live.cli("check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("READY: json-only -> dual-write: all 3 checks passed\n")


def test_cli_fatal_errors_exit_2(live: Live, tmp_path: Path) -> None:
    """A JSON directory that is not one, or a bad --ignore-path: exit 2, one line."""
    missing = live.cli("check", "--json-dir", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2
    assert "no such directory" in missing.stderr
    bad_regex = live.cli("check", "--ignore-path", "root[")
    assert bad_regex.exit_code == 2
    assert bad_regex.stderr.startswith("error: ")
    with pytest.raises(UsageError):
        check(live.json_dir, live.db, live.schema, min_age=-3)


def test_check_validation_options_reach_the_validator(live: Live) -> None:
    """--min-age and --ignore-path apply to the check's validation (in flight is no difference)."""
    live.set_phase(Phase.DUAL_WRITE)
    live.put_sql(P1, live.doc(sid(0, 8)) | {"updated_at": stamp(), "task": "in flight"})
    assert live.cli("check").exit_code == 1
    result = live.cli("check", "--min-age", "60", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["validation"]["counts"]["in_flight"] == 1
    ignoring = live.cli("check", "--ignore-path", r"root\['(task|updated_at)'\]")
    assert ignoring.exit_code == 0, ignoring.output
