"""The SQL backend: a schema's documents as normalized rows, through SQLAlchemy Core.

`SqlStore` is the one object callers hold; each of its jobs lives in a module of its own:
the database and its errors (`sql_database`), the tables' lifecycle and version guard
(`sql_schema`), reading (`sql_reader`), writing (`sql_writer`), import marks (`import_marks`),
doctor's questions (`sql_health`) and full-text search (`fulltext`). Dialect-neutral: whatever
differs between SQLite and PostgreSQL is asked of `migrator.adapters.dialects`.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Unpack

from migrator.adapters.base import DocumentStore
from migrator.adapters.dialects import Check, Dialect
from migrator.adapters.fulltext import FullTextIndex, index_for
from migrator.adapters.import_marks import ImportMark, ImportMarks
from migrator.adapters.query import Findable, Page, Query
from migrator.adapters.search_query import SearchHit, check_limit, parse
from migrator.adapters.sql_database import SqlDatabase
from migrator.adapters.sql_health import HealthQueries, Orphans
from migrator.adapters.sql_reader import DocumentReader
from migrator.adapters.sql_schema import StoreSchema, meta_table, table_names
from migrator.adapters.sql_writer import DocumentWriter, PartitionWrite, PutOptions
from migrator.schemas.declaration import Schema

__all__ = [
    "ImportMark",
    "Orphans",
    "PartitionWrite",
    "SqlStore",
    "meta_table",
    "table_names",
]

Document = dict[str, Any]


class SqlStore(DocumentStore, Findable):
    """A schema's documents in a SQL database named by a file path or a SQLAlchemy URL.
    `create` False is read-only use (the validator): never create the file or any table."""

    def __init__(self, db: str | Path, schema: Schema, *, create: bool = True) -> None:
        self.schema = schema
        self.database = SqlDatabase(db, create=create)
        self.url = self.database.url
        self.dialect: Dialect = self.database.dialect
        self.engine = self.database.engine
        #: The full-text index of the schema's searchable fields (`migrator.adapters.fulltext`).
        self.fulltext: FullTextIndex = index_for(self.dialect.name, schema)
        self.tables = StoreSchema(self.database, schema, self.fulltext, create=create)
        self.reader = DocumentReader(self.tables)
        self.writer = DocumentWriter(self.tables)
        self.marks = ImportMarks(self.tables)
        self.health = HealthQueries(self.database, schema)

    @property
    def location(self) -> str:
        return self.database.location

    def close(self) -> None:
        self.database.close()

    # ------------------------------------------------------------------ schema lifecycle

    def init_schema(self) -> bool:
        """Create the schema's tables if missing; True when this call created them."""
        return self.tables.init()

    def is_initialized(self) -> bool:
        return self.tables.is_initialized()

    def recorded_schema(self) -> tuple[str, int] | None:
        """The (schema name, version) the database was created with, or None if not recorded."""
        return self.tables.recorded()

    def meta_value(self, key: str) -> str | None:
        """One value of `migrator_meta` (None when absent, or no store was created yet)."""
        return self.tables.meta_value(key)

    def set_meta_value(self, key: str, value: str) -> None:
        """Write one value of `migrator_meta` (after `init_schema`), replacing any other."""
        self.tables.set_meta_value(key, value)

    # ------------------------------------------------------------------ reading

    def get(self, doc_id: str) -> Document | None:
        return self.reader.get(doc_id)

    def list(self, partition: str) -> builtins.list[Document]:
        return self.reader.read_partition(partition)

    def read_partition(
        self, partition: str, ids: Collection[str] | None = None
    ) -> builtins.list[Document]:
        """A partition's documents in stored order, in one consistent transaction (only those
        whose id is in `ids`, when given: keep it to a few hundred)."""
        return self.reader.read_partition(partition, ids)

    def summaries(self, partition: str) -> builtins.list[Document]:
        """The partition's documents without their child lists, in stored order."""
        return self.reader.summaries(partition)

    def run_query(self, query: Query) -> Page:
        return self.reader.run_query(query)

    def partitions(self) -> builtins.list[str]:
        return self.reader.partitions()

    def iter_documents(self) -> Iterator[tuple[str, Document]]:
        for partition in self.partitions():
            for doc in self.read_partition(partition):
                yield partition, doc

    def partition_of(self, doc_id: str) -> str | None:
        return self.reader.partition_of(doc_id)

    def count(self) -> int:
        return self.reader.count()

    def owners(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """id -> partition for those of `doc_ids` that are stored."""
        return self.reader.owners(doc_ids)

    def ids_in(self, partition: str) -> builtins.list[str]:
        return self.reader.ids_in(partition)

    # ------------------------------------------------------------------ writing

    def put(self, partition: str, doc: Document, **options: Unpack[PutOptions]) -> None:
        """Create or replace `doc` (`DocumentWriter.put`; `before_commit` runs inside its
        transaction, once the rows are written; `validated` from a dual write that did)."""
        self.writer.put(partition, doc, **options)

    def delete(self, doc_id: str) -> bool:
        return self.writer.delete(doc_id)

    def write_partitions(self, writes: Sequence[PartitionWrite]) -> None:
        """Bulk replace in one transaction, import marks included (`DocumentWriter`)."""
        self.writer.write_partitions(writes)

    # ------------------------------------------------------------------ import marks

    def import_marks(self) -> dict[str, ImportMark]:
        self.tables.ensure_ready()
        return self.marks.all()

    def forget_marks(self) -> None:
        """Forget every import mark: the next import reads every file again."""
        self.marks.forget_all()

    # ------------------------------------------------------------------ search

    def search(self, text: str, *, limit: int = 20) -> builtins.list[SearchHit]:
        """The documents that best match `text` (`migrator.adapters.search_query`), best first."""
        query, limit = parse(text), check_limit(limit)
        self.tables.ensure_ready()
        with self.database.errors(), self.database.read() as conn:
            return self.fulltext.search(conn, query, limit)

    def rebuild_search_index(self) -> None:
        """Build the full-text index again from the rows, in one transaction."""
        self.tables.ensure_ready()
        with self.database.errors(), self.tables.write() as conn:
            self.fulltext.rebuild(conn)

    def search_index_checks(self) -> builtins.list[Check]:
        """Whether the full-text index exists and agrees with the rows (for `doctor`)."""
        with self.database.errors(), self.engine.connect() as conn, conn.begin():
            return self.fulltext.check(conn)

    # ------------------------------------------------------------------ health (doctor)

    def health_checks(self) -> builtins.list[Check]:
        """The database's own consistency checks (the dialect knows which exist)."""
        return self.health.health_checks()

    def table_counts(self) -> dict[str, int]:
        """Rows per table of the schema (those that exist), parents first."""
        return self.health.table_counts()

    def orphans(self, *, sample: int = 5) -> builtins.list[Orphans]:
        """Rows whose foreign key names no parent row, per declared foreign key."""
        return self.health.orphans(sample=sample)
