"""Issue 20 point 5, found from outside: paths a user may well have. A database path is a file
path, whatever its characters: `?` does not start a URL query (the database once went to the
file named by the part before it, every command exiting 0), `%20` is not a space; and a
directory where the database file should be is one line from every command, never a
traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import migrator
from tests.safety.conftest import invoke


@pytest.mark.parametrize("folder", ["q?x=1", "pct%20d", "h#frag", "a b é"])
def test_a_database_path_is_used_as_written(
    fixture_store_dir: Path, tmp_path: Path, folder: str
) -> None:
    """Import, validate and back up through a path with URL characters: the file lands at
    that very path, and nothing is written beside the folder."""
    base = tmp_path / "databases"
    (base / folder).mkdir(parents=True)
    db = base / folder / "app.db"
    migrator.import_store(fixture_store_dir, db)
    assert migrator.validate(fixture_store_dir, db).ok
    migrator.create_backup(fixture_store_dir, db)
    assert db.is_file() and db.stat().st_size > 0
    assert [p.name for p in base.iterdir()] == [folder]


def test_the_cli_uses_a_database_path_with_a_question_mark(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "q?x=1").mkdir()
    db = tmp_path / "q?x=1" / "app.db"
    store = ["--json-dir", str(fixture_store_dir), "--db", str(db)]
    assert invoke("import", *store).exit_code == 0
    assert invoke("validate", *store).exit_code == 0
    assert db.is_file() and not (tmp_path / "q").exists()


def test_a_directory_where_the_database_should_be(fixture_store_dir: Path, tmp_path: Path) -> None:
    """Each command that reads the database says one line (status and doctor report it); doctor
    calls it a problem and backup refuses it (they said "does not exist yet", healthy, and
    backed up the JSON store alone, exit 0)."""
    store = tmp_path / "store"
    shutil.copytree(fixture_store_dir, store)
    (tmp_path / "app.db").mkdir()
    args = ["--json-dir", str(store), "--db", str(tmp_path / "app.db")]
    for command in (["status"], ["validate"], ["check"], ["import"], ["export", "--out", "x"]):
        result = invoke(*command, *args) if command[0] != "export" else invoke(*command, *args[2:])
        assert result.exit_code in (0, 1, 2), (command, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            command,
            repr(result.exception),
        )
    doctor = invoke("doctor", *args, "--format", "json")  # the table cuts long details
    assert doctor.exit_code == 1 and "a directory, not a database file" in doctor.output
    backup = invoke("backup", *args)
    assert backup.exit_code == 2 and "a directory, not a database file" in backup.stderr
