"""Validation compares rows with rows (`migrator.validate_rows`): equal rows are a match with
no document rebuilt, and rows that `==` calls equal while their documents differ (a JSON true
where SQL holds 1, 2 where SQL holds 2.0) are still found, by the documents."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from migrator import validate_rows
from migrator.adapters.sql_rows import PartitionRows
from tests.validator.conftest import P2, Stores, fixture_doc, sid


def test_identical_stores_match_without_decoding_a_row(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixture store (sparse objects, unknown keys, JSON columns, other key orders): every
    document whose rows the fast pass can make is matched by its rows alone."""
    decoded: list[str] = []
    real = PartitionRows.decode

    def decode(self: PartitionRows, doc_id: str) -> dict[str, Any]:
        decoded.append(doc_id)
        return real(self, doc_id)

    monkeypatch.setattr(PartitionRows, "decode", decode)
    report = stores.validate()
    assert report.ok and report.counts["matched"] == report.counts["json"]
    assert len(decoded) < report.counts["matched"] / 2, decoded


def test_a_number_of_another_type_in_sql_is_a_mismatch(stores: Stores) -> None:
    """`True == 1` in Python: a JSON true where SQL holds 1 makes equal-looking rows, which are
    told apart by type and then compared as documents, as before."""
    doc_id = sid(1, 1)  # P2's file is plain JSON: the fast pass reads it
    doc = fixture_doc(P2, doc_id)
    doc["instances"] = [_plain_instance(files_changed=1)]
    stores.put_sql(P2, doc)
    changed = dict(doc, instances=[_plain_instance(files_changed=True)])
    stores.edit_json(P2, lambda records: _replace(records, changed))
    report = stores.validate()
    assert report.counts["mismatched"] == 1
    [mismatch] = report.mismatched
    assert mismatch.id == doc_id
    assert [d.path for d in mismatch.differences] == ["root['instances'][0]['files_changed']"]


def test_a_bool_column_read_as_0_or_1_still_matches(stores: Stores) -> None:
    """SQLite gives booleans back as 0 and 1: the rows compare as the codec decodes them."""
    doc_id = sid(1, 0)
    stores.sql("UPDATE sessions SET preserve_worktrees = 1 WHERE id = ? AND extra IS NULL", doc_id)
    stores.edit_json(P2, lambda records: _set_root(records, doc_id, "preserve_worktrees", True))
    report = stores.validate()
    assert report.ok, report.to_dict()


def test_a_changed_text_is_found_by_rows_and_named_by_documents(stores: Stores) -> None:
    doc_id = _with_messages(stores)
    stores.sql("UPDATE chat_messages SET content = 'changed' WHERE session_id = ?", doc_id)
    report = stores.validate()
    assert not report.ok and report.counts["mismatched"] == 1
    assert report.mismatched[0].id == doc_id


def test_the_fast_pass_is_what_compares(monkeypatch: pytest.MonkeyPatch, stores: Stores) -> None:
    """Not vacuous: with every pair declared equal by rows, a planted difference goes unseen
    (so the tests above pass through the row comparison, not around it)."""
    doc_id = _with_messages(stores)
    stores.sql("UPDATE chat_messages SET content = 'changed' WHERE session_id = ?", doc_id)
    assert not stores.validate().ok
    monkeypatch.setattr(validate_rows.RowsRead, "same_ids", lambda self, docs: set(docs))
    assert stores.validate().ok


def _with_messages(stores: Stores) -> str:
    conn = sqlite3.connect(stores.db)
    try:
        found: str = conn.execute("SELECT min(session_id) FROM chat_messages").fetchone()[0]
    finally:
        conn.close()
    return found


def _plain_instance(files_changed: Any) -> dict[str, Any]:
    """An instance with every field, in the table's order (the rows' fastest path)."""
    return {
        "instance_id": 1,
        "worktree_path": "/w",
        "branch": "b",
        "agent_name": "a",
        "status": "completed",
        "tmux_session_id": "t",
        "output": "o",
        "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-01-01T00:00:01Z",
        "files_changed": files_changed,
        "lines_added": 2,
        "lines_deleted": 3,
        "runtime": "r",
        "model": "m",
        "runtime_label": "l",
    }


def _replace(records: list[Any], doc: dict[str, Any]) -> None:
    at = next(i for i, r in enumerate(records) if r["id"] == doc["id"])
    records[at] = doc


def _set_root(records: list[Any], doc_id: str, key: str, value: Any) -> None:
    next(r for r in records if r["id"] == doc_id)[key] = value
