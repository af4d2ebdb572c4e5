"""Resolve a schema reference: a registered name (`sessions`) or `package.module:attribute`."""

from __future__ import annotations

import importlib
import sys

from migrator.errors import MigratorError, SchemaNotFoundError
from migrator.schemas.declaration import Schema

_BUILTIN = {"sessions": "migrator.schemas.sessions:SESSIONS"}


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
    except MigratorError:
        raise  # a declaration the toolkit refused (`SchemaError`) says why itself
    except ImportError as exc:
        raise SchemaNotFoundError(reference, f"cannot import {module_name}: {exc}") from None
    except Exception as exc:  # the user's module failed as it ran: one line, the cause kept
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise SchemaNotFoundError(reference, f"importing {module_name} failed: {reason}") from exc
    value = getattr(module, attribute, None)
    if not isinstance(value, Schema):
        found = "nothing" if value is None else type(value).__name__
        raise SchemaNotFoundError(reference, f"{target} is {found}, not a Schema")
    return value


def reference_of(schema: Schema) -> str | None:
    """The reference `resolve` finds `schema` by (`sessions`, `package.module:ATTRIBUTE`), so
    a printed command can name it; None for a schema no module attribute holds."""
    for name, target in _BUILTIN.items():
        module_name, _, attribute = target.partition(":")
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, attribute, None) is schema:
            return name
    module = sys.modules.get(schema.root.__module__)
    if module is None:
        return None
    for attribute, value in vars(module).items():
        if value is schema:
            return f"{module.__name__}:{attribute}"
    return None
