"""Issue 16 point 10: the import progress bar is labelled, has a total and fits the terminal."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from migrator.cli.progress import import_progress
from migrator.import_summary import ImportProgress

IMPORT = [sys.executable, "-m", "migrator", "import", "--no-snapshot"]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _render(width: int) -> list[str]:
    """The bar's last drawn line, with the escape codes taken out."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width)
    with import_progress(enabled=True, console=console) as update:
        assert update is not None
        update(ImportProgress("2026-01", 3, 12, 2_000_000, 8_000_000, 1234))
    text = _ANSI.sub("", out.getvalue())
    return [line for line in re.split(r"[\r\n]", text) if line.strip()]


def test_the_import_bar_is_labelled_with_files_documents_and_times() -> None:
    last = _render(80)[-1]
    assert last.startswith("importing ")
    assert "files 3/12" in last
    assert "1,234 docs" in last
    assert "25%" in last
    assert "elapsed 0:00:0" in last
    assert "left " in last


def test_the_import_bar_uses_the_terminal_width_on_one_line() -> None:
    for width in (80, 120):
        last = _render(width)[-1]
        assert len(last) == width, (width, last)


def test_no_progress_when_disabled() -> None:
    with import_progress(enabled=False) as update:
        assert update is None


def test_the_validate_bar_shows_partitions_done_of_total() -> None:
    from migrator.cli.progress import validate_progress

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    with validate_progress(enabled=True, console=console) as update:
        assert update is not None
        update(4, 10)
    text = _ANSI.sub("", out.getvalue())
    last = [line for line in re.split(r"[\r\n]", text) if line.strip()][-1]
    assert last.startswith("validating ")
    assert "40%" in last
    assert "partitions 4/10" in last
    assert "elapsed 0:00:0" in last
    assert "left " in last
    assert len(last) == 80


def _import_on_a_terminal(json_dir: Path, db: Path, *args: str) -> str:
    """`migrator import` with stdout on a pseudo-terminal; everything it wrote there."""
    leader, follower = os.openpty()
    try:
        done = subprocess.run(
            [*IMPORT, "--json-dir", str(json_dir), "--db", str(db), *args],
            stdout=follower,
            stderr=subprocess.PIPE,
            env={**os.environ, "COLUMNS": "80"},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO once the terminal is drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)


def test_import_draws_the_bar_on_a_terminal_but_never_with_format_json(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    text = _import_on_a_terminal(fixture_store_dir, tmp_path / "a.db")
    assert "importing" in text
    as_json = _import_on_a_terminal(fixture_store_dir, tmp_path / "b.db", "--format", "json")
    assert "importing" not in as_json
    assert '"imported"' in as_json
