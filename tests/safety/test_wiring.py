"""The other commands take their automatic snapshot and record their runs in the history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import SqlStore
from migrator.backup import default_backup_dir
from migrator.backup_manifest import MANIFEST, load_manifest
from migrator.backup_retention import list_backups
from migrator.errors import BackupError
from migrator.restore import restore_backup
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.registry import resolve
from tests.conftest import FIXTURES
from tests.safety.conftest import Setup, invoke
from tests.test_run_protocol import pending_write


def _reasons(json_dir: Path) -> list[str]:
    return [
        info.manifest.reason for info in list_backups(default_backup_dir(json_dir)) if info.manifest
    ]


def _history(json_dir: Path) -> list[dict[str, object]]:
    result = invoke("history", "--json-dir", str(json_dir), "--format", "json")
    runs: list[dict[str, object]] = json.loads(result.stdout)
    return runs


def _store(tmp_path: Path) -> tuple[Path, Path, tuple[str, ...]]:
    json_dir, db = tmp_path / "json", tmp_path / "sessions.db"
    shutil.copytree(FIXTURES / "store", json_dir)
    return json_dir, db, ("import", "--json-dir", str(json_dir), "--db", str(db), "--quiet")


def _change_a_file(json_dir: Path) -> None:
    """Give the first session of the first partition file another task."""
    path = sorted(json_dir.glob("*.json"))[0]
    records = json.loads(path.read_text(encoding="utf-8"))
    records[0]["task"] = "changed since the last import"
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")


def test_import_snapshots_right_before_its_first_write_only(tmp_path: Path) -> None:
    """The first import (no database yet) and an unchanged re-import take no snapshot; an
    import that changes something takes one; --no-snapshot and --dry-run take none. Each real
    import is recorded, the dry run is not."""
    json_dir, _, args = _store(tmp_path)
    assert invoke(*args).exit_code == 0
    assert _reasons(json_dir) == []
    assert invoke(*args).exit_code == 0
    assert _reasons(json_dir) == []
    _change_a_file(json_dir)
    assert invoke(*args, "--dry-run").exit_code == 0
    assert invoke(*args, "--no-snapshot").exit_code == 0
    assert _reasons(json_dir) == []
    _change_a_file(json_dir)  # the same change: already imported, so a no-op
    assert invoke(*args).exit_code == 0
    assert _reasons(json_dir) == []
    path = sorted(json_dir.glob("*.json"))[-1]
    path.write_text(path.read_text(encoding="utf-8").replace('"task": "', '"task": "new ', 1))
    assert invoke(*args).exit_code == 0
    assert _reasons(json_dir) == ["before-import"]
    assert [run["command"] for run in _history(json_dir)] == ["import"] * 5


def test_import_snapshot_holds_the_database_before_the_import_only(tmp_path: Path) -> None:
    """An import never changes the JSON store, so its snapshot copies the database alone (the
    manifest says so); restoring it gives back the documents of before the import, and asking
    it for the JSON store is refused with one line."""
    json_dir, db, args = _store(tmp_path)
    assert invoke(*args).exit_code == 0
    schema = resolve("sessions")
    before = _documents(db)
    _change_a_file(json_dir)
    assert invoke(*args).exit_code == 0
    assert _documents(db) != before
    (info,) = list_backups(default_backup_dir(json_dir))
    assert info.verified and info.manifest is not None
    assert [a.kind for a in info.manifest.artifacts] == ["database"]
    manifest = json.loads((info.path / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["holds"] == ["database"] and manifest["json_dir"] is None
    with pytest.raises(BackupError, match="has no JSON store snapshot; drop restore_json=True"):
        restore_backup(info.path, json_dir, db, schema, restore_json=True, snapshot=False)
    result = restore_backup(info.path, json_dir, db, schema)
    assert _documents(db) == before
    assert result.safety_backup is not None
    assert load_manifest(result.safety_backup).holds == ["database", "json"]


def _documents(db: Path) -> dict[str, bytes]:
    store = SqlStore(db, resolve("sessions"), create=False)
    try:
        return {doc["id"]: canonical_bytes(doc) for _, doc in store.iter_documents()}
    finally:
        store.close()


def test_validate_records_its_outcome_and_counts(setup: Setup) -> None:
    """A clean validation is recorded as ok with its counts."""
    assert setup.cli("validate").exit_code == 0
    (run,) = _history(setup.json_dir)
    assert run["command"] == "validate" and run["outcome"] == "ok"
    assert run["counts"]["matched"] == 36  # type: ignore[index]


def test_phase_set_snapshots_and_records_the_move(setup: Setup) -> None:
    """A phase move takes a snapshot first and records the phase before and after."""
    result = setup.cli("phase", "set", "dual-write")
    assert result.exit_code == 0, result.output
    assert _reasons(setup.json_dir) == ["before-phase-dual-write"]
    (run,) = _history(setup.json_dir)
    assert (run["command"], run["phase_before"], run["phase_after"]) == (
        "phase set",
        "json-only",
        "dual-write",
    )
    assert setup.cli("phase", "set", "no-such-phase").exit_code == 2
    assert _reasons(setup.json_dir) == ["before-phase-dual-write"]


def test_repair_snapshots_and_records_but_not_a_dry_run(setup: Setup) -> None:
    """repair is recorded, and takes a snapshot when it has something to replay; --dry-run
    does neither. A repair with nothing pending takes none (found from outside: each one
    took a full backup, and a scheduled repair would fill the snapshots' retention)."""
    assert setup.cli("repair", "--dry-run").exit_code == 0
    assert _reasons(setup.json_dir) == [] and _history(setup.json_dir) == []
    assert setup.cli("repair").exit_code == 0
    assert _reasons(setup.json_dir) == []
    PhaseState(setup.json_dir).update(lambda record: record.moved(Phase.DUAL_WRITE))
    pending_write(setup.json_dir)
    assert setup.cli("repair", "--no-snapshot").exit_code == 0
    assert _reasons(setup.json_dir) == []
    pending_write(setup.json_dir)
    assert setup.cli("repair").exit_code == 0
    assert _reasons(setup.json_dir) == ["before-repair"]
    assert [run["command"] for run in _history(setup.json_dir)] == ["repair"] * 3
