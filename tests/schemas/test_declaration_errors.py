"""A schema declaration the engine cannot use is refused with `SchemaError`, a MigratorError
naming the schema and the mistake: never a ValueError or TypeError (issue 20 point 5), so the
CLI says one line and a Python caller catches the toolkit's one root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from migrator.errors import MigratorError, SchemaError
from migrator.schemas.declaration import ChildList, DocumentRow, Schema


class _Root(DocumentRow, table=True):
    __tablename__ = "t_err_root"
    key: str = Field(primary_key=True)
    part: str
    title: str | None = None
    heading: str | None = None


class _Items(DocumentRow, table=True):
    __tablename__ = "t_err_items"
    row: int | None = Field(default=None, primary_key=True)
    parent: str = Field(foreign_key="t_err_root.key")
    text: str | None = None


class _OddKind(DocumentRow, table=True):
    __tablename__ = "t_err_odd_kind"
    key: str = Field(primary_key=True)
    part: str
    data: str | None = Field(default=None, sa_column_kwargs={"info": {"kind": "blob"}})


class _Binary(DocumentRow, table=True):
    __tablename__ = "t_err_binary"
    key: str = Field(primary_key=True)
    part: str
    data: bytes = Field(sa_type=LargeBinary)


class _NotATable(SQLModel):
    key: str


def _items(key: str = "items") -> ChildList:
    return ChildList(key=key, model=_Items, parent_column="parent", surrogate_key="row")


def _schema(**changes: Any) -> Schema:
    declaration: dict[str, Any] = {
        "name": "mine",
        "version": 1,
        "root": _Root,
        "partition_column": "part",
        "id_key": "key",
    }
    return Schema(**(declaration | changes))


def test_a_good_declaration_builds() -> None:
    """The tables above make a usable schema: the failures below are each one mistake."""
    schema = _schema(children=(_items(),), searchable=("title", "items.text"))
    assert [f.path for f in schema.search_fields] == ["title", "items.text"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"root": _NotATable}, "_NotATable is not a SQLModel table"),
        ({"partition_column": "nope"}, "table 't_err_root' needs a column 'nope'"),
        ({"id_key": "id"}, "the root table has no column for 'id'"),
        ({"root": _Binary}, "column t_err_binary.data: unsupported type"),
        ({"root": _OddKind}, "column t_err_odd_kind.data: kind 'blob' is none of str, int"),
        ({"children": (_items(), _items())}, "child list 'items' is declared twice"),
        ({"children": (_items("title"),)}, "keys both columns and child lists: 'title'"),
        (
            {"renames": {"heading": "title"}},
            "table 't_err_root': document key 'heading' names two columns",
        ),
        (
            {"renames": {"name": "no_column"}},
            "table 't_err_root': 'name' renamed to 'no_column', no such column",
        ),
        ({"version": 0}, "version must be a whole number from 1 on, not 0"),
        ({"version": "2"}, "version must be a whole number from 1 on, not '2'"),
        ({"searchable": ("notes.text",)}, "searchable 'notes.text': no child list 'notes'"),
        ({"searchable": ("part_x",)}, "searchable 'part_x' must be a text (str) column"),
        ({"searchable": ("title", "title")}, "a searchable path is named twice"),
    ],
)
def test_each_mistake_is_a_schema_error_naming_the_schema(
    changes: dict[str, Any], reason: str
) -> None:
    """One SchemaError (a MigratorError, neither ValueError nor TypeError), its message the
    schema's name and the mistake."""
    changes.setdefault("children", ())
    with pytest.raises(SchemaError) as caught:
        _schema(**changes)
    error = caught.value
    assert isinstance(error, MigratorError)
    assert not isinstance(error, ValueError | TypeError)
    assert error.schema == "mine"
    assert str(error).startswith(f"schema 'mine': {reason}")


BAD_MODULE = """
from sqlmodel import Field
from migrator.schemas.declaration import DocumentRow, Schema


class Thing(DocumentRow, table=True):
    __tablename__ = "things"
    key: str = Field(primary_key=True)
    part: str


THINGS = Schema(name="things", version=1, root=Thing, partition_column="part")
"""


def test_the_cli_says_one_line_for_a_bad_declaration(tmp_path: Path) -> None:
    """A user's module whose Schema cannot be built: exit 2, one line, no traceback."""
    (tmp_path / "my_things.py").write_text(BAD_MODULE)
    store = tmp_path / "store"
    store.mkdir()
    stores = ["--json-dir", str(store), "--db", str(tmp_path / "app.db")]
    done = subprocess.run(
        [sys.executable, "-m", "migrator", "validate", *stores, "--schema", "my_things:THINGS"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{Path.cwd()}", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == "error: schema 'things': the root table has no column for 'id'\n"
