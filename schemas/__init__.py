"""Declarations and the codec: what a document is, and how it becomes rows. No I/O."""

from schemas.codec import DocumentRows, canonical_bytes, from_rows, to_rows, validate
from schemas.declaration import (
    ChildList,
    DocField,
    DocumentRow,
    Schema,
    TableMapping,
    choices_field,
    json_field,
)
from schemas.registry import resolve

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
