"""Issue 15 finding 11 (and issue 20 point 5): a corrupt `extra` value is one error of the
tree (CorruptRowError, a DatabaseError), so the sqlite-primary fallback read serves JSON
instead of raising a ValueError at the application, the CLI says one line, and doctor sees it."""

from __future__ import annotations

import pytest

from migrator.adapters.dual_write import open_store
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.doctor import diagnose
from migrator.errors import CorruptRowError
from tests.safety.conftest import Setup, raw_sql


def _corrupt(setup: Setup) -> str:
    store = setup.sql_store()
    try:
        _partition, doc = next(iter(store.iter_documents()))
    finally:
        store.close()
    raw_sql(setup.db, "UPDATE sessions SET extra = ? WHERE id = ?", ('{"keys": [1', doc["id"]))
    return str(doc["id"])


def test_a_corrupt_extra_is_a_corrupt_row_error(setup: Setup) -> None:
    doc_id = _corrupt(setup)
    store = setup.sql_store()
    try:
        with pytest.raises(CorruptRowError, match=rf"table sessions, document '{doc_id}'"):
            store.get(doc_id)
    finally:
        store.close()


def test_the_sqlite_primary_fallback_serves_json_for_a_corrupt_row(setup: Setup) -> None:
    doc_id = _corrupt(setup)
    PhaseState(setup.json_dir).update(lambda r: r.moved(Phase.SQLITE_PRIMARY))
    with open_store(setup.json_dir, setup.db, setup.schema) as store:
        doc = store.get(doc_id)
    assert doc is not None and doc["id"] == doc_id
    fallbacks = (setup.json_dir / ".migrator" / "fallbacks.jsonl").read_text()
    assert "corrupt row" in fallbacks


def test_doctor_and_validate_report_a_corrupt_row(setup: Setup) -> None:
    doc_id = _corrupt(setup)
    report = diagnose(setup.json_dir, setup.db, setup.schema)
    problems = {c.name: c.detail for c in report.problems}
    assert doc_id in problems["documents"] and "migrator restore" in problems["documents"]
    result = setup.cli("validate")
    assert result.exit_code == 2
    assert "corrupt row" in result.output and "Traceback" not in result.output
