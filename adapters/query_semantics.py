"""The exact semantics of a query, written once: how a criterion meets a value, how sort values
order (nulls first ascending, ties by id), how a page and its keyset cursor are cut.

The JSON scan applies them to every document; SQL answers must agree with them (the property
tests compare both), and SQL reuses them where it finishes a page in Python.
"""

from __future__ import annotations

import base64
import binascii
import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from migrator.errors import QueryError
from migrator.schemas.declaration import DocField
from migrator.schemas.jsontext import JsonDecodeError, dumps_compact, loads

if TYPE_CHECKING:
    from migrator.adapters.query import Criterion, Query, SortKey


# --------------------------------------------------------------------------- cursors


def encode_cursor(order: Sequence[SortKey], values: Sequence[Any], doc_id: str) -> str:
    """An opaque keyset cursor: the sort values and id of the last item, and the order."""
    payload = {"o": [k.spec for k in order], "v": list(values), "id": doc_id}
    return base64.urlsafe_b64encode(dumps_compact(payload).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: Sequence[SortKey]) -> tuple[tuple[Any, ...], str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = loads(raw)
        spec, values, doc_id = payload["o"], payload["v"], payload["id"]
    except (ValueError, binascii.Error, JsonDecodeError, KeyError, TypeError):
        raise QueryError("is not a cursor this toolkit made", "after") from None
    if spec != [k.spec for k in order]:
        raise QueryError(f"was made for order {spec}, not this query's", "after")
    if not isinstance(doc_id, str) or not isinstance(values, list) or len(values) != len(order):
        raise QueryError("is not a cursor this toolkit made", "after")
    return tuple(values), doc_id


# --------------------------------------------------------------------------- exact semantics


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


#: What `obj.get(key, ABSENT)` gives for a missing key.
ABSENT: Any = _Absent()


def of_kind(f: DocField, value: Any) -> bool:
    """Whether a document's value is comparable as the field's kind (files may hold others)."""
    if f.kind == "str":
        return isinstance(value, str)
    if f.kind in ("int", "float"):
        return type(value) in (int, float)
    if f.kind == "bool":
        return isinstance(value, bool)
    return True


def matches(c: Criterion, obj: Mapping[str, Any]) -> bool:
    """The reference semantics of one criterion on one object."""
    value = obj.get(c.field.key, ABSENT)
    if c.op == "absent":
        return (value is ABSENT) is c.value
    if value is ABSENT:
        return False
    if c.op == "null":
        return (value is None) is c.value
    if value is None or not of_kind(c.field, value):
        return False
    target = c.value
    if c.op == "eq":
        return bool(value == target)
    if c.op == "ne":
        return bool(value != target)
    if c.op == "in":
        return any(value == item for item in target)
    if c.op == "prefix":
        return bool(value.startswith(target))
    if c.op == "lt":
        return bool(value < target)
    if c.op == "lte":
        return bool(value <= target)
    if c.op == "gt":
        return bool(value > target)
    return bool(value >= target)


def sort_values(order: Sequence[SortKey], obj: Mapping[str, Any]) -> tuple[Any, ...]:
    """The object's values for each sort key (None for null, absent or of another kind)."""
    values = []
    for key in order:
        value = obj.get(key.field.key)
        values.append(value if value is not None and of_kind(key.field, value) else None)
    return tuple(values)


class SortPosition:
    """A total order over (sort values, id) as the query's order reads it."""

    __slots__ = ("descending", "doc_id", "values")

    def __init__(self, order: Sequence[SortKey], values: Sequence[Any], doc_id: str) -> None:
        self.descending = tuple(k.descending for k in order)
        self.values = tuple(values)
        self.doc_id = doc_id

    def __lt__(self, other: SortPosition) -> bool:
        for mine, theirs, desc in zip(self.values, other.values, self.descending, strict=True):
            if mine == theirs or (mine is None and theirs is None):
                continue
            if mine is None or theirs is None:
                return (mine is None) != desc  # null first ascending
            return bool(mine < theirs) != desc
        return self.doc_id < other.doc_id


def page_of(
    query: Query,
    ranked: Sequence[tuple[SortPosition, Any]],
) -> tuple[builtins.list[Any], str | None]:
    """The page of items from `ranked` (in order, past the cursor already): offset and limit
    applied, and the cursor after the last item when more may follow."""
    window = ranked[query.offset :]
    if query.limit is not None and len(window) > query.limit:
        window = window[: query.limit]
        last = window[-1][0] if window else None
    else:
        last = None
    cursor = None
    if last is not None:
        cursor = encode_cursor(query.order, last.values, last.doc_id)
    return [item for _, item in window], cursor
