"""The other commands take their automatic snapshot and record their runs in the history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from migrator.backup import default_backup_dir, list_backups
from tests.conftest import FIXTURES
from tests.safety.conftest import Setup, invoke


def _reasons(json_dir: Path) -> list[str]:
    return [
        info.manifest.reason for info in list_backups(default_backup_dir(json_dir)) if info.manifest
    ]


def _history(json_dir: Path) -> list[dict[str, object]]:
    result = invoke("history", "--json-dir", str(json_dir), "--format", "json")
    runs: list[dict[str, object]] = json.loads(result.stdout)
    return runs


def test_import_snapshots_an_existing_database_only(tmp_path: Path) -> None:
    """The first import (no database yet) takes no snapshot; the next does; --no-snapshot and
    --dry-run take none. Each real import is recorded, the dry run is not."""
    json_dir, db = tmp_path / "json", tmp_path / "sessions.db"
    shutil.copytree(FIXTURES / "store", json_dir)
    args = ("import", "--json-dir", str(json_dir), "--db", str(db), "--quiet")
    assert invoke(*args).exit_code == 0
    assert _reasons(json_dir) == []
    assert invoke(*args).exit_code == 0
    assert _reasons(json_dir) == ["before-import"]
    assert invoke(*args, "--no-snapshot").exit_code == 0
    assert invoke(*args, "--dry-run").exit_code == 0
    assert _reasons(json_dir) == ["before-import"]
    assert [run["command"] for run in _history(json_dir)] == ["import"] * 3


def test_validate_records_its_outcome_and_counts(setup: Setup) -> None:
    """A clean validation is recorded as ok with its counts."""
    assert setup.cli("validate").exit_code == 0
    (run,) = _history(setup.json_dir)
    assert run["command"] == "validate" and run["outcome"] == "ok"
    assert run["counts"]["matched"] == 36  # type: ignore[index]


def test_phase_set_snapshots_and_records_the_move(setup: Setup) -> None:
    """A phase move takes a snapshot first and records the phase before and after."""
    result = setup.cli("phase", "set", "dual-write")
    assert result.exit_code == 0, result.output
    assert _reasons(setup.json_dir) == ["before-phase-dual-write"]
    (run,) = _history(setup.json_dir)
    assert (run["command"], run["phase_before"], run["phase_after"]) == (
        "phase set",
        "json-only",
        "dual-write",
    )
    assert setup.cli("phase", "set", "no-such-phase").exit_code == 2
    assert _reasons(setup.json_dir) == ["before-phase-dual-write"]


def test_repair_snapshots_and_records_but_not_a_dry_run(setup: Setup) -> None:
    """repair takes a snapshot and is recorded; --dry-run does neither."""
    assert setup.cli("repair", "--dry-run").exit_code == 0
    assert _reasons(setup.json_dir) == [] and _history(setup.json_dir) == []
    assert setup.cli("repair", "--no-snapshot").exit_code == 0
    assert _reasons(setup.json_dir) == []
    assert setup.cli("repair").exit_code == 0
    assert _reasons(setup.json_dir) == ["before-repair"]
    assert [run["command"] for run in _history(setup.json_dir)] == ["repair", "repair"]
