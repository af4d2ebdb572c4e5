"""PostgreSQL through psycopg 3: advisory locks serialize writers of one document and the schema's
upgrades, a read is one REPEATABLE READ snapshot, bulk loads use COPY, and backups are
pg_dump / pg_restore (`migrator.adapters.postgres_files`, imported only here: it needs psycopg,
an optional extra a SQLite user never installs)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Unpack

from sqlalchemy import Connection, Engine, Table, create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import Insert

from migrator.adapters.dialect_base import BackupOptions, Check, Dialect, Fetch
from migrator.errors import BackupError, UsageError

#: Seconds to wait for a PostgreSQL server to accept a connection.
CONNECT_TIMEOUT_SECONDS = 10
#: The advisory lock `init_schema` holds on PostgreSQL (an arbitrary constant: "mig1").
_SCHEMA_LOCK_KEY = 0x6D696731


#: The one line a PostgreSQL URL gets when the driver is not installed (a plain `pip install .`).
PSYCOPG_MISSING = (
    "PostgreSQL needs the psycopg driver, which is not installed: pip install 'migrator[postgres]'"
)


def require_psycopg() -> None:
    """A usage error naming the extra to install when psycopg cannot be imported. psycopg is
    an optional extra a SQLite user never installs, so it (and
    `migrator.adapters.postgres_files`) is imported only by the PostgreSQL dialect's methods,
    which `dialect_for` guards with this."""
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
    backup_suffix = ".pgdump"

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

    @contextlib.contextmanager
    def raw_snapshot(self, driver_connection: Any) -> Iterator[Fetch]:
        """A read-only REPEATABLE READ transaction; each statement is prepared on the server
        at its first use on a connection and reused after (psycopg's `prepare=True`)."""
        import psycopg

        saved = driver_connection.isolation_level, driver_connection.read_only
        driver_connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        driver_connection.read_only = True
        try:
            with driver_connection.cursor() as cursor:

                def fetch(sql: str, parameters: Any) -> list[tuple[Any, ...]]:
                    cursor.execute(sql, parameters, prepare=True)
                    rows: list[tuple[Any, ...]] = cursor.fetchall()
                    return rows

                yield fetch
        finally:
            driver_connection.rollback()
            driver_connection.isolation_level, driver_connection.read_only = saved

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

    def database_exists(self, url: str) -> bool:
        """Whether the database exists and holds a store (its `migrator_meta` table)."""
        from migrator.adapters import postgres_files  # needs psycopg: only here

        return postgres_files.database_exists(url)

    def backup_database(self, url: str, dest: Path, **options: Unpack[BackupOptions]) -> None:
        """`pg_dump --format=custom` of the store's tables: one snapshot while writers run."""
        from migrator.adapters import postgres_files  # needs psycopg: only here

        postgres_files.dump(url, dest, options.get("tables", ()))
        if (progress := options.get("progress")) is not None:
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
