"""One exception tree for the whole toolkit.

Every error carries the data its message needs (file, record, field), so the CLI can print one
line and exit with a documented code, and a Python caller can act on the fields::

    MigratorError                      exit 2 unless said otherwise
    ├── UsageError                     a flag, variable or config value that cannot be used
    │   ├── QueryError                 a query criterion, order or cursor that is wrong (field)
    │   └── SearchQueryError           search text with nothing to look for, an unclosed quote
    ├── SchemaNotFoundError            `--schema` names nothing the registry can resolve
    ├── SchemaError                    a schema declaration that cannot be used (schema, reason)
    ├── DocumentError                  a document the schema rejects (partition, index, id, field)
    ├── StoreError                     a store could not be read or written
    │   ├── UnsafePartitionError       a partition name that could escape the store directory
    │   ├── JsonFileError              a partition file that is not a JSON array (line, column)
    │   ├── PartitionConflictError     an id already stored under another partition
    │   ├── StateFileError             a file of `.migrator/` of the wrong shape (file, reason)
    │   ├── LockTimeoutError           a state-directory lock held too long by another process
    │   └── DatabaseError              the SQL side failed
    │       ├── ConstraintError        rows the database refused (a key another row already has)
    │       ├── DatabaseCorruptError   the database file is damaged: run `migrator restore`
    │       ├── CorruptRowError        a stored row that is no longer a document (`extra`)
    │       └── SchemaMismatchError    the database holds another schema or a newer version
    ├── PhaseError                     a phase move refused by its guards, or an unknown phase
    │   └── PhaseUnknownError          the phase file is missing or damaged: `phase recover`
    ├── SchemaMigrationError           a revision that does not apply, or no migrations folder
    └── BackupError                    a backup that cannot be written, read or trusted

    KeyboardInterrupt
    └── ImportInterrupted              Ctrl-C during an import: what it had committed (exit 130)

This module imports nothing from the rest of the toolkit, so every layer may raise these.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


class MigratorError(Exception):
    """Root of every error the toolkit raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, parameters: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        #: The verb parameters the message names, spelled as a Python caller writes them
        #: (`batch_size`, `force=True`); the CLI shows each as its flag (`--batch-size`).
        self.parameters = tuple(parameters)

    def __str__(self) -> str:
        return self.message


class UsageError(MigratorError):
    """A flag, environment variable or config value that cannot be used as given."""


class QueryError(UsageError):
    """A query the schema cannot answer: an unknown field, an operator a field's kind does not
    have, a value of the wrong type, a cursor of another query. Names the field."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(f"query field {field}: {reason}")
        self.field, self.reason = field, reason


class SearchQueryError(UsageError):
    """Search text that cannot be searched for; `text` is what was given."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"search {text!r}: {reason}")
        self.text, self.reason = text, reason


class SchemaNotFoundError(MigratorError):
    """The schema reference resolves to nothing, or to something that is not a Schema."""

    def __init__(self, reference: str, reason: str) -> None:
        super().__init__(f"schema {reference!r}: {reason}")
        self.reference, self.reason = reference, reason


class SchemaError(MigratorError):
    """A schema declaration that cannot be used: a table without a column it needs, a column
    of a kind the codec cannot store, a key or a list named twice. Raised when the `Schema` is
    built, naming the schema (once known) and what is wrong."""

    def __init__(self, reason: str, schema: str | None = None) -> None:
        super().__init__(reason if schema is None else f"schema {schema!r}: {reason}")
        self.reason, self.schema = reason, schema


class DocumentError(MigratorError):
    """A document the schema rejects; names where it came from and which field is wrong."""

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        partition: str | None = None,
        index: int | None = None,
        doc_id: Any = None,
    ) -> None:
        self.reason = reason
        self.field = field
        self.partition = partition
        self.index = index
        self.doc_id = doc_id
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.partition is not None:
            where.append(f"partition {self.partition!r}")
        if self.index is not None:
            where.append(f"record {self.index}")
        if self.doc_id is not None:
            where.append(f"id {self.doc_id!r}")
        prefix = ", ".join(where)
        field = f"field {self.field}: " if self.field else ""
        return f"{prefix}: {field}{self.reason}" if prefix else f"{field}{self.reason}"

    def located(self, *, partition: str | None = None, index: int | None = None) -> DocumentError:
        """The same error with the document's place filled in by the caller that knows it."""
        return DocumentError(
            self.reason,
            field=self.field,
            partition=partition if partition is not None else self.partition,
            index=index if index is not None else self.index,
            doc_id=self.doc_id,
        )


