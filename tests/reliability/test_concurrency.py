"""Concurrency: application processes writing through `open_store` while `migrator validate`,
`backup` and `import` run and the phase moves from dual-write to sqlite-primary (where the
import is refused). No update is lost, no "database is locked" reaches anyone, every writer
sees the phases in order (never the old one again after the new), and no write used the old
phase once the move had returned. Every loop is bounded in rounds and in time."""

from __future__ import annotations

import errno
import json
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from migrator.adapters.dual_write import open_store
from migrator.adapters.journal import JOURNAL_FILE, Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, timestamp
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import NAME as STATE_DIR
from migrator.phases import set_phase
from migrator.schemas.declaration import Schema
from tests.reliability import tally
from tests.reliability.faults import break_json_writes
from tests.reliability.harness import (
    CHILD_TIMEOUT,
    child_env,
    cli,
    documents,
    duplicated,
    migrator,
    validation,
)
from tests.reliability.workload import PARTITIONS
from tests.schemas.samples import session
from tests.writers import writer_command

WRITERS = 3
MAX_ROUNDS = 400
MAX_SECONDS = 90.0


@pytest.fixture
def stores(tmp_path: Path, sessions_schema: Schema) -> tuple[Path, Path]:
    """A small store imported, then moved to dual-write (guards satisfied)."""
    json_dir, db = tmp_path / "json", tmp_path / "sessions.db"
    json_store = JsonStore(json_dir, sessions_schema)
    for n, partition in enumerate(PARTITIONS):
        json_store.write_partition(partition, [session(f"seed-{n}-{k}") for k in range(4)])
    code, output = migrator("import", "--json-dir", str(json_dir), "--db", str(db), "--quiet")
    assert code == 0, output
    set_phase(json_dir, db, sessions_schema, "dual-write")
    return json_dir, db


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args), capture_output=True, text=True, env=child_env(), timeout=CHILD_TIMEOUT
    )


def _intents(json_dir: Path) -> list[dict[str, str]]:
    lines = (json_dir / STATE_DIR / JOURNAL_FILE).read_bytes().split(b"\n")
    records = [orjson.loads(line) for line in lines if line.strip()]
    return [r for r in records if r.get("kind") == "intent"]


