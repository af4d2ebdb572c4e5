"""Backups: what a backup holds, how it is written, retention, and backups under live writes."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import sqlite3
import stat
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from migrator import __version__
from migrator.adapters import sqlite_files
from migrator.backup import BackupResult, create_backup, default_backup_dir, snapshot_before
from migrator.backup_manifest import MANIFEST
from migrator.backup_retention import list_backups
from migrator.errors import BackupError, DatabaseCorruptError, UsageError
from migrator.restore import restore_backup
from tests.safety.conftest import Setup, corrupt_table_page, invoke, sha256
from tests.writers import child_env, writer_command


def test_manifest_records_every_artifact_with_its_checksum(setup: Setup) -> None:
    """The manifest lists each file with its sha256 and size, the schema, phase and version."""
    result = create_backup(setup.json_dir, setup.db, setup.schema, sql=True)
    manifest = json.loads((result.path / MANIFEST).read_bytes())
    assert {a["kind"] for a in manifest["artifacts"]} == {"database", "sql", "json"}
    for artifact in manifest["artifacts"]:
        path = result.path / artifact["name"]
        assert artifact["sha256"] == sha256(path)
        assert artifact["size"] == path.stat().st_size
    assert (manifest["schema"], manifest["schema_version"]) == ("sessions", 1)
    assert manifest["phase"] == "json-only"
    assert manifest["tool_version"] == __version__
    assert result.path.parent == default_backup_dir(setup.json_dir)
    assert result.path.name.endswith("-manual")


def test_backup_files_are_private(setup: Setup) -> None:
    """Every file of a backup is mode 0600 and its directory 0700: a backup holds all data."""
    result = create_backup(setup.json_dir, setup.db, setup.schema, sql=True)
    files = list(result.path.iterdir())
    assert len(files) == 4
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o700


def test_database_copy_holds_every_document(setup: Setup) -> None:
    """The database copy is a sound SQLite file, out of WAL mode, with every row."""
    result = create_backup(setup.json_dir, setup.db, setup.schema)
    copy = result.path / "database.sqlite3"
    assert sqlite_files.quick_check(copy) == []
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 36
    finally:
        conn.close()


def test_json_snapshot_holds_only_partition_files(setup: Setup) -> None:
    """The tar.gz holds the top-level partition files, byte for byte, and nothing else."""
    create_backup(setup.json_dir, setup.db, setup.schema)  # a backup under .migrator already
    (setup.json_dir / "notes.txt").write_text("not a partition")
    result = create_backup(setup.json_dir, setup.db, setup.schema)
    with tarfile.open(result.path / "json-store.tar.gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]
    originals = {p.name: p.read_bytes() for p in setup.json_dir.glob("*.json")}
    assert members == originals
    json_artifact = result.manifest.artifact("json")
    assert json_artifact is not None and json_artifact.files is not None
    assert set(json_artifact.files) == set(originals)


def test_sql_dump_rebuilds_the_same_rows(setup: Setup, tmp_path: Path) -> None:
    """The gzipped SQL dump, replayed into an empty database, gives the same rows."""
    result = create_backup(setup.json_dir, setup.db, setup.schema, sql=True)
    script = gzip.decompress((result.path / "database.sql.gz").read_bytes()).decode()
    rebuilt = sqlite3.connect(tmp_path / "rebuilt.db")
    original = sqlite3.connect(setup.db)
    try:
        rebuilt.executescript(script)
        for table in ("sessions", "instances", "chat_messages", "workspaces", "migrator_meta"):
            query = f"SELECT * FROM {table} ORDER BY 1, 2"
            assert rebuilt.execute(query).fetchall() == original.execute(query).fetchall()
    finally:
        rebuilt.close()
        original.close()


def test_retention_keeps_exactly_the_newest_n(setup: Setup) -> None:
    """With keep=3, five backups leave the three newest; the others are removed."""
    made = [create_backup(setup.json_dir, setup.db, setup.schema, keep=3).path for _ in range(5)]
    left = [info.path for info in list_backups(default_backup_dir(setup.json_dir))]
    assert left == list(reversed(made[2:]))
    assert not made[0].exists() and not made[1].exists()


def test_snapshots_never_push_out_manual_backups(setup: Setup) -> None:
    """Automatic snapshots are retained apart: many of them leave the manual backups alone."""
    manual = [create_backup(setup.json_dir, setup.db, setup.schema, keep=2).path for _ in range(2)]
    for _ in range(4):
        snapshot_before("repair", setup.json_dir, setup.db, setup.schema, keep=2)
    names = [info.path.name for info in list_backups(default_backup_dir(setup.json_dir))]
    assert sum(name.endswith("-before-repair") for name in names) == 2
    assert all(path.exists() for path in manual)


def test_retention_never_removes_a_protected_backup(setup: Setup) -> None:
    """A backup named in `protect` (the one being restored from) survives retention."""
    oldest = create_backup(setup.json_dir, setup.db, setup.schema).path
    for _ in range(2):
        create_backup(setup.json_dir, setup.db, setup.schema, keep=1, protect=[oldest])
    assert oldest.exists()
    assert len(list_backups(default_backup_dir(setup.json_dir))) == 2


def test_backups_listing_flags_a_tampered_backup(setup: Setup) -> None:
    """`backups` shows each backup; one whose file changed no longer verifies (exit 1)."""
    good = create_backup(setup.json_dir, setup.db, setup.schema).path
    bad = create_backup(setup.json_dir, setup.db, setup.schema).path
    with (bad / "json-store.tar.gz").open("r+b") as handle:
        handle.seek(20)
        handle.write(b"\x00\x01\x02")
    infos = {info.path: info for info in list_backups(default_backup_dir(setup.json_dir))}
    assert infos[good].verified is True
    assert infos[bad].verified is False
    result = invoke("backups", "--json-dir", str(setup.json_dir), "--format", "json")
    assert result.exit_code == 1
    listed = {Path(item["path"]).name: item for item in json.loads(result.stdout)}
    assert listed[good.name]["verified"] is True
    assert "sha256" in listed[bad.name]["problems"][0]


def test_backup_command_reports_what_it_wrote(setup: Setup) -> None:
    """`migrator backup --sql` names the backup and each file with its size."""
    result = setup.cli("backup", "--sql", "--keep", "2")
    assert result.exit_code == 0, result.output
    assert "backup written:" in result.stdout
    for name in ("database.sqlite3", "database.sql.gz", "json-store.tar.gz"):
        assert name in result.stdout
    assert "total" in result.stdout


def test_backup_of_a_corrupt_database_is_refused(setup: Setup) -> None:
    """A damaged database is not backed up as if it were sound: the error points to restore."""
    corrupt_table_page(setup.db, "sessions")
    with pytest.raises(DatabaseCorruptError, match="migrator restore"):
        create_backup(setup.json_dir, setup.db, setup.schema)
    assert list_backups(default_backup_dir(setup.json_dir)) == []
    assert not list(default_backup_dir(setup.json_dir).glob(".tmp-*"))


def test_nothing_to_back_up_is_an_error(tmp_path: Path) -> None:
    """No database and no JSON store: a clear error, no empty backup."""
    with pytest.raises(BackupError, match="nothing to back up"):
        create_backup(tmp_path / "none", tmp_path / "none.db", "sessions", out_dir=tmp_path / "b")


def test_a_missing_json_dir_needs_out(setup: Setup, tmp_path: Path) -> None:
    """Without a JSON store the default backup place does not exist: --out is required, and
    the database alone is backed up there."""
    with pytest.raises(UsageError, match="out_dir"):
        create_backup(tmp_path / "typo", setup.db, setup.schema)
    assert not (tmp_path / "typo").exists()
    result = create_backup(tmp_path / "typo", setup.db, setup.schema, out_dir=tmp_path / "b")
    assert [a.kind for a in result.manifest.artifacts] == ["database"]


def test_snapshot_before_skips_a_missing_database_and_when_disabled(setup: Setup) -> None:
    """The automatic snapshot is a backup named for its step; None when off or no database."""
    path = snapshot_before("import", setup.json_dir, setup.db, setup.schema)
    assert path is not None and path.name.endswith("-before-import")
    assert snapshot_before("import", setup.json_dir, setup.db, "sessions", enabled=False) is None
    missing = setup.db.with_name("missing.db")
    assert snapshot_before("import", setup.json_dir, missing, setup.schema) is None
    assert not missing.exists()


def test_stepped_backup_survives_writes_between_steps(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup that another connection keeps restarting finishes in one step, consistently."""
    monkeypatch.setattr(sqlite_files, "PAGES_PER_STEP", 8)
    writer = sqlite3.connect(setup.db, isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    steps: list[tuple[int, int]] = []

    def write_between_steps(done: int, total: int) -> None:
        steps.append((done, total))
        writer.execute("UPDATE sessions SET task = task || '.' WHERE rowid = 1")

    dest = tmp_path / "copy.db"
    dest.touch()
    try:
        sqlite_files.online_backup(setup.db, dest, write_between_steps)
    finally:
        writer.close()
    assert sum(1 for a, b in itertools.pairwise(steps) if b[0] <= a[0]) >= 1
    assert sqlite_files.quick_check(dest) == []
    conn = sqlite3.connect(dest)
    try:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 36
    finally:
        conn.close()


def _wait_for(progress: Path, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = progress.read_text() if progress.exists() else ""
        if text.isdigit() and int(text) >= at_least:
            return int(text)
        time.sleep(0.02)
    raise AssertionError(f"the writer did not reach {at_least} writes")


def backups_while_writing(
    setup: Setup, tmp_path: Path, count: int
) -> tuple[list[BackupResult], int, int]:
    """`count` backups taken while a writer process fills the database, and how many
    documents it had written before the first and after the last (it was alive across them)."""
    progress = tmp_path / "progress"
    writer = subprocess.Popen(writer_command("fill", setup.db, progress), env=child_env())
    try:
        before = _wait_for(progress, 30)
        backups = [create_backup(setup.json_dir, setup.db, setup.schema) for _ in range(count)]
        after = _wait_for(progress, before + 30)
    finally:
        writer.kill()
        writer.wait()
    return backups, before, after


def test_backup_while_another_process_writes_then_restore(setup: Setup, tmp_path: Path) -> None:
    """Backups taken while a process writes continuously restore to a sound database whose
    every document reads back whole (ids and contents as the writer wrote them)."""
    backups, before, after = backups_while_writing(setup, tmp_path, 3)
    assert after > before
    chosen = backups[-1]
    restore_backup(chosen.path, setup.json_dir, setup.db, setup.schema)
    assert sqlite_files.quick_check(setup.db) == []
    conn = sqlite3.connect(setup.db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    documents = setup.documents()
    written = sorted(i for i in documents if i.startswith("w-"))
    assert len(documents) == 36 + len(written)
    assert before <= len(written) <= after + 1
    assert written == [f"w-{n:06d}" for n in range(len(written))]  # a prefix: no gaps
    store = setup.sql_store()
    try:
        for doc_id in written:
            doc = store.get(doc_id)
            assert doc is not None and doc["task"] == "x" * 2000
            assert doc["chat_history"][0]["id"] == doc_id.replace("w-", "m-")
    finally:
        store.close()


def test_an_unreadable_manifest_is_listed_as_a_problem(setup: Setup) -> None:
    """A backup directory whose manifest is damaged is listed as not verifying."""
    path = create_backup(setup.json_dir, setup.db, setup.schema).path
    (path / MANIFEST).write_text("{ damaged")
    (info,) = list_backups(default_backup_dir(setup.json_dir))
    assert info.manifest is None and info.verified is False
    assert info.problems is not None and "unreadable manifest" in info.problems[0]


def test_retention_removes_a_crashed_build_older_than_a_day(setup: Setup) -> None:
    """A hidden build directory left by a crash is removed once it is a day old, not before."""
    out = default_backup_dir(setup.json_dir)
    out.mkdir(parents=True)
    old, fresh = out / ".tmp-old", out / ".tmp-fresh"
    old.mkdir()
    fresh.mkdir()
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (day_ago, day_ago))
    create_backup(setup.json_dir, setup.db, setup.schema)
    assert not old.exists() and fresh.exists()
