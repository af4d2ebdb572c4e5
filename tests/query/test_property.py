"""The property: for random stores and random criteria, JSON and SQL answer identically
(page, order, cursor and the pages after it), on SQLite and on PostgreSQL."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.schemas.codec import canonical_bytes, from_rows, summary_from_row, to_rows
from migrator.schemas.sessions import SESSIONS
from tests.query.conftest import fill
from tests.query.strategies import stores_and_queries
from tests.schemas.strategies import documents
from tests.second_schema import NOTES
from tests.soak import examples


def same_answers(json_store: JsonStore, sql_store: SqlStore, query: dict[str, Any]) -> None:
    """Every page of the query, followed by cursor, is identical from both stores."""
    pages = 0
    cursor = None
    while True:
        from_json = json_store.find(**query, after=cursor, returning="documents")
        from_sql = sql_store.find(**query, after=cursor, returning="documents")
        assert canonical_bytes(from_json.items) == canonical_bytes(from_sql.items), query
        assert from_json.cursor == from_sql.cursor
        cursor = from_json.cursor
        pages += 1
        if cursor is None or pages > 10:
            break
    summaries = [s.find(**query).items for s in (json_store, sql_store)]
    assert canonical_bytes(summaries[0]) == canonical_bytes(summaries[1])


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=stores_and_queries(NOTES))
def test_json_and_sqlite_answer_identically(
    case: tuple[dict[str, list[Any]], dict[str, Any]],
) -> None:
    partitions, query = case
    with tempfile.TemporaryDirectory() as tmp:
        json_store = JsonStore(Path(tmp) / "json", NOTES)
        sql_store = SqlStore(Path(tmp) / "db.sqlite", NOTES)
        sql_store.init_schema()
        try:
            fill(json_store, sql_store, partitions)
            same_answers(json_store, sql_store, query)
        finally:
            sql_store.close()


@pytest.mark.postgres
def test_json_and_postgresql_answer_identically(pg_db_url: str, tmp_path: Path) -> None:
    sql_store = SqlStore(pg_db_url, NOTES)
    sql_store.init_schema()
    counter = iter(range(10**6))

    @settings(
        max_examples=examples(40),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(case=stores_and_queries(NOTES))
    def check(case: tuple[dict[str, list[Any]], dict[str, Any]]) -> None:
        partitions, query = case
        for partition in sql_store.partitions():
            sql_store.write_partitions([PartitionWrite(partition, [], sql_store.ids_in(partition))])
        json_store = JsonStore(tmp_path / f"json{next(counter)}", NOTES)
        fill(json_store, sql_store, partitions)
        same_answers(json_store, sql_store, query)

    try:
        check()
    finally:
        sql_store.close()


@settings(max_examples=examples(200), deadline=None)
@given(doc=documents(NOTES) | documents(SESSIONS))
def test_a_summary_from_the_root_row_is_the_document_without_its_lists(doc: Any) -> None:
    """`summary_from_row` (no child rows read) equals the whole decoded document minus its
    child lists: the same values, types and key order."""
    schema = NOTES if "note_id" in doc else SESSIONS
    rows = to_rows(schema, "p", doc)
    whole = from_rows(schema, rows.root, rows.children)
    child_keys = {child.key for child in schema.children}
    expected = {key: value for key, value in whole.items() if key not in child_keys}
    summary = summary_from_row(schema, rows.root)
    assert canonical_bytes(summary) == canonical_bytes(expected)
    assert list(summary) == list(expected)
    assert [type(v) for v in summary.values()] == [type(v) for v in expected.values()]
