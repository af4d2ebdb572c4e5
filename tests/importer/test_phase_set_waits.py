"""Issue 16 point 10: `phase set` says why it waits while an import holds the locks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from migrator.import_lock import running_import

# A stand-in for a running import: the import lock and the phase lock, held until stdin closes.
HOLDER = (
    "import sys\n"
    "from pathlib import Path\n"
    "from migrator.adapters.phase_state import PhaseState\n"
    "from migrator.import_lock import exclusive_import\n"
    "with exclusive_import(Path(sys.argv[1])), PhaseState(Path(sys.argv[1])).lock():\n"
    "    print('held', flush=True)\n"
    "    sys.stdin.read()\n"
)


def _phase_set(json_dir: Path, db: Path) -> list[str]:
    """`migrator phase set json-only` (a move that stays put) as a subprocess's argv."""
    return [sys.executable, "-m", "migrator", "phase", "set", "json-only", "--no-snapshot",
            "--json-dir", str(json_dir), "--db", str(db)]  # fmt: skip


def test_phase_set_says_it_waits_for_the_running_import(
    fixture_store_dir: Path, sql_path: Path
) -> None:
    """One line on stderr naming the import's pid, then the move once the import is done."""
    assert running_import(fixture_store_dir) is None
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(fixture_store_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert running_import(fixture_store_dir) == str(holder.pid)
        phase_set = subprocess.Popen(
            _phase_set(fixture_store_dir, sql_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert phase_set.stderr is not None
        line = phase_set.stderr.readline()
        assert line == f"waiting for the running import (pid {holder.pid}) to finish...\n"
        assert phase_set.poll() is None  # still waiting on the phase lock
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    _, err = phase_set.communicate(timeout=60)
    assert phase_set.returncode == 0, err
    assert "waiting" not in err
    assert running_import(fixture_store_dir) is None


def test_phase_set_says_nothing_without_an_import(fixture_store_dir: Path, sql_path: Path) -> None:
    done = subprocess.run(
        _phase_set(fixture_store_dir, sql_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "waiting" not in done.stderr
