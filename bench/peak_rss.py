"""Peak memory of a bench task and of every process it starts.

The kernel's peak RSS of a waited-for process (`wait4`) is the largest of that process and its
reaped children, not their sum (and it counts the spawner's own peak, inherited at exec:
bench/run.py, which spawns every task, stays small); the import reads files in a helper process
(migrator/import_reader.py) while it writes, so its footprint is the two together. `watch` polls
/proc while the task runs and keeps the largest sum of the resident sets of the process tree
(shared library pages counted once per process: an upper bound)."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: Seconds between two samples: the tree's peak lasts far longer than this (a batch, a file).
INTERVAL = 0.05


def tree_rss_kb(pid: int) -> int:
    """The sum of VmRSS of `pid` and of all its descendants now (0 for what is gone)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        proc = Path(f"/proc/{current}")
        try:
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for thread in (proc / "task").iterdir():
                stack += [int(child) for child in (thread / "children").read_text().split()]
        except (OSError, ValueError):  # exited meanwhile
            continue
    return total


def watch(pid: int) -> tuple[int, float, float]:
    """Wait for `pid` like `os.wait4`, sampling its tree: its wait status, the kernel's peak
    RSS (MiB) and the largest summed RSS of the tree seen (MiB)."""
    peak = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage.ru_maxrss / 1024, peak / 1024
        peak = max(peak, tree_rss_kb(pid))
        time.sleep(INTERVAL)
