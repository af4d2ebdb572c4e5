"""Ctrl-C on an import (issue 16, point 5): one line saying how far it got and what to do,
exit 130, the history and `status` say it was interrupted, and the same command finishes it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.cli.hints import REPO, run

FIXTURES = REPO / "fixtures" / "store"
STORES = ["--json-dir", "data", "--db", "app.db"]


def test_ctrl_c_during_an_import_says_what_was_committed(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_")}
    env |= {
        "PYTHONPATH": str(REPO),
        # A Ctrl-C right before the third transaction commits: two batches of 5 are in.
        "MIGRATOR_CRASH_AT": "sql.before_commit:3",
        "MIGRATOR_CRASH_SIGNAL": "INT",
    }
    interrupted = subprocess.run(
        [sys.executable, "-m", "migrator", "import", *STORES, "--batch-size", "5"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        # A shell's background job inherits SIGINT ignored, and Python keeps it so: give the
        # import the default Ctrl-C however this suite was started.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert interrupted.returncode == 130, interrupted.stdout + interrupted.stderr
    assert interrupted.stderr.splitlines() == [
        "interrupted: 10 documents committed; run the same command again to finish"
    ]
    with sqlite3.connect(tmp_path / "app.db") as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (10,)

    status = run(["status", *STORES], tmp_path)
    assert re.search(
        r"note: the last import \(.+\) was interrupted: 10 documents committed; run the same "
        r"command again to finish",
        status.stdout,
    ), status.stdout
    history = run(["history", "--json-dir", "data", "--format", "json"], tmp_path)
    assert '"outcome": "interrupted"' in history.stdout

    finished = run(["import", *STORES], tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert run(["validate", *STORES], tmp_path).returncode == 0
    assert "interrupted" not in run(["status", *STORES], tmp_path).stdout
