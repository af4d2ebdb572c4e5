"""Export: the database written back as a legacy JSON store equal to the one imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.errors import UsageError
from migrator.export import export_store
from migrator.schemas.jsontext import loads
from migrator.validator import validate
from tests.conftest import FIXTURES
from tests.safety.conftest import Setup, invoke


def test_export_round_trip_equals_the_original_store(setup: Setup, tmp_path: Path) -> None:
    """Every exported document equals the original, key order included; the files are the
    legacy application's bytes; validating the export against the database is clean."""
    out = tmp_path / "exported"
    result = export_store(setup.db, setup.schema, out)
    assert (result.partitions, result.documents) == (3, 36)
    originals = sorted((FIXTURES / "store").glob("*.json"))
    assert sorted(p.name for p in out.glob("*.json")) == [p.name for p in originals]
    for original in originals:
        exported = out / original.name
        before, after = loads(original.read_bytes()), loads(exported.read_bytes())
        assert after == before
        for old, new in zip(before, after, strict=True):
            assert list(new) == list(old)
        assert exported.read_bytes() == original.read_bytes()
    store = setup.sql_store()
    try:
        report = validate(JsonStore(out, setup.schema), store)
    finally:
        store.close()
    assert report.ok


def test_export_refuses_a_non_empty_directory_without_force(setup: Setup, tmp_path: Path) -> None:
    """A non-empty DIR is refused (exit 2); --force writes into it."""
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = invoke("export", "--db", str(setup.db), "--out", str(out))
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert not list(out.glob("*.json"))
    forced = invoke("export", "--db", str(setup.db), "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert len(list(out.glob("*.json"))) == 3 and (out / "keep.txt").read_text() == "mine"


def test_export_one_partition(setup: Setup, tmp_path: Path) -> None:
    """--partition writes only that partition; an unknown one is a usage error."""
    out = tmp_path / "one"
    result = export_store(setup.db, setup.schema, out, partitions=["8c1d2e3f4a5b6c7d"])
    assert result.partitions == 1
    assert [p.name for p in out.glob("*.json")] == ["8c1d2e3f4a5b6c7d.json"]
    with pytest.raises(UsageError, match="no such partition"):
        export_store(setup.db, setup.schema, tmp_path / "two", partitions=["nope"])


def test_export_command_reports_counts(setup: Setup, tmp_path: Path) -> None:
    """`migrator export` says how many documents and files it wrote, and where."""
    out = tmp_path / "cli"
    result = invoke("export", "--db", str(setup.db), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "exported 36 document(s) in 3 partition file(s)" in result.stdout
