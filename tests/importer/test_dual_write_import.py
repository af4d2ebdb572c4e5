"""`migrator import` in dual-write: each partition read and committed under the lock every dual
write holds, so it runs beside the application's writes and closes the gap of documents written
between an import in json-only and the move to dual-write. Refused once SQL is primary."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock, Timeout

from migrator import import_run
from migrator.adapters.dual_write import open_store
from migrator.adapters.journal import Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import NAME as STATE_DIR
from migrator.import_summary import ImportSummary
from migrator.importer import import_store
from migrator.phases import set_phase
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.declaration import Schema
from tests.importer.conftest import table_rows
from tests.reliability.harness import (
    CHILD_TIMEOUT,
    child_env,
    cli,
    documents,
    migrator,
    validation,
)
from tests.schemas.samples import session
from tests.writers import versioned, writer_command

Expected = dict[str, tuple[str, dict[str, Any]]]


def _seed(json_dir: Path, schema: Schema, partitions: int, per: int) -> Expected:
    """`partitions` files of `per` sessions each; id -> (partition, document)."""
    store = JsonStore(json_dir, schema)
    expected: Expected = {}
    for p in range(partitions):
        name = f"ws-{p}"
        docs = [session(f"{name}-{k}") for k in range(per)]
        store.write_partition(name, docs)
        expected.update({doc["id"]: (name, doc) for doc in docs})
    return expected


def _as_found(expected: Expected) -> dict[str, list[tuple[str, bytes]]]:
    """`expected` in the shape `harness.documents` gives a store's documents."""
    return {i: [(p, canonical_bytes(doc))] for i, (p, doc) in expected.items()}


def _sql_documents(db: Path, schema: Schema) -> dict[str, list[tuple[str, bytes]]]:
    sql = SqlStore(db, schema, create=False)
    try:
        return documents(sql)
    finally:
        sql.close()


def _import(json_dir: Path, db: Path, schema: Schema, **options: Any) -> ImportSummary:
    sql = SqlStore(db, schema)
    try:
        return import_store(JsonStore(json_dir, schema), sql, **options)
    finally:
        sql.close()


def _args(json_dir: Path, db: Path) -> tuple[str, ...]:
    return ("--json-dir", str(json_dir), "--db", str(db))


# --------------------------------------------------------------------------- the gap


