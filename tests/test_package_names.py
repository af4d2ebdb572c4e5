"""The toolkit's stores and schemas are installed as `migrator.adapters` and `migrator.schemas`
(symlinks to the repository's top-level folders), so a user's own `schemas.py` or `adapters/`
package on the path cannot shadow them: a natural name for the module declaring one's schema."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


# --------------------------------------------------------------------------- installed


#: A user's schema declaration (docs/schema.md's example) and a document of it.
BOOKMARKS = """
from sqlmodel import Field
from migrator.schemas import ChildList, DocumentRow, Schema


class Bookmark(DocumentRow, table=True):
    __tablename__ = "bookmarks"
    id: str = Field(primary_key=True)
    folder: str
    url: str


class Tag(DocumentRow, table=True):
    __tablename__ = "bookmark_tags"
    id: int | None = Field(default=None, primary_key=True)
    bookmark_id: str = Field(foreign_key="bookmarks.id", ondelete="CASCADE")
    label: str


BOOKMARKS = Schema(name="bookmarks", version=1, root=Bookmark, partition_column="folder",
                   children=(ChildList(key="tags", model=Tag, parent_column="bookmark_id",
                                       surrogate_key="id"),))
"""
INBOX = '[{"id": "b1", "url": "https://example.org", "tags": [{"label": "sql"}], "note": 1}]'


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as `pip install .` lays it out (setuptools' build_py, from a copy of the
    sources, so the checkout gains no build files): `migrator/` with `adapters/` and
    `schemas/` inside it, and no top-level `adapters` or `schemas`."""
    tmp_path = tmp_path_factory.mktemp("installed")
    sources = tmp_path / "sources"
    for name in ("migrator", "adapters", "schemas"):
        shutil.copytree(
            REPO / name,
            sources / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, sources / name)
    lib = tmp_path / "site"
    build = [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py"]
    subprocess.run(
        [*build, "--build-lib", str(lib)], cwd=sources, check=True, capture_output=True, timeout=120
    )
    assert sorted(p.name for p in lib.iterdir()) == ["migrator"]
    assert (lib / "migrator" / "schemas" / "sessions.py").is_file()
    return lib


@pytest.mark.parametrize("layout", ["schemas.py and adapters/", "schemas/ and adapters.py"])
def test_an_installed_package_beside_a_user_schemas_module(
    installed: Path, tmp_path: Path, layout: str
) -> None:
    """From the installed layout (the repository not on the path), in a project whose own
    `schemas` declares its schema (`schema="schemas:BOOKMARKS"`) and whose own `adapters`
    would fail if imported: the Python API imports and validates, and so does the CLI."""
    lib = installed
    project = tmp_path / "project"
    (project / "inbox").mkdir(parents=True)
    (project / "inbox" / "inbox.json").write_text(INBOX)
    broken = "raise ImportError('the user adapters module was imported')\n"
    if layout.startswith("schemas.py"):
        (project / "schemas.py").write_text(BOOKMARKS)
        (project / "adapters").mkdir()
        (project / "adapters" / "__init__.py").write_text(broken)
    else:
        (project / "schemas").mkdir()
        (project / "schemas" / "__init__.py").write_text(BOOKMARKS)
        (project / "adapters.py").write_text(broken)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(lib), str(project)])}
    store = ["--json-dir", "inbox", "--db", "app.db", "--schema", "schemas:BOOKMARKS"]

    script = (  # one process (each costs a second): the Python API, then the CLI's main
        "import migrator\n"
        f"assert migrator.__file__.startswith({str(lib)!r}), migrator.__file__\n"
        "migrator.import_store('inbox', 'app.db', 'schemas:BOOKMARKS')\n"
        "report = migrator.validate('inbox', 'app.db', 'schemas:BOOKMARKS')\n"
        "print('validated', report.ok, report.counts['matched'], flush=True)\n"
        "from migrator.cli import main\n"
        f"raise SystemExit(main({['validate', *store]!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "validated True 1\nOK: 1 documents match\n"
