"""One import at a time per JSON store: a second `migrator import` is refused at once, with the
pid of the one that runs, instead of doing the work twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from migrator.adapters.state_dir import NAME as STATE_DIR
from migrator.cli import app
from migrator.errors import UsageError
from migrator.import_lock import PID_FILE, exclusive_import

#: A process that takes the import lock, says so, and holds it until its stdin closes.
HOLDER = (
    "import sys\n"
    "from pathlib import Path\n"
    "from migrator.import_lock import exclusive_import\n"
    "with exclusive_import(Path(sys.argv[1])):\n"
    "    print('held', flush=True)\n"
    "    sys.stdin.read()\n"
)


def _import(json_dir: Path, db: Path, *args: str) -> Result:
    return CliRunner().invoke(
        app, ["import", "--json-dir", str(json_dir), "--db", str(db), "--quiet", *args]
    )


def _holder(json_dir: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(json_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    return process


def test_a_second_import_is_refused_with_the_pid_of_the_first(
    fixture_store_dir: Path, sql_path: Path
) -> None:
    """While another process imports: exit 2, one line naming its pid, no database created; a
    dry run (which writes nothing) still runs. Once it has finished the import runs."""
    holder = _holder(fixture_store_dir)
    try:
        refused = _import(fixture_store_dir, sql_path)
        assert refused.exit_code == 2
        assert refused.stderr == f"error: another import is running (pid {holder.pid})\n"
        assert not sql_path.exists()
        assert _import(fixture_store_dir, sql_path, "--dry-run").exit_code == 0
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    assert not (fixture_store_dir / STATE_DIR / PID_FILE).exists()
    assert _import(fixture_store_dir, sql_path).exit_code == 0


def test_a_killed_import_leaves_no_lock_behind(fixture_store_dir: Path, sql_path: Path) -> None:
    """An import killed with SIGKILL releases the lock with its process; its stale pid file is
    replaced by the next import's and removed at its end."""
    holder = _holder(fixture_store_dir)
    holder.kill()
    assert holder.wait(timeout=30) == -signal.SIGKILL
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.close()
    holder.stdout.close()
    assert (fixture_store_dir / STATE_DIR / PID_FILE).read_text() == f"{holder.pid}\n"
    assert _import(fixture_store_dir, sql_path).exit_code == 0
    assert not (fixture_store_dir / STATE_DIR / PID_FILE).exists()


def test_the_lock_is_refused_within_one_process_too(fixture_store_dir: Path) -> None:
    """exclusive_import held once: a second holder in the same process is refused (pid ours),
    and the lock is free again after the block."""
    refusal = rf"^another import is running \(pid {os.getpid()}\)$"
    with (
        exclusive_import(fixture_store_dir),
        pytest.raises(UsageError, match=refusal),
        exclusive_import(fixture_store_dir),
    ):
        pass
    with exclusive_import(fixture_store_dir):
        pass
