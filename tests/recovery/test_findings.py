"""Issue 15, findings 4, 6, 12 and 15: an export over the live store, a version key from the
future, a dropped table or column, a lone database file of a backup, a corrupt database."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from migrator.adapters.phase_state import Phase
from migrator.restore import RestorePlan, restore_backup
from tests.live.conftest import P1, P3, Live, sid
from tests.recovery.conftest import canonical, corrupt, json_documents, sql_documents


def _files(json_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(json_dir.glob("*.json"))}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- finding 4


def test_export_refuses_the_live_json_store_even_with_force(live: Live) -> None:
    """`export --out` naming the --json-dir (a newer dual write in it) is one line, exit 2,
    and the files stay byte for byte; so is any directory holding a store's .migrator/."""
    live.set_phase(Phase.DUAL_WRITE)
    live.put_json(P1, live.doc(sid(0, 1)) | {"task": "a dual write SQL missed"})
    before = _files(live.json_dir)
    result = live.cli("export", "--out", str(live.json_dir), "--force")
    assert result.exit_code == 2, result.output
    assert "live JSON store" in result.stderr and len(result.stderr.splitlines()) == 1
    assert _files(live.json_dir) == before
    # Without --json-dir: the state directory gives the store away.
    result = live.run("export", "--db", str(live.db), "--out", str(live.json_dir), "--force")
    assert result.returncode == 2, result.stderr
    assert _files(live.json_dir) == before
    # An empty directory elsewhere still works.
    assert live.cli("export", "--out", str(live.json_dir.parent / "copy")).exit_code == 0


# --------------------------------------------------------------------------- finding 6


def _future(hours: float = 1.0) -> str:
    moment = datetime.now(UTC) + timedelta(hours=hours)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_version_key_in_the_future_is_compared_and_named(live: Live) -> None:
    """A difference on a document whose `updated_at` is an hour ahead (a skewed clock) is
    reported with --min-age, not left out as in flight forever; the output says the clock may
    be skewed, and check is not ready."""
    ahead = _future()
    live.put_sql(P3, live.doc(sid(2, 3)) | {"updated_at": ahead, "task": "sql"})
    live.put_json(P3, live.doc(sid(2, 3)) | {"updated_at": ahead, "task": "json"})
    report = live.validate(min_age=60)
    assert not report.ok
    assert [m.id for m in report.mismatched] == [sid(2, 3)]
    assert report.future_versions == (sid(2, 3),)
    assert report.counts["in_flight"] == 0
    result = live.cli("validate", "--min-age", "60")
    assert result.exit_code == 1
    assert "clock may be skewed" in result.stdout
    live.set_phase(Phase.DUAL_WRITE)
    checked = live.cli("check", "--min-age", "60", "--format", "json")
    assert checked.exit_code == 1
    assert not json.loads(checked.stdout)["ready"]


def test_a_matching_document_from_the_future_is_counted_not_hidden(live: Live) -> None:
    """Equal on both sides with a future version: matched (not in flight), and listed."""
    live.put_sql(P1, live.doc(sid(0, 2)) | {"updated_at": _future(2)})
    live.put_json(P1, live.doc(sid(0, 2)) | {"updated_at": _future(2)})
    # the two writes stamped the same value: make them equal
    doc = live.doc(sid(0, 2))
    live.put_sql(P1, doc)
    report = live.validate(min_age=60)
    assert report.ok and report.counts["in_flight"] == 0
    assert report.future_versions == (sid(0, 2),)


# --------------------------------------------------------------------------- finding 12


def _sql(db: Path, statement: str) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_doctor_finds_a_dropped_table_and_import_brings_its_rows_back(live: Live) -> None:
    """A dropped child table: doctor exits 1 naming it; in dual-write `migrator import` (what
    the doctor says) recreates it and reads every file again instead of skipping them all as
    unchanged, so validate is clean again."""
    live.set_phase(Phase.DUAL_WRITE)
    _sql(live.db, "DROP TABLE chat_messages")
    result = live.cli("doctor")
    assert result.exit_code == 1
    assert "missing: table chat_messages" in " ".join(result.stdout.split())
    assert live.cli("import").exit_code == 0
    assert live.validate().ok
    assert live.cli("doctor").exit_code == 0


def test_doctor_finds_a_dropped_column(live: Live) -> None:
    """A dropped column is a problem named with its table, and the fix is a restore."""
    _sql(live.db, "ALTER TABLE sessions DROP COLUMN task")
    result = live.cli("doctor", "--format", "json")
    assert result.exit_code == 1
    tables = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "tables")
    assert tables["status"] == "problem"
    assert "column sessions.task" in tables["detail"] and "migrator restore" in tables["detail"]


# --------------------------------------------------------------------------- finding 15


def test_a_lone_database_file_inside_a_backup_is_checked_against_its_manifest(
    live: Live,
) -> None:
    """A backup's database copy, tampered with (a valid SQLite file, one value changed) and
    given alone to restore: refused by its folder's manifest, the live database unchanged."""
    assert live.cli("backup").exit_code == 0
    (folder,) = (live.json_dir / ".migrator" / "backups").iterdir()
    copy = folder / "database.sqlite3"
    _sql(copy, "UPDATE sessions SET task = 'tampered'")
    before = _sha(live.db)
    result = live.cli("restore", str(copy), "--yes")
    assert result.exit_code == 2, result.output
    assert "sha256 differs" in result.stderr
    assert _sha(live.db) == before
    # Any other file of a backup directory is not its database copy.
    other = folder / "json-store.tar.gz"
    result = live.cli("restore", str(other), "--yes")
    assert result.exit_code == 2 and "not the database copy" in result.stderr


def test_an_untouched_lone_database_file_of_a_backup_restores(live: Live) -> None:
    """The same file, untouched, restores (verified by its manifest, not as a bare file)."""
    live.set_phase(Phase.DUAL_WRITE)
    assert live.cli("backup").exit_code == 0
    (folder,) = (live.json_dir / ".migrator" / "backups").iterdir()
    expected = canonical(sql_documents(live.db, live.schema))
    live.put_sql(P1, live.doc(sid(0, 1)) | {"task": "after the backup"})
    plans: list[RestorePlan] = []
    restore_backup(
        folder / "database.sqlite3",
        live.json_dir,
        live.db,
        live.schema,
        confirm=lambda plan: plans.append(plan) is None,
    )
    assert [plan.checksums_verified for plan in plans] == [True]
    assert canonical(sql_documents(live.db, live.schema)) == expected


def test_doctor_on_a_corrupt_database_names_backups_and_restore(live: Live) -> None:
    """doctor's integrity problem says what brings the database back."""
    corrupt(live.db)
    result = live.cli("doctor", "--format", "json")
    assert result.exit_code == 1
    integrity = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "integrity")
    assert integrity["status"] == "problem"
    assert "migrator backups" in integrity["detail"]
    assert "migrator restore" in integrity["detail"]


def test_status_on_a_corrupt_database_exits_1(live: Live) -> None:
    """status runs the file's quick check: a corrupt database is a problem line and exit 1;
    a healthy one exits 0."""
    assert live.cli("status").exit_code == 0
    corrupt(live.db)
    result = live.cli("status")
    assert result.exit_code == 1, result.output
    assert "problem: database" in result.stdout and "migrator restore" in result.stdout
    as_json = live.cli("status", "--format", "json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["problems"]
    assert json_documents(live.json_dir, live.schema)  # the JSON store is untouched
