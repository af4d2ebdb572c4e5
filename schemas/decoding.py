"""Rows back to documents, as pure functions: the inverse of `migrator.schemas.codec.to_rows`
(whose module docstring says what a row's `extra` holds).

Two forms: `from_rows` reads rows as mappings (column name -> value), for callers holding
`DocumentRows`; `DocumentDecoder`, built once per schema, reads rows as plain tuples in the
column order it names, which is what a DBAPI cursor returns: no Row mapping, no dict per row
before the document's own, and the work a row needs decided once per table, not per row.
Both give the same document and raise `CorruptRowError` for an `extra` `to_rows` never wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from migrator.errors import CorruptRowError
from migrator.schemas.declaration import EXTRA_COLUMN, DocField, Schema, TableMapping
from migrator.schemas.jsontext import JsonEncodeError, dumps_compact, loads, loads_written

Document = dict[str, Any]
#: What a corrupt row's decoding raises before it is named a `CorruptRowError`.
_DAMAGE = (ValueError, TypeError, KeyError, AttributeError)


def usual_order(schema: Schema) -> tuple[str, ...]:
    """The root's usual key order: the declared `key_order`, or its fields then child lists."""
    if schema.key_order:
        return schema.key_order
    return (*(f.key for f in schema.root_mapping.fields), *(c.key for c in schema.children))


def from_rows(
    schema: Schema,
    root: Mapping[Any, Any],
    children: Mapping[str, Sequence[Mapping[Any, Any]]],
) -> Document:
    """The document stored as `root` and its child rows (each list in position order);
    `CorruptRowError` when a row's `extra` is not what `to_rows` wrote."""
    try:
        return _assemble(
            schema,
            root,
            lambda mapping: [_decode_child(mapping, row) for row in children.get(mapping.name, ())],
        )
    except _DAMAGE as exc:
        doc_id = root.get(schema.id_column) if isinstance(root, Mapping) else None
        raise _corrupt(schema, doc_id, exc) from exc


def unencodable(schema: Schema, docs: Sequence[Document], exc: Exception) -> CorruptRowError:
    """The error for documents read back that JSON cannot encode (`exc`): a hand edit put a
    BLOB into a TEXT column, which SQLite keeps. It names the first such document."""
    for doc in docs:
        try:
            dumps_compact(doc)
        except JsonEncodeError:
            return _corrupt(schema, doc.get(schema.id_key), exc)
    return _corrupt(schema, None, exc)


def _corrupt(schema: Schema, doc_id: Any, exc: Exception) -> CorruptRowError:
    reason = str(exc) if len(str(exc)) <= 120 else str(exc)[:117] + "..."
    return CorruptRowError(schema.root_table.name, doc_id, reason)


def _assemble(
    schema: Schema,
    root: Mapping[Any, Any],
    child_list: Callable[[TableMapping], list[Document]],
) -> Document:
    """The document of a root row whose child lists `child_list` gives (decoded only for the
    lists the document has)."""
    extra = _decode_extra(root[EXTRA_COLUMN])
    absent = set(extra.get("absent", ()))
    stored_keys: dict[str, Any] = extra.get("keys", {})
    values = _decode_fields(schema.root_mapping, root, absent, stored_keys, extra.get("ints"))
    for child, mapping in zip(schema.children, schema.child_mappings, strict=True):
        if child.key in absent:
            continue
        values[child.key] = child_list(mapping)
    for key, value in stored_keys.items():
        values.setdefault(key, value)
    return _ordered(values, extra.get("order"), usual_order(schema), stored_keys)


