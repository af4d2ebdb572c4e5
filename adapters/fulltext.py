"""The full-text index of a SQL store: FTS5 on SQLite (here), tsvector + GIN on PostgreSQL
(`migrator.adapters.fulltext_pg`).

SQLite: one external-content FTS5 table per searchable field (`fts_<table>_<column>`, the text
read from the row by rowid, stored once), the `unicode61` tokenizer without diacritic folding
(what `migrator.adapters.search_query` mirrors), ranked by `bm25`. A document's best-ranked value
represents it; documents are ordered by score, then id.

The store keeps the index with explicit statements in the rows' own transaction (`index` after
its inserts, `forget` before its deletes, one INSERT ... SELECT per batch), not with triggers as
sqlite-utils' `enable_fts` does: a trigger fires once per row inside a statement savepoint, at
which FTS5 flushes its pending terms into a new segment, so the import ran 4-10 times slower
(measured: docs/search.md). Every write of the toolkit goes through `_replace` and `_delete_ids`
of `migrator.adapters.sql_writer`, so no write path misses it; a rolled-back or killed
transaction takes its index entries with it. A writer outside the toolkit (raw SQL) bypasses
it: `doctor` sees that and `migrator reindex` rebuilds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc

from migrator.adapters.dialects import Check
from migrator.adapters.search_query import SearchHit, SearchQuery, fts5_match
from migrator.errors import DatabaseError
from migrator.schemas.declaration import POSITION_COLUMN, Schema
from migrator.schemas.searchable import SearchField

#: Words shown around a match in a snippet.
SNIPPET_TOKENS = 12
_TOKENIZER = "unicode61 remove_diacritics 0"
_DEFAULT_AUTOMERGE = 4  # FTS5's own, when the index's _config table holds none


def _quote(conn: Connection, identifier: str) -> str:
    return conn.dialect.identifier_preparer.quote(identifier)


@dataclass(frozen=True)
class RankedRow:
    """One document's best-ranked value, before its snippet is made."""

    doc_id: str
    partition: str
    field: int
    position: int | None
    row: object
    score: float


