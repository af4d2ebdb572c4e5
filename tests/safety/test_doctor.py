"""Doctor: healthy stores pass; planted damage (orphan rows, a corrupt page, a bad JSON file,
a newer schema, pending repairs) is found and exits 1; a corrupt database is one line everywhere."""

from __future__ import annotations

import json

from migrator.adapters.journal import Journal, Side
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.doctor import diagnose
from tests.safety.conftest import Setup, corrupt_table_page, invoke, raw_sql


def _problems(setup: Setup) -> dict[str, str]:
    report = diagnose(setup.json_dir, setup.db, setup.schema)
    return {check.name: check.detail for check in report.problems}


def test_healthy_stores_pass_every_check(setup: Setup) -> None:
    """The imported fixture store: no problem, every check named, exit 0."""
    report = diagnose(setup.json_dir, setup.db, setup.schema)
    assert report.healthy, report.problems
    names = {check.name for check in report.checks}
    expected = {"phase", "database", "integrity", "foreign keys", "journal mode"}
    expected |= {"schema version", "tables", "rows", "documents", "orphans", "json files"}
    expected |= {"pending repairs"}
    expected |= {f"search index {p}" for p in ("task", "chat_history.content", "instances.output")}
    assert names == expected
    rows = next(c for c in report.checks if c.name == "rows").data
    assert rows == {"workspaces": 3, "sessions": 36, "instances": 69, "chat_messages": 81}
    result = setup.cli("doctor")
    assert result.exit_code == 0, result.output
    assert "healthy" in result.stdout


def test_doctor_finds_a_planted_orphan_row(setup: Setup) -> None:
    """A chat message whose session does not exist (inserted with foreign keys off) is found by
    the schema-driven LEFT JOIN and by foreign_key_check."""
    raw_sql(
        setup.db,
        "INSERT INTO chat_messages (id, session_id, role, content, timestamp, position) "
        "VALUES ('orphan-1', 'no-such-session', 'user', 'hi', '2025', 0)",
        fk=False,
    )
    problems = _problems(setup)
    assert "chat_messages" in problems["orphans"]
    assert "'no-such-session'" in problems["orphans"]
    assert "chat_messages" in problems["foreign keys"]
    result = setup.cli("doctor", "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["healthy"] is False
    orphans = [c for c in payload["checks"] if c["name"] == "orphans"]
    assert orphans[0]["data"] == {
        "table": "chat_messages",
        "column": "session_id",
        "parent": "sessions",
        "rows": 1,
    }


def test_doctor_finds_a_planted_corrupt_page(setup: Setup) -> None:
    """Bytes overwritten in the middle of the file: integrity fails, exit 1, restore named."""
    corrupt_table_page(setup.db, "instances")
    problems = _problems(setup)
    assert "integrity" in problems
    result = setup.cli("doctor")
    assert result.exit_code == 1
    assert "PROBLEM" in result.stdout


def test_a_corrupt_database_is_one_line_pointing_to_restore(setup: Setup) -> None:
    """Commands that read the damaged table say so in one line, name `migrator restore`, exit 2."""
    corrupt_table_page(setup.db, "sessions")
    out = str(setup.json_dir.parent / "exported")
    for args in (
        ("export", "--db", str(setup.db), "--out", out),
        ("backup", "--json-dir", str(setup.json_dir), "--db", str(setup.db)),
        ("validate", "--json-dir", str(setup.json_dir), "--db", str(setup.db)),
    ):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, lines)
        assert lines[0].startswith("error: database ") and "is corrupt" in lines[0]
        assert "migrator restore" in lines[0]


def test_a_file_that_is_not_a_database_is_reported(setup: Setup) -> None:
    """A database file overwritten with other bytes: doctor reports it corrupt, exit 1."""
    setup.db.write_bytes(b"this is not a database at all" * 100)
    problems = _problems(setup)
    assert "corrupt" in problems["integrity"] and "migrator restore" in problems["integrity"]
    assert setup.cli("doctor").exit_code == 1


def test_doctor_finds_a_json_file_that_does_not_parse(setup: Setup) -> None:
    """A partition file cut short is named with its line and column."""
    path = next(setup.json_dir.glob("*.json"))
    path.write_bytes(path.read_bytes()[:100])
    assert path.name in _problems(setup)["json files"]


def test_doctor_reports_a_newer_schema_version(setup: Setup) -> None:
    """A database recording a newer schema version than the code is a problem."""
    raw_sql(setup.db, "UPDATE migrator_meta SET value = '7' WHERE key = 'version'")
    assert "newer" in _problems(setup)["schema version"]


def test_doctor_reports_pending_repairs(setup: Setup) -> None:
    """A journal intent without its `done` record is a pending repair."""
    Journal(setup.json_dir).begin("put", "some-id", "3f2a9c1e7b6d4a10", Side.JSON, None)
    assert "migrator repair" in _problems(setup)["pending repairs"]


def test_doctor_without_a_database_in_json_only_is_healthy(setup: Setup) -> None:
    """Before any import (phase json-only), a missing database is information, not a problem."""
    report = diagnose(setup.json_dir, setup.db.with_name("none.db"), setup.schema)
    assert report.healthy
    assert not setup.db.with_name("none.db").exists()


def test_doctor_weighs_a_missing_store_by_the_phase(setup: Setup) -> None:
    """No database is a problem once the phase writes SQL; no JSON files is fine in
    sqlite-only (archived) but a problem in dual-write."""
    PhaseState(setup.json_dir).update(lambda record: record.moved(Phase.DUAL_WRITE))
    missing = setup.db.with_name("none.db")
    report = diagnose(setup.json_dir, missing, setup.schema)
    assert "phase dual-write needs it" in {c.name: c.detail for c in report.problems}["database"]
    for path in setup.json_dir.glob("*.json"):
        path.unlink()
    assert "no partition files" in _problems(setup)["json files"]
    for phase in (Phase.SQLITE_PRIMARY, Phase.SQLITE_ONLY):
        PhaseState(setup.json_dir).update(lambda record, p=phase: record.moved(p))
    assert "json files" not in _problems(setup)


def test_a_write_in_flight_is_not_a_pending_repair(setup: Setup) -> None:
    """A dual write holding its partition lock, intent journaled, is in flight: doctor (and so
    `check`) waits for the lock and then sees it done, instead of reporting a repair."""
    import threading

    from migrator.adapters.json_store import JsonStore

    partition = JsonStore(setup.json_dir, setup.schema).partitions()[0]
    journal = Journal(setup.json_dir)
    lock = JsonStore(setup.json_dir, setup.schema).lock(partition)
    found: dict[str, str] = {}
    with lock:
        entry = journal.begin("put", "in-flight", partition, Side.JSON, "r1")
        doctor = threading.Thread(target=lambda: found.update(_problems(setup)))
        doctor.start()
        doctor.join(0.5)  # it waits for the writer's lock
        journal.finish([entry])
    doctor.join(30)
    assert not doctor.is_alive()
    assert "pending repairs" not in found, found
