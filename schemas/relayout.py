"""A row's `extra` when a key moves between it and a typed column or a child table.

Pure functions for schema revisions (`migrator.schema_migrations.moves` does the I/O). A row
stores its document's key order only when it is not the layout's usual order (see
`migrator.schemas.codec`), so a layout change could silently reorder documents. Each move therefore
works from the usual orders `before` and `after` the change: it reads the document's real
order under `before`, moves the key, and records that order explicitly exactly when `after`
would not give it back, as `to_rows` would under the new declaration. The usual orders list
the layout's declared keys (fields and child lists), as derived orders and `key_order` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from migrator.schemas.codec import column_value
from migrator.schemas.declaration import DocField
from migrator.schemas.jsontext import dumps_compact, loads

Extra = dict[str, Any]


def read_extra(text: str | None) -> Extra:
    """A row's `extra` column as a dict (empty for NULL)."""
    if not text:
        return {}
    decoded = loads(text)
    if not isinstance(decoded, dict):
        raise ValueError(f"corrupt extra column: {text[:60]!r}")
    return decoded


def document_order(extra: Extra, usual: Sequence[str]) -> list[str]:
    """The key order of the document a row stores, under the layout whose usual order is
    `usual`: its recorded order, else the usual keys it has, then its other keys."""
    if "order" in extra:
        return list(extra["order"])
    absent = set(extra.get("absent", ()))
    keys = extra.get("keys", {})
    listed = set(usual)
    return [k for k in usual if k not in absent] + [k for k in keys if k not in listed]


def promote(
    extra: Extra, f: DocField, before: Sequence[str], after: Sequence[str]
) -> tuple[str | None, Any]:
    """Key `f.key` becomes the typed column `f.column`: the new `extra` and the column's value.
    A value the column cannot hold exactly stays in `extra` (the column is NULL)."""
    order = document_order(extra, before)
    keys: dict[str, Any] = dict(extra.get("keys", {}))
    absent = list(extra.get("absent", ()))
    stored = None
    if f.key in keys:
        fits, value = column_value(f, keys[f.key])
        if fits:
            stored = value
            del keys[f.key]
    elif f.key not in order:
        absent.append(f.key)
    return _finish(keys, absent, order, after), stored


def demote(
    extra: Extra, key: str, value: Any, before: Sequence[str], after: Sequence[str]
) -> str | None:
    """The typed column of `key` goes away: its `value` (as a document value) moves to `extra`."""
    order = document_order(extra, before)
    keys: dict[str, Any] = dict(extra.get("keys", {}))
    absent = [k for k in extra.get("absent", ()) if k != key]
    if key in order and key not in keys:
        keys[key] = value
    return _finish(keys, absent, order, after)


def split(
    extra: Extra, key: str, before: Sequence[str], after: Sequence[str]
) -> tuple[str | None, Any]:
    """A child list `key` gets its own table: the new `extra` and the list (None if absent)."""
    order = document_order(extra, before)
    keys: dict[str, Any] = dict(extra.get("keys", {}))
    absent = list(extra.get("absent", ()))
    items = keys.pop(key, None) if key in keys else None
    if key not in order:
        absent.append(key)
    return _finish(keys, absent, order, after), items


def merge(
    extra: Extra, key: str, items: list[Any], before: Sequence[str], after: Sequence[str]
) -> str | None:
    """A child list `key` goes back into `extra` (unless the document has no such key)."""
    order = document_order(extra, before)
    keys: dict[str, Any] = dict(extra.get("keys", {}))
    absent = [k for k in extra.get("absent", ()) if k != key]
    if key in order:
        keys[key] = items
    return _finish(keys, absent, order, after)


def _finish(
    keys: dict[str, Any], absent: list[str], order: list[str], after: Sequence[str]
) -> str | None:
    """`extra` as `to_rows` writes it: other keys in document order, the order only if needed."""
    position = {k: i for i, k in enumerate(order)}
    extra: Extra = {}
    if keys:
        extra["keys"] = dict(sorted(keys.items(), key=lambda item: position[item[0]]))
    if absent:
        extra["absent"] = absent
    if document_order(extra, after) != order:
        extra["order"] = order
    return dumps_compact(extra) if extra else None
