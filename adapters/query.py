"""The query model every store answers: typed criteria, sort keys, a page and its cursor.

An application writes one call, whatever the phase::

    page = store.find(
        where={"status": "failed", "created_at__gte": "2025-01-01"},
        has={"instances": {"status": "failed"}},
        order=["-created_at"],
        limit=100,
    )
    for summary in page: ...
    more = store.find(..., after=page.cursor)

`where` reads like Django's `filter()` (`key` or `key__op`), over the schema's declared fields
of the root table; `has` asks for at least one item of a child list matching all its criteria
(an EXISTS). `build_query` checks every name, operator and value against the schema once, so
a JSON scan (`migrator.adapters.json_query`) and compiled SQL (`migrator.adapters.sql_query`)
never see a bad criterion, and a mistake is one `QueryError` naming the field. The exact
semantics below are written once, in `migrator.adapters.query_semantics`.

Semantics, the same on every store (the JSON scan is the reference):
- a comparison (`eq`, `ne`, `in`, `lt`, `lte`, `gt`, `gte`, `prefix`) matches only a present,
  non-null value; ints and floats compare as numbers, strings in code point order;
- `null=True` matches a present null, `null=False` a present non-null value; `absent=True` a
  missing key, `absent=False` a present one (null or not);
- sorting puts null and absent values first ascending, last descending; ties are broken by id
  (ascending), so every order is total and a keyset cursor is exact.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Unpack, cast, get_args, overload

from migrator.adapters.query_semantics import decode_cursor
from migrator.errors import QueryError
from migrator.schemas.declaration import ChildList, DocField, Schema, TableMapping

Op = Literal["eq", "ne", "in", "lt", "lte", "gt", "gte", "prefix", "null", "absent"]
Returning = Literal["summaries", "documents", "ids"]
OPS: tuple[str, ...] = get_args(Op)
_RANGE_OPS = frozenset({"lt", "lte", "gt", "gte"})
_FLAG_OPS = frozenset({"null", "absent"})


@dataclass(frozen=True)
class Criterion:
    """One test of one field: `field op value`."""

    field: DocField
    op: Op
    value: Any


@dataclass(frozen=True)
class ChildCriteria:
    """At least one item of the child list `child` meets every criterion."""

    child: ChildList
    mapping: TableMapping
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class SortKey:
    field: DocField
    descending: bool = False

    @property
    def spec(self) -> str:
        return ("-" if self.descending else "") + self.field.key


@dataclass(frozen=True)
class Query:
    """A checked query over one schema (build it with `build_query`)."""

    schema: Schema
    where: tuple[Criterion, ...] = ()
    has: tuple[ChildCriteria, ...] = ()
    partition: str | None = None
    order: tuple[SortKey, ...] = ()
    limit: int | None = None
    offset: int = 0
    #: The sort values and id of the last item of the previous page (from its cursor).
    after: tuple[tuple[Any, ...], str] | None = None
    returning: Returning = "summaries"


@dataclass(frozen=True)
class Page(Sequence[Any]):
    """One page of answers, in order; `cursor` continues after it (None: no more)."""

    items: builtins.list[Any]
    cursor: str | None = None

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)


class Findable:
    """`find` once for every store: it checks the call and hands a `Query` to `run_query`."""

    schema: Schema

    def run_query(self, query: Query) -> Page:
        raise NotImplementedError

    def find(self, where: Mapping[str, Any] | None = None, **options: Unpack[FindOptions]) -> Page:
        """The documents meeting `where` and `has`, sorted by `order` (`-key`: descending;
        ties by id), at most `limit` after skipping `offset` or continuing after the cursor
        `after`: summaries (the root document without its child lists), whole documents, or
        ids. See `migrator.adapters.query` for the operators."""
        return self.run_query(build_query(self.schema, where, **options))


class FindOptions(TypedDict, total=False):
    """`find`'s keyword arguments beside `where` (defaults: `build_query`'s)."""

    has: Mapping[str, Mapping[str, Any]] | None
    partition: str | None
    order: Sequence[str]
    limit: int | None
    offset: int
    after: str | None
    returning: Returning


def build_query(
    schema: Schema,
    where: Mapping[str, Any] | None = None,
    *,
    has: Mapping[str, Mapping[str, Any]] | None = None,
    partition: str | None = None,
    order: Sequence[str] = (),
    limit: int | None = None,
    offset: int = 0,
    after: str | None = None,
    returning: str = "summaries",
) -> Query:
    """A `Query`, or `QueryError` naming the first field, operator or value that is wrong."""
    root = schema.root_mapping
    criteria = _criteria(root, where or {}, prefix="", children=schema.children)
    has_criteria = []
    children = {c.key: (c, m) for c, m in zip(schema.children, schema.child_mappings, strict=True)}
    for key, sub in (has or {}).items():
        if key not in children:
            known = ", ".join(children) or "none"
            raise QueryError(f"is not a child list of {schema.name!r} (child lists: {known})", key)
        if not isinstance(sub, Mapping):
            raise QueryError("expected a mapping of criteria for the child items", key)
        child, mapping = children[key]
        has_criteria.append(
            ChildCriteria(child, mapping, _criteria(mapping, sub, prefix=key + ".", children=()))
        )
    sort = tuple(_sort_key(schema, spec) for spec in order)
    if returning not in get_args(Returning):
        raise QueryError("must be summaries, documents or ids", "returning")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise QueryError(f"expected a whole number >= 0, got {limit!r}", "limit")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise QueryError(f"expected a whole number >= 0, got {offset!r}", "offset")
    if partition is not None and not isinstance(partition, str):
        raise QueryError(f"expected a partition name, got {partition!r}", "partition")
    return Query(
        schema=schema,
        where=criteria,
        has=tuple(has_criteria),
        partition=partition,
        order=sort,
        limit=limit,
        offset=offset,
        after=None if after is None else decode_cursor(after, sort),
        returning=cast(Returning, returning),
    )


def _criteria(
    mapping: TableMapping,
    where: Mapping[str, Any],
    *,
    prefix: str,
    children: Sequence[ChildList],
) -> tuple[Criterion, ...]:
    fields = {f.key: f for f in mapping.fields}
    child_keys = {c.key for c in children}
    found = []
    for name, value in where.items():
        if not isinstance(name, str):
            raise QueryError("a criterion's name must be a string", repr(name))
        key, _, op = name.partition("__")
        op = op or "eq"
        if key in child_keys:
            raise QueryError(f"is a child list: ask with has={{{key!r}: {{...}}}}", key)
        if key not in fields:
            raise QueryError(f"unknown field (known: {', '.join(sorted(fields))})", prefix + key)
        if op not in OPS:
            raise QueryError(f"unknown operator {op!r} (operators: {', '.join(OPS)})", prefix + key)
        found.append(_criterion(fields[key], cast(Op, op), value, prefix + key))
    return tuple(found)


def _criterion(f: DocField, op: Op, value: Any, name: str) -> Criterion:
    if op in _FLAG_OPS:
        if not isinstance(value, bool):
            raise QueryError(f"__{op} takes True or False, got {value!r}", name)
        return Criterion(f, op, value)
    if op == "eq" and value is None:
        return Criterion(f, "null", True)
    if f.kind == "json":
        raise QueryError("a JSON column can only be asked __null or __absent", name)
    if op in _RANGE_OPS and f.kind == "bool":
        raise QueryError(f"__{op}: true/false values have no order", name)
    if op == "prefix" and f.kind != "str":
        raise QueryError("__prefix needs a text field", name)
    if op == "in":
        if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
            raise QueryError(f"__in takes a list of values, got {value!r}", name)
        return Criterion(f, op, tuple(_checked_value(f, item, name) for item in value))
    return Criterion(f, op, _checked_value(f, value, name))


def _checked_value(f: DocField, value: Any, name: str) -> Any:
    """The value, when its type can be compared with the field's kind."""
    if f.kind == "str" and isinstance(value, str):
        return value
    if f.kind in ("int", "float") and type(value) in (int, float):
        if isinstance(value, float) and not math.isfinite(value):
            raise QueryError(f"{value!r} is not a finite number", name)
        return value
    if f.kind == "bool" and isinstance(value, bool):
        return value
    wanted = {"str": "a string", "int": "a number", "float": "a number", "bool": "True or False"}
    raise QueryError(f"expected {wanted[f.kind]}, got {type(value).__name__} {value!r}", name)


