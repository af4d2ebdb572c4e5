"""Issue 19 (put at the physical limit): what one put asks SQLite, seen through the driver's own
trace (whatever layer runs the statements), and that the index it keeps still answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from migrator.adapters.sql_store import SqlStore
from migrator.schemas.sessions import SESSIONS
from tests.schemas.samples import message, session


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[SqlStore, list[str]]]:
    """A store whose every connection reports each statement it runs (FTS5's own inner
    statements, which start with `--`, left out)."""
    store = SqlStore(tmp_path / "s.db", SESSIONS)
    statements: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: None if sql.startswith("--") else statements.append(sql)
        )

    event.listen(store.engine, "connect", trace)
    store.init_schema()
    yield store, statements
    store.close()


def _looks_for_the_index(statements: list[str]) -> int:
    return sum("sqlite_master" in sql for sql in statements)


@pytest.mark.parametrize("replacing", [False, True])
def test_a_put_looks_for_the_search_index_once(
    traced: tuple[SqlStore, list[str]], replacing: bool
) -> None:
    """Before: once to take the old values out of the index and once to add the new ones."""
    store, statements = traced
    if replacing:
        store.put("ws-a", session("s-1"))
    statements.clear()
    store.put("ws-a", session("s-1", chat_history=[message("m-1", content="kestrel")]))
    assert _looks_for_the_index(statements) == 1, statements
    assert [hit.doc_id for hit in store.search("kestrel")] == ["s-1"]
    assert [hit.doc_id for hit in store.search("hello")] == []
