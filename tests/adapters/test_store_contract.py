"""The store contract: the same cases, run against the JSON store and the SQL store.

Where the two backends differ on purpose (an id put into a second partition, an emptied
partition), the store's own test file says what each does.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.errors import DocumentError, UnsafePartitionError
from tests.adapters.conftest import Store
from tests.adapters.snapshot import files_under, snapshot
from tests.conftest import FIXTURES
from tests.schemas.samples import instance, message, session
from tests.schemas.strategies import assert_same_document
from tests.second_schema import note


def test_put_then_get(store: Store) -> None:
    """A document put is the document got, exactly."""
    doc = session("s1", extra_key={"z": 1, "a": [2**70, 1.0]}, model=...)
    assert store.put("ws1", doc) is None
    assert_same_document(doc, store.get("s1"))
    assert_same_document(doc, store.list("ws1")[0])


def test_put_does_not_keep_the_callers_object(store: Store) -> None:
    """Changing the caller's dict after put (or the one get returned) changes nothing stored."""
    doc = session("s1")
    expected = copy.deepcopy(doc)
    store.put("ws1", doc)
    doc["task"] = "changed"
    doc["instances"].clear()
    got = store.get("s1")
    assert got is not None
    got["status"] = "failed"
    assert_same_document(expected, store.get("s1"))


def test_get_missing_is_none(store: Store) -> None:
    """get of an id never stored is None, in an empty store and in a filled one."""
    assert store.get("nope") is None
    store.put("ws1", session("s1"))
    assert store.get("nope") is None


def test_put_same_id_replaces_in_place(store: Store) -> None:
    """A second put of an id replaces the document where it was; order in the partition is kept."""
    for doc_id in ("a", "b", "c"):
        store.put("ws1", session(doc_id))
    changed = session("b", status="completed", instances=[], chat_history=[message("b-x")])
    store.put("ws1", changed)
    docs = store.list("ws1")
    assert [d["id"] for d in docs] == ["a", "b", "c"]
    assert_same_document(changed, docs[1])
    assert_same_document(changed, store.get("b"))


def test_list_keeps_insertion_order(store: Store) -> None:
    """New documents go to the end of their partition, whatever their ids."""
    ids = ["z", "a", "m", "0", "é"]
    for doc_id in ids:
        store.put("ws1", session(doc_id))
    assert [d["id"] for d in store.list("ws1")] == ids


def test_list_unknown_partition_is_empty(store: Store) -> None:
    """list of a partition nobody wrote is [], not an error."""
    assert store.list("never") == []
    store.put("ws1", session("s1"))
    assert store.list("never") == []


def test_delete(store: Store) -> None:
    """delete removes the one document (True), then finds nothing (False); others stay."""
    store.put("ws1", session("a"))
    store.put("ws1", session("b"))
    store.put("ws2", session("c"))
    assert store.delete("a") is True
    assert store.get("a") is None
    assert store.delete("a") is False
    assert store.delete("never") is False
    assert [d["id"] for d in store.list("ws1")] == ["b"]
    assert [d["id"] for d in store.list("ws2")] == ["c"]


def test_delete_then_put_again(store: Store) -> None:
    """A deleted id can be put again, going to the end of its partition."""
    store.put("ws1", session("a"))
    store.put("ws1", session("b"))
    store.delete("a")
    store.put("ws1", session("a", task="back"))
    assert [(d["id"], d["task"]) for d in store.list("ws1")] == [
        ("b", "refactor the store"),
        ("a", "back"),
    ]


def test_partitions_sorted(store: Store) -> None:
    """partitions() lists every partition holding documents, sorted by code point."""
    names = ["b", "a-1", "a", "A", "_x", "9", "a.b", "Z_"]
    for index, name in enumerate(names):
        store.put(name, session(f"s{index}"))
    assert store.partitions() == sorted(names)


def test_iter_documents(store: Store) -> None:
    """Every (partition, document), partitions sorted, documents in stored order."""
    store.put("p2", session("c"))
    store.put("p1", session("b"))
    store.put("p1", session("a"))
    assert [(p, d["id"]) for p, d in store.iter_documents()] == [
        ("p1", "b"),
        ("p1", "a"),
        ("p2", "c"),
    ]
    assert store.count() == 3


def test_fixture_store_round_trips(store: Store) -> None:
    """Every committed fixture document (edge cases included) comes back identical."""
    fixtures = JsonStore(FIXTURES / "store", store.schema)
    expected = list(fixtures.iter_documents())
    assert len(expected) >= 30
    for partition, doc in expected:
        store.put(partition, doc)
    assert store.partitions() == fixtures.partitions()
    assert store.count() == fixtures.count()
    found = list(store.iter_documents())
    assert [(p, d["id"]) for p, d in found] == [(p, d["id"]) for p, d in expected]
    for (_, want), (_, got) in zip(expected, found, strict=True):
        assert_same_document(want, got)
        assert_same_document(want, store.get(want["id"]))
    for partition in fixtures.partitions():
        listed = store.list(partition)
        assert len(listed) == len(fixtures.list(partition))
        for want, got in zip(fixtures.list(partition), listed, strict=True):
            assert_same_document(want, got)


