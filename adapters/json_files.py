"""One partition file read and parsed: the bytes of a regular file (never a pipe, device or
directory), and the JSON array in them, each failure a `JsonFileError` naming the file (and the
line and column of a syntax error)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from migrator.errors import JsonFileError
from migrator.schemas.jsontext import JsonDecodeError, loads_checked


def read_regular_file(path: Path) -> bytes | None:
    """The file's bytes, or None when there is no such file."""
    try:
        # Non-blocking open: a named pipe would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JsonFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise JsonFileError(path, "not a regular file (a directory, pipe or device)")
    with os.fdopen(fd, "rb") as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise JsonFileError(path, f"cannot read: {exc.strerror or exc}") from exc


def parse_array(path: Path, data: bytes) -> tuple[list[Any], bool]:
    """The JSON array in `data`, and whether its records are vouched for as JSON
    (`jsontext.loads_checked`)."""
    if not data.strip():
        raise JsonFileError(path, "empty file: expected a JSON array of documents")
    try:
        value, checked = loads_checked(data)
    except JsonDecodeError as exc:
        raise JsonFileError(path, exc.reason, line=exc.line, column=exc.column) from None
    if not isinstance(value, list):
        found = "an object" if isinstance(value, dict) else type(value).__name__
        raise JsonFileError(path, f"expected a JSON array of documents, found {found}")
    return value, checked
