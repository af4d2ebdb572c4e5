"""What every supported SQL database must say for itself: an abstract base, one implementation
per database beside it (`dialect_sqlite`, `dialect_postgres`), as alembic lays out `DefaultImpl`
and its per-dialect modules. Nothing here is a default: a dialect that forgets a member cannot
be instantiated (methods) or fails the test that reads each class's own members (attributes),
so PostgreSQL never silently inherits SQLite's behaviour."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypedDict, Unpack

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.sql.dml import Insert

from migrator.adapters.sqlite_files import Progress

CheckStatus = Literal["ok", "problem", "info", "skipped"]
#: Runs one compiled statement with its parameters on a driver connection: its rows as tuples.
Fetch = Callable[[str, Any], list[tuple[Any, ...]]]


class BackupOptions(TypedDict, total=False):
    """`Dialect.backup_database`'s options, one declaration for every dialect: a progress
    callback, and the store's tables (a server's database may hold others)."""

    progress: Progress | None
    tables: Collection[str]


@dataclass(frozen=True)
class Check:
    """One health check's finding: `problem` makes `doctor` exit 1; `skipped` does not apply."""

    name: str
    status: CheckStatus
    detail: str
    data: Any = field(default=None, compare=False)


class Dialect(ABC):
    """Everything that differs between SQL databases. The stores and the engine ask this
    instead of testing the database's name."""

    #: The SQLAlchemy backend name.
    name: ClassVar[str]
    #: Whether `doctor` can run a full integrity check here.
    supports_integrity_check: ClassVar[bool]
    #: Queries (`migrator.adapters.sql_criteria`): the collation that orders text by code point
    #: (None: the default does), whether NULL sorts first ascending by default, and the
    #: function giving a substring's position.
    code_point_collation: ClassVar[str | None]
    nulls_sort_first: ClassVar[bool]
    text_position_function: ClassVar[str]
    #: The file name suffix of this database's backup artifact.
    backup_suffix: ClassVar[str]

    # ------------------------------------------------------------ connections and writes

    @abstractmethod
    def engine(self, url: str) -> Engine:
        """An engine set up for this database (pragmas, timeouts)."""

    @abstractmethod
    def insert_ignore(self, table: Table) -> Insert:
        """INSERT that skips rows whose key already exists."""

    @abstractmethod
    def lock_document(self, conn: Connection, doc_id: str) -> None:
        """Serialize writers of one document until the transaction ends."""

    @abstractmethod
    def lock_schema(self, conn: Connection) -> None:
        """Serialize processes creating or upgrading the schema."""

    @abstractmethod
    def share_schema(self, conn: Connection) -> None:
        """A writer waits here while the schema is being upgraded."""

    @abstractmethod
    def begin_read(self, conn: Connection) -> Connection:
        """A connection whose next transaction reads one consistent snapshot."""

    @abstractmethod
    def raw_snapshot(self, driver_connection: Any) -> AbstractContextManager[Fetch]:
        """One consistent read on the driver's own connection, for the read hot path (no
        SQLAlchemy work per statement): yields a `Fetch`; the read ends with the block."""

    @abstractmethod
    def bulk_insert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """The fastest way this database takes many rows inside the current transaction."""

    @abstractmethod
    def database_file(self, url: str) -> Path | None:
        """The file behind the URL, for file-level work (backup, doctor); None if none."""

    # ------------------------------------------------------------ backup, restore, health

    @abstractmethod
    def database_exists(self, url: str) -> bool:
        """Whether there is a database to back up yet."""

    @abstractmethod
    def backup_database(self, url: str, dest: Path, **options: Unpack[BackupOptions]) -> None:
        """A consistent copy of the live database in `dest`, an empty file the caller created
        with the mode it wants; `DatabaseCorruptError` when the copy shows damage."""

    @abstractmethod
    def copy_damaged(self, url: str, dest: Path) -> None:
        """A byte copy of a database too damaged for `backup_database` (kept for the record)."""

    @abstractmethod
    def dump_sql(self, backup_file: Path, dest_fd: int) -> None:
        """The SQL text of a backup artifact, gzipped, into a descriptor the caller opened."""

    @abstractmethod
    def stage_backup(self, url: str, backup_file: Path) -> Path:
        """A copy of a backup artifact that `inspect_backup` may open and `restore_database`
        may move. The caller removes it afterwards unless it is `backup_file` itself."""

    @abstractmethod
    def inspect_backup(self, staged: Path) -> dict[str, str]:
        """The `migrator_meta` of a staged backup once it proved whole and sound; otherwise
        `BackupError` saying what is wrong."""

    @abstractmethod
    def restore_database(self, url: str, staged: Path) -> None:
        """Replace the live database with a staged, inspected backup, all or nothing."""

    @abstractmethod
    def health_checks(self, conn: Connection) -> list[Check]:
        """The database's own consistency checks, for `doctor`."""
