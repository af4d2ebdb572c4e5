"""One SQL database behind a store: its engine, its transactions, and its errors made ours.

Every other `sql_*` module reaches the database through a `SqlDatabase`: `read()` for one
consistent snapshot, `write()` for one write transaction, `errors()` to turn driver errors into
the toolkit's (`migrator.errors`) in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc

from migrator.adapters.dialect_base import Fetch
from migrator.adapters.dialects import Dialect, database_url, dialect_for
from migrator.adapters.redact import redact_url
from migrator.errors import (
    ConstraintError,
    DatabaseCorruptError,
    DatabaseError,
    DocumentError,
    UsageError,
)


class SqlDatabase:
    """A database named by a file path or a SQLAlchemy URL, and its dialect."""

    def __init__(self, db: str | Path, *, create: bool = True) -> None:
        self.url = database_url(db)
        self.dialect: Dialect = dialect_for(self.url)
        file = self.dialect.database_file(self.url)
        if file is not None and not file.parent.is_dir():
            # SQLite would say only "unable to open database file".
            raise UsageError(
                f"db {file}: the folder {file.parent} does not exist", parameters=["db"]
            )
        if file is not None and not create and not file.exists():
            raise DatabaseError(f"database {file} does not exist; run `migrator init` or `import`")
        self.engine = self.dialect.engine(self.url)

    @property
    def location(self) -> str:
        """The database as it may be shown to a person (no password)."""
        return redact_url(self.engine.url.render_as_string(hide_password=True))

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction over one consistent snapshot (the dialect knows how)."""
        with self.engine.connect() as raw:
            conn = self.dialect.begin_read(raw)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Fetch]:
        """One consistent read on the driver's own connection (`Dialect.raw_snapshot`): the
        read hot path, without SQLAlchemy's work per statement. Driver errors are raised as
        SQLAlchemy's, so `errors()` maps them like any other."""
        driver_error = self.engine.dialect.loaded_dbapi.Error
        try:
            connection = self.engine.raw_connection()
            try:
                with self.dialect.raw_snapshot(connection.driver_connection) as fetch:
                    yield fetch
            except driver_error:
                # Not back to the pool in an unknown state (a server gone, a read left open).
                connection.invalidate()
                raise
            finally:
                connection.close()
        except driver_error as exc:
            raise sa_exc.DBAPIError.instance(
                None, None, exc, driver_error, dialect=self.engine.dialect
            ) from exc

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back when it raises."""
        with self.engine.connect() as raw:
            conn = raw.execution_options(migrator_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def errors(self, *, partition: str | None = None, doc_id: str | None = None) -> Iterator[None]:
        """Driver errors become ours, once, here. A constraint a document breaks (a child id
        another document already uses) is the document's error, not the database's."""
        try:
            yield
        except (sa_exc.IntegrityError, sa_exc.DataError, sa_exc.OperationalError) as exc:
            if not isinstance(exc, sa_exc.IntegrityError) and not _refuses_the_data(exc):
                raise _translate(exc, self.location) from exc
            if doc_id is None:
                raise ConstraintError(f"database {self.location}: {_detail(exc)}") from exc
            raise DocumentError(
                f"refused by the database: {_detail(exc)}", partition=partition, doc_id=doc_id
            ) from exc
        except sa_exc.DBAPIError as exc:
            raise _translate(exc, self.location) from exc


#: SQLSTATEs of a value the database cannot hold (an index row too big, NUL or a character
#: the encoding lacks): like a broken constraint, the fault of a document, not of the database.
_UNFIT_DATA = ("54", "22021", "22P05")


def _refuses_the_data(exc: sa_exc.DBAPIError) -> bool:
    if isinstance(exc, sa_exc.DataError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_UNFIT_DATA)


def _detail(exc: sa_exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


def _translate(exc: sa_exc.DBAPIError, location: str) -> DatabaseError:
    detail = _detail(exc)
    lowered = detail.lower()
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return DatabaseCorruptError(location, detail)
    return DatabaseError(f"database {location}: {detail}")
