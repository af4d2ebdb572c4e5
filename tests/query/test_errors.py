"""Bad criteria are one `QueryError` naming the field, from every store, before any SQL runs."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.errors import QueryError, UsageError
from tests.query.conftest import fill
from tests.schemas.samples import session

Pair = tuple[JsonStore, SqlStore]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"where": {"colour": "red"}}, "colour", "unknown field"),
        ({"where": {"session_type": "debate"}}, "session_type", "unknown field"),  # a column name
        ({"where": {"status__like": "f%"}}, "status", "unknown operator"),
        ({"where": {"runtime_mix": ["claude"]}}, "runtime_mix", "JSON column"),
        ({"where": {"runtime_mix__gt": 1}}, "runtime_mix", "JSON column"),
        ({"where": {"timeout_seconds": "600"}}, "timeout_seconds", "expected a number"),
        ({"where": {"timeout_seconds": True}}, "timeout_seconds", "expected a number"),
        ({"where": {"status": 3}}, "status", "expected a string"),
        ({"where": {"preserve_worktrees__gt": True}}, "preserve_worktrees", "no order"),
        ({"where": {"preserve_worktrees": 1}}, "preserve_worktrees", "True or False"),
        ({"where": {"status__in": "failed"}}, "status", "list of values"),
        ({"where": {"timeout_seconds__prefix": "6"}}, "timeout_seconds", "text field"),
        ({"where": {"model__null": "yes"}}, "model", "True or False"),
        ({"where": {"instances": []}}, "instances", "child list"),
        ({"has": {"workers": {"status": "failed"}}}, "workers", "not a child list"),
        ({"has": {"instances": {"colour": "red"}}}, "instances.colour", "unknown field"),
        ({"has": {"instances": {"status": 1}}}, "instances.status", "expected a string"),
        ({"order": ["-colour"]}, "colour", "unknown field"),
        ({"order": ["runtime_mix"]}, "runtime_mix", "JSON column"),
        ({"limit": -1}, "limit", "whole number"),
        ({"offset": "2"}, "offset", "whole number"),
        ({"returning": "rows"}, "returning", "summaries, documents or ids"),
        ({"after": "not-a-cursor"}, "after", "not a cursor"),
    ],
)
def test_bad_criteria_name_the_field(
    pair: Pair, query: dict[str, Any], field: str, words: str
) -> None:
    """Each mistake is a QueryError (a UsageError: exit 2 in the CLI) naming the field."""
    fill(*pair, {"wa": [session("s1")]})
    for store in pair:
        with pytest.raises(QueryError) as caught:
            store.find(**query)
        assert caught.value.field == field
        assert words in str(caught.value)
        assert str(caught.value).startswith(f"query field {field}: ")
        assert isinstance(caught.value, UsageError)


def test_a_cursor_of_another_order_is_refused(pair: Pair) -> None:
    """A cursor only continues the order it was made for."""
    fill(*pair, {"wa": [session("s1"), session("s2")]})
    cursor = pair[1].find(order=["created_at"], limit=1).cursor
    assert cursor is not None
    for store in pair:
        with pytest.raises(QueryError, match="was made for order"):
            store.find(order=["-created_at"], after=cursor)
