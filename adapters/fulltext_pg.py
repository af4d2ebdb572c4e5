"""The full-text index on PostgreSQL: a generated `tsvector` column per searchable field with a
GIN index on it, ranked by `ts_rank`, snippets by `ts_headline`.

PostgreSQL computes a generated column in every INSERT and UPDATE (COPY included), in the
row's own transaction, so the index cannot disagree with the rows; the stored vector also
spares `ts_rank` from parsing each matching text again. The `simple` configuration: lower-case
tokens, no stemming, no stop words, the closest to SQLite's `unicode61`. Only the first
`INDEXED_CHARACTERS` characters of a value are indexed: a `tsvector` holds at most 1 MB of
lexemes, and a longer text must still be stored, not refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from migrator.adapters.dialects import Check
from migrator.adapters.fulltext import FullTextIndex, RankedRow, name
from migrator.adapters.search_query import SearchHit, SearchQuery
from migrator.schemas.declaration import POSITION_COLUMN
from migrator.schemas.searchable import SearchField

#: Characters of a value the index covers (lexemes of at most 4 bytes each, twice over for
#: hyphenated words, stay within a tsvector's 1 MB).
INDEXED_CHARACTERS = 100_000
_CONFIG = "'simple'::regconfig"
_HEADLINE = "StartSel=[, StopSel=], MaxWords=14, MinWords=6, ShortWord=0, MaxFragments=1"


class PostgresFullTextIndex(FullTextIndex):
    """tsvector columns and GIN indexes of a schema's searchable fields."""

    def ensure(self, conn: Connection, fresh: Collection[str] = ()) -> bool:
        """A fresh table got its generated column from nothing: only missing ones are made."""
        created = False
        for field in self.fields:
            if self._has_column(conn, field) and self._has_index(conn, field):
                continue
            table, vector = self._q(conn, field.table.name), self._q(conn, _column(field))
            # Adding a generated column computes it for every existing row: the rebuild.
            conn.exec_driver_sql(
                f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {vector} tsvector "
                f"GENERATED ALWAYS AS ({self._vector(conn, field)}) STORED"
            )
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {self._q(conn, name(field))} "
                f"ON {table} USING gin ({vector})"
            )
            created = True
        return created

    def rebuild(self, conn: Connection) -> None:
        for field in self.fields:
            table = self._q(conn, field.table.name)
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {self._q(conn, name(field))}")
            conn.exec_driver_sql(
                f"ALTER TABLE {table} DROP COLUMN IF EXISTS {self._q(conn, _column(field))}"
            )
        self.ensure(conn)

    def index(self, conn: Connection, doc_ids: Sequence[str]) -> None:
        """Nothing to do: PostgreSQL computes the vectors of the rows it stores."""

    def forget(self, conn: Connection, doc_ids: Sequence[str]) -> None:
        """Nothing to do: a deleted row takes its vector with it."""

    @contextlib.contextmanager
    def bulk(self, conn: Connection) -> Iterator[None]:
        """Nothing to set: a GIN index's pending list is PostgreSQL's own affair."""
        yield

    @contextlib.contextmanager
    def replacing(self, conn: Connection, doc_ids: Sequence[str], *, old: bool) -> Iterator[None]:
        """Nothing to do around a rewrite (`index`, `forget`), and nothing to look up."""
        yield

    def present(self, conn: Connection) -> bool:
        return all(
            self._has_column(conn, field) and self._has_index(conn, field) for field in self.fields
        )

    def search(self, conn: Connection, query: SearchQuery, limit: int) -> list[SearchHit]:
        if not self.fields:
            return []
        self.require_present(conn)
        tsquery, params = _tsquery(query)
        arms = [
            self._pg_arm(conn, index, field, tsquery) for index, field in enumerate(self.fields)
        ]
        statement = (
            "WITH hits AS (" + " UNION ALL ".join(arms) + "), "
            "best AS (SELECT *, row_number() OVER (PARTITION BY doc_id "
            "ORDER BY score DESC, field, position) AS n FROM hits) "
            "SELECT doc_id, partition, field, position, row, score FROM best WHERE n = 1 "
            'ORDER BY score DESC, doc_id COLLATE "C" LIMIT %(limit)s'
        )
        rows = conn.exec_driver_sql(statement, {**params, "limit": limit}).all()
        return [self._headline(conn, RankedRow(*row), tsquery, params) for row in rows]

    def _pg_arm(self, conn: Connection, index: int, field: SearchField, tsquery: str) -> str:
        schema = self.schema
        table, vector = self._q(conn, field.table.name), self._q(conn, _column(field))
        root, root_id = self._q(conn, schema.root_table.name), self._q(conn, schema.id_column)
        part = self._q(conn, schema.partition_column)
        if field.parent_column is None:
            source, position = f"{table} AS t", "NULL::bigint"
            doc_id, partition = f"t.{root_id}", f"t.{part}"
        else:
            parent = self._q(conn, field.parent_column)
            source = f"{table} AS t JOIN {root} AS r ON r.{root_id} = t.{parent}"
            position = f"t.{self._q(conn, POSITION_COLUMN)}::bigint"
            doc_id, partition = f"r.{root_id}", f"r.{part}"
        return (
            f"SELECT {doc_id} AS doc_id, {partition} AS partition, {index} AS field, "
            f"{position} AS position, t.ctid::text AS row, "
            f"ts_rank(t.{vector}, {tsquery})::float8 AS score "
            f"FROM {source} WHERE t.{vector} @@ {tsquery}"
        )

    def _headline(
        self, conn: Connection, row: RankedRow, tsquery: str, params: dict[str, Any]
    ) -> SearchHit:
        field = self.fields[row.field]
        text = f"left({self._q(conn, field.column)}, {INDEXED_CHARACTERS})"
        snippet = conn.exec_driver_sql(
            f"SELECT ts_headline({_CONFIG}, {text}, {tsquery}, '{_HEADLINE}') "
            f"FROM {self._q(conn, field.table.name)} WHERE ctid = %(row)s::tid",
            {**params, "row": row.row},
        ).scalar()
        return SearchHit(
            doc_id=row.doc_id,
            partition=row.partition,
            score=row.score,
            field=field.located(row.position),
            snippet=snippet or "",
        )

    def check(self, conn: Connection) -> list[Check]:
        checks = []
        for field in self.fields:
            label = f"search index {field.path}"
            if not self._has_column(conn, field) or not self._has_index(conn, field):
                detail = f"missing column {_column(field)} or index {name(field)}"
                checks.append(Check(label, "problem", detail))
                continue
            table, vector = self._q(conn, field.table.name), self._q(conn, _column(field))
            stale = conn.exec_driver_sql(
                f"SELECT count(*) FROM {table} "
                f"WHERE {vector} IS DISTINCT FROM {self._vector(conn, field)}"
            ).scalar_one()
            rows = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            if stale:
                checks.append(Check(label, "problem", f"{stale} of {rows} rows stale"))
            else:
                checks.append(
                    Check(label, "ok", f"{rows} values indexed, agree with the rows", rows)
                )
        return checks

    def _vector(self, conn: Connection, field: SearchField) -> str:
        column = self._q(conn, field.column)
        return f"to_tsvector({_CONFIG}, left(coalesce({column}, ''), {INDEXED_CHARACTERS}))"

    def _has_column(self, conn: Connection, field: SearchField) -> bool:
        return bool(
            conn.exec_driver_sql(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %(table)s AND column_name = %(column)s",
                {"table": field.table.name, "column": _column(field)},
            ).first()
        )

    def _has_index(self, conn: Connection, field: SearchField) -> bool:
        return bool(
            conn.exec_driver_sql(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = %(name)s AND c.relnamespace = current_schema()::regnamespace "
                "AND i.indisvalid",
                {"name": name(field)},
            ).first()
        )


def _column(field: SearchField) -> str:
    """The generated tsvector column of one field: `content_fts`."""
    return f"{field.column}_fts"


def _tsquery(query: SearchQuery) -> tuple[str, dict[str, Any]]:
    """The query as a tsquery expression and its parameters: each term parsed by PostgreSQL's
    own functions (never raw syntax), the terms joined with `&&`."""
    parts, params = [], {}
    for index, term in enumerate(query.terms):
        key = f"t{index}"
        if term.prefix:
            # Tokens are letters and digits only: nothing in them is tsquery syntax.
            params[key] = " <-> ".join(term.tokens) + ":*"
            parts.append(f"to_tsquery({_CONFIG}, %({key})s)")
        else:
            params[key] = " ".join(term.tokens)
            parts.append(f"phraseto_tsquery({_CONFIG}, %({key})s)")
    return "(" + " && ".join(parts) + ")", params
