"""Writing documents as rows: a document is always written whole (root row and every child
row) in one transaction, with its full-text entries; bulk work (the importer) replaces many
documents per transaction through the dialect's fastest insert path."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from sqlalchemy import Connection, delete

from migrator.adapters.faults import checkpoint
from migrator.adapters.import_marks import ImportMark, ImportMarks
from migrator.adapters.json_store import check_partition_name
from migrator.adapters.row_writer import PutStatements
from migrator.adapters.sql_schema import StoreSchema
from migrator.errors import DocumentError, PartitionConflictError
from migrator.schemas.codec import DocumentRows, to_rows, validate

Document = dict[str, Any]
_CHUNK = 500


class PutOptions(TypedDict, total=False):
    """`put`'s options, declared once for the writer and the store that hands them on."""

    before_commit: Callable[[], None] | None
    validated: bool


@dataclass(frozen=True)
class PartitionWrite:
    """One partition's share of a bulk write: documents to (re)insert, other ids to delete, and
    the import mark to record (None: the partition is not fully imported, forget its mark)."""

    partition: str
    documents: Sequence[DocumentRows]
    delete_ids: Collection[str] = ()
    mark: ImportMark | None = None


class DocumentWriter:
    """put, delete and bulk writes of one store's documents."""

    def __init__(self, tables: StoreSchema) -> None:
        self.tables = tables
        self.db = tables.db
        self.schema = tables.schema
        self.fulltext = tables.fulltext

    def put(self, partition: str, doc: Document, **options: Unpack[PutOptions]) -> None:
        """Create or replace `doc` in `partition`, in one transaction. `before_commit` runs
        once the rows are written, before the commit (which it stops by raising: then nothing
        is written): a dual write makes its JSON write there, so a document SQL refuses never
        reaches JSON, and one transaction both checks and writes it. `validated`: the caller
        (a dual write, at its door) ran `codec.validate` on this very `doc`."""
        # The same names as the JSON store: a partition must be able to go back to a file.
        check_partition_name(partition)
        before_commit = options.get("before_commit")
        if not options.get("validated", False):
            try:
                validate(self.schema, doc)
            except DocumentError as exc:
                raise exc.located(partition=partition) from None
        self.tables.ensure_ready()
        schema = self.schema
        doc_id = doc[schema.id_key]
        errors = self.db.errors(partition=partition, doc_id=doc_id)
        with errors, self.tables.write() as conn:
            self.db.dialect.lock_document(conn, doc_id)
            statements = self._put_statements
            current = statements.current(conn, doc_id)
            if current is not None and current[0] != partition:
                raise PartitionConflictError(doc_id, partition, current[0])
            with self.fulltext.replacing(conn, [doc_id], old=current is not None):
                if current is not None:
                    position = current[1]
                    statements.delete(conn, doc_id)
                else:
                    position = statements.next_position(conn, partition)
                statements.insert(conn, partition, to_rows(schema, partition, doc, position))
            if before_commit is not None:
                before_commit()
            checkpoint("sql.before_commit")
        checkpoint("sql.after_commit")

    @functools.cached_property
    def _put_statements(self) -> PutStatements:
        """Compiled at the first put (most stores, the validator's, never write)."""
        return PutStatements(self.schema, self.db.dialect, self.db.engine.dialect)

    def delete(self, doc_id: str) -> bool:
        """Remove the document; False when there was none."""
        self.tables.ensure_ready()
        with self.db.errors(), self.tables.write() as conn:
            self.db.dialect.lock_document(conn, doc_id)
            removed = self._delete_ids(conn, [doc_id])
            checkpoint("sql.before_commit")
        checkpoint("sql.after_commit")
        return removed > 0

    def write_partitions(self, writes: Sequence[PartitionWrite]) -> None:
        """In one transaction, each write in turn: delete its ids and its documents' ids, insert
        its documents, and replace the partition's import mark (data and mark commit together,
        so a crash never leaves a mark that claims data the database lacks). A constraint that
        a lone document breaks is raised as that document's `DocumentError`."""
        self.tables.ensure_ready()
        only = [rows for write in writes for rows in write.documents]
        lone = only[0].doc_id if len(only) == 1 else None
        partition = writes[0].partition if len(writes) == 1 else None
        with self.db.errors(partition=partition, doc_id=lone), self.tables.write() as conn:
            with self.fulltext.bulk(conn):
                for write in writes:
                    to_delete = {rows.doc_id for rows in write.documents} | set(write.delete_ids)
                    self._replace(conn, write.partition, write.documents, delete_ids=to_delete)
                    if write.mark is not None:
                        ImportMarks.record(conn, write.mark)
                    else:
                        ImportMarks.forget(conn, write.partition)
            checkpoint("sql.before_commit")
        checkpoint("sql.after_commit")

    def _replace(
        self,
        conn: Connection,
        partition: str,
        documents: Sequence[DocumentRows],
        *,
        delete_ids: Iterable[str],
    ) -> None:
        self._delete_ids(conn, list(delete_ids))
        if not documents:
            return
        schema, dialect = self.schema, self.db.dialect
        if schema.partition_table is not None and schema.partition_row is not None:
            # Parameters apart from the statement, so SQLAlchemy compiles it once, not per call.
            row = schema.partition_row(partition)
            conn.execute(dialect.insert_ignore(schema.partition_table), row)
        dialect.bulk_insert(conn, schema.root_table, [rows.root for rows in documents])
        for mapping in schema.child_mappings:
            child_rows = [row for rows in documents for row in rows.children.get(mapping.name, ())]
            dialect.bulk_insert(conn, mapping.table, child_rows)
        self.fulltext.index(conn, [rows.doc_id for rows in documents])

    def _delete_ids(self, conn: Connection, doc_ids: Sequence[str]) -> int:
        schema = self.schema
        removed = 0
        for start in range(0, len(doc_ids), _CHUNK):
            chunk = doc_ids[start : start + _CHUNK]
            self.fulltext.forget(conn, chunk)
            for child, mapping in zip(schema.children, schema.child_mappings, strict=True):
                conn.execute(
                    delete(mapping.table).where(mapping.table.c[child.parent_column].in_(chunk))
                )
            result = conn.execute(
                delete(schema.root_table).where(schema.root_table.c[schema.id_column].in_(chunk))
            )
            removed += result.rowcount
        return removed
