"""Comparing a partition's JSON documents with its SQL rows without decoding the rows.

Each JSON document is mapped to the rows an import would write (`RowEncoder`, the importer's
one-pass encoder) and compared with the rows SQL holds (`migrator.adapters.sql_rows`), tuple by
tuple. Rows that are equal, value for value and type for type (1, 1.0 and true told apart, as
are 0.0 and -0.0), decode to exactly the JSON document (the codec is lossless), so the pair
matches and nothing is rebuilt. Any other pair (different rows, or rows the fast pass cannot
make: an invalid document, a value kept in `extra`) is decoded from the same snapshot and
compared as before, by canonical bytes and then DeepDiff. Rows may differ for documents that
are equal (a different key order inside a JSON column, say): that only costs the slow path.

A child object whose keys are its table's fields in field order (some may be missing), none
unknown and no JSON column among them, is mapped with no per-value work at all: its values,
with the missing fields' placeholders, are its row.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, Protocol

import orjson

from migrator.adapters.sql_rows import PartitionRows, Row
from migrator.schemas.codec import placeholder
from migrator.schemas.declaration import EXTRA_COLUMN, Schema, TableMapping
from migrator.schemas.jsontext import dumps_compact
from migrator.schemas.row_encoder import RowEncoder, encoder_for

#: How an object whose keys are `keys` becomes its row (then its parent's id follows): where each
#: missing field's placeholder goes, and the row's `extra`; None when its values do not make it.
_Template = tuple[tuple[tuple[int, Any], ...], str | None] | None


class JsonRows:
    """A schema's documents as comparable rows (None: not by the fast pass)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.encoder: RowEncoder = encoder_for(schema)
        self.root_columns = _columns(schema.root_mapping)
        #: Per table (root first): the getter of its number and boolean columns, or None.
        self.numbers = (
            _numbers(schema.root_mapping),
            *(_numbers(mapping) for mapping in schema.child_mappings),
        )
        self.children: tuple[
            tuple[str, TableMapping, tuple[str, ...], dict[tuple[str, ...], _Template]], ...
        ] = tuple(
            (child.key, mapping, _columns(mapping), {})
            for child, mapping in zip(schema.children, schema.child_mappings, strict=True)
        )

    def typed(self, docs: list[tuple[Row, ...]]) -> bytes | None:
        """The integers, floats and booleans of `docs`' rows, written out (None: not writable).
        `==` holds between 1, 1.0 and true, and between 0.0 and -0.0; these bytes differ. The
        other columns hold text or NULL on both sides, which `==` tells apart already."""
        values = [
            [numbers(doc[0]) for doc in docs]
            if table == 0
            else [numbers(row) for doc in docs for row in doc[table]]
            for table, numbers in enumerate(self.numbers)
            if numbers is not None
        ]
        try:
            return orjson.dumps(values)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits: not decided here
            return None

    def rows(self, doc: Any, *, json_checked: bool) -> tuple[Row, ...] | None:
        """(root row, then each child table's rows as a tuple) or None."""
        root = self.encoder.root_row(doc, json_checked=json_checked)
        if root is None:
            return None
        result: list[Any] = [tuple([root[c] for c in self.root_columns])]
        doc_id = doc[self.schema.id_key]
        for index, (key, mapping, cols, templates) in enumerate(self.children):
            if key not in doc:
                result.append(())
                continue
            items = doc[key]
            if type(items) is not list:
                return None
            encoded = []
            for item in items:
                if type(item) is not dict:
                    return None
                keys = tuple(item)
                template = templates.get(keys, _UNKNOWN)
                if template is _UNKNOWN:
                    template = templates[keys] = _template(mapping, keys)
                if template is not None:
                    values = list(item.values())
                    for at, placeholder in template[0]:
                        values.insert(at, placeholder)
                    values.append(template[1])
                    values.append(doc_id)
                    encoded.append(tuple(values))
                    continue
                row = self.encoder.child_row(index, item, json_checked=json_checked)
                if row is None:
                    return None
                encoded.append((*[row[c] for c in cols], doc_id))
            result.append(tuple(encoded))
        return tuple(result)


