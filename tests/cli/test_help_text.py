"""Every command's `--help` at 80 columns (issue 16 point 9): an example, nothing cut, no stray
space before a full stop, paragraphs rewrapped rather than ragged, one metavar convention."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from migrator.cli import app

REPO = Path(__file__).resolve().parents[2]
WIDTH = 80


def _paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            found += _paths(sub, (*path, name))
    return found


@pytest.fixture(scope="module")
def helps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each command's help as printed at 80 columns (the reference script walks the app)."""
    page = tmp_path_factory.mktemp("help") / "page.md"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": str(WIDTH)}
    script = REPO / "scripts" / "cli_reference.py"
    subprocess.run([sys.executable, str(script), "--output", str(page)], env=env, check=True)
    sections = page.read_text(encoding="utf-8").split("\n## ")[1:]
    return {s.split("\n", 1)[0]: s.split("```text\n", 1)[1].split("\n```", 1)[0] for s in sections}


def test_every_command_is_walked(helps: dict[str, str]) -> None:
    names = {" ".join(("migrator", *p)) for p in _paths(typer.main.get_command(app))}
    assert names == set(helps)
    assert len(names) > 20


def test_every_command_has_an_example(helps: dict[str, str]) -> None:
    for name, text in helps.items():
        example = text.split("Examples:", 1)
        assert len(example) == 2, f"{name}: no Examples section"
        assert f"$ {name}" in example[1] or "$ migrator " in example[1], name


def test_no_line_is_cut_or_too_wide(helps: dict[str, str]) -> None:
    for name, text in helps.items():
        assert "…" not in text, f"{name}: a line is cut"
        assert all(len(line) <= WIDTH for line in text.splitlines()), name


def test_no_stray_space_before_a_full_stop(helps: dict[str, str]) -> None:
    for name, text in helps.items():
        assert not re.search(r"\S \.(\s|$)", text), name


def test_prose_is_rewrapped_not_ragged(helps: dict[str, str]) -> None:
    """In the description, no line ends early while the next line's first word would fit."""
    for name, text in helps.items():
        prose = text.split("╭", 1)[0].splitlines()[2:]  # after the usage line
        for line, after in itertools.pairwise(prose):
            if line.strip() and after.strip():
                assert len(line) + 1 + len(after.split()[0]) > WIDTH - 1, f"{name}: {line!r}"


def test_metavars_follow_one_convention(helps: dict[str, str]) -> None:
    """Numbers are N or SECONDS (never click's <int range>), arguments are upper case."""
    for name, text in helps.items():
        assert not re.search(r"<(int|float)", text), name
        usage = text.split("Usage: ", 1)[1].splitlines()[0]
        for word in usage.split("[OPTIONS]", 1)[-1].split():
            assert word.strip("{}[].") == word.strip("{}[].").upper(), f"{name}: {word}"


def test_rich_markup_keeps_brackets(helps: dict[str, str]) -> None:
    assert "[tool.migrator]" in helps["migrator"]
