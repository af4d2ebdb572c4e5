"""`migrator import --summary-file PATH`: the JSON summary, whatever `--format` prints, for a CI
job to keep as an artifact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner, Result

from migrator.cli import app
from tests.importer.conftest import FIXTURES


def _import(json_dir: Path, db: Path, *args: str) -> Result:
    return CliRunner().invoke(
        app, ["import", "--json-dir", str(json_dir), "--db", str(db), "--quiet", *args]
    )


def test_summary_file_is_the_json_format_whatever_is_printed(
    fixture_store_dir: Path, sql_path: Path, tmp_path: Path
) -> None:
    """With --format json the file holds exactly what is printed; with the text table on
    stdout it holds the same JSON object for that run (an unchanged re-import here)."""
    summary = tmp_path / "import-summary.json"
    printed = _import(
        fixture_store_dir, sql_path, "--format", "json", "--summary-file", str(summary)
    )
    assert printed.exit_code == 0, printed.output
    assert summary.read_text(encoding="utf-8") == printed.stdout
    assert json.loads(printed.stdout)["imported"] == 36
    text = _import(fixture_store_dir, sql_path, "--summary-file", str(summary))
    assert text.exit_code == 0, text.output
    assert not text.stdout.startswith("{") and "total (3 files)" in text.stdout
    written = json.loads(summary.read_text(encoding="utf-8"))
    assert (written["unchanged"], written["imported"], written["stopped"]) == (36, 0, None)
    assert len(written["partitions"]) == 3


def test_summary_file_of_rejects_a_stop_and_a_dry_run(sql_path: Path, tmp_path: Path) -> None:
    """A run with rejects, stopped by its budget (exit 1), still writes its summary, with the
    reason and the rejects file; a dry run writes one too (the only file it writes)."""
    json_dir = tmp_path / "bad"
    shutil.copytree(FIXTURES / "bad", json_dir)
    summary = tmp_path / "summary.json"
    dry = _import(json_dir, sql_path, "--dry-run", "--summary-file", str(summary))
    assert dry.exit_code == 1
    assert json.loads(summary.read_text(encoding="utf-8"))["dry_run"] is True
    assert not sql_path.exists()
    result = _import(json_dir, sql_path, "--max-errors", "1", "--summary-file", str(summary))
    assert result.exit_code == 1
    written = json.loads(summary.read_text(encoding="utf-8"))
    # The file holds the library's words (max_errors=1); stderr the command's (--max-errors=1).
    assert written["stopped"] is not None and "max_errors=1" in written["stopped"]
    assert written["stopped"].replace("max_errors", "--max-errors") in result.stderr
    assert written["rejected"] > 1 and written["rejects_file"] in result.stderr


def test_an_unwritable_summary_file_is_one_line_exit_2(
    fixture_store_dir: Path, sql_path: Path, tmp_path: Path
) -> None:
    """A summary file in a directory that does not exist: exit 2 and one error line."""
    result = _import(fixture_store_dir, sql_path, "--summary-file", str(tmp_path / "no" / "s.json"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
