"""`validate` and `to_rows` in one pass, compiled once per schema: the importer's hot loop.

`codec.validate` then `codec.to_rows` walk every document twice, calling a small function per
field and per JSON value; on a store of big documents that is most of an import. A
`RowEncoder` looks at each object's key layout once (the tuple of its keys: a handful of
layouts cover a store) and keeps per layout what the codec recomputes per object: which fields
are present, which absent (and their placeholders), which keys are unknown, whether the key
order is the usual one. Each present value then costs one type check and, for a few kinds, a
range or choices check.

The pass never decides anything the codec would decide differently: whatever it is not sure of
(a value a typed column cannot hold exactly, a wrong type, a null in a required field, a
repeated unique value, a malformed child list) sends the whole document to `codec.validate` and
`codec.to_rows`, which raise the same `DocumentError` or build the same rows. The JSON-value
checks (lone surrogates, non-text keys, depth) are skipped only when the caller vouches for them
(`json_checked`: the records came from `jsontext.loads_checked`, which saw orjson write them
back).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from migrator.schemas.codec import (
    INT64_MAX,
    INT64_MIN,
    DocumentRows,
    placeholder,
    to_rows,
    usual_order,
    validate,
)
from migrator.schemas.declaration import (
    EXTRA_COLUMN,
    POSITION_COLUMN,
    DocField,
    Schema,
    TableMapping,
)

_STR, _INT, _FLOAT, _BOOL, _JSON = range(5)
_KINDS = {"str": _STR, "int": _INT, "float": _FLOAT, "bool": _BOOL, "json": _JSON}


class _Unsure(Exception):
    """The fast pass cannot decide: the codec does."""


#: A field the object lacks (its plan entry's key).
_MISSING = ""


@dataclass(frozen=True)
class _Layout:
    """What one tuple of keys means for one mapping (computed once per distinct tuple)."""

    #: Per field, in field order: (column, key or `_MISSING`, kind, required, choices,
    #: placeholder when missing).
    plan: tuple[tuple[str, str, int, bool, frozenset[str] | None, Any], ...]
    absent: tuple[str, ...]
    unknown: tuple[str, ...]
    #: The object's key order when it is not the usual one (what `extra` records), else None.
    order: tuple[str, ...] | None
    #: It lacks a required field: the codec names it.
    lacks_required: bool


class _Table:
    """One mapping's compiled layouts."""

    def __init__(
        self, mapping: TableMapping, usual: tuple[str, ...] | None, skip: frozenset[str]
    ) -> None:
        self.mapping = mapping
        self.usual = usual if usual is not None else tuple(f.key for f in mapping.fields)
        self.skip = skip
        self.unique = tuple(f.key for f in mapping.fields if f.unique_in_list)
        self.layouts: dict[tuple[str, ...], _Layout] = {}

    def layout(self, keys: tuple[str, ...]) -> _Layout:
        found = self.layouts.get(keys)
        if found is None:
            found = self.layouts[keys] = self._compile(keys)
        return found

    def _compile(self, keys: tuple[str, ...]) -> _Layout:
        have = set(keys)
        fields = self.mapping.fields
        plan = tuple(
            (
                f.column,
                f.key if f.key in have else _MISSING,
                _KINDS[f.kind],
                f.required,
                _choices(f),
                placeholder(f),
            )
            for f in fields
        )
        absent = tuple(f.key for f in fields if f.key not in have)
        known = self.mapping.keys
        unknown = tuple(k for k in keys if k not in known and k not in self.skip)
        listed = set(self.usual)
        expected = [k for k in self.usual if k in have] + [k for k in unknown if k not in listed]
        order = None if list(keys) == expected else keys
        lacks = any(f.required and f.key not in have for f in fields)
        return _Layout(plan, absent, unknown, order, lacks)


def _choices(f: DocField) -> frozenset[str] | None:
    return frozenset(f.choices) if f.choices is not None else None


