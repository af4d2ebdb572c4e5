"""Live-system fixtures: the fixture store imported into a real SQLite database, helpers that
change one side as a write in flight would, and a writer process that keeps changing documents
through the application's store (`migrator.adapters.dual_write.open_store`) while a validation
runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import SqlStore
from migrator.cli import app
from migrator.importer import import_store
from migrator.schemas.declaration import Schema
from migrator.validator import ValidationReport, validate
from tests.writers import child_env, writer_command

REPO = Path(__file__).resolve().parents[2]
FIXTURE_STORE = REPO / "fixtures" / "store"
P1, P2, P3 = "3f2a9c1e7b6d4a10", "8c1d2e3f4a5b6c7d", "a0b1c2d3e4f5a6b7"
MIGRATOR_ENV = ("MIGRATOR_DB", "MIGRATOR_JSON_DIR", "MIGRATOR_CONFIG", "MIGRATOR_SCHEMA")


def sid(workspace: int, n: int) -> str:
    """The id of the n-th fixture session of a workspace (P1 is 0, P2 is 1, P3 is 2)."""
    return f"00000000-0000-4000-8000-{workspace:04d}{n:08d}"


def stamp(seconds_ago: float = 0.0) -> str:
    """An RFC 3339 UTC timestamp `seconds_ago` before now, as an application writes one."""
    moment = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Live:
    """A JSON store and a database that agree (the fixture store, imported), and helpers."""

    json_dir: Path
    db: Path
    schema: Schema

    def json(self) -> JsonStore:
        return JsonStore(self.json_dir, self.schema)

    def doc(self, doc_id: str) -> dict[str, Any]:
        """A document as the JSON store holds it."""
        found = self.json().get(doc_id)
        assert found is not None, doc_id
        return found

    def put_json(self, partition: str, doc: dict[str, Any]) -> None:
        self.json().put(partition, doc)

    def put_sql(self, partition: str, doc: dict[str, Any]) -> None:
        sql = SqlStore(self.db, self.schema)
        try:
            sql.put(partition, doc)
        finally:
            sql.close()

    def set_phase(self, phase: Phase) -> None:
        """Put the stores in `phase` without guards (tests that are not about moves)."""
        PhaseState(self.json_dir).update(lambda record: record.moved(phase))

    def validate(self, **options: Any) -> ValidationReport:
        sql = SqlStore(self.db, self.schema, create=False)
        try:
            return validate(self.json(), sql, **options)
        finally:
            sql.close()

    def cli(self, *args: str) -> Result:
        """A `migrator` command on these stores, in process (the stores come from the env)."""
        env = {"MIGRATOR_JSON_DIR": str(self.json_dir), "MIGRATOR_DB": str(self.db)}
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **env})

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A `migrator` command in a process of its own, as a user or CI runs it."""
        env = {k: v for k, v in os.environ.items() if k not in MIGRATOR_ENV}
        env.update(MIGRATOR_JSON_DIR=str(self.json_dir), MIGRATOR_DB=str(self.db))
        return subprocess.run(
            [sys.executable, "-m", "migrator", *args],
            capture_output=True,
            text=True,
            cwd=self.json_dir.parent,
            env=env,
            timeout=300,
        )


def import_fixture_store(json_dir: Path, db: Path, schema: Schema) -> None:
    """Import `json_dir` into `db` with the real importer, asserting every document went in."""
    sql = SqlStore(db, schema)
    try:
        summary = import_store(JsonStore(json_dir, schema), sql)
    finally:
        sql.close()
    assert summary.rejected == 0 and summary.documents == 36, summary


@pytest.fixture
def live(tmp_path: Path, sessions_schema: Schema, monkeypatch: pytest.MonkeyPatch) -> Live:
    """The fixture store and its import, private to the test, where no config interferes."""
    monkeypatch.chdir(tmp_path)
    for name in MIGRATOR_ENV:
        monkeypatch.delenv(name, raising=False)
    json_dir = tmp_path / "json"
    shutil.copytree(FIXTURE_STORE, json_dir)
    db = tmp_path / "sessions.db"
    import_fixture_store(json_dir, db, sessions_schema)
    return Live(json_dir, db, sessions_schema)


@dataclass
class Writer:
    """A running writer process (`tests.writers rewrite`) and how to stop it."""

    process: subprocess.Popen[str]
    stop_file: Path
    writes: int = field(default=0)

    def stop(self) -> int:
        """Stop the writer, wait for it, and return how many documents it wrote."""
        self.stop_file.touch()
        out, err = self.process.communicate(timeout=120)
        assert self.process.returncode == 0, err
        self.writes = int(out.strip())
        return self.writes


@pytest.fixture
def start_writer(live: Live) -> Iterator[Any]:
    """Start a writer that keeps rewriting `(partition, id)` documents, each with its
    `updated_at` set to now, through the dual-write store; returns once each was written once."""
    started: list[Writer] = []

    def start(targets: list[tuple[str, str]]) -> Writer:
        ready = live.json_dir.parent / f"writer-{len(started)}.ready"
        stop = live.json_dir.parent / f"writer-{len(started)}.stop"
        args = [str(live.json_dir), str(live.db), str(ready), str(stop)]
        args += [f"{partition}:{doc_id}" for partition, doc_id in targets]
        process = subprocess.Popen(
            writer_command("rewrite", *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        writer = Writer(process, stop)
        started.append(writer)
        deadline = time.monotonic() + 120
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                _, err = process.communicate(timeout=30)
                pytest.fail(f"the writer did not start: {err}")
            time.sleep(0.02)
        return writer

    yield start
    for writer in started:
        if writer.process.poll() is None:
            writer.stop_file.touch()
            try:
                writer.process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                writer.process.kill()
                writer.process.communicate()
