"""In-process I/O faults: a disk that fills up, a permission that is missing, at one exact
system call of the write path. Root ignores file permissions, so they are injected by patching
(the calls the toolkit makes, or SQLite's own `max_page_count`, which makes the engine report
a real SQLITE_FULL) rather than by changing modes on disk."""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from tests.reliability import tally

#: (system call, errno) pairs of the JSON write path (`write_atomically`).
JSON_FAULTS = (
    ("mkstemp", errno.EACCES),
    ("mkstemp", errno.ENOSPC),
    ("write", errno.ENOSPC),
    ("fsync", errno.ENOSPC),
    ("fsync", errno.EIO),
    ("chmod", errno.EPERM),
    ("replace", errno.EACCES),
    ("replace", errno.ENOSPC),
)


def os_error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class _FillingFile:
    """A file whose `write` puts half the bytes on disk, then fails: the disk filled up."""

    def __init__(self, handle: Any, code: int) -> None:
        self._handle = handle
        self._code = code

    def write(self, data: bytes) -> int:
        self._handle.write(data[: len(data) // 2])
        self._handle.flush()
        raise os_error(self._code)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._handle.close()


def break_json_writes(monkeypatch: pytest.MonkeyPatch, call: str, code: int) -> None:
    """Make `call` fail with `code` in every write from now on (undo with monkeypatch.undo)."""
    tally.fault_injected()

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise os_error(code)

    if call == "mkstemp":
        monkeypatch.setattr(tempfile, "mkstemp", fail)
    elif call == "write":
        real = os.fdopen

        def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
            return _FillingFile(real(fd, *args, **kwargs), code)

        monkeypatch.setattr(os, "fdopen", fdopen)
    else:
        monkeypatch.setattr(os, call, fail)


@contextmanager
def sqlite_full(extra_pages: int = 0) -> Iterator[None]:
    """Every SQLAlchemy connection opened inside the block finds the disk full: SQLite may
    not grow the database beyond its current size (`extra_pages` more), and says
    "database or disk is full" (SQLITE_FULL) when a write needs a page more."""
    tally.fault_injected()

    def cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {max(pages, 1) + extra_pages}")
        cursor.close()

    event.listen(Engine, "connect", cap)
    try:
        yield
    finally:
        event.remove(Engine, "connect", cap)


@contextmanager
def sqlite_read_only() -> Iterator[None]:
    """Every SQLAlchemy connection opened inside the block may not write: SQLite's answer to
    a database file it lacks permission to write ("attempt to write a readonly database")."""
    tally.fault_injected()

    def read_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = 1")

    event.listen(Engine, "connect", read_only)
    try:
        yield
    finally:
        event.remove(Engine, "connect", read_only)


def full_backup_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite connections to a file inside a backup being built (`.tmp-*`) find the disk full
    after two pages: the online backup's copy fails half way."""
    tally.fault_injected()
    real = sqlite3.connect

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(database, *args, **kwargs)
        if "/.tmp-" in str(database):
            conn.execute("PRAGMA max_page_count = 2")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)


def listing(directory: Path) -> dict[str, bytes | None]:
    """Every path under `directory` -> its bytes (None for a directory)."""
    return {
        str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(directory.rglob("*"))
    }
