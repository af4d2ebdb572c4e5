"""The run protocol belongs to the library: each verb called from Python (`migrator.<verb>`)
takes its lock, its automatic snapshot and its history line, and records a validation, as the
command line does (issue 20 point 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import migrator
from migrator.adapters.journal import Journal, Side
from migrator.adapters.phase_state import PhaseState
from migrator.adapters.state_dir import HISTORY, IMPORT_LOCK, PHASE_LOCK, StateDir
from migrator.errors import LockTimeoutError, PhaseError, UsageError
from migrator.schemas.sessions import SESSIONS

#: A process that takes one lock of the state directory, says so, and holds it until its
#: stdin closes.
HOLDER = (
    "import sys\n"
    "from migrator.adapters.state_dir import StateDir\n"
    "lock = StateDir(sys.argv[1]).lock(sys.argv[2], purpose='a test', timeout=0)\n"
    "with lock:\n"
    "    print('held', flush=True)\n"
    "    sys.stdin.read()\n"
)


@pytest.fixture
def hold() -> Iterator[object]:
    """`hold(json_dir, lock_name)`: another process holds that lock until the test ends."""
    processes: list[subprocess.Popen[str]] = []

    def start(json_dir: Path, name: str) -> int:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(json_dir), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        return process.pid

    yield start
    for process in processes:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


@pytest.fixture
def short_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every state-directory lock is waited for a fifth of a second."""
    monkeypatch.setenv("MIGRATOR_LOCK_TIMEOUT", "0.2")


def runs(json_dir: Path) -> list[dict[str, object]]:
    """The history lines, oldest first."""
    path = StateDir(json_dir).file(HISTORY)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def snapshots(json_dir: Path, step: str) -> list[Path]:
    """The automatic snapshots taken before `step`."""
    backups = StateDir(json_dir).backups()
    return sorted(backups.glob(f"*-before-{step}")) if backups.is_dir() else []


def change_a_document(json_dir: Path) -> None:
    """Edit one document of the first partition file, so an import has something to write."""
    first = sorted(json_dir.glob("*.json"))[0]
    documents = json.loads(first.read_text())
    documents[0]["task"] = "changed by the test"
    first.write_text(json.dumps(documents))


# --------------------------------------------------------------------------- import


def test_import_from_python_is_refused_while_another_process_imports(
    fixture_store_dir: Path, tmp_path: Path, hold: object
) -> None:
    """`migrator.import_store` takes the import lock: held elsewhere, it refuses at once, writes
    no database and records nothing."""
    db = tmp_path / "app.db"
    hold(fixture_store_dir, IMPORT_LOCK)  # type: ignore[operator]
    with pytest.raises(UsageError, match="another import is running"):
        migrator.import_store(fixture_store_dir, db)
    assert not db.exists()
    assert runs(fixture_store_dir) == []


