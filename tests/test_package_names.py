"""The toolkit's stores and schemas are installed as `migrator.adapters` and `migrator.schemas`
(symlinks to the repository's top-level folders), so a user's own `schemas.py` or `adapters/`
package on the path cannot shadow them: a natural name for the module declaring one's schema."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("migrator", "adapters", "schemas", "tests", "bench", "examples", "scripts")


def _python_files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCE_DIRS:
        files += [p for p in (REPO / name).rglob("*.py") if "migrator/adapters" not in str(p)]
    return [p for p in files if "migrator/schemas" not in str(p.relative_to(REPO))]


def test_no_module_imports_the_top_level_folders_by_their_bare_names() -> None:
    bare: list[str] = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            bare += [
                f"{path.relative_to(REPO)}:{node.lineno}: {name}"
                for name in names
                if name.split(".")[0] in ("adapters", "schemas")
            ]
    assert bare == []


def _user_project(tmp_path: Path) -> Path:
    """A project of a user's own with a `schemas.py` and an `adapters/` package of its own."""
    project = tmp_path / "project"
    (project / "adapters").mkdir(parents=True)
    (project / "schemas.py").write_text("SHADOW = 'the user schemas module'\n")
    (project / "adapters" / "__init__.py").write_text("SHADOW = 'the user adapters package'\n")
    return project


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(project), os.environ.get("PYTHONPATH", str(REPO))])
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        list(args), cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_user_schemas_module_does_not_break_the_cli(tmp_path: Path) -> None:
    project = _user_project(tmp_path)
    cli = [sys.executable, "-m", "migrator"]
    generated = _run(project, *cli, "generate", "--sessions", "5", "--out", "store", "--seed", "1")
    assert generated.returncode == 0, generated.stderr
    imported = _run(project, *cli, "import", "--json-dir", "store", "--db", "app.db")
    assert imported.returncode == 0, imported.stderr
    validated = _run(project, *cli, "validate", "--json-dir", "store", "--db", "app.db")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "Traceback" not in validated.stderr


def test_a_user_schemas_module_does_not_break_the_python_api(tmp_path: Path) -> None:
    project = _user_project(tmp_path)
    script = (
        "import schemas, adapters, migrator\n"
        "assert schemas.SHADOW and adapters.SHADOW\n"
        "from migrator.schemas.registry import resolve\n"
        "migrator.generate_store('store', sessions=3, seed=2, schema=resolve('sessions'))\n"
        "migrator.import_store('store', 'store.db')\n"
        "report = migrator.validate('store', 'store.db')\n"
        "assert report.ok, report\n"
        "print('validated', report.ok)\n"
    )
    result = _run(project, sys.executable, "-c", script)
    assert result.returncode == 0, result.stderr
    assert "validated True" in result.stdout