class RowEncoder:
    """`encode(doc, partition, position)` is `validate(schema, doc)` then `to_rows(...)`."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        child_keys = frozenset(child.key for child in schema.children)
        self._root = _Table(schema.root_mapping, usual_order(schema), child_keys)
        self._children = tuple(
            (child, _Table(mapping, None, frozenset()))
            for child, mapping in zip(schema.children, schema.child_mappings, strict=True)
        )

    def encode(
        self, doc: Any, partition: str, position: int, *, json_checked: bool = False
    ) -> DocumentRows:
        """The rows of `doc`, or the `DocumentError` `codec.validate` raises for it."""
        if json_checked and type(doc) is dict:
            try:
                return self._fast(doc, partition, position)
            except _Unsure:
                pass
        validate(self.schema, doc)
        return to_rows(self.schema, partition, doc, position)

    def root_row(self, doc: Any, *, json_checked: bool) -> dict[str, Any] | None:
        """The root row (without its partition) `encode` builds for `doc`, or None when the fast
        pass is unsure (then the caller compares another way)."""
        if not json_checked or type(doc) is not dict:
            return None
        doc_id = doc.get(self.schema.id_key)
        if type(doc_id) is not str or not doc_id:
            return None
        absent_lists = [child.key for child, _ in self._children if child.key not in doc]
        if any(child.required and child.key not in doc for child, _ in self._children):
            return None
        try:
            return _row(self._root, doc, 0, absent_lists)
        except _Unsure:
            return None

    def child_row(self, index: int, item: Any, *, json_checked: bool) -> dict[str, Any] | None:
        """The row `encode` builds for `item` in the schema's `index`th child list (without its
        parent link), or None when the fast pass is unsure."""
        if not json_checked or type(item) is not dict:
            return None
        try:
            return _row(self._children[index][1], item, 0)
        except _Unsure:
            return None

    def _fast(self, doc: dict[str, Any], partition: str, position: int) -> DocumentRows:
        schema = self.schema
        doc_id = doc.get(schema.id_key)
        if type(doc_id) is not str or not doc_id:
            raise _Unsure
        absent_lists = [child.key for child, _ in self._children if child.key not in doc]
        root = _row(self._root, doc, position, absent_lists)
        root[schema.partition_column] = partition
        rows = DocumentRows(doc_id=doc_id, root=root)
        for child, table in self._children:
            items = doc.get(child.key, _NONE)
            if items is _NONE:
                if child.required:
                    raise _Unsure
                rows.children[table.mapping.name] = []
                continue
            if type(items) is not list:
                raise _Unsure
            encoded = []
            seen: set[tuple[str, Any]] | None = set() if table.unique else None
            for index, item in enumerate(items):
                if type(item) is not dict:
                    raise _Unsure
                if seen is not None:
                    _check_unique(table.unique, item, seen)
                row = _row(table, item, index)
                row[child.parent_column] = doc_id
                encoded.append(row)
            rows.children[table.mapping.name] = encoded
        return rows


_NONE = object()


def _check_unique(
    unique: tuple[str, ...], item: Mapping[str, Any], seen: set[tuple[str, Any]]
) -> None:
    for key in unique:
        if key in item:
            value = item[key]
            if type(value) not in (str, int):
                raise _Unsure  # the codec names the fault
            marker = (key, value)
            if marker in seen:
                raise _Unsure
            seen.add(marker)


def _row(
    table: _Table, obj: dict[str, Any], position: int, absent_lists: list[str] | None = None
) -> dict[str, Any]:
    """One object's row, as `codec.to_rows` builds it (with `absent_lists`, the root's child
    lists the document lacks), or `_Unsure`."""
    layout = table.layout(tuple(obj))
    if layout.lacks_required:
        raise _Unsure
    row: dict[str, Any] = {POSITION_COLUMN: position}
    for column, key, kind, required, choices, missing in layout.plan:
        if key is _MISSING:
            row[column] = missing
            continue
        value = obj[key]
        if value is None:
            if required:
                raise _Unsure
        elif kind == _STR:
            if type(value) is not str or "\x00" in value:
                raise _Unsure
            if choices is not None and value not in choices:
                raise _Unsure
        elif kind == _INT:
            if type(value) is not int or not INT64_MIN <= value <= INT64_MAX:
                raise _Unsure
        elif kind == _BOOL:
            if type(value) is not bool:
                raise _Unsure
        elif kind == _FLOAT:
            # An integer (kept in `ints`) or -0.0 (kept in `keys`): the codec decides.
            if type(value) is not float or (value == 0.0 and math.copysign(1.0, value) < 0):
                raise _Unsure
        else:
            value = _dumps(value)
        row[column] = value
    # `extra` in the codec's member order: keys, ints (never here), absent, order, and the
    # root's absent child lists added to `absent` (appended last when there was none).
    extra: dict[str, Any] = {}
    if layout.unknown:
        extra["keys"] = {key: obj[key] for key in layout.unknown}
    if layout.absent:
        extra["absent"] = list(layout.absent)
    if layout.order is not None:
        extra["order"] = list(layout.order)
    if absent_lists:
        extra.setdefault("absent", []).extend(absent_lists)
    row[EXTRA_COLUMN] = _dumps(extra) if extra else None
    return row


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        raise _Unsure from None


#: id(schema) -> (schema, its encoder): layouts learnt on one file serve the next.
_ENCODERS: dict[int, tuple[Schema, RowEncoder]] = {}


def encoder_for(schema: Schema) -> RowEncoder:
    """The schema's encoder, made once per process."""
    known = _ENCODERS.get(id(schema))
    if known is None or known[0] is not schema:
        known = _ENCODERS[id(schema)] = (schema, RowEncoder(schema))
    return known[1]
