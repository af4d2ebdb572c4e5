"""The public Python API: every exported name resolves, and the path-taking verbs work."""

from __future__ import annotations

from pathlib import Path

import pytest

import migrator
import migrator.api


def test_every_public_name_resolves_and_matches_the_api_module() -> None:
    """`migrator.X` serves exactly `migrator.api.__all__`, plus the version."""
    assert set(migrator.__all__) == {"__version__", *migrator.api.__all__}
    for name in migrator.api.__all__:
        assert getattr(migrator, name) is getattr(migrator.api, name)


def test_unknown_attribute_is_an_attribute_error() -> None:
    """A typo is an AttributeError, not a silent None."""
    with pytest.raises(AttributeError):
        _ = migrator.no_such_thing  # type: ignore[attr-defined]


def test_import_then_validate_through_the_api(fixture_store_dir: Path, tmp_path: Path) -> None:
    """`migrator.import_store` then `migrator.validate` on the fixtures: all imported, equal."""
    db = tmp_path / "api.db"
    summary = migrator.import_store(fixture_store_dir, db)
    assert summary.imported == 36
    assert summary.rejected == 0
    report = migrator.validate(fixture_store_dir, db)
    assert report.ok, report.to_dict()
    assert report.counts["matched"] == 36


def test_open_store_is_a_context_manager_over_both_stores(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """The application's store opens on paths and reads what the JSON store holds."""
    with migrator.open_store(fixture_store_dir, tmp_path / "app.db") as store:
        assert str(store.phase) == "json-only"
        partition = store.partitions()[0]
        assert len(store.list(partition)) == 12


def test_a_submodule_can_be_the_first_import(tmp_path: Path) -> None:
    """`import migrator.validator` as a program's first import works (no circular import)."""
    import subprocess
    import sys

    for module in (
        "migrator.validator",
        "migrator.phases",
        "migrator.checklist",
        "migrator.importer",
    ):
        result = subprocess.run(
            [sys.executable, "-c", f"import {module}"], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr


def test_no_submodule_import_shadows_a_public_name() -> None:
    """Importing a submodule binds it on the package under its own name, before any API
    lookup: no submodule may be named like a verb (`migrator.repair` once was the module)."""
    import subprocess
    import sys

    program = (
        "import importlib, pkgutil, migrator\n"
        "for info in pkgutil.walk_packages(migrator.__path__, 'migrator.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "import migrator.api\n"
        "bad = [n for n in migrator.api.__all__\n"
        "       if getattr(migrator, n) is not getattr(migrator.api, n)]\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
