"""Restore: a verified backup replaces the database; anything untrustworthy is refused with the
current database byte for byte as it was."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.backup import create_backup, default_backup_dir
from migrator.backup_manifest import MANIFEST
from migrator.backup_retention import list_backups
from migrator.errors import BackupError
from migrator.restore import restore_backup
from migrator.schemas.registry import resolve
from tests.safety.conftest import Setup, corrupt_table_page, sha256

NOTES = "tests.second_schema:NOTES"


def _backup(setup: Setup) -> Path:
    return create_backup(setup.json_dir, setup.db, setup.schema).path


def _change_database(setup: Setup) -> None:
    store = setup.sql_store()
    try:
        doc = store.get("00000000-0000-4000-8000-000000000000")
        assert doc is not None
        doc["task"] = "changed after the backup"
        store.put("3f2a9c1e7b6d4a10", doc)
        store.delete("00000000-0000-4000-8000-000100000000")
    finally:
        store.close()


def test_restore_brings_back_the_backed_up_documents(setup: Setup) -> None:
    """After changes, restoring a backup gives exactly the documents it was taken with."""
    before = setup.documents()
    backup = _backup(setup)
    _change_database(setup)
    assert setup.documents() != before
    result = restore_backup(backup, setup.json_dir, setup.db, setup.schema)
    assert setup.documents() == before
    assert result.safety_backup is not None
    assert not list(setup.db.parent.glob(".sessions.db.restore-*"))


def test_safety_backup_holds_the_state_before_the_restore(setup: Setup, tmp_path: Path) -> None:
    """The safety backup taken first restores the state the restore replaced."""
    backup = _backup(setup)
    _change_database(setup)
    changed = setup.documents()
    result = restore_backup(backup, setup.json_dir, setup.db, setup.schema)
    assert result.safety_backup is not None and result.safety_backup.name.endswith("before-restore")
    restore_backup(result.safety_backup, setup.json_dir, setup.db, setup.schema, snapshot=False)
    assert setup.documents() == changed


def test_restore_accepts_the_manifest_path(setup: Setup) -> None:
    """BACKUP may name the backup's manifest.json instead of its directory."""
    backup = _backup(setup)
    _change_database(setup)
    restore_backup(backup / MANIFEST, setup.json_dir, setup.db, setup.schema, snapshot=False)
    assert "00000000-0000-4000-8000-000100000000" in setup.documents()


def test_restore_json_makes_the_store_equal_the_snapshot(setup: Setup) -> None:
    """With --json every partition file is the backup's again and files it lacks are removed."""
    originals = {p.name: p.read_bytes() for p in setup.json_dir.glob("*.json")}
    backup = _backup(setup)
    victim = next(iter(originals))
    (setup.json_dir / victim).write_text("[]")
    (setup.json_dir / "newpartition.json").write_text("[]")
    result = restore_backup(backup, setup.json_dir, setup.db, setup.schema, restore_json=True)
    assert {p.name: p.read_bytes() for p in setup.json_dir.glob("*.json")} == originals
    assert result.json is not None
    assert result.json.written == (victim.removesuffix(".json"),)
    assert result.json.removed == ("newpartition",)


def test_restore_over_a_corrupt_database_keeps_a_byte_copy_of_it(setup: Setup) -> None:
    """The main use: a corrupt database is replaced; the safety backup keeps its bytes."""
    backup = _backup(setup)
    before = setup.documents()
    corrupt_table_page(setup.db, "sessions")
    damaged = sha256(setup.db)
    result = restore_backup(backup, setup.json_dir, setup.db, setup.schema)
    assert setup.documents() == before
    assert result.safety_backup is not None
    assert sha256(result.safety_backup / "database.sqlite3") == damaged
    kinds = {
        a["kind"] for a in json.loads((result.safety_backup / MANIFEST).read_text())["artifacts"]
    }
    assert "damaged" in kinds
    with pytest.raises(BackupError, match="damaged"):
        restore_backup(result.safety_backup, setup.json_dir, setup.db, setup.schema)


def test_restore_into_a_missing_database_creates_it(setup: Setup, tmp_path: Path) -> None:
    """Restoring where there is no database yet puts the backup there (no safety backup)."""
    backup = _backup(setup)
    target = tmp_path / "new" / "fresh.db"
    result = restore_backup(backup, setup.json_dir, target, setup.schema)
    assert result.safety_backup is None
    assert Setup(setup.json_dir, target, setup.schema).documents() == setup.documents()


