"""Defaults that do not flood (issue 16, point 11): a database that holds nothing yet is one
line, not one per document; the terminal lists at most LISTED_FINDINGS findings, while the
counts, --format json and --output keep every one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from migrator.cli.commands_validate import LISTED_FINDINGS
from tests.cli.hints import commands_in, run, run_hint

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "store"
STORES = ["--json-dir", "data", "--db", "app.db"]


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "data")
    return tmp_path


def test_an_empty_database_is_one_line_whose_hint_fills_it(cwd: Path) -> None:
    assert run(["init", "--db", "app.db"], cwd).returncode == 0
    result = run(["validate", *STORES], cwd)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == [
        "DIFFERENT: 36 missing in sqlite, 0 missing in json, 0 mismatched of 36",
        "the database holds no documents yet: run migrator import --json-dir data --db app.db",
    ]
    as_json = json.loads(run(["validate", *STORES, "--format", "json"], cwd).stdout)
    assert len(as_json["missing_in_sqlite"]) == 36  # the contract keeps the full list
    for hint in commands_in(lines[1]):
        assert run_hint(hint, cwd).returncode == 0
    assert run(["validate", *STORES], cwd).returncode == 0


def test_the_terminal_lists_a_capped_number_of_findings(cwd: Path) -> None:
    assert run(["import", *STORES, "-q"], cwd).returncode == 0
    for partition in (cwd / "data").glob("*.json"):
        documents = json.loads(partition.read_text(encoding="utf-8"))
        for document in documents:
            document["task"], document["status"] = "changed", "archived"
        partition.write_text(json.dumps(documents), encoding="utf-8")
    as_json = json.loads(run(["validate", *STORES, "--format", "json"], cwd).stdout)
    findings = sum(len(m["differences"]) for m in as_json["mismatched"])
    assert findings > LISTED_FINDINGS
    shown = run(["validate", *STORES], cwd)
    assert shown.returncode == 1
    assert shown.stdout.count("values_changed") == LISTED_FINDINGS
    hidden = findings - LISTED_FINDINGS
    assert f"and {hidden} more findings: --format json or --output FILE lists them all" in (
        shown.stdout
    )
    run(["validate", *STORES, "--output", "report.txt"], cwd)
    assert (cwd / "report.txt").read_text(encoding="utf-8").count("values_changed") == findings