_UNKNOWN: Any = object()


def _columns(mapping: TableMapping) -> tuple[str, ...]:
    """A row's columns as the store's read path gives them (then a child row's parent id)."""
    return (*(f.column for f in mapping.fields), EXTRA_COLUMN)


def _numbers(mapping: TableMapping) -> Callable[[Row], Any] | None:
    at = [i for i, f in enumerate(mapping.fields) if f.kind in ("int", "float", "bool")]
    if not at:
        return None
    return itemgetter(*at) if len(at) > 1 else itemgetter(slice(at[0], at[0] + 1))


def _template(mapping: TableMapping, keys: tuple[str, ...]) -> _Template:
    """Objects with these keys, in field order, none unknown and no JSON column among them:
    their values, with the missing fields' placeholders put in, and `extra` naming those
    fields absent, are exactly their row (as `codec.to_rows` writes it)."""
    fields = mapping.fields
    present = [f for f in fields if f.key in keys]
    if tuple(f.key for f in present) != keys or any(f.kind == "json" for f in present):
        return None
    missing = [(at, f) for at, f in enumerate(fields) if f.key not in keys]
    if any(f.required for _, f in missing):
        return None
    absent = [f.key for _, f in missing]
    extra = dumps_compact({"absent": absent}) if absent else None
    return tuple((at, placeholder(f)) for at, f in missing), extra


class RowsRead:
    """One partition's SQL side as rows: which ids it holds, which JSON documents are exactly
    what their rows store, and a document by id when a comparison needs it."""

    def __init__(self, rows: PartitionRows, json_rows: JsonRows, *, json_checked: bool) -> None:
        self._rows = rows
        self._json = json_rows
        self._checked = json_checked

    def ids(self) -> list[str]:
        return list(self._rows.roots)

    def doc(self, doc_id: str) -> Any:
        return self._rows.decode(doc_id)

    def same_ids(self, json_docs: dict[str, Any]) -> set[str]:
        """The ids of `json_docs` whose rows here are exactly the document's rows (the rest are
        compared as documents)."""
        stored = self._rows
        tables = [mapping.name for _, mapping, _, _ in self._json.children]
        ids, mine_all, theirs_all = [], [], []
        for doc_id, json_doc in json_docs.items():
            root = stored.roots.get(doc_id)
            if root is None:
                continue
            mine = self._json.rows(json_doc, json_checked=self._checked)
            if mine is None:
                continue
            theirs = (root, *(stored.children[t].get(doc_id, ()) for t in tables))
            if mine == theirs:
                ids.append(doc_id)
                mine_all.append(mine)
                theirs_all.append(theirs)
        typed = self._json.typed
        if typed(mine_all) == typed(theirs_all) is not None:
            return set(ids)
        return {
            doc_id
            for doc_id, mine, theirs in zip(ids, mine_all, theirs_all, strict=True)
            if typed([mine]) == typed([theirs]) is not None
        }


class SqlSide(Protocol):
    """One read of a partition's SQL side: its ids, the JSON documents it holds exactly when that
    can be told cheaply (the rest are compared as documents), and a document by id."""

    def ids(self) -> list[str]: ...

    def same_ids(self, json_docs: dict[str, Any]) -> set[str]: ...

    def doc(self, doc_id: str) -> Any: ...


class DocsRead:
    """A SQL side read as documents (a sample, a recheck's re-read)."""

    def __init__(self, docs: list[Any], id_key: str) -> None:
        self._docs = {doc[id_key]: doc for doc in docs}

    def ids(self) -> list[str]:
        return list(self._docs)

    def same_ids(self, json_docs: dict[str, Any]) -> set[str]:
        return set()

    def doc(self, doc_id: str) -> Any:
        return self._docs[doc_id]
