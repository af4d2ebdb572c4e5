"""Searchable text fields: which document keys the full-text index covers, resolved to columns.

A schema names them as document paths: `task` (a key of the root document) or
`chat_history.content` (a key of each object in a child list). Each must be a text (`str`)
column, so the index reads the value straight from its row. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Table

from migrator.errors import SchemaError

if TYPE_CHECKING:
    from migrator.schemas.declaration import ChildList, DocField, Schema, TableMapping


@dataclass(frozen=True)
class SearchField:
    """One searchable document key and the column that holds it."""

    #: As declared: `task`, `chat_history.content`.
    path: str
    #: The child list's key (`chat_history`), None for a key of the root document.
    list_key: str | None
    key: str
    table: Table = field(repr=False)
    #: The typed column (its `column` name, `required` or not).
    doc_field: DocField = field(repr=False)
    #: The child table's column naming its document (None for the root table).
    parent_column: str | None

    @property
    def column(self) -> str:
        return self.doc_field.column

    def located(self, position: int | None) -> str:
        """Where a match is, as a person reads it: `task`, `chat_history[3].content`."""
        if self.list_key is None:
            return self.key
        return f"{self.list_key}[{position}].{self.key}"


def resolve_searchable(schema: Schema) -> tuple[SearchField, ...]:
    """The schema's `searchable` paths as fields; `SchemaError` naming a path that is no text
    key (the Schema being built adds its name)."""
    found: list[SearchField] = []
    lists: dict[str, tuple[ChildList, TableMapping]] = {
        child.key: (child, mapping)
        for child, mapping in zip(schema.children, schema.child_mappings, strict=True)
    }
    for path in schema.searchable:
        list_key, dot, key = path.rpartition(".")
        if dot and list_key not in lists:
            raise SchemaError(f"searchable {path!r}: no child list {list_key!r}")
        child: ChildList | None = lists[list_key][0] if dot else None
        mapping = lists[list_key][1] if dot else schema.root_mapping
        doc_field = next((f for f in mapping.fields if f.key == key), None)
        if doc_field is None or doc_field.kind != "str":
            raise SchemaError(f"searchable {path!r} must be a text (str) column")
        found.append(
            SearchField(
                path=path,
                list_key=list_key or None,
                key=key,
                table=mapping.table,
                doc_field=doc_field,
                parent_column=child.parent_column if child is not None else None,
            )
        )
    if len({f.path for f in found}) != len(found):
        raise SchemaError("a searchable path is named twice")
    return tuple(found)
