"""Criteria compiled to parameterized SQLAlchemy Core conditions and sort clauses, exact.

Only the operators of `migrator.adapters.query` become SQL (an allow-list, checked against the
schema already), over the typed columns the schema declares, so the declared indexes answer.
Strings compare in code point order (SQLite's BINARY; `COLLATE "C"` on PostgreSQL for ranges,
prefixes and sorting); a float bound on an integer column and an integer bound a double cannot
hold become the equivalent exact bound; nulls sort first ascending on both databases; ties are
broken by id. Rows whose `extra` holds a typed field's value are *suspects* (see
`migrator.adapters.sql_query`), found here and decided in Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    false,
    func,
    literal_column,
    or_,
    true,
)

from migrator.adapters.dialects import Dialect
from migrator.adapters.query import Criterion, SortKey
from migrator.schemas.declaration import EXTRA_COLUMN, DocField
from migrator.schemas.jsontext import dumps_compact

Condition = ColumnElement[bool]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT_MAX = 1.7976931348623157e308
#: The marker of a row whose `extra` holds values of typed fields (see `migrator.schemas.codec`).
KEYS_MARK = '"keys":'


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
