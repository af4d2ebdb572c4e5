"""What the docs tell a newcomer about their own schema and the config file is true (issue 16,
point 13): the example document imports as described, both TOML forms give the same settings,
and forgetting --schema says what to pass."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.hints import run

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _blocks(page: str, fence: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(rf"```{fence}\n(.*?)```", text, re.S)


@pytest.fixture
def bookmarks(tmp_path: Path) -> Path:
    """docs/schema.md's declaration as an importable module, myapp/storage.py (used in child
    processes only: its tables must not join this process's SQLModel metadata)."""
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "storage.py").write_text(_blocks("schema.md", "python")[0], encoding="utf-8")
    return tmp_path


def test_the_example_document_imports_as_described(bookmarks: Path) -> None:
    (bookmarks / "bookmarks").mkdir()
    documents = json.loads(_blocks("schema.md", "json")[0])
    (bookmarks / "bookmarks" / "inbox.json").write_text(json.dumps(documents), encoding="utf-8")
    stores = ["--json-dir", "bookmarks", "--db", "bookmarks.db"]
    schema = ["--schema", "myapp.storage:BOOKMARKS"]
    env_run = _with_path(bookmarks)
    assert env_run(["import", *stores, *schema, "-q"]).returncode == 0
    assert env_run(["validate", *stores, *schema]).returncode == 0
    exported = env_run(["export", "--db", "bookmarks.db", *schema, "--out", "out"])
    assert exported.returncode == 0, exported.stderr
    # The folder is the file stem again, and `note` came back from `extra`.
    assert json.loads((bookmarks / "out" / "inbox.json").read_text()) == documents
    forgot = env_run(["validate", *stores])
    assert forgot.returncode == 2
    assert "holds schema 'bookmarks', not 'sessions': pass the --schema" in forgot.stderr


def _with_path(cwd: Path) -> Callable[[list[str]], subprocess.CompletedProcess[str]]:
    """`migrator` in `cwd` with `cwd` importable too, as the docs say the module must be."""

    def call(args: list[str]) -> subprocess.CompletedProcess[str]:
        return run(args, cwd, importable=cwd)

    return call


def test_both_config_file_forms_give_the_same_settings(tmp_path: Path) -> None:
    """The pyproject form under [tool.migrator], and the flat migrator.toml form."""
    pyproject_form, flat_form = _blocks("configuration.md", "toml")[:2]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "pyproject.toml").write_text(pyproject_form, encoding="utf-8")
    (tmp_path / "b" / "migrator.toml").write_text(flat_form, encoding="utf-8")
    shown = []
    for where in ("a", "b"):
        result = run(["config", "--format", "json"], tmp_path / where)
        assert result.returncode == 0, result.stderr
        settings = json.loads(result.stdout)["settings"]
        here = str(tmp_path / where)  # relative paths are relative to the file
        shown.append(
            {
                key: value["value"].replace(here, ".")
                if isinstance(value["value"], str)
                else value["value"]
                for key, value in settings.items()
            }
        )
    assert shown[0] == shown[1]
    assert shown[0]["validate.ignore_path"] == ["root\\['updated_at'\\]"]
    pasted = tmp_path / "c"
    pasted.mkdir()
    (pasted / "migrator.toml").write_text(pyproject_form, encoding="utf-8")
    refused = run(["config"], pasted)
    assert refused.returncode == 2 and "[tool] is not a migrator command" in refused.stderr
