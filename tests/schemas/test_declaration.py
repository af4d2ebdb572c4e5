"""`Schema`: what a declaration derives from its table models, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import CheckConstraint, LargeBinary
from sqlmodel import Field, SQLModel

from migrator.errors import SchemaError
from migrator.schemas.declaration import ChildList, DocField, DocumentRow, Schema
from migrator.schemas.sessions import SESSIONS
from tests.second_schema import NOTES


def fields_of(schema: Schema, table: str) -> dict[str, DocField]:
    mapping = next(m for m in (schema.root_mapping, *schema.child_mappings) if m.name == table)
    return {f.key: f for f in mapping.fields}


def test_sessions_root_fields() -> None:
    """The session table's columns become document fields with kinds, NOT NULL and choices."""
    fields = fields_of(SESSIONS, "sessions")
    assert list(fields) == [
        "id",
        "type",
        "task",
        "status",
        "created_at",
        "updated_at",
        "completed_at",
        "model",
        "timeout_seconds",
        "preserve_worktrees",
        "winner_id",
        "runtime_mix",
        "total_duration",
        "total_files_changed",
        "total_lines_added",
        "total_lines_deleted",
    ]
    assert fields["type"].column == "session_type"
    assert fields["type"].choices == ("competition", "ensemble", "debate")
    assert fields["status"].required and not fields["model"].required
    kinds = {key: f.kind for key, f in fields.items()}
    assert kinds["timeout_seconds"] == "int"
    assert kinds["preserve_worktrees"] == "bool"
    assert kinds["runtime_mix"] == "json"
    assert kinds["task"] == "str"


def test_internal_columns_are_not_fields() -> None:
    """Partition, parent link, surrogate key, position and extra are the mapping's own."""
    assert SESSIONS.root_mapping.internal == ("workspace_hash", "position", "extra")
    instances = SESSIONS.child_mappings[0]
    assert set(instances.internal) == {"session_id", "id", "position", "extra"}
    assert "id" not in instances.keys
    assert "id" in SESSIONS.child_mappings[1].keys  # a chat message's id is its own key


def test_unique_within_list() -> None:
    """Columns unique alone or together with the parent link may not repeat within a list."""
    assert fields_of(SESSIONS, "instances")["instance_id"].unique_in_list
    assert fields_of(SESSIONS, "chat_messages")["id"].unique_in_list
    assert not fields_of(SESSIONS, "chat_messages")["instance_id"].unique_in_list
    assert fields_of(NOTES, "note_revisions")["rev"].unique_in_list
    assert not fields_of(NOTES, "note_tags")["label"].unique_in_list


def test_second_schema_shape() -> None:
    """The test schema derives float, bool, json, nullable choices and a child rename."""
    fields = fields_of(NOTES, "notes")
    assert (fields["weight"].kind, fields["weight"].required) == ("float", True)
    assert (fields["score"].kind, fields["score"].required) == ("float", False)
    assert (fields["archived"].kind, fields["pinned"].kind) == ("bool", "bool")
    assert fields["meta"].kind == "json"
    assert fields["kind"].column == "note_kind"
    color = fields_of(NOTES, "note_tags")["color"]
    assert (color.choices, color.required) == (("red", "green", "blue"), False)
    assert fields_of(NOTES, "note_revisions")["text"].column == "body"
    assert NOTES.id_column == "note_id"


def test_tables_parents_first() -> None:
    """Tables are listed in creation order: partition table, root, children."""
    assert [t.name for t in SESSIONS.tables] == [
        "workspaces",
        "sessions",
        "instances",
        "chat_messages",
    ]
    assert [t.name for t in NOTES.tables] == ["notes", "note_tags", "note_revisions"]
    assert NOTES.partition_table is None


def test_choices_become_check_constraints_once() -> None:
    """Each choices column gets one named CHECK constraint, even if a schema is built twice."""
    Schema(name="again", version=1, root=SESSIONS.root, partition_column="workspace_hash")

    def checks(table: Any) -> list[str]:
        return sorted(c.name for c in table.constraints if isinstance(c, CheckConstraint))

    assert checks(SESSIONS.root_table) == ["ck_sessions_session_type", "ck_sessions_status"]
    assert checks(NOTES.root_table) == ["ck_notes_note_kind"]
    assert checks(NOTES.child_mappings[0].table) == ["ck_note_tags_color"]


class _Plain(SQLModel):
    name: str


class _NoExtra(SQLModel, table=True):
    __tablename__ = "t_decl_no_extra"
    key: str = Field(primary_key=True)
    part: str
    position: int = 0


class _Good(DocumentRow, table=True):
    __tablename__ = "t_decl_good"
    key: str = Field(primary_key=True)
    part: str
    items: str | None = None


class _Child(DocumentRow, table=True):
    __tablename__ = "t_decl_child"
    row: int | None = Field(default=None, primary_key=True)
    parent: str = Field(foreign_key="t_decl_good.key")


class _Blob(DocumentRow, table=True):
    __tablename__ = "t_decl_blob"
    key: str = Field(primary_key=True)
    part: str
    data: bytes = Field(sa_type=LargeBinary)


def test_schema_declaration_errors() -> None:
    """Mistakes in a declaration are reported when the Schema is built, naming the problem."""
    with pytest.raises(SchemaError, match="not a SQLModel table"):
        Schema(name="x", version=1, root=_Plain, partition_column="part")
    with pytest.raises(SchemaError, match="needs a column 'extra'"):
        Schema(name="x", version=1, root=_NoExtra, partition_column="part", id_key="key")
    with pytest.raises(SchemaError, match="needs a column 'nope'"):
        Schema(name="x", version=1, root=_Good, partition_column="nope", id_key="key")
    with pytest.raises(SchemaError, match="no column for 'id'"):
        Schema(name="x", version=1, root=_Good, partition_column="part")
    with pytest.raises(SchemaError, match="both columns and child lists"):
        Schema(
            name="x",
            version=1,
            root=_Good,
            partition_column="part",
            id_key="key",
            children=(ChildList(key="items", model=_Child, parent_column="parent"),),
        )
    with pytest.raises(SchemaError, match="unsupported type"):
        Schema(name="x", version=1, root=_Blob, partition_column="part", id_key="key")


def test_minimal_schema_is_usable() -> None:
    """A root table with just an id and a partition is a complete schema."""
    schema = Schema(name="x", version=1, root=_Good, partition_column="part", id_key="key")
    assert [f.key for f in schema.root_mapping.fields] == ["key", "items"]
    assert schema.children == ()
