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
    Connection,
    CursorResult,
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
from migrator.schemas.codec import from_rows, summary_from_row
from migrator.schemas.declaration import (
    POSITION_COLUMN,
    Schema,
    TableMapping,
)

Document = dict[str, Any]
_CHUNK = 500


def plain_rows(result: CursorResult[Any]) -> list[dict[str, Any]]:
    """Every row as a plain dict, in one fetchall: the codec reads each column by name, and a
    dict answers that several times faster than SQLAlchemy's RowMapping."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.fetchall()]


def run(conn: Connection, schema: Schema, dialect: Dialect, query: Query) -> Page:
    """The page `query` asks for: indexed SQL for the faithful rows, Python for the suspects."""
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
    statement = select(root).where(*main).order_by(*compiler.order_by(root, query.order, id_field))
    if query.limit is not None:
        statement = statement.limit(query.offset + query.limit + 1)
    ranked: dict[str, tuple[SortPosition, Document]] = {}
    for row in plain_rows(conn.execute(statement)):
        summary = _summary(schema, row)
        doc_id = summary[schema.id_key]
        position = SortPosition(query.order, sort_values(query.order, summary), doc_id)
        ranked[doc_id] = (position, summary)
    for doc in _suspects(conn, compiler, schema, query, scope, root_suspects).values():
        if _decide(query, doc):
            doc_id = doc[schema.id_key]
            ranked[doc_id] = (SortPosition(query.order, sort_values(query.order, doc), doc_id), doc)
    ordered = sorted(ranked.values(), key=lambda pair: pair[0])
    items, cursor = page_of(query, ordered)
    return Page(_shaped(conn, schema, query, items), cursor)


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
    schema: Schema,
    query: Query,
    scope: list[Condition],
    root_suspects: list[Condition],
) -> dict[str, Document]:
    """Documents of the rows the main statement could not judge (usually none): summaries
    when the query asks nothing of the child lists, whole documents otherwise."""
    root = schema.root_table
    id_column = root.c[schema.id_column]
    if not query.has:
        if not root_suspects:
            return {}
        rows = plain_rows(conn.execute(select(root).where(*scope, or_(*root_suspects))))
        summaries = (_summary(schema, row) for row in rows)
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
    return documents(conn, schema, sorted(ids), scope)


def _decide(query: Query, doc: Document) -> bool:
    if not all(matches(c, doc) for c in query.where):
        return False
    if not all(has_match(h, doc) for h in query.has):
        return False
    if query.after is None:
        return True
    position = SortPosition(query.order, sort_values(query.order, doc), doc[query.schema.id_key])
    return SortPosition(query.order, *query.after) < position


def _summary(schema: Schema, row: Any) -> Document:
    return summary_from_row(schema, row)


def _shaped(conn: Connection, schema: Schema, query: Query, items: list[Any]) -> list[Any]:
    summaries = [summary_of(schema, item) for item in items]
    ids = [summary[schema.id_key] for summary in summaries]
    if query.returning == "ids":
        return ids
    if query.returning == "summaries":
        return summaries
    found = documents(conn, schema, ids, [])
    return [found[doc_id] for doc_id in ids if doc_id in found]


def documents(
    conn: Connection, schema: Schema, ids: Sequence[str], scope: Sequence[Condition]
) -> dict[str, Document]:
    """id -> whole document, for `ids` (in chunks), within `scope`."""
    root = schema.root_table
    id_column = root.c[schema.id_column]
    found: dict[str, Document] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        roots = plain_rows(conn.execute(select(root).where(*scope, id_column.in_(chunk))))
        grouped: dict[str, dict[str, list[Any]]] = {}
        for child, mapping in zip(schema.children, schema.child_mappings, strict=True):
            _group_children(conn, mapping, child.parent_column, chunk, grouped)
        for row in roots:
            doc_id = row[schema.id_column]
            found[doc_id] = from_rows(schema, row, grouped.get(doc_id, {}))
    return found


def _group_children(
    conn: Connection,
    mapping: TableMapping,
    parent_column: str,
    ids: list[str],
    grouped: dict[str, dict[str, list[Any]]],
) -> None:
    table = mapping.table
    parent = table.c[parent_column]
    rows = plain_rows(
        conn.execute(
            select(table).where(parent.in_(ids)).order_by(parent, table.c[POSITION_COLUMN])
        )
    )
    for row in rows:
        grouped.setdefault(row[parent_column], {}).setdefault(mapping.name, []).append(row)


def summaries(conn: Connection, schema: Schema, partition: str) -> list[Document]:
    """A partition's summaries in stored order: root rows only, no child table read."""
    root = schema.root_table
    rows = plain_rows(
        conn.execute(
            select(root)
            .where(root.c[schema.partition_column] == partition)
            .order_by(root.c[POSITION_COLUMN], root.c[schema.id_column])
        )
    )
    return [_summary(schema, row) for row in rows]
