"""A partition file whose name is no safe partition name is reported, never silently skipped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from migrator.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()


def _store_with_unsafe_file(tmp_path: Path) -> Path:
    store = tmp_path / "json"
    shutil.copytree(FIXTURES / "store", store)
    first = sorted(store.glob("*.json"))[0]
    shutil.copy(first, store / "my file.json")
    return store


def test_import_rejects_the_file_by_name_and_imports_the_rest(tmp_path: Path) -> None:
    """`my file.json` is a whole-file reject naming the file; the safe files are imported."""
    store = _store_with_unsafe_file(tmp_path)
    rejects = tmp_path / "rejects.jsonl"
    result = runner.invoke(
        app,
        [
            "import",
            "--json-dir",
            str(store),
            "--db",
            str(tmp_path / "db.sqlite"),
            "--rejects",
            str(rejects),
            "--format",
            "json",
            "--no-snapshot",
        ],
    )
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["imported"] == 36
    assert summary["rejected"] == 1
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert len(lines) == 1
    assert lines[0]["file"].endswith("my file.json")
    assert "not a safe partition name" in lines[0]["error"]


def test_validate_reports_the_file_instead_of_passing(tmp_path: Path) -> None:
    """The stores agree on every safe file, but the unsafe one makes validate fail, named."""
    store = _store_with_unsafe_file(tmp_path)
    db = str(tmp_path / "db.sqlite")
    runner.invoke(app, ["import", "--json-dir", str(store), "--db", db, "--no-snapshot"])
    result = runner.invoke(
        app, ["validate", "--json-dir", str(store), "--db", db, "--format", "json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["counts"]["matched"] == 36
    assert [r["reason"] for r in report["invalid_in_json"]] == [
        "my file.json: not a safe partition name, not compared"
    ]
