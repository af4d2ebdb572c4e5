"""Everything that differs between SQL databases, in one named place.

The stores and the engine ask a `Dialect` instead of testing the database's name: how to
connect, how to begin a write, how to insert-or-ignore, how to serialize writers of one
document, how to read a partition consistently, and how to bulk load. SQLite is the default;
PostgreSQL is the other one supported.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect as SaDialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import Insert

from migrator.adapters import sqlite_files
from migrator.adapters.redact import redact_text, redact_url
from migrator.adapters.sqlite_files import Progress
from migrator.errors import BackupError, UsageError

#: Seconds a writer waits for another writer before SQLite reports the database busy.
BUSY_TIMEOUT_SECONDS = 30
#: Seconds to wait for a PostgreSQL server to accept a connection.
CONNECT_TIMEOUT_SECONDS = 10
#: The advisory lock `init_schema` holds on PostgreSQL (an arbitrary constant: "mig1").
_SCHEMA_LOCK_KEY = 0x6D696731
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def database_url(db: str | Path) -> str:
    """A SQLAlchemy URL for a URL or a plain file path (a path means a SQLite file).

    A PostgreSQL URL without a driver (`postgresql://`, `postgres://`) means psycopg 3, the
    driver we install; SQLAlchemy would otherwise pick psycopg2."""
    text_db = str(db)
    if not _URL_SCHEME.match(text_db):
        return f"sqlite:///{Path(text_db).expanduser().absolute()}"
    for plain in ("postgresql://", "postgres://"):
        if text_db.startswith(plain):
            return "postgresql+psycopg://" + text_db[len(plain) :]
    return text_db


def redacted(db: str | Path) -> str:
    """`db` as it may be shown to a person: every password hidden (`migrator.adapters.redact`), a
    file
    path as given."""
    return redact_url(db)


CheckStatus = Literal["ok", "problem", "info", "skipped"]


@dataclass(frozen=True)
class Check:
    """One health check's finding: `problem` makes `doctor` exit 1; `skipped` does not apply."""

    name: str
    status: CheckStatus
    detail: str
    data: Any = field(default=None, compare=False)