class StoreError(MigratorError):
    """A store could not be read or written."""


class UnsafePartitionError(StoreError):
    """A partition name outside the safe character set: it could escape the store directory."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"partition name {name!r} is not allowed: use letters, digits, '-', '_' and '.' "
            "(not starting with '.'), at most 128 characters"
        )
        self.name = name


class JsonFileError(StoreError):
    """A partition file that cannot be used: not JSON, not an array, unreadable."""

    def __init__(
        self, path: Path, reason: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        place = f":{line}:{column}" if line is not None and column is not None else ""
        super().__init__(f"{path}{place}: {reason}")
        self.path, self.reason, self.line, self.column = path, reason, line, column


class PartitionConflictError(StoreError):
    """A document id that is already stored under another partition."""

    def __init__(self, doc_id: Any, partition: str, existing: str) -> None:
        super().__init__(
            f"id {doc_id!r} cannot be written to partition {partition!r}: "
            f"it is already stored in partition {existing!r}"
        )
        self.doc_id, self.partition, self.existing = doc_id, partition, existing


class StateFileError(StoreError):
    """A file of the state directory (`.migrator/`) that does not have the shape it must have."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class LockTimeoutError(StoreError):
    """A lock of the state directory that another process held past the timeout."""

    def __init__(self, path: Path, purpose: str, seconds: float) -> None:
        super().__init__(
            f"{path}: another process has held {purpose} for {seconds:g} s; "
            "try again when it has finished"
        )
        self.path, self.purpose, self.seconds = path, purpose, seconds


class DatabaseError(StoreError):
    """The SQL side failed: unreachable, locked past the timeout, or refused the statement."""


class ConstraintError(DatabaseError):
    """Rows the database refused for a constraint (a key another row already has): some
    document of the batch is at fault, so the batch can be retried document by document."""


class DatabaseCorruptError(DatabaseError):
    """The database file is damaged; the fix is a restore from backup."""

    def __init__(self, location: str, detail: str) -> None:
        super().__init__(
            f"database {location} is corrupt ({detail}); run `migrator backups` to pick a "
            "backup and `migrator restore BACKUP` to bring it back"
        )
        self.location, self.detail = location, detail


class CorruptRowError(DatabaseError):
    """A stored row that cannot be turned back into its document (its `extra` column is not
    what the codec wrote): a database error, so a fallback read serves JSON instead."""

    def __init__(self, table: str, doc_id: Any, reason: str) -> None:
        super().__init__(f"table {table}, document {doc_id!r}: corrupt row ({reason})")
        self.table, self.doc_id, self.reason = table, doc_id, reason


class SchemaMismatchError(DatabaseError):
    """The database was created for another schema, or by a newer version of it."""


class PhaseError(MigratorError):
    """A phase move refused by its guards, or a phase name that does not exist."""


class PhaseUnknownError(PhaseError):
    """The phase cannot be known (its file is missing although the store left `json-only`, or
    damaged): writes, and reads whose answer depends on it, are refused until it is recovered."""

    def __init__(self, path: Path, reason: str, json_dir: Path, db: str = "DB") -> None:
        super().__init__(
            f"the phase is unknown: {path} is {reason}; run `migrator phase recover --json-dir "
            f"{json_dir} --db {db}` to work it out from the stores and the history"
        )
        self.path, self.reason, self.json_dir = path, reason, json_dir


class SchemaMigrationError(MigratorError):
    """A schema revision that cannot be made or applied (nothing was changed), or a
    migrations folder that cannot be used."""


class BackupError(MigratorError):
    """A backup that cannot be written, read, or trusted."""


class ImportInterrupted(KeyboardInterrupt):
    """Ctrl-C during an import, still a KeyboardInterrupt (it stops everything as one does),
    carrying how many documents the run had committed: a re-run finishes the job."""

    def __init__(self, committed: int) -> None:
        self.committed = committed
        documents = "1 document" if committed == 1 else f"{committed:,} documents"
        super().__init__(
            f"interrupted: {documents} committed; run the same command again to finish"
        )


def require_json_dir(path: Path) -> None:
    """The one message every verb gives when `json_dir` names no directory."""
    if path.is_dir():
        return
    what = "is a file, not a directory" if path.exists() else "no such directory"
    raise UsageError(f"json_dir {path}: {what}", parameters=["json_dir"])
