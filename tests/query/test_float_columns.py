"""Point 6: a typed column shows SQL readers the document's value wherever it can hold it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from migrator.schemas.codec import canonical_bytes
from tests.query.conftest import fill, open_pair
from tests.second_schema import NOTES, note


@pytest.mark.parametrize(
    ("score", "shown"),
    [
        (7, 7.0),
        (6.9, 6.9),
        (-3, -3.0),
        (2**53, 2.0**53),
        (2**1000, 2.0**1000),
        (-0.0, 0.0),
        (None, None),
    ],
)
def test_an_integer_in_a_float_column_reads_as_that_number(
    tmp_path: Path, score: object, shown: object
) -> None:
    """A film rated `7` among `6.9`s is 7.0 to any SQL reader (not NULL), the document still
    comes back with the integer 7, and a query finds it from SQL as from JSON."""
    json_store, sql_store = open_pair(NOTES, tmp_path)
    doc = note("n1", score=score)
    fill(json_store, sql_store, {"films": [doc, note("n2", score=6.9)]})
    with sqlite3.connect(tmp_path / "store.db") as conn:
        (column,) = conn.execute("SELECT score FROM notes WHERE note_id = 'n1'").fetchone()
    assert column == shown and type(column) is type(shown)
    back = sql_store.get("n1")
    assert back is not None and canonical_bytes(back) == canonical_bytes(doc)
    if score is not None:
        for store in (json_store, sql_store):
            assert list(store.find({"score__gte": score}, returning="ids")) == (
                ["n1", "n2"] if score <= 6.9 else ["n1"]  # type: ignore[operator]
            )
    sql_store.close()


def test_integers_no_double_holds_still_match_exactly(tmp_path: Path) -> None:
    """2**53 + 1 cannot be a double: the column stays NULL, yet SQL answers as the scan."""
    json_store, sql_store = open_pair(NOTES, tmp_path)
    fill(json_store, sql_store, {"f": [note("n1", score=2**53 + 1), note("n2", score=2.0**53)]})
    for query in ({"score__gt": 2**53}, {"score": 2**53 + 1}, {"score__lt": 2**53 + 1}):
        answers = [list(s.find(query, returning="ids")) for s in (json_store, sql_store)]
        assert answers[0] == answers[1], query
    assert list(sql_store.find({"score__gt": 2**53}, returning="ids")) == ["n1"]
    sql_store.close()
