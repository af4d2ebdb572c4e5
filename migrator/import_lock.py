"""One `migrator import` at a time per JSON store.

A second import started while one runs would read and write the same files and rows again (or
wait on the phase lock and then redo what the first just did), so it is refused at once, naming
the process that runs. The lock is `<json_dir>/.migrator/import.lock` (released by the operating
system when its holder dies, even by SIGKILL); the holder's pid is kept beside it in
`import.pid`, written after the lock is taken and removed before it is released. A dry run
writes nothing and takes no lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from migrator.adapters.fs import read_nofollow, write_atomically
from migrator.adapters.state_dir import IMPORT_LOCK, IMPORT_PID, StateDir
from migrator.errors import LockTimeoutError, MigratorError, UsageError

logger = logging.getLogger(__name__)

LOCK_FILE = IMPORT_LOCK
PID_FILE = IMPORT_PID


@contextlib.contextmanager
def exclusive_import(json_dir: Path, *, enabled: bool = True) -> Iterator[None]:
    """Hold the store's import lock for the block; `UsageError` ("another import is running
    (pid N)") at once when another process holds it. `enabled=False` holds nothing."""
    if not enabled:
        yield
        return
    state_dir = StateDir(json_dir)
    lock = state_dir.lock(IMPORT_LOCK, purpose="the import lock", timeout=0)
    try:
        lock.acquire()
    except LockTimeoutError:
        raise UsageError(f"another import is running (pid {_holder(state_dir)})") from None
    pid_file = state_dir.file(PID_FILE)
    try:
        _write_pid(pid_file)
        yield
    finally:
        with contextlib.suppress(OSError):
            pid_file.unlink()
        lock.release()


def running_import(json_dir: Path) -> str | None:
    """The pid (or `unknown`) of the import that holds the store's lock now, else None: lets a
    command that must wait for it (`phase set`) say so instead of waiting in silence."""
    state_dir = StateDir(json_dir)
    if not state_dir.file(IMPORT_LOCK).exists():
        return None  # no import ever ran here; creates nothing
    probe = state_dir.lock(IMPORT_LOCK, purpose="the import lock", timeout=0)
    try:
        probe.acquire()
    except LockTimeoutError:
        return _holder(state_dir)
    probe.release()
    return None


def _write_pid(path: Path) -> None:
    """Best effort (the pid only makes a refusal's message better): written whole, then renamed."""
    try:
        write_atomically(path, f"{os.getpid()}\n".encode("ascii"))
    except MigratorError as exc:
        logger.warning("cannot record the import's pid: %s", exc)


def _holder(state_dir: StateDir) -> str:
    """The running import's pid as recorded, or `unknown` (it has not written it yet)."""
    try:
        text = (read_nofollow(state_dir.file(PID_FILE)) or b"").decode("ascii").strip()
    except (OSError, UnicodeDecodeError, MigratorError):
        return "unknown"
    return text if text.isdigit() else "unknown"