def summary_from_row(schema: Schema, root: Mapping[Any, Any]) -> Document:
    """The document without its child lists, from its root row alone: exactly `from_rows`'s
    document minus the child keys, without building child lists (a listing reads many)."""
    text = root[EXTRA_COLUMN]
    extra = _decode_extra(text) if text else _NO_KEYS
    if "keys" in extra or "order" in extra:
        child_keys = {child.key for child in schema.children}
        doc = from_rows(schema, root, {})
        return {key: value for key, value in doc.items() if key not in child_keys}
    absent = extra.get("absent", _NOTHING)
    values = _decode_fields(schema.root_mapping, root, absent, _NO_KEYS, extra.get("ints"))
    order = _SUMMARY_ORDERS.get(id(schema))
    if order is None:
        fields = schema.root_mapping.keys
        order = _SUMMARY_ORDERS[id(schema)] = tuple(k for k in usual_order(schema) if k in fields)
    return {key: values[key] for key in order if key in values}


#: id(schema) -> its root fields in the usual key order (what a summary without `extra`'s
#: "order" follows).
_SUMMARY_ORDERS: dict[int, tuple[str, ...]] = {}


def _decode_child(mapping: TableMapping, row: Mapping[Any, Any]) -> Document:
    text = row[EXTRA_COLUMN]
    if not text:
        # The common case, a row its typed columns describe exactly: no bookkeeping to apply,
        # and the fields' order is the usual order.
        return _decode_fields(mapping, row, _NOTHING, _NO_KEYS)
    extra = _decode_extra(text)
    stored_keys: dict[str, Any] = extra.get("keys", {})
    absent = set(extra.get("absent", ()))
    values = _decode_fields(mapping, row, absent, stored_keys, extra.get("ints"))
    for key, value in stored_keys.items():
        values.setdefault(key, value)
    return _ordered(values, extra.get("order"), [f.key for f in mapping.fields], stored_keys)


_NOTHING: frozenset[str] = frozenset()
_NO_KEYS: Mapping[str, Any] = {}
#: Kinds whose column value needs converting back (str and int come back as they went in).
_CONVERT: dict[str, Any] = {"json": loads, "bool": bool, "float": float}
#: The same for rows read as tuples: a JSON column's text is this toolkit's own writing.
_CONVERT_TUPLE: dict[str, Any] = {**_CONVERT, "json": loads_written}


def _decode_fields(
    mapping: TableMapping,
    row: Mapping[Any, Any],
    absent: Collection[str],
    stored_keys: Mapping[str, Any],
    ints: Collection[str] | None = None,
) -> Document:
    plan = _PLANS.get(id(mapping)) or _plan(mapping)
    values: Document = {}
    if not absent and not stored_keys and not ints:  # the common case: straight from columns
        for key, column, convert in plan:
            raw = row[column]
            values[key] = raw if raw is None or convert is None else convert(raw)
        return values
    for key, column, convert in plan:
        if key in absent:
            continue
        if key in stored_keys:
            values[key] = stored_keys[key]
            continue
        raw = row[column]
        if ints and key in ints:
            values[key] = int(raw)
            continue
        values[key] = raw if raw is None or convert is None else convert(raw)
    return values


#: id(mapping) -> (key, column, conversion) per field: what decoding a row needs, looked up
#: once per mapping instead of per row and field (a partition read decodes thousands of rows).
_PLANS: dict[int, tuple[tuple[str, str, Any], ...]] = {}


def _plan(mapping: TableMapping) -> tuple[tuple[str, str, Any], ...]:
    plan = tuple((f.key, f.column, _CONVERT.get(f.kind)) for f in mapping.fields)
    _PLANS[id(mapping)] = plan
    return plan


def _ordered(
    values: Document,
    order: Sequence[str] | None,
    usual: Sequence[str],
    stored_keys: Mapping[str, Any],
) -> Document:
    if order is not None:
        return {key: values[key] for key in order}
    listed = set(usual)
    result = {key: values[key] for key in usual if key in values}
    for key in stored_keys:
        if key not in listed:
            result[key] = values[key]
    return result


