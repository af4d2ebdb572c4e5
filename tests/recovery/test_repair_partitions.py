"""Issue 15, finding 5: repair knows which partition a document is in. A document that moved
partition while the secondary writes failed ends in its new partition on both sides, and only
there."""

from __future__ import annotations

from migrator import repair
from migrator.adapters.journal import Journal, Side, revision_of
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase
from tests.live.conftest import P1, P2, Live, sid
from tests.recovery.conftest import canonical, json_documents, sql_documents

MOVED = sid(0, 4)


def _partitions_holding(live: Live, doc_id: str) -> list[str]:
    store = JsonStore(live.json_dir, live.schema)
    return [p for p in store.partitions() if any(d["id"] == doc_id for d in store.list(p))]


def test_sqlite_primary_repair_does_not_bring_a_moved_document_back(live: Live) -> None:
    """sqlite-primary: SQL moved the document from P1 to P2 (delete, then put); both JSON
    writes failed. Repair removes it from P1's file and writes it into P2's, not back into P1."""
    live.set_phase(Phase.SQLITE_PRIMARY)
    doc = live.doc(MOVED) | {"task": "moved"}
    sql = sql_documents(live.db, live.schema)
    assert MOVED in sql
    from migrator.adapters.sql_store import SqlStore

    store = SqlStore(live.db, live.schema)
    try:
        store.delete(MOVED)
        store.put(P2, doc)
    finally:
        store.close()
    journal = Journal(live.json_dir)
    journal.begin("delete", MOVED, P1, Side.SQL, None)
    journal.begin("put", MOVED, P2, Side.SQL, revision_of(doc))
    report = repair(live.json_dir, live.db, live.schema, snapshot=False)
    assert report.ok, report.to_dict()
    assert _partitions_holding(live, MOVED) == [P2]
    expected = canonical(sql_documents(live.db, live.schema))
    assert canonical(json_documents(live.json_dir, live.schema)) == expected
    assert live.validate().ok
    assert Journal(live.json_dir).read().pending == ()


def test_dual_write_repair_moves_the_sql_copy_whatever_the_entry_order(live: Live) -> None:
    """dual-write: JSON moved the document to P2; SQL still holds it in P1, and the put's
    entry comes first. One repair moves SQL's copy to P2 (no partition conflict, no failure)."""
    live.set_phase(Phase.DUAL_WRITE)
    doc = live.doc(MOVED) | {"task": "moved"}
    json_store = JsonStore(live.json_dir, live.schema)
    assert json_store.delete(MOVED)
    json_store.put(P2, doc)
    journal = Journal(live.json_dir)
    journal.begin("put", MOVED, P2, Side.JSON, revision_of(doc))
    journal.begin("delete", MOVED, P1, Side.JSON, None)
    report = repair(live.json_dir, live.db, live.schema, snapshot=False)
    assert report.ok, report.to_dict()
    assert sql_documents(live.db, live.schema)[MOVED]["task"] == "moved"
    assert live.validate().ok
    assert Journal(live.json_dir).read().pending == ()
