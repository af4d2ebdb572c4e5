"""The JSON scan answers as SQLite's FTS5 index does: the same documents, in the same order,
found at the same place, with the very same bm25 score (random stores, random queries)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.sessions import SESSIONS
from tests.search.helpers import doc, ranked
from tests.soak import examples

WORDS = ["alpha", "Alpha", "beta", "gamma", "fox", "foxes", "Über", "über", "naïve", "x1", "e-mail"]
SEPARATORS = [" ", " ", ", ", "-", "\n", "! ", "\x00", "_"]


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), max_size=8))
    out = ""
    for word in words:
        out += word + draw(st.sampled_from(SEPARATORS))
    return out


@st.composite
def documents(draw: st.DrawFn, doc_id: str) -> dict[str, Any]:
    return doc(
        doc_id,
        draw(texts()),
        draw(st.lists(texts(), max_size=4)),
        draw(st.lists(st.none() | texts(), max_size=3)),
    )


@st.composite
def stores(draw: st.DrawFn) -> list[tuple[str, dict[str, Any]]]:
    count = draw(st.integers(min_value=1, max_value=8))
    return [(draw(st.sampled_from(["p1", "p2"])), draw(documents(f"s{i}"))) for i in range(count)]


@st.composite
def queries(draw: st.DrawFn) -> str:
    word = st.sampled_from([w.lower() for w in WORDS] + ["fo*", "al*", "Ü*", "missing", "e*"])
    phrase = st.lists(st.sampled_from(["alpha", "beta", "fox", "über"]), min_size=2, max_size=3)
    terms = draw(
        st.lists(word | phrase.map(lambda ws: '"' + " ".join(ws) + '"'), min_size=1, max_size=3)
    )
    return " ".join(terms)


@settings(max_examples=examples(150), deadline=None)
@given(
    store=stores(), query_list=st.lists(queries(), min_size=1, max_size=4), limit=st.integers(1, 12)
)
def test_json_scan_and_fts5_give_the_same_ranked_answer(
    store: list[tuple[str, dict[str, Any]]], query_list: list[str], limit: int
) -> None:
    """Same ids, partitions, fields and bm25 scores in the same order, for any limit."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        json_store = JsonStore(root / "json", SESSIONS)
        sql = SqlStore(root / "s.db", SESSIONS)
        try:
            for partition, document in store:
                json_store.put(partition, document)
                sql.put(partition, document)
            for query in query_list:
                assert ranked(json_store.search(query, limit=limit)) == ranked(
                    sql.search(query, limit=limit)
                ), query
        finally:
            sql.close()
