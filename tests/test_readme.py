"""The docs' promises that are code: docs/schema.md's example runs through both stores."""

from __future__ import annotations

import re
from pathlib import Path

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _python_block_after(page: str, heading: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def test_bring_your_own_schema_example_round_trips(tmp_path: Path) -> None:
    """The documented schema declaration works as written: put then get is lossless."""
    namespace: dict[str, object] = {}
    exec(_python_block_after("schema.md", "# Bringing your own schema"), namespace)
    schema = namespace["BOOKMARKS"]
    doc = {
        "id": "b1",
        "url": "https://example.org",
        "state": "unread",
        "tags": [{"label": "python"}, {"label": "sql"}],
        "note": {"unknown": "keys survive"},
    }
    sql = SqlStore(tmp_path / "b.db", schema)  # type: ignore[arg-type]
    sql.put("inbox", doc)
    assert sql.get("b1") == doc
    json_store = JsonStore(tmp_path / "json", schema)  # type: ignore[arg-type]
    json_store.put("inbox", doc)
    assert json_store.list("inbox") == [doc]
    sql.close()