class Dialect:
    """SQLite: the embedded default."""

    name = "sqlite"
    #: Checks `doctor` can run here.
    supports_integrity_check = True
    #: Queries (`migrator.adapters.sql_query`): the collation that orders text by code point (None:
    #: the
    #: default does), whether NULL sorts first ascending by default, and the function giving a
    #: substring's position.
    code_point_collation: str | None = None
    nulls_sort_first = True
    text_position_function = "instr"

    def engine(self, url: str) -> Engine:
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            poolclass=StaticPool if in_memory else None,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine

    def insert_ignore(self, table: Table) -> Insert:
        """INSERT that skips rows whose key already exists."""
        return sqlite.insert(table).on_conflict_do_nothing()

    def lock_document(self, conn: Connection, doc_id: str) -> None:
        """Serialize writers of one document (SQLite's BEGIN IMMEDIATE already serializes all)."""

    def lock_schema(self, conn: Connection) -> None:
        """Serialize processes creating or upgrading the schema (SQLite: BEGIN IMMEDIATE does)."""

    def share_schema(self, conn: Connection) -> None:
        """A writer waits here while the schema is being upgraded (SQLite: BEGIN IMMEDIATE)."""

    def begin_read(self, conn: Connection) -> Connection:
        """A connection whose next transaction reads one consistent snapshot."""
        return conn

    def bulk_insert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """The fastest way this database takes many rows inside the current transaction: one
        compiled INSERT handed to the driver's executemany with plain tuples. SQLAlchemy's
        per-row parameter processing cost ~15% of an import, and these columns (text, integers,
        booleans, NULL) need none. Every row must carry the first row's keys."""
        if not rows:
            return
        statement, order = _insert_statement(table, tuple(rows[0]), conn.dialect)
        conn.exec_driver_sql(statement, [tuple([row[key] for key in order]) for row in rows])

    def database_file(self, url: str) -> Path | None:
        """The file behind the URL, for file-level work (backup, doctor); None if in memory."""
        database = make_url(url).database
        if not database or database == ":memory:":
            return None
        return Path(database)

    # ------------------------------------------------------------ backup, restore, health

    #: The file name suffix of this database's backup artifact.
    backup_suffix = ".sqlite3"

    def database_exists(self, url: str) -> bool:
        """Whether there is a database to back up yet (SQLite creates the file on first use)."""
        file = self.database_file(url)
        return file is not None and file.is_file() and file.stat().st_size > 0

    def backup_database(
        self,
        url: str,
        dest: Path,
        progress: Progress | None = None,
        *,
        tables: Collection[str] = (),
    ) -> None:
        """A consistent copy of the live database in `dest`, an empty file the caller created
        with the mode it wants; `DatabaseCorruptError` when the copy shows damage. `tables` are
        the store's (a server's database may hold others; a SQLite file is copied whole)."""
        sqlite_files.online_backup(self._file(url), dest, progress)

    def copy_damaged(self, url: str, dest: Path) -> None:
        """A byte copy of a database too damaged for `backup_database` (kept for the record)."""
        source = self._file(url)
        sqlite_files.copy_bytes(source, dest)
        wal = Path(f"{source}-wal")
        if wal.exists():
            sqlite_files.copy_bytes(wal, Path(f"{dest}-wal"))

    def dump_sql(self, backup_file: Path, dest_fd: int) -> None:
        """The SQL text of a backup artifact, gzipped, into a descriptor the caller opened."""
        sqlite_files.dump_sql(backup_file, dest_fd)

    def stage_backup(self, url: str, backup_file: Path) -> Path:
        """A private copy of a backup artifact that `inspect_backup` may open and
        `restore_database` may move (SQLite: beside the database file, so the last step is a
        rename). The caller removes it afterwards unless it is `backup_file` itself."""
        return sqlite_files.stage_copy(backup_file, self._file(url))

    def inspect_backup(self, staged: Path) -> dict[str, str]:
        """The `migrator_meta` of a staged backup once it proved whole and sound; otherwise
        `BackupError` saying what is wrong (not a database, truncated, fails integrity)."""
        return sqlite_files.inspect_file(staged)

    def restore_database(self, url: str, staged: Path) -> None:
        """Replace the live database with a staged, inspected backup, atomically."""
        sqlite_files.replace_file(self._file(url), staged)

    def health_checks(self, conn: Connection) -> list[Check]:
        """The database's own consistency checks, for `doctor`."""
        checks = []
        for name, pragma in (
            ("integrity", "PRAGMA integrity_check(20)"),
            ("foreign keys", "PRAGMA foreign_key_check"),
        ):
            try:
                rows = [tuple(row) for row in conn.exec_driver_sql(pragma)]
            except sa_exc.DBAPIError as exc:
                checks.append(Check(name, "problem", f"{pragma} failed: {exc.orig or exc}"))
                continue
            if rows in ([], [("ok",)]):
                checks.append(Check(name, "ok", f"{pragma}: ok"))
            else:
                shown = "; ".join(" ".join(str(v) for v in row) for row in rows[:5])
                checks.append(
                    Check(name, "problem", f"{pragma}: {len(rows)} finding(s): {shown}", rows)
                )
        try:
            mode = str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower()
        except sa_exc.DBAPIError as exc:
            checks.append(Check("journal mode", "problem", f"unreadable: {exc.orig or exc}"))
        else:
            wal = mode == "wal"
            detail = "wal" if wal else f"{mode} (expected wal: readers during writes need it)"
            checks.append(Check("journal mode", "ok" if wal else "problem", detail))
        return checks

    def _file(self, url: str) -> Path:
        file = self.database_file(url)
        if file is None:
            raise BackupError(f"database {url} is in memory: there is no file to back up")
        return file


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level, so `_sqlite_on_begin` decides how transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Writers take the write lock up front: a deferred transaction that upgrades later can fail
    # at once with "database is locked" instead of waiting out the busy timeout.
    if conn.get_execution_options().get("migrator_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


@functools.cache
def _insert_statement(
    table: Table, keys: tuple[str, ...], dialect: SaDialect
) -> tuple[str, tuple[str, ...]]:
    """The INSERT of `keys` into `table`, compiled once (compiling cost more than a small
    write itself), and the order its parameters take."""
    compiled = table.insert().compile(dialect=dialect, column_keys=list(keys))
    return str(compiled), tuple(compiled.positiontup or ())


#: The one line a PostgreSQL URL gets when the driver is not installed (a plain `pip install .`).
PSYCOPG_MISSING = (
    "PostgreSQL needs the psycopg driver, which is not installed: pip install 'migrator[postgres]'"
)


def require_psycopg() -> None:
    """A usage error naming the extra to install when psycopg cannot be imported. psycopg is
    an optional extra a SQLite user never installs, so it (and `migrator.adapters.postgres_files`)
    is
    imported only by the PostgreSQL dialect's methods, which `dialect_for` guards with this."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise UsageError(PSYCOPG_MISSING) from None


class PostgresDialect(Dialect):
    """PostgreSQL through psycopg 3."""

    name = "postgresql"
    supports_integrity_check = False
    code_point_collation = "C"
    nulls_sort_first = False
    text_position_function = "strpos"

    def engine(self, url: str) -> Engine:
        # A server that does not answer is an error after a while, not a hang.
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                "application_name": "migrator",
            },
        )

    def insert_ignore(self, table: Table) -> Insert:
        return postgresql.insert(table).on_conflict_do_nothing()

    def lock_document(self, conn: Connection, doc_id: str) -> None:
        # Until commit: two writers of one new id would otherwise both insert it.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:id, 0))"), {"id": doc_id})

    def lock_schema(self, conn: Connection) -> None:
        # The two-key lock space, apart from the documents': CREATE TABLE is not idempotent when
        # two processes run it at once.
        conn.execute(text(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK_KEY}, 0)"))

    def share_schema(self, conn: Connection) -> None:
        # Shared with other writers, exclusive of `lock_schema`: an upgrade's DDL and version
        # change are not interleaved with a write that read the old version.
        conn.execute(text(f"SELECT pg_advisory_xact_lock_shared({_SCHEMA_LOCK_KEY}, 0)"))

    def begin_read(self, conn: Connection) -> Connection:
        # One snapshot for every statement of the transaction; the pool resets both on check-in.
        return conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)

    def bulk_insert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """COPY ... FROM STDIN on the connection's own psycopg connection: same transaction."""
        if not rows:
            return
        import psycopg

        columns = list(dict.fromkeys(key for row in rows for key in row))
        quote = conn.dialect.identifier_preparer
        statement = (
            f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns)}) "
            "FROM STDIN"
        )
        driver = conn.connection.driver_connection
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row([row.get(column) for column in columns])
        except psycopg.Error as exc:
            # Raised as SQLAlchemy would have, so the store maps it like any other statement's.
            raise sa_exc.DBAPIError.instance(
                statement, None, exc, psycopg.Error, dialect=conn.dialect
            ) from exc

    def database_file(self, url: str) -> Path | None:
        return None

    # ------------------------------------------------------------ backup, restore, health
    # pg_dump / pg_restore, in migrator.adapters.postgres_files.

    backup_suffix = ".pgdump"

    def database_exists(self, url: str) -> bool:
        """Whether the database exists and holds a store (its `migrator_meta` table)."""
        from migrator.adapters import postgres_files  # needs psycopg: only here

        return postgres_files.database_exists(url)

    def backup_database(
        self,
        url: str,
        dest: Path,
        progress: Progress | None = None,
        *,
        tables: Collection[str] = (),
    ) -> None:
        """`pg_dump --format=custom` of the store's tables: one snapshot while writers run."""
        from migrator.adapters import postgres_files  # needs psycopg: only here

        postgres_files.dump(url, dest, tables)
        if progress is not None:
            progress(1, 1)

    def copy_damaged(self, url: str, dest: Path) -> None:
        raise BackupError("a PostgreSQL database has no file to copy byte for byte")

    def dump_sql(self, backup_file: Path, dest_fd: int) -> None:
        from migrator.adapters import postgres_files  # needs psycopg: only here

        postgres_files.dump_sql(backup_file, dest_fd)

    def stage_backup(self, url: str, backup_file: Path) -> Path:
        """The archive itself: pg_restore only reads it."""
        return backup_file

    def inspect_backup(self, staged: Path) -> dict[str, str]:
        from migrator.adapters import postgres_files  # needs psycopg: only here

        return postgres_files.inspect_archive(staged)

    def restore_database(self, url: str, staged: Path) -> None:
        """`pg_restore --clean --if-exists --single-transaction`: all of it or nothing."""
        from migrator.adapters import postgres_files  # needs psycopg: only here

        postgres_files.restore(url, staged)

    def health_checks(self, conn: Connection) -> list[Check]:
        """What PostgreSQL can tell, and which of SQLite's file checks do not apply here."""
        version = conn.exec_driver_sql("SHOW server_version").scalar()
        checksums = conn.exec_driver_sql("SHOW data_checksums").scalar()
        from migrator.adapters import postgres_files  # needs psycopg: only here

        unenforced = postgres_files.unenforced_foreign_keys(conn)
        if unenforced:
            shown = ", ".join(unenforced[:5])
            keys = Check("foreign keys", "problem", f"not enforced: {shown}", unenforced)
        else:
            keys = Check("foreign keys", "ok", "every foreign key validated and enforced")
        return [
            Check("server", "info", f"PostgreSQL {version}, data checksums {checksums}"),
            Check(
                "integrity",
                "skipped",
                "PRAGMA integrity_check is SQLite's; on PostgreSQL run pg_amcheck for a scan",
            ),
            keys,
            Check(
                "journal mode",
                "skipped",
                "SQLite's WAL setting; PostgreSQL always logs ahead (wal_level is the server's)",
            ),
        ]


_DIALECTS: dict[str, Dialect] = {"sqlite": Dialect(), "postgresql": PostgresDialect()}
#: The drivers each dialect is used with (the first is the one `database_url` picks).
_DRIVERS: dict[str, tuple[str, ...]] = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}


def dialect_for(url: str) -> Dialect:
    """The dialect of a SQLAlchemy URL; a usage error for databases we do not support."""
    try:
        parsed = make_url(url)  # a port that is no number fails here, not at connect time
    except (ArgumentError, ValueError) as exc:
        raise UsageError(
            f"--db {redact_url(url)}: not a usable database URL ({redact_text(str(exc))})"
        ) from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    dialect = _DIALECTS.get(backend)
    if dialect is None:
        supported = ", ".join(sorted(_DIALECTS))
        raise UsageError(f"database {backend!r} is not supported (supported: {supported})")
    if driver not in _DRIVERS[dialect.name]:
        raise UsageError(
            f"--db {redact_url(url)}: driver {driver!r} is not supported for {backend} "
            f"(use {dialect.name}:// or {dialect.name}+{_DRIVERS[dialect.name][0]}://)"
        )
    if dialect.name == "postgresql":
        require_psycopg()
    return dialect
