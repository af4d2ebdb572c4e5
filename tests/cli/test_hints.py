"""Fix hints paste (issue 16, point 4): each names --json-dir, --db and --schema as given,
quoted for the shell, password hidden; running the printed commands does what they promise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.hints import command
from tests.cli.hints import commands_in, run, run_hint
from tests.second_schema import NOTES, note

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "store"
STORE = "my store"  # a space: the hints must quote it
STORES = ["--json-dir", STORE, "--db", "app.db"]


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / STORE)
    return tmp_path


def _ok(args: list[str], cwd: Path) -> str:
    result = run(args, cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _run_all(text: str, cwd: Path) -> list[str]:
    hints = commands_in(text)
    assert hints, f"no command in {text!r}"
    for hint in hints:
        result = run_hint(hint, cwd)
        assert result.returncode == 0, f"{hint}\n{result.stdout}{result.stderr}"
    return hints


def test_the_sqlite_primary_refusal_names_a_command_that_works(cwd: Path) -> None:
    """Entering sqlite-primary unvalidated is refused; its `run:` hint validates these stores,
    after which the move passes; the move's `next:` hint runs too."""
    _ok(["phase", "set", "dual-write", *STORES], cwd)
    _ok(["import", *STORES, "-q"], cwd)
    refused = run(["phase", "set", "sqlite-primary", *STORES], cwd)
    assert refused.returncode == 2
    hints = _run_all(refused.stderr, cwd)
    assert hints == ["migrator validate --json-dir 'my store' --db app.db"]
    moved = _ok(["phase", "set", "sqlite-primary", *STORES], cwd)
    next_line = next(line for line in moved.splitlines() if "next:" in line)
    assert _run_all(next_line, cwd)[0] == "migrator check --json-dir 'my store' --db app.db"


def test_check_fixes_in_dual_write_bring_the_stores_level(cwd: Path) -> None:
    """A change made to a file behind the import's back: check's fix commands, run as printed,
    make the next check ready."""
    _ok(["phase", "set", "dual-write", *STORES], cwd)
    _ok(["import", *STORES, "-q"], cwd)
    partition = sorted((cwd / STORE).glob("*.json"))[0]
    documents = json.loads(partition.read_text(encoding="utf-8"))
    documents[0]["task"] = "changed behind the import's back"
    partition.write_text(json.dumps(documents, indent=2), encoding="utf-8")
    not_ready = run(["check", *STORES], cwd)
    assert not_ready.returncode == 1, not_ready.stdout + not_ready.stderr
    fix = next(line for line in not_ready.stdout.splitlines() if "fix:" in line)
    assert _run_all(fix, cwd) == [
        "migrator repair --json-dir 'my store' --db app.db",
        "migrator import --json-dir 'my store' --db app.db --prune",
        "migrator validate --json-dir 'my store' --db app.db",
    ]
    _ok(["check", *STORES], cwd)


def test_one_step_at_a_time_names_the_step_with_the_stores(cwd: Path) -> None:
    refused = run(["phase", "set", "sqlite-primary", *STORES], cwd)
    assert refused.returncode == 2
    assert _run_all(refused.stderr, cwd) == [
        "migrator phase set dual-write --json-dir 'my store' --db app.db"
    ]


def test_hints_name_the_schema_given(tmp_path: Path) -> None:
    """With --schema package.module:ATTRIBUTE the printed hint carries it: pasted, it works."""
    JsonStore(tmp_path / "notes", NOTES).put("inbox", note("n1"))
    stores = ["--json-dir", "notes", "--db", "notes.db", "--schema", "tests.second_schema:NOTES"]
    _ok(["phase", "set", "dual-write", *stores], tmp_path)
    _ok(["import", *stores, "-q"], tmp_path)
    refused = run(["phase", "set", "sqlite-primary", *stores], tmp_path)
    assert _run_all(refused.stderr, tmp_path) == [
        "migrator validate --json-dir notes --db notes.db --schema tests.second_schema:NOTES"
    ]
    _ok(["phase", "set", "sqlite-primary", *stores], tmp_path)


def test_a_hint_hides_the_password_and_quotes_for_the_shell() -> None:
    text = command(
        "validate", json_dir="a b", db="postgresql://app:s3cret@db.internal/app", schema=NOTES
    )
    assert text == (
        "migrator validate --json-dir 'a b' --db 'postgresql://app:***@db.internal/app' "
        "--schema tests.second_schema:NOTES"
    )
    assert "--schema" not in command("validate", json_dir="a", db="b", schema="sessions")
