"""The SQL backend: a schema's documents as normalized rows, through SQLAlchemy Core.

Dialect-neutral: whatever differs between SQLite and PostgreSQL is asked of
`migrator.adapters.dialects`.
A document is always written whole (root row and every child row) in one transaction; bulk work
(the importer) replaces many documents per transaction with executemany inserts.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy import exc as sa_exc

from migrator.adapters import sql_query
from migrator.adapters.dialects import Check, Dialect, database_url, dialect_for
from migrator.adapters.faults import checkpoint
from migrator.adapters.fulltext import FullTextIndex, index_for
from migrator.adapters.json_store import check_partition_name
from migrator.adapters.query import Findable, Page, Query
from migrator.adapters.redact import redact_url
from migrator.adapters.search_query import SearchHit, check_limit, parse
from migrator.adapters.sql_query import plain_rows
from migrator.errors import (
    ConstraintError,
    DatabaseCorruptError,
    DatabaseError,
    DocumentError,
    PartitionConflictError,
    SchemaMismatchError,
    UsageError,
)
from migrator.schemas.codec import DocumentRows, from_rows, to_rows, validate
from migrator.schemas.declaration import POSITION_COLUMN, Schema

Document = dict[str, Any]

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


@dataclass(frozen=True)
class ImportMark:
    """A partition file's content hash and document count, as of its last import."""

    partition: str
    sha256: str
    documents: int
    #: When it was recorded (ISO 8601, UTC); None for a mark not yet written.
    imported_at: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PartitionWrite:
    """One partition's share of a bulk write: documents to (re)insert, other ids to delete, and
    the import mark to record (None: the partition is not fully imported, forget its mark)."""

    partition: str
    documents: Sequence[DocumentRows]
    delete_ids: Collection[str] = ()
    mark: ImportMark | None = None


@dataclass(frozen=True)
class Orphans:
    """Rows of `table` whose `column` names no row of `parent`: how many, and a few values."""

    table: str
    column: str
    parent: str
    rows: int
    sample: tuple[Any, ...]


