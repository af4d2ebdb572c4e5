"""Full-text search on PostgreSQL: generated tsvector columns with GIN indexes, kept by the
database in every write's transaction (COPY included); the same documents found as by the
JSON scan; doctor and reindex; long texts stored, not refused."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from migrator import api
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.cli import app
from migrator.generate import generate_store
from migrator.schemas.declaration import Schema
from migrator.schemas.sessions import SESSIONS
from tests.search.helpers import doc, index_problems
from tests.soak import examples

pytestmark = pytest.mark.postgres

WORDS = ["alpha", "Beta", "gamma", "fox", "foxes", "über", "x1"]
SEPARATORS = [" ", ", ", "\n", "! ", ". "]


def _ids(store: SqlStore | JsonStore, text: str) -> set[str]:
    return {hit.doc_id for hit in store.search(text, limit=1000)}


texts = st.lists(st.sampled_from(WORDS), max_size=6).flatmap(
    lambda words: st.lists(
        st.sampled_from(SEPARATORS), min_size=len(words), max_size=len(words)
    ).map(lambda seps: "".join(w + s for w, s in zip(words, seps, strict=True)))
)
documents = st.lists(
    st.tuples(texts, st.lists(texts, max_size=3), st.lists(st.none() | texts, max_size=2)),
    min_size=1,
    max_size=6,
)
queries = st.lists(
    st.sampled_from([w.lower() for w in WORDS] + ["fo*", "al*", '"alpha beta"', '"fox fox"']),
    min_size=1,
    max_size=2,
).map(" ".join)


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(store=documents, query_list=st.lists(queries, min_size=1, max_size=3))
def test_postgres_finds_the_documents_the_json_scan_finds(
    pg_db_url: str, store: list[tuple[str, list[str], list[str | None]]], query_list: list[str]
) -> None:
    """Same set of documents for words, phrases and prefixes (the ranks are ts_rank's)."""
    sql = SqlStore(pg_db_url, SESSIONS)
    try:
        for doc_id in sql.ids_in("p"):
            sql.delete(doc_id)
        with tempfile.TemporaryDirectory() as tmp:
            json_store = JsonStore(Path(tmp), SESSIONS)
            for n, (task, messages, outputs) in enumerate(store):
                document = doc(f"s{n}", task, messages, outputs)
                sql.put("p", document)
                json_store.put("p", document)
            for text in query_list:
                assert _ids(sql, text) == _ids(json_store, text), text
    finally:
        sql.close()


def test_put_replace_delete_and_copy_import_keep_the_index(
    pg_db_url: str, sessions_schema: Schema, tmp_path: Path
) -> None:
    """The import's COPY and each single write leave the vectors equal to their texts."""
    generate_store(tmp_path / "json", sessions=60, schema=sessions_schema, seed=5)
    assert api.import_store(tmp_path / "json", pg_db_url, sessions_schema).ok
    json_store = JsonStore(tmp_path / "json", sessions_schema)
    sql = SqlStore(pg_db_url, sessions_schema)
    try:
        assert index_problems(sql) == []
        for text in ("test", "session", "fix*", "error"):
            assert _ids(sql, text) == _ids(json_store, text), text
        sql.put("p", doc("s1", "plain", ["a zebra"], ["yak"]))
        assert _ids(sql, "zebra") == _ids(sql, "yak") == {"s1"}
        sql.put("p", doc("s1", "plain", ["an okapi"], [None]))
        assert _ids(sql, "zebra") == _ids(sql, "yak") == set()
        assert sql.delete("s1") and _ids(sql, "okapi") == set()
        hits = sql.search("refactor", limit=3)
        assert len(hits) == 3 and all("[" in hit.snippet for hit in hits)
        assert index_problems(sql) == []
    finally:
        sql.close()


def test_a_missing_index_is_a_doctor_problem_and_reindex_builds_it(
    pg_db_url: str, sessions_schema: Schema, tmp_path: Path
) -> None:
    """An index dropped by hand: search refuses, doctor names the fix, reindex rebuilds."""
    sql = SqlStore(pg_db_url, sessions_schema)
    sql.put("p", doc("s1", "legacy", ["capybara"]))
    sql.close()
    with psycopg.connect(pg_db_url.replace("+psycopg", "")) as conn:
        conn.execute('DROP INDEX "fts_chat_messages_content"')
    report = api.diagnose(tmp_path, pg_db_url, sessions_schema)
    problems = [c.detail for c in report.problems if c.name.startswith("search index")]
    assert len(problems) == 1 and "migrator reindex --db" in problems[0]
    result = CliRunner().invoke(app, ["reindex", "--db", pg_db_url])
    assert result.exit_code == 0, result.output
    sql = SqlStore(pg_db_url, sessions_schema, create=False)
    try:
        assert _ids(sql, "capybara") == {"s1"}
        assert index_problems(sql) == []
    finally:
        sql.close()


def test_a_text_beyond_the_indexed_length_is_stored_and_its_start_searchable(
    pg_db_url: str, sessions_schema: Schema
) -> None:
    """700,000 characters of URL and hyphenated words (more lexemes than characters): stored
    exactly (a tsvector holds 1 MB: only the first 100,000 characters are indexed)."""
    words = " ".join(f"http://h{i}.example.com/a-b-{i} 𠀀-𠀁{i}" for i in range(22_000))
    long_doc: dict[str, Any] = doc("long", "a long task", [f"aardvark {words} zzyzx"])
    sql = SqlStore(pg_db_url, sessions_schema)
    try:
        sql.put("p", long_doc)
        assert sql.get("long") == long_doc
        assert len(long_doc["chat_history"][0]["content"]) > 700_000
        assert _ids(sql, "aardvark") == {"long"}
        assert _ids(sql, "zzyzx") == set()  # beyond the indexed characters
    finally:
        sql.close()
