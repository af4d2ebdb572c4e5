"""The transaction a `migrator db` verb runs in, and the errors it may raise made the toolkit's.

A verb gets one connection of its own and one transaction on it: committed for a write that
ends well, rolled back otherwise; a write holds the schema lock (SQLite: BEGIN IMMEDIATE;
PostgreSQL: the advisory lock every writer takes shared). Alembic's, SQLAlchemy's and the
driver's errors leave as `SchemaMigrationError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc

from migrator.adapters.dialects import database_url, dialect_for, redacted
from migrator.errors import MigratorError, SchemaMigrationError
from migrator.schemas.declaration import Schema


@contextlib.contextmanager
def session(
    db: str | Path, schema: Schema, *, write: bool, create: bool = False
) -> Iterator[Connection]:
    """One transaction on a connection of its own: committed for a write that ends well,
    rolled back otherwise (a read may stamp an inferred revision; it is not kept). A SQLite
    file that does not exist is an error unless `create`."""
    url = database_url(db)
    dialect = dialect_for(url)
    file = dialect.database_file(url)
    if file is not None and not file.exists() and not create:
        raise SchemaMigrationError(f"database {file} does not exist; run `migrator init`")
    engine = dialect.engine(url)
    sqlite = dialect.name == "sqlite"
    try:
        with engine.connect() as raw, database_errors(redacted(db)):
            driver = raw.connection.driver_connection
            if sqlite and write:
                # Off for the transaction, so that SQLite's table rebuilds (batch mode) do not
                # cascade; checked before the commit instead.
                driver.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
            conn = raw.execution_options(migrator_write=write)
            try:
                with conn.begin() as transaction:
                    if write:
                        dialect.lock_schema(conn)
                    yield conn
                    if write and sqlite:
                        check_foreign_keys(conn)
                    if not write:
                        transaction.rollback()
            finally:
                if sqlite and write:
                    driver.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]
    finally:
        engine.dispose()


def check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        shown = ", ".join(f"{row[0]} row {row[1]}" for row in broken[:5])
        raise SchemaMigrationError(f"rows would lose their parent ({shown}); nothing changed")


@contextlib.contextmanager
def alembic_errors(doing: str | None = None) -> Iterator[None]:
    prefix = f"{doing} failed, nothing changed: " if doing else ""
    try:
        yield
    except MigratorError as exc:
        if not doing:
            raise
        raise SchemaMigrationError(f"{prefix}{exc}") from exc
    except CommandError as exc:
        raise SchemaMigrationError(f"{prefix}{exc}") from exc
    except sa_exc.DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise SchemaMigrationError(f"{prefix}{detail}") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise SchemaMigrationError(f"{prefix}{exc}") from exc


@contextlib.contextmanager
def database_errors(where: str) -> Iterator[None]:
    try:
        yield
    except sa_exc.DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise SchemaMigrationError(f"database {where}: {detail}") from exc
