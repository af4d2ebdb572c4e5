"""An fsync that runs on another thread while the caller goes on working.

Why: a dual write must make its journal intent durable before the primary store changes, but
not before it starts preparing that change. Parsing and re-encoding a partition file (or writing
a document's rows) takes about as long as the fsync, so the two overlap and the intent costs the
write almost nothing; `wait()` is called at the last moment the order needs it (before the
rename or the commit that changes the primary).

One daemon thread per process runs the syncs handed to it: starting a thread per sync costs its
start-up handshake, milliseconds on a loaded machine. A forked child starts its own.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from migrator.adapters.fs import NOFOLLOW, append_keeping_open, fsync_directory
from migrator.errors import StoreError

_jobs: queue.SimpleQueue[Callable[[], None]] | None = None
_start_lock = threading.Lock()


def append_synced_in_background(
    path: Path, data: bytes, *, mode: int = 0o644
) -> tuple[int, BackgroundSync]:
    """`migrator.adapters.fs.append`, its fsync (and its directory's, for a new file) left
    running: the file's size afterwards, and the sync to wait for."""
    fd, size, created = append_keeping_open(path, data, mode=mode)
    return size, BackgroundSync(fd, path, directory=created)


def sync_in_background(path: Path) -> BackgroundSync:
    """fsync the file at `path` (a staged file: see `migrator.adapters.fs.stage`) meanwhile."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    except OSError as exc:
        raise StoreError(f"{path}: cannot sync: {exc.strerror or exc}") from exc
    return BackgroundSync(fd, path)


class BackgroundSync:
    """fsync the open file `fd` (and `path`'s directory too, when `directory`) on the sync
    thread; the descriptor is closed once synced. `wait()` returns once all of it is durable."""

    def __init__(self, fd: int, path: Path, *, directory: bool = False) -> None:
        self._fd = fd
        self._path = path
        self._directory = directory
        self._error: OSError | None = None
        self._done = threading.Event()
        try:
            _submit(self._run)
        except BaseException:
            os.close(fd)
            raise

    def _run(self) -> None:
        try:
            os.fsync(self._fd)
            if self._directory:
                fsync_directory(self._path.parent)
        except OSError as exc:
            self._error = exc
        finally:
            os.close(self._fd)
            self._done.set()

    def wait(self) -> None:
        """Block until durable; a failed fsync is a `StoreError` (nothing may rely on it)."""
        self._done.wait()
        if self._error is not None:
            error = self._error
            raise StoreError(f"{self._path}: cannot sync: {error.strerror or error}") from error


def _submit(job: Callable[[], None]) -> None:
    global _jobs
    with _start_lock:
        if _jobs is None:
            jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
            thread = threading.Thread(target=_serve, args=(jobs,), name="migrator-fsync")
            thread.daemon = True
            thread.start()
            _jobs = jobs
        jobs = _jobs
    jobs.put(job)


def _serve(jobs: queue.SimpleQueue[Callable[[], None]]) -> None:
    while True:
        jobs.get()()


def _forget_thread() -> None:
    """In a forked child: the parent's thread is not there; the next sync starts one."""
    global _jobs, _start_lock
    _jobs = None
    _start_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_thread)
