"""Real processes: a writer SIGKILLed between the two stores, then `migrator repair`; several
writers at once; every write present and both stores equal at the end."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from migrator.adapters.journal import Journal
from migrator.adapters.phase_state import Phase
from migrator.phase_guards import record_validation
from migrator.phases import set_phase
from tests.databases import on_both
from tests.dual_write.conftest import Env
from tests.writers import child_env, writer_command


def _writer(
    env: Env, name: str, count: int, *extra: str, crash_at: str | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        writer_command("rounds", env.json_dir, env.db, name, count, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(crash_at),
    )


@on_both
@pytest.mark.parametrize(
    ("phase", "crash_at"),
    [
        (Phase.DUAL_WRITE, "dual.between_writes:4"),
        (Phase.SQLITE_PRIMARY, "dual.between_writes:4"),
        (Phase.DUAL_WRITE, "sql.before_commit:3"),
        (Phase.SQLITE_PRIMARY, "json.before_rename:3"),
        (Phase.SQLITE_PRIMARY, "sql.after_commit:5"),
    ],
)
def test_sigkill_mid_write_then_repair_validates_clean(
    env: Env, phase: Phase, crash_at: str
) -> None:
    """A writer killed at any point of a dual write leaves what `migrator repair` fixes."""
    env.set_phase_raw(phase)
    writer = _writer(env, "w", 10, crash_at=crash_at)
    _, err = writer.communicate(timeout=120)
    assert writer.returncode == -signal.SIGKILL, err
    pending = Journal(env.json_dir).read().pending
    assert pending, "the interrupted write must be visible in the journal"
    before = env.validate()
    repaired = env.cli("repair", "--json-dir", str(env.json_dir), "--db", str(env.db))
    assert repaired.returncode == 0, repaired.stderr
    env.assert_agree()
    assert Journal(env.json_dir).read().pending == ()
    if crash_at.startswith("dual.between_writes"):
        # The primary had the write; repair carried it over rather than dropping it.
        assert not before.ok
        interrupted = pending[-1]
        primary = env.documents(interrupted.primary.value)
        assert interrupted.doc_id in primary


def test_sqlite_primary_killed_after_its_commit_leaves_a_staged_file_repair_removes(
    env: Env,
) -> None:
    """Issue 19: in sqlite-primary the JSON side is staged before the SQL commit and renamed
    after it. Killed between the two, the staged file is left beside the partition: no reader
    opens it, doctor lists it, and repair copies SQL's version to JSON and removes it."""
    env.set_phase_raw(Phase.SQLITE_PRIMARY)
    writer = _writer(env, "w", 10, crash_at="dual.between_writes:4")
    _, err = writer.communicate(timeout=120)
    assert writer.returncode == -signal.SIGKILL, err
    staged = list(env.json_dir.glob(".*.json.*.tmp"))
    assert staged, "the JSON side is staged before the SQL commit"
    interrupted = Journal(env.json_dir).read().pending[-1]
    sql_version = env.documents("sql")[interrupted.doc_id]
    assert env.documents("json").get(interrupted.doc_id) != sql_version
    assert sorted(env.json_store().partitions()) == sorted(env.sql_store().partitions())
    doctor = env.cli("doctor", "--json-dir", str(env.json_dir), "--db", str(env.db))
    assert f"{len(staged)} left by a killed writer" in doctor.stdout, doctor.stdout
    repaired = env.cli("repair", "--json-dir", str(env.json_dir), "--db", str(env.db))
    assert repaired.returncode == 0, repaired.stderr
    assert f"removed {len(staged)} staged file(s)" in repaired.stdout, repaired.stdout
    env.assert_agree()
    assert env.documents("json")[interrupted.doc_id] == sql_version
    assert Journal(env.json_dir).read().pending == ()
    assert list(env.json_dir.glob(".*.json.*.tmp")) == []


@on_both
def test_four_writers_lose_no_update_while_the_phase_moves(env: Env) -> None:
    """Four processes write at once while the stores move dual-write -> sqlite-primary:
    every write is present, the stores are equal, no "database is locked" surfaces."""
    _validated_dual_write(env)
    writers = [_writer(env, f"p{n}", 30, "--shared", "3") for n in range(4)]
    _wait_until_writing(env, writers)
    # Forced: a validation while writers run may see writes in flight; the move is the point.
    moved = set_phase(env.json_dir, env.db, env.schema, "sqlite-primary", force=True)
    running_at_move = sum(w.poll() is None for w in writers)
    outputs = [w.communicate(timeout=300) for w in writers]
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "locked" not in err
    json_docs, sql_docs = env.documents("json"), env.documents("sql")
    assert json_docs == sql_docs
    for out, _ in outputs:
        for doc_id, task in json.loads(out).items():
            if task is None:
                assert doc_id not in sql_docs
            else:
                assert doc_id in sql_docs
                assert f'"task":"{task}"'.encode() in sql_docs[doc_id][1]
    assert Journal(env.json_dir).read().pending == ()
    env.assert_agree()
    assert moved.to_phase is Phase.SQLITE_PRIMARY
    print(f"writers still running when the phase moved: {running_at_move}")


def _wait_until_writing(env: Env, writers: list[subprocess.Popen[str]]) -> None:
    """Until the first writer's documents appear (or every writer ended)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(w.poll() is None for w in writers):
        if any(doc_id.startswith("p") for doc_id in env.documents("json")):
            return
        time.sleep(0.05)


def _validated_dual_write(env: Env) -> None:
    set_phase(env.json_dir, env.db, env.schema, "dual-write")
    report = env.validate()
    assert report.ok
    record_validation(env.json_dir, report)
