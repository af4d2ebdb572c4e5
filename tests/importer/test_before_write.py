"""import_store(before_write=...): the hook the CLI takes its snapshot in, called once, right
before the first write, and only when the run writes something."""

from __future__ import annotations

import json
from pathlib import Path

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.importer import import_store
from migrator.schemas.declaration import Schema
from tests.importer.conftest import stored_documents


class _Hook:
    """Counts its calls and keeps what the database held at the first one."""

    def __init__(self, sql_store: SqlStore) -> None:
        self.sql_store = sql_store
        self.calls = 0
        self.seen: dict[str, tuple[str, bytes]] | None = None

    def __call__(self) -> None:
        self.calls += 1
        if self.seen is None:
            self.seen = stored_documents(self.sql_store)


def test_called_once_before_the_first_write(json_store: JsonStore, sql_store: SqlStore) -> None:
    """A first import over many small batches calls the hook once, while the database is still
    empty; the import then writes everything."""
    hook = _Hook(sql_store)
    summary = import_store(json_store, sql_store, batch_size=2, before_write=hook)
    assert summary.ok and summary.imported == 36
    assert hook.calls == 1 and hook.seen == {}


def test_not_called_when_nothing_changes_nor_in_a_dry_run(
    json_store: JsonStore, sql_store: SqlStore
) -> None:
    """An unchanged re-import and a dry run write nothing, so the hook is never called."""
    import_store(json_store, sql_store)
    hook = _Hook(sql_store)
    assert import_store(json_store, sql_store, before_write=hook).unchanged == 36
    assert import_store(json_store, sql_store, dry_run=True, before_write=hook).ok
    assert hook.calls == 0


def test_a_changed_file_calls_it_with_the_old_content_still_there(
    fixture_store_dir: Path, sessions_schema: Schema, sql_store: SqlStore
) -> None:
    """A re-import with one changed file: the hook sees the database as the last import left it."""
    json_store = JsonStore(fixture_store_dir, sessions_schema)
    import_store(json_store, sql_store)
    before = stored_documents(sql_store)
    path = sorted(fixture_store_dir.glob("*.json"))[0]
    records = json.loads(path.read_text(encoding="utf-8"))
    records[0]["task"] = "changed"
    path.write_text(json.dumps(records), encoding="utf-8")
    hook = _Hook(sql_store)
    summary = import_store(json_store, sql_store, before_write=hook)
    assert summary.imported == len(records) and hook.calls == 1
    assert hook.seen == before != stored_documents(sql_store)
