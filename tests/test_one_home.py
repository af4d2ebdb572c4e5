"""Issue 20 points 2 and 3, read from the source: the filesystem helpers live in one module
(`migrator.adapters.fs`), each timeout is one named setting, each class name one class. Found
from outside: a second `fsync_directory` in `sqlite_files` (which `backup` imported), a report
writer of the CLI's own (temporary file, fsync, rename), the PostgreSQL connect timeout defined
twice, a bare `timeout=30` beside the SQLite busy timeout of the same value, and two classes
named `Snapshot`."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.test_code_shape import REPO, _modules

FS = REPO / "adapters" / "fs.py"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_the_filesystem_helpers_are_defined_only_in_fs() -> None:
    """No module defines a function of fs's name (a method handing on to one may share it)."""
    helpers = {
        node.name
        for node in _tree(FS).body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }
    assert {"write_atomically", "fsync_directory", "fsync_file"} <= helpers
    elsewhere = [
        f"{_name(path)}: {node.name}"
        for path in _modules()
        if path != FS
        for node in _tree(path).body
        if isinstance(node, ast.FunctionDef) and node.name in helpers
    ]
    assert elsewhere == []


def test_only_fs_makes_temporary_files_to_rename() -> None:
    """`tempfile.mkstemp` then `os.replace` is `write_atomically`; the two that stream what
    they write (an archive's tarball, a database staged for restore) keep their own."""
    streaming = {"migrator/archive.py", "adapters/sqlite_files.py"}
    found = []
    for path in _modules():
        source = path.read_text()
        if path != FS and "mkstemp(" in source and "os.replace(" in source:
            found.append(_name(path))
    assert sorted(set(found) - streaming) == []


def test_each_timeout_is_defined_once() -> None:
    defined: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        for node in _tree(path).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if "TIMEOUT" in name:
                    defined[name].append(_name(path))
    assert {name: where for name, where in defined.items() if len(where) > 1} == {}


def test_sqlite_connections_wait_the_named_busy_timeout() -> None:
    """Every `sqlite3.connect(..., timeout=...)` names its setting, never a bare number."""
    bare = [
        f"{_name(path)}:{node.lineno}"
        for path in _modules()
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "sqlite3.connect"
        for keyword in node.keywords
        if keyword.arg == "timeout" and isinstance(keyword.value, ast.Constant)
    ]
    assert bare == []


def test_each_class_name_is_defined_once() -> None:
    """Two classes of one name are two ideas a reader confuses (the issue found two `_Run`s;
    from outside: `backup.Snapshot`, a TypedDict of options, beside `run_protocol.Snapshot`)."""
    defined: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                defined[node.name].append(_name(path))
    assert {name: where for name, where in defined.items() if len(where) > 1} == {}
