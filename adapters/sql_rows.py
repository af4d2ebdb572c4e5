"""A partition's rows as plain tuples, for comparing with rows made from JSON (`validate`).

Decoding every SQL row back into a document is most of what validating costs
(bench/profiles/validate-10k.txt); comparing rows with rows needs none of it. Each table is read
once per partition, in one consistent snapshot, selecting the columns a document's value
depends on (its fields and `extra`; not the list position, partition or surrogate key), as
tuples in the mapping's field order (a child row led by its parent's id). Boolean columns are
given as `bool`, as the codec decodes them (SQLite stores 0 and 1). `decode` rebuilds a document
from these rows when a comparison needs it, from the same snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Select, select

from migrator.adapters.sql_store import SqlStore
from migrator.schemas.codec import from_rows
from migrator.schemas.declaration import EXTRA_COLUMN, POSITION_COLUMN, Schema, TableMapping

Row = tuple[Any, ...]


@dataclass
class PartitionRows:
    """id -> root row, and per child table: parent id -> its rows in list order (each child
    row starts with its parent's id)."""

    schema: Schema
    roots: dict[str, Row]
    children: dict[str, dict[str, tuple[Row, ...]]] = field(default_factory=dict)

    def decode(self, doc_id: str) -> dict[str, Any]:
        """The document these rows store (`CorruptRowError` as `codec.from_rows`)."""
        schema = self.schema
        root = dict(zip(columns(schema.root_mapping), self.roots[doc_id], strict=True))
        children = {
            mapping.name: [
                dict(zip((child.parent_column, *columns(mapping)), row, strict=True))
                for row in self.children[mapping.name].get(doc_id, ())
            ]
            for child, mapping in zip(schema.children, schema.child_mappings, strict=True)
        }
        return from_rows(schema, root, children)


def columns(mapping: TableMapping) -> tuple[str, ...]:
    """The compared columns of a table, in the order the tuples hold them."""
    return (*(f.column for f in mapping.fields), EXTRA_COLUMN)


def read_partition_rows(store: SqlStore, partition: str) -> PartitionRows:
    """Every row of `partition`'s documents, in one read transaction."""
    store.tables.ensure_ready()
    schema = store.schema
    root = schema.root_table
    id_column = root.c[schema.id_column]
    in_partition = root.c[schema.partition_column] == partition
    at = columns(schema.root_mapping).index(schema.id_column)
    with store.database.errors(), store.database.read() as conn:
        selected = [root.c[name] for name in columns(schema.root_mapping)]
        result = _fetch(conn, select(*selected).where(in_partition))
        booleans = _booleans(schema.root_mapping)
        roots = {}
        for row in result:
            if booleans:
                row = _as_bools(row, booleans)
            roots[row[at]] = row
        rows = PartitionRows(schema, roots)
        for child, mapping in zip(schema.children, schema.child_mappings, strict=True):
            table = mapping.table
            parent = table.c[child.parent_column]
            selected = [parent, *(table.c[name] for name in columns(mapping))]
            query = (
                select(*selected)
                .join(root, parent == id_column)
                .where(in_partition)
                .order_by(parent, table.c[POSITION_COLUMN])
            )
            booleans = tuple(i + 1 for i in _booleans(mapping))
            fetched = _fetch(conn, query)
            if booleans:
                fetched = [_as_bools(row, booleans) for row in fetched]
            rows.children[mapping.name] = {
                doc_id: tuple(group) for doc_id, group in groupby(fetched, _first)
            }
    return rows


def _fetch(conn: Connection, statement: Select[Any]) -> list[Row]:
    """Every row of `statement` as the driver's own tuples, through its cursor on the
    connection's transaction (SQLAlchemy's Row objects cost more than the fetch itself)."""
    compiled = statement.compile(dialect=conn.dialect)
    params = compiled.params
    args: Any = (
        tuple(params[name] for name in compiled.positiontup or ())
        if compiled.positional
        else params
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), args)
        rows: list[Row] = cursor.fetchall()
        return rows
    finally:
        cursor.close()


_first = itemgetter(0)


def _booleans(mapping: TableMapping) -> tuple[int, ...]:
    return tuple(i for i, f in enumerate(mapping.fields) if f.kind == "bool")


def _as_bools(row: Row, at: tuple[int, ...]) -> Row:
    values = list(row)
    for i in at:
        if values[i] is not None:
            values[i] = bool(values[i])
    return tuple(values)
