"""Resumable: a real `migrator import` process killed with SIGKILL, then run again, ends with
the same database an uninterrupted import gives."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.declaration import Schema
from tests.importer.conftest import stored_documents, valid_documents


def _command(json_dir: Path, db: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "migrator",
        "import",
        "--json-dir",
        str(json_dir),
        "--db",
        str(db),
        "--quiet",
        "--format",
        "json",
        *extra,
    ]


def _run(json_dir: Path, db: Path, *extra: str, crash_at: str | None = None) -> int:
    env = dict(os.environ)
    env.pop("MIGRATOR_CRASH_AT", None)
    if crash_at is not None:
        env["MIGRATOR_CRASH_AT"] = crash_at
    result = subprocess.run(
        _command(json_dir, db, *extra), env=env, capture_output=True, text=True, check=False
    )
    return result.returncode


def _assert_complete(json_dir: Path, db: Path, schema: Schema) -> None:
    """Every valid document of the files is in the database, exactly, and nothing else; every
    file carries its import mark, so the next run skips them all."""
    json_store = JsonStore(json_dir, schema)
    store = SqlStore(db, schema, create=False)
    try:
        assert stored_documents(store) == valid_documents(json_store)
        assert set(store.import_marks()) == set(json_store.partitions())
    finally:
        store.close()


@pytest.mark.parametrize(
    "crash_at", ["sql.after_commit:2", "sql.before_commit:3", "sql.after_commit:6"]
)
def test_killed_at_a_commit_then_rerun_equals_an_uninterrupted_import(
    crash_at: str, generated_store_dir: Path, tmp_path: Path, sessions_schema: Schema
) -> None:
    """SIGKILL before or after the N-th commit; the re-run finishes the job exactly."""
    db = tmp_path / "sessions.db"
    assert _run(generated_store_dir, db, "--batch-size", "40", crash_at=crash_at) == -signal.SIGKILL
    assert _run(generated_store_dir, db, "--batch-size", "40") == 0
    _assert_complete(generated_store_dir, db, sessions_schema)


def test_killed_while_applying_changes_then_rerun_applies_them_all(
    generated_store_dir: Path, tmp_path: Path, sessions_schema: Schema
) -> None:
    """A re-import of edited files (changed, added and removed documents) killed half-way,
    then run again with --prune, leaves the database equal to the edited files."""
    db = tmp_path / "sessions.db"
    assert _run(generated_store_dir, db) == 0
    json_store = JsonStore(generated_store_dir, sessions_schema)
    for partition in json_store.partitions()[:3]:
        docs = json_store.read_partition(partition)
        docs[0]["task"] = f"edited in {partition}"
        moved = docs.pop(1)
        moved["id"] += "-new"
        for message in moved.get("chat_history", []):
            message["id"] += "-new"
        json_store.write_partition(partition, [*docs, moved])
    assert (
        _run(
            generated_store_dir, db, "--batch-size", "30", "--prune", crash_at="sql.after_commit:3"
        )
        == -signal.SIGKILL
    )
    assert _run(generated_store_dir, db, "--prune") == 0
    _assert_complete(generated_store_dir, db, sessions_schema)


def test_killed_at_a_random_moment_then_rerun_equals_an_uninterrupted_import(
    generated_store_dir: Path,
    tmp_path: Path,
    sessions_schema: Schema,
    request: pytest.FixtureRequest,
) -> None:
    """SIGKILL from outside after a random delay (a few rounds; more with --soak)."""
    rounds = 12 if request.config.getoption("--soak") else 3
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    for round_number in range(rounds):
        db = tmp_path / f"round-{round_number}.db"
        process = subprocess.Popen(
            _command(generated_store_dir, db, "--batch-size", "25"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 2.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert _run(generated_store_dir, db, "--batch-size", "25") == 0, f"seed {seed}"
        _assert_complete(generated_store_dir, db, sessions_schema)
