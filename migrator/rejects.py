"""Rejected records: what the importer could not take, and the JSON Lines file that keeps them.

Each line names the file, the record's index in it (null when the whole file is rejected), its
id when it has one, a one-line error naming the field, and the raw record, so a person can fix
the record and import again. The file is created on the first reject only: a clean import
leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from migrator.adapters.fs import open_nofollow
from migrator.adapters.state_dir import PRIVATE_MODE
from migrator.errors import DocumentError, JsonFileError, StoreError
from migrator.schemas.jsontext import dumps_compact

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reject:
    """One record (or one whole file, `index` None) that was not imported, and why."""

    file: str
    partition: str
    index: int | None
    doc_id: Any
    field: str | None
    error: str
    line: int | None = None
    column: int | None = None

    @classmethod
    def of_document(
        cls, file: str, partition: str, index: int, error: DocumentError, doc_id: Any = None
    ) -> Reject:
        message = DocumentError(error.reason, field=error.field).message
        return cls(
            file=file,
            partition=partition,
            index=index,
            doc_id=error.doc_id if error.doc_id is not None else doc_id,
            field=error.field,
            error=_one_line(message),
        )

    @classmethod
    def of_file(cls, file: str, partition: str, error: JsonFileError) -> Reject:
        place = f" (line {error.line}, column {error.column})" if error.line is not None else ""
        return cls(
            file=file,
            partition=partition,
            index=None,
            doc_id=None,
            field=None,
            error=_one_line(error.reason + place),
            line=error.line,
            column=error.column,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without the record), as in the rejects file and `--format json`."""
        entry: dict[str, Any] = {
            "file": self.file,
            "index": self.index,
            "id": self.doc_id,
            "field": self.field,
            "error": self.error,
        }
        if self.line is not None:
            entry["line"], entry["column"] = self.line, self.column
        return entry


class RejectsFile:
    """Appends rejects as JSON Lines to `path`, created with its directory on the first one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None

    @property
    def written(self) -> bool:
        return self._handle is not None

    def write(self, reject: Reject, record: Any) -> None:
        entry = reject.to_dict()
        entry["record"] = record
        line = dumps_compact(entry).encode() + b"\n"
        try:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Raw records are documents: private like the backups (0600), never through
                # a planted link.
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
                self._handle = os.fdopen(open_nofollow(self.path, flags, PRIVATE_MODE), "wb")
                logger.info("writing rejects to %s", self.path)
            self._handle.write(line)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write rejects: {exc.strerror or exc}") from exc

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")
