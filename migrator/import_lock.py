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

from filelock import FileLock, Timeout

from adapters.json_store import STATE_DIR
from migrator.errors import StoreError, UsageError

logger = logging.getLogger(__name__)

LOCK_FILE = "import.lock"
PID_FILE = "import.pid"


@contextlib.contextmanager
def exclusive_import(json_dir: Path, *, enabled: bool = True) -> Iterator[None]:
    """Hold the store's import lock for the block; `UsageError` ("another import is running
    (pid N)") at once when another process holds it. `enabled=False` holds nothing."""
    if not enabled:
        yield
        return
    state_dir = Path(json_dir) / STATE_DIR
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{state_dir}: cannot create the state directory: {exc}") from exc
    lock = FileLock(str(state_dir / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise UsageError(f"another import is running (pid {_holder(state_dir)})") from None
    pid_file = state_dir / PID_FILE
    try:
        _write_pid(pid_file)
        yield
    finally:
        with contextlib.suppress(OSError):
            pid_file.unlink()
        lock.release()


def _write_pid(path: Path) -> None:
    """Best effort (the pid only makes a refusal's message better): written whole, then renamed."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temporary.write_text(f"{os.getpid()}\n", encoding="ascii")
        os.replace(temporary, path)
    except OSError as exc:
        logger.warning("cannot record the import's pid in %s: %s", path, exc)
        with contextlib.suppress(OSError):
            temporary.unlink()


def _holder(state_dir: Path) -> str:
    """The running import's pid as recorded, or `unknown` (it has not written it yet)."""
    try:
        text = (state_dir / PID_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "unknown"
    return text if text.isdigit() else "unknown"
