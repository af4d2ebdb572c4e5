"""The codec by example: validation messages, what goes to typed columns and what to `extra`."""

from __future__ import annotations

import copy
import datetime
import json
import math
import sys
from typing import Any

import pytest

from migrator.errors import DocumentError
from migrator.schemas.codec import INT64_MAX, canonical_bytes, from_rows, to_rows, validate
from migrator.schemas.declaration import Schema
from migrator.schemas.sessions import SESSIONS
from tests.schemas.samples import instance, message, session
from tests.schemas.strategies import assert_same_document
from tests.second_schema import NOTES, note


def rejected(schema: Schema, doc: Any) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        validate(schema, doc)
    return caught.value


def round_trip(schema: Schema, doc: dict[str, Any]) -> dict[str, Any]:
    validate(schema, doc)
    rows = to_rows(schema, "part", doc)
    return from_rows(schema, rows.root, rows.children)


def extra(row: dict[str, Any]) -> dict[str, Any]:
    return {} if row["extra"] is None else dict(json.loads(row["extra"]))


# --------------------------------------------------------------------------- validate


def test_valid_documents_pass() -> None:
    """A complete session and a complete note are accepted."""
    validate(SESSIONS, session())
    validate(NOTES, note())


def test_not_an_object() -> None:
    """A record that is not a JSON object is refused, saying what it is."""
    error = rejected(SESSIONS, ["a"])
    assert error.reason == "expected a JSON object, got list"
    assert error.field is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (..., "missing"),
        (None, "missing"),
        ("", "expected a non-empty string, got ''"),
        (7, "expected a non-empty string, got 7"),
    ],
)
def test_bad_id(value: Any, reason: str) -> None:
    """The id must be a non-empty string; the error names the id field."""
    error = rejected(SESSIONS, session(id=value))
    assert (error.field, error.reason) == ("id", reason)


def test_id_key_is_the_schemas() -> None:
    """The second schema's id lives under `note_id`; `id` means nothing special there."""
    error = rejected(NOTES, note(note_id=...))
    assert error.field == "note_id"
    validate(NOTES, note(id=5))


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"task": 5}, "task", "expected a string, got integer 5"),
        ({"timeout_seconds": True}, "timeout_seconds", "expected an integer, got boolean True"),
        ({"timeout_seconds": 1.0}, "timeout_seconds", "expected an integer, got number 1.0"),
        ({"preserve_worktrees": 1}, "preserve_worktrees", "expected true or false, got integer 1"),
        (
            {"status": "exploded"},
            "status",
            "'exploded' is not one of: running, completed, failed, paused",
        ),
        ({"type": None}, "type", "must not be null"),
        ({"created_at": ...}, "created_at", "missing"),
        ({"instances": None}, "instances", "expected a list, got null"),
        ({"instances": {"0": {}}}, "instances", "expected a list, got object"),
        ({"instances": ["x"]}, "instances[0]", "expected an object, got string"),
        ({"instances": [instance(1, status="gone")]}, "instances[0].status", None),
        ({"chat_history": [message("m", role=None)]}, "chat_history[0].role", "must not be null"),
    ],
)
def test_field_errors(changes: dict[str, Any], field: str, reason: str | None) -> None:
    """Each kind of bad value is refused with the field's path and a reason; the id is kept."""
    error = rejected(SESSIONS, session("sid", **changes))
    assert error.field == field
    assert error.doc_id == "sid"
    if reason is not None:
        assert error.reason == reason
    assert f"field {field}: " in str(error)


def test_renamed_key_is_validated_under_its_document_name() -> None:
    """`type` (column `session_type`) and `kind` (column `note_kind`) are checked by key name."""
    assert rejected(SESSIONS, session(type="solo")).field == "type"
    assert rejected(NOTES, note(kind="poem")).field == "kind"
    assert rejected(NOTES, note(revisions=[{"rev": 1}])).field == "revisions[0].text"


def test_int_where_float_is_declared_is_accepted() -> None:
    """An integer is a number: a float column takes it (and the codec keeps it an int)."""
    validate(NOTES, note(weight=2, score=3))
    assert rejected(NOTES, note(weight="2")).field == "weight"


