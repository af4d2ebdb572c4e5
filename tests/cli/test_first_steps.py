"""A newcomer's first commands and usual mistakes (issue 16, points 3 and 7): `check` in
json-only follows the documented flow and creates nothing; a wrong --db or --json-dir gets one
line naming what is wrong, the same from every command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli.hints import run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "store"


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "data")
    return tmp_path


def test_check_in_json_only_is_ready_and_read_only(cwd: Path) -> None:
    """Point 3: before the move, check does not ask for an import (the import runs after the
    move), creates no database, and answers the same twice."""
    first = run(["check", "--json-dir", "data", "--db", "app.db"], cwd)
    second = run(["check", "--json-dir", "data", "--db", "app.db"], cwd)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("READY: json-only -> dual-write")
    assert "import" not in first.stdout.replace("the import runs after", "")
    assert first.stdout == second.stdout
    assert not (cwd / "app.db").exists()
    moved = run(["phase", "set", "dual-write", "--json-dir", "data", "--db", "app.db"], cwd)
    assert moved.returncode == 0, moved.stderr  # ready meant ready


def test_check_in_json_only_names_a_missing_database_folder(cwd: Path) -> None:
    result = run(["check", "--json-dir", "data", "--db", "nowhere/app.db"], cwd)
    assert result.returncode == 1
    assert f"the folder {cwd / 'nowhere'} does not exist" in result.stdout
    assert not (cwd / "nowhere").exists()


@pytest.mark.parametrize(
    "command",
    [["import"], ["validate"], ["init"], ["phase", "set", "dual-write"]],
)
def test_a_database_in_a_missing_folder_names_the_folder(cwd: Path, command: list[str]) -> None:
    """Point 7: not SQLite's 'unable to open database file', and not 'run migrator init'."""
    args = [*command, "--db", "nowhere/app.db"]
    if command != ["init"]:
        args += ["--json-dir", "data"]
    result = run(args, cwd)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].endswith(f"the folder {cwd / 'nowhere'} does not exist"), result.stderr
    assert "unable to open" not in result.stderr and "migrator init" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["import", "validate", "check"])
def test_a_json_dir_naming_a_file_gets_one_message(cwd: Path, command: str) -> None:
    """Point 7: the same line from every command."""
    a_file = sorted((cwd / "data").glob("*.json"))[0].relative_to(cwd)
    result = run([command, "--json-dir", str(a_file), "--db", "app.db"], cwd)
    assert result.returncode == 2
    assert result.stderr == f"error: --json-dir {a_file}: is a file, not a directory\n"


def test_an_unusable_database_is_refused_without_inviting_force(cwd: Path) -> None:
    """Point 7: a database that cannot take writes is not something --force gets past."""
    (cwd / "app.db").mkdir()  # the path is taken: no database can live there
    for extra in ([], ["--force"]):
        result = run(
            ["phase", "set", "dual-write", "--json-dir", "data", "--db", "app.db", *extra], cwd
        )
        assert result.returncode == 2, result.stdout
        # One line naming the path and why (since 1994775 the path is refused before the
        # guards run, which said "cannot enter dual-write: the database cannot be used").
        assert result.stderr.startswith("error: database ") and result.stderr.count("\n") == 1
        assert "app.db: a directory, not a database file" in result.stderr
        assert "--force" not in result.stderr
    shown = run(["phase", "show", "--json-dir", "data"], cwd)
    assert shown.stdout.startswith("phase: json-only")
