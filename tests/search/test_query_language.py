"""The search language: words ANDed, "phrases", prefix*; bad input is one clear error, never a
database's syntax error (FTS5 would choke on `AND`, `"`, `NEAR(`, `col:`, `^`...)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.adapters.json_store import JsonStore
from migrator.adapters.search_query import Term, fts5_match, parse
from migrator.adapters.sql_store import SqlStore
from migrator.errors import SearchQueryError, UsageError
from migrator.schemas.declaration import Schema
from tests.search.helpers import doc
from tests.soak import examples


def test_words_phrases_and_prefixes_parse_into_terms() -> None:
    """Words are lower-cased tokens; a quoted phrase keeps its order; `*` marks a prefix."""
    query = parse('Timeout "Redis cluster" conn* e-mail "dead lock"*')
    assert query.terms == (
        Term(("timeout",)),
        Term(("redis", "cluster")),
        Term(("conn",), prefix=True),
        Term(("e", "mail")),
        Term(("dead", "lock"), prefix=True),
    )


def test_operators_are_plain_words_in_the_fts5_text() -> None:
    """`OR`, `NOT`, `NEAR` and a column filter are searched for as words, quoted for FTS5 (a
    word holding separators, `c:d`, is the phrase of its tokens)."""
    assert fts5_match(parse("a OR b NOT c:d NEAR(e)")) == (
        '"a" AND "or" AND "b" AND "not" AND "c d" AND "near e"'
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no word to search for"),
        ("   ", "no word to search for"),
        ("!!! ??? *", "no word to search for"),
        ('"', "a quote is not closed"),
        ('"unclosed phrase', "a quote is not closed"),
        (" ".join(f"w{i}" for i in range(17)), "more than 16 terms"),
    ],
)
def test_text_with_nothing_to_find_is_one_clear_error(text: str, reason: str) -> None:
    """Each is a `SearchQueryError` (a usage error) quoting the text and saying why."""
    with pytest.raises(SearchQueryError) as caught:
        parse(text)
    assert reason in str(caught.value)
    assert isinstance(caught.value, UsageError)


@pytest.mark.parametrize("limit", [0, -1, 2.5, True, "3"])
def test_a_limit_that_is_no_positive_whole_number_is_refused(
    limit: object, json_store: JsonStore
) -> None:
    """A usage error naming the limit, before any store is read."""
    with pytest.raises(UsageError, match="search limit"):
        json_store.search("task", limit=limit)  # type: ignore[arg-type]


_HOSTILE = st.text(
    alphabet=st.sampled_from(list("ab \"*():^-+{}[],.;'\\\x00NEAROTDab\u00e9\u2028")), max_size=30
)


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=_HOSTILE)
def test_any_text_is_an_answer_or_a_search_error_never_sql_syntax(
    text: str, tmp_path: Path, sessions_schema: Schema
) -> None:
    """Whatever the text, SQLite answers or the language refuses it: no raw FTS5 error, and
    the JSON scan agrees with the index on which."""
    store = _store(tmp_path, sessions_schema)
    json_answer = sql_answer = None
    try:
        sql_answer = [h.doc_id for h in store.search(text)]
    except SearchQueryError:
        sql_answer = None
    json_store = JsonStore(tmp_path / "json", sessions_schema)
    try:
        json_answer = [h.doc_id for h in json_store.search(text)]
    except SearchQueryError:
        json_answer = None
    assert sql_answer == json_answer


_STORES: dict[Path, SqlStore] = {}


def _store(tmp_path: Path, schema: Schema) -> SqlStore:
    """One small store per test (hypothesis reuses tmp_path across examples)."""
    if tmp_path not in _STORES:
        store = SqlStore(tmp_path / "s.db", schema)
        store.init_schema()
        json_store = JsonStore(tmp_path / "json", schema)
        for d in (doc("s1", "a near b", ["ab or ba", "éa"]), doc("s2", "NOT a", [], ["b a"])):
            store.put("p", d)
            json_store.put("p", d)
        _STORES[tmp_path] = store
    return _STORES[tmp_path]
