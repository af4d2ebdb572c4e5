"""The statements of one document's put, compiled once per store and run as driver SQL.

Why: a put is about ten small statements. Built and run through SQLAlchemy Core, each paid
~0.3 ms of statement construction, cache-key generation and parameter processing (more than
SQLite's own work: bench/profiles/put-dual-write-10k.txt); compiled once for the store's
dialect and run with `exec_driver_sql` they cost ~0.05 ms, and still go through the same
connection, transaction, events and driver-error translation as every other statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, select
from sqlalchemy.engine.interfaces import Dialect as SaDialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from migrator.adapters.dialects import Dialect
from migrator.schemas.codec import DocumentRows
from migrator.schemas.declaration import POSITION_COLUMN, Schema


@dataclass(frozen=True)
class Compiled:
    """A statement's SQL for one dialect and how its parameters are passed."""

    sql: str
    #: The parameters' names in order (positional paramstyles); None: passed by name.
    order: tuple[str, ...] | None

    @classmethod
    def of(cls, statement: ClauseElement, dialect: SaDialect, **keys: Any) -> Compiled:
        compiled = statement.compile(dialect=dialect, **keys)
        positions = compiled.positiontup if isinstance(compiled, SQLCompiler) else None
        return cls(str(compiled), tuple(positions or ()) if dialect.positional else None)

    def run(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        if self.order is None:
            return conn.exec_driver_sql(self.sql, dict(params))
        return conn.exec_driver_sql(self.sql, tuple(params[name] for name in self.order))


class PutStatements:
    """What `DocumentWriter.put` runs, for one schema in one dialect (ours, for what differs
    between databases, and SQLAlchemy's, to compile for)."""

    def __init__(self, schema: Schema, dialect: Dialect, sa_dialect: SaDialect) -> None:
        root = schema.root_table
        by_id = root.c[schema.id_column] == bindparam("id")
        self._schema = schema
        self._dialect = dialect
        self._sa = sa_dialect
        self._current = Compiled.of(
            select(root.c[schema.partition_column], root.c[POSITION_COLUMN]).where(by_id),
            sa_dialect,
        )
        self._last = Compiled.of(
            select(func.max(root.c[POSITION_COLUMN])).where(
                root.c[schema.partition_column] == bindparam("partition")
            ),
            sa_dialect,
        )
        self._delete = [
            Compiled.of(
                delete(mapping.table).where(
                    mapping.table.c[child.parent_column] == bindparam("id")
                ),
                sa_dialect,
            )
            for child, mapping in zip(schema.children, schema.child_mappings, strict=True)
        ]
        self._delete_root = Compiled.of(delete(root).where(by_id), sa_dialect)
        self._inserts: dict[tuple[str, tuple[str, ...]], Compiled] = {}

    def current(self, conn: Connection, doc_id: str) -> tuple[str, int] | None:
        """The partition and position of the stored document with this id, if any."""
        row = self._current.run(conn, {"id": doc_id}).first()
        return None if row is None else (row[0], row[1])

    def next_position(self, conn: Connection, partition: str) -> int:
        """The position after the partition's last document."""
        last = self._last.run(conn, {"partition": partition}).scalar()
        return 0 if last is None else int(last) + 1

    def delete(self, conn: Connection, doc_id: str) -> None:
        """Remove the document's rows, children first."""
        for statement in (*self._delete, self._delete_root):
            statement.run(conn, {"id": doc_id})

    def insert(self, conn: Connection, partition: str, rows: DocumentRows) -> None:
        """Insert the document's rows (its partition's row too, unless there already)."""
        schema = self._schema
        if schema.partition_table is not None and schema.partition_row is not None:
            row = schema.partition_row(partition)
            self._insert(schema.partition_table, row, ignore=True).run(conn, row)
        self._insert(schema.root_table, rows.root).run(conn, rows.root)
        for mapping in schema.child_mappings:
            children = rows.children.get(mapping.name, ())
            if children:
                _run_many(conn, self._insert(mapping.table, children[0]), children)

    def _insert(self, table: Table, row: Mapping[str, Any], *, ignore: bool = False) -> Compiled:
        """The INSERT of these columns into `table`, compiled the first time it is asked."""
        key = (table.name, tuple(row))
        found = self._inserts.get(key)
        if found is None:
            statement = self._dialect.insert_ignore(table) if ignore else table.insert()
            found = Compiled.of(statement, self._sa, column_keys=list(row))
            self._inserts[key] = found
        return found


def _run_many(conn: Connection, statement: Compiled, rows: Sequence[Mapping[str, Any]]) -> None:
    if statement.order is None:
        conn.exec_driver_sql(statement.sql, [dict(row) for row in rows])
    else:
        order = statement.order
        conn.exec_driver_sql(statement.sql, [tuple(row[name] for name in order) for row in rows])
