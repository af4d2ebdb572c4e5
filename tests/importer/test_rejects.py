"""Rejects: every file of fixtures/bad gives the right rejects, and the valid rest is imported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import NAME as STATE_DIR
from migrator.importer import import_store
from migrator.schemas.declaration import Schema
from tests.importer.conftest import FIXTURES, stored_documents, valid_documents

# file -> (rejects as (index, id, field, words of the error), ids imported)
EXPECTED: dict[str, tuple[list[tuple[int | None, str | None, str | None, str]], set[str]]] = {
    "bad_enum.json": ([(0, "bad-enum-1", "status", "'exploded' is not one of")], {"good-2"}),
    "duplicate_ids.json": ([(1, "dup-1", "id", "duplicate id")], {"dup-1", "good-4"}),
    "empty.json": ([(None, None, None, "empty file")], set()),
    "invalid_json.json": ([(None, None, None, "(line 3, column 11)")], set()),
    "missing_id.json": ([(0, None, "id", "missing")], {"good-3"}),
    "not_an_array.json": ([(None, None, None, "expected a JSON array")], set()),
    "wrong_types.json": (
        [
            (0, "bad-type-1", "timeout_seconds", "expected an integer, got string '600'"),
            (2, "bad-type-2", "instances", "expected a list, got string"),
        ],
        {"good-1"},
    ),
}


def test_every_bad_fixture_has_expectations() -> None:
    """A new file in fixtures/bad must say here what it should be rejected for."""
    assert {p.name for p in (FIXTURES / "bad").iterdir()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_gives_its_rejects_and_imports_the_rest(
    name: str, tmp_path: Path, sessions_schema: Schema, sql_store: SqlStore
) -> None:
    """Each malformed file is rejected record by record (or whole, with line and column), the
    rejects file names file, index, id, field and the raw record, and valid records import."""
    json_dir = tmp_path / "json"
    json_dir.mkdir()
    shutil.copy(FIXTURES / "bad" / name, json_dir / name)
    rejects = tmp_path / "rejects.jsonl"
    summary = import_store(JsonStore(json_dir, sessions_schema), sql_store, rejects_path=rejects)
    expected_rejects, expected_ids = EXPECTED[name]
    entries = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert summary.rejected == len(entries) == len(expected_rejects)
    assert summary.rejects_file == rejects
    for entry, (index, doc_id, field, words) in zip(entries, expected_rejects, strict=True):
        assert entry["file"] == str(json_dir / name)
        assert (entry["index"], entry["id"], entry["field"]) == (index, doc_id, field)
        assert words in entry["error"] and "\n" not in entry["error"]
        if field is not None:
            assert f"field {field}" in entry["error"]
        assert entry["record"] == (None if index is None else _records(json_dir / name)[index])
    assert set(sql_store.ids_in(Path(name).stem)) == expected_ids
    assert summary.imported == len(expected_ids)


def test_whole_bad_store_imports_every_valid_record(
    bad_store_dir: Path, sessions_schema: Schema, sql_store: SqlStore
) -> None:
    """All bad files together: nothing valid is lost because of a bad neighbour, and the rejects
    file lands in the store's state directory."""
    json_store = JsonStore(bad_store_dir, sessions_schema)
    summary = import_store(json_store, sql_store)
    assert not summary.ok
    assert summary.rejected == sum(len(rejects) for rejects, _ in EXPECTED.values())
    assert summary.rejects_file is not None
    assert summary.rejects_file.parent == bad_store_dir / STATE_DIR
    assert summary.rejects_file.name.startswith("rejects-")
    assert stored_documents(sql_store) == valid_documents(json_store)
    assert {p.name: p.status for p in summary.partitions}["invalid_json"] == "rejected"


def test_clean_import_writes_no_rejects_file(
    json_store: JsonStore, sql_store: SqlStore, tmp_path: Path
) -> None:
    """No rejects, no rejects file: the state directory holds only the store's identity
    (`migrator.adapters.store_identity`)."""
    summary = import_store(json_store, sql_store, rejects_path=tmp_path / "rejects.jsonl")
    assert summary.rejects_file is None
    assert not (tmp_path / "rejects.jsonl").exists()
    assert [p.name for p in (json_store.root / STATE_DIR).iterdir()] == ["store-id"]


def _records(path: Path) -> list[Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(value, list)
    return value
