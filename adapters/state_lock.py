"""The one way to hold a lock of the state directory, across processes and threads.

A lock is an advisory `flock` on a file under `<json_dir>/.migrator/` (the kernel frees it when
its holder dies, even by SIGKILL), opened without following a symlink and created with the
store's owner (so a lock file made by a CLI run as root stays usable by the application). It
waits at most `lock_timeout()` seconds, one setting for every lock (`MIGRATOR_LOCK_TIMEOUT`
overrides the default), and gives up with one error, `LockTimeoutError`, naming the lock.

A reentrant lock (the partition locks a dual write holds across both stores, the phase lock a
move holds while it records a validation) may be taken again by the thread that holds it;
another thread of the same process waits like another process does. A shared lock (journal
appends) lets other shared holders in and keeps an exclusive one out.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from migrator.adapters.fs import open_nofollow
from migrator.errors import LockTimeoutError, StoreError, UsageError

LOCK_TIMEOUT_SECONDS = 60.0
LOCK_TIMEOUT_ENV = "MIGRATOR_LOCK_TIMEOUT"

#: (path, thread) -> [fd, depth] of the reentrant locks this process holds.
_held: dict[tuple[str, int], list[int]] = {}
_held_guard = threading.Lock()


def lock_timeout() -> float:
    """How long any state-directory lock is waited for, in seconds."""
    text = os.environ.get(LOCK_TIMEOUT_ENV)
    if text is None:
        return LOCK_TIMEOUT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise UsageError(f"{LOCK_TIMEOUT_ENV}={text!r}: expected a number of seconds >= 0")
    return value


class StateLock:
    """One lock file; use as a context manager or with `acquire()` / `release()`."""

    def __init__(
        self,
        path: Path,
        *,
        purpose: str,
        timeout: float | None = None,
        reentrant: bool = False,
        shared: bool = False,
    ) -> None:
        self.path = path
        self.lock_file = str(path)
        self.purpose = purpose
        self.timeout = timeout
        self.reentrant = reentrant
        self.shared = shared
        self._fds: list[int] = []

    def acquire(self) -> None:
        key = (self.lock_file, threading.get_ident())
        if self.reentrant:
            with _held_guard:
                held = _held.get(key)
                if held is not None:
                    held[1] += 1
                    return
        fd = self._open()
        try:
            self._wait(fd)
        except BaseException:
            os.close(fd)
            raise
        if self.reentrant:
            with _held_guard:
                _held[key] = [fd, 1]
        else:
            self._fds.append(fd)

    def release(self) -> None:
        if not self.reentrant:
            os.close(self._fds.pop())  # closing the descriptor releases the flock
            return
        key = (self.lock_file, threading.get_ident())
        with _held_guard:
            held = _held[key]
            held[1] -= 1
            if held[1]:
                return
            del _held[key]
        os.close(held[0])

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                return open_nofollow(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except PermissionError:
                # Another user's lock file (made before its owner was kept): flock needs no
                # write access, so a read-only descriptor locks it just as well.
                return open_nofollow(self.path, os.O_RDONLY)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open the lock: {exc.strerror or exc}") from exc

    def _wait(self, fd: int) -> None:
        operation = (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        timeout = lock_timeout() if self.timeout is None else self.timeout
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, operation)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(self.path, self.purpose, timeout) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
