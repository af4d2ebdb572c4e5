"""Dual-write fixtures: a real JSON directory and a real SQLite database holding the same
documents, small session documents to write, and helpers that assert the two stores agree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migrator.adapters.dual_write import DualWriteStore, open_store
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import SqlStore
from migrator.errors import DatabaseError
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve
from migrator.validator import ValidationReport, validate

REPO = Path(__file__).resolve().parents[2]
FIXTURE_STORE = REPO / "fixtures" / "store"
PARTITIONS = ("ws-a", "ws-b", "ws-c")
INSTANCE: dict[str, Any] = {
    "instance_id": 1,
    "worktree_path": "/work/wt-1",
    "branch": "b",
    "agent_name": "claude",
    "status": "running",
    "tmux_session_id": "tmux-1",
    "start_time": "2025-01-13T10:00:00Z",
}


def session(doc_id: str, version: int = 0, **extra: Any) -> dict[str, Any]:
    """A small valid session document; `version` goes into `task` so versions differ."""
    doc: dict[str, Any] = {
        "id": doc_id,
        "type": "ensemble",
        "task": f"task of {doc_id} v{version}",
        "status": "running",
        "created_at": "2025-01-13T10:00:00Z",
        "updated_at": f"2025-01-13T10:{version % 60:02d}:00Z",
        "instances": [INSTANCE | {"branch": f"b-{version}"}],
        "chat_history": [
            {
                "id": f"{doc_id}-m0",
                "role": "user",
                "content": f"hello {version}",
                "timestamp": "2025-01-13T10:00:00Z",
            }
        ],
    }
    doc.update(extra)
    return doc


@dataclass
class Env:
    """A JSON directory and a database (a SQLite path, or a PostgreSQL URL: see
    tests/databases.py), with the helpers the tests share."""

    json_dir: Path
    db: Path
    schema: Schema

    def open(self, **kwargs: Any) -> DualWriteStore:
        return open_store(self.json_dir, self.db, self.schema, **kwargs)

    def json_store(self) -> JsonStore:
        return JsonStore(self.json_dir, self.schema)

    def sql_store(self) -> SqlStore:
        return SqlStore(self.db, self.schema)

    def set_phase_raw(self, phase: Phase) -> None:
        """Put the stores in `phase` without guards (tests that are not about moves)."""
        state = PhaseState(self.json_dir)
        state.update(lambda record: record.moved(phase))

    def validate(self) -> ValidationReport:
        sql = SqlStore(self.db, self.schema, create=False)
        try:
            return validate(self.json_store(), sql)
        finally:
            sql.close()

    def assert_agree(self) -> None:
        report = self.validate()
        assert report.ok, report.to_dict()

    def documents(self, side: str) -> dict[str, tuple[str, bytes]]:
        """id -> (partition, canonical bytes) of every document on one side."""
        store: JsonStore | SqlStore = self.json_store() if side == "json" else self.sql_store()
        try:
            return {d["id"]: (p, canonical_bytes(d)) for p, d in store.iter_documents()}
        finally:
            store.close()

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `migrator` command in a subprocess."""
        return subprocess.run(
            [sys.executable, "-m", "migrator", *args],
            capture_output=True,
            text=True,
            cwd=self.json_dir.parent,
            env=env,
            timeout=120,
        )


def seed(env: Env, docs: dict[str, list[dict[str, Any]]]) -> None:
    """Write the same documents into both stores directly (as an import would)."""
    json_store = env.json_store()
    sql = env.sql_store()
    try:
        sql.init_schema()
        for partition, items in docs.items():
            json_store.write_partition(partition, items)
            for doc in items:
                sql.put(partition, doc)
    finally:
        sql.close()


def small_env(json_dir: Path, db: Path | str, schema: Schema) -> Env:
    """Small stores that agree: 3 partitions of 4 sessions each, in json-only."""
    result = Env(json_dir, db, schema)  # type: ignore[arg-type]
    result.json_dir.mkdir()
    seed(result, {p: [session(f"{p}-{n}") for n in range(4)] for p in PARTITIONS})
    return result


@pytest.fixture
def env(tmp_path: Path, database: Path, sessions_schema: Schema) -> Env:
    """Small stores that agree (`small_env`) over the test's database."""
    return small_env(tmp_path / "json", database, sessions_schema)


@pytest.fixture
def fixture_env(tmp_path: Path, database: Path) -> Env:
    """The committed fixture store (every edge case) imported into a database."""
    schema = resolve("sessions")
    result = Env(tmp_path / "json", database, schema)
    shutil.copytree(FIXTURE_STORE, result.json_dir)
    sql = result.sql_store()
    try:
        sql.init_schema()
        for partition, doc in result.json_store().iter_documents():
            sql.put(partition, doc)
    finally:
        sql.close()
    return result


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> Callable[[type, str], None]:
    """Make a store class's method raise, as a store that is down would."""

    def arm(cls: type, method: str) -> None:
        def broken(*args: Any, **kwargs: Any) -> Any:
            raise DatabaseError(f"injected failure in {cls.__name__}.{method}")

        monkeypatch.setattr(cls, method, broken)

    return arm


@pytest.fixture
def store(env: Env) -> Iterator[DualWriteStore]:
    with env.open() as opened:
        yield opened
