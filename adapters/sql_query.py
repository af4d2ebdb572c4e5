"""Queries compiled to parameterized SQLAlchemy Core, with the JSON scan's exact semantics.

A criterion becomes SQL only through the operators below (an allow-list: `migrator.adapters.query`
checked every name and value already), over the typed columns the schema declares, so the
declared indexes answer it. Two things make SQL agree with the scan exactly:

- **Values that live in `extra`.** The codec keeps in a row's `extra` ("keys") whatever a typed
  column cannot hold exactly (text with NUL, integers beyond 64 bits, -0.0), and records absent
  keys there. Such a row is *suspect* for a criterion on that key: the main statement leaves it
  out, and a second, small statement finds the suspects (through a partial index on rows with
  `"keys":` in `extra`) so Python decides them with the reference semantics. The two answers
  are merged in the query's order.
- **Comparisons made exact.** Strings compare in code point order (SQLite's BINARY; `COLLATE
  "C"` on PostgreSQL for ranges, prefixes and sorting), a float bound on an integer column and an
  integer bound a double cannot hold are turned into the equivalent exact bound, nulls sort first
  ascending on both databases, and ties are broken by id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Table,
    and_,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
)

from migrator.adapters.dialects import Dialect
from migrator.adapters.json_query import has_match, summary_of
from migrator.adapters.query import ChildCriteria, Criterion, Page, Query, SortKey
from migrator.adapters.query_semantics import SortPosition, matches, page_of, sort_values
from migrator.schemas.codec import from_rows, summary_from_row
from migrator.schemas.declaration import (
    EXTRA_COLUMN,
    POSITION_COLUMN,
    DocField,
    Schema,
    TableMapping,
)
from migrator.schemas.jsontext import dumps_compact

Document = dict[str, Any]
Condition = ColumnElement[bool]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT_MAX = 1.7976931348623157e308
#: The marker of a row whose `extra` holds values of typed fields (see `migrator.schemas.codec`).
KEYS_MARK = '"keys":'
_CHUNK = 500


class Compiler:
    """Conditions and sort clauses for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    # ------------------------------------------------------------ suspects

    def has_text(self, column: Any, needle: str) -> Condition:
        """`needle` occurs in the text column; the literal is inlined so that SQLite can match
        it to the partial index on `"keys":` (a bound parameter would not match)."""
        quoted = "'" + needle.replace("'", "''") + "'"
        position = getattr(func, self.dialect.text_position_function)
        return position(column, literal_column(quoted)) > literal_column("0")  # type: ignore[no-any-return]

    def suspects(
        self, table: Table, criteria: Iterable[Criterion], order: Iterable[SortKey] = ()
    ) -> list[Condition]:
        """Conditions true for the rows whose typed columns may not tell the truth about a key
        the criteria or sort keys read: those whose `extra` holds its value ("keys"), and, for
        `null`/`absent`, those that name it at all (as absent keys are recorded). One
        condition per kind, so the first keeps the partial index's `"keys":` term."""
        valued: dict[str, None] = {}
        named: dict[str, None] = {}
        for c in criteria:
            (named if c.op in ("null", "absent") else valued)[c.field.key] = None
        for key in order:
            valued[key.field.key] = None
        extra = table.c[EXTRA_COLUMN]
        # `extra IS NOT NULL` first: NOT (a suspect) must be true, not NULL, for a plain row.
        found = []
        if valued:
            needles = [self.has_text(extra, dumps_compact(key) + ":") for key in valued]
            found.append(and_(extra.is_not(None), self.has_text(extra, KEYS_MARK), or_(*needles)))
        if named:
            needles = [self.has_text(extra, dumps_compact(key)) for key in named]
            found.append(and_(extra.is_not(None), or_(*needles)))
        return found

    # ------------------------------------------------------------ exact conditions

    def column(self, table: Table, f: DocField, *, ordered: bool) -> Any:
        column = table.c[f.column]
        collation = self.dialect.code_point_collation
        if ordered and f.kind == "str" and collation:
            return column.collate(collation)
        return column

    def condition(self, table: Table, c: Criterion) -> Condition:
        """Exact for every row that is not suspect for `c`."""
        f, op, value = c.field, c.op, c.value
        plain = table.c[f.column]
        if op == "null":
            return plain.is_(None) if value else plain.is_not(None)
        if op == "absent":
            return false() if value else true()
        if op == "in":
            return or_(false(), *(self.compare(table, f, "eq", item) for item in value))
        return self.compare(table, f, op, value)

    def compare(self, table: Table, f: DocField, op: str, value: Any) -> Condition:
        plain = table.c[f.column]
        present = plain.is_not(None)
        if f.kind == "str":
            return self._compare_text(table, f, op, value)
        if f.kind == "bool":
            return (plain == value) if op == "eq" else and_(present, plain != value)
        bound = _exact_bound(f.kind, op, value)
        if bound is None:  # no stored number equals the value
            return present if op == "ne" else false()
        if bound is _EVERY:
            return present
        op, value = bound
        return _apply(plain, op, value)

    def _compare_text(self, table: Table, f: DocField, op: str, value: str) -> Condition:
        plain = table.c[f.column]
        column = self.column(table, f, ordered=True)
        if "\x00" in value:
            # No column holds NUL (the codec keeps such text in `extra`): compare with the text
            # before it, which orders the same against every NUL-free string.
            head = value.split("\x00", 1)[0]
            if op == "eq" or op == "prefix":
                return false()
            if op == "ne":
                return plain.is_not(None)
            return _apply(column, "lte" if op in ("lt", "lte") else "gt", head)
        if op == "eq":
            return plain == value  # deterministic collations agree on equality: keeps indexes
        if op == "ne":
            return plain != value
        if op == "prefix":
            if not value:
                return plain.is_not(None)
            upper = _after_prefix(value)
            if upper is None:
                return and_(column >= value, func.substr(plain, 1, len(value)) == value)
            return and_(column >= value, column < upper)
        return _apply(column, op, value)

    def order_by(self, table: Table, order: Sequence[SortKey], id_field: DocField) -> list[Any]:
        clauses = []
        for key in order:
            column = self.column(table, key.field, ordered=True)
            clause = column.desc() if key.descending else column.asc()
            if not key.field.required and not self.dialect.nulls_sort_first:
                clause = clause.nulls_last() if key.descending else clause.nulls_first()
            clauses.append(clause)
        clauses.append(self.column(table, id_field, ordered=True).asc())
        return clauses

    def after(
        self,
        table: Table,
        order: Sequence[SortKey],
        id_field: DocField,
        cursor: tuple[tuple[Any, ...], str],
    ) -> Condition:
        """Rows past the cursor in the query's order (nulls first ascending)."""
        values, doc_id = cursor
        alternatives = []
        equal: list[Condition] = []
        for key, value in zip(order, values, strict=True):
            plain = table.c[key.field.column]
            if value is None:
                beyond: Condition = false() if key.descending else plain.is_not(None)
                same: Condition = plain.is_(None)
            else:
                beyond = self.compare(table, key.field, "lt" if key.descending else "gt", value)
                if key.descending:
                    beyond = or_(beyond, plain.is_(None))
                same = self.compare(table, key.field, "eq", value)
            alternatives.append(and_(*equal, beyond))
            equal.append(same)
        alternatives.append(and_(*equal, self.compare(table, id_field, "gt", doc_id)))
        return or_(*alternatives)