def test_restore_into_a_fresh_place_with_json(setup: Setup, tmp_path: Path) -> None:
    """With neither a database nor a JSON store at the target, --json restores both."""
    backup = _backup(setup)
    fresh = Setup(tmp_path / "fresh-json", tmp_path / "fresh.db", setup.schema)
    result = restore_backup(
        backup, fresh.json_dir, fresh.db, setup.schema, restore_json=True, backups_dir=tmp_path
    )
    assert result.safety_backup is None
    assert fresh.documents() == setup.documents()
    originals = {p.name: p.read_bytes() for p in setup.json_dir.glob("*.json")}
    assert {p.name: p.read_bytes() for p in fresh.json_dir.glob("*.json")} == originals


def test_restore_refuses_while_another_process_has_the_database_open(setup: Setup) -> None:
    """An open connection elsewhere would keep writing to the replaced file: refused."""
    backup = _backup(setup)
    holder = sqlite3.connect(setup.db, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("SELECT count(*) FROM sessions").fetchone()
    try:
        with pytest.raises(BackupError, match="open in another process"):
            restore_backup(backup, setup.json_dir, setup.db, setup.schema)
        assert holder.execute("SELECT count(*) FROM sessions").fetchone()[0] == 36
    finally:
        holder.close()


# --------------------------------------------------------------------------- refusals


def _truncated_file(setup: Setup, backup: Path, tmp_path: Path) -> Path:
    data = (backup / "database.sqlite3").read_bytes()
    target = tmp_path / "truncated.db"
    target.write_bytes(data[: len(data) // 2])
    return target


def _random_bytes(setup: Setup, backup: Path, tmp_path: Path) -> Path:
    target = tmp_path / "random.db"
    target.write_bytes(os.urandom(64 * 1024))
    return target


def _other_schema(setup: Setup, backup: Path, tmp_path: Path) -> Path:
    target = tmp_path / "notes.db"
    store = SqlStore(target, resolve(NOTES))
    store.init_schema()
    store.close()
    return target


def _plain_sqlite(setup: Setup, backup: Path, tmp_path: Path) -> Path:
    target = tmp_path / "plain.db"
    conn = sqlite3.connect(target)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return target


def _newer_version(setup: Setup, backup: Path, tmp_path: Path) -> Path:
    target = tmp_path / "newer.db"
    shutil.copy(backup / "database.sqlite3", target)
    conn = sqlite3.connect(target)
    conn.execute("UPDATE migrator_meta SET value = '99' WHERE key = 'version'")
    conn.commit()
    conn.close()
    return target


def _checksum_mismatch(setup: Setup, backup: Path, tmp_path: Path) -> Path:
    path = backup / "database.sqlite3"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return backup


def _truncated_in_a_consistent_backup(setup: Setup, backup: Path, tmp_path: Path) -> Path:
    """A truncated copy whose manifest was rewritten to match: the file checks catch it."""
    path = backup / "database.sqlite3"
    path.write_bytes(path.read_bytes()[:8192])
    return _rehash(backup)


def _corrupt_page_in_a_consistent_backup(setup: Setup, backup: Path, tmp_path: Path) -> Path:
    """A copy with a damaged page and a matching manifest: integrity_check catches it."""
    path = backup / "database.sqlite3"
    corrupt_table_page(path, "instances")
    return _rehash(backup)


def _rehash(backup: Path) -> Path:
    """Rewrite the manifest to match the files as they are now."""
    manifest = json.loads((backup / MANIFEST).read_text())
    for artifact in manifest["artifacts"]:
        path = backup / artifact["name"]
        artifact["sha256"], artifact["size"] = sha256(path), path.stat().st_size
    (backup / MANIFEST).write_text(json.dumps(manifest))
    return backup


Maker = Callable[[Setup, Path, Path], Path]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_truncated_file, "truncated"),
        (_random_bytes, "not a SQLite database"),
        (_other_schema, "holds schema 'notes', not 'sessions'"),
        (_plain_sqlite, "not one of migrator"),
        (_newer_version, "newer than this toolkit"),
        (_checksum_mismatch, "sha256 differs"),
        (_truncated_in_a_consistent_backup, "truncated"),
        (_corrupt_page_in_a_consistent_backup, "integrity_check"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:] if callable(value) else "",
)
def test_untrustworthy_backup_is_refused_and_nothing_changes(
    setup: Setup, tmp_path: Path, make: Maker, message: str
) -> None:
    """Each bad backup is refused with a clear message; the database's bytes are unchanged,
    no safety backup is taken, and no staged copy is left beside the database."""
    backup = _backup(setup)
    _change_database(setup)  # so that a restore would be visible
    before = sha256(setup.db)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = make(setup, backup, elsewhere)
    side_files = sorted(p.name for p in setup.db.parent.iterdir())  # no -wal, no staged copy
    count = len(list_backups(default_backup_dir(setup.json_dir), verify=False))
    with pytest.raises(BackupError, match=message):
        restore_backup(target, setup.json_dir, setup.db, setup.schema)
    assert sha256(setup.db) == before
    assert sorted(p.name for p in setup.db.parent.iterdir()) == side_files
    assert len(list_backups(default_backup_dir(setup.json_dir), verify=False)) == count


def test_restore_command_refuses_a_bad_file_in_one_line(setup: Setup, tmp_path: Path) -> None:
    """The CLI prints one `error:` line naming the problem and exits 2."""
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x10\x00" + b"\x00" * 200)
    before = sha256(setup.db)
    result = setup.cli("restore", str(bad), "--yes")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "truncated" in lines[0]
    assert sha256(setup.db) == before


def test_restore_without_an_answer_on_stdin_exits_2(setup: Setup) -> None:
    """No --yes and nothing on stdin: refused with exit 2, nothing changed."""
    backup = _backup(setup)
    _change_database(setup)
    before = sha256(setup.db)
    result = setup.cli("restore", str(backup), input="")
    assert result.exit_code == 2
    assert "pass --yes" in result.stderr
    assert sha256(setup.db) == before


def test_restore_declined_exits_1_and_changes_nothing(setup: Setup) -> None:
    """Answering no shows the plan, restores nothing and exits 1."""
    backup = _backup(setup)
    _change_database(setup)
    before = sha256(setup.db)
    result = setup.cli("restore", str(backup), input="n\n")
    assert result.exit_code == 1
    assert "checksums verified" in result.stdout and "nothing restored" in result.stdout
    assert sha256(setup.db) == before


def test_restore_confirmed_replaces_the_database(setup: Setup) -> None:
    """Answering yes restores; the output names the safety backup."""
    original = setup.documents()
    backup = _backup(setup)
    _change_database(setup)
    result = setup.cli("restore", str(backup), "--json", input="y\n")
    assert result.exit_code == 0, result.output
    assert "safety backup" in result.stdout and "restored" in result.stdout
    assert setup.documents() == original


def test_no_snapshot_skips_the_safety_backup(setup: Setup) -> None:
    """--no-snapshot restores without taking the safety backup first."""
    backup = _backup(setup)
    result = setup.cli("restore", str(backup), "--yes", "--no-snapshot")
    assert result.exit_code == 0, result.output
    assert len(list_backups(default_backup_dir(setup.json_dir))) == 1


def test_restore_json_needs_a_backup_directory(setup: Setup, tmp_path: Path) -> None:
    """--json with a bare database file (outside any backup) is refused before anything
    changes."""
    backup = _backup(setup)
    bare = shutil.copy(backup / "database.sqlite3", tmp_path / "bare.sqlite3")
    with pytest.raises(BackupError, match="restore_json=True needs a backup directory"):
        restore_backup(bare, setup.json_dir, setup.db, setup.schema, restore_json=True)


def test_restored_database_opens_in_wal_mode_again(setup: Setup) -> None:
    """The restored file (stored out of WAL mode) works as a live store: writes and reads."""
    backup = _backup(setup)
    restore_backup(backup, setup.json_dir, setup.db, setup.schema)
    store = setup.sql_store()
    try:
        doc = store.get("00000000-0000-4000-8000-000000000000")
        assert doc is not None
        store.put("3f2a9c1e7b6d4a10", {**doc, "task": "after restore"})
        got = store.get(doc["id"])
        assert got is not None and got["task"] == "after restore"
    finally:
        store.close()
    assert JsonStore(setup.json_dir, setup.schema).count() == 36


def test_a_tampered_json_snapshot_refuses_the_whole_restore(setup: Setup) -> None:
    """--json with a JSON snapshot that no longer verifies changes neither store."""
    backup = _backup(setup)
    _change_database(setup)
    tarball = backup / "json-store.tar.gz"
    data = bytearray(tarball.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tarball.write_bytes(bytes(data))
    before_db = sha256(setup.db)
    before_json = {p.name: p.read_bytes() for p in setup.json_dir.glob("*.json")}
    with pytest.raises(BackupError, match="does not verify"):
        restore_backup(backup, setup.json_dir, setup.db, setup.schema, restore_json=True)
    assert sha256(setup.db) == before_db
    assert {p.name: p.read_bytes() for p in setup.json_dir.glob("*.json")} == before_json


def test_a_missing_backup_is_a_clear_error(setup: Setup, tmp_path: Path) -> None:
    """A path that is no backup at all, or a directory without a manifest, is named as such."""
    with pytest.raises(BackupError, match="no such backup"):
        restore_backup(tmp_path / "nope", setup.json_dir, setup.db, setup.schema)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackupError, match="not a backup"):
        restore_backup(tmp_path / "empty", setup.json_dir, setup.db, setup.schema)
