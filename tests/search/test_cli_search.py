"""`migrator search` prints ranked hits as a table, JSON or JSON lines, from the store the
phase reads; bad search text is one line on stderr and exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from migrator.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()


def _json_store(tmp_path: Path) -> Path:
    json_dir = tmp_path / "json"
    shutil.copytree(FIXTURES / "store", json_dir)
    return json_dir


def test_table_fits_80_columns_and_says_where_the_answer_came_from(tmp_path: Path) -> None:
    """In json-only no database is needed; each hit is two lines of at most 80 columns."""
    json_dir = _json_store(tmp_path)
    result = runner.invoke(app, ["search", "refactor store", "--json-dir", str(json_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("  1. ")
    assert "[refactor]" in lines[1] and "[store]" in lines[1]
    assert lines[-1] == "20 document(s) (phase json-only, from json)"
    assert max(len(line) for line in lines) <= 80


def test_json_and_jsonl_carry_the_same_hits_from_sql_once_primary(tmp_path: Path) -> None:
    """After the move to sqlite-primary the answer comes from SQL, ranked as the scan was."""
    json_dir, db = _json_store(tmp_path), str(tmp_path / "app.db")
    store = ["--json-dir", str(json_dir), "--db", db]
    before = runner.invoke(app, ["search", "task*", *store, "--limit", "5", "--format", "json"])
    assert before.exit_code == 0, before.output
    for args in (
        ["phase", "set", "dual-write"],
        ["import", "-q"],
        ["validate", "-q"],
        ["phase", "set", "sqlite-primary"],
    ):
        outcome = runner.invoke(app, [*args, *store])
        assert outcome.exit_code == 0, outcome.output
    after = runner.invoke(app, ["search", "task*", *store, "--limit", "5", "--format", "json"])
    lines = runner.invoke(app, ["search", "task*", *store, "--limit", "5", "--format", "jsonl"])
    old, new = json.loads(before.output), json.loads(after.output)
    assert (old["source"], new["source"], new["phase"]) == ("json", "sql", "sqlite-primary")
    key = [(h["id"], h["field"], h["score"]) for h in old["hits"]]
    assert len(key) == 5
    assert key == [(h["id"], h["field"], h["score"]) for h in new["hits"]]
    assert [json.loads(line) for line in lines.output.splitlines()] == new["hits"]


def test_no_match_is_exit_0_and_says_so(tmp_path: Path) -> None:
    json_dir = _json_store(tmp_path)
    result = runner.invoke(app, ["search", "xylophone", "--json-dir", str(json_dir)])
    assert result.exit_code == 0
    assert result.output.splitlines() == ["no match (phase json-only, from json)"]


def test_bad_search_text_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Through the real console script: no traceback, the reason on one stderr line."""
    json_dir = _json_store(tmp_path)
    for text, reason in (('"unclosed', "a quote is not closed"), ("?!", "no word to search")):
        done = subprocess.run(
            [sys.executable, "-m", "migrator", "search", text, "--json-dir", str(json_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2
        assert done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and reason in done.stderr
