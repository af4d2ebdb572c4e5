"""`migrator.schemas.jsontext`: exact JSON in and out, in the legacy application's format."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.schemas.jsontext import (
    JsonDecodeError,
    JsonEncodeError,
    dumps_compact,
    dumps_pretty,
    dumps_sorted,
    loads,
    loads_checked,
    loads_written,
)
from tests.schemas.strategies import json_values
from tests.soak import examples

PROPERTY = settings(
    max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

SAMPLE = [
    {"id": "é😀", "n": [1, 1.0, -0.0, None, True], "o": {"z": {}, "a": []}, "s": "\x00\u2028\t"},
    {},
]


def test_loads_plain_documents() -> None:
    """Ordinary JSON parses (bytes or text) with key order kept."""
    assert loads(b'{"b": 1, "a": [1.5, "x"]}') == {"b": 1, "a": [1.5, "x"]}
    assert list(loads('{"b": 1, "a": 2}')) == ["b", "a"]


@pytest.mark.parametrize("number", [2**63, 2**64, 2**64 + 1, -(2**63) - 1, 10**30, -(10**60)])
def test_loads_integers_beyond_64_bits_exactly(number: int) -> None:
    """Integers orjson would turn into floats (or refuse) are read exactly as ints."""
    text = f'[{number}, {{"k": {number}}}]'.encode()
    value = loads(text)
    assert value == [number, {"k": number}]
    assert type(value[0]) is int


def test_orjson_alone_would_lose_big_ints() -> None:
    """Why the fallback exists: orjson reads an integer beyond 64 bits as a float."""
    assert orjson.loads(b"[123456789012345678901234]") != [123456789012345678901234]
    assert loads(b"[123456789012345678901234]") == [123456789012345678901234]


def test_long_digits_inside_a_string_are_harmless() -> None:
    """A digit run in a string takes the exact parser but reads the same."""
    assert loads(b'["12345678901234567890123", 1.5]') == ["12345678901234567890123", 1.5]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        (b'[\n  {"a": 1,}\n]', 2, 10),
        (b"[1, 2", 1, 6),
        (b'[\n\n  {"a": 12345678901234567890123,}\n]', 3, 33),
    ],
)
def test_decode_errors_have_line_and_column(text: bytes, line: int, column: int) -> None:
    """Invalid JSON gives JsonDecodeError with 1-based line and column, on either parser."""
    with pytest.raises(JsonDecodeError) as caught:
        loads(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"(line {line}, column {column})" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        b"[NaN]",
        b"[Infinity]",
        b"[-Infinity, 12345678901234567890123]",
        b"[NaN, 12345678901234567890123]",
        b"\xef\xbb\xbf[12345678901234567890123]",
        b'["\xff", 12345678901234567890123]',
        b"",
    ],
)
def test_loads_refuses_what_is_not_json(text: bytes) -> None:
    """NaN/Infinity, a byte order mark, invalid UTF-8 and nothing are not JSON, on both paths."""
    with pytest.raises(JsonDecodeError):
        loads(text)


def test_too_deep_nesting_is_a_decode_error() -> None:
    """Absurd nesting is a JsonDecodeError, not a RecursionError."""
    with pytest.raises(JsonDecodeError):
        loads(b"[" * 100_000 + b"12345678901234567890123" + b"]" * 100_000)


def test_dumps_pretty_is_the_legacy_format() -> None:
    """2-space indent, UTF-8, no ASCII escaping: byte for byte what json.dumps(indent=2) writes."""
    expected = json.dumps(SAMPLE, indent=2, ensure_ascii=False).encode()
    assert dumps_pretty(SAMPLE) == expected
    assert "é😀".encode() in dumps_pretty(SAMPLE)


def test_dumps_pretty_with_big_ints_keeps_the_format() -> None:
    """The fallback writer (for ints beyond 64 bits) produces the same layout."""
    value: list[Any] = [*SAMPLE, {"big": 2**70}]
    assert dumps_pretty(value) == json.dumps(value, indent=2, ensure_ascii=False).encode()
    assert loads(dumps_pretty(value)) == value


def test_dumps_compact() -> None:
    """Compact text; big ints fall back unless `strict` asks to refuse."""
    assert dumps_compact({"b": [1, 1.0], "a": "é"}) == '{"b":[1,1.0],"a":"é"}'
    assert dumps_compact([2**64]) == "[18446744073709551616]"
    with pytest.raises(JsonEncodeError):
        dumps_compact([2**64], strict=True)


def test_dumps_sorted() -> None:
    """Sorted keys at every level, on both writers."""
    assert dumps_sorted({"b": {"d": 1, "c": 2}, "a": 0}) == b'{"a":0,"b":{"c":2,"d":1}}'
    assert dumps_sorted({"b": 2**70, "a": 0}) == b'{"a":0,"b":1180591620717411303424}'


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, object()])
def test_unwritable_values(value: Any) -> None:
    """What JSON cannot hold is a JsonEncodeError from every writer, never bad output."""
    for dump in (dumps_pretty, dumps_sorted, dumps_compact):
        with pytest.raises(JsonEncodeError):
            dump([value, 2**70])


@pytest.mark.parametrize(
    "value",
    [
        SAMPLE,
        [2**64, -(2**63) - 1, 1e16, 5e-324, -0.0, 0.1],
        {"\U0010ffff": "\x00\x1f\x7f\ud7ff\ue000"},
    ],
)
def test_every_writer_reads_back_exactly(value: Any) -> None:
    """pretty and compact text parse back to the value (key order, floats bit for bit); sorted
    text to an equal value."""
    for text in (dumps_pretty(value), dumps_compact(value)):
        assert repr(loads(text)) == repr(value)
    assert loads(dumps_sorted(value)) == value


_MARK = "\x00repeat-me"


def _orjson_writes(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        return False
    return True


def _objects(value: Any) -> list[dict[str, Any]]:
    """Every non-empty object in `value`, outermost first."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found += [item] if item else []
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@PROPERTY
@given(value=json_values(max_leaves=30), data=st.data())
def test_a_repeated_key_in_the_stores_format_is_refused_at_any_depth(
    value: Any, data: st.DataObject
) -> None:
    """Text in the stores' own format (2-space indent) reads back exactly and vouched for as
    orjson-written, the cheap path; the same text with one member of any object, at any depth,
    written twice is refused, naming the key, whatever the key or the value."""
    document = [{"top": value}]
    text = dumps_pretty(document)
    read, written = loads_checked(text)
    assert repr(read) == repr(document)
    assert written == _orjson_writes(document)
    target = data.draw(st.sampled_from(_objects(document)), label="object")
    key = data.draw(st.sampled_from(sorted(target)), label="key")
    target[_MARK] = data.draw(json_values(max_leaves=3), label="first value")
    repeated = dumps_pretty(document).replace(
        json.dumps(_MARK).encode(), json.dumps(key, ensure_ascii=False).encode(), 1
    )
    with pytest.raises(JsonDecodeError, match="appears twice") as caught:
        loads_checked(repeated)
    assert repr(key) in caught.value.reason and "of record 0" in caught.value.reason


