"""Small modules and classes of one idea (issue 20): no module of the toolkit over about 400 lines
and no class over about 200, measured from the source so a growing module cannot slip by."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("migrator", "adapters", "schemas")
MODULE_LINES = 400
CLASS_LINES = 200


def _modules() -> list[Path]:
    """The toolkit's own modules; the symlinked `migrator/adapters` and `migrator/schemas` are
    the same files as the top-level folders, and Alembic writes the revision scripts."""
    found: list[Path] = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            relative = path.relative_to(REPO).as_posix()
            if relative.startswith(("migrator/adapters/", "migrator/schemas/")):
                continue
            if "sessions_revisions/" in relative:
                continue
            found.append(path)
    return sorted(found)


def oversized(paths: list[Path]) -> list[str]:
    """One line per module or class over its limit."""
    found: list[str] = []
    for path in paths:
        source = path.read_text()
        name = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name
        lines = len(source.splitlines())
        if lines > MODULE_LINES:
            found.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(source, name)):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > CLASS_LINES:
                    found.append(f"{name}: class {node.name} {length} lines")
    return found


def test_the_toolkit_has_modules_to_measure() -> None:
    assert len(_modules()) > 50


def test_no_module_or_class_is_oversized() -> None:
    assert oversized(_modules()) == []


def test_the_measure_catches_a_long_module_and_a_long_class(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(CLASS_LINES + 1))
    long_class = tmp_path / "long_class.py"
    long_class.write_text(f"class Big:\n{body}\n")
    long_module = tmp_path / "long_module.py"
    long_module.write_text("\n".join(f"y{i} = {i}" for i in range(MODULE_LINES + 1)) + "\n")
    assert oversized([long_class, long_module]) == [
        f"long_class.py: class Big {CLASS_LINES + 2} lines",
        f"long_module.py: {MODULE_LINES + 1} lines",
    ]
