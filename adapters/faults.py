"""Named crash points, so reliability tests can kill a real process at an exact moment.

Set `MIGRATOR_CRASH_AT=name` (or `name:N` for the N-th time that point is reached) and the
process SIGKILLs itself there; with `MIGRATOR_CRASH_SIGNAL=INT` it sends itself SIGINT instead,
a Ctrl-C at that exact moment. Unset, `checkpoint` costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_TARGET, _, _NTH = os.environ.get("MIGRATOR_CRASH_AT", "").partition(":")
_remaining = int(_NTH) if _NTH.isdigit() else 1
_SIGNAL = signal.SIGINT if os.environ.get("MIGRATOR_CRASH_SIGNAL") == "INT" else signal.SIGKILL


def checkpoint(name: str) -> None:
    """Die here, now, with SIGKILL (or SIGINT), when this is the crash point the environment
    names."""
    global _remaining
    if not _TARGET or name != _TARGET:
        return
    _remaining -= 1
    if _remaining <= 0:
        os.kill(os.getpid(), _SIGNAL)