def test_absent_null_and_empty_survive(store: Store) -> None:
    """Absent vs null keys, absent vs empty lists, 1 vs 1.0, unicode and NUL all survive."""
    docs = [
        session("a", instances=..., model=None, x=1),
        session("b", instances=[], completed_at=..., x=1.0),
        session("c", task="NUL \x00 and 😀", chat_history=[message("c\U0001f600")]),
        session("d", instances=[instance(3), instance(1), instance(2)]),
    ]
    for doc in docs:
        store.put("ws", doc)
    for doc, got in zip(docs, store.list("ws"), strict=True):
        assert_same_document(doc, got)


UNSAFE = ["../evil", "..", "a/b", "/abs", ".hidden", "", "x" * 129, "a..b", "a\\b", "a\x00", "é"]


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_partition_names_are_refused(store: Store, name: str, tmp_path: Path) -> None:
    """A name that could escape the directory (or is empty, too long, hidden): refused by every
    store with UnsafePartitionError, and nothing is written anywhere."""
    store.put("ok", session("s0"))
    before, around = snapshot(store), files_under(tmp_path)
    with pytest.raises(UnsafePartitionError) as caught:
        store.put(name, session("s1"))
    assert caught.value.name == name
    assert snapshot(store) == before
    assert files_under(tmp_path) == around
    assert store.get("s1") is None


def test_longest_safe_name_is_accepted(store: Store) -> None:
    """128 characters of the safe set is a valid partition name."""
    name = "a" * 120 + "-_.0Z9zz"
    store.put(name, session("s1"))
    assert store.partitions() == [name]


BAD: list[tuple[str, Any, Any, str]] = [
    ("wrong type", session("s1", task=5), "s1", "field task: expected a string"),
    ("bad enum", session("s1", status="exploded"), "s1", "field status: 'exploded' is not one"),
    ("missing id", session(id=...), None, "field id: missing"),
    (
        "duplicate instance_id",
        session("s1", instances=[instance(7), instance(7)]),
        "s1",
        "field instances[1].instance_id: duplicate instance_id 7",
    ),
    ("bad child", session("s1", chat_history=[{"id": "m"}]), "s1", "field chat_history[0].role"),
    ("not finite", session("s1", x={"y": float("nan")}), "s1", "field x.y: nan is not a finite"),
    ("not a dict", ["s1"], None, "expected a JSON object, got list"),
    ("lone surrogate", session("s1", task="a\ud800"), "s1", "field task: text 'a\\ud800' holds"),
    ("NUL in id", session("s\x001"), "s\x001", "field id: 's\\x001' cannot be stored exactly"),
]


@pytest.mark.parametrize(
    ("doc", "doc_id", "message_part"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_documents_are_refused_and_change_nothing(
    store: Store, doc: Any, doc_id: Any, message_part: str
) -> None:
    """Bad input raises DocumentError naming partition, id and field; what was stored (including
    an earlier version of the same id) is unchanged."""
    original = session("s1")
    store.put("ws1", original)
    before = snapshot(store)
    with pytest.raises(DocumentError) as caught:
        store.put("ws1", doc)
    error = caught.value
    assert error.partition == "ws1"
    assert error.doc_id == doc_id
    assert str(error).startswith("partition 'ws1'")
    if doc_id is not None:
        assert f"id {doc_id!r}" in str(error)
    assert message_part in str(error)
    assert snapshot(store) == before
    assert_same_document(original, store.get("s1"))


def test_bad_document_into_a_new_partition_creates_nothing(store: Store) -> None:
    """A refused put into a partition that does not exist yet leaves no trace of it."""
    before = snapshot(store)
    with pytest.raises(DocumentError):
        store.put("new", session("s1", status="nope"))
    assert snapshot(store) == before
    assert store.partitions() == []


# --------------------------------------------------------------------------- the second schema


def test_second_schema_put_get_list_delete(notes_store: Store) -> None:
    """The notes schema (other tables, id key `note_id`) works through the same operations."""
    first = note("n1")
    second = note("n2", tags=..., weight=2, score=-0.0, meta=None, pinned=...)
    notes_store.put("inbox", first)
    notes_store.put("inbox", second)
    notes_store.put("archive", note("n3", revisions=[]))
    assert notes_store.partitions() == ["archive", "inbox"]
    assert_same_document(second, notes_store.get("n2"))
    assert [d["note_id"] for d in notes_store.list("inbox")] == ["n1", "n2"]
    replaced = note(
        "n1", title="second", revisions=[{"rev": 2, "text": "b"}, {"rev": 1, "text": "a"}]
    )
    notes_store.put("inbox", replaced)
    assert_same_document(replaced, notes_store.list("inbox")[0])
    assert notes_store.delete("n1") is True
    assert notes_store.get("n1") is None
    assert [p for p, _ in notes_store.iter_documents()] == ["archive", "inbox"]


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (note("n1", kind="poem"), "kind"),
        (note("n1", weight="heavy"), "weight"),
        (note("n1", archived=None), "archived"),
        (note("n1", tags=[{"label": "x", "color": "pink"}]), "tags[0].color"),
        (
            note("n1", revisions=[{"rev": 1, "text": "a"}, {"rev": 1, "text": "b"}]),
            "revisions[1].rev",
        ),
        (note("n1", revisions=...), "revisions"),
    ],
)
def test_second_schema_bad_documents(notes_store: Store, doc: Any, field: str) -> None:
    """The second schema's constraints are enforced the same way, naming its own fields."""
    before = snapshot(notes_store)
    with pytest.raises(DocumentError) as caught:
        notes_store.put("inbox", doc)
    assert (caught.value.partition, caught.value.doc_id, caught.value.field) == (
        "inbox",
        "n1",
        field,
    )
    assert snapshot(notes_store) == before