class FullTextIndex:
    """SQLite's FTS5 index of a schema's searchable fields."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.fields = schema.search_fields

    # ------------------------------------------------------------------ schema

    def ensure(self, conn: Connection, fresh: Collection[str] = ()) -> bool:
        """Create the index tables that are missing, each built over the rows already there;
        those of `fresh` tables (just created: a dropped table's index describes rows that are
        gone) are built anew. True when something was created."""
        created = False
        present = self._present(conn)
        for field in self.fields:
            if field.table.name in fresh and name(field) in present:
                conn.exec_driver_sql(f"DROP TABLE {self._q(conn, name(field))}")
            elif name(field) in present:
                continue
            fts, column = self._q(conn, name(field)), self._q(conn, field.column)
            conn.exec_driver_sql(
                f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, "
                f"content={_literal(field.table.name)}, content_rowid='rowid', "
                f"tokenize={_literal(_TOKENIZER)})"
            )
            conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
            created = True
        return created

    def rebuild(self, conn: Connection) -> None:
        """Drop and build every field's index again from the rows."""
        for field in self.fields:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self._q(conn, name(field))}")
        self.ensure(conn)

    def present(self, conn: Connection) -> bool:
        return {name(field) for field in self.fields} <= self._present(conn)

    # ------------------------------------------------------------------ writes

    def index(self, conn: Connection, doc_ids: Sequence[str]) -> None:
        """Add the searchable values of these documents' rows (just inserted) to the index."""
        if self._kept(conn, doc_ids):
            _upkeep(conn, self, doc_ids, delete=False)

    def forget(self, conn: Connection, doc_ids: Sequence[str]) -> None:
        """Take the values of these documents' rows (about to be deleted) out of the index."""
        if self._kept(conn, doc_ids):
            _upkeep(conn, self, doc_ids, delete=True)

    @contextlib.contextmanager
    def bulk(self, conn: Connection) -> Iterator[None]:
        """Many `index` calls in one transaction with FTS5's automatic merging off, set back as
        it was before the transaction commits (a failure rolls both back). Merging after each
        statement's new segment merged the same terms again and again: measured on the 10k
        import, the index upkeep took 25-35% less time this way, and the segments left (at
        most FTS5's crisis-merge threshold per level) searched as fast."""
        names = [name(field) for field in self.fields] if self.present(conn) else []
        saved = {fts: self._automerge(conn, fts) for fts in names}
        for fts in names:
            self._set_automerge(conn, fts, 0)
        yield
        for fts, value in saved.items():
            self._set_automerge(conn, fts, value)

    def _automerge(self, conn: Connection, fts: str) -> int:
        value = conn.exec_driver_sql(
            f"SELECT v FROM {self._q(conn, fts + '_config')} WHERE k = 'automerge'"
        ).scalar()
        return _DEFAULT_AUTOMERGE if value is None else int(value)

    def _set_automerge(self, conn: Connection, fts: str, value: int) -> None:
        table = self._q(conn, fts)
        conn.exec_driver_sql(
            f"INSERT INTO {table}({table}, rank) VALUES ('automerge', ?)", (value,)
        )

    @contextlib.contextmanager
    def replacing(self, conn: Connection, doc_ids: Sequence[str], *, old: bool) -> Iterator[None]:
        """Around a put's rewrite of these rows: old values out (when `old`), new in; one look."""
        kept = self._kept(conn, doc_ids)
        if kept and old:
            _upkeep(conn, self, doc_ids, delete=True)
        yield
        if kept:
            _upkeep(conn, self, doc_ids, delete=False)

    def _kept(self, conn: Connection, doc_ids: Sequence[str]) -> bool:
        """Whether there is an index to keep (`init` or `reindex` builds a missing one)."""
        return bool(doc_ids and self.fields and self.present(conn))

    # ------------------------------------------------------------------ search

    def require_present(self, conn: Connection) -> None:
        """Refuse to search an index that is missing or incomplete (it would miss matches)."""
        if not self.present(conn):
            raise DatabaseError(
                "the database's full-text index is missing or incomplete; "
                "run `migrator reindex` to build it"
            )

    def search(self, conn: Connection, query: SearchQuery, limit: int) -> list[SearchHit]:
        """The `limit` best documents for `query`."""
        if not self.fields:
            return []
        self.require_present(conn)
        match = fts5_match(query)
        arms = [self._arm(conn, index, field) for index, field in enumerate(self.fields)]
        statement = (
            "WITH hits AS (" + " UNION ALL ".join(arms) + "), "
            "best AS (SELECT *, row_number() OVER (PARTITION BY doc_id "
            "ORDER BY score, field, position) AS n FROM hits) "
            "SELECT doc_id, partition, field, position, row, score FROM best WHERE n = 1 "
            "ORDER BY score, doc_id LIMIT ?"
        )
        rows = [
            RankedRow(*row)
            for row in conn.exec_driver_sql(statement, (*[match] * len(arms), limit))
        ]
        return [self._hit(conn, match, row) for row in rows]

    def _arm(self, conn: Connection, index: int, field: SearchField) -> str:
        schema = self.schema
        fts, table = self._q(conn, name(field)), self._q(conn, field.table.name)
        root = self._q(conn, schema.root_table.name)
        root_id = self._q(conn, schema.id_column)
        part = self._q(conn, schema.partition_column)
        if field.parent_column is None:
            joined, position = f"{table} AS r ON r.rowid = {fts}.rowid", "NULL"
        else:
            parent = self._q(conn, field.parent_column)
            joined = (
                f"{table} AS t ON t.rowid = {fts}.rowid "
                f"JOIN {root} AS r ON r.{root_id} = t.{parent}"
            )
            position = f"t.{self._q(conn, POSITION_COLUMN)}"
        return (
            f"SELECT r.{root_id} AS doc_id, r.{part} AS partition, {index} AS field, "
            f"{position} AS position, {fts}.rowid AS row, bm25({fts}) AS score "
            f"FROM {fts} JOIN {joined} WHERE {fts} MATCH ?"
        )

    def _hit(self, conn: Connection, match: str, row: RankedRow) -> SearchHit:
        field = self.fields[row.field]
        fts = self._q(conn, name(field))
        snippet = conn.exec_driver_sql(
            f"SELECT snippet({fts}, 0, '[', ']', '…', {SNIPPET_TOKENS}) FROM {fts} "
            f"WHERE {fts} MATCH ? AND rowid = ?",
            (match, row.row),
        ).scalar()
        return SearchHit(
            doc_id=row.doc_id,
            partition=row.partition,
            score=-row.score,
            field=field.located(row.position),
            snippet=snippet or "",
        )

    # ------------------------------------------------------------------ health

    def check(self, conn: Connection) -> list[Check]:
        """Per field: the index exists, is sound and agrees with the rows."""
        checks = []
        present = self._present(conn)
        for field in self.fields:
            label = f"search index {field.path}"
            if name(field) not in present:
                checks.append(Check(label, "problem", f"missing {name(field)}"))
                continue
            fts, table = self._q(conn, name(field)), self._q(conn, field.table.name)
            docsize = self._q(conn, name(field) + "_docsize")
            indexed = conn.exec_driver_sql(f"SELECT count(*) FROM {docsize}").scalar_one()
            rows = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            try:
                conn.exec_driver_sql(
                    f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"
                )
            except sa_exc.DBAPIError as exc:
                detail = f"disagrees with the rows ({exc.orig or exc})"
                checks.append(Check(label, "problem", detail))
                continue
            if indexed != rows:
                detail = f"{indexed} values indexed for {rows} rows"
                checks.append(Check(label, "problem", detail))
                continue
            checks.append(Check(label, "ok", f"{rows} values indexed, agree with the rows", rows))
        return checks

    # ------------------------------------------------------------------ plumbing

    def _present(self, conn: Connection) -> set[str]:
        return set(
            conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name LIKE 'fts\\_%' ESCAPE '\\'"
            ).scalars()
        )

    _q = staticmethod(_quote)


