"""The lossless mapping between documents and rows, as pure functions.

A known key goes to its typed column only when the value survives the trip exactly. Everything
else travels in the row's `extra` column, a JSON object with up to three members:

- `keys`: values that are not in typed columns (unknown keys, integers beyond 64 bits, text
  holding NUL, which no PostgreSQL text column can hold, -0.0, an integer a float column cannot
  hold exactly); the typed column still shows a number equal to the value when it can (0.0 for
  -0.0), and NULL (or, when required, a placeholder) otherwise;
- `ints`: keys whose value is an integer that their float column holds exactly (7 as 7.0): SQL
  readers see the number, and the document gets its integer back;
- `absent`: known keys the document does not have (absent is not the same as null);
- `order`: the document's key order, only when it is not the schema's usual order.

A row of a document that the schema describes exactly has `extra` NULL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from migrator.errors import DocumentError
from migrator.schemas.columns import (
    DOES_NOT_FIT,
    equal_float,
    fill_value,
    stored_value,
)

# What a typed column holds lives in `migrator.schemas.columns`, rows -> documents in
# `migrator.schemas.decoding`; these names stay importable from here.
from migrator.schemas.columns import FLOAT_MAX as FLOAT_MAX
from migrator.schemas.columns import INT64_MAX as INT64_MAX
from migrator.schemas.columns import INT64_MIN as INT64_MIN
from migrator.schemas.columns import column_holds as column_holds
from migrator.schemas.columns import column_value as column_value
from migrator.schemas.columns import placeholder as placeholder
from migrator.schemas.declaration import (
    EXTRA_COLUMN,
    POSITION_COLUMN,
    DocField,
    Schema,
    TableMapping,
)
from migrator.schemas.decoding import _decode_extra
from migrator.schemas.decoding import decode_item as decode_item
from migrator.schemas.decoding import from_rows as from_rows
from migrator.schemas.decoding import summary_from_row as summary_from_row
from migrator.schemas.decoding import usual_order as usual_order
from migrator.schemas.decoding import value_of_column as value_of_column
from migrator.schemas.jsontext import dumps_compact, dumps_sorted

Document = dict[str, Any]

#: The deepest nesting a document may have (the document itself is level 1). Deeper values
#: would exhaust Python's stack in the checks below, the standard library's encoder and
#: DeepDiff; orjson reads at most 1024 levels anyway.
MAX_DEPTH = 640


@dataclass
class DocumentRows:
    """The rows one document becomes: its root row and, per child table, its rows in order."""

    doc_id: str
    root: dict[str, Any]
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


# --------------------------------------------------------------------------- validation


def validate(schema: Schema, doc: Any) -> None:
    """Raise `DocumentError` naming the field when `doc` is not a document of `schema`."""
    if not isinstance(doc, dict):
        raise DocumentError(f"expected a JSON object, got {_json_type(doc)}")
    doc_id = doc.get(schema.id_key)
    if not isinstance(doc_id, str) or not doc_id:
        reason = "missing" if doc_id is None else f"expected a non-empty string, got {doc_id!r}"
        raise DocumentError(reason, field=schema.id_key, doc_id=doc_id)
    try:
        _check_object(schema.root_mapping, doc, path="")
        for child, mapping in zip(schema.children, schema.child_mappings, strict=True):
            items = doc.get(child.key)
            if child.key not in doc:
                if child.required:
                    raise DocumentError("missing", field=child.key)
                continue
            if not isinstance(items, list):
                raise DocumentError(f"expected a list, got {_json_type(items)}", field=child.key)
            seen: dict[tuple[str, Any], int] = {}
            for index, item in enumerate(items):
                path = f"{child.key}[{index}]"
                if not isinstance(item, dict):
                    raise DocumentError(f"expected an object, got {_json_type(item)}", field=path)
                _check_object(mapping, item, path=path + ".")
                for f in mapping.fields:
                    if f.unique_in_list and f.key in item:
                        marker = (f.key, _hashable(item[f.key]))
                        if marker in seen:
                            raise DocumentError(
                                f"duplicate {f.key} {item[f.key]!r} (also at "
                                f"{child.key}[{seen[marker]}])",
                                field=f"{path}.{f.key}",
                            )
                        seen[marker] = index
        _check_json_values(doc, path="")
    except DocumentError as exc:
        raise DocumentError(exc.reason, field=exc.field, doc_id=doc_id) from None


def _check_object(mapping: TableMapping, obj: Mapping[str, Any], *, path: str) -> None:
    for f in mapping.fields:
        if f.key not in obj or obj[f.key] is None:
            if f.required:
                reason = "missing" if f.key not in obj else "must not be null"
                raise DocumentError(reason, field=path + f.key)
            continue
        value = obj[f.key]
        if not _is_kind(value, f):
            raise DocumentError(
                f"expected {_kind_name(f)}, got {_json_type(value)} {_short(value)}",
                field=path + f.key,
            )
        if f.choices is not None and value not in f.choices:
            allowed = ", ".join(f.choices)
            raise DocumentError(f"{_short(value)} is not one of: {allowed}", field=path + f.key)
        if f.unique_in_list and stored_value(f, value) is DOES_NOT_FIT:
            # A key can't keep its value aside in `extra`: the placeholder (NUL stripped, int
            # clamped) would collide with another key, or not be found by a lookup.
            raise DocumentError(
                f"{_short(value)} cannot be stored exactly in key or unique column {f.column!r}",
                field=path + f.key,
            )


def _check_json_values(value: Any, *, path: str, depth: int = 1) -> None:
    """Reject what JSON cannot hold: non-finite numbers, non-text keys, foreign types, and
    nesting deeper than `MAX_DEPTH`."""
    if depth > MAX_DEPTH:
        where = path if len(path) <= 60 else path[:60] + "..."
        raise DocumentError(f"nested deeper than {MAX_DEPTH} levels", field=where or None)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DocumentError(f"object key {key!r} is not a string", field=path or None)
            if not _is_unicode(key):
                raise DocumentError(_not_json(key), field=path or None)
            if isinstance(item, dict | list):
                _check_json_values(item, path=f"{path}.{key}" if path else key, depth=depth + 1)
            elif not _is_json_scalar(item):
                raise DocumentError(_not_json(item), field=f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                _check_json_values(item, path=f"{path}[{index}]", depth=depth + 1)
            elif not _is_json_scalar(item):
                raise DocumentError(_not_json(item), field=f"{path}[{index}]")


def _is_json_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return _is_unicode(value)
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return _fits_json_text(value)
    return isinstance(value, float) and math.isfinite(value)


#: Python turns integers into text up to this many digits (`sys.get_int_max_str_digits`):
#: a longer one could never be written to a file, nor read back from one.
MAX_INT_DIGITS = 4300


def _fits_json_text(value: int) -> bool:
    bits = value.bit_length()
    if bits <= 14284:  # below 2**14284 < 10**4300
        return True
    return bits <= 14285 and abs(value) < 10**MAX_INT_DIGITS


def _is_unicode(text: str) -> bool:
    """False for text with a lone surrogate: no UTF-8 file or database can store it."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_json(value: Any) -> str:
    if isinstance(value, float):
        return f"{value!r} is not a finite number; JSON cannot hold it"
    if isinstance(value, str):
        return f"text {_short(value)} holds a lone surrogate, which is not Unicode"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"an integer of more than {MAX_INT_DIGITS} digits; JSON text cannot hold it"
    return f"a {type(value).__name__} is not a JSON value"


