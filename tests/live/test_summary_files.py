"""`--summary-file PATH` on import, validate, repair and check: the JSON summary, whatever
`--format` prints, written atomically (a reader of the old file never sees a half-written
new one)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from migrator.adapters.phase_state import Phase
from tests.live.conftest import P1, Live, sid


def test_validate_summary_is_the_json_report_whatever_the_format(
    live: Live, tmp_path: Path
) -> None:
    """Text on stdout, JUnit to --output, and the summary file holds the JSON format's report."""
    live.put_sql(P1, live.doc(sid(0, 2)) | {"task": "lost"})
    summary = tmp_path / "summary.json"
    text = live.cli("validate", "--summary-file", str(summary))
    assert text.exit_code == 1
    assert text.stdout.startswith("DIFFERENT: 0 missing in sqlite, 0 missing in json, 1 mismatched")
    as_json = live.cli("validate", "--format", "json")
    assert summary.read_text(encoding="utf-8") == as_json.stdout
    junit = live.cli(
        "validate", "--format", "junit", "--output", str(tmp_path / "r.xml"),
        "--summary-file", str(summary),
    )  # fmt: skip
    assert junit.exit_code == 1
    assert json.loads(summary.read_text(encoding="utf-8"))["counts"]["mismatched"] == 1


def test_repair_summary(live: Live, tmp_path: Path) -> None:
    """repair --summary-file: the repair report as JSON, for a dry run too."""
    live.set_phase(Phase.DUAL_WRITE)
    summary = tmp_path / "repair.json"
    for args in ((), ("--dry-run",)):
        result = live.cli("repair", "--no-snapshot", "--summary-file", str(summary), *args)
        assert result.exit_code == 0, result.output
        assert result.stdout == "nothing to repair: no pending writes in the journal\n"
        written = json.loads(summary.read_text(encoding="utf-8"))
        assert written["ok"] is True and written["pending"] == 0
        assert written["dry_run"] is bool(args)


def test_check_summary_is_its_json_whatever_the_format(live: Live, tmp_path: Path) -> None:
    """check --format junit --summary-file: JUnit on stdout, the JSON summary in the file."""
    summary = tmp_path / "summary.json"
    result = live.cli("check", "--format", "junit", "--summary-file", str(summary))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuite')
    assert summary.read_text(encoding="utf-8") == live.cli("check", "--format", "json").stdout
    assert json.loads(summary.read_text(encoding="utf-8"))["ready"] is True


@pytest.mark.parametrize("command", ["import", "validate", "check", "repair"])
def test_summary_files_are_replaced_atomically(live: Live, tmp_path: Path, command: str) -> None:
    """The old file is replaced by a new one (renamed into place), never rewritten in place: a
    reader holding the old one reads it whole; no temporary file is left behind."""
    summary = tmp_path / "out" / "summary.json"
    summary.parent.mkdir()
    summary.write_text('{"old": true}\n', encoding="utf-8")
    old_inode = summary.stat().st_ino
    with summary.open(encoding="utf-8") as reader:
        extra = ("--no-snapshot",) if command == "repair" else ()
        result = live.cli(command, *extra, "--summary-file", str(summary))
        assert result.exit_code == 0, result.output
        assert reader.read() == '{"old": true}\n'
    assert summary.stat().st_ino != old_inode
    assert "old" not in json.loads(summary.read_text(encoding="utf-8"))
    assert os.listdir(summary.parent) == ["summary.json"]


def test_an_unwritable_summary_file_is_one_line_exit_2(live: Live, tmp_path: Path) -> None:
    """A summary file in a directory that does not exist: exit 2 and one error line."""
    result = live.cli("validate", "--summary-file", str(tmp_path / "no" / "such" / "s.json"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
