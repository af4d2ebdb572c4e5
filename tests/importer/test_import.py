"""import_store: what a run imports, skips, replaces, reports and prunes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.errors import UsageError
from migrator.import_summary import ImportProgress
from migrator.importer import import_store
from migrator.schemas.declaration import Schema
from migrator.schemas.jsontext import dumps_pretty
from tests.importer.conftest import stored_documents, table_rows, valid_documents


def test_first_import_copies_every_document_exactly(
    json_store: JsonStore, sql_store: SqlStore
) -> None:
    """Every fixture document (unicode, NUL, 2 MB output, huge integers...) arrives intact."""
    summary = import_store(json_store, sql_store)
    assert summary.ok
    assert (summary.files, summary.documents, summary.imported) == (3, 36, 36)
    assert summary.unchanged == summary.rejected == summary.gone == 0
    assert summary.rejects_file is None
    assert stored_documents(sql_store) == valid_documents(json_store)
    for partition in json_store.partitions():
        assert sql_store.list(partition) == json_store.list(partition)


def test_rerun_is_idempotent_and_skips_unchanged_files(
    json_store: JsonStore, sql_store: SqlStore
) -> None:
    """A second run finds every file unchanged: nothing written, the same rows."""
    import_store(json_store, sql_store)
    before = table_rows(sql_store)
    summary = import_store(json_store, sql_store)
    assert summary.ok
    assert (summary.imported, summary.unchanged, summary.documents) == (0, 36, 36)
    assert {p.status for p in summary.partitions} == {"unchanged"}
    assert table_rows(sql_store) == before


def test_small_batches_give_the_same_result(
    generated_store_dir: Path, sessions_schema: Schema, sql_store: SqlStore
) -> None:
    """Partitions split over many transactions end exactly as with one transaction each."""
    json_store = JsonStore(generated_store_dir, sessions_schema)
    summary = import_store(json_store, sql_store, batch_size=7)
    assert summary.ok and summary.imported == 400
    assert stored_documents(sql_store) == valid_documents(json_store)
    assert set(sql_store.import_marks()) == set(json_store.partitions())
    again = import_store(json_store, sql_store, batch_size=7)
    assert again.unchanged == 400 and again.imported == 0


def test_changed_document_is_replaced_and_other_files_skipped(
    json_store: JsonStore, sql_store: SqlStore
) -> None:
    """Editing one document re-imports its file only, and the database holds the new text."""
    import_store(json_store, sql_store)
    partition = json_store.partitions()[1]
    docs = json_store.read_partition(partition)
    docs[3]["task"] = "changed after the first import ✓"
    docs[3]["instances"] = docs[3]["instances"][:1]
    json_store.write_partition(partition, docs)
    summary = import_store(json_store, sql_store)
    by_name = {p.name: p for p in summary.partitions}
    assert by_name[partition].status == "imported"
    assert by_name[partition].imported == len(docs)
    assert summary.unchanged == 36 - len(docs)
    assert sql_store.get(docs[3]["id"]) == docs[3]
    assert stored_documents(sql_store) == valid_documents(json_store)


def test_gone_document_is_reported_and_kept_without_prune(
    json_store: JsonStore, sql_store: SqlStore
) -> None:
    """A document removed from its file stays in the database and is reported as gone, again
    on every run until pruned."""
    import_store(json_store, sql_store)
    partition = json_store.partitions()[2]
    docs = json_store.read_partition(partition)
    removed = docs.pop(5)
    json_store.write_partition(partition, docs)
    for _ in range(2):
        summary = import_store(json_store, sql_store)
        assert summary.ok
        result = {p.name: p for p in summary.partitions}[partition]
        assert result.gone == [removed["id"]]
        assert summary.gone == 1 and summary.pruned == 0
        assert sql_store.get(removed["id"]) == removed


def test_prune_deletes_gone_documents(json_store: JsonStore, sql_store: SqlStore) -> None:
    """With prune, a document removed from its file is deleted, then the file is unchanged."""
    import_store(json_store, sql_store)
    partition = json_store.partitions()[2]
    docs = json_store.read_partition(partition)
    removed = docs.pop(0)
    json_store.write_partition(partition, docs)
    summary = import_store(json_store, sql_store, prune=True)
    assert summary.pruned == 1
    assert sql_store.get(removed["id"]) is None
    assert stored_documents(sql_store) == valid_documents(json_store)
    assert import_store(json_store, sql_store).unchanged == 35


def test_vanished_file_is_reported_then_pruned(json_store: JsonStore, sql_store: SqlStore) -> None:
    """A partition file that disappeared is reported as missing; prune keeps its documents
    (the store may have lost the file: `held`), prune_all deletes them and forgets its import
    mark."""
    import_store(json_store, sql_store)
    partition = json_store.partitions()[0]
    ids = [doc["id"] for doc in json_store.list(partition)]
    json_store.path_for(partition).unlink()
    summary = import_store(json_store, sql_store)
    result = {p.name: p for p in summary.partitions}[partition]
    assert result.status == "missing"
    assert result.gone == sorted(ids)
    assert summary.files == 2
    assert sql_store.ids_in(partition)
    held = import_store(json_store, sql_store, prune=True)
    assert (held.pruned, held.held) == (0, len(ids))
    assert sorted(sql_store.ids_in(partition)) == sorted(ids)
    pruned = import_store(json_store, sql_store, prune_all=True)
    assert pruned.pruned == len(ids)
    assert sql_store.ids_in(partition) == []
    assert partition not in sql_store.import_marks()


def test_document_moved_to_another_file_follows_it(
    json_store: JsonStore, sql_store: SqlStore
) -> None:
    """A document moved from one file to another ends in its new partition, not reported gone."""
    import_store(json_store, sql_store)
    first, second = json_store.partitions()[:2]
    source = json_store.read_partition(first)
    moved = source.pop(4)
    json_store.write_partition(first, source)
    json_store.write_partition(second, [*json_store.read_partition(second), moved])
    summary = import_store(json_store, sql_store)
    assert summary.ok and summary.gone == 0
    assert sql_store.partition_of(moved["id"]) == second
    assert stored_documents(sql_store) == valid_documents(json_store)


def test_id_in_two_files_is_kept_by_the_first_and_rejected_in_the_other(
    tmp_path: Path, sessions_schema: Schema, json_store: JsonStore, sql_store: SqlStore
) -> None:
    """On a first import the first file in name order keeps a shared id; the database's owner
    keeps it on later runs; the other record is rejected naming the field `id`."""
    doc = json_store.list(json_store.partitions()[1])[2]
    copy = dict(doc, task="the same id in another file")
    json_store.write_partition("zzzz000000000000", [copy])
    json_store.write_partition("0000000000000000", [copy])
    rejects = tmp_path / "rejects.jsonl"
    summary = import_store(json_store, sql_store, rejects_path=rejects)
    assert summary.rejected == 2
    assert sql_store.partition_of(doc["id"]) == "0000000000000000"
    entries = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(Path(e["file"]).stem, e["index"], e["id"], e["field"]) for e in entries] == [
        (json_store.partitions()[2], 2, doc["id"], "id"),
        ("zzzz000000000000", 0, doc["id"], "id"),
    ]
    assert "0000000000000000" in entries[0]["error"]
    # The owner keeps it on the next run, whatever the name order.
    again = import_store(json_store, sql_store, rejects_path=tmp_path / "again.jsonl")
    assert again.rejected == 2
    assert sql_store.partition_of(doc["id"]) == "0000000000000000"


def test_document_the_database_refuses_is_rejected_and_the_rest_imported(
    tmp_path: Path, json_store: JsonStore, sql_store: SqlStore
) -> None:
    """A chat message id already used by another session: only that session is rejected, its
    neighbours in the same transaction are imported, and its file gets no import mark."""
    partition = json_store.partitions()[1]
    docs = json_store.read_partition(partition)
    donor = next(d for d in docs if d.get("chat_history"))
    thief = next(d for d in docs[docs.index(donor) + 1 :] if d.get("chat_history"))
    thief["chat_history"][0]["id"] = donor["chat_history"][0]["id"]
    json_store.write_partition(partition, docs)
    rejects = tmp_path / "rejects.jsonl"
    summary = import_store(json_store, sql_store, rejects_path=rejects)
    assert summary.rejected == 1 and summary.imported == 35
    [entry] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert (entry["id"], entry["index"]) == (thief["id"], docs.index(thief))
    assert "refused by the database" in entry["error"]
    assert entry["record"] == thief
    assert sql_store.get(thief["id"]) is None
    assert sql_store.get(donor["id"]) == donor
    assert partition not in sql_store.import_marks()
    expected = valid_documents(json_store)
    del expected[thief["id"]]
    assert stored_documents(sql_store) == expected


def test_rejected_file_is_read_again_and_its_rejects_reported_again(
    bad_store_dir: Path, sessions_schema: Schema, sql_store: SqlStore, tmp_path: Path
) -> None:
    """Files with rejects get no import mark: the next run reports the same rejects."""
    json_store = JsonStore(bad_store_dir, sessions_schema)
    first = import_store(json_store, sql_store, rejects_path=tmp_path / "1.jsonl")
    second = import_store(json_store, sql_store, rejects_path=tmp_path / "2.jsonl")
    assert first.rejected == second.rejected == 8
    assert [r.to_dict() for r in first.rejects] == [r.to_dict() for r in second.rejects]
    assert (tmp_path / "1.jsonl").read_bytes() == (tmp_path / "2.jsonl").read_bytes()


def test_file_restored_after_an_unfinished_import_is_imported_again(
    json_store: JsonStore, sql_store: SqlStore
) -> None:
    """A file rewritten, imported with rejects, then restored byte for byte is not taken as
    unchanged: the mark of its old content was dropped when its new content was written."""
    partition = json_store.partitions()[1]
    original = json_store.path_for(partition).read_bytes()
    import_store(json_store, sql_store)
    docs = json_store.read_partition(partition)
    docs[0]["task"] = "an edit that is imported"
    docs[1]["status"] = "not a status"  # a reject: no new mark for the file
    json_store.write_partition(partition, docs)
    import_store(json_store, sql_store)
    json_store.path_for(partition).write_bytes(original)
    summary = import_store(json_store, sql_store)
    assert {p.name: p for p in summary.partitions}[partition].status == "imported"
    assert stored_documents(sql_store) == valid_documents(json_store)


def test_empty_array_file_imports_nothing_and_is_marked(
    json_store: JsonStore, sql_store: SqlStore
) -> None:
    """A file holding [] is a valid partition with no documents."""
    json_store.path_for("e000000000000000").write_bytes(dumps_pretty([]))
    summary = import_store(json_store, sql_store)
    assert summary.ok
    assert {p.name: p for p in summary.partitions}["e000000000000000"].documents == 0
    assert "e000000000000000" in sql_store.import_marks()


def test_progress_reports_every_file_and_ends_at_the_total(
    json_store: JsonStore, sql_store: SqlStore
) -> None:
    """The progress callback sees bytes grow to the total and the documents read."""
    steps: list[ImportProgress] = []
    import_store(json_store, sql_store, progress=steps.append)
    assert [s.files_done for s in steps] == [1, 2, 3]
    assert [s.bytes_done for s in steps] == sorted(s.bytes_done for s in steps)
    assert steps[-1].bytes_done == steps[-1].bytes_total > 2_000_000
    assert steps[-1].documents == 36


def test_missing_json_directory_is_a_usage_error(
    tmp_path: Path, sessions_schema: Schema, sql_store: SqlStore
) -> None:
    """Importing from a directory that does not exist fails before touching the database."""
    with pytest.raises(UsageError, match="does not exist"):
        import_store(JsonStore(tmp_path / "nowhere", sessions_schema), sql_store)
