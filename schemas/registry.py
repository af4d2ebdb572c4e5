"""Resolve a schema reference: a registered name (`sessions`) or `package.module:attribute`."""

from __future__ import annotations

import importlib

from migrator.errors import SchemaNotFoundError
from schemas.declaration import Schema

_BUILTIN = {"sessions": "schemas.sessions:SESSIONS"}


def builtin_names() -> tuple[str, ...]:
    return tuple(sorted(_BUILTIN))


def resolve(reference: str | Schema) -> Schema:
    """The `Schema` a reference names; a Schema value is returned as it is."""
    if isinstance(reference, Schema):
        return reference
    target = _BUILTIN.get(reference, reference)
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        known = ", ".join(builtin_names())
        raise SchemaNotFoundError(
            reference, f"not a built-in schema ({known}) nor of the form package.module:attribute"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SchemaNotFoundError(reference, f"cannot import {module_name}: {exc}") from None
    value = getattr(module, attribute, None)
    if not isinstance(value, Schema):
        found = "nothing" if value is None else type(value).__name__
        raise SchemaNotFoundError(reference, f"{target} is {found}, not a Schema")
    return value
