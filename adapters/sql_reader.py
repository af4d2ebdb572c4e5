"""Reading documents back from rows: one document, a partition, its summaries, and the small
lookups the engine asks (which partition holds an id, which ids a partition holds)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import func, select

from migrator.adapters import sql_query
from migrator.adapters.json_store import check_partition_name
from migrator.adapters.query import Page, Query
from migrator.adapters.sql_query import plain_rows
from migrator.adapters.sql_schema import StoreSchema
from migrator.schemas.codec import from_rows
from migrator.schemas.declaration import POSITION_COLUMN

Document = dict[str, Any]
_CHUNK = 500


class DocumentReader:
    """Reads of one store's documents; each first makes sure the tables are ready."""

    def __init__(self, tables: StoreSchema) -> None:
        self.tables = tables
        self.db = tables.db
        self.schema = tables.schema

    def get(self, doc_id: str) -> Document | None:
        self.tables.ensure_ready()
        schema = self.schema
        root = schema.root_table
        with self.db.errors(), self.db.engine.connect() as conn:
            row = (
                conn.execute(select(root).where(root.c[schema.id_column] == doc_id))
                .mappings()
                .first()
            )
            if row is None:
                return None
            children = {
                mapping.name: conn.execute(
                    select(mapping.table)
                    .where(mapping.table.c[child.parent_column] == doc_id)
                    .order_by(mapping.table.c[POSITION_COLUMN])
                )
                .mappings()
                .all()
                for child, mapping in zip(schema.children, schema.child_mappings, strict=True)
            }
        return from_rows(schema, row, children)

    def read_partition(self, partition: str, ids: Collection[str] | None = None) -> list[Document]:
        """A partition's documents in stored order, read in one consistent transaction
        (only those whose id is in `ids`, when given: keep it to a few hundred)."""
        self.tables.ensure_ready()
        schema = self.schema
        root = schema.root_table
        in_partition = root.c[schema.partition_column] == partition
        if ids is not None:
            in_partition = in_partition & root.c[schema.id_column].in_(list(ids))
        with self.db.errors(), self.db.read() as conn:
            roots = plain_rows(
                conn.execute(
                    select(root)
                    .where(in_partition)
                    .order_by(root.c[POSITION_COLUMN], root.c[schema.id_column])
                )
            )
            grouped: dict[str, dict[str, list[Any]]] = {}
            for child, mapping in zip(schema.children, schema.child_mappings, strict=True):
                table = mapping.table
                parent = table.c[child.parent_column]
                rows = plain_rows(
                    conn.execute(
                        select(table)
                        .join(root, parent == root.c[schema.id_column])
                        .where(in_partition)
                        .order_by(parent, table.c[POSITION_COLUMN])
                    )
                )
                for row in rows:
                    grouped.setdefault(row[child.parent_column], {}).setdefault(
                        mapping.name, []
                    ).append(row)
        return [from_rows(schema, row, grouped.get(row[schema.id_column], {})) for row in roots]

    def summaries(self, partition: str) -> list[Document]:
        """The partition's documents without their child lists, in stored order (no child
        table is read)."""
        check_partition_name(partition)
        self.tables.ensure_ready()
        with self.db.errors(), self.db.engine.connect() as conn:
            return sql_query.summaries(conn, self.schema, partition)

    def run_query(self, query: Query) -> Page:
        """`find`'s answer, through the declared indexes (`migrator.adapters.sql_query`)."""
        if query.partition is not None:
            check_partition_name(query.partition)
        self.tables.ensure_ready()
        with self.db.errors(), self.db.read() as conn:
            return sql_query.run(conn, self.schema, self.db.dialect, query)

    def partition_of(self, doc_id: str) -> str | None:
        self.tables.ensure_ready()
        root = self.schema.root_table
        with self.db.errors(), self.db.engine.connect() as conn:
            return conn.execute(
                select(root.c[self.schema.partition_column]).where(
                    root.c[self.schema.id_column] == doc_id
                )
            ).scalar_one_or_none()

    def partitions(self) -> list[str]:
        self.tables.ensure_ready()
        column = self.schema.root_table.c[self.schema.partition_column]
        with self.db.errors(), self.db.engine.connect() as conn:
            # Sorted here, not by the database: its collation may not be code point order.
            return sorted(conn.execute(select(column).distinct()).scalars())

    def count(self) -> int:
        self.tables.ensure_ready()
        with self.db.errors(), self.db.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(self.schema.root_table)).scalar_one()
            )

    def owners(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """id -> partition for those of `doc_ids` that are stored."""
        self.tables.ensure_ready()
        root = self.schema.root_table
        id_col, part_col = root.c[self.schema.id_column], root.c[self.schema.partition_column]
        # No column holds NUL (the codec keeps such text out of them), and PostgreSQL refuses
        # it even as a parameter: such an id is nobody's.
        ids = [i for i in doc_ids if "\x00" not in i]
        found: dict[str, str] = {}
        with self.db.errors(), self.db.engine.connect() as conn:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                rows = conn.execute(select(id_col, part_col).where(id_col.in_(chunk)))
                found.update({i: p for i, p in rows})
        return found

    def ids_in(self, partition: str) -> list[str]:
        self.tables.ensure_ready()
        root = self.schema.root_table
        with self.db.errors(), self.db.engine.connect() as conn:
            return list(
                conn.execute(
                    select(root.c[self.schema.id_column]).where(
                        root.c[self.schema.partition_column] == partition
                    )
                ).scalars()
            )
