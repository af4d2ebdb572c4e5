"""Issue 20 point 3, "delete what nothing uses", kept true: every function, method and class
the toolkit defines is named somewhere else in the toolkit (a call, a reference, an export),
or is part of the public API, or is a hook a library calls by name. Found from outside:
`state_dir.owner_of` and the CLI's `defaults.option_names`, which nothing called."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import migrator
from tests.test_code_shape import _modules

#: Called by name by another library, never by the toolkit itself.
HOOKS = {
    "to_diff_tuple",  # Alembic's MigrateOperation, for autogenerate's comparison
}
#: Read by Python callers of a public verb's result (no toolkit code needs them).
RESULT_FIELDS = {
    "checksums_verified",  # RestorePlan: whether the backup came with its manifest
}
#: Decorators that register what they decorate (a command, a renderer, an event listener).
_REGISTERS = re.compile(r"command|callback|dispatch_for|listens_for|validator")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def unused(paths: list[Path]) -> list[str]:
    """`path:line name` of each definition whose name appears nowhere but in its definition."""
    sources = {path: path.read_text() for path in paths}
    words = Counter(word for text in sources.values() for word in _WORD.findall(text))
    allowed = set(migrator.__all__) | HOOKS | RESULT_FIELDS
    found = []
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text, str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            name = node.name
            decorators = " ".join(ast.unparse(d) for d in node.decorator_list)
            if name.startswith("__") or name in allowed or _REGISTERS.search(decorators):
                continue  # dunders, the API, and what a decorator registers (commands)
            if words[name] <= 1:
                found.append(f"{path.name}:{node.lineno} {name}")
    return found


def test_nothing_the_toolkit_defines_is_unused() -> None:
    assert unused(_modules()) == []


def test_the_search_finds_an_unused_function(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text("def used():\n    pass\n\n\ndef forgotten():\n    used()\n")
    assert unused([module]) == ["sample.py:5 forgotten"]
