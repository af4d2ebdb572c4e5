"""A store's tables: creating them, the schema name and version they were made with, and the
version guard every write passes (rows written under another layout would not read back)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, delete, inspect, select

from migrator.adapters.fulltext import FullTextIndex
from migrator.adapters.sql_database import SqlDatabase
from migrator.errors import DatabaseError, SchemaMismatchError
from migrator.schemas.declaration import Schema

_housekeeping = MetaData()

#: What this database holds: the schema's name and version, written once by `init`.
meta_table = Table(
    "migrator_meta",
    _housekeeping,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)

#: Partition files already imported, by content hash: what makes a re-import skip them.
import_state_table = Table(
    "migrator_import_state",
    _housekeeping,
    Column("partition", String, primary_key=True),
    Column("sha256", String, nullable=False),
    Column("documents", Integer, nullable=False),
    Column("imported_at", String, nullable=False),
)


def table_names(schema: Schema) -> list[str]:
    """Every table a store of `schema` uses: the housekeeping ones and the schema's own."""
    return [*_housekeeping.tables, *(table.name for table in schema.tables)]


class StoreSchema:
    """The schema's tables in one database. `create` False is read-only use (the validator):
    never create the file or any table."""

    def __init__(
        self, db: SqlDatabase, schema: Schema, fulltext: FullTextIndex, *, create: bool
    ) -> None:
        self.db, self.schema, self.fulltext = db, schema, fulltext
        self._create = create
        self._ready = False

    def init(self) -> bool:
        """Create the schema's tables if missing; True when this call created them."""
        schema = self.schema
        with self.db.errors():
            self._check_recorded()
            with self.db.write() as conn:
                self.db.dialect.lock_schema(conn)
                existing = set(inspect(conn).get_table_names())
                created = schema.root_table.name not in existing
                _housekeeping.create_all(conn)
                schema.root_table.metadata.create_all(conn, tables=list(schema.tables))
                if not created and any(t.name not in existing for t in schema.tables):
                    # A table of a used database was dropped: its rows are gone, so no file's
                    # import mark holds any more; the next import reads every file again.
                    conn.execute(delete(import_state_table))
                self._create_missing_indexes(conn)
                self.fulltext.ensure(conn, {t.name for t in schema.tables} - existing)
                for key, value in (("schema", schema.name), ("version", str(schema.version))):
                    conn.execute(
                        self.db.dialect.insert_ignore(meta_table).values(key=key, value=value)
                    )
        self._ready = True
        return created

    def ensure_ready(self) -> None:
        """Before the first read or write: the tables exist (created when allowed) and were
        made with this schema's name and version."""
        if self._ready:
            return
        if self._create:
            self.init()
            return
        with self.db.errors():
            self._check_recorded()
        if not self.is_initialized():
            raise DatabaseError(
                f"database {self.db.location} has no {self.schema.name!r} tables; "
                "run `migrator init` or `import`"
            )
        self._ready = True

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that first waits out a schema upgrade (SQLite's write lock,
        PostgreSQL's advisory lock taken shared) and refuses to write under another version."""
        with self.db.write() as conn:
            self.db.dialect.share_schema(conn)
            version = conn.exec_driver_sql(self._version_sql).scalar_one_or_none()
            if version is not None:
                self._check_version(int(version))
            yield conn

    @functools.cached_property
    def _version_sql(self) -> str:
        """The version guard's statement, compiled once (every write runs it)."""
        statement = select(meta_table.c.value).where(meta_table.c.key == "version")
        return str(
            statement.compile(
                dialect=self.db.engine.dialect, compile_kwargs={"literal_binds": True}
            )
        )

    def is_initialized(self) -> bool:
        with self.db.errors(), self.db.engine.connect() as conn:
            return self.schema.root_table.name in inspect(conn).get_table_names()

    def recorded(self) -> tuple[str, int] | None:
        """The (schema name, version) the database was created with, or None if not recorded."""
        with self.db.errors(), self.db.engine.connect() as conn:
            if meta_table.name not in inspect(conn).get_table_names():
                return None
            values = {k: v for k, v in conn.execute(select(meta_table.c.key, meta_table.c.value))}
        if "schema" not in values:
            return None
        return values["schema"], int(values.get("version", "0"))

    def meta_value(self, key: str) -> str | None:
        """One value of `migrator_meta` (None when absent, or no store was created yet)."""
        with self.db.errors(), self.db.engine.connect() as conn:
            if meta_table.name not in inspect(conn).get_table_names():
                return None
            return conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == key)
            ).scalar_one_or_none()

    def set_meta_value(self, key: str, value: str) -> None:
        """Write one value of `migrator_meta` (after `init`), replacing any other."""
        with self.db.errors(), self.write() as conn:
            conn.execute(delete(meta_table).where(meta_table.c.key == key))
            conn.execute(meta_table.insert().values(key=key, value=value))

    def _create_missing_indexes(self, conn: Connection) -> None:
        """CREATE the declared indexes a database made before their declaration lacks."""
        inspector = inspect(conn)
        for table in self.schema.tables:
            present = {index["name"] for index in inspector.get_indexes(table.name)}
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                if index.name not in present:
                    index.create(conn)

    def _check_recorded(self) -> None:
        recorded = self.recorded()
        if recorded is None:
            return
        name, version = recorded
        if name != self.schema.name:
            raise SchemaMismatchError(
                f"database {self.db.location} holds schema {name!r}, not {self.schema.name!r}: "
                "pass the schema=... it was created with (or set schema in the config file)",
                parameters=["schema=..."],
            )
        self._check_version(version)

    def _check_version(self, version: int) -> None:
        """Code and database must agree on the schema version."""
        where, schema = self.db.location, self.schema
        if version > schema.version:
            raise SchemaMismatchError(
                f"database {where} is at schema {schema.name!r} version {version}, "
                f"newer than the code's version {schema.version}: the code is older than "
                "the database (deploy the newer code, or `migrator db downgrade`)"
            )
        if version < schema.version:
            raise SchemaMismatchError(
                f"database {where} is at schema {schema.name!r} version {version}, "
                f"the code declares version {schema.version}: run `migrator db upgrade`"
            )