def test_writers_validate_backup_import_and_a_phase_move_at_once(
    stores: tuple[Path, Path], sessions_schema: Schema, tmp_path: Path
) -> None:
    """Three writers run throughout; validate, backup and import run beside them in both dual
    phases, and the phase moves under them. Afterwards every writer's last version of each of
    its documents is in both stores, the stores agree, nothing is pending."""
    json_dir, db = stores
    stop = tmp_path / "stop"
    limits = (str(MAX_ROUNDS), str(MAX_SECONDS))
    writers = [
        subprocess.Popen(
            writer_command("busy", json_dir, db, f"w{n}", stop, *limits),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for n in range(WRITERS)
    ]
    store_args = ("--json-dir", str(json_dir), "--db", str(db))
    outputs: list[tuple[str, subprocess.CompletedProcess[str]]] = []
    try:
        _wait_for_writes(json_dir, sessions_schema, writers)
        for args in (
            ("validate", *store_args, "--quiet"),
            ("backup", *store_args),
            ("import", *store_args, "--quiet"),
        ):
            outputs.append((f"dual-write {args[0]}", _command(*args)))
        before = timestamp()
        moved = set_phase(json_dir, db, sessions_schema, "sqlite-primary", force=True)
        after = timestamp()
        running_at_move = sum(w.poll() is None for w in writers)
        for args in (
            ("validate", *store_args, "--quiet", "--recheck", "--recheck-delay", "0.2"),
            ("backup", *store_args),
            ("import", *store_args, "--quiet"),
        ):
            outputs.append((f"sqlite-primary {args[0]}", _command(*args)))
    finally:
        stop.touch()
        results = [w.communicate(timeout=CHILD_TIMEOUT) for w in writers]
    assert moved.to_phase is Phase.SQLITE_PRIMARY
    for writer, (_, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0, err
    everything = [o + e for o, e in results] + [r.stdout + r.stderr for _, r in outputs]
    assert not [text for text in everything if "locked" in text.lower()]
    assert not [text for text in everything if "Traceback" in text]
    for label, result in outputs:
        allowed = {"validate": (0, 1), "backup": (0,), "import": (0,)}[label.split()[1]]
        if label == "sqlite-primary import":  # refused with one line: SQL is primary
            allowed = (2,)
            assert result.stderr.count("\n") == 1 and "phase" in result.stderr, result.stderr
        assert result.returncode in allowed, (label, result.stdout, result.stderr)
    reports = [json.loads(out) for out, _ in results]
    # Every writer saw dual-write, then sqlite-primary, and never went back.
    for report in reports:
        phases = report["phases"]
        assert phases and phases == sorted(phases, key=lambda p: Phase(p).rank), phases
    # No write used the old phase after the move returned, nor the new one before it began.
    for intent in _intents(json_dir):
        if intent["primary"] == "json":
            assert intent["time"] < after, intent
        else:
            assert intent["time"] > before, intent
    json_docs = documents(JsonStore(json_dir, sessions_schema))
    sql = SqlStore(db, sessions_schema, create=False)
    try:
        sql_docs = documents(sql)
        tasks = {doc["id"]: doc["task"] for _, doc in sql.iter_documents()}
    finally:
        sql.close()
    assert json_docs == sql_docs and not duplicated(sql_docs)
    lost = [
        doc_id
        for report in reports
        for doc_id, task in report["expected"].items()
        if tasks.get(doc_id) != task
    ]
    tally.documents_lost(len(lost))
    assert lost == []
    assert Journal(json_dir).read().pending == ()
    assert validation(json_dir, db, sessions_schema).ok
    rounds = sum(len(r["phases"]) for r in reports)
    print(f"concurrency: {rounds} writer rounds, {running_at_move} writers running at the move")


def _wait_for_writes(json_dir: Path, schema: Schema, writers: list[subprocess.Popen[str]]) -> None:
    """Until a writer's first document is in the JSON store (bounded)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and all(w.poll() is None for w in writers):
        try:
            if JsonStore(json_dir, schema).get("w0-0") is not None:
                return
        except Exception:  # a file being replaced: look again
            pass
        time.sleep(0.05)


def test_import_in_sqlite_primary_is_refused_and_keeps_the_newer_version(
    stores: tuple[Path, Path], sessions_schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite-primary: one write reached both stores (the file changed since its import), the
    next one only SQL (the JSON backup failed and is journaled). An import would read the file
    again and put its older version over SQL's; it is refused with one line and SQL keeps the
    newer version, which repair then copies to the file."""
    json_dir, db = stores
    set_phase(json_dir, db, sessions_schema, "sqlite-primary", force=True)
    with open_store(json_dir, db, sessions_schema) as store:
        store.put(PARTITIONS[0], session("seed-0-1", task="reached both stores"))
        break_json_writes(monkeypatch, "replace", errno.ENOSPC)
        store.put(PARTITIONS[0], session("seed-0-0", task="newer, in SQL only"))
        monkeypatch.undo()
    store_args = ("--json-dir", str(json_dir), "--db", str(db))
    code, output = migrator("import", *store_args, "--quiet")
    assert code == 2 and "phase json-only" in output and output.count("\n") == 1, output
    assert _task(db, sessions_schema, "seed-0-0") == "newer, in SQL only"
    code, output = migrator("repair", *store_args)
    assert code == 0, output
    assert validation(json_dir, db, sessions_schema).ok


def test_import_is_refused_while_sql_is_primary(
    stores: tuple[Path, Path], sessions_schema: Schema
) -> None:
    """In sqlite-only too: one line, exit 2; a dry run writes nothing and is allowed; back in
    dual-write (each file read under the lock dual writes hold) and json-only it runs."""
    json_dir, db = stores
    store_args = ("--json-dir", str(json_dir), "--db", str(db))
    set_phase(json_dir, db, sessions_schema, "sqlite-primary", force=True)
    set_phase(json_dir, db, sessions_schema, "sqlite-only", force=True)
    code, output = migrator("import", *store_args, "--quiet")
    assert code == 2 and "phase json-only or dual-write, not sqlite-only" in output, output
    code, output = migrator("import", *store_args, "--quiet", "--dry-run")
    assert code == 0, output
    for phase in ("dual-write", "json-only"):
        set_phase(json_dir, db, sessions_schema, phase)
        code, output = migrator("import", *store_args, "--quiet")
        assert code == 0, (phase, output)


def _task(db: Path, schema: Schema, doc_id: str) -> object:
    sql = SqlStore(db, schema, create=False)
    try:
        return (sql.get(doc_id) or {}).get("task")
    finally:
        sql.close()
