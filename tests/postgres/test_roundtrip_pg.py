"""PostgreSQL's traps for the lossless round trip, each met by a test: `text` cannot hold NUL,
integers beyond 64 bits, float precision (FLOAT must be double precision), timestamps kept as
the strings they were. (The round-trip property itself runs on PostgreSQL too, in
tests/schemas/test_roundtrip_property.py.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Float, inspect, select
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION

from migrator.adapters.sql_store import SqlStore
from migrator.schemas.declaration import Schema
from migrator.schemas.sessions import SESSIONS
from tests.pg_server import create_database, drop_database
from tests.schemas.strategies import assert_same_document
from tests.second_schema import NOTES, note

pytestmark = pytest.mark.postgres

PARTITION = "p-1"


def _store(pg_url: str, schema: Schema) -> Iterator[SqlStore]:
    url = create_database(pg_url)
    store = SqlStore(url, schema)
    store.init_schema()
    yield store
    store.close()
    drop_database(pg_url, url)


@pytest.fixture(scope="module")
def sessions_pg(pg_url: str) -> Iterator[SqlStore]:
    yield from _store(pg_url, SESSIONS)


@pytest.fixture(scope="module")
def notes_pg(pg_url: str) -> Iterator[SqlStore]:
    yield from _store(pg_url, NOTES)


def test_nul_text_is_kept_as_escaped_json_in_extra(sessions_pg: SqlStore) -> None:
    """A NUL-holding string never reaches a PostgreSQL text column: `extra` holds it escaped."""
    doc = {
        "id": "nul-1",
        "type": "ensemble",
        "task": "a\x00b",
        "status": "running",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00.000001+00:00",
        "chat_history": [
            {
                "id": "m-nul",
                "role": "user",
                "content": "\x00",
                "timestamp": "t",
                "x\x00": [1],
            }
        ],
    }
    sessions_pg.put(PARTITION, doc)
    try:
        with sessions_pg.engine.connect() as conn:
            sessions = SESSIONS.root_table
            task, extra = conn.execute(
                select(sessions.c.task, sessions.c.extra).where(sessions.c.id == "nul-1")
            ).one()
        assert "\x00" not in task and "\x00" not in extra
        assert "\\u0000" in extra
        assert_same_document(doc, sessions_pg.get("nul-1"))
    finally:
        sessions_pg.delete("nul-1")


def test_integers_beyond_64_bits_and_timestamps_survive(sessions_pg: SqlStore) -> None:
    """BIGINT limits stay in columns, larger integers go to `extra`, timestamps stay strings."""
    doc = {
        "id": "big-1",
        "type": "competition",
        "task": "t",
        "status": "completed",
        "created_at": "2024-02-30T25:61:00",  # not a valid time: must still come back as is
        "updated_at": "2024-01-01T00:00:00.123456789+05:30",
        "timeout_seconds": 2**63 - 1,
        "winner_id": -(2**63),
        "total_duration": 2**64,
        "total_lines_added": -(10**30),
        "instances": [],
    }
    sessions_pg.put(PARTITION, doc)
    try:
        assert_same_document(doc, sessions_pg.get("big-1"))
        with sessions_pg.engine.connect() as conn:
            sessions = SESSIONS.root_table
            row = conn.execute(select(sessions).where(sessions.c.id == "big-1")).mappings().one()
        assert row["timeout_seconds"] == 2**63 - 1
        assert row["created_at"] == "2024-02-30T25:61:00"
    finally:
        sessions_pg.delete("big-1")


def test_float_columns_are_double_precision(notes_pg: SqlStore) -> None:
    """A `float` field is double precision on PostgreSQL, so 17 significant digits survive."""
    columns = {c["name"]: c["type"] for c in inspect(notes_pg.engine).get_columns("notes")}
    assert isinstance(columns["weight"], DOUBLE_PRECISION | Float)
    assert getattr(columns["weight"], "precision", None) in (None, 53)
    with notes_pg.engine.connect() as conn:
        kind = conn.exec_driver_sql(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'notes'::regclass AND attname = 'weight'"
        ).scalar_one()
    assert kind == "double precision"
    precise = [0.1 + 0.2, 5e-324, 1.7976931348623157e308, -0.0, 2.0**63 + 2048]
    for index, value in enumerate(precise):
        doc = note(f"f-{index}", weight=value, score=value)
        notes_pg.put(PARTITION, doc)
        try:
            assert_same_document(doc, notes_pg.get(f"f-{index}"))
            with notes_pg.engine.connect() as conn:
                table = NOTES.root_table
                stored = conn.execute(
                    select(table.c.weight, table.c.extra).where(table.c.note_id == f"f-{index}")
                ).one()
            assert stored.weight == value  # in the typed column itself, not only in `extra`
        finally:
            notes_pg.delete(f"f-{index}")
