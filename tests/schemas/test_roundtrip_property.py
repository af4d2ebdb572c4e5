"""The lossless round trip, as properties: for every document a schema accepts, the codec and both
stores give back exactly the document that went in. And the property is not vacuous: a
deliberately lossy codec makes it fail."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.schemas import codec
from migrator.schemas.codec import from_rows, to_rows, validate
from migrator.schemas.declaration import EXTRA_COLUMN, Schema
from migrator.schemas.sessions import SESSIONS
from tests.pg_server import create_database, drop_database
from tests.schemas.strategies import (
    assert_same_document,
    documents,
    huge_texts,
    with_huge_text,
)
from tests.second_schema import NOTES
from tests.soak import examples

PARTITION = "p-1"

PROPERTY = settings(
    max_examples=examples(100),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HUGE = settings(PROPERTY, max_examples=4)


def codec_round_trip(schema: Schema, doc: dict[str, Any]) -> dict[str, Any]:
    """The document as the pure codec gives it back (rows built, then read)."""
    validate(schema, doc)
    rows = to_rows(schema, PARTITION, doc, position=7)
    return from_rows(schema, rows.root, rows.children)


def store_round_trip(store: JsonStore | SqlStore, doc: dict[str, Any]) -> list[Any]:
    """The document as the store gives it back through `get` and through `list`, then gone."""
    doc_id = doc[store.schema.id_key]
    try:
        store.put(PARTITION, doc)
        return [store.get(doc_id), *store.list(PARTITION)]
    finally:
        if isinstance(store, JsonStore):
            store.remove_partition(PARTITION)
        else:
            store.delete(doc_id)


#: The stores every round trip runs on ("sql" is SQLite; PostgreSQL is a database of the test
#: server, one per module and schema: the examples delete what they put).
KINDS = ["json", "sql", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _store(
    request: pytest.FixtureRequest, schema: Schema, root: Path
) -> Iterator[JsonStore | SqlStore]:
    if request.param == "json":
        yield JsonStore(root / "json", schema)
        return
    server = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    url = create_database(server) if server else None
    store = SqlStore(url or root / "store.db", schema)
    store.init_schema()
    yield store
    store.close()
    if server and url:
        drop_database(server, url)


@pytest.fixture(scope="module", params=KINDS)
def sessions_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JsonStore | SqlStore]:
    yield from _store(request, SESSIONS, tmp_path_factory.mktemp("sessions"))


@pytest.fixture(scope="module", params=KINDS)
def notes_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JsonStore | SqlStore]:
    yield from _store(request, NOTES, tmp_path_factory.mktemp("notes"))


# --------------------------------------------------------------------------- the codec


@PROPERTY
@given(doc=documents(SESSIONS))
def test_codec_round_trip_sessions(doc: dict[str, Any]) -> None:
    """from_rows(to_rows(doc)) is the same sessions document, key order and types included."""
    assert_same_document(doc, codec_round_trip(SESSIONS, doc))


@PROPERTY
@given(doc=documents(NOTES))
def test_codec_round_trip_notes(doc: dict[str, Any]) -> None:
    """from_rows(to_rows(doc)) is the same notes document, key order and types included."""
    assert_same_document(doc, codec_round_trip(NOTES, doc))


@PROPERTY
@given(doc=documents(NOTES))
def test_codec_rows_do_not_share_the_document(doc: dict[str, Any]) -> None:
    """Rows hold no reference to the document's lists or objects: later edits cannot leak in."""
    rows = to_rows(NOTES, PARTITION, doc)
    before = from_rows(NOTES, rows.root, rows.children)
    doc.clear()
    assert from_rows(NOTES, rows.root, rows.children) == before


# --------------------------------------------------------------------------- the stores


@PROPERTY
@given(doc=documents(SESSIONS))
def test_store_round_trip_sessions(
    sessions_store: JsonStore | SqlStore, doc: dict[str, Any]
) -> None:
    """put then get (and list) returns the same sessions document from every store."""
    found = store_round_trip(sessions_store, doc)
    assert len(found) == 2
    for got in found:
        assert_same_document(doc, got)


@PROPERTY
@given(doc=documents(NOTES))
def test_store_round_trip_notes(notes_store: JsonStore | SqlStore, doc: dict[str, Any]) -> None:
    """put then get (and list) returns the same notes document (float, bool and JSON columns)
    from every store."""
    found = store_round_trip(notes_store, doc)
    assert len(found) == 2
    for got in found:
        assert_same_document(doc, got)


@HUGE
@given(doc=documents(SESSIONS), text=huge_texts())
def test_store_round_trip_megabyte_strings(
    sessions_store: JsonStore | SqlStore, doc: dict[str, Any], text: str
) -> None:
    """Strings of megabytes (in a typed column, with a NUL, and in an unknown key) survive."""
    big = with_huge_text(SESSIONS, doc, text)
    for found in store_round_trip(sessions_store, big):
        assert_same_document(big, found)


@HUGE
@given(doc=documents(NOTES), text=huge_texts())
def test_store_round_trip_megabyte_strings_notes(
    notes_store: JsonStore | SqlStore, doc: dict[str, Any], text: str
) -> None:
    """Megabyte strings survive in the second schema too."""
    big = with_huge_text(NOTES, doc, text)
    for found in store_round_trip(notes_store, big):
        assert_same_document(big, found)


