"""SQLite: the embedded default. Writers take the write lock up front (BEGIN IMMEDIATE), the
journal is WAL so readers never wait for a writer, and backups use the online backup API
(`migrator.adapters.sqlite_files`)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Unpack

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect as SaDialect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import Insert

from migrator.adapters import sqlite_files
from migrator.adapters.dialect_base import BackupOptions, Check, Dialect, Fetch
from migrator.adapters.sqlite_files import BUSY_TIMEOUT_SECONDS
from migrator.errors import BackupError, DatabaseError


class SqliteDialect(Dialect):
    """SQLite through the standard library's sqlite3."""

    name = "sqlite"
    supports_integrity_check = True
    code_point_collation = None  # BINARY, the default, is code point order for UTF-8
    nulls_sort_first = True
    text_position_function = "instr"
    backup_suffix = ".sqlite3"

    def engine(self, url: str) -> Engine:
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            poolclass=StaticPool if in_memory else None,
        )
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", _on_begin)
        return engine

    def insert_ignore(self, table: Table) -> Insert:
        return sqlite.insert(table).on_conflict_do_nothing()

    def lock_document(self, conn: Connection, doc_id: str) -> None:
        """BEGIN IMMEDIATE already serializes all writers."""

    def lock_schema(self, conn: Connection) -> None:
        """BEGIN IMMEDIATE already serializes all writers."""

    def share_schema(self, conn: Connection) -> None:
        """BEGIN IMMEDIATE already waits out an upgrade's transaction."""

    def begin_read(self, conn: Connection) -> Connection:
        """A deferred transaction reads one snapshot in WAL mode."""
        return conn

    @contextlib.contextmanager
    def raw_snapshot(self, driver_connection: Any) -> Iterator[Fetch]:
        """A deferred transaction: one snapshot in WAL mode, taking no lock. sqlite3 keeps
        each statement text compiled in its own cache, so a repeated read is not re-parsed."""
        driver_connection.execute("BEGIN")
        try:
            yield lambda sql, parameters: driver_connection.execute(sql, parameters).fetchall()
        finally:
            driver_connection.execute("ROLLBACK")

    def bulk_insert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """One compiled INSERT handed to the driver's executemany with plain tuples.
        SQLAlchemy's per-row parameter processing cost ~15% of an import, and these columns
        (text, integers, booleans, NULL) need none. Every row must carry the first row's keys."""
        if not rows:
            return
        statement, order = _insert_statement(table, tuple(rows[0]), conn.dialect)
        conn.exec_driver_sql(statement, [tuple([row[key] for key in order]) for row in rows])

    def database_file(self, url: str) -> Path | None:
        database = make_url(url).database
        if not database or database == ":memory:":
            return None
        return Path(database)

    # ------------------------------------------------------------ backup, restore, health

    def database_exists(self, url: str) -> bool:
        """SQLite creates the file on first use: an empty file holds nothing yet. Something
        else at the path (a directory) is no database about to be made: a `DatabaseError`, so
        doctor and backup say so instead of "does not exist yet"."""
        file = self.database_file(url)
        if file is not None and file.exists() and not file.is_file():
            kind = "a directory" if file.is_dir() else "not a regular file"
            raise DatabaseError(f"database {file}: {kind}, not a database file")
        return file is not None and file.is_file() and file.stat().st_size > 0

    def backup_database(self, url: str, dest: Path, **options: Unpack[BackupOptions]) -> None:
        """The online backup API; the file is copied whole, whatever `tables` says."""
        sqlite_files.online_backup(self._file(url), dest, options.get("progress"))

    def copy_damaged(self, url: str, dest: Path) -> None:
        source = self._file(url)
        sqlite_files.copy_bytes(source, dest)
        wal = Path(f"{source}-wal")
        if wal.exists():
            sqlite_files.copy_bytes(wal, Path(f"{dest}-wal"))

    def dump_sql(self, backup_file: Path, dest_fd: int) -> None:
        sqlite_files.dump_sql(backup_file, dest_fd)

    def stage_backup(self, url: str, backup_file: Path) -> Path:
        """A private copy beside the database file, so the last step of a restore is a rename."""
        return sqlite_files.stage_copy(backup_file, self._file(url))

    def inspect_backup(self, staged: Path) -> dict[str, str]:
        return sqlite_files.inspect_file(staged)

    def restore_database(self, url: str, staged: Path) -> None:
        sqlite_files.replace_file(self._file(url), staged)

    def health_checks(self, conn: Connection) -> list[Check]:
        """integrity_check, foreign_key_check and the journal mode (WAL expected)."""
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


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level, so `_on_begin` decides how transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _on_begin(conn: Connection) -> None:
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
