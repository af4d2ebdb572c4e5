"""Full-text search bench tasks (registered into `bench/tasks.py`'s table)."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

from migrator.adapters.json_store import JsonStore
from migrator.adapters.search_query import tokenize
from migrator.adapters.sql_store import SqlStore


def register(task: Any, schema: Any) -> None:
    """Add this module's tasks to the runner's table."""

    @task
    def pick_word(json_dir: str, fraction: str = "0.01") -> dict[str, Any]:
        """The word (letters only, at least three) held by the share of chat messages closest
        to `fraction`, and that share."""
        frequency: Counter[str] = Counter()
        messages = 0
        for _, doc in JsonStore(json_dir, schema).iter_documents():
            for message in doc.get("chat_history", []):
                messages += 1
                frequency.update(set(tokenize(message.get("content") or "")))
        wanted = float(fraction) * messages
        words = [w for w in frequency if w.isalpha() and len(w) >= 3]
        word = min(words, key=lambda w: (abs(frequency[w] - wanted), w))
        return {"seconds": 0.0, "word": word, "share": frequency[word] / messages}

    @task
    def search_sql(json_dir: str, db: str, text: str, count: str = "30") -> dict[str, Any]:
        """Median seconds of one `search(text, limit=20)` through the database's index."""
        store = SqlStore(db, schema, create=False)
        store.search(text)  # a first call opens the connection and warms the page cache
        times = []
        for _ in range(int(count)):
            started = time.perf_counter()
            hits = store.search(text)
            times.append(time.perf_counter() - started)
        store.close()
        return {"seconds": statistics.median(times), "hits": len(hits)}

    @task
    def search_json(json_dir: str, db: str, text: str, count: str = "3") -> dict[str, Any]:
        """Median seconds of one `search(text, limit=20)` as a scan of the JSON files."""
        store = JsonStore(json_dir, schema)
        times = []
        for _ in range(int(count)):
            started = time.perf_counter()
            hits = store.search(text)
            times.append(time.perf_counter() - started)
        return {"seconds": statistics.median(times), "hits": len(hits)}

    @task
    def import_without_index(json_dir: str, db: str) -> dict[str, Any]:
        """The import with the full-text index left out (its triggers never created): what the
        index costs the bulk path."""
        from migrator.adapters.fulltext import FullTextIndex
        from migrator.importer import import_store

        FullTextIndex.ensure = lambda self, conn, fresh=(): False  # type: ignore[method-assign]
        started = time.perf_counter()
        summary = import_store(JsonStore(json_dir, schema), SqlStore(db, schema))
        return {"seconds": time.perf_counter() - started, "documents": summary.imported}
