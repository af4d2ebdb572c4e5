"""I/O faults: the disk fills up or a permission is missing while writing JSON, SQL or a
backup. Each gives one clear error (a `MigratorError`, one line; exit 2 from the CLI, no
traceback), leaves the previous file byte for byte and no temporary file behind; in the dual
phases a failing secondary is journaled, and `migrator repair` fixes it afterwards."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from migrator.adapters.dual_write import open_store
from migrator.adapters.journal import Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.adapters.state_dir import NAME as STATE_DIR
from migrator.backup import create_backup
from migrator.backup_retention import list_backups
from migrator.cli import app
from migrator.errors import BackupError, DatabaseError, MigratorError, StoreError
from migrator.schemas.declaration import Schema
from tests.reliability import tally
from tests.reliability.faults import (
    JSON_FAULTS,
    break_json_writes,
    full_backup_copies,
    listing,
    os_error,
    sqlite_full,
    sqlite_read_only,
)
from tests.reliability.harness import documents, validation
from tests.schemas.samples import session

BIG = "x" * 200_000  # a document that needs new database pages


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert isinstance(error, MigratorError), repr(error)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _assert_exit_2(result: Result, *words: str) -> None:
    """Exit 2 with one `error: ...` line on stderr naming `words`, and no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture
def stores(fixture_store_dir: Path, tmp_path: Path, sessions_schema: Schema) -> tuple[Path, Path]:
    """The fixture store imported into a database (both closed)."""
    db = tmp_path / "sessions.db"
    result = _invoke("import", "--json-dir", str(fixture_store_dir), "--db", str(db), "--quiet")
    assert result.exit_code == 0, result.output
    return fixture_store_dir, db


# --------------------------------------------------------------------------- JSON


@pytest.mark.parametrize(("call", "code"), JSON_FAULTS)
def test_json_write_fault_keeps_the_previous_file(
    tmp_path: Path, sessions_schema: Schema, monkeypatch: pytest.MonkeyPatch, call: str, code: int
) -> None:
    """A put whose write fails at any call: a one-line StoreError naming the file and why, the
    old file byte for byte, no temporary file; the next put (disk freed) works."""
    store = JsonStore(tmp_path / "json", sessions_schema)
    store.put("ws1", session("s1"))
    before = listing(store.root)
    break_json_writes(monkeypatch, call, code)
    with pytest.raises(StoreError) as caught:
        store.put("ws1", session("s2", task=BIG))
    monkeypatch.undo()
    message = _one_line(caught.value)
    assert str(store.root / "ws1.json") in message and os.strerror(code) in message
    assert listing(store.root) == before
    store.put("ws1", session("s2"))
    assert [d["id"] for d in store.list("ws1")] == ["s1", "s2"]