def _sort_key(schema: Schema, spec: str) -> SortKey:
    if not isinstance(spec, str) or not spec.lstrip("-"):
        raise QueryError(f"expected a field name, optionally after '-', got {spec!r}", "order")
    key = spec.lstrip("-")
    fields = {f.key: f for f in schema.root_mapping.fields}
    if key not in fields:
        raise QueryError(f"unknown field in order (known: {', '.join(sorted(fields))})", key)
    if fields[key].kind == "json":
        raise QueryError("a JSON column cannot be sorted on", key)
    return SortKey(fields[key], spec.startswith("-"))


def describe(query: Query) -> str:
    """A short text naming the query, for logs and shadow-read records."""
    parts = [f"{c.field.key}__{c.op}={c.value!r}" for c in query.where]
    for h in query.has:
        parts += [f"{h.child.key}.{c.field.key}__{c.op}={c.value!r}" for c in h.criteria]
    if query.partition is not None:
        parts.append(f"partition={query.partition!r}")
    if query.order:
        parts.append("order=" + ",".join(k.spec for k in query.order))
    if query.limit is not None:
        parts.append(f"limit={query.limit}")
    if query.offset:
        parts.append(f"offset={query.offset}")
    text = "find(" + ", ".join(parts) + ")"
    return text if len(text) <= 200 else text[:197] + "..."
