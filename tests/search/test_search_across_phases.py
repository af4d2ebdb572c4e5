"""An application searches through `open_store` while the phases move under it, writing in
each one: from `json-only` to `sqlite-only` and back, every search gets the same answer (the
one computed from what it wrote), whichever store serves it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from migrator import api
from migrator.adapters.dual_write import DualWriteStore
from migrator.adapters.json_search import search_documents
from migrator.adapters.search_query import parse
from migrator.adapters.sql_store import SqlStore
from migrator.phase_guards import record_validation
from migrator.phases import set_phase
from migrator.schemas.declaration import Schema
from tests.conftest import FIXTURES
from tests.search.helpers import doc, index_problems, ranked

QUERIES = ("refactor", "okapi", '"session store"', "fix*", "zebra", "task okapi")


class Model:
    """What the application wrote, to compute the answer every phase must give."""

    def __init__(self, store: DualWriteStore) -> None:
        self.docs: dict[str, tuple[str, dict[str, Any]]] = {
            d["id"]: (p, d) for p, d in store.json.iter_documents()
        }

    def put(self, store: DualWriteStore, partition: str, document: dict[str, Any]) -> None:
        store.put(partition, document)
        self.docs[document["id"]] = (partition, document)

    def delete(self, store: DualWriteStore, doc_id: str) -> None:
        assert store.delete(doc_id)
        del self.docs[doc_id]

    def expected(self, store: DualWriteStore, text: str) -> list[tuple[str, str, str, float]]:
        return ranked(search_documents(store.schema, self.docs.values(), parse(text), 30))


def _move(json_dir: Path, db: Path, schema: Schema, phase: str) -> None:
    if phase == "sqlite-primary":
        record_validation(json_dir, api.validate(json_dir, db, schema))
    set_phase(json_dir, db, schema, phase)


def test_searches_answer_the_same_while_phases_move(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """Writes in every phase; after each, every query's answer equals the model's."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    shutil.copytree(FIXTURES / "store", json_dir)
    partition = "3f2a9c1e7b6d4a10"
    with DualWriteStore(json_dir, db, sessions_schema) as store:
        model = Model(store)
        first = next(iter(model.docs))
        steps = [
            ("json-only", None),
            ("dual-write", "import"),
            ("sqlite-primary", None),
            ("sqlite-only", None),
            ("sqlite-primary", None),
            ("dual-write", None),
            ("json-only", None),
            ("dual-write", "import"),
        ]
        for n, (phase, then) in enumerate(steps):
            if n:
                _move(json_dir, db, sessions_schema, phase)
            if then == "import":
                assert api.import_store(json_dir, db, sessions_schema).ok
            assert str(store.phase) == phase
            model.put(store, partition, doc(f"new-{n}", f"okapi task {n}", [f"zebra {n}"]))
            model.put(store, partition, doc(f"new-{n}", f"okapi task {n} again", ["fix it"]))
            if n % 2:
                model.delete(store, f"new-{n - 1}")
            if n == 3:
                model.delete(store, first)
            for text in QUERIES:
                assert ranked(store.search(text, limit=30)) == model.expected(store, text), (
                    phase,
                    text,
                )
    sql = SqlStore(db, sessions_schema, create=False)
    try:
        assert index_problems(sql) == []
    finally:
        sql.close()


def test_sqlite_primary_answers_from_json_when_the_index_is_missing(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """A database whose index is incomplete refuses the search; the store the application
    opened answers from the JSON files instead and records the fallback read."""
    import sqlite3

    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    shutil.copytree(FIXTURES / "store", json_dir)
    set_phase(json_dir, db, sessions_schema, "dual-write")
    assert api.import_store(json_dir, db, sessions_schema).ok
    _move(json_dir, db, sessions_schema, "sqlite-primary")
    with sqlite3.connect(db) as conn:
        conn.execute('DROP TABLE "fts_sessions_task"')
    with DualWriteStore(json_dir, db, sessions_schema) as store:
        expected = ranked(store.json.search("refactor"))
        assert ranked(store.search("refactor")) == expected
        store.incidents.flush()
    assert api.status(json_dir, db, sessions_schema).to_dict()["fallbacks"] >= 1


def test_dual_write_shadow_reads_compare_search_answers(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """With every read sampled, a search in dual-write is also asked of SQLite: equal answers
    count as matched; a document changed in SQL alone is a recorded `search` mismatch,
    and the caller still gets the JSON answer."""
    json_dir, db = tmp_path / "json", tmp_path / "app.db"
    shutil.copytree(FIXTURES / "store", json_dir)
    set_phase(json_dir, db, sessions_schema, "dual-write")
    assert api.import_store(json_dir, db, sessions_schema).ok
    with DualWriteStore(json_dir, db, sessions_schema, shadow_rate=1.0) as store:
        expected = ranked(store.json.search("refactor"))
        assert ranked(store.search("refactor")) == expected
        store.incidents.flush()
        shadow = api.status(json_dir, db, sessions_schema).to_dict()["shadow"]
        assert (shadow["compared"], shadow["matched"], shadow["mismatched"]) == (1, 1, 0)
        first = store.json.search("refactor")[0]
        changed = store.json.get(first.doc_id)
        assert changed is not None
        store.sql.put(first.partition, {**changed, "task": "unrelated"})  # SQL alone
        assert ranked(store.search("refactor")) == expected
        store.incidents.flush()
    shadow = api.status(json_dir, db, sessions_schema).to_dict()["shadow"]
    assert (shadow["compared"], shadow["mismatched"]) == (2, 1)
    assert shadow["recent"][-1]["read"] == "search"