def _upkeep(
    conn: Connection, index: FullTextIndex, doc_ids: Sequence[str], *, delete: bool
) -> None:
    """Add the values of these documents' rows to each field's index, or take them out."""
    q = _quote
    for field in index.fields:
        fts, table = q(conn, name(field)), q(conn, field.table.name)
        column = q(conn, field.column)
        owner = q(conn, field.parent_column or index.schema.id_column)
        target, value = (f"{fts}, ", "'delete', ") if delete else ("", "")
        # In rowid order: FTS5 starts a new segment (merged again later) whenever a rowid
        # is not above the last one; in the parent ids' order that was one per document
        # or two, and the import's index upkeep took 2-3x as long.
        for start in range(0, len(doc_ids), 500):
            chunk = list(doc_ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            conn.exec_driver_sql(
                f"INSERT INTO {fts}({target}rowid, {column}) "
                f"SELECT {value}rowid, {column} FROM {table} WHERE {owner} IN ({marks}) "
                "ORDER BY rowid",
                tuple(chunk),
            )


def name(field: SearchField) -> str:
    """The index of one field: `fts_chat_messages_content`."""
    return f"fts_{field.table.name}_{field.column}"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def owned(schema: Schema, object_name: str | None, type_: str, parents: Any = None) -> bool:
    """Whether a database object belongs to the full-text index, not to the declaration (the
    `fts_*` tables and their shadow tables, indexes, PostgreSQL's `<column>_fts` columns):
    schema comparisons (Alembic's autogenerate and check) leave these alone."""
    if not object_name:
        return False
    names = {name(field) for field in schema.search_fields}
    if type_ == "table":
        return any(object_name == n or object_name.startswith(n + "_") for n in names)
    if type_ == "index":
        return object_name in names
    if type_ == "column":
        table = (parents or {}).get("table_name")
        return any(
            table == f.table.name and object_name == f"{f.column}_fts" for f in schema.search_fields
        )
    return False


def index_for(dialect_name: str, schema: Schema) -> FullTextIndex:
    """The full-text index of `schema` on this kind of database."""
    if dialect_name == "postgresql":
        from migrator.adapters.fulltext_pg import PostgresFullTextIndex

        return PostgresFullTextIndex(schema)
    return FullTextIndex(schema)
