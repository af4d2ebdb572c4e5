"""Criteria written as text (`status=failed`, `created_at>=2025-01-01`, `model__absent=true`),
as the command line and config files give them, turned into `find`'s typed arguments.

`KEY=VALUE`, `KEY!=VALUE`, `KEY<VALUE`, `KEY<=VALUE`, `KEY>VALUE`, `KEY>=VALUE`, or any
operator in Django's form `KEY__OP=VALUE` (`__in` takes comma-separated values, `__null` and
`__absent` take true or false). A value is read as the field's kind: text as written, numbers
as integers when they look like one, true/false for booleans. A child list's field is
`LIST.KEY...` (for `has`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from migrator.errors import QueryError
from migrator.schemas.declaration import DocField, Schema, TableMapping

_SYMBOLS = {"=": "eq", "!=": "ne", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_CRITERION = re.compile(r"^(?P<key>[^=<>!]+?)(?P<symbol>!=|<=|>=|=|<|>)(?P<value>.*)$", re.DOTALL)
_INT = re.compile(r"^[+-]?\d+$")
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def parse_criteria(
    schema: Schema, where: Sequence[str] = (), has: Sequence[str] = ()
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """`find`'s `where` and `has` from their text forms; `QueryError` naming the field."""
    root = schema.root_mapping
    parsed_where = dict(_parse(root, text, prefix="") for text in where)
    children = {c.key: m for c, m in zip(schema.children, schema.child_mappings, strict=True)}
    parsed_has: dict[str, dict[str, Any]] = {}
    for text in has:
        child, dot, rest = text.partition(".")
        if not dot or child not in children:
            known = ", ".join(children) or "none"
            raise QueryError(f"expected LIST.KEY=VALUE with LIST one of: {known}", child)
        name, value = _parse(children[child], rest, prefix=child + ".")
        parsed_has.setdefault(child, {})[name] = value
    return parsed_where, parsed_has


def _parse(mapping: TableMapping, text: str, *, prefix: str) -> tuple[str, Any]:
    match = _CRITERION.match(text.strip())
    if match is None:
        raise QueryError("expected KEY=VALUE, KEY>=VALUE, KEY__OP=VALUE, ...", prefix + text)
    name, symbol, raw = match["key"].strip(), match["symbol"], match["value"]
    key, _, op = name.partition("__")
    if op and symbol != "=":
        raise QueryError(f"write {name}=VALUE (the operator is in the name)", prefix + key)
    op = op or _SYMBOLS[symbol]
    fields = {f.key: f for f in mapping.fields}
    if key not in fields:
        return name if op == "eq" else f"{key}__{op}", raw  # `find` names the unknown field
    f = fields[key]
    if op in ("null", "absent"):
        value: Any = _flag(raw, prefix + key)
    elif op == "in":
        value = [_typed(f, item, prefix + key) for item in raw.split(",")] if raw else []
    else:
        value = _typed(f, raw, prefix + key)
    return f"{key}__{op}", value


def _flag(raw: str, name: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise QueryError(f"expected true or false, got {raw!r}", name)


def _typed(f: DocField, raw: str, name: str) -> Any:
    if f.kind in ("str", "json"):
        return raw
    if f.kind == "bool":
        return _flag(raw, name)
    text = raw.strip()
    try:
        return int(text) if _INT.match(text) else float(text)
    except ValueError:
        raise QueryError(f"expected a number, got {raw!r}", name) from None
