"""Issue 15, finding 7: in dual-write, `put` refuses what SQL could never hold (an id another
partition holds, a chat message id already in use) with the same error as in sqlite-primary,
before JSON changes; a SQL store that is down still never fails the call."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.adapters.journal import Journal
from migrator.adapters.phase_state import Phase
from migrator.adapters.sql_store import SqlStore
from migrator.errors import DocumentError, MigratorError, PartitionConflictError, StoreError
from tests.dual_write.conftest import Env, session


def _taken_message_id() -> dict[str, Any]:
    doc = session("new-1")
    doc["chat_history"][0]["id"] = "ws-a-0-m0"  # ws-a-0's message
    return doc


CASES = [
    ("ws-b", session("ws-a-0", 7), PartitionConflictError, "already stored in partition 'ws-a'"),
    ("ws-a", _taken_message_id(), DocumentError, "refused by the database"),
]


@pytest.mark.parametrize(("partition", "doc", "error", "message"), CASES)
def test_dual_write_refuses_what_sql_cannot_hold_like_sqlite_primary(
    env: Env, partition: str, doc: dict[str, Any], error: type[MigratorError], message: str
) -> None:
    """The call raises the sqlite-primary error; neither store nor the journal changes."""
    raised: dict[Phase, type[MigratorError]] = {}
    for phase in (Phase.SQLITE_PRIMARY, Phase.DUAL_WRITE):
        env.set_phase_raw(phase)
        before = env.documents("json"), env.documents("sql")
        with env.open() as store, pytest.raises(error, match=message) as caught:
            store.put(partition, doc)
        raised[phase] = type(caught.value)
        assert (env.documents("json"), env.documents("sql")) == before
        assert Journal(env.json_dir).read().pending == ()
    assert raised[Phase.DUAL_WRITE] is raised[Phase.SQLITE_PRIMARY]


def test_a_sql_store_that_is_down_refuses_nothing(env: Env, failing: Any) -> None:
    """The check cannot run: the write reaches JSON and the SQL side is journaled."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    failing(SqlStore, "put")
    with env.open() as store:
        store.put("ws-a", session("ws-a-0", 3))
        assert store.get("ws-a-0") == session("ws-a-0", 3)
    assert [p.doc_id for p in Journal(env.json_dir).read().pending] == ["ws-a-0"]


def test_a_write_stopped_before_its_commit_changes_nothing(env: Env) -> None:
    """What a dual write relies on: the rows are written, then `before_commit` (the JSON
    write) raises, and SQL keeps none of them."""
    sql = env.sql_store()

    def refuse() -> None:
        raise StoreError("the JSON write failed")

    try:
        before = env.documents("sql")
        for doc in (session("ws-a-0", 11), session("brand-new", 1)):
            with pytest.raises(StoreError, match="the JSON write failed"):
                sql.put("ws-a", doc, before_commit=refuse)
        assert env.documents("sql") == before
    finally:
        sql.close()