class SqlStore(Findable):
    """A schema's documents in a SQL database named by a file path or a SQLAlchemy URL."""

    def __init__(self, db: str | Path, schema: Schema, *, create: bool = True) -> None:
        self.url = database_url(db)
        self.schema = schema
        self.dialect: Dialect = dialect_for(self.url)
        file = self.dialect.database_file(self.url)
        if file is not None and not file.parent.is_dir():
            # SQLite would say only "unable to open database file".
            raise UsageError(f"--db {file}: the folder {file.parent} does not exist")
        if file is not None and not create and not file.exists():
            raise DatabaseError(f"database {file} does not exist; run `migrator init` or `import`")
        self.engine = self.dialect.engine(self.url)
        #: False: read-only use (the validator): never create the file or any table.
        self._create = create
        self._ready = False

    @property
    def location(self) -> str:
        return redact_url(self.engine.url.render_as_string(hide_password=True))

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ schema

    def init_schema(self) -> bool:
        """Create the schema's tables if missing; True when this call created them."""
        with self._errors():
            self._check_recorded_schema()
            with self._write(guard=False) as conn:
                self.dialect.lock_schema(conn)
                existing = set(inspect(conn).get_table_names())
                created = self.schema.root_table.name not in existing
                _housekeeping.create_all(conn)
                self.schema.root_table.metadata.create_all(conn, tables=list(self.schema.tables))
                if not created and any(t.name not in existing for t in self.schema.tables):
                    # A table of a used database was dropped: its rows are gone, so no file's
                    # import mark holds any more; the next import reads every file again.
                    conn.execute(delete(import_state_table))
                self._create_missing_indexes(conn)
                fresh = {t.name for t in self.schema.tables if t.name not in existing}
                self.fulltext.ensure(conn, fresh)
                for key, value in (
                    ("schema", self.schema.name),
                    ("version", str(self.schema.version)),
                ):
                    conn.execute(
                        self.dialect.insert_ignore(meta_table).values(key=key, value=value)
                    )
        self._ready = True
        return created

    def _create_missing_indexes(self, conn: Connection) -> None:
        """CREATE the declared indexes a database made before their declaration lacks."""
        inspector = inspect(conn)
        for table in self.schema.tables:
            present = {index["name"] for index in inspector.get_indexes(table.name)}
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                if index.name not in present:
                    index.create(conn)

    @property
    def fulltext(self) -> FullTextIndex:
        """The full-text index of the schema's searchable fields (`migrator.adapters.fulltext`)."""
        return index_for(self.dialect.name, self.schema)

    def search(self, text: str, *, limit: int = 20) -> builtins.list[SearchHit]:
        """The documents that best match `text` (`migrator.adapters.search_query`), best first."""
        query, limit = parse(text), check_limit(limit)
        self._ensure_ready()
        with self._errors(), self.engine.connect() as raw:
            conn = self.dialect.begin_read(raw)
            with conn.begin():
                return self.fulltext.search(conn, query, limit)

    def rebuild_search_index(self) -> None:
        """Build the full-text index again from the rows, in one transaction."""
        self._ensure_ready()
        with self._errors(), self._write() as conn:
            self.fulltext.rebuild(conn)

    def search_index_checks(self) -> builtins.list[Check]:
        """Whether the full-text index exists and agrees with the rows (for `doctor`)."""
        with self._errors(), self.engine.connect() as conn, conn.begin():
            return self.fulltext.check(conn)

    def is_initialized(self) -> bool:
        with self._errors(), self.engine.connect() as conn:
            return self.schema.root_table.name in inspect(conn).get_table_names()

    def recorded_schema(self) -> tuple[str, int] | None:
        """The (schema name, version) the database was created with, or None if not recorded."""
        with self._errors(), self.engine.connect() as conn:
            if "migrator_meta" not in inspect(conn).get_table_names():
                return None
            values = {k: v for k, v in conn.execute(select(meta_table.c.key, meta_table.c.value))}
        if "schema" not in values:
            return None
        return values["schema"], int(values.get("version", "0"))

    def meta_value(self, key: str) -> str | None:
        """One value of `migrator_meta` (None when absent, or no store was created yet)."""
        with self._errors(), self.engine.connect() as conn:
            if "migrator_meta" not in inspect(conn).get_table_names():
                return None
            return conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == key)
            ).scalar_one_or_none()

    def set_meta_value(self, key: str, value: str) -> None:
        """Write one value of `migrator_meta` (after `init_schema`), replacing any other."""
        with self._errors(), self._write() as conn:
            conn.execute(delete(meta_table).where(meta_table.c.key == key))
            conn.execute(meta_table.insert().values(key=key, value=value))

    def _check_recorded_schema(self) -> None:
        recorded = self.recorded_schema()
        if recorded is None:
            return
        name, version = recorded
        if name != self.schema.name:
            raise SchemaMismatchError(
                f"database {self.location} holds schema {name!r}, not {self.schema.name!r}: "
                f"pass the --schema it was created with (or set schema in the config file)"
            )
        self._check_version(version)

    def _check_version(self, version: int) -> None:
        """Code and database must agree on the schema version: rows written under another
        layout would not read back exactly."""
        if version > self.schema.version:
            raise SchemaMismatchError(
                f"database {self.location} is at schema {self.schema.name!r} version {version}, "
                f"newer than the code's version {self.schema.version}: the code is older than "
                "the database (deploy the newer code, or `migrator db downgrade`)"
            )
        if version < self.schema.version:
            raise SchemaMismatchError(
                f"database {self.location} is at schema {self.schema.name!r} version {version}, "
                f"the code declares version {self.schema.version}: run `migrator db upgrade`"
            )

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        if self._create:
            self.init_schema()
            return
        with self._errors():
            self._check_recorded_schema()
        if not self.is_initialized():
            raise DatabaseError(
                f"database {self.location} has no {self.schema.name!r} tables; "
                "run `migrator init` or `import`"
            )
        self._ready = True

    # ------------------------------------------------------------------ reading

    def get(self, doc_id: str) -> Document | None:
        self._ensure_ready()
        root = self.schema.root_table
        with self._errors(), self.engine.connect() as conn:
            row = (
                conn.execute(select(root).where(root.c[self.schema.id_column] == doc_id))
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
                for child, mapping in zip(
                    self.schema.children, self.schema.child_mappings, strict=True
                )
            }
        return from_rows(self.schema, row, children)

    def partition_of(self, doc_id: str) -> str | None:
        self._ensure_ready()
        root = self.schema.root_table
        with self._errors(), self.engine.connect() as conn:
            return conn.execute(
                select(root.c[self.schema.partition_column]).where(
                    root.c[self.schema.id_column] == doc_id
                )
            ).scalar_one_or_none()

    def list(self, partition: str) -> builtins.list[Document]:
        return self.read_partition(partition)

    def read_partition(
        self, partition: str, ids: Collection[str] | None = None
    ) -> builtins.list[Document]:
        """A partition's documents in stored order, read in one consistent transaction
        (only those whose id is in `ids`, when given: keep it to a few hundred)."""
        self._ensure_ready()
        schema = self.schema
        root = schema.root_table
        in_partition = root.c[schema.partition_column] == partition
        if ids is not None:
            in_partition = in_partition & root.c[schema.id_column].in_(list(ids))
        with self._errors(), self.engine.connect() as raw:
            conn = self.dialect.begin_read(raw)
            with conn.begin():
                roots = plain_rows(
                    conn.execute(
                        select(root)
                        .where(in_partition)
                        .order_by(root.c[POSITION_COLUMN], root.c[schema.id_column])
                    )
                )
                grouped: dict[str, dict[str, builtins.list[Any]]] = {}
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

    def run_query(self, query: Query) -> Page:
        """`find`'s answer, through the declared indexes (`migrator.adapters.sql_query`)."""
        if query.partition is not None:
            check_partition_name(query.partition)
        self._ensure_ready()
        with self._errors(), self.engine.connect() as raw:
            conn = self.dialect.begin_read(raw)
            with conn.begin():
                return sql_query.run(conn, self.schema, self.dialect, query)

    def summaries(self, partition: str) -> builtins.list[Document]:
        """The partition's documents without their child lists, in stored order (no child
        table is read)."""
        check_partition_name(partition)
        self._ensure_ready()
        with self._errors(), self.engine.connect() as conn:
            return sql_query.summaries(conn, self.schema, partition)

    def partitions(self) -> builtins.list[str]:
        self._ensure_ready()
        column = self.schema.root_table.c[self.schema.partition_column]
        with self._errors(), self.engine.connect() as conn:
            # Sorted here, not by the database: its collation may not be code point order.
            return sorted(conn.execute(select(column).distinct()).scalars())

    def iter_documents(self) -> Iterator[tuple[str, Document]]:
        for partition in self.partitions():
            for doc in self.read_partition(partition):
                yield partition, doc

    def count(self) -> int:
        self._ensure_ready()
        with self._errors(), self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(self.schema.root_table)).scalar_one()
            )

    def owners(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """id -> partition for those of `doc_ids` that are stored."""
        self._ensure_ready()
        root = self.schema.root_table
        id_col, part_col = root.c[self.schema.id_column], root.c[self.schema.partition_column]
        # No column holds NUL (the codec keeps such text out of them), and PostgreSQL refuses
        # it even as a parameter: such an id is nobody's.
        ids = [i for i in doc_ids if "\x00" not in i]
        found: dict[str, str] = {}
        with self._errors(), self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                found.update(
                    {
                        i: p
                        for i, p in conn.execute(select(id_col, part_col).where(id_col.in_(chunk)))
                    }
                )
        return found

    def ids_in(self, partition: str) -> builtins.list[str]:
        self._ensure_ready()
        root = self.schema.root_table
        with self._errors(), self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(root.c[self.schema.id_column]).where(
                        root.c[self.schema.partition_column] == partition
                    )
                ).scalars()
            )

    # ------------------------------------------------------------------ writing

    def put(self, partition: str, doc: Document) -> None:
        self._put(partition, doc, commit=True)

    def check_put(self, partition: str, doc: Document) -> None:
        """Raise what `put` would raise for `doc` (an id another partition holds, a child key
        another document uses), changing nothing: the write is made and rolled back. What a
        dual write asks before JSON, its primary, accepts a document SQL could never hold."""
        self._put(partition, doc, commit=False)

    def _put(self, partition: str, doc: Document, *, commit: bool) -> None:
        # The same names as the JSON store: a partition must be able to go back to a file.
        check_partition_name(partition)
        try:
            validate(self.schema, doc)
        except DocumentError as exc:
            raise exc.located(partition=partition) from None
        self._ensure_ready()
        schema = self.schema
        root = schema.root_table
        doc_id = doc[schema.id_key]
        with self._errors(partition=partition, doc_id=doc_id), self._write(commit=commit) as conn:
            self.dialect.lock_document(conn, doc_id)
            current = conn.execute(
                select(root.c[schema.partition_column], root.c[POSITION_COLUMN]).where(
                    root.c[schema.id_column] == doc_id
                )
            ).first()
            if current is not None and current[0] != partition:
                raise PartitionConflictError(doc_id, partition, current[0])
            if current is not None:
                position = current[1]
            else:
                last = conn.execute(
                    select(func.max(root.c[POSITION_COLUMN])).where(
                        root.c[schema.partition_column] == partition
                    )
                ).scalar()
                position = 0 if last is None else last + 1
            rows = to_rows(schema, partition, doc, position)
            self._replace(
                conn, partition, [rows], delete_ids=[doc_id] if current is not None else []
            )
            if commit:
                checkpoint("sql.before_commit")
        if commit:
            checkpoint("sql.after_commit")

    def delete(self, doc_id: str) -> bool:
        self._ensure_ready()
        with self._errors(), self._write() as conn:
            self.dialect.lock_document(conn, doc_id)
            removed = self._delete_ids(conn, [doc_id])
            checkpoint("sql.before_commit")
        checkpoint("sql.after_commit")
        return removed > 0

    def replace_documents(
        self,
        partition: str,
        documents: Sequence[DocumentRows],
        *,
        delete_ids: Iterable[str] = (),
        mark: ImportMark | None = None,
    ) -> None:
        """In one transaction: remove `delete_ids` and the documents' ids, insert the documents,
        and record `mark` (so a crash leaves the data and its import record consistent)."""
        self._ensure_ready()
        to_delete = {rows.doc_id for rows in documents} | set(delete_ids)
        with self._errors(), self._write() as conn:
            self._replace(conn, partition, documents, delete_ids=to_delete)
            if mark is not None:
                self._record_mark(conn, mark)
            checkpoint("sql.before_commit")
        checkpoint("sql.after_commit")

    def write_partitions(self, writes: Sequence[PartitionWrite]) -> None:
        """In one transaction, each write in turn: delete its ids and its documents' ids, insert
        its documents, and replace the partition's import mark (data and mark commit together,
        so a crash never leaves a mark that claims data the database lacks). A constraint that
        a lone document breaks is raised as that document's `DocumentError`."""
        self._ensure_ready()
        only = [rows for write in writes for rows in write.documents]
        lone = only[0].doc_id if len(only) == 1 else None
        partition = writes[0].partition if len(writes) == 1 else None
        with self._errors(partition=partition, doc_id=lone), self._write() as conn:
            for write in writes:
                to_delete = {rows.doc_id for rows in write.documents} | set(write.delete_ids)
                self._replace(conn, write.partition, write.documents, delete_ids=to_delete)
                if write.mark is not None:
                    self._record_mark(conn, write.mark)
                else:
                    self._forget_mark(conn, write.partition)
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
        schema = self.schema
        if schema.partition_table is not None and schema.partition_row is not None:
            # Parameters apart from the statement, so SQLAlchemy compiles it once, not per call.
            row = schema.partition_row(partition)
            conn.execute(self.dialect.insert_ignore(schema.partition_table), row)
        self.dialect.bulk_insert(conn, schema.root_table, [rows.root for rows in documents])
        for mapping in schema.child_mappings:
            child_rows = [row for rows in documents for row in rows.children.get(mapping.name, ())]
            self.dialect.bulk_insert(conn, mapping.table, child_rows)
        self.fulltext.index(conn, [rows.doc_id for rows in documents])

    def _delete_ids(self, conn: Connection, doc_ids: Sequence[str]) -> int:
        schema = self.schema
        fulltext = self.fulltext
        removed = 0
        for start in range(0, len(doc_ids), 500):
            chunk = doc_ids[start : start + 500]
            fulltext.forget(conn, chunk)
            for child, mapping in zip(schema.children, schema.child_mappings, strict=True):
                conn.execute(
                    delete(mapping.table).where(mapping.table.c[child.parent_column].in_(chunk))
                )
            result = conn.execute(
                delete(schema.root_table).where(schema.root_table.c[schema.id_column].in_(chunk))
            )
            removed += result.rowcount
        return removed

    # ------------------------------------------------------------------ import marks

    def import_marks(self) -> dict[str, ImportMark]:
        self._ensure_ready()
        table = import_state_table
        with self._errors(), self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.partition, table.c.sha256, table.c.documents, table.c.imported_at)
            )
            return {p: ImportMark(p, sha, n, at) for p, sha, n, at in rows}

    def forget_mark(self, partition: str) -> None:
        with self._errors(), self._write() as conn:
            conn.execute(
                delete(import_state_table).where(import_state_table.c.partition == partition)
            )

    def forget_marks(self) -> None:
        """Forget every import mark: the next import reads every file again."""
        with self._errors(), self._write() as conn:
            conn.execute(delete(import_state_table))

    def _forget_mark(self, conn: Connection, partition: str) -> None:
        conn.execute(delete(import_state_table).where(import_state_table.c.partition == partition))

    def _record_mark(self, conn: Connection, mark: ImportMark) -> None:
        table = import_state_table
        conn.execute(delete(table).where(table.c.partition == mark.partition))
        conn.execute(
            table.insert().values(
                partition=mark.partition,
                sha256=mark.sha256,
                documents=mark.documents,
                imported_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )

    # ------------------------------------------------------------------ health (doctor)

    def health_checks(self) -> builtins.list[Check]:
        """The database's own consistency checks (the dialect knows which exist)."""
        with self._errors(), self.engine.connect() as conn:
            return self.dialect.health_checks(conn)

    def table_counts(self) -> dict[str, int]:
        """Rows per table of the schema (those that exist), parents first."""
        with self._errors(), self.engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in self.schema.tables
                if table.name in present
            }

    def orphans(self, *, sample: int = 5) -> builtins.list[Orphans]:
        """Rows whose foreign key names no parent row, for each foreign key the schema declares:
        a LEFT JOIN finds them even where the database did not enforce the key."""
        found = []
        with self._errors(), self.engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for table in self.schema.tables:
                for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
                    child, parent = fk.parent, fk.column
                    if table.name not in present or parent.table.name not in present:
                        continue
                    joined = table.outerjoin(parent.table, child == parent)
                    missing = parent.is_(None) & child.is_not(None)
                    rows = conn.execute(
                        select(func.count()).select_from(joined).where(missing)
                    ).scalar_one()
                    if rows:
                        keys = conn.execute(
                            select(child)
                            .select_from(joined)
                            .where(missing)
                            .distinct()
                            .limit(sample)
                        ).scalars()
                        found.append(
                            Orphans(table.name, child.name, parent.table.name, rows, tuple(keys))
                        )
        return found

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _write(self, *, guard: bool = True, commit: bool = True) -> Iterator[Connection]:
        """One write transaction: committed when the block ends (rolled back instead when not
        `commit`), rolled back when it raises. Guarded, it first waits out a schema upgrade
        (SQLite's write lock, PostgreSQL's advisory lock taken shared) and refuses to write
        under another schema version."""
        with self.engine.connect() as raw:
            conn = raw.execution_options(migrator_write=True)
            with conn.begin() as transaction:
                if guard:
                    self.dialect.share_schema(conn)
                    version = conn.execute(
                        select(meta_table.c.value).where(meta_table.c.key == "version")
                    ).scalar_one_or_none()
                    if version is not None:
                        self._check_version(int(version))
                yield conn
                if not commit:
                    transaction.rollback()

    @contextlib.contextmanager
    def _errors(self, *, partition: str | None = None, doc_id: str | None = None) -> Iterator[None]:
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
