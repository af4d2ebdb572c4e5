"""`migrator.validator.validate` on real stores: each planted difference is found, exactly."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from migrator.errors import DatabaseError, JsonFileError, UsageError
from migrator.schemas.codec import canonical_bytes
from tests.databases import on_both
from tests.validator.conftest import (
    P1,
    P2,
    P3,
    Stores,
    expected_mismatches,
    fixture_doc,
    plant_every_kind,
    sid,
)


def exactly(actual: Any, expected: Any) -> bool:
    """Equal as JSON documents, types included (600 is not 600.0)."""
    return canonical_bytes(actual) == canonical_bytes(expected)


#: A clean validation's counts of the 36 fixture documents (the CLI's JSON report says the same).
CLEAN_COUNTS = {
    "json": 36,
    "sqlite": 36,
    "matched": 36,
    "missing_in_sqlite": 0,
    "missing_in_json": 0,
    "mismatched": 0,
    "ignored": 0,
    "invalid_in_json": 0,
    "in_flight": 0,
    "settled": 0,
}


@on_both
def test_identical_stores_agree(stores: Stores) -> None:
    """Two stores holding the same documents: ok, every document matched, nothing listed."""
    report = stores.validate()
    assert report.ok
    assert report.counts == CLEAN_COUNTS
    assert (report.missing_in_sqlite, report.missing_in_json, report.mismatched) == ([], [], [])
    assert report.sampled is False
    assert report.schema == "sessions"


@on_both
def test_every_planted_kind_is_found_exactly(stores: Stores) -> None:
    """Child field, deleted child, type changes, dropped key, missing, extra and moved docs."""
    planted = plant_every_kind(stores)
    report = stores.validate()
    data = report.to_dict()
    assert not report.ok
    assert exactly(data["mismatched"], expected_mismatches(planted))
    assert data["missing_in_sqlite"] == [{"id": sid(1, 3), "partition": P2}]
    assert data["missing_in_json"] == [{"id": planted.extra_doc_id, "partition": P2}]
    assert report.counts == {
        "json": 36,
        "sqlite": 36,
        "matched": 29,
        "missing_in_sqlite": 1,
        "missing_in_json": 1,
        "mismatched": 6,
        "ignored": 0,
        "invalid_in_json": 0,
        "in_flight": 0,
        "settled": 0,
    }
    assert report.compared == 37


def test_counts_add_up_per_side(stores: Stores) -> None:
    """Each side's count is matched + mismatched + what only that side has."""
    plant_every_kind(stores)
    c = stores.validate().counts
    assert c["json"] == c["matched"] + c["mismatched"] + c["missing_in_sqlite"]
    assert c["sqlite"] == c["matched"] + c["mismatched"] + c["missing_in_json"]


def test_moved_document_with_changed_content_lists_both(stores: Stores) -> None:
    """A document moved and edited: the partition change first, then the content changes."""
    stores.sql(
        "UPDATE sessions SET workspace_hash = ?, status = 'paused' WHERE id = ?", P1, sid(2, 0)
    )
    before = fixture_doc(P3, sid(2, 0))["status"]
    (mismatch,) = stores.validate().mismatched
    assert mismatch.partition == P3
    assert [d.to_dict() for d in mismatch.differences] == [
        {"path": "root", "kind": "partition_changed", "json": P3, "sqlite": P1},
        {"path": "root['status']", "kind": "values_changed", "json": before, "sqlite": "paused"},
    ]


def test_moved_in_the_json_store_is_one_mismatch(stores: Stores) -> None:
    """A document moved between JSON files is one mismatch, not a missing pair."""
    moved: list[Any] = []
    stores.edit_json(P1, lambda docs: moved.append(docs.pop(3)))
    stores.edit_json(P2, lambda docs: docs.append(moved[0]))
    report = stores.validate()
    assert report.counts["missing_in_sqlite"] == report.counts["missing_in_json"] == 0
    assert [m.to_dict() for m in report.mismatched] == [
        {
            "id": sid(0, 3),
            "partition": P2,
            "differences": [
                {"path": "root", "kind": "partition_changed", "json": P2, "sqlite": P1}
            ],
        }
    ]


