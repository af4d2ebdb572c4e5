"""Reading documents back from rows: one document, a partition, its summaries, and the small
lookups the engine asks (which partition holds an id, which ids a partition holds)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.engine import Dialect as SaDialect
from sqlalchemy.sql import Select

from migrator.adapters import sql_query
from migrator.adapters.json_store import check_partition_name
from migrator.adapters.query import Page, Query
from migrator.adapters.sql_query import columns_of
from migrator.adapters.sql_schema import StoreSchema
from migrator.errors import CorruptRowError
from migrator.schemas.declaration import POSITION_COLUMN, Schema
from migrator.schemas.decoding import DocumentDecoder

Document = dict[str, Any]
_CHUNK = 500


class DocumentReader:
    """Reads of one store's documents; each first makes sure the tables are ready. get, a
    partition and its summaries take the hot path: statements compiled once, run on the
    driver's cursor, rows decoded as tuples by decoders built once (`schemas.decoding`)."""

    def __init__(self, tables: StoreSchema) -> None:
        self.tables = tables
        self.db = tables.db
        self.schema = tables.schema
        self.decoder = DocumentDecoder(self.schema)
        self._statements: _Statements | None = None

    @property
    def statements(self) -> _Statements:
        if self._statements is None:
            self._statements = _Statements(self.schema, self.decoder, self.db.engine.dialect)
        return self._statements

    def get(self, doc_id: str) -> Document | None:
        self.tables.ensure_ready()
        plan, key = self.statements, self.statements.key(doc_id)
        with self.db.errors(), self.db.snapshot() as fetch:
            roots = fetch(plan.root_by_id, key)
            if not roots:
                return None
            children = [fetch(sql, key) for sql in plan.children_by_parent]
        return self._documents(roots, children)[0]

    def read_partition(self, partition: str, ids: Collection[str] | None = None) -> list[Document]:
        """A partition's documents in stored order, read in one consistent transaction
        (only those whose id is in `ids`, when given: keep it to a few hundred)."""
        self.tables.ensure_ready()
        if ids is not None:
            return self._some_of_partition(partition, ids)
        plan, key = self.statements, self.statements.key(partition)
        with _no_cycle_collection(), self.db.errors(), self.db.snapshot() as fetch:
            roots = fetch(plan.roots_of_partition_unsorted, key)
            children = [fetch(sql, key) for sql in plan.children_of_partition]
            plan.sort_stored(roots)
            return self._documents(roots, children)

    def summaries(self, partition: str) -> list[Document]:
        """The partition's documents without their child lists, in stored order (no child
        table is read)."""
        check_partition_name(partition)
        self.tables.ensure_ready()
        plan = self.statements
        with _no_cycle_collection(), self.db.errors(), self.db.snapshot() as fetch:
            roots = fetch(plan.roots_of_partition_unsorted, plan.key(partition))
            plan.sort_stored(roots)
            return self.decoder.summaries(roots)

    def _documents(
        self, roots: Sequence[Sequence[Any]], children: Sequence[Sequence[Sequence[Any]]]
    ) -> list[Document]:
        decoder = self.decoder
        lists = [decoder.group(i, rows) for i, rows in enumerate(children)]
        return [decoder.document(row, lists) for row in roots]

    def _some_of_partition(self, partition: str, ids: Collection[str]) -> list[Document]:
        """The documents of `ids` in `partition`: an IN list, compiled per call (its length
        varies), on the same tuple decoders."""
        schema, decoder = self.schema, self.decoder
        root = schema.root_table
        chosen = (root.c[schema.partition_column] == partition) & root.c[schema.id_column].in_(
            list(ids)
        )
        with self.db.errors(), self.db.read() as conn:
            roots = conn.execute(
                select(*columns_of(root, decoder.root))
                .where(chosen)
                .order_by(root.c[POSITION_COLUMN], root.c[schema.id_column])
            ).all()
            children = []
            for child, (_, table_decoder) in zip(schema.children, decoder.children, strict=True):
                table = table_decoder.mapping.table
                parent = table.c[child.parent_column]
                children.append(
                    conn.execute(
                        select(*columns_of(table, table_decoder))
                        .join(root, parent == root.c[schema.id_column])
                        .where(chosen)
                        .order_by(table.c[POSITION_COLUMN])
                    ).all()
                )
        return self._documents(roots, children)

    def run_query(self, query: Query) -> Page:
        """`find`'s answer, through the declared indexes (`migrator.adapters.sql_query`)."""
        if query.partition is not None:
            check_partition_name(query.partition)
        self.tables.ensure_ready()
        with self.db.errors(), self.db.read() as conn:
            return sql_query.run(conn, self.decoder, self.db.dialect, query)

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


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cyclic collector paused while a partition is fetched and decoded: the read
    allocates tens of thousands of containers that live on (no cycles among them), and each
    allocation burst made the collector scan the whole heap again (measured at 10k sessions:
    16 ms for a partition without it, 36-49 ms with it). It runs again afterwards; a caller
    that had paused it keeps it paused."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


