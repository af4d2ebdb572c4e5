"""Pending writes on a live system: a write that begins while the guards settle the journal is
in flight, not pending, so `phase set` and `check` pass beside a busy application."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from migrator.adapters.journal import Journal, Side
from migrator.adapters.json_store import JsonStore
from migrator.journal_replay import settled_pending
from migrator.schemas.declaration import Schema


class _BusyStore(JsonStore):
    """A store whose partitions are busy: right after the settling pass releases a partition's
    lock, the next writer of that partition takes it and journals its intent."""

    @contextlib.contextmanager
    def lock(self, partition: str) -> Iterator[None]:  # type: ignore[override]
        with super().lock(partition):
            yield
        Journal(self.root).begin("put", f"next-{partition}", partition, Side.JSON, "r2")


def test_a_write_begun_while_settling_is_not_pending(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """Only an intent pending before the locks were passed, and still pending after, counts."""
    journal = Journal(tmp_path)
    journal.begin("put", "stuck", "ws-a", Side.JSON, "r1")  # its writer died: no `done`
    pending = settled_pending(_BusyStore(tmp_path, sessions_schema), journal)
    assert [p.doc_id for p in pending] == ["stuck"]
    assert {p.doc_id for p in journal.read().pending} == {"stuck", "next-ws-a"}
