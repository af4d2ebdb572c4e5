"""An fsync that runs on a thread while the caller goes on working.

Why: a dual write must make its journal intent durable before the primary store changes, but
not before it starts preparing that change. Parsing and re-encoding a partition file (or writing
a document's rows) takes about as long as the fsync, so the two overlap and the intent costs the
write almost nothing; `wait()` is called at the last moment the order needs it (before the
rename or the commit that changes the primary).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from migrator.adapters.fs import append_keeping_open, fsync_directory
from migrator.errors import StoreError


def append_synced_in_background(
    path: Path, data: bytes, *, mode: int = 0o644
) -> tuple[int, BackgroundSync]:
    """`migrator.adapters.fs.append`, its fsync (and its directory's, for a new file) left
    running: the file's size afterwards, and the sync to wait for."""
    fd, size, created = append_keeping_open(path, data, mode=mode)
    return size, BackgroundSync(fd, path, directory=created)


class BackgroundSync:
    """fsync the open file `fd` (and `path`'s directory too, when `directory`) on a thread;
    the descriptor is closed once synced. `wait()` returns once all of it is durable."""

    def __init__(self, fd: int, path: Path, *, directory: bool = False) -> None:
        self._fd = fd
        self._path = path
        self._directory = directory
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="migrator-fsync", daemon=True)
        try:
            self._thread.start()
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

    def wait(self) -> None:
        """Block until durable; a failed fsync is a `StoreError` (nothing may rely on it)."""
        self._thread.join()
        if self._error is not None:
            error = self._error
            raise StoreError(f"{self._path}: cannot sync: {error.strerror or error}") from error
