"""`find` and `summaries` on the JSON and the SQL store: the documented semantics, the same
answers from both (each case runs against both stores and compares them too)."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.schemas.codec import canonical_bytes, to_rows
from tests.query.conftest import fill
from tests.schemas.samples import instance, session

Pair = tuple[JsonStore, SqlStore]

SESSIONS_A = [
    session(
        "s1", status="failed", created_at="2025-01-03", instances=[instance(1, status="failed")]
    ),
    session("s2", status="running", created_at="2025-01-01", model=None),
    session("s3", status="failed", created_at="2025-01-02", model=..., timeout_seconds=2**70),
]
SESSIONS_B = [
    session("s4", type="debate", status="completed", created_at="2025-01-02", task="Éclair\x00"),
    session("s5", type="debate", status="failed", created_at="2024-12-31", instances=[]),
]


@pytest.fixture
def filled(pair: Pair) -> Pair:
    fill(*pair, {"wa": SESSIONS_A, "wb": SESSIONS_B})
    return pair


def both(pair: Pair, **query: Any) -> Any:
    """The JSON store's answer, after checking the SQL store gives the identical one."""
    json_store, sql_store = pair
    from_json, from_sql = json_store.find(**query), sql_store.find(**query)
    assert canonical_bytes(from_json.items) == canonical_bytes(from_sql.items), query
    assert from_json.cursor == from_sql.cursor
    return from_json


def ids(pair: Pair, **query: Any) -> list[str]:
    return list(both(pair, returning="ids", **query))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"where": {"status": "failed"}}, ["s1", "s3", "s5"]),
        ({"where": {"status__in": ["completed", "running"]}}, ["s2", "s4"]),
        ({"where": {"status__ne": "failed"}}, ["s2", "s4"]),
        ({"where": {"created_at__gte": "2025-01-02"}}, ["s1", "s3", "s4"]),
        ({"where": {"created_at__lt": "2025-01-02"}}, ["s2", "s5"]),
        ({"where": {"type": "debate", "status": "failed"}}, ["s5"]),
        ({"where": {"model": None}}, ["s2"]),  # null, not absent
        ({"where": {"model__null": True}}, ["s2"]),
        ({"where": {"model__absent": True}}, ["s3"]),
        ({"where": {"model__absent": False}}, ["s1", "s2", "s4", "s5"]),
        ({"where": {"model__null": False}}, ["s1", "s4", "s5"]),
        ({"where": {"model": "sonnet"}}, ["s1", "s4", "s5"]),
        # an integer beyond 64 bits lives in `extra`: SQL still finds it, exactly
        ({"where": {"timeout_seconds__gt": 2**64}}, ["s3"]),
        ({"where": {"timeout_seconds": 2**70}}, ["s3"]),
        ({"where": {"timeout_seconds__lt": 600.5}}, ["s1", "s2", "s4", "s5"]),
        (
            {"where": {"timeout_seconds__gte": 599.5, "timeout_seconds__lte": 600}},
            ["s1", "s2", "s4", "s5"],
        ),
        ({"where": {"timeout_seconds": 600.0}}, ["s1", "s2", "s4", "s5"]),
        # text with NUL lives in `extra` too
        ({"where": {"task": "Éclair\x00"}}, ["s4"]),
        ({"where": {"task__prefix": "Écl"}}, ["s4"]),
        ({"where": {"task__gt": "refactor"}}, ["s1", "s2", "s3", "s4", "s5"]),
        ({"where": {"task__lt": "Z"}}, []),  # code point order: "É" and "r" come after "Z"
        ({"where": {"preserve_worktrees": True}}, ["s1", "s2", "s3", "s4", "s5"]),
        ({"has": {"instances": {"status": "failed"}}}, ["s1"]),
        ({"has": {"instances": {"status": "running", "instance_id": 2}}}, ["s2", "s3", "s4"]),
        ({"has": {"chat_history": {"role": "assistant"}}, "partition": "wb"}, ["s4", "s5"]),
        ({"partition": "wa"}, ["s1", "s2", "s3"]),
        ({"partition": "nowhere"}, []),
    ],
)
def test_criteria(filled: Pair, query: dict[str, Any], expected: list[str]) -> None:
    """Each operator answers as documented, identically from JSON and from SQL."""
    assert ids(filled, **query) == expected


def test_order_limit_and_keyset_cursor(filled: Pair) -> None:
    """Newest first, ties broken by id, pages of two continued by cursor, then by offset."""
    first = both(filled, order=["-created_at"], limit=2, returning="ids")
    assert list(first) == ["s1", "s3"]
    second = both(filled, order=["-created_at"], limit=2, after=first.cursor, returning="ids")
    assert list(second) == ["s4", "s2"]
    third = both(filled, order=["-created_at"], limit=2, after=second.cursor, returning="ids")
    assert (list(third), third.cursor) == (["s5"], None)
    assert ids(filled, order=["-created_at"], offset=3, limit=1) == ["s2"]


def test_nulls_sort_first_ascending_and_last_descending(filled: Pair) -> None:
    """null and absent models sort together, first ascending, last descending (ties by id)."""
    assert ids(filled, order=["model"]) == ["s2", "s3", "s1", "s4", "s5"]
    assert ids(filled, order=["-model", "created_at"]) == ["s5", "s4", "s1", "s2", "s3"]


def test_returning_shapes(filled: Pair) -> None:
    """Summaries drop the child lists; documents are whole; ids are ids."""
    summary = both(filled, where={"status": "completed"})[0]
    assert "instances" not in summary and "chat_history" not in summary
    assert summary["task"] == "Éclair\x00"
    document = both(filled, where={"status": "completed"}, returning="documents")[0]
    assert document == SESSIONS_B[0]
    assert list(document) == list(SESSIONS_B[0])


def test_summaries_of_a_partition(filled: Pair) -> None:
    """A partition's summaries in stored order, values exactly as in the documents."""
    json_store, sql_store = filled
    expected = [
        {k: v for k, v in doc.items() if k not in ("instances", "chat_history")}
        for doc in SESSIONS_A
    ]
    for store in (json_store, sql_store):
        got = store.summaries("wa")
        assert canonical_bytes(got) == canonical_bytes(expected)
        assert [list(d) for d in got] == [list(d) for d in expected]
        assert store.summaries("nowhere") == []


def test_page_reads_like_a_list(filled: Pair) -> None:
    """A page iterates, indexes and has a length."""
    page = filled[1].find(where={"status": "failed"}, returning="ids")
    assert len(page) == 3 and page[0] == "s1" and list(page) == ["s1", "s3", "s5"]


def test_a_partition_reads_in_stored_order_whatever_order_its_rows_were_written(
    pair: Pair,
) -> None:
    """Rows written last-position-first (the database hands them over in the order written)
    still list and summarize in position order: the order is the stored one, not the rows'."""
    json_store, sql_store = pair
    docs = [dict(doc, runtime_mix={"big": 2**70, "mix": ["a"] * 9}) for doc in SESSIONS_A]
    json_store.write_partition("wa", docs)
    rows = [to_rows(sql_store.schema, "wa", doc, i) for i, doc in enumerate(docs)]
    sql_store.write_partitions([PartitionWrite("wa", rows[::-1])])
    assert sql_store.list("wa") == json_store.list("wa") == docs
    assert sql_store.summaries("wa") == json_store.summaries("wa")
    assert [s["id"] for s in sql_store.summaries("wa")] == [d["id"] for d in docs]
    assert sql_store.summaries("wa")[0]["runtime_mix"]["big"] == 2**70