def test_unknown_root_key_dropped_and_changed_in_json(stores: Stores) -> None:
    """An unknown root key lost in SQL is dictionary_item_removed; a JSON-side edit is found."""
    stores.sql("UPDATE sessions SET extra = NULL WHERE id = ?", sid(0, 0))

    def edit(docs: list[Any]) -> None:
        docs[3]["total_duration"] += 1  # an integer beyond 64 bits

    stores.edit_json(P1, edit)
    first, second = stores.validate().mismatched
    notes = fixture_doc(P1, sid(0, 0))["notes"]
    assert first.differences[0].to_dict() == {
        "path": "root['notes']",
        "kind": "dictionary_item_removed",
        "json": notes,
        "sqlite": None,
    }
    big = 123456789012345678901234567890
    assert second.differences[0].to_dict() == {
        "path": "root['total_duration']",
        "kind": "values_changed",
        "json": big + 1,
        "sqlite": big,
    }


def test_invalid_json_records_are_findings(stores: Stores) -> None:
    """Records that cannot be keyed (no id, not an object, a repeated id) are listed."""

    def edit(docs: list[Any]) -> None:
        docs.extend([{"type": "debate"}, ["not", "an", "object"], dict(docs[0])])

    stores.edit_json(P1, edit)
    report = stores.validate()
    assert not report.ok
    assert [r.to_dict() for r in report.invalid_in_json] == [
        {"partition": P1, "index": 12, "reason": "has no string 'id'"},
        {"partition": P1, "index": 13, "reason": "is not a JSON object"},
        {"partition": P1, "index": 14, "reason": f"repeats id {sid(0, 0)!r}"},
    ]
    assert report.counts["invalid_in_json"] == 3
    assert report.counts["matched"] == 36


def test_ignore_paths_turn_differences_into_matches(stores: Stores) -> None:
    """Documents differing only in ignored paths match (and are counted as ignored)."""
    for n in (0, 1):
        stores.sql("UPDATE sessions SET updated_at = '2030-01-01' WHERE id = ?", sid(0, n))
    stores.sql("UPDATE sessions SET status = 'paused', updated_at = 'x' WHERE id = ?", sid(1, 1))
    assert stores.validate().counts["mismatched"] == 3
    report = stores.validate(ignore_paths=[r"root\['updated_at'\]"])
    assert report.counts["mismatched"] == 1
    assert report.counts["ignored"] == 2
    assert report.counts["matched"] == 35
    assert [d.path for d in report.mismatched[0].differences] == ["root['status']"]
    assert report.to_dict()["ignore_paths"] == [r"root\['updated_at'\]"]


def test_a_bad_ignore_path_is_a_usage_error(stores: Stores) -> None:
    """An --ignore-path that is not a regular expression is refused before any reading."""
    with pytest.raises(UsageError, match="not a regular expression"):
        stores.validate(ignore_paths=["root[("])


def test_partition_limits_the_comparison(stores: Stores) -> None:
    """Only the named partitions are compared; a document moved out of them is missing."""
    plant_every_kind(stores)
    report = stores.validate(partitions=[P2])
    assert report.counts["json"] == 12
    assert set(report.by_partition) == {P2}
    assert [ref.id for ref in report.missing_in_sqlite] == [sid(1, 3), sid(1, 5)]
    assert report.mismatched == []
    only_p1 = stores.validate(partitions=[P1])
    assert {m.partition for m in only_p1.mismatched} == {P1}
    assert only_p1.counts["mismatched"] == 5


def test_unknown_partition_is_a_usage_error(stores: Stores) -> None:
    """A --partition neither store has is a usage error, not a silent pass."""
    with pytest.raises(UsageError, match="'nope': in neither store"):
        stores.validate(partitions=["nope"])


def _mark_every_json_doc(stores: Stores) -> None:
    def edit(docs: list[Any]) -> None:
        for doc in docs:
            doc["marked"] = True

    for partition in (P1, P2, P3):
        stores.edit_json(partition, edit)


def test_sample_is_random_but_reproducible(stores: Stores) -> None:
    """--sample N compares N documents; the same seed draws the same ones."""
    _mark_every_json_doc(stores)
    first = stores.validate(sample=5, seed=7)
    again = stores.validate(sample=5, seed=7)
    other = stores.validate(sample=5, seed=8)
    assert first.sampled and first.seed == 7 and first.population == 36
    assert first.counts["json"] == first.counts["sqlite"] == first.counts["mismatched"] == 5
    ids = [m.id for m in first.mismatched]
    assert ids == [m.id for m in again.mismatched]
    assert ids != [m.id for m in other.mismatched]
    assert first.to_dict()["sampled"] is True
    assert first.to_dict()["seed"] == 7


