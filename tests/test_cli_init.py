"""`migrator init`, `--version`, `--help`, and how a fatal error looks on the command line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import migrator
from migrator.cli import app

REPO = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m migrator ARGS` in a fresh process, the way a user runs it."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("MIGRATOR_")
    }
    environment["PYTHONPATH"] = str(REPO)  # so `tests.second_schema:NOTES` resolves
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CliRunner working in an empty directory (no config file) with no MIGRATOR_* set."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("MIGRATOR_"):
            monkeypatch.delenv(key)
    return CliRunner()


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_init_twice(runner: CliRunner, tmp_path: Path) -> None:
    """init creates the tables, and a second run says they are there; both exit 0."""
    db = tmp_path / "m.db"
    first = runner.invoke(app, ["init", "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert "schema 'sessions' v1: tables created in sqlite:///" in first.stdout
    second = runner.invoke(app, ["init", "--db", str(db)])
    assert second.exit_code == 0, second.output
    assert "tables already present" in second.stdout
    assert {"sessions", "instances", "chat_messages", "workspaces", "migrator_meta"} <= tables(db)


def test_init_reads_the_database_from_the_environment(runner: CliRunner, tmp_path: Path) -> None:
    """MIGRATOR_DB stands in for --db."""
    db = tmp_path / "env.db"
    result = runner.invoke(app, ["init"], env={"MIGRATOR_DB": str(db)})
    assert result.exit_code == 0, result.output
    assert "sessions" in tables(db)


def test_init_with_a_schema_of_ones_own(tmp_path: Path) -> None:
    """--schema package.module:attribute creates that schema's tables, nothing else."""
    db = tmp_path / "notes.db"
    result = run_cli("init", "--db", str(db), "--schema", "tests.second_schema:NOTES", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "schema 'notes' v3: tables created" in result.stdout
    found = tables(db)
    assert {"notes", "note_tags", "note_revisions"} <= found
    assert "sessions" not in found


def test_unknown_schema_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """--schema nope: exit 2 with a single `error:` line on stderr, no traceback, no database."""
    db = tmp_path / "m.db"
    result = run_cli("init", "--db", str(db), "--schema", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: schema 'nope': not a built-in schema (sessions) nor of the form "
        "package.module:attribute"
    ]
    assert "Traceback" not in result.stderr + result.stdout
    assert not db.exists()


def test_database_of_another_schema_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """init --schema sessions on a notes database: a one-line SchemaMismatchError, exit 2."""
    db = tmp_path / "notes.db"
    assert (
        run_cli(
            "init", "--db", str(db), "--schema", "tests.second_schema:NOTES", cwd=tmp_path
        ).returncode
        == 0
    )
    result = run_cli("init", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database sqlite:///")
    assert "holds schema 'notes', not 'sessions'" in lines[0]


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    """--debug re-raises, so the traceback is there for whoever asked for it."""
    result = run_cli(
        "--debug", "init", "--db", str(tmp_path / "m.db"), "--schema", "nope", cwd=tmp_path
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "SchemaNotFoundError" in result.stderr


def test_version(tmp_path: Path) -> None:
    """python -m migrator --version prints the package version."""
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"migrator {migrator.__version__}"


def test_help_lists_every_command(runner: CliRunner) -> None:
    """--help lists each registered command and command group, init among them."""
    result = runner.invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    names = {
        command.name or command.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
        for command in app.registered_commands
    } | {group.name for group in app.registered_groups}
    assert "init" in names
    for name in names:
        assert f" {name} " in result.stdout, name


def test_every_command_has_help(runner: CliRunner) -> None:
    """Each command describes itself in its --help."""
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
        result = runner.invoke(app, [name, "--help"], terminal_width=200)
        assert result.exit_code == 0, name
        assert "Usage:" in result.stdout and len(result.stdout.splitlines()) > 3, name


def test_no_arguments_shows_help(runner: CliRunner) -> None:
    """Bare `migrator` prints help instead of doing anything."""
    result = runner.invoke(app, [])
    assert "Usage:" in result.output
    assert "init" in result.output


def test_missing_db_is_a_usage_error(tmp_path: Path) -> None:
    """init without --db (or MIGRATOR_DB) is a usage error, exit 2."""
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 2
    assert "--db" in result.stderr
    assert "Traceback" not in result.stderr
