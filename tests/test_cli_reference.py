"""docs/cli-reference.md is generated from the Typer app and must be current (as sqlite-utils
checks its CLI reference with cog): a command or option changed without running
`python scripts/cli_reference.py` fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer.main

from migrator.cli import app

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "cli_reference.py"
PAGE = REPO / "docs" / "cli-reference.md"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, check=False
    )


def _command_names(command: object, path: tuple[str, ...] = ()) -> list[str]:
    names = [" ".join(("migrator", *path))]
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            names += _command_names(sub, (*path, name))
    return names


def test_checked_in_reference_is_current() -> None:
    """The page equals what the script generates now."""
    result = _run("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stale_reference_fails_the_check(tmp_path: Path) -> None:
    """The check can fail: a page missing one option's help is reported, exit 1."""
    stale = tmp_path / "cli-reference.md"
    stale.write_text(PAGE.read_text(encoding="utf-8").replace("--dry-run", "--dry-rum"), "utf-8")
    result = _run("--check", "--output", str(stale))
    assert result.returncode == 1
    assert "is not current" in result.stdout


def test_every_command_has_its_section_with_help() -> None:
    """Each command and group of the app has a section holding its usage line and --help."""
    page = PAGE.read_text(encoding="utf-8")
    names = _command_names(typer.main.get_command(app))
    assert {"migrator", "migrator import", "migrator phase set"} <= set(names)
    for name in names:
        section = page.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"Usage: {name} " in section, name
        assert "--help" in section, name


def test_generation_is_deterministic_whatever_the_terminal(tmp_path: Path) -> None:
    """A wide terminal, forced colours or a MIGRATOR_* variable change nothing in the page."""
    out = tmp_path / "page.md"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "COLUMNS": "200",
        "TERMINAL_WIDTH": "200",
        "FORCE_COLOR": "1",
        "MIGRATOR_SCHEMA": "tests.second_schema:SCHEMA",
    }
    subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(out)], env=env, check=True, cwd=tmp_path
    )
    assert out.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")
