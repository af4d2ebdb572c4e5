"""A user's project for the `migrator db` tests: schema modules on disk, the CLI as a process.

Each schema version is a module file the test writes (as a user edits theirs), so every
command runs in a process of its own: two versions of one table never meet in one Python.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


@dataclass
class Result:
    code: int
    out: str
    err: str


class Project:
    """A folder holding schema modules, a JSON store `data/` and a database."""

    def __init__(self, root: Path, db: str | None = None) -> None:
        self.root = root
        self.db = db or str(root / "app.db")
        self.json_dir = root / "data"
        self.json_dir.mkdir(exist_ok=True)

    def write_module(self, name: str, text: str) -> None:
        (self.root / f"{name}.py").write_text(text, encoding="utf-8")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_")}
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), str(REPO)])
        env.update(extra)
        return env

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "migrator", *args],
            cwd=self.root,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> str:
        result = self.cli(*args)
        assert result.code == 0, f"{args}: exit {result.code}\n{result.out}\n{result.err}"
        return result.out

    def python(self, code: str, *, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=self.root,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def sqlite_rows(self, query: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(query).fetchall()

    def sqlite_state(self) -> str:
        """A digest of every table's definition and rows: equal means nothing changed."""
        digest = hashlib.sha256()
        with sqlite3.connect(self.db) as conn:
            tables = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name"
            ).fetchall()
            for name, sql in tables:
                digest.update(f"{name}:{sql}\n".encode())
                if sql and sql.startswith("CREATE TABLE"):
                    for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY 1'):
                        digest.update(repr(row).encode())
        return digest.hexdigest()


def one_line_error(result: Result) -> str:
    """The CLI's single stderr line for a refused command (exit 2, no traceback)."""
    assert result.code == 2, f"exit {result.code}\n{result.out}\n{result.err}"
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ") and "Traceback" not in result.err
    return lines[0]


def docs_bookmarks() -> str:
    """docs/schema.md's bookmarks declaration, as a user copies it into their module."""
    import re

    text = (DOCS / "schema.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match
    return match.group(1)


def add_stars(module: str) -> str:
    """The documented change: an optional column `stars`, and the version bumped."""
    assert "    url: str\n" in module and "version=1" in module
    return module.replace("    url: str\n", "    url: str\n    stars: int | None = None\n").replace(
        "version=1", "version=2"
    )