def test_sample_without_seed_records_the_seed_it_drew(stores: Stores) -> None:
    """Without --seed the report names the seed, so the same sample can be drawn again."""
    _mark_every_json_doc(stores)
    drawn = stores.validate(sample=3)
    assert drawn.seed is not None
    again = stores.validate(sample=3, seed=drawn.seed)
    assert [m.id for m in drawn.mismatched] == [m.id for m in again.mismatched]


def test_sample_of_the_whole_store_finds_what_a_full_run_finds(stores: Stores) -> None:
    """A sample as large as the store reports the same findings, moved document included."""
    plant_every_kind(stores)
    full = stores.validate().to_dict()
    sampled = stores.validate(sample=1000, seed=1).to_dict()
    for key in ("counts", "missing_in_sqlite", "missing_in_json", "mismatched"):
        assert exactly(sampled[key], full[key]), key
    assert sampled["population"] == 37


def test_max_details_caps_lists_never_counts(stores: Stores) -> None:
    """--max-details N lists at most N findings of each kind; the counts stay whole."""
    plant_every_kind(stores)
    stores.sql("DELETE FROM sessions WHERE id = ?", sid(2, 4))
    report = stores.validate(max_details=1)
    assert report.counts["mismatched"] == 6
    assert report.counts["missing_in_sqlite"] == 2
    assert len(report.mismatched) == len(report.missing_in_sqlite) == 1
    assert report.missing_in_sqlite[0].id == sid(1, 3)  # the first by partition and id
    assert report.details_truncated
    assert report.to_dict()["details_truncated"] is True
    nothing = stores.validate(max_details=0)
    assert nothing.mismatched == []
    assert nothing.missing_in_sqlite == nothing.missing_in_json == []
    assert nothing.counts == report.counts


def test_max_details_with_ignored_documents_past_the_cap_is_not_truncated(stores: Stores) -> None:
    """A document past the cap that differs only in ignored paths cuts nothing from the list."""
    stores.sql("UPDATE sessions SET task = 'changed' WHERE id = ?", sid(0, 0))
    stores.sql("UPDATE sessions SET updated_at = 'later' WHERE id = ?", sid(0, 1))
    report = stores.validate(max_details=1, ignore_paths=["updated_at"])
    assert [m.id for m in report.mismatched] == [sid(0, 0)]
    assert report.counts["ignored"] == 1
    assert not report.details_truncated


def test_max_details_caps_the_differences_of_one_document(stores: Stores) -> None:
    """A mismatch's differences are capped too, and the report says how many there were."""
    stores.sql(
        "UPDATE sessions SET status = 'paused', task = 't', model = 'm' WHERE id = ?", sid(0, 2)
    )
    (mismatch,) = stores.validate(max_details=2).mismatched
    assert len(mismatch.differences) == 2
    assert mismatch.total_differences == 3
    assert mismatch.to_dict()["differences_total"] == 3
    (whole,) = stores.validate().mismatched
    assert len(whole.differences) == 3
    assert "differences_total" not in whole.to_dict()


def test_a_json_file_that_does_not_parse_is_fatal(stores: Stores) -> None:
    """A partition file that is not JSON stops the run with an error naming the file."""
    broken = stores.json_dir / "broken.json"
    broken.write_text('[\n  {"id": "a",\n  "type": }\n]', encoding="utf-8")
    with pytest.raises(JsonFileError) as caught:
        stores.validate()
    assert str(broken) in str(caught.value)


def _fingerprint(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_validation_writes_neither_store(stores: Stores) -> None:
    """Read-only: the JSON directory and the database file are byte for byte unchanged."""
    plant_every_kind(stores)
    json_before = _fingerprint(stores.json_dir)
    db_before = hashlib.sha256(stores.db.read_bytes()).hexdigest()
    stores.validate()
    stores.validate(sample=10, seed=3)
    assert _fingerprint(stores.json_dir) == json_before
    assert hashlib.sha256(stores.db.read_bytes()).hexdigest() == db_before
    assert not (stores.json_dir / ".migrator").exists()


def test_a_database_without_tables_is_refused_not_created(stores: Stores) -> None:
    """An existing database with no schema tables is an error, and stays without them."""
    os.remove(stores.db)
    conn = sqlite3.connect(stores.db)
    conn.execute("CREATE TABLE unrelated (x)")
    conn.close()
    with pytest.raises(DatabaseError, match="has no 'sessions' tables"):
        stores.validate()
    conn = sqlite3.connect(stores.db)
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    assert tables == ["unrelated"]