def test_documents_written_before_dual_write_reach_sql_by_a_catch_up_import(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """Imported in json-only, then written in json-only (new, changed, deleted), moved to
    dual-write and written there: `import` copies what SQL lacked, `import --prune` drops what
    the application deleted; validate is then clean, every write is in both stores, and the
    move to sqlite-primary is allowed."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    expected = _seed(json_dir, sessions_schema, partitions=3, per=5)
    args = _args(json_dir, db)
    code, output = migrator("import", *args, "--quiet", "--no-snapshot")
    assert code == 0, output

    with open_store(json_dir, db) as store:  # the application, still in json-only
        assert store.phase is Phase.JSON_ONLY
        writes = [("ws-0", session("gap-new", task="written in json-only"))]
        writes.append(("ws-1", session("ws-1-0", task="changed in json-only")))
        for partition, doc in writes:
            store.put(partition, doc)
            expected[doc["id"]] = (partition, doc)
        assert store.delete("ws-2-1")
        del expected["ws-2-1"]

    code, output = migrator("phase", "set", "dual-write", *args, "--no-snapshot")
    assert code == 0, output
    assert "next: migrator import" in output, output

    with open_store(json_dir, db) as store:  # the application, now in dual-write
        assert store.phase is Phase.DUAL_WRITE
        writes = [("ws-2", session("dual-new", task="written in dual-write"))]
        writes.append(("ws-0", session("ws-0-0", task="changed in dual-write")))
        writes.append(("ws-1", session("ws-1-0", task="changed again in dual-write")))
        for partition, doc in writes:
            store.put(partition, doc)
            expected[doc["id"]] = (partition, doc)

    gap = validation(json_dir, db, sessions_schema).counts
    assert (gap["missing_in_sqlite"], gap["missing_in_json"]) == (1, 1), gap  # the gap

    code, output = migrator("import", *args, "--format", "json", "--no-snapshot")
    assert code == 0, output
    summary = json.loads(output)
    assert (summary["imported"], summary["gone"], summary["pruned"]) == (16, 1, 0), summary
    left = validation(json_dir, db, sessions_schema).counts
    assert (left["missing_in_sqlite"], left["mismatched"], left["missing_in_json"]) == (0, 0, 1)

    code, output = migrator("import", *args, "--prune", "--format", "json", "--no-snapshot")
    assert code == 0, output
    assert json.loads(output)["pruned"] == 1, output
    assert validation(json_dir, db, sessions_schema).ok
    want = _as_found(expected)
    assert documents(JsonStore(json_dir, sessions_schema)) == want
    assert _sql_documents(db, sessions_schema) == want
    code, output = migrator("validate", *args, "--quiet")
    assert code == 0, output
    code, output = migrator("phase", "set", "sqlite-primary", *args, "--no-snapshot")
    assert code == 0, output


def test_a_first_import_runs_in_dual_write_on_an_empty_database(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """No import before the move: dual-write is entered with an empty database (the move's note
    says to import), the application writes both stores, the bulk import fills in the rest."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    expected = _seed(json_dir, sessions_schema, partitions=2, per=4)
    change = set_phase(json_dir, db, sessions_schema, "dual-write")
    assert change.to_phase is Phase.DUAL_WRITE and not change.forced
    assert any(note.startswith("next: migrator import") for note in change.notes)
    with open_store(json_dir, db) as store:
        doc = session("ws-1-2", task="written before the import")
        store.put("ws-1", doc)
        expected[doc["id"]] = ("ws-1", doc)
    summary = _import(json_dir, db, sessions_schema)
    assert summary.ok and summary.imported == 8
    assert validation(json_dir, db, sessions_schema).ok
    assert _sql_documents(db, sessions_schema) == _as_found(expected)


# --------------------------------------------------------------------------- the locks


def test_each_partition_is_read_and_committed_under_its_lock(
    tmp_path: Path, sessions_schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dual-write: every file is read in this process (no helper, even when asked for one) while
    its partition lock and the phase lock are held; a dual write of that partition started then
    waits for the import's commit and lands in both stores; the snapshot is taken holding no
    partition lock."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    expected = _seed(json_dir, sessions_schema, partitions=3, per=4)
    set_phase(json_dir, db, sessions_schema, "dual-write")
    json_store = JsonStore(json_dir, sessions_schema)
    newer = session("ws-1-3", task="written while the import read ws-1")
    expected[newer["id"]] = ("ws-1", newer)
    seen: list[str] = []
    snapshots: list[list[str]] = []
    writer: list[threading.Thread] = []

    def held(path: Path | str) -> bool:
        probe = FileLock(str(path), timeout=0)
        try:
            probe.acquire()
        except Timeout:
            return True
        probe.release()
        return False

    def put_newer() -> None:
        with open_store(json_dir, db) as store:
            store.put("ws-1", newer)

    real_read = import_run.read_file

    def read_file(store: JsonStore, partition: str, known: str | None, **kw: Any) -> Any:
        read = real_read(store, partition, known, **kw)
        assert held(store.lock(partition).lock_file), partition
        assert held(json_dir / STATE_DIR / "phase.lock"), partition
        seen.append(partition)
        if partition == "ws-1" and not writer:
            writer.append(threading.Thread(target=put_newer))
            writer[0].start()
            time.sleep(0.2)  # a chance to overtake the import, which the lock must deny
        return read

    def snapshot() -> None:
        snapshots.append([p for p in json_store.partitions() if held(json_store.lock(p).lock_file)])

    monkeypatch.setattr(import_run, "read_file", read_file)
    summary = _import(json_dir, db, sessions_schema, parallel=True, before_write=snapshot)
    writer[0].join(timeout=CHILD_TIMEOUT)
    assert summary.ok and summary.imported == 12
    assert snapshots == [[]]  # taken once, holding no partition lock
    # ws-0 was read once, dropped for the snapshot, and read again under its lock.
    assert seen == ["ws-0", "ws-0", "ws-1", "ws-2"]
    assert validation(json_dir, db, sessions_schema).ok
    assert _sql_documents(db, sessions_schema) == _as_found(expected)
    assert documents(json_store) == _as_found(expected)


def test_a_run_stopped_by_its_budget_frees_every_lock(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """dual-write, --max-errors 0 and a bad record: the run stops, keeps what it committed, and
    holds no partition lock afterwards (the application writes on)."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    _seed(json_dir, sessions_schema, partitions=3, per=3)
    store = JsonStore(json_dir, sessions_schema)
    store.write_partition("ws-1", [*store.read_partition("ws-1"), {"id": "bad", "type": 7}])
    set_phase(json_dir, db, sessions_schema, "dual-write")
    summary = _import(json_dir, db, sessions_schema, max_errors=0)
    assert summary.stopped is not None and summary.rejected == 1
    for partition in store.partitions():
        probe = FileLock(str(store.lock(partition).lock_file), timeout=0)
        probe.acquire()
        probe.release()
    with open_store(json_dir, db) as app:
        app.put("ws-2", session("after-the-stop"))
    assert "after-the-stop" in _sql_documents(db, sessions_schema)


def test_prune_of_a_vanished_partition_in_dual_write(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """A partition in SQL whose file is gone: reported; --prune keeps its documents (the JSON
    store may have lost the file) and counts them, --prune-all deletes them (under its lock);
    the stores then agree."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    _seed(json_dir, sessions_schema, partitions=2, per=3)
    set_phase(json_dir, db, sessions_schema, "dual-write")
    assert _import(json_dir, db, sessions_schema).ok
    (json_dir / "ws-1.json").unlink()
    summary = _import(json_dir, db, sessions_schema, prune=True)
    assert (summary.gone, summary.pruned, summary.held) == (3, 0, 3)
    summary = _import(json_dir, db, sessions_schema, prune_all=True)
    assert (summary.gone, summary.pruned, summary.held) == (3, 3, 0)
    assert validation(json_dir, db, sessions_schema).ok


# --------------------------------------------------------------------------- a live writer


@pytest.mark.parametrize(
    ("first", "batch", "pause", "snapshot"),
    [
        ("bulk", "1000", "0", False),
        ("catch-up", "7", "0.002", False),
        ("catch-up", "1000", "0.01", True),
    ],
)
def test_import_beside_a_dual_writer_keeps_every_newest_version(
    tmp_path: Path, sessions_schema: Schema, first: str, batch: str, pause: str, snapshot: bool
) -> None:
    """A writer process puts newer versions (increasing counters) of documents in every
    partition while `migrator import` runs in dual-write (a first bulk import, or a catch-up
    after an import in json-only and writes there). Afterwards (and `repair` if anything is
    pending) validate is clean and both stores hold each document's newest version: the
    import never put an older version over a newer one."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    expected = _seed(json_dir, sessions_schema, partitions=6, per=40)
    if first == "catch-up":
        code, output = migrator("import", *_args(json_dir, db), "--quiet", "--no-snapshot")
        assert code == 0, output
        with open_store(json_dir, db) as store:  # the gap: every file changes in json-only
            for p in range(6):
                doc = session(f"ws-{p}-1", task="changed in json-only")
                store.put(f"ws-{p}", doc)
                expected[doc["id"]] = (f"ws-{p}", doc)
    set_phase(json_dir, db, sessions_schema, "dual-write")
    hot = {doc_id: partition for doc_id, (partition, _) in expected.items() if doc_id[-1] in "05"}
    ids_file, started, stop = tmp_path / "hot.json", tmp_path / "started", tmp_path / "stop"
    ids_file.write_text(json.dumps(hot))
    seed = str(len(first) + int(batch))
    paths = (json_dir, db, started, stop)
    writer = subprocess.Popen(
        writer_command("counter", *paths, seed, pause, ids_file),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        deadline = time.monotonic() + CHILD_TIMEOUT
        while not started.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        extra = ("--batch-size", batch, "--format", "json")
        command = cli("import", *_args(json_dir, db), *extra)
        if not snapshot:
            command.append("--no-snapshot")
        imported = subprocess.run(
            command, capture_output=True, text=True, env=child_env(), timeout=CHILD_TIMEOUT
        )
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=CHILD_TIMEOUT)
    assert writer.returncode == 0, err
    assert imported.returncode == 0, imported.stdout + imported.stderr
    report = json.loads(out)
    for doc_id, (partition, counter) in report["last"].items():
        expected[doc_id] = (partition, versioned(doc_id, counter))
    if Journal(json_dir).read().pending:
        code, output = migrator("repair", *_args(json_dir, db))
        assert code == 0, output
    result = validation(json_dir, db, sessions_schema)
    assert result.ok, result.counts
    want = _as_found(expected)
    assert documents(JsonStore(json_dir, sessions_schema)) == want
    sql = _sql_documents(db, sessions_schema)
    stale = sorted(i for i in want if sql.get(i) != want[i])
    assert stale == [], stale
    assert sql == want
    summary = json.loads(imported.stdout)
    print(f"{first}: {report['rounds']} writer rounds, {summary['imported']} imported")


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("phase", [Phase.SQLITE_PRIMARY, Phase.SQLITE_ONLY])
def test_import_is_refused_once_sql_is_primary(
    tmp_path: Path, sessions_schema: Schema, phase: Phase
) -> None:
    """sqlite-primary and sqlite-only: one line on stderr saying why, exit 2, the database
    untouched; a dry run still runs."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    _seed(json_dir, sessions_schema, partitions=2, per=2)
    code, output = migrator("import", *_args(json_dir, db), "--quiet", "--no-snapshot")
    assert code == 0, output
    JsonStore(json_dir, sessions_schema).put("ws-0", session("ws-0-0", task="file only"))
    PhaseState(json_dir).update(lambda record: record.moved(phase))
    sql = SqlStore(db, sessions_schema, create=False)
    before = (table_rows(sql), sql.import_marks())
    sql.close()
    refused = subprocess.run(
        cli("import", *_args(json_dir, db), "--no-snapshot"),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=CHILD_TIMEOUT,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(
        f"error: import runs in phase json-only or dual-write, not {phase}: SQL is the primary "
        "store now and the JSON files may be behind it"
    ), refused.stderr
    sql = SqlStore(db, sessions_schema, create=False)
    assert (table_rows(sql), sql.import_marks()) == before
    sql.close()
    code, output = migrator("import", *_args(json_dir, db), "--quiet", "--dry-run")
    assert code == 0, output