def test_a_repeated_key_deep_in_a_child_of_a_pretty_file_names_its_place() -> None:
    """A file exactly as the stores write it but for one key written twice, four levels down
    in its second record: refused with the key, the record, and the line and column of the
    second one."""
    doc = {"id": "s1", "chat_history": [{"role": "user", "meta": {"tool": {"a": 1, "b": 2}}}]}
    text = dumps_pretty([{"id": "s0"}, doc]).replace(b'"b": 2', b'"a": 2')
    with pytest.raises(JsonDecodeError, match="key 'a' appears twice in one object of record 1"):
        loads_checked(text)
    with pytest.raises(JsonDecodeError) as caught:
        loads_checked(text)
    assert (caught.value.line, caught.value.column) == (13, 13)
    with pytest.raises(JsonDecodeError, match=r"appears twice in one object \(a reader"):
        loads_checked(b'{"a": {"k": 1, "k": 2}}')  # not an array: no record to name


@pytest.mark.parametrize(
    "text",
    ['["codex","cursor"]', "7", '{"a":1.5}', f'{{"big":{2**70}}}', f"[{-(10**30)}]", "[1,2]"],
)
def test_loads_written_reads_a_column_as_loads_does(text: str) -> None:
    """A JSON column's text, short or long, with integers beyond 64 bits or not: exactly."""
    assert loads_written(text) == loads(text)
    assert [type(v) for v in _leaves(loads_written(text))] == [
        type(v) for v in _leaves(loads(text))
    ]


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", "{", '{"a": 1e400}'])
def test_loads_written_names_damage_as_loads_does(text: str) -> None:
    with pytest.raises(JsonDecodeError):
        loads_written(text)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]