# --------------------------------------------------------------------------- it can fail


def _ints_pass_as_floats(original: Callable[..., Any]) -> Callable[..., Any]:
    """A lossy `stored_value`: an int in a float column is stored as is (read back as 1.0)."""

    def lossy(f: codec.DocField, value: Any) -> Any:
        if f.kind == "float" and type(value) is int and abs(value) < 2**53:
            return value
        return original(f, value)

    return lossy


def _nul_stripped(original: Callable[..., Any]) -> Callable[..., Any]:
    """A lossy `stored_value`: NUL characters are dropped from text instead of kept aside."""

    def lossy(f: codec.DocField, value: Any) -> Any:
        if f.kind == "str" and isinstance(value, str):
            return value.replace("\x00", "")
        return original(f, value)

    return lossy


def _absent_forgotten(original: Callable[..., Any]) -> Callable[..., Any]:
    """A lossy `_encode_object`: absent keys are not recorded, so they come back as null."""

    def lossy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        row: dict[str, Any] = original(*args, **kwargs)
        extra = codec._decode_extra(row[EXTRA_COLUMN])
        extra.pop("absent", None)
        row[EXTRA_COLUMN] = codec.dumps_compact(extra) if extra else None
        return row

    return lossy


LOSSY = {
    "int-as-float": ("stored_value", _ints_pass_as_floats, NOTES),
    "nul-stripped": ("stored_value", _nul_stripped, SESSIONS),
    "absent-as-null": ("_encode_object", _absent_forgotten, SESSIONS),
}


@pytest.mark.parametrize("through", ["codec", "sql"])
@pytest.mark.parametrize("name", builtins.list(LOSSY))
def test_property_catches_a_lossy_codec(
    name: str, through: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a codec function swapped for a lossy one, the same property finds a counterexample."""
    attribute, make_lossy, schema = LOSSY[name]
    monkeypatch.setattr(codec, attribute, make_lossy(getattr(codec, attribute)))
    store = SqlStore(tmp_path / "lossy.db", schema) if through == "sql" else None

    @settings(
        PROPERTY, max_examples=300, database=None, derandomize=True, report_multiple_bugs=False
    )
    @given(doc=documents(schema))
    def same_document_comes_back(doc: dict[str, Any]) -> None:
        if store is None:
            assert_same_document(doc, codec_round_trip(schema, doc))
        else:
            assert_same_document(doc, store_round_trip(store, doc)[0])

    with pytest.raises(AssertionError) as failure:
        same_document_comes_back()
    notes = getattr(failure.value, "__notes__", [])
    assert any("Failing test case" in note or "Falsifying example" in note for note in notes), notes
    if store is not None:
        store.close()


def test_lossless_codec_passes_the_same_check(tmp_path: Path) -> None:
    """The control for the test above: the real codec passes the identical derandomized run."""
    store = SqlStore(tmp_path / "control.db", NOTES)

    @settings(PROPERTY, max_examples=300, database=None, derandomize=True)
    @given(doc=documents(NOTES))
    def same_document_comes_back(doc: dict[str, Any]) -> None:
        assert_same_document(doc, store_round_trip(store, doc)[0])

    same_document_comes_back()
    store.close()


def test_strategies_draw_the_edge_cases() -> None:
    """The generated documents really contain what the property claims to cover."""
    seen: set[str] = set()

    @settings(max_examples=300, database=None, derandomize=True, deadline=None)
    @given(doc=documents(SESSIONS), notes=documents(NOTES))
    def collect(doc: dict[str, Any], notes: dict[str, Any]) -> None:
        text = repr([doc, notes])
        if "\\x00" in text:
            seen.add("nul")
        if any(ord(ch) > 0xFFFF for ch in text):
            seen.add("astral")
        if "instances" not in doc:
            seen.add("absent list")
        if doc.get("instances") == []:
            seen.add("empty list")
        if len(doc.get("chat_history", [])) >= 2:
            seen.add("ordered list")
        if "model" in doc and doc["model"] is None:
            seen.add("null")
        if "model" not in doc:
            seen.add("absent")
        if type(notes.get("weight")) is int:
            seen.add("int in float column")
        if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in _scalars(doc)):
            seen.add("big int")
        if set(doc) - set(SESSIONS.key_order):
            seen.add("unknown root key")
        items = [*doc.get("instances", []), *doc.get("chat_history", [])]
        if any(set(i) - {f.key for m in SESSIONS.child_mappings for f in m.fields} for i in items):
            seen.add("unknown child key")
        if list(doc) != [k for k in SESSIONS.key_order if k in doc] + [
            k for k in doc if k not in SESSIONS.key_order
        ]:
            seen.add("shuffled")

    collect()
    assert seen == {
        "nul",
        "astral",
        "absent list",
        "empty list",
        "ordered list",
        "null",
        "absent",
        "int in float column",
        "big int",
        "unknown root key",
        "unknown child key",
        "shuffled",
    }


def _scalars(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    else:
        yield value
