"""The exception tree: drawn truthfully in its docstring, one-line messages carrying their data."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from migrator import errors
from migrator.errors import (
    DatabaseCorruptError,
    DatabaseError,
    DocumentError,
    JsonFileError,
    MigratorError,
    PartitionConflictError,
    SchemaMismatchError,
    SchemaNotFoundError,
    StoreError,
    UnsafePartitionError,
    UsageError,
)


def error_classes() -> dict[str, type[MigratorError]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, MigratorError)
        and value.__module__ == errors.__name__
    }


def drawn_tree() -> dict[str, str | None]:
    """class name -> parent name, as drawn in the module docstring."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^    ((?:│   |    )*)(?:├── |└── )?([A-Z]\w*Error)\b", line)
        if not match:
            continue
        depth = len(match.group(1)) // 4 + (1 if "── " in line else 0)
        name = match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def test_docstring_draws_every_class_under_its_parent() -> None:
    """Every error class appears in the docstring tree, under the class it really subclasses."""
    classes = error_classes()
    tree = drawn_tree()
    assert set(tree) == set(classes)
    for name, cls in classes.items():
        parent = cls.__mro__[1].__name__
        assert tree[name] == (None if cls is MigratorError else parent), name


def test_exit_codes() -> None:
    """Every error has an integer exit code; 2 (usage or fatal) unless a class says otherwise."""
    for name, cls in error_classes().items():
        assert isinstance(cls.exit_code, int), name
    assert MigratorError.exit_code == 2
    assert DocumentError.exit_code == SchemaMismatchError.exit_code == 2


def test_errors_module_imports_nothing_of_the_toolkit() -> None:
    """Every layer may raise these, so the module depends on no layer."""
    tree = ast.parse(Path(errors.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert not imported & {"migrator", "adapters", "schemas"}


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (DocumentError("bad"), "bad"),
        (DocumentError("bad", field="a.b"), "field a.b: bad"),
        (
            DocumentError("bad", field="x", partition="ws", index=3, doc_id="s1"),
            "partition 'ws', record 3, id 's1': field x: bad",
        ),
        (DocumentError("missing", field="id", partition="ws"), "partition 'ws': field id: missing"),
        (DocumentError("bad", doc_id=7), "id 7: bad"),
        (JsonFileError(Path("/s/a.json"), "oops", line=2, column=5), "/s/a.json:2:5: oops"),
        (JsonFileError(Path("/s/a.json"), "empty file"), "/s/a.json: empty file"),
        (
            PartitionConflictError("s1", "b", "a"),
            "id 's1' cannot be written to partition 'b': it is already stored in partition 'a'",
        ),
        (SchemaNotFoundError("x", "why"), "schema 'x': why"),
        (UsageError("--db is required"), "--db is required"),
    ],
)
def test_messages(error: MigratorError, message: str) -> None:
    """Each error renders its data into one line."""
    assert str(error) == message
    assert "\n" not in str(error)


def test_document_error_located_fills_in_the_place() -> None:
    """located() adds partition and record index, keeping field, id and reason."""
    error = DocumentError("bad", field="f", doc_id="s1")
    placed = error.located(partition="ws", index=4)
    assert (placed.reason, placed.field, placed.doc_id) == ("bad", "f", "s1")
    assert (placed.partition, placed.index) == ("ws", 4)
    assert str(placed) == "partition 'ws', record 4, id 's1': field f: bad"
    assert placed.located(index=9).partition == "ws"
    assert (error.partition, error.index) == (None, None)  # the original is unchanged


def test_errors_carry_their_data() -> None:
    """Callers can act on the fields, not only on the text."""
    unsafe = UnsafePartitionError("../x")
    assert unsafe.name == "../x" and "'../x' is not allowed" in str(unsafe)
    corrupt = DatabaseCorruptError("sqlite:///d.db", "file is not a database")
    assert (corrupt.location, corrupt.detail) == ("sqlite:///d.db", "file is not a database")
    assert "migrator restore" in str(corrupt)
    file_error = JsonFileError(Path("a.json"), "r", line=1, column=2)
    assert (file_error.path, file_error.reason, file_error.line, file_error.column) == (
        Path("a.json"),
        "r",
        1,
        2,
    )


def test_hierarchy() -> None:
    """Store failures are StoreErrors; database ones DatabaseErrors: callers can catch a level."""
    assert issubclass(JsonFileError, StoreError)
    assert issubclass(UnsafePartitionError, StoreError)
    assert issubclass(PartitionConflictError, StoreError)
    assert issubclass(SchemaMismatchError, DatabaseError)
    assert issubclass(DatabaseCorruptError, DatabaseError)
    assert issubclass(DatabaseError, StoreError)
    assert not issubclass(DocumentError, StoreError)
