"""Issue 20 point 5, found from outside: a row holding a value of the wrong type (SQLite keeps
what a hand edit puts in any column) is one error of the tree, `CorruptRowError`, never a
TypeError or an encoder's error: a root row whose `position` is text cannot be ordered, and a
BLOB in a TEXT column cannot be written as JSON. So the sqlite-primary fallback read serves JSON,
the CLI says one line, and a move back to JSON refuses before it writes a file."""

from __future__ import annotations

import pytest

import migrator
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.errors import CorruptRowError
from tests.safety.conftest import Setup, raw_sql


def _first(setup: Setup) -> tuple[str, str]:
    """(partition, id) of the first document the database holds."""
    store = setup.sql_store()
    try:
        partition, doc = next(iter(store.iter_documents()))
    finally:
        store.close()
    return partition, str(doc["id"])


def _text_position(setup: Setup) -> tuple[str, str]:
    partition, doc_id = _first(setup)
    raw_sql(setup.db, "UPDATE sessions SET position = 'x' WHERE id = ?", (doc_id,))
    return partition, doc_id


def _blob_task(setup: Setup) -> tuple[str, str]:
    partition, doc_id = _first(setup)
    raw_sql(setup.db, "UPDATE sessions SET task = X'00ff' WHERE id = ?", (doc_id,))
    return partition, doc_id


def test_a_text_position_is_a_corrupt_row_in_every_partition_read(setup: Setup) -> None:
    """A partition read, its summaries and the walk over every document name the row."""
    partition, doc_id = _text_position(setup)
    store = setup.sql_store()
    try:
        for read in (
            lambda: store.read_partition(partition),
            lambda: store.summaries(partition),
            lambda: list(store.iter_documents()),
        ):
            with pytest.raises(CorruptRowError, match=rf"document '{doc_id}'.*position 'x'"):
                read()
    finally:
        store.close()


def test_the_sqlite_primary_fallback_serves_json_for_a_text_position(setup: Setup) -> None:
    partition, doc_id = _text_position(setup)
    PhaseState(setup.json_dir).update(lambda r: r.moved(Phase.SQLITE_PRIMARY))
    with migrator.open_store(setup.json_dir, setup.db, setup.schema) as store:
        listed = store.list(partition)
        summaries = store.summaries(partition)
    assert doc_id in {doc["id"] for doc in listed}
    assert doc_id in {doc["id"] for doc in summaries}
    assert "corrupt row" in (setup.json_dir / ".migrator" / "fallbacks.jsonl").read_text()


def test_doctor_and_export_report_a_text_position(setup: Setup) -> None:
    _, doc_id = _text_position(setup)
    report = migrator.diagnose(setup.json_dir, setup.db, setup.schema)
    problems = {c.name: c.detail for c in report.problems}
    assert doc_id in problems["documents"]
    with pytest.raises(CorruptRowError):
        migrator.export_store(setup.db, setup.schema, setup.json_dir.parent / "exported")


def test_a_blob_in_a_text_column_is_a_corrupt_row_for_validate(setup: Setup) -> None:
    """The validator's comparison names the document; the CLI says one line, exit 2."""
    _, doc_id = _blob_task(setup)
    with pytest.raises(CorruptRowError, match=rf"document '{doc_id}'"):
        migrator.validate(setup.json_dir, setup.db, setup.schema)
    result = setup.cli("validate")
    assert result.exit_code == 2, result.output
    assert "corrupt row" in result.output and "Traceback" not in result.output


def test_a_move_back_to_json_refuses_a_blob_before_writing(setup: Setup) -> None:
    """sqlite-primary -> json-only rebuilds JSON from SQL: a document it cannot write as JSON
    stops the move, the partition file untouched."""
    partition, doc_id = _blob_task(setup)
    PhaseState(setup.json_dir).update(lambda r: r.moved(Phase.SQLITE_PRIMARY))
    before = (setup.json_dir / f"{partition}.json").read_bytes()
    with pytest.raises(CorruptRowError, match=rf"document '{doc_id}'"):
        migrator.set_phase(setup.json_dir, setup.db, setup.schema, "json-only", snapshot=False)
    assert (setup.json_dir / f"{partition}.json").read_bytes() == before
    assert PhaseState(setup.json_dir).read().phase is Phase.SQLITE_PRIMARY
