"""Which SQL database a URL names, and its `Dialect`: everything that differs between
databases, in one named place (`dialect_base` the abstract base; `dialect_sqlite` and
`dialect_postgres` the two supported, side by side).

The stores and the engine ask a `Dialect` instead of testing the database's name: how to
connect, how to begin a write, how to insert-or-ignore, how to serialize writers of one
document, how to read a partition consistently, how to bulk load, back up and check health.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from migrator.adapters.dialect_base import Check, CheckStatus, Dialect
from migrator.adapters.dialect_postgres import (
    CONNECT_TIMEOUT_SECONDS,
    PSYCOPG_MISSING,
    PostgresDialect,
    require_psycopg,
)
from migrator.adapters.dialect_sqlite import SqliteDialect
from migrator.adapters.redact import redact_text, redact_url
from migrator.adapters.sqlite_files import BUSY_TIMEOUT_SECONDS
from migrator.errors import UsageError

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "CONNECT_TIMEOUT_SECONDS",
    "PSYCOPG_MISSING",
    "Check",
    "CheckStatus",
    "Dialect",
    "PostgresDialect",
    "SqliteDialect",
    "database_url",
    "dialect_for",
    "redacted",
]

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: A file path's characters a URL would read otherwise: `?` starts the query (`a?b/app.db`
#: would open the file `a`), `%` an escape (`%20` a space). SQLAlchemy unquotes them back.
_URL_QUOTED = str.maketrans({"%": "%25", "?": "%3F"})
_DIALECTS: dict[str, Dialect] = {"sqlite": SqliteDialect(), "postgresql": PostgresDialect()}
#: The drivers each dialect is used with (the first is the one `database_url` picks).
_DRIVERS: dict[str, tuple[str, ...]] = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}


def database_url(db: str | Path) -> str:
    """A SQLAlchemy URL for a URL or a plain file path (a path means a SQLite file).

    A PostgreSQL URL without a driver (`postgresql://`, `postgres://`) means psycopg 3, the
    driver we install; SQLAlchemy would otherwise pick psycopg2."""
    text_db = str(db)
    if not _URL_SCHEME.match(text_db):
        path = str(Path(text_db).expanduser().absolute())
        return f"sqlite:///{path.translate(_URL_QUOTED)}"
    for plain in ("postgresql://", "postgres://"):
        if text_db.startswith(plain):
            return "postgresql+psycopg://" + text_db[len(plain) :]
    return text_db


def redacted(db: str | Path) -> str:
    """`db` as it may be shown to a person: every password hidden (`migrator.adapters.redact`),
    a file path as given."""
    return redact_url(db)


def dialect_for(url: str) -> Dialect:
    """The dialect of a SQLAlchemy URL; a usage error for databases we do not support."""
    try:
        parsed = make_url(url)  # a port that is no number fails here, not at connect time
    except (ArgumentError, ValueError) as exc:
        raise UsageError(
            f"db {redact_url(url)}: not a usable database URL ({redact_text(str(exc))})",
            parameters=["db"],
        ) from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    dialect = _DIALECTS.get(backend)
    if dialect is None:
        supported = ", ".join(sorted(_DIALECTS))
        raise UsageError(f"database {backend!r} is not supported (supported: {supported})")
    if driver not in _DRIVERS[dialect.name]:
        raise UsageError(
            f"db {redact_url(url)}: driver {driver!r} is not supported for {backend} "
            f"(use {dialect.name}:// or {dialect.name}+{_DRIVERS[dialect.name][0]}://)",
            parameters=["db"],
        )
    if dialect.name == "postgresql":
        require_psycopg()
    return dialect
