"""`bench/run.py --only memory`: the peak memory of `migrator import` and `migrator validate`
run as a user runs them (the CLI, a fresh database), per scale, one run each; then the
library's import with files parsed in-process and in the helper process, forced (the CLI
picks one by the machine's load).

Issue 19's target is the import's peak RSS at 100k <= 150 MB. Both the kernel's figure (the
largest single process) and the largest sum over the command and its reading helper are kept:
bench/peak_rss.py says why they differ."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import peak_rss  # bench/, this script's directory


def cli(run: Any, *argv: str) -> Any:
    """`python -m migrator ARGV` in its own process: a Run with its wall seconds and peaks."""
    command = [sys.executable, "-m", "migrator", *argv]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    status, rss_mb, tree_rss_mb = peak_rss.watch(process.pid)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    err = process.stderr.read().decode() if process.stderr else ""
    if code not in (0, 1):  # 1: validate found the store's differences, if any
        raise SystemExit(f"migrator {' '.join(argv)} failed (exit {code}):\n{err[-2000:]}")
    return run.Run(seconds, rss_mb, {"seconds": seconds, "exit": code}, tree_rss_mb)


def bench_memory(run: Any, scale: str, memory: dict[str, Any]) -> None:
    """Import the scale's store into a fresh SQLite database through the CLI, then validate it."""
    json_dir = run.store(scale)
    db = Path(run.fresh(run.DATA / scale / "work" / "memory.db"))
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
    run.log(f"{scale}: peak memory of migrator import, then migrator validate")
    where = ("--json-dir", str(json_dir), "--db", str(db))
    imported = cli(run, "import", *where, "--quiet", "--no-snapshot")
    validated = cli(run, "validate", *where)
    memory[scale] = {
        "import_peak_rss_mb": imported.rss_mb,
        "import_tree_rss_mb": imported.tree_rss_mb,
        "validate_peak_rss_mb": validated.rss_mb,
        "validate_tree_rss_mb": validated.tree_rss_mb,
    }
    # The CLI reads in-process on a busy machine and in a helper when a core is idle: both.
    for reading in ("inline", "helper"):
        shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
        run.log(f"{scale}: peak memory of the library's import, reading {reading}")
        done = run.task("import_ours", str(json_dir), run.fresh(db), reading)
        memory[scale][f"import_{reading}_rss_mb"] = done.rss_mb
        memory[scale][f"import_{reading}_tree_rss_mb"] = done.tree_rss_mb
    shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
    run.fresh(db)
