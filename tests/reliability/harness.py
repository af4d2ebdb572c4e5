"""Crash injection: run a real command in a child process, kill it with SIGKILL at a named
checkpoint (`MIGRATOR_CRASH_AT=point:N`, see `migrator.adapters.faults`) or after a random delay,
then
let the caller recover (re-run, `migrator repair`) and check what is left.

Children run in parallel (a few at a time, each in its own directory): most of a child's time
is the interpreter starting, which overlaps well. Every wait is bounded.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import NAME as STATE_DIR
from migrator.cli import app
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.declaration import Schema
from migrator.schemas.jsontext import JsonDecodeError, loads
from migrator.validator import ValidationReport, validate
from tests.writers import child_env

REPO = Path(__file__).resolve().parents[2]
#: A child that takes longer than this is a hang: killed, and the test fails.
CHILD_TIMEOUT = 120.0
#: Children run at once (the machine has two cores; other suites share them).
PARALLEL = 3


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: at a checkpoint (`name:N`, the N-th time it is reached), or `delay`
    seconds after the child is ready."""

    crash_at: str | None = None
    delay: float | None = None

    @property
    def label(self) -> str:
        return self.crash_at or f"after {self.delay:.2f}s"


@dataclass(frozen=True)
class Outcome:
    """How a child ended: killed (where we meant it to be) or finished on its own."""

    point: KillPoint
    returncode: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


def cli(*args: str) -> list[str]:
    """The real `migrator` command line."""
    return [sys.executable, "-m", "migrator", *args]


def run_child(
    command: Sequence[str],
    point: KillPoint,
    *,
    ready: Callable[[], bool] | None = None,
    cwd: Path | None = None,
) -> Outcome:
    """Run `command` until it dies at `point` or finishes (a hang is killed and raised)."""
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(point.crash_at),
        cwd=cwd or REPO,
    )
    if point.delay is not None:
        deadline = time.monotonic() + CHILD_TIMEOUT
        while ready is not None and not ready() and process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        time.sleep(point.delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    try:
        out, err = process.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"{command} hung at {point.label}: {err[-2000:]}") from None
    return Outcome(point, process.returncode, out, err)


def run_all(jobs: Iterable[Callable[[], Any]], parallel: int = PARALLEL) -> list[Any]:
    """Run the jobs a few at a time; their results in order."""
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda job: job(), jobs))


def migrator(*args: str) -> tuple[int, str]:
    """Run a command in this process (recovery after a kill): exit code and output. Main
    thread only: CliRunner swaps sys.stdout for the whole process."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


# --------------------------------------------------------------------------- checks


def validation(json_dir: Path, db: Path, schema: Schema) -> ValidationReport:
    sql = SqlStore(db, schema, create=False)
    try:
        return validate(JsonStore(json_dir, schema), sql)
    finally:
        sql.close()


def unparsable_files(json_dir: Path) -> list[str]:
    """Every partition file must be a JSON array, every state file (`.migrator/*.json`, and
    each line of `*.jsonl`) JSON; what is not, with why. Half-built backups (`.tmp-*`
    directories, pruned later) are not looked at."""
    problems = []
    for path in sorted(json_dir.glob("*.json")):
        try:
            if not isinstance(loads(path.read_bytes()), list):
                problems.append(f"{path}: not an array")
        except JsonDecodeError as exc:
            problems.append(f"{path}: {exc}")
    state = json_dir / STATE_DIR
    for path in sorted(state.rglob("*.json*")) if state.is_dir() else ():
        if any(part.startswith(".tmp-") for part in path.relative_to(state).parts):
            continue
        if path.suffix not in (".json", ".jsonl"):
            continue
        data = path.read_bytes()
        chunks = data.split(b"\n") if path.suffix == ".jsonl" else [data]
        for number, chunk in enumerate(chunks, 1):
            if not chunk.strip():
                continue
            try:
                loads(chunk)
            except JsonDecodeError as exc:
                problems.append(f"{path}:{number}: {exc}")
    return problems


def leftover_temp_files(json_dir: Path) -> list[Path]:
    """Temporary files of an interrupted atomic write (`.<name>.<random>.tmp`): ignored by
    every reader, never a partition."""
    return sorted(json_dir.glob(".*.tmp")) + sorted((json_dir / STATE_DIR).glob(".*.tmp"))


def documents(store: JsonStore | SqlStore) -> dict[str, list[tuple[str, bytes]]]:
    """id -> [(partition, canonical bytes)] of every copy a store holds (one, unless duplicated)."""
    found: dict[str, list[tuple[str, bytes]]] = {}
    for partition in store.partitions():
        for doc in store.list(partition):
            found.setdefault(doc["id"], []).append((partition, canonical_bytes(doc)))
    return found


def order(store: JsonStore | SqlStore) -> dict[str, list[str]]:
    """partition -> ids in stored order."""
    return {p: [d["id"] for d in store.list(p)] for p in store.partitions()}


def duplicated(found: dict[str, list[tuple[str, bytes]]]) -> list[str]:
    return sorted(doc_id for doc_id, copies in found.items() if len(copies) > 1)


def lost(
    expected: dict[str, tuple[str, bytes]], found: dict[str, list[tuple[str, bytes]]]
) -> list[str]:
    """Ids whose expected version (and partition) is not what the store holds."""
    return sorted(i for i, want in expected.items() if found.get(i) != [want])