_EVERY = object()


def _apply(column: Any, op: str, value: Any) -> Condition:
    operations = {
        "eq": column.__eq__,
        "ne": column.__ne__,
        "lt": column.__lt__,
        "lte": column.__le__,
        "gt": column.__gt__,
        "gte": column.__ge__,
    }
    return operations[op](value)  # type: ignore[no-any-return]


def _exact_bound(kind: str, op: str, value: Any) -> Any:
    """(op, value) a column of `kind` can compare exactly meaning `column op value`; None when
    nothing matches (or, for `ne`, everything present); `_EVERY` when every present value does."""
    if kind == "int":
        if isinstance(value, float):
            if value.is_integer():
                value = int(value)
            elif op in ("eq", "ne"):
                return None
            elif op in ("lt", "lte"):
                return _int_bound("lte", math.floor(value))
            else:
                return _int_bound("gte", math.ceil(value))
        return _int_bound(op, value)
    # float: the column holds doubles (integers the codec could store exactly included)
    if isinstance(value, float):
        return op, value
    if -FLOAT_MAX <= value <= FLOAT_MAX and float(value) == value:
        return op, float(value)
    if op in ("eq", "ne"):
        return None
    if value > FLOAT_MAX:
        return _EVERY if op in ("lt", "lte") else None
    if value < -FLOAT_MAX:
        return _EVERY if op in ("gt", "gte") else None
    nearest = float(value)
    lower = nearest if nearest < value else math.nextafter(nearest, -math.inf)
    upper = nearest if nearest > value else math.nextafter(nearest, math.inf)
    return ("lte", lower) if op in ("lt", "lte") else ("gte", upper)


def _int_bound(op: str, value: int) -> Any:
    if INT64_MIN <= value <= INT64_MAX:
        return op, value
    if op in ("eq", "ne"):
        return None
    below = value < INT64_MIN  # every stored integer is above the value
    return _EVERY if (op in ("gt", "gte")) == below else None


def _after_prefix(prefix: str) -> str | None:
    """The least string after every string that starts with `prefix` (code point order)."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return None
    following = last + 1 if last + 1 != 0xD800 else 0xE000  # no text holds a surrogate
    return prefix[:-1] + chr(following)


# --------------------------------------------------------------------------- running


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