def test_required_child_list() -> None:
    """A required child list may not be absent; an optional one may."""
    error = rejected(NOTES, note(revisions=...))
    assert (error.field, error.reason) == ("revisions", "missing")
    validate(NOTES, note(tags=...))
    validate(SESSIONS, session(instances=..., chat_history=...))


def test_duplicate_in_a_unique_column() -> None:
    """Two instances with one instance_id: refused, naming both places."""
    error = rejected(SESSIONS, session(instances=[instance(4), instance(5), instance(4)]))
    assert error.field == "instances[2].instance_id"
    assert "also at instances[0]" in error.reason
    assert rejected(NOTES, note(revisions=[{"rev": 1, "text": ""}] * 2)).field == "revisions[1].rev"


def test_duplicates_allowed_where_no_constraint() -> None:
    """Tags have no unique column: the same tag twice is fine."""
    validate(NOTES, note(tags=[{"label": "a"}, {"label": "a"}]))


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"a": [1, math.inf]}, "x.a[1]"),
        ({"a": math.nan}, "x.a"),
        ([{"b": {1: 2}}], "x[0].b"),
        ({1, 2}, "x"),
        ((1, 2), "x"),
        (datetime.date(2025, 1, 1), "x"),
        (b"bytes", "x"),
    ],
)
def test_values_json_cannot_hold(value: Any, field: str) -> None:
    """Non-finite numbers, non-text keys and Python-only types are refused where they sit."""
    error = rejected(SESSIONS, session(x=value))
    assert error.field == field


@pytest.mark.parametrize("where", ["value", "key", "child", "id"])
def test_lone_surrogates_are_refused(where: str) -> None:
    """Text with a lone surrogate is not Unicode: no JSON file or database can store it."""
    bad = "a\ud800b"
    doc = {
        "value": session(x=[bad]),
        "key": session(x={bad: 1}),
        "child": session(instances=[instance(1, branch=bad)]),
        "id": session(bad),
    }[where]
    error = rejected(SESSIONS, doc)
    assert "surrogate" in error.reason


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (session("a\x00b"), "id"),
        (note("n\x00"), "note_id"),
        (session(chat_history=[message("m\x00")]), "chat_history[0].id"),
        (session(instances=[instance(2**64)]), "instances[0].instance_id"),
        (note(revisions=[{"rev": -(2**63) - 1, "text": ""}]), "revisions[0].rev"),
    ],
)
def test_unique_columns_must_hold_the_value_itself(doc: dict[str, Any], field: str) -> None:
    """A key or unique column cannot keep its value aside in `extra` (a placeholder would collide
    or be unfindable), so NUL text and integers beyond 64 bits are refused there."""
    error = rejected(SESSIONS if "id" in doc else NOTES, doc)
    assert error.field == field
    assert "unique" in error.reason


def test_validate_does_not_change_the_document() -> None:
    """Validation only reads."""
    doc = session(x={"b": 1, "a": [1.0]})
    before = copy.deepcopy(doc)
    validate(SESSIONS, doc)
    assert_same_document(before, doc)


# --------------------------------------------------------------------------- to_rows


def test_a_document_the_schema_describes_exactly_has_no_extra() -> None:
    """Known keys, usual order, values that fit: every row's `extra` is NULL."""
    rows = to_rows(SESSIONS, "ws1", session())
    assert rows.root["extra"] is None
    for child_rows in rows.children.values():
        assert child_rows
        assert all(row["extra"] is None for row in child_rows)
    rows = to_rows(NOTES, "f", note())
    assert rows.root["extra"] is None


def test_rows_carry_partition_position_and_parent() -> None:
    """The root row holds the partition and its position; child rows their parent and index."""
    rows = to_rows(SESSIONS, "ws1", session("s9"), position=4)
    assert rows.doc_id == "s9"
    assert (rows.root["workspace_hash"], rows.root["position"]) == ("ws1", 4)
    assert rows.root["session_type"] == "competition"
    assert "type" not in rows.root
    assert [(r["session_id"], r["position"]) for r in rows.children["instances"]] == [
        ("s9", 0),
        ("s9", 1),
    ]
    assert all("id" not in r for r in rows.children["instances"])  # the database assigns it
    assert [r["id"] for r in rows.children["chat_messages"]] == ["s9-m0", "s9-m1"]


