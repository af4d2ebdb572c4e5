"""`compare_documents`: DeepDiff's findings for one pair of documents, JSON side first."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.errors import UsageError
from migrator.schemas import comparison
from migrator.validator import Difference, compare_documents
from tests.schemas.samples import session
from tests.schemas.strategies import json_values
from tests.soak import examples


def diffs(json_doc: Any, sql_doc: Any, **options: Any) -> list[tuple[str, str, Any, Any]]:
    return [
        (d.path, d.kind, d.json, d.sqlite) for d in compare_documents(json_doc, sql_doc, **options)
    ]


def test_equal_documents_in_another_key_order_have_no_differences() -> None:
    """Key order is not content: the canonical bytes are equal, DeepDiff never runs."""
    assert compare_documents({"a": 1, "b": [1, {"c": 2}]}, {"b": [1, {"c": 2}], "a": 1}) == []


def test_int_and_float_are_a_type_change() -> None:
    """1 and 1.0 are different documents: type_changes, both values kept with their types."""
    (found,) = compare_documents({"n": 1}, {"n": 1.0})
    assert (found.path, found.kind) == ("root['n']", "type_changes")
    assert type(found.json) is int and type(found.sqlite) is float


def test_bool_and_int_and_string_numbers_are_type_changes() -> None:
    """true vs 1 and "600" vs 600 are type changes, not equal values."""
    assert diffs({"a": True, "b": "600"}, {"a": 1, "b": 600}) == [
        ("root['a']", "type_changes", True, 1),
        ("root['b']", "type_changes", "600", 600),
    ]


def test_each_added_and_removed_key_is_named() -> None:
    """Keys of a small object are itemized, not reported as one changed object."""
    assert diffs({"d": {"a": 1}}, {"d": {"b": 2}}) == [
        ("root['d']['b']", "dictionary_item_added", None, 2),
        ("root['d']['a']", "dictionary_item_removed", 1, None),
    ]


def test_list_items_added_and_removed_carry_their_values() -> None:
    """Removed and added list items come with the value on the side that has them."""
    assert diffs({"l": [1, 2, 3]}, {"l": [1, 3]}) == [
        ("root['l'][1]", "iterable_item_removed", 2, None)
    ]
    assert diffs({"l": [{"x": 1}]}, {"l": [{"x": 1}, {"y": 2}]}) == [
        ("root['l'][1]", "iterable_item_added", None, {"y": 2})
    ]


def test_keys_starting_with_underscores_are_compared() -> None:
    """DeepDiff skips "__" keys by default; documents may have them, so they count."""
    assert diffs({"__meta": 1}, {"__meta": 2}) == [("root['__meta']", "values_changed", 1, 2)]


def test_negative_zero_is_found_where_deepdiff_sees_no_difference() -> None:
    """-0.0 == 0.0 for DeepDiff but not for the bytes: the place is still named."""
    assert diffs({"a": [1, {"b": -0.0}]}, {"a": [1, {"b": 0.0}]}) == [
        ("root['a'][1]['b']", "values_changed", -0.0, 0.0)
    ]


def test_integers_beyond_64_bits_are_compared_exactly() -> None:
    """Huge integers that differ by one are a values_changed with both exact values."""
    big = 2**100
    assert diffs({"n": big}, {"n": big + 1}) == [("root['n']", "values_changed", big, big + 1)]


def test_ignore_paths_hide_matching_paths_only() -> None:
    """Ignored paths (regular expressions, or compiled ones) drop only what they match."""
    json_doc = {"updated_at": "a", "status": "x", "items": [{"t": 1}]}
    sql_doc = {"updated_at": "b", "status": "y", "items": [{"t": 2}]}
    assert diffs(json_doc, sql_doc, ignore_paths=[r"root\['updated_at'\]"]) == [
        ("root['status']", "values_changed", "x", "y"),
        ("root['items'][0]['t']", "values_changed", 1, 2),
    ]
    everything: list[str | re.Pattern[str]] = [r"updated_at", re.compile(r"status"), r"\['t'\]$"]
    assert compare_documents(json_doc, sql_doc, ignore_paths=everything) == []


def test_ignore_paths_also_cover_what_deepdiff_cannot_see() -> None:
    """An ignored -0.0 difference is ignored too."""
    assert compare_documents({"z": -0.0}, {"z": 0.0}, ignore_paths=[r"\['z'\]"]) == []


def test_a_bad_regular_expression_is_a_usage_error() -> None:
    """The error names the pattern."""
    with pytest.raises(UsageError, match=r"ignore_paths 'a\(' is not a regular expression"):
        compare_documents({"a": 1}, {"a": 2}, ignore_paths=["a("])


def test_difference_to_dict_is_the_report_shape() -> None:
    """A difference serializes to exactly path, kind, json and sqlite."""
    assert Difference("root['a']", "values_changed", 1, 2).to_dict() == {
        "path": "root['a']",
        "kind": "values_changed",
        "json": 1,
        "sqlite": 2,
    }


def _edited(value: Any, data: st.DataObject, depth: int = 0) -> Any:
    """`value` with a few random edits at random depths (a copy; `value` is left alone)."""
    if isinstance(value, dict) and value and depth < 4:
        copy = dict(value)
        key = data.draw(st.sampled_from(sorted(copy)))
        action = data.draw(st.sampled_from(["recurse", "replace", "drop", "add", "keep"]))
        if action == "recurse":
            copy[key] = _edited(copy[key], data, depth + 1)
        elif action == "replace":
            copy[key] = data.draw(json_values(max_leaves=4))
        elif action == "drop":
            del copy[key]
        elif action == "add":
            copy[key + "+"] = data.draw(json_values(max_leaves=2))
        return copy
    if isinstance(value, list) and value and depth < 4:
        copy = list(value)
        at = data.draw(st.integers(0, len(copy) - 1))
        copy[at] = _edited(copy[at], data, depth + 1)
        return copy
    return data.draw(st.sampled_from([value, 0, 0.0, -0.0, "x", None, True]))


@settings(max_examples=examples(150), deadline=None)
@given(
    doc=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), json_values(max_leaves=12)),
    ignore=st.sampled_from([(), (re.compile(r"\['b'\]"),)]),
    data=st.data(),
)
def test_findings_are_deepdiffs_on_the_whole_documents(
    doc: dict[str, Any], ignore: tuple[re.Pattern[str], ...], data: st.DataObject
) -> None:
    """DeepDiff runs on copies where values equal on both sides under the same key are left
    out (`_pruned`): the findings, their order and their values are exactly those of DeepDiff
    on the whole documents."""
    other = _edited(doc, data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(comparison, "_pruned", lambda a, b: (a, b))
        whole = comparison.deep_differences(doc, other, ignore)
    assert repr(comparison.deep_differences(doc, other, ignore)) == repr(whole)


def test_a_changed_value_beside_equal_lists_is_found_at_its_path() -> None:
    """A session whose task and one nested message changed, its other lists equal: the two
    values, at their full paths, and nothing else."""
    json_doc = session("s1")
    sql_doc = session("s1", task="changed")
    sql_doc["chat_history"] = [dict(m) for m in json_doc["chat_history"]]
    sql_doc["chat_history"][1]["content"] = "edited"
    assert diffs(json_doc, sql_doc) == [
        ("root['task']", "values_changed", json_doc["task"], "changed"),
        (
            "root['chat_history'][1]['content']",
            "values_changed",
            json_doc["chat_history"][1]["content"],
            "edited",
        ),
    ]
