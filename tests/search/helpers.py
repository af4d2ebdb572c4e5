"""Helpers of the search tests: documents with chosen texts, and the index's own verdict."""

from __future__ import annotations

from typing import Any

from migrator.adapters.search_query import SearchHit
from migrator.adapters.sql_store import SqlStore
from tests.schemas.samples import instance, message, session


def doc(
    doc_id: str, task: str, messages: list[str] = (), outputs: list[str | None] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    """A valid session whose searchable texts are `task`, `messages` and `outputs`."""
    return session(
        doc_id,
        task=task,
        chat_history=[message(f"{doc_id}-m{i}", content=text) for i, text in enumerate(messages)],
        instances=[instance(i + 1, output=text) for i, text in enumerate(outputs)],
    )


def ranked(hits: list[SearchHit]) -> list[tuple[str, str, str, float]]:
    """What two backends must agree on: which documents, in which order, where, how scored."""
    return [(h.doc_id, h.partition, h.field, h.score) for h in hits]


def index_problems(store: SqlStore) -> list[str]:
    """The doctor's findings about the full-text index ([] when it agrees with the rows)."""
    return [f"{c.name}: {c.detail}" for c in store.search_index_checks() if c.status != "ok"]