def test_renamed_child_key_goes_to_its_column() -> None:
    """`text` of a revision is stored in column `body`."""
    rows = to_rows(NOTES, "f", note())
    assert rows.children["note_revisions"][0]["body"] == "hello"
    assert rows.children["note_tags"][0]["owner"] == "n1"


def test_json_column_is_compact_text_in_key_order() -> None:
    """A JSON column holds the value's compact text, its key order as given."""
    rows = to_rows(NOTES, "f", note(meta={"z": 1, "a": [1.0, None]}))
    assert rows.root["meta"] == '{"z":1,"a":[1.0,null]}'


@pytest.mark.parametrize(
    ("changes", "key", "column_value"),
    [
        ({"timeout_seconds": 2**64}, "timeout_seconds", None),
        ({"task": "a\x00b"}, "task", "ab"),
        ({"model": "\x00"}, "model", None),
        ({"runtime_mix": {"n": 2**70}}, "runtime_mix", None),
    ],
)
def test_values_that_do_not_fit_go_to_extra(
    changes: dict[str, Any], key: str, column_value: Any
) -> None:
    """A big int, text with NUL, JSON with a big int: kept exactly in `extra`, the column holds a
    placeholder (NULL, or for a NOT NULL column the nearest value it can hold)."""
    rows = to_rows(SESSIONS, "ws", session(**changes))
    column = "task" if key == "task" else key
    assert rows.root[column] == column_value
    assert extra(rows.root)["keys"] == changes


def test_required_columns_get_placeholders_within_their_type() -> None:
    """NOT NULL columns get a placeholder their type can hold, even for huge numbers."""
    rows = to_rows(SESSIONS, "ws", session(instances=[instance(1, lines_added=2**64)]))
    # lines_added is nullable: NULL; instance_id is required but must fit (see above).
    assert rows.children["instances"][0]["lines_added"] is None
    big = to_rows(NOTES, "f", note(weight=10**400))
    assert big.root["weight"] == sys.float_info.max
    assert extra(big.root)["keys"] == {"weight": 10**400}
    assert to_rows(NOTES, "f", note(weight=-(10**400))).root["weight"] == -sys.float_info.max
    assert to_rows(NOTES, "f", note(weight=3)).root["weight"] == 3.0


@pytest.mark.parametrize(
    ("value", "column", "recorded"),
    [
        (1, 1.0, {"ints": ["score"]}),
        (-0.0, 0.0, {"keys": {"score": -0.0}}),
        (2**53 + 1, None, {"keys": {"score": 2**53 + 1}}),
    ],
)
def test_floats_and_ints_are_never_confused(value: Any, column: Any, recorded: Any) -> None:
    """An int in a float column is shown there as the float it equals (recorded as an int);
    -0.0 (SQLite drops its sign) shows 0.0 and travels in `extra`; an int no double holds
    exactly travels in `extra` alone. Each comes back exactly."""
    rows = to_rows(NOTES, "f", note(score=value))
    assert rows.root["score"] == column
    assert extra(rows.root) == recorded
    back = from_rows(NOTES, rows.root, rows.children)["score"]
    assert type(back) is type(value)
    assert repr(back) == repr(value)


def test_plain_floats_stay_in_their_column() -> None:
    """Ordinary floats (negative ones too) need no `extra`."""
    rows = to_rows(NOTES, "f", note(weight=-2.5, score=0.0))
    assert (rows.root["weight"], rows.root["score"], rows.root["extra"]) == (-2.5, 0.0, None)


def test_absent_and_null_are_different() -> None:
    """An absent optional key is recorded in `extra`; a null one is just NULL."""
    absent = to_rows(SESSIONS, "ws", session(model=...))
    null = to_rows(SESSIONS, "ws", session(model=None))
    assert extra(absent.root) == {"absent": ["model"]}
    assert null.root["extra"] is None
    assert "model" not in round_trip(SESSIONS, session(model=...))
    assert round_trip(SESSIONS, session(model=None))["model"] is None


