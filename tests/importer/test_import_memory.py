"""The import's memory is bounded by its batch, not by the store (issue 19: peak RSS at 100k
sessions <= 150 MB). Rows waiting for their transaction keep their documents' text alive, so
the default batch decides what the import holds between files: at 1,000 documents the CLI's
import measured 158 MB at 100k, at 500 about 24 MB less (bench/RESULTS.md). (Parsing a file
briefly takes ~13x its size besides, orjson's own buffers: bench/profiles/import-memory-10k.txt.)"""

from __future__ import annotations

import copy
import tracemalloc
import uuid
from pathlib import Path

import orjson

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.importer import import_store
from migrator.schemas.declaration import Schema
from tests.importer.conftest import FIXTURES

#: Each document's own text: what a pending row keeps alive until its batch commits.
TEXT = 20_000
FILES, PER_FILE = 12, 100


def _store(root: Path) -> Path:
    """1,200 valid sessions of about 20 KB each, 100 a file: text dominates their memory."""
    first = next(iter(sorted((FIXTURES / "store").glob("*.json"))))
    template = orjson.loads(first.read_bytes())[0]
    root.mkdir()
    for number in range(FILES):
        docs = []
        for index in range(PER_FILE):
            doc = copy.deepcopy(template)
            doc["id"] = str(uuid.UUID(int=number * PER_FILE + index + 1))
            doc["task"] = f"{number}-{index} " + "x" * TEXT
            docs.append(doc)
        (root / f"{number:04x}.json").write_bytes(orjson.dumps(docs))
    return root


def test_the_default_batch_holds_at_most_about_500_documents_text(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """Between two files, an import of 1,200 documents of 20 KB holds less than 750 documents'
    text: with the former default batch (1,000) it held 1,000 documents' (over 20 MB)."""
    json_store = JsonStore(_store(tmp_path / "store"), sessions_schema)
    sql_store = SqlStore(tmp_path / "app.db", sessions_schema)
    sql_store.init_schema()  # the schema's own set-up is not the import's batch
    held: list[int] = []
    tracemalloc.start()
    try:
        summary = import_store(
            json_store,
            sql_store,
            parallel=False,
            progress=lambda _: held.append(tracemalloc.get_traced_memory()[0]),
        )
    finally:
        tracemalloc.stop()
        sql_store.close()
    assert summary.imported == FILES * PER_FILE
    assert len(held) == FILES
    assert max(held) < 750 * TEXT, f"{max(held) / 2**20:.1f} MiB held after a file"
