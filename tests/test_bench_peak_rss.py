"""bench/peak_rss.py: the import's memory is two processes (the importer and its reading
helper), and the kernel's peak RSS of the waited-for process is only the larger of them; the
bench's sampler must see their sum."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import peak_rss  # bench/, not a package

#: A process holding `MB` MiB for a while; with a second argument it first starts another one.
HOLDER = """
import subprocess, sys, time
held = bytearray(int(sys.argv[1]) * 1024 * 1024)
held[::4096] = b"x" * len(held[::4096])  # touch every page: resident, not just reserved
child = None
if len(sys.argv) > 2:
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2], sys.argv[3]])
time.sleep(1.5)
if child:
    child.wait()
"""


def test_the_sampled_peak_sums_a_process_and_the_process_it_started() -> None:
    """A parent holding 80 MiB and its child holding 60 MiB at the same time: the sampled
    figure is at least both together. (The kernel's figure cannot be pinned here: a process
    spawned from a big one, such as pytest, inherits its spawner's peak at exec.)"""
    child = HOLDER.replace("len(sys.argv) > 2", "False")
    process = subprocess.Popen([sys.executable, "-c", HOLDER, "80", child, "60"])
    status, single_mb, tree_mb = peak_rss.watch(process.pid)
    assert status == 0
    assert single_mb >= 80
    assert tree_mb >= 80 + 60


def test_a_process_that_is_gone_counts_nothing() -> None:
    """Sampling a pid that has exited (the race at the end of every task) is 0, not an error."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert peak_rss.tree_rss_kb(process.pid) == 0