def test_absent_and_empty_child_lists_are_different() -> None:
    """An absent list comes back absent, an empty one empty."""
    absent = to_rows(SESSIONS, "ws", session(instances=...))
    assert extra(absent.root) == {"absent": ["instances"]}
    assert absent.children["instances"] == []
    assert "instances" not in round_trip(SESSIONS, session(instances=...))
    assert round_trip(SESSIONS, session(instances=[]))["instances"] == []


def test_unusual_key_order_is_recorded() -> None:
    """Only a document in another order than the schema's records its order."""
    doc = session()
    shuffled = {key: doc[key] for key in reversed(doc)}
    rows = to_rows(SESSIONS, "ws", shuffled)
    assert extra(rows.root)["order"] == list(shuffled)
    assert list(round_trip(SESSIONS, shuffled)) == list(shuffled)


def test_unknown_keys_after_known_ones_need_no_order() -> None:
    """Unknown keys appended after the known ones come back in place without an `order`."""
    doc = session(zeta=1, alpha={"y": 1, "x": [2**80]})
    rows = to_rows(SESSIONS, "ws", doc)
    assert extra(rows.root) == {"keys": {"zeta": 1, "alpha": {"y": 1, "x": [2**80]}}}
    assert_same_document(doc, round_trip(SESSIONS, doc))


def test_unknown_keys_named_like_internal_columns() -> None:
    """Keys named like columns the mapping owns are kept as document keys, not confused."""
    doc = session(
        extra="e",
        position=9,
        workspace_hash="w",
        session_type="t",
        instances=[instance(1, id=5, session_id="other", position=-1, extra=None)],
    )
    rows = to_rows(SESSIONS, "ws", doc)
    assert (rows.root["workspace_hash"], rows.root["position"]) == ("ws", 0)
    assert rows.root["session_type"] == "competition"
    assert rows.children["instances"][0]["session_id"] == "s1"
    assert_same_document(doc, round_trip(SESSIONS, doc))


def test_to_rows_does_not_change_the_document() -> None:
    """Encoding only reads."""
    doc = session(model=..., x=[1])
    before = copy.deepcopy(doc)
    to_rows(SESSIONS, "ws", doc)
    assert_same_document(before, doc)


def test_deeply_nested_unknown_value() -> None:
    """A value nested deeper than orjson writes (over 254 levels) still round-trips."""
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"d": [deep]}
    doc = session(deep=deep)
    back = round_trip(SESSIONS, doc)
    assert back == doc  # DeepDiff itself recurses too deep here
    assert canonical_bytes(back) == canonical_bytes(doc)


# --------------------------------------------------------------------------- canonical bytes


def test_canonical_bytes_ignore_key_order_only() -> None:
    """Equal documents in another key order share bytes; 1 vs 1.0, -0.0 vs 0.0 do not."""
    assert canonical_bytes({"b": 1, "a": [{"y": 1, "x": 2}]}) == canonical_bytes(
        {"a": [{"x": 2, "y": 1}], "b": 1}
    )
    assert canonical_bytes({"a": 1}) != canonical_bytes({"a": 1.0})
    assert canonical_bytes({"a": -0.0}) != canonical_bytes({"a": 0.0})
    assert canonical_bytes({"a": [1, 2]}) != canonical_bytes({"a": [2, 1]})
    assert canonical_bytes({"a": None}) != canonical_bytes({})


def test_canonical_bytes_of_big_ints_and_unicode() -> None:
    """Big ints are written exactly and non-ASCII raw, sorted the same way."""
    data = canonical_bytes({"z": 2**70, "é": "\U0001f600\x00"})
    assert data == '{"z":1180591620717411303424,"é":"\U0001f600\\u0000"}'.encode()


def test_int64_edges_fit_exactly() -> None:
    """The largest 64-bit integer stays in its column; one more goes to `extra`."""
    fits = to_rows(SESSIONS, "ws", session(total_duration=INT64_MAX))
    assert fits.root["total_duration"] == INT64_MAX and fits.root["extra"] is None
    over = to_rows(SESSIONS, "ws", session(total_duration=INT64_MAX + 1))
    assert over.root["total_duration"] is None
    assert extra(over.root)["keys"] == {"total_duration": INT64_MAX + 1}
