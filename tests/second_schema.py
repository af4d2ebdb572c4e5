"""A second, small schema declared in the tests: proves nothing in the toolkit assumes `sessions`.

Notes live in folders (the partition); each note has a list of tags and a list of revisions.
It differs from the reference schema wherever a schema can: other table names, an id key that is
not `id`, a renamed root key and a renamed child key, float and bool columns (required and
optional), a JSON column, a choices column (required and nullable), a child table with a surrogate
key, a child table whose primary key is (parent, field), no partition table and no key order.

`resolve("tests.second_schema:NOTES")` finds it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Index, Text
from sqlmodel import Field

from migrator.schemas.declaration import ChildList, DocumentRow, Schema, choices_field, json_field

NOTE_KINDS = ("memo", "todo", "journal")
TAG_COLORS = ("red", "green", "blue")


class NoteRow(DocumentRow, table=True):
    __tablename__ = "notes"
    __table_args__ = (Index("idx_notes_folder", "folder"),)

    note_id: str = Field(primary_key=True)
    folder: str
    title: str
    note_kind: str = choices_field(*NOTE_KINDS)
    weight: float
    score: float | None = None
    archived: bool
    pinned: bool | None = None
    views: int | None = Field(default=None, sa_type=BigInteger)
    meta: Any = json_field()


class TagRow(DocumentRow, table=True):
    __tablename__ = "note_tags"

    tag_row: int | None = Field(default=None, primary_key=True)
    owner: str = Field(foreign_key="notes.note_id", ondelete="CASCADE")
    label: str
    color: str | None = choices_field(*TAG_COLORS, nullable=True)


class RevisionRow(DocumentRow, table=True):
    __tablename__ = "note_revisions"

    note: str = Field(primary_key=True, foreign_key="notes.note_id", ondelete="CASCADE")
    rev: int = Field(primary_key=True, sa_type=BigInteger)
    body: str = Field(sa_type=Text)
    ratio: float | None = None
    draft: bool | None = None


NOTES = Schema(
    name="notes",
    version=3,
    root=NoteRow,
    partition_column="folder",
    id_key="note_id",
    renames={"kind": "note_kind"},
    children=(
        ChildList(key="tags", model=TagRow, parent_column="owner", surrogate_key="tag_row"),
        ChildList(
            key="revisions",
            model=RevisionRow,
            parent_column="note",
            renames={"text": "body"},
            required=True,
        ),
    ),
    version_key="title",
)


def note(note_id: str = "n1", **changes: Any) -> dict[str, Any]:
    """A valid note document; `changes` replace or add keys (a value of `...` removes the key)."""
    doc: dict[str, Any] = {
        "note_id": note_id,
        "title": "first",
        "kind": "memo",
        "weight": 1.5,
        "score": None,
        "archived": False,
        "pinned": True,
        "views": 3,
        "meta": {"b": 1, "a": [1, 2.0]},
        "tags": [{"label": "x", "color": "red"}],
        "revisions": [{"rev": 1, "text": "hello", "ratio": 0.5, "draft": False}],
    }
    for key, value in changes.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc
