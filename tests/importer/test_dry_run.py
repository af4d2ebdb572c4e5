"""--dry-run: the whole job in a throwaway database, and not one byte written anywhere."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.cli import app
from migrator.importer import import_store
from migrator.schemas.declaration import Schema
from migrator.schemas.decoding import DocumentDecoder
from tests.importer.conftest import FIXTURES, tree_digest


@pytest.fixture
def mixed_dir(fixture_store_dir: Path) -> Path:
    """The fixture store plus every bad file: valid documents and rejects side by side."""
    for path in (FIXTURES / "bad").iterdir():
        shutil.copy(path, fixture_store_dir / path.name)
    return fixture_store_dir


def test_dry_run_changes_no_byte_when_there_is_no_database(
    mixed_dir: Path, sql_path: Path, sessions_schema: Schema
) -> None:
    """No database file, no rejects file, no state directory: the trees hash the same."""
    before = tree_digest(mixed_dir, sql_path.parent)
    store = SqlStore(sql_path, sessions_schema)
    summary = import_store(JsonStore(mixed_dir, sessions_schema), store, dry_run=True)
    store.close()
    assert summary.dry_run and summary.imported == 36 + 5 and summary.rejected == 8
    assert summary.rejects_file is None
    assert tree_digest(mixed_dir, sql_path.parent) == before
    assert not sql_path.exists()


def test_dry_run_leaves_an_existing_database_byte_for_byte(
    mixed_dir: Path, sql_path: Path, sessions_schema: Schema
) -> None:
    """With a database from an earlier import, a dry run of changed files touches nothing."""
    json_store = JsonStore(mixed_dir, sessions_schema)
    store = SqlStore(sql_path, sessions_schema)
    import_store(json_store, store, rejects_path=sql_path.parent / "rejects.jsonl")
    store.close()
    partition = json_store.partitions()[0]
    docs = json_store.read_partition(partition)
    docs[0]["task"] = "edited since the import"
    json_store.write_partition(partition, docs)
    before = tree_digest(mixed_dir, sql_path.parent)
    store = SqlStore(sql_path, sessions_schema)
    summary = import_store(json_store, store, dry_run=True)
    store.close()
    assert summary.rejected == 8
    assert tree_digest(mixed_dir, sql_path.parent) == before


def test_dry_run_reports_what_a_real_import_does(
    mixed_dir: Path, sql_path: Path, sessions_schema: Schema
) -> None:
    """The dry run's counts and rejects are those of a first real import."""
    json_store = JsonStore(mixed_dir, sessions_schema)
    store = SqlStore(sql_path, sessions_schema)
    rehearsal = import_store(json_store, store, dry_run=True)
    real = import_store(json_store, store, rejects_path=sql_path.parent / "rejects.jsonl")
    store.close()

    def counts(summary: Any) -> list[tuple[str, str, int, int, int]]:
        return [(p.name, p.status, p.documents, p.imported, p.rejected) for p in summary.partitions]

    assert counts(rehearsal) == counts(real)
    assert [r.to_dict() for r in rehearsal.rejects] == [r.to_dict() for r in real.rejects]


def test_dry_run_reports_a_document_that_does_not_survive_the_round_trip(
    json_store: JsonStore, sql_path: Path, sessions_schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If what the database gives back differs from the file, the document is reported."""
    victim = json_store.list(json_store.partitions()[1])[3]["id"]
    real_document = DocumentDecoder.document

    def lossy(self: DocumentDecoder, *args: Any) -> dict[str, Any]:
        doc = real_document(self, *args)
        if doc["id"] == victim:
            doc["task"] += " (changed on the way)"
        return doc

    monkeypatch.setattr(DocumentDecoder, "document", lossy)
    store = SqlStore(sql_path, sessions_schema)
    summary = import_store(json_store, store, dry_run=True)
    store.close()
    assert summary.rejected == 1 and summary.imported == 35
    [reject] = summary.rejects
    assert reject.doc_id == victim and reject.index == 3
    assert "read back" in reject.error


def test_dry_run_from_the_command_line_writes_nothing(mixed_dir: Path, sql_path: Path) -> None:
    """`migrator import --dry-run` prints the summary, exits 1 for the rejects, and leaves no
    database, rejects file or history behind."""
    before = tree_digest(mixed_dir, sql_path.parent)
    result = CliRunner().invoke(
        app, ["import", "--json-dir", str(mixed_dir), "--db", str(sql_path), "--dry-run"]
    )
    assert result.exit_code == 1, result.output
    assert "dry run" in result.output
    assert tree_digest(mixed_dir, sql_path.parent) == before
