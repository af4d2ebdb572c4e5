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


def test_no_submodule_is_named_like_a_public_name() -> None:
    """Importing a submodule binds it on the package under its own name, and a bound name is
    never looked up in the API again: no submodule may be named like a verb."""
    import pkgutil

    submodules = {info.name for info in pkgutil.iter_modules(migrator.__path__)}
    assert submodules & set(migrator.__all__) == set()


def test_a_verb_is_a_function_after_the_modules_behind_it_are_imported() -> None:
    """`migrator.repair` once was the module `phases.py` imports, for a program that had
    imported `migrator.phases` first."""
    import subprocess
    import sys

    program = (
        "import migrator.phases, migrator.run_validate, migrator.doctor, migrator\n"
        "print([n for n in ('repair', 'check', 'status', 'validate')\n"
        "       if not callable(getattr(migrator, n))])\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
