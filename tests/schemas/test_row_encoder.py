"""The importer's one-pass encoder (`migrator.schemas.row_encoder`) decides exactly what
`codec.validate` then `codec.to_rows` decide: the same rows, in the same column order with the
same types, or the same `DocumentError`. And its fast pass is really taken (not a property that
only holds because every document falls back to the codec)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.errors import DocumentError
from migrator.schemas import row_encoder
from migrator.schemas.codec import to_rows, validate
from migrator.schemas.declaration import Schema
from migrator.schemas.jsontext import dumps_compact, loads, loads_checked
from migrator.schemas.row_encoder import RowEncoder
from migrator.schemas.sessions import SESSIONS
from tests.schemas.strategies import documents, json_values
from tests.second_schema import NOTES
from tests.soak import examples

PROPERTY = settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def as_read(doc: Any) -> tuple[Any, bool]:
    """`doc` as the importer gets it: written to JSON text and parsed back, and whether the
    parse vouches for it (`json_checked`)."""
    try:
        return loads_checked(dumps_compact(doc))
    except ValueError:
        return doc, False


def outcome(schema: Schema, doc: Any, position: int) -> str:
    """What the codec makes of `doc`, as text that tells 1, 1.0 and True apart and keeps the
    rows' column order."""
    try:
        validate(schema, doc)
    except DocumentError as exc:
        return f"refused: {exc.reason!r} at {exc.field!r} of {exc.doc_id!r}"
    rows = to_rows(schema, "p-1", doc, position)
    return repr((rows.doc_id, rows.root, rows.children))


def encoded(schema: Schema, doc: Any, position: int, checked: bool) -> str:
    try:
        rows = RowEncoder(schema).encode(doc, "p-1", position, json_checked=checked)
    except DocumentError as exc:
        return f"refused: {exc.reason!r} at {exc.field!r} of {exc.doc_id!r}"
    return repr((rows.doc_id, rows.root, rows.children))


@st.composite
def damaged(draw: st.DrawFn, schema: Schema) -> Any:
    """A document the schema accepts, then one of its keys (at the root or in a child list)
    set to any JSON value, removed, or a child item repeated: mostly refused, sometimes not."""
    doc = draw(documents(schema))
    target = doc
    lists = [c.key for c in schema.children if isinstance(doc.get(c.key), list) and doc[c.key]]
    if lists and draw(st.booleans()):
        items = doc[draw(st.sampled_from(lists))]
        if draw(st.booleans()):
            items.append(dict(items[0]))
            return doc
        target = items[draw(st.integers(0, len(items) - 1))]
    keys = [*target, "not-a-field"]
    key = draw(st.sampled_from(keys))
    if key in target and draw(st.booleans()):
        del target[key]
    else:
        target[key] = draw(json_values(max_leaves=4))
    return doc


@pytest.mark.parametrize("schema", [SESSIONS, NOTES], ids=["sessions", "notes"])
@PROPERTY
@given(data=st.data())
def test_valid_documents_give_the_codecs_rows(schema: Schema, data: st.DataObject) -> None:
    doc, checked = as_read(data.draw(documents(schema)))
    position = data.draw(st.integers(0, 10_000))
    assert encoded(schema, doc, position, checked) == outcome(schema, doc, position)


@pytest.mark.parametrize("schema", [SESSIONS, NOTES], ids=["sessions", "notes"])
@PROPERTY
@given(data=st.data())
def test_damaged_documents_get_the_codecs_verdict(schema: Schema, data: st.DataObject) -> None:
    doc, checked = as_read(data.draw(damaged(schema)))
    assert encoded(schema, doc, 3, checked) == outcome(schema, doc, 3)


def test_values_it_cannot_vouch_for_are_left_to_the_codec() -> None:
    """Unchecked JSON (a lone surrogate), a value no column holds exactly, a repeated unique
    key: each gets the codec's answer."""
    doc = loads(dumps_compact(_session()))
    lone = dict(doc, task="a\ud800b")
    assert encoded(SESSIONS, lone, 0, False) == outcome(SESSIONS, lone, 0)
    nul = dict(doc, task="a\x00b", timeout_seconds=2**70)
    assert encoded(SESSIONS, nul, 0, True) == outcome(SESSIONS, nul, 0)
    twice = dict(doc, chat_history=[_message("m-1"), _message("m-1")])
    assert encoded(SESSIONS, twice, 0, True) == outcome(SESSIONS, twice, 0)
    assert outcome(SESSIONS, twice, 0).startswith("refused")


def test_plain_documents_take_the_fast_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the codec's functions made to fail, a plain document (and one lacking optional keys,
    in another key order, with unknown keys) is still encoded: by the fast pass alone."""
    expected = {}
    docs = [_session(), _session(model=None), {"extra-key": [1, {"a": 2}], **_session()}]
    sparse = _session()
    del sparse["completed_at"], sparse["chat_history"]
    docs.append(sparse)
    for i, doc in enumerate(docs):
        expected[i] = outcome(SESSIONS, doc, i)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the codec was called")

    monkeypatch.setattr(row_encoder, "validate", refuse)
    monkeypatch.setattr(row_encoder, "to_rows", refuse)
    for i, doc in enumerate(docs):
        assert encoded(SESSIONS, doc, i, True) == expected[i]


def _message(message_id: str) -> dict[str, Any]:
    return {"id": message_id, "role": "user", "content": "hi", "timestamp": "2026-01-01T00:00:00Z"}


def _session(**changes: Any) -> dict[str, Any]:
    doc = {
        "id": "s-1",
        "type": "debate",
        "task": "a task",
        "status": "completed",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:01Z",
        "completed_at": "2026-01-01T00:00:02Z",
        "instances": [
            {
                "instance_id": 1,
                "worktree_path": "/w",
                "branch": "b",
                "agent_name": "a",
                "status": "completed",
                "tmux_session_id": "t",
                "files_changed": 3,
            }
        ],
        "chat_history": [_message("m-1"), _message("m-2")],
        "model": "m",
        "timeout_seconds": 60,
        "preserve_worktrees": True,
        "runtime_mix": {"a": 1},
    }
    doc.update(changes)
    return doc