class _Statements:
    """The hot path's SQL for one schema on one kind of database, compiled once: each takes a
    single parameter, given as `key(value)` (the driver's parameter style decides its shape).
    Column lists follow the decoders' `columns`."""

    def __init__(self, schema: Schema, decoder: DocumentDecoder, dialect: SaDialect) -> None:
        root = schema.root_table
        key: BindParameter[Any] = bindparam("key")
        id_column = root.c[schema.id_column]
        in_partition = root.c[schema.partition_column] == key
        roots = select(*columns_of(root, decoder.root))
        self.root_by_id = _compiled(roots.where(id_column == key), dialect)
        self.roots_of_partition = _compiled(
            roots.where(in_partition).order_by(root.c[POSITION_COLUMN], id_column), dialect
        )
        # The same rows, each followed by its position, unsorted: `in_stored_order` sorts them.
        # SQLite sorted them in a temporary B-tree, a fifth of a listing's fetch; the partition
        # index hands them over nearly in order already, which Python's sort finishes in a pass.
        self.roots_of_partition_unsorted = _compiled(
            select(*columns_of(root, decoder.root), root.c[POSITION_COLUMN]).where(in_partition),
            dialect,
        )
        self._position_at, self._id_at = len(decoder.root.columns), decoder.id_at
        self.in_stored_order = itemgetter(self._position_at, self._id_at)
        self._root_name = root.name
        self.children_by_parent: list[str] = []
        self.children_of_partition: list[str] = []
        for child, (_, table_decoder) in zip(schema.children, decoder.children, strict=True):
            table = table_decoder.mapping.table
            parent, position = table.c[child.parent_column], table.c[POSITION_COLUMN]
            rows = select(*columns_of(table, table_decoder))
            self.children_by_parent.append(
                _compiled(rows.where(parent == key).order_by(position), dialect)
            )
            # By position alone (not grouped by parent: callers group them, in the order they
            # come, as `DocumentDecoder.group` does). Sorting by the parent id too was a text
            # sort in the database's collation (on PostgreSQL 13 ms of the 21 ms a partition's
            # chat messages took).
            self.children_of_partition.append(
                _compiled(
                    rows.join(root, parent == id_column).where(in_partition).order_by(position),
                    dialect,
                )
            )
        positional = dialect.positional
        self.key: Callable[[Any], Any] = (
            (lambda value: (value,)) if positional else (lambda value: {"key": value})
        )

    def sort_stored(self, roots: list[Any]) -> None:
        """Put `roots` (of `roots_of_partition_unsorted`) in stored order. A position that a
        hand edit left as text (SQLite keeps it) cannot be ordered: a `CorruptRowError` naming
        the row, as for a bad `extra`, so a fallback read serves JSON; never a TypeError."""
        try:
            roots.sort(key=self.in_stored_order)
        except TypeError as exc:
            at = self._position_at
            bad = next((row for row in roots if not isinstance(row[at], int)), None)
            if bad is None:
                raise CorruptRowError(self._root_name, None, str(exc)) from exc
            reason = f"position {bad[at]!r} is not an integer"
            raise CorruptRowError(self._root_name, bad[self._id_at], reason) from exc


def _compiled(statement: Select[Any], dialect: SaDialect) -> str:
    return str(statement.compile(dialect=dialect))
