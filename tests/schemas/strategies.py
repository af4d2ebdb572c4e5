"""Hypothesis strategies for documents of any `Schema`, derived from the declaration itself.

The documents are the awkward ones a legacy store really holds: keys the schema does not know (at
the root and inside list items, with arbitrary nested JSON values), optional keys absent or
present with null, integers beyond 64 bits, `1` where a float is declared and `1.0` anywhere,
`-0.0`, unicode outside the BMP and NUL, empty lists and absent lists, and keys in any order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from deepdiff import DeepDiff
from hypothesis import strategies as st

from migrator.schemas.codec import INT64_MAX, INT64_MIN, canonical_bytes
from migrator.schemas.declaration import DocField, Schema, TableMapping

_ABSENT = object()

NASTY_TEXT = (
    "",
    "\x00",
    "a\x00b",
    "\U0001f600",
    "\U0001d11e clef",
    "\U0010ffff",
    "\ufeff",
    "\u2028\u2029",
    "\r\n\t",
    '"\\/',
    "\x7f\x1f",
    "é",
    "null",
    "1.0",
)
BIG_INTS = (
    INT64_MAX,
    INT64_MAX + 1,
    INT64_MIN,
    INT64_MIN - 1,
    2**64 - 1,
    2**64,
    10**20,
    -(10**20),
    2**100,
    -(2**200),
    10**400,  # beyond even a float's range
)
FLOATS = (0.0, -0.0, 1.0, -1.0, 0.1, 1e16, 1e300, -1e-300, 5e-324, 2.0**63, 2.0**64)
#: Names the mapping uses itself, or that look like its internals: they must stay plain keys.
TRICKY_KEYS = (
    "",
    "extra",
    "position",
    "keys",
    "absent",
    "order",
    "id",
    "workspace_hash",
    "session_type",
    "session_id",
    "folder",
    "note_kind",
    "owner",
    "body",
    "\x00",
    "\U0001f511",
)


def texts(max_size: int = 12, *, nul: bool = True) -> st.SearchStrategy[str]:
    """Short text: any code point (astral included), plus the usual troublemakers."""
    alphabet = st.characters(exclude_categories=["Cs"])
    strategy = st.one_of(
        st.text(alphabet, max_size=max_size),
        st.sampled_from(NASTY_TEXT),
        st.text(st.characters(min_codepoint=0x10000), max_size=4),
    )
    return strategy if nul else strategy.filter(lambda s: "\x00" not in s)


def integers() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(-3, 3), st.integers(), st.integers(-(2**70), 2**70), st.sampled_from(BIG_INTS)
    )


def floats() -> st.SearchStrategy[float]:
    return st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(FLOATS)


def json_values(max_leaves: int = 10) -> st.SearchStrategy[Any]:
    """Any JSON value, nested; objects keep whatever key order they were drawn in."""
    scalars = st.one_of(st.none(), st.booleans(), integers(), floats(), texts())
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=5) | st.sampled_from(TRICKY_KEYS), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _kind_values(f: DocField) -> st.SearchStrategy[Any]:
    if f.choices:
        return st.sampled_from(f.choices)
    if f.unique_in_list:
        # A unique column must hold the value itself (no placeholder can be unique): the
        # schema refuses NUL and integers beyond 64 bits there (see test_codec).
        if f.kind == "int":
            return st.integers(INT64_MIN, INT64_MAX)
        if f.kind == "str":
            return texts(nul=False).filter(bool)
    return {
        "str": texts(),
        "int": integers(),
        "float": floats() | integers(),  # validation accepts an int where a float is declared
        "bool": st.booleans(),
        "json": json_values(),
    }[f.kind]


def _field_values(f: DocField) -> st.SearchStrategy[Any]:
    values = _kind_values(f)
    if f.required:
        return values
    return st.one_of(st.just(_ABSENT), st.none(), values)


def _unknown_keys(known: frozenset[str]) -> st.SearchStrategy[dict[str, Any]]:
    keys = (st.text(max_size=6) | st.sampled_from(TRICKY_KEYS)).filter(lambda k: k not in known)
    return st.dictionaries(keys, json_values(max_leaves=6), max_size=3)


@st.composite
def _object(
    draw: st.DrawFn, values_of: dict[str, st.SearchStrategy[Any]], unknown: st.SearchStrategy[Any]
) -> dict[str, Any]:
    """An object with a value (or none) per key of `values_of`, in order or shuffled, plus
    unknown keys."""
    values: dict[str, Any] = {}
    for key, strategy in values_of.items():
        value = draw(strategy)
        if value is not _ABSENT:
            values[key] = value
    for key, value in draw(unknown).items():
        values[key] = value
    if draw(st.booleans()):
        keys = draw(st.permutations(list(values)))
        values = {key: values[key] for key in keys}
    return values


def _unique_by(mapping: TableMapping) -> tuple[Callable[[dict[str, Any]], Any], ...]:
    def key_of(key: str) -> Callable[[dict[str, Any]], Any]:
        return lambda obj: obj.get(key, _ABSENT)

    return tuple(key_of(f.key) for f in mapping.fields if f.unique_in_list)


def documents(schema: Schema, *, doc_id: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Documents `schema` accepts. `doc_id` fixes the id (otherwise any valid id is drawn)."""
    root = schema.root_mapping
    fields = {f.key: f for f in root.fields}
    usual = (*schema.key_order, *fields, *(c.key for c in schema.children))
    values_of: dict[str, st.SearchStrategy[Any]] = {
        key: _field_values(fields[key]) for key in dict.fromkeys(usual) if key in fields
    }
    for child, mapping in zip(schema.children, schema.child_mappings, strict=True):
        item = _object(
            {f.key: _field_values(f) for f in mapping.fields}, _unknown_keys(mapping.keys)
        )
        unique = _unique_by(mapping)
        items = (
            st.lists(item, max_size=3, unique_by=unique) if unique else st.lists(item, max_size=3)
        )
        values_of[child.key] = items if child.required else st.just(_ABSENT) | items
    values_of = {key: values_of[key] for key in dict.fromkeys(usual)}
    if doc_id is not None:
        values_of[schema.id_key] = st.just(doc_id)
    known = frozenset(usual)
    return _object(values_of, _unknown_keys(known))


