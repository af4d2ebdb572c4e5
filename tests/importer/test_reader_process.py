"""The helper process that reads and maps files: same results as in-process, and it never
outlives a killed importer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.import_reader import read_file, read_files
from migrator.importer import import_store
from migrator.schemas.declaration import Schema
from tests.importer.conftest import FIXTURES, stored_documents, table_rows, valid_documents


@pytest.fixture
def mixed_store(fixture_store_dir: Path, sessions_schema: Schema) -> JsonStore:
    """The fixture store plus every bad file."""
    for path in (FIXTURES / "bad").iterdir():
        (fixture_store_dir / path.name).write_bytes(path.read_bytes())
    return JsonStore(fixture_store_dir, sessions_schema)


def test_helper_reads_exactly_what_in_process_reading_gives(mixed_store: JsonStore) -> None:
    """Every file read by the helper process equals the same file read in-process."""
    partitions = mixed_store.partitions()
    known = {partitions[0]: "not its hash", partitions[1]: _sha(mixed_store, partitions[1])}
    helper = list(read_files(mixed_store, partitions, known, digests=True, parallel=True))
    inline = [read_file(mixed_store, p, known.get(p), digests=True) for p in partitions]
    assert helper == inline
    assert helper[1] is not None and helper[1].unchanged


def test_import_through_the_helper_equals_import_in_process(
    mixed_store: JsonStore, tmp_path: Path, sessions_schema: Schema
) -> None:
    """Same summary, same rejects file, same rows, with or without the helper process."""
    rows, summaries, rejects = [], [], []
    for parallel in (False, True):
        store = SqlStore(tmp_path / f"{parallel}.db", sessions_schema)
        path = tmp_path / f"{parallel}.jsonl"
        summary = import_store(mixed_store, store, rejects_path=path, parallel=parallel)
        summaries.append([(p.name, p.status, p.imported, p.rejected) for p in summary.partitions])
        rejects.append(path.read_bytes())
        assert stored_documents(store) == valid_documents(mixed_store)
        rows.append(table_rows(store))
        store.close()
    assert summaries[0] == summaries[1]
    assert rejects[0] == rejects[1]
    assert rows[0] == rows[1]


def test_dry_run_through_the_helper(mixed_store: JsonStore, tmp_path: Path) -> None:
    """The dry run's comparison works with documents mapped in the helper process."""
    store = SqlStore(tmp_path / "never.db", mixed_store.schema)
    summary = import_store(mixed_store, store, dry_run=True, parallel=True)
    assert (summary.imported, summary.rejected) == (41, 8)
    assert not (tmp_path / "never.db").exists()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_helper_exits_when_the_importer_is_killed(
    generated_store_dir: Path, tmp_path: Path
) -> None:
    """SIGKILL of the importer mid-run: its helper process ends on its own (no orphan)."""
    marker = f"MIGRATOR_TEST_MARKER={uuid.uuid4().hex}"
    script = (
        "from migrator.adapters.json_store import JsonStore\n"
        "from migrator.adapters.sql_store import SqlStore\n"
        "from migrator.importer import import_store\n"
        "from migrator.schemas.registry import resolve\n"
        "schema = resolve('sessions')\n"
        f"store = SqlStore({str(tmp_path / 'kill.db')!r}, schema)\n"
        f"import_store(JsonStore({str(generated_store_dir)!r}, schema), store, batch_size=20,"
        " parallel=True)\n"
    )
    env = dict(os.environ, MIGRATOR_TEST_MARKER=marker.split("=", 1)[1])
    env["MIGRATOR_CRASH_AT"] = "sql.after_commit:3"
    process = subprocess.run([sys.executable, "-c", script], env=env, check=False)
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == []


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if marker.encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def _sha(store: JsonStore, partition: str) -> str:
    import hashlib

    data = store.read_bytes(partition)
    assert data is not None
    return hashlib.sha256(data).hexdigest()