def _is_kind(value: Any, f: DocField) -> bool:
    if f.kind == "str":
        return isinstance(value, str)
    if f.kind == "int":
        return type(value) is int
    if f.kind == "float":
        return type(value) in (int, float)
    if f.kind == "bool":
        return type(value) is bool
    return True  # json: any JSON value


def _kind_name(f: DocField) -> str:
    return {
        "str": "a string",
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "json": "a JSON value",
    }[f.kind]


#: JSON's name for each Python type a parsed document holds; bool before int (a bool is an int).
_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "list"),
    (dict, "object"),
)


def _json_type(value: Any) -> str:
    return next(
        (name for kind, name in _JSON_TYPES if isinstance(value, kind)), type(value).__name__
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


# --------------------------------------------------------------------------- document -> rows


def to_rows(schema: Schema, partition: str, doc: Document, position: int = 0) -> DocumentRows:
    """The rows of a valid document (call `validate` first: this trusts the kinds)."""
    doc_id = doc[schema.id_key]
    child_keys = {child.key for child in schema.children}
    root = _encode_object(
        schema.root_mapping,
        doc,
        position=position,
        skip=child_keys,
        usual_order=usual_order(schema),
    )
    root[schema.partition_column] = partition
    absent = [c.key for c in schema.children if c.key not in doc]
    if absent:
        extra = _decode_extra(root[EXTRA_COLUMN])
        extra.setdefault("absent", []).extend(absent)
        root[EXTRA_COLUMN] = dumps_compact(extra)
    rows = DocumentRows(doc_id=doc_id, root=root)
    for child, mapping in zip(schema.children, schema.child_mappings, strict=True):
        items = doc.get(child.key)
        encoded = []
        if isinstance(items, list):
            for index, item in enumerate(items):
                row = _encode_object(mapping, item, position=index, skip=(), usual_order=None)
                row[child.parent_column] = doc_id
                if child.surrogate_key:
                    row.pop(child.surrogate_key, None)
                encoded.append(row)
        rows.children[mapping.name] = encoded
    return rows


def _encode_object(
    mapping: TableMapping,
    obj: Mapping[str, Any],
    *,
    position: int,
    skip: Iterable[str],
    usual_order: Sequence[str] | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {POSITION_COLUMN: position}
    keys: dict[str, Any] = {}
    absent: list[str] = []
    ints: list[str] = []
    for f in mapping.fields:
        if f.key not in obj:
            row[f.column] = fill_value(f, None)
            absent.append(f.key)
            continue
        value = obj[f.key]
        stored = stored_value(f, value)
        if stored is DOES_NOT_FIT:
            shown = equal_float(f, value)
            row[f.column] = fill_value(f, value) if shown is None else shown
            if shown is not None and type(value) is int:
                ints.append(f.key)
            else:
                keys[f.key] = value
        else:
            row[f.column] = stored
    known = mapping.keys
    skipped = set(skip)
    for key, value in obj.items():
        if key not in known and key not in skipped:
            keys[key] = value
    extra: dict[str, Any] = {}
    if keys:
        extra["keys"] = keys
    if ints:
        extra["ints"] = ints
    if absent:
        extra["absent"] = absent
    order = list(obj)
    if order != _expected_order(obj, known, keys, usual_order, mapping):
        extra["order"] = order
    row[EXTRA_COLUMN] = dumps_compact(extra) if extra else None
    return row


def _expected_order(
    obj: Mapping[str, Any],
    known: frozenset[str],
    keys: Mapping[str, Any],
    usual_order: Sequence[str] | None,
    mapping: TableMapping,
) -> list[str]:
    usual = usual_order if usual_order is not None else [f.key for f in mapping.fields]
    listed = set(usual)
    ordered = [key for key in usual if key in obj]
    ordered += [key for key in keys if key not in listed]
    return ordered


# --------------------------------------------------------------------------- canonical form


def canonical_bytes(doc: Any) -> bytes:
    """The bytes two equal documents share whatever their key order: what validation hashes."""
    return dumps_sorted(doc)


# --------------------------------------------------------------------------- for revisions
# Schema revisions move values between typed columns and `extra` (`migrator.schemas.relayout`,
# `migrator.schema_migrations.moves`); they must encode exactly as `to_rows` does.


def check_item(mapping: TableMapping, item: Any, *, path: str) -> None:
    """Raise `DocumentError` when `item` is not an object `mapping`'s rows can hold."""
    if not isinstance(item, dict):
        raise DocumentError(f"expected an object, got {_json_type(item)}", field=path)
    _check_object(mapping, item, path=path + ".")
    _check_json_values(item, path=path)


def encode_item(mapping: TableMapping, item: Mapping[str, Any], position: int) -> dict[str, Any]:
    """One object of a child list as its row, without the parent link (checked first)."""
    return _encode_object(mapping, item, position=position, skip=(), usual_order=None)