def with_huge_text(
    schema: Schema, doc: dict[str, Any], text: str, *, key: str = "blob"
) -> dict[str, Any]:
    """`doc` with `text` in an unknown key and in the first free-text root field."""
    result = dict(doc)
    result[key] = text
    for f in schema.root_mapping.fields:
        if f.kind == "str" and not f.choices and not f.unique_in_list:
            result[f.key] = text + "\x00"
            break
    return result


def huge_texts() -> st.SearchStrategy[str]:
    """Strings of one to a few megabytes (astral characters count four bytes each)."""
    return st.builds(
        lambda chunk, repeat: chunk * repeat,
        st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=3),
        st.integers(400_000, 1_000_000),
    )


# --------------------------------------------------------------------------- comparisons


def assert_identical(expected: Any, actual: Any, path: str = "doc") -> None:
    """Equal with no normalization: same types (1 is not 1.0), same key order, same sign of 0."""
    assert type(actual) is type(expected), f"{path}: {type(expected)} became {type(actual)}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), (
            f"{path}: key order {list(expected)} -> {list(actual)}"
        )
        for key, value in expected.items():
            assert_identical(value, actual[key], f"{path}[{key!r}]")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{path}: length {len(expected)} -> {len(actual)}"
        for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
            assert_identical(a, b, f"{path}[{index}]")
    elif isinstance(expected, float):
        assert actual == expected, f"{path}: {expected!r} -> {actual!r}"
        assert math.copysign(1.0, actual) == math.copysign(1.0, expected), (
            f"{path}: {expected!r} -> {actual!r}"
        )
    else:
        assert actual == expected, f"{path}: {_short(expected)} -> {_short(actual)}"


def assert_same_document(expected: Any, actual: Any) -> None:
    """The round-trip property: DeepDiff finds nothing, and nothing was normalized."""
    assert actual is not None, "the document was not found after put"
    assert DeepDiff(expected, actual) == {}
    assert_identical(expected, actual)
    assert canonical_bytes(actual) == canonical_bytes(expected)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