def test_export_onto_a_full_disk_is_exit_2(
    stores: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`migrator export` whose disk fills up: exit 2, one line, no partition file half written."""
    _, db = stores
    out = tmp_path / "export"
    break_json_writes(monkeypatch, "write", errno.ENOSPC)
    result = _invoke("export", "--db", str(db), "--out", str(out))
    monkeypatch.undo()
    _assert_exit_2(result, "No space left on device")
    assert not list(out.glob("*.json")) and not list(out.glob(".*.tmp"))


# --------------------------------------------------------------------------- SQL


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_sql_put_fault_changes_nothing(
    stores: tuple[Path, Path], sessions_schema: Schema, fault: str
) -> None:
    """SqlStore.put (replacing a document) on a full or read-only database: a one-line
    DatabaseError, and every document as it was (the transaction rolled back whole)."""
    _, db = stores
    store = SqlStore(db, sessions_schema, create=False)
    try:
        partition, doc = next(store.iter_documents())
        before = documents(store)
        store.engine.dispose()
        with sqlite_full() if fault == "full" else sqlite_read_only():
            with pytest.raises(DatabaseError) as caught:
                store.put(partition, {**doc, "task": BIG})
            store.engine.dispose()
        expected = "database or disk is full" if fault == "full" else "readonly database"
        assert expected in _one_line(caught.value)
        assert documents(store) == before
    finally:
        store.close()


def test_sql_bulk_replace_on_a_full_disk_changes_nothing(
    stores: tuple[Path, Path], sessions_schema: Schema
) -> None:
    """write_partitions (the importer's write) deletes, then fails to insert: rolled back whole."""
    from migrator.schemas.codec import to_rows

    _, db = stores
    store = SqlStore(db, sessions_schema, create=False)
    try:
        partition = store.partitions()[0]
        docs = store.read_partition(partition)
        rows = [
            to_rows(sessions_schema, partition, {**d, "task": BIG}, i) for i, d in enumerate(docs)
        ]
        before = documents(store)
        store.engine.dispose()
        with sqlite_full(), pytest.raises(DatabaseError) as caught:
            store.write_partitions([PartitionWrite(partition, rows, [d["id"] for d in docs])])
        store.engine.dispose()
        assert "database or disk is full" in _one_line(caught.value)
        assert documents(store) == before
    finally:
        store.close()


def test_import_onto_a_full_disk_is_exit_2_and_resumes(
    stores: tuple[Path, Path], sessions_schema: Schema
) -> None:
    """A re-import of edited files onto a full disk: exit 2 with one line, the database's
    documents unchanged; once there is room, the same command finishes and validates clean."""
    json_dir, db = stores
    json_store = JsonStore(json_dir, sessions_schema)
    for partition in json_store.partitions():
        docs = json_store.read_partition(partition)
        json_store.write_partition(partition, [{**d, "task": BIG} for d in docs])
    store = SqlStore(db, sessions_schema, create=False)
    before = documents(store)
    store.close()
    args = ("import", "--json-dir", str(json_dir), "--db", str(db), "--quiet", "--no-snapshot")
    with sqlite_full():
        result = _invoke(*args)
    _assert_exit_2(result, "database or disk is full")
    store = SqlStore(db, sessions_schema, create=False)
    assert documents(store) == before
    store.close()
    assert _invoke(*args).exit_code == 0
    assert validation(json_dir, db, sessions_schema).ok


# --------------------------------------------------------------------------- dual write


def _dual(json_dir: Path, phase: Phase) -> None:
    PhaseState(json_dir).update(lambda record: record.moved(phase))


def _repair_then_agree(json_dir: Path, db: Path, schema: Schema) -> None:
    result = _invoke("repair", "--json-dir", str(json_dir), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert Journal(json_dir).read().pending == ()
    assert validation(json_dir, db, schema).ok


def test_secondary_sql_full_is_journaled_then_repaired(
    stores: tuple[Path, Path], sessions_schema: Schema
) -> None:
    """dual-write, SQL full (the put) or read-only (the delete: it needs no new page): both
    calls succeed (JSON is primary), each is a failed journal entry naming the error, SQL is
    untouched; repair brings SQL level."""
    json_dir, db = stores
    _dual(json_dir, Phase.DUAL_WRITE)
    with open_store(json_dir, db, sessions_schema) as store:
        partition, victim = next(store.iter_documents())
        with sqlite_full():
            store.put(partition, session("new-1", task=BIG))
        store.sql.engine.dispose()
        with sqlite_read_only():
            assert store.delete(victim["id"])
        store.sql.engine.dispose()
        assert store.get("new-1") is not None and store.get(victim["id"]) is None
        assert store.sql.get("new-1") is None and store.sql.get(victim["id"]) is not None
    pending = Journal(json_dir).read().pending
    assert [(p.op, p.doc_id) for p in pending] == [("put", "new-1"), ("delete", victim["id"])]
    assert "database or disk is full" in (pending[0].error or "")
    assert "readonly database" in (pending[1].error or "")
    _repair_then_agree(json_dir, db, sessions_schema)


@pytest.mark.parametrize(("call", "code"), [("replace", errno.ENOSPC), ("mkstemp", errno.EACCES)])
def test_secondary_json_fault_is_journaled_then_repaired(
    stores: tuple[Path, Path],
    sessions_schema: Schema,
    monkeypatch: pytest.MonkeyPatch,
    call: str,
    code: int,
) -> None:
    """sqlite-primary, JSON write fails: the put succeeds (SQL is primary), the partition file
    is byte for byte the old one with no temporary file, the journal holds the failure, and
    repair writes the file."""
    json_dir, db = stores
    _dual(json_dir, Phase.SQLITE_PRIMARY)
    with open_store(json_dir, db, sessions_schema) as store:
        partition = store.partitions()[0]
        before = listing(json_dir)
        break_json_writes(monkeypatch, call, code)
        store.put(partition, session("new-1"))
        monkeypatch.undo()
        assert store.get("new-1") is not None
    after = {k: v for k, v in listing(json_dir).items() if not k.startswith(STATE_DIR)}
    assert after == {k: v for k, v in before.items() if not k.startswith(STATE_DIR)}
    [pending] = Journal(json_dir).read().pending
    assert pending.doc_id == "new-1" and os.strerror(code) in (pending.error or "")
    _repair_then_agree(json_dir, db, sessions_schema)
    assert JsonStore(json_dir, sessions_schema).get("new-1") is not None


def test_primary_fault_fails_the_call_and_changes_neither_store(
    stores: tuple[Path, Path], sessions_schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A primary that cannot write fails the call with its one-line error, and neither store
    changes: dual-write with the JSON disk full, sqlite-primary with the database full."""
    json_dir, db = stores
    for phase in (Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY):
        _dual(json_dir, phase)
        before = listing(json_dir)
        store_docs = _both(json_dir, db, sessions_schema)
        with open_store(json_dir, db, sessions_schema) as store:
            partition = store.partitions()[0]
            if phase is Phase.DUAL_WRITE:
                break_json_writes(monkeypatch, "replace", errno.ENOSPC)
                with pytest.raises(StoreError) as caught:
                    store.put(partition, session(f"new-{phase}"))
                monkeypatch.undo()
            else:
                store.sql.engine.dispose()  # connections opened from now on find it full
                with sqlite_full(), pytest.raises(DatabaseError) as caught:
                    store.put(partition, session(f"new-{phase}", task=BIG))
        _one_line(caught.value)
        assert _both(json_dir, db, sessions_schema) == store_docs
        partitions = {
            k: v for k, v in listing(json_dir).items() if k.endswith(".json") and "/" not in k
        }
        assert partitions == {
            k: v for k, v in before.items() if k.endswith(".json") and "/" not in k
        }
        _repair_then_agree(json_dir, db, sessions_schema)


def test_journal_that_cannot_be_written_stops_the_write_first(
    stores: tuple[Path, Path], sessions_schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No room for the journal's intent: the put fails before touching either store."""
    json_dir, db = stores
    _dual(json_dir, Phase.DUAL_WRITE)
    store_docs = _both(json_dir, db, sessions_schema)
    real = os.write
    tally.fault_injected()

    def write(fd: int, data: Any) -> int:
        if b'"kind":"intent"' in bytes(data):
            raise os_error(errno.ENOSPC)
        return real(fd, data)

    with open_store(json_dir, db, sessions_schema) as store:
        partition = store.partitions()[0]
        monkeypatch.setattr(os, "write", write)
        with pytest.raises(StoreError) as caught:
            store.put(partition, session("new-1"))
        monkeypatch.undo()
    assert "journal" in _one_line(caught.value)
    assert _both(json_dir, db, sessions_schema) == store_docs
    assert Journal(json_dir).read().pending == ()


def _both(json_dir: Path, db: Path, schema: Schema) -> tuple[Any, Any]:
    sql = SqlStore(db, schema, create=False)
    try:
        return documents(JsonStore(json_dir, schema)), documents(sql)
    finally:
        sql.close()


# --------------------------------------------------------------------------- backups


def _break_backup(monkeypatch: pytest.MonkeyPatch, where: str) -> str:
    """Break one step of a backup; the words its error must hold."""
    if where == "database copy":
        full_backup_copies(monkeypatch)
        return "database or disk is full"
    if where == "json archive":
        import gzip

        tally.fault_injected()

        def full(*args: Any, **kwargs: Any) -> Any:
            raise os_error(errno.ENOSPC)

        monkeypatch.setattr(gzip.GzipFile, "write", full)
        return "No space left on device"
    if where == "manifest":
        break_json_writes(monkeypatch, "fsync", errno.ENOSPC)
        return "No space left on device"
    tally.fault_injected()

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise os_error(errno.EACCES)

    monkeypatch.setattr(os, "rename", denied)
    return "Permission denied"


BACKUP_STEPS = ["database copy", "json archive", "manifest", "rename into place"]


@pytest.mark.parametrize("where", BACKUP_STEPS)
def test_backup_fault_leaves_no_partial_backup(
    stores: tuple[Path, Path], sessions_schema: Schema, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A backup that fails at any step: a one-line BackupError, no half-built directory, and
    the earlier backup still there and verifying."""
    json_dir, db = stores
    out = json_dir.parent / "backups"
    first = create_backup(json_dir, db, sessions_schema, out_dir=out)
    before = listing(out)
    words = _break_backup(monkeypatch, where)
    with pytest.raises(BackupError) as caught:
        create_backup(json_dir, db, sessions_schema, out_dir=out)
    monkeypatch.undo()
    assert words in _one_line(caught.value)
    assert listing(out) == before
    [info] = list_backups(out)
    assert info.path == first.path and info.problems == []


@pytest.mark.parametrize("where", ["database copy", "manifest"])
def test_backup_command_on_a_full_disk_is_exit_2(
    stores: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """`migrator backup` on a full disk: exit 2, one line, nothing left in the backup directory."""
    json_dir, db = stores
    out = json_dir.parent / "backups"
    words = _break_backup(monkeypatch, where)
    result = _invoke("backup", "--json-dir", str(json_dir), "--db", str(db), "--out", str(out))
    monkeypatch.undo()
    _assert_exit_2(result, words)
    assert not out.exists() or listing(out) == {}
