"""Queries answered by SQL, with the JSON scan's exact semantics.

The criteria become conditions through `migrator.adapters.sql_criteria` (exact comparisons,
code point order, nulls first), so the declared indexes answer them. One thing more makes SQL
agree with the scan exactly: **values that live in `extra`.** The codec keeps in a row's `extra`
("keys") whatever a typed column cannot hold exactly (text with NUL, integers beyond 64 bits,
-0.0), and records absent keys there. Such a row is *suspect* for a criterion on that key: the
main statement leaves it out, and a second, small statement finds the suspects (through a
partial index on rows with `"keys":` in `extra`) so Python decides them with the reference
semantics. The two answers are merged in the query's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Table,
    exists,
    not_,
    or_,
    select,
)

from migrator.adapters.dialects import Dialect
from migrator.adapters.json_query import has_match, summary_of
from migrator.adapters.query import ChildCriteria, Page, Query
from migrator.adapters.query_semantics import SortPosition, matches, page_of, sort_values
from migrator.adapters.sql_criteria import Compiler, Condition
from migrator.schemas.declaration import POSITION_COLUMN, Schema
from migrator.schemas.decoding import DocumentDecoder, TableDecoder

Document = dict[str, Any]
_CHUNK = 500


def columns_of(table: Table, decoder: TableDecoder) -> list[Column[Any]]:
    """The columns `decoder` reads, in its order: select these and decode the rows as tuples."""
    return [table.c[name] for name in decoder.columns]


def run(conn: Connection, decoder: DocumentDecoder, dialect: Dialect, query: Query) -> Page:
    """The page `query` asks for: indexed SQL for the faithful rows, Python for the suspects."""
    schema = decoder.schema
    compiler = Compiler(dialect)
    root = schema.root_table
    id_field = next(f for f in schema.root_mapping.fields if f.key == schema.id_key)
    scope: list[Condition] = []
    if query.partition is not None:
        scope.append(root.c[schema.partition_column] == query.partition)
    root_suspects = compiler.suspects(root, query.where, query.order)
    main = [
        *scope,
        *(compiler.condition(root, c) for c in query.where),
        *(not_(s) for s in root_suspects),
        *(_exists(compiler, schema, h) for h in query.has),
    ]
    if query.after is not None:
        main.append(compiler.after(root, query.order, id_field, query.after))
    statement = (
        select(*columns_of(root, decoder.root))
        .where(*main)
        .order_by(*compiler.order_by(root, query.order, id_field))
    )
    if query.limit is not None:
        statement = statement.limit(query.offset + query.limit + 1)
    ranked: dict[str, tuple[SortPosition, Document]] = {}
    for row in conn.execute(statement).all():
        summary = decoder.summary(row)
        doc_id = summary[schema.id_key]
        position = SortPosition(query.order, sort_values(query.order, summary), doc_id)
        ranked[doc_id] = (position, summary)
    for doc in _suspects(conn, compiler, decoder, query, scope, root_suspects).values():
        if _decide(query, doc):
            doc_id = doc[schema.id_key]
            ranked[doc_id] = (SortPosition(query.order, sort_values(query.order, doc), doc_id), doc)
    ordered = sorted(ranked.values(), key=lambda pair: pair[0])
    items, cursor = page_of(query, ordered)
    return Page(_shaped(conn, decoder, query, items), cursor)


def _exists(compiler: Compiler, schema: Schema, h: ChildCriteria) -> Condition:
    """A child item that meets every criterion and whose columns tell the truth."""
    table = h.mapping.table
    link = table.c[h.child.parent_column] == schema.root_table.c[schema.id_column]
    conditions = [compiler.condition(table, c) for c in h.criteria]
    conditions += [not_(s) for s in compiler.suspects(table, h.criteria)]
    return exists().where(link, *conditions)


def _suspects(
    conn: Connection,
    compiler: Compiler,
    decoder: DocumentDecoder,
    query: Query,
    scope: list[Condition],
    root_suspects: list[Condition],
) -> dict[str, Document]:
    """Documents of the rows the main statement could not judge (usually none): summaries
    when the query asks nothing of the child lists, whole documents otherwise."""
    schema = decoder.schema
    root = schema.root_table
    id_column = root.c[schema.id_column]
    if not query.has:
        if not root_suspects:
            return {}
        rows = conn.execute(
            select(*columns_of(root, decoder.root)).where(*scope, or_(*root_suspects))
        ).all()
        summaries = (decoder.summary(row) for row in rows)
        return {summary[schema.id_key]: summary for summary in summaries}
    ids: set[str] = set()
    if root_suspects:
        ids.update(conn.execute(select(id_column).where(*scope, or_(*root_suspects))).scalars())
    for h in query.has:
        table = h.mapping.table
        suspects = compiler.suspects(table, h.criteria)
        if suspects:
            parent = table.c[h.child.parent_column]
            ids.update(conn.execute(select(parent).where(or_(*suspects)).distinct()).scalars())
    if not ids:
        return {}
    return documents(conn, decoder, sorted(ids), scope)


def _decide(query: Query, doc: Document) -> bool:
    if not all(matches(c, doc) for c in query.where):
        return False
    if not all(has_match(h, doc) for h in query.has):
        return False
    if query.after is None:
        return True
    position = SortPosition(query.order, sort_values(query.order, doc), doc[query.schema.id_key])
    return SortPosition(query.order, *query.after) < position


def _shaped(
    conn: Connection, decoder: DocumentDecoder, query: Query, items: list[Any]
) -> list[Any]:
    schema = decoder.schema
    summaries = [summary_of(schema, item) for item in items]
    ids = [summary[schema.id_key] for summary in summaries]
    if query.returning == "ids":
        return ids
    if query.returning == "summaries":
        return summaries
    found = documents(conn, decoder, ids, [])
    return [found[doc_id] for doc_id in ids if doc_id in found]


def documents(
    conn: Connection, decoder: DocumentDecoder, ids: Sequence[str], scope: Sequence[Condition]
) -> dict[str, Document]:
    """id -> whole document, for `ids` (in chunks), within `scope`."""
    schema = decoder.schema
    root = schema.root_table
    id_column = root.c[schema.id_column]
    found: dict[str, Document] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        roots = conn.execute(
            select(*columns_of(root, decoder.root)).where(*scope, id_column.in_(chunk))
        ).all()
        lists = []
        for index, (child, (_, table_decoder)) in enumerate(
            zip(schema.children, decoder.children, strict=True)
        ):
            table = table_decoder.mapping.table
            parent = table.c[child.parent_column]
            rows = conn.execute(
                select(*columns_of(table, table_decoder))
                .where(parent.in_(chunk))
                .order_by(table.c[POSITION_COLUMN])
            ).all()
            lists.append(decoder.group(index, rows))
        for row in roots:
            found[row[decoder.id_at]] = decoder.document(row, lists)
    return found
