"""Declarations and the codec: what a document is, and how it becomes rows. No I/O.

The names below are looked up on first use, not imported here: `migrator.schemas.jsontext`, which
the
command line needs at start-up, would otherwise pull SQLModel and SQLAlchemy in with the
package (about half a second before `migrator --help` could print anything).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrator.schemas.codec import DocumentRows, canonical_bytes, from_rows, to_rows, validate
    from migrator.schemas.declaration import (
        ChildList,
        DocField,
        DocumentRow,
        Schema,
        TableMapping,
        choices_field,
        json_field,
    )
    from migrator.schemas.registry import resolve

_WHERE = {
    "ChildList": "migrator.schemas.declaration",
    "DocField": "migrator.schemas.declaration",
    "DocumentRow": "migrator.schemas.declaration",
    "DocumentRows": "migrator.schemas.codec",
    "Schema": "migrator.schemas.declaration",
    "TableMapping": "migrator.schemas.declaration",
    "canonical_bytes": "migrator.schemas.codec",
    "choices_field": "migrator.schemas.declaration",
    "from_rows": "migrator.schemas.codec",
    "json_field": "migrator.schemas.declaration",
    "resolve": "migrator.schemas.registry",
    "to_rows": "migrator.schemas.codec",
    "validate": "migrator.schemas.codec",
}

__all__ = [
    "ChildList",
    "DocField",
    "DocumentRow",
    "DocumentRows",
    "Schema",
    "TableMapping",
    "canonical_bytes",
    "choices_field",
    "from_rows",
    "json_field",
    "resolve",
    "to_rows",
    "validate",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'schemas' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