def test_import_from_python_records_its_run_and_snapshots_before_writing(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """The first import makes the database (nothing to snapshot); a second one with a change
    snapshots the database (only) before its first write; an unchanged third takes none. Each
    run is one history line with its counts."""
    db = tmp_path / "app.db"
    migrator.import_store(fixture_store_dir, db)
    assert snapshots(fixture_store_dir, "import") == []
    change_a_document(fixture_store_dir)
    migrator.import_store(fixture_store_dir, db)
    (taken,) = snapshots(fixture_store_dir, "import")
    manifest = json.loads((taken / "manifest.json").read_text())
    assert manifest["holds"] == ["database"]
    migrator.import_store(fixture_store_dir, db)
    assert len(snapshots(fixture_store_dir, "import")) == 1
    lines = runs(fixture_store_dir)
    assert [line["command"] for line in lines] == ["import"] * 3
    assert [line["outcome"] for line in lines] == ["ok"] * 3
    assert [line["counts"]["imported"] for line in lines] == [36, 12, 0]  # type: ignore[index]


def test_import_from_python_without_snapshot_or_as_a_dry_run(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """`snapshot=False` takes none (the CLI's --no-snapshot); a dry run records no run."""
    db = tmp_path / "app.db"
    migrator.import_store(fixture_store_dir, db)
    change_a_document(fixture_store_dir)
    migrator.import_store(fixture_store_dir, db, dry_run=True)
    migrator.import_store(fixture_store_dir, db, snapshot=False)
    assert snapshots(fixture_store_dir, "import") == []
    assert len(runs(fixture_store_dir)) == 2


def test_import_of_an_empty_folder_makes_no_database(tmp_path: Path) -> None:
    """No partition file and no database: a notice, an empty summary, nothing created."""
    empty = tmp_path / "empty"
    empty.mkdir()
    notices: list[str] = []
    summary = migrator.import_store(empty, tmp_path / "app.db", notice=notices.append)
    assert summary.files == 0 and summary.ok
    assert not (tmp_path / "app.db").exists()
    assert notices == [f"warning: no partition files (*.json) in {empty}: nothing to import"]


# --------------------------------------------------------------------------- validate, check


def dual_write_and_import(json_dir: Path, db: Path) -> None:
    """The stores as they are when a validation matters: dual-write, fully imported."""
    migrator.set_phase(json_dir, db, "sessions", "dual-write")
    migrator.import_store(json_dir, db)


def test_a_clean_validation_from_python_lets_sqlite_primary_pass(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """`migrator.validate` records its clean, full validation (the guard's evidence) and its
    run; `set_phase(sqlite-primary)` then passes (issue 20's first Done-when)."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    with pytest.raises(PhaseError):  # no validation recorded yet
        migrator.set_phase(fixture_store_dir, db, "sessions", "sqlite-primary")
    report = migrator.validate(fixture_store_dir, db)
    assert report.ok
    assert runs(fixture_store_dir)[-1]["command"] == "validate"
    assert runs(fixture_store_dir)[-1]["counts"]["matched"] == 36  # type: ignore[index]
    change = migrator.set_phase(fixture_store_dir, db, "sessions", "sqlite-primary")
    assert str(change.to_phase) == "sqlite-primary"


def test_a_partial_validation_from_python_is_recorded_and_clears_no_guard(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """A validation of some partitions is recorded as partial: the guard still refuses."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    first = sorted(fixture_store_dir.glob("*.json"))[0].stem
    assert migrator.validate(fixture_store_dir, db, partitions=[first]).ok
    last = PhaseState(fixture_store_dir).read().last_validation
    assert last is not None and last.ok and last.sampled
    with pytest.raises(PhaseError):
        migrator.set_phase(fixture_store_dir, db, "sessions", "sqlite-primary")


def test_validate_records_under_the_phase_lock(
    fixture_store_dir: Path, tmp_path: Path, hold: object, short_locks: None
) -> None:
    """Recording the validation takes the phase lock: held elsewhere past the timeout, the
    report still comes back, with a notice that it was not recorded."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    hold(fixture_store_dir, PHASE_LOCK)  # type: ignore[operator]
    notices: list[str] = []
    assert migrator.validate(fixture_store_dir, db, notice=notices.append).ok
    (line,) = notices
    assert line.startswith("warning: validation not recorded in the phase state: ")
    assert "phase lock" in line or "phase.lock" in line
    assert PhaseState(fixture_store_dir).read().last_validation is None


def test_check_from_python_records_its_run_and_its_validation(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """`migrator.check` is one history line (ready, its item counts), and its validation is
    recorded as `validate` records one."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    result = migrator.check(fixture_store_dir, db)
    assert result.ready, result.to_dict()
    line = runs(fixture_store_dir)[-1]
    assert line["command"] == "check" and line["outcome"] == "ok"
    assert line["counts"] == {"items": len(result.items), "failed": 0}
    last = PhaseState(fixture_store_dir).read().last_validation
    assert last is not None and last.ok and not last.sampled


# --------------------------------------------------------------------------- phases, repair


def validated(json_dir: Path, db: Path) -> None:
    """Dual-write, imported and validated clean: ready for sqlite-primary."""
    dual_write_and_import(json_dir, db)
    assert migrator.validate(json_dir, db).ok


def test_set_phase_from_python_snapshots_and_records_the_move(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """`migrator.set_phase` snapshots both stores (`before-phase-<target>`) and records the
    move in the history with the phase before and after."""
    db = tmp_path / "app.db"
    validated(fixture_store_dir, db)
    migrator.set_phase(fixture_store_dir, db, "sessions", "sqlite-primary")
    (taken,) = snapshots(fixture_store_dir, "phase-sqlite-primary")
    manifest = json.loads((taken / "manifest.json").read_text())
    assert manifest["holds"] == ["database", "json"]
    line = runs(fixture_store_dir)[-1]
    assert (line["command"], line["outcome"]) == ("phase set", "ok")
    assert (line["phase_before"], line["phase_after"]) == ("dual-write", "sqlite-primary")


def test_set_phase_from_python_without_a_snapshot(fixture_store_dir: Path, tmp_path: Path) -> None:
    """`snapshot=False` is the CLI's --no-snapshot; an unknown phase is refused before any
    snapshot, and recorded as a failed run."""
    db = tmp_path / "app.db"
    validated(fixture_store_dir, db)
    with pytest.raises(PhaseError):
        migrator.set_phase(fixture_store_dir, db, "sessions", "sqlite-forever")
    migrator.set_phase(fixture_store_dir, db, "sessions", "sqlite-primary", snapshot=False)
    assert list(StateDir(fixture_store_dir).backups().glob("*before-phase*")) == []
    refused, moved = runs(fixture_store_dir)[-2:]
    assert refused["outcome"] == "error" and "sqlite-forever" in str(refused["message"])
    assert moved["outcome"] == "ok"


def test_set_phase_from_python_waits_for_the_phase_lock(
    fixture_store_dir: Path, tmp_path: Path, hold: object, short_locks: None
) -> None:
    """A move takes the phase lock: held by another process past MIGRATOR_LOCK_TIMEOUT, it
    gives up with LockTimeoutError, the phase unchanged, the failure in the history."""
    db = tmp_path / "app.db"
    validated(fixture_store_dir, db)
    hold(fixture_store_dir, PHASE_LOCK)  # type: ignore[operator]
    with pytest.raises(LockTimeoutError):
        migrator.set_phase(fixture_store_dir, db, "sessions", "sqlite-primary", snapshot=False)
    assert str(PhaseState(fixture_store_dir).read().phase) == "dual-write"
    assert runs(fixture_store_dir)[-1]["outcome"] == "error"


def test_a_move_that_cannot_take_the_phase_lock_takes_no_snapshot(
    fixture_store_dir: Path, tmp_path: Path, hold: object, short_locks: None
) -> None:
    """The snapshot is taken under the move's lock, of the stores as the move finds them (found
    from outside: a move waiting for a running import snapshotted both stores first, a copy
    stale by the time it moved, and kept it when the wait timed out)."""
    db = tmp_path / "app.db"
    validated(fixture_store_dir, db)
    hold(fixture_store_dir, PHASE_LOCK)  # type: ignore[operator]
    with pytest.raises(LockTimeoutError):
        migrator.set_phase(fixture_store_dir, db, "sessions", "sqlite-primary")
    assert snapshots(fixture_store_dir, "phase-sqlite-primary") == []
    assert runs(fixture_store_dir)[-1]["outcome"] == "error"


def test_set_phase_from_python_says_it_waits_for_a_running_import(
    fixture_store_dir: Path, tmp_path: Path, hold: object, short_locks: None
) -> None:
    """While another process holds the import lock, the move says whom it waits for (the
    holder here takes only the import lock, so the move then goes ahead)."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    hold(fixture_store_dir, IMPORT_LOCK)  # type: ignore[operator]  # it writes no import.pid
    notices: list[str] = []
    migrator.set_phase(fixture_store_dir, db, "sessions", "json-only", notice=notices.append)
    assert notices == ["waiting for the running import (pid unknown) to finish..."]


def test_recover_phase_from_python_records_its_run(fixture_store_dir: Path, tmp_path: Path) -> None:
    """`migrator.recover_phase` works the phase out from the history and records its run."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    StateDir(fixture_store_dir).file("phase.json").unlink()
    recovery = migrator.recover_phase(fixture_store_dir, db)
    assert recovery.recorded and str(recovery.phase) == "dual-write"
    line = runs(fixture_store_dir)[-1]
    assert (line["command"], line["outcome"], line["phase_after"]) == (
        "phase recover",
        "ok",
        "dual-write",
    )


def pending_write(json_dir: Path) -> str:
    """A dual write whose writer died between the stores: pending in the journal."""
    first = sorted(json_dir.glob("*.json"))[0]
    doc_id = json.loads(first.read_text())[0]["id"]
    Journal(json_dir).begin("put", doc_id, first.stem, Side.JSON, "r1")
    return first.stem


def test_repair_from_python_snapshots_and_records_its_run(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """`migrator.journal_replay` snapshots (`before-repair`) and records its run and counts; a dry
    run does neither."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    pending_write(fixture_store_dir)
    plan = migrator.repair(fixture_store_dir, db, dry_run=True)
    assert plan.dry_run and len(plan.actions) == 1
    assert snapshots(fixture_store_dir, "repair") == []
    assert runs(fixture_store_dir)[-1]["command"] == "import"
    report = migrator.repair(fixture_store_dir, db)
    assert report.ok and len(report.actions) == 1
    assert len(snapshots(fixture_store_dir, "repair")) == 1
    line = runs(fixture_store_dir)[-1]
    assert (line["command"], line["outcome"]) == ("repair", "ok")
    assert line["counts"] == dict(report.counts)


def test_a_repair_with_nothing_to_replay_takes_no_snapshot(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """The snapshot waits for the first write to replay: a repair finding nothing pending is
    recorded but copies nothing (each one took a full backup, which a scheduled repair would
    let push the useful snapshots out of retention)."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    report = migrator.repair(fixture_store_dir, db)
    assert report.ok and report.actions == ()
    assert snapshots(fixture_store_dir, "repair") == []
    assert runs(fixture_store_dir)[-1]["command"] == "repair"


def test_repair_from_python_waits_for_the_partition_lock(
    fixture_store_dir: Path, tmp_path: Path, hold: object, short_locks: None
) -> None:
    """A repair passes the lock of each pending partition (a live writer holds it across both
    stores): held elsewhere past the timeout, LockTimeoutError, and the entry stays pending."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    partition = pending_write(fixture_store_dir)
    hold(fixture_store_dir, f"locks/{partition}.lock")  # type: ignore[operator]
    with pytest.raises(LockTimeoutError):
        migrator.repair(fixture_store_dir, db, snapshot=False)
    assert len(Journal(fixture_store_dir).read().pending) == 1


# --------------------------------------------------------------------------- backup, restore,
# export, archive


def test_backup_from_python_records_its_run(fixture_store_dir: Path, tmp_path: Path) -> None:
    """`migrator.create_backup` on paths writes the backup and one history line."""
    db = tmp_path / "app.db"
    migrator.import_store(fixture_store_dir, db)
    result = migrator.create_backup(fixture_store_dir, db)
    assert result.path.parent == StateDir(fixture_store_dir).backups()
    line = runs(fixture_store_dir)[-1]
    assert (line["command"], line["outcome"]) == ("backup", "ok")
    assert line["counts"] == {"bytes": result.manifest.size, "pruned": 0}


def test_restore_from_python_snapshots_first_and_records_its_run(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """`migrator.restore_backup` takes its safety backup and records its run; a declined
    restore changes nothing and is recorded as declined."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    backup = migrator.create_backup(fixture_store_dir, db).path
    declined = migrator.restore_backup(backup, fixture_store_dir, db, confirm=lambda plan: False)
    assert declined.declined and declined.safety_backup is None
    assert runs(fixture_store_dir)[-1]["outcome"] == "declined"
    result = migrator.restore_backup(backup, fixture_store_dir, db)
    assert result.safety_backup is not None and result.safety_backup.name.endswith("restore")
    line = runs(fixture_store_dir)[-1]
    assert (line["command"], line["outcome"]) == ("restore", "ok")


def test_restore_from_python_waits_for_the_phase_lock(
    fixture_store_dir: Path, tmp_path: Path, hold: object, short_locks: None
) -> None:
    """A restore holds the phase lock (a phase move or an import holds it to its end): held
    elsewhere past the timeout, LockTimeoutError before anything is replaced."""
    db = tmp_path / "app.db"
    dual_write_and_import(fixture_store_dir, db)
    backup = migrator.create_backup(fixture_store_dir, db).path
    before = db.read_bytes()
    hold(fixture_store_dir, PHASE_LOCK)  # type: ignore[operator]
    with pytest.raises(LockTimeoutError):
        migrator.restore_backup(backup, fixture_store_dir, db)
    assert db.read_bytes() == before
    assert snapshots(fixture_store_dir, "restore") == []


def test_export_from_python_records_its_run_in_the_named_store(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """`migrator.export_store` records its run in the history of `json_dir` when given."""
    db = tmp_path / "app.db"
    migrator.import_store(fixture_store_dir, db)
    result = migrator.export_store(db, "sessions", tmp_path / "out", json_dir=fixture_store_dir)
    assert result.documents == 36
    line = runs(fixture_store_dir)[-1]
    assert (line["command"], line["counts"]) == (
        "export",
        {"partitions": result.partitions, "documents": 36},
    )


def test_archive_from_python_refuses_a_phase_that_uses_json_and_records_its_run(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """`migrator.archive_json_store` on a path: refused in json-only (nothing removed) unless
    `force`; then packed, the originals removed, the run recorded."""
    files = sorted(fixture_store_dir.glob("*.json"))
    with pytest.raises(PhaseError, match="still uses the JSON store"):
        migrator.archive_json_store(fixture_store_dir)
    assert all(path.exists() for path in files)
    result = migrator.archive_json_store(fixture_store_dir, force=True)
    assert len(result.removed) == len(files)
    line = runs(fixture_store_dir)[-1]
    assert (line["command"], line["counts"]) == (
        "archive",
        {"files": len(files), "removed": len(files)},
    )


def test_archive_from_python_waits_for_a_partition_lock(
    fixture_store_dir: Path, hold: object, short_locks: None
) -> None:
    """An archive passes each partition's lock before it removes the file: a writer holding
    one past the timeout makes it give up with LockTimeoutError."""
    first = sorted(fixture_store_dir.glob("*.json"))[0]
    hold(fixture_store_dir, f"locks/{first.stem}.lock")  # type: ignore[operator]
    with pytest.raises(LockTimeoutError):
        migrator.archive_json_store(fixture_store_dir, force=True)
    assert first.exists()


def test_init_database_from_python_opens_and_closes_its_store(tmp_path: Path) -> None:
    """`migrator.init_database` creates the tables on a path, and says so only once."""
    db = tmp_path / "app.db"
    first = migrator.init_database(db)
    again = migrator.init_database(db)
    assert (first.created, again.created) == (True, False)
    assert (first.schema, first.version) == ("sessions", SESSIONS.version)
    assert db.exists()


# --------------------------------------------------------------------------- db upgrade


def test_db_upgrade_from_python_holds_the_phase_lock_and_records_its_run(
    fixture_store_dir: Path, tmp_path: Path, hold: object, short_locks: None
) -> None:
    """`migrator db upgrade` follows the run protocol through `verb_run` (it spelled its own
    history line and snapshot, and took no lock of the state directory, so an import could
    meet a schema changing under it): held elsewhere, the phase lock makes it give up with
    LockTimeoutError, the database untouched; free, it creates the tables and records it."""
    from migrator.schema_migrations.verbs import init_folder, upgrade

    folder, db = tmp_path / "migrations", tmp_path / "app.db"
    init_folder(folder)
    holder = hold(fixture_store_dir, PHASE_LOCK)  # type: ignore[operator]
    with pytest.raises(LockTimeoutError):
        upgrade(db, SESSIONS, folder, json_dir=fixture_store_dir)
    assert migrator.init_database(db).created  # the refused upgrade created no table
    db.unlink()
    os.kill(holder, signal.SIGKILL)  # the kernel frees a dead holder's lock
    moved = upgrade(db, SESSIONS, folder, json_dir=fixture_store_dir)
    assert moved.created
    line = runs(fixture_store_dir)[-1]
    assert (line["command"], line["outcome"]) == ("db upgrade", "ok")