def _decode_extra(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    decoded = loads(text, ours=True)
    if not isinstance(decoded, dict):
        raise ValueError(f"corrupt extra column: {text[:60]!r}")
    return decoded


def value_of_column(f: DocField, raw: Any) -> Any:
    """The document value a typed column's `raw` value stands for."""
    convert = _CONVERT.get(f.kind)
    return raw if raw is None or convert is None else convert(raw)


def decode_item(mapping: TableMapping, row: Mapping[Any, Any]) -> Document:
    """The object a child row stores."""
    return _decode_child(mapping, row)


# --------------------------------------------------------------------------- rows as tuples


class TableDecoder:
    """One table's rows, read as tuples of `columns`, back to the objects they store."""

    def __init__(self, mapping: TableMapping, link: str | None = None) -> None:
        self.mapping = mapping
        self.keys = tuple(f.key for f in mapping.fields)
        #: What a row must hold, in this order: the fields' columns, `extra`, then `link` (a
        #: child row's parent id) when given.
        self.columns = (*(f.column for f in mapping.fields), EXTRA_COLUMN, *filter(None, [link]))
        self.extra_at = len(mapping.fields)
        #: The typed columns' values by key, in field order, `extra` not applied.
        self.fields: Callable[[Sequence[Any]], Document] = _fields_function(mapping.fields)
        #: `extra` texts that record only absent keys -> those keys (filled by `absent_keys`).
        self.absent_only: dict[str, tuple[str, ...]] = {}

    def item(self, row: Sequence[Any]) -> Document:
        """The object a child row stores: `decode_item` of the same row as a mapping."""
        absent = self.absent_keys(row[self.extra_at])
        if absent is None:
            return _decode_child(self.mapping, self.as_mapping(row))
        values = self.fields(row)
        for key in absent:
            values.pop(key, None)
        return values

    def absent_keys(self, text: str | None) -> tuple[str, ...] | None:
        """The keys an `extra` records as absent when that is all it records (the common case
        after no `extra` at all); None when it records more (kept keys, ints, an order). The
        few distinct texts of the common case are parsed once each."""
        if not text:
            return ()
        absent = self.absent_only.get(text)
        if absent is None:
            extra = _decode_extra(text)
            if len(extra) != 1 or "absent" not in extra:
                return None
            absent = tuple(extra["absent"])
            if len(self.absent_only) < _ABSENT_TEXTS:
                self.absent_only[text] = absent
        return absent

    def as_mapping(self, row: Sequence[Any]) -> dict[str, Any]:
        """`row`'s `columns` by name (a row may carry more values after them, unnamed)."""
        return dict(zip(self.columns, row, strict=False))


def _fields_function(
    fields: Sequence[DocField], order: Sequence[str] | None = None
) -> Callable[[Sequence[Any]], Document]:
    """`row -> {key: value}` for `fields` (a row holds their columns in this order), keys in
    `order` when given (a subset of the fields' keys), compiled once per table: a dict display
    naming each key and column index, with the kind's conversion where it has one. Measured on
    the reference schema, 3x faster than `dict(zip(keys, row))` plus a conversion loop, and most
    of a partition read is this call. The source holds only `repr` of the declared keys."""
    converts: dict[str, Any] = {}
    entries = []
    at = {f.key: index for index, f in enumerate(fields)}
    for f in fields if order is None else [fields[at[key]] for key in order]:
        index = at[f.key]
        value = f"row[{index}]"
        convert = _CONVERT_TUPLE.get(f.kind)
        if convert is not None:
            name = f"convert_{f.kind}"
            converts[name] = convert
            value = f"(None if row[{index}] is None else {name}(row[{index}]))"
        entries.append(f"{f.key!r}: {value}")
    source = "lambda row: {" + ", ".join(entries) + "}"
    function: Callable[[Sequence[Any]], Document] = eval(source, converts)
    return function


#: How many distinct absent-only `extra` texts a table decoder remembers.
_ABSENT_TEXTS = 512


class DocumentDecoder:
    """A schema's documents from tuple rows (see the module docstring); build it once."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.root = TableDecoder(schema.root_mapping)
        #: Per child list: its document key and its table's decoder (link: the parent id).
        self.children = tuple(
            (child.key, TableDecoder(mapping, child.parent_column))
            for child, mapping in zip(schema.children, schema.child_mappings, strict=True)
        )
        self.id_at = self.root.keys.index(schema.id_key)
        usual = usual_order(schema)
        natural = (*self.root.keys, *(key for key, _ in self.children))
        #: None where decoding already yields the usual order.
        self._order = None if usual == natural else usual
        summary = tuple(key for key in usual if key in schema.root_mapping.keys)
        #: A root row's typed columns by key in the summary's order (`extra` not applied).
        self._summary_fields = _fields_function(schema.root_mapping.fields, summary)

    def group(self, child: int, rows: Sequence[Sequence[Any]]) -> dict[str, list[Document]]:
        """The objects of child list number `child`, by parent id, in the rows' order (rows
        ordered by position give each parent's list in position order)."""
        decoder = self.children[child][1]
        fields, extra_at = decoder.fields, decoder.extra_at
        grouped: dict[str, list[Document]] = {}
        row: Sequence[Any] = ()
        try:
            for row in rows:
                parent = row[-1]
                items = grouped.get(parent)
                if items is None:
                    items = grouped[parent] = []
                items.append(fields(row) if row[extra_at] is None else decoder.item(row))
        except _DAMAGE as exc:
            raise _corrupt(self.schema, row[-1], exc) from exc
        return grouped

    def document(
        self, root: Sequence[Any], lists: Sequence[Mapping[str, list[Document]]]
    ) -> Document:
        """The document of a root row; `lists[i]` is `group(i, ...)` of rows that include its
        children."""
        doc_id = root[self.id_at]
        try:
            absent = self.root.absent_keys(root[self.root.extra_at])
            if absent is None:
                by_table = {
                    decoder.mapping.name: grouped.get(doc_id, [])
                    for (_, decoder), grouped in zip(self.children, lists, strict=True)
                }
                return _assemble(
                    self.schema, self.root.as_mapping(root), lambda m: by_table[m.name]
                )
            values = self.root.fields(root)
            for key in absent:
                values.pop(key, None)
            for (key, _), grouped in zip(self.children, lists, strict=True):
                if key not in absent:
                    values[key] = grouped.get(doc_id, [])
        except _DAMAGE as exc:
            raise _corrupt(self.schema, doc_id, exc) from exc
        if self._order is None:
            return values
        return {key: values[key] for key in self._order if key in values}

    def summary(self, root: Sequence[Any]) -> Document:
        """`summary_from_row` of the same row: the document without its child lists."""
        try:
            absent = self.root.absent_keys(root[self.root.extra_at])
            if absent is None:
                return summary_from_row(self.schema, self.root.as_mapping(root))
            values = self._summary_fields(root)
            for key in absent:
                values.pop(key, None)
        except _DAMAGE as exc:
            raise _corrupt(self.schema, root[self.id_at], exc) from exc
        return values

    def summaries(self, roots: Iterable[Sequence[Any]]) -> list[Document]:
        """`summary` of each root row: a listing's loop, with the common row (no `extra`)
        decoded without a call per row beyond its compiled dict display."""
        fields, extra_at, summary = self._summary_fields, self.root.extra_at, self.summary
        absent_only = self.root.absent_only
        found: list[Document] = []
        row: Sequence[Any] = ()
        try:
            for row in roots:
                extra = row[extra_at]
                if extra is None:
                    found.append(fields(row))
                    continue
                absent = absent_only.get(extra)
                if absent is None:
                    found.append(summary(row))
                    continue
                values = fields(row)
                for key in absent:
                    values.pop(key, None)
                found.append(values)
        except _DAMAGE as exc:
            raise _corrupt(self.schema, row[self.id_at], exc) from exc
        return found
