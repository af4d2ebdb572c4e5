"""What differs between two versions of one document, in DeepDiff's terms.

Pure (no I/O), so every layer can use it: the validator for the stores' mismatches, the
dual-write store for shadow reads. The first document is the JSON side's, the second the SQL
side's: `dictionary_item_removed` is a key JSON has and SQL lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from migrator.errors import UsageError
from migrator.schemas.codec import canonical_bytes

#: The kinds of difference, in the order they are listed.
KINDS = (
    "values_changed",
    "type_changes",
    "dictionary_item_added",
    "dictionary_item_removed",
    "iterable_item_added",
    "iterable_item_removed",
)
#: A document stored under different partitions (path `root`, values the two partition names).
PARTITION_CHANGED = "partition_changed"

# DeepDiff's names for the same thing on objects and sets (a document has neither; kept so an
# unexpected input still lands in a documented kind).
_ALIASES = {
    "attribute_added": "dictionary_item_added",
    "attribute_removed": "dictionary_item_removed",
    "set_item_added": "iterable_item_added",
    "set_item_removed": "iterable_item_removed",
}


@dataclass(frozen=True)
class Difference:
    """One difference: where (DeepDiff path from `root`), what kind, and each side's value
    (None on the side where the item is absent)."""

    path: str
    kind: str
    json: Any
    sqlite: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "json": self.json, "sqlite": self.sqlite}


def compile_ignore_paths(patterns: Sequence[str | re.Pattern[str]]) -> tuple[re.Pattern[str], ...]:
    """The regular expressions of `ignore_paths`; a `UsageError` naming a bad one."""
    compiled = []
    for pattern in patterns:
        if isinstance(pattern, re.Pattern):
            compiled.append(pattern)
            continue
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise UsageError(
                f"ignore_paths {pattern!r} is not a regular expression: {exc}",
                parameters=["ignore_paths"],
            ) from None
    return tuple(compiled)


def compare_documents(
    json_doc: Any, sql_doc: Any, *, ignore_paths: Sequence[str | re.Pattern[str]] = ()
) -> list[Difference]:
    """Every difference between two versions of a document; [] when they are equal apart from
    paths matching `ignore_paths` (regular expressions searched in each DeepDiff path)."""
    if canonical_bytes(json_doc) == canonical_bytes(sql_doc):
        return []
    return deep_differences(json_doc, sql_doc, compile_ignore_paths(ignore_paths))


def deep_differences(
    json_doc: Any, sql_doc: Any, ignore: tuple[re.Pattern[str], ...] = ()
) -> list[Difference]:
    """DeepDiff's findings for two documents already known to differ in bytes."""
    from deepdiff import DeepDiff  # imported here: it costs 0.1 s, and most runs never diff
    from deepdiff.helper import notpresent

    pruned_json, pruned_sql = _pruned(json_doc, sql_doc)
    try:
        tree = DeepDiff(
            pruned_json,
            pruned_sql,
            view="tree",
            verbose_level=2,
            exclude_regex_paths=list(ignore) or None,
            ignore_numeric_type_changes=False,  # 1 and 1.0 are different documents
            ignore_private_variables=False,  # or keys starting with "__" would be skipped
            threshold_to_diff_deeper=0,  # name each added and removed key, never a whole object
        )
    except RecursionError:  # nested deeper than DeepDiff can walk: the whole document differs
        return [Difference("root", "values_changed", json_doc, sql_doc)]
    found = [
        Difference(
            path=level.path(),
            kind=_ALIASES.get(kind, kind),
            json=None if level.t1 is notpresent else level.t1,
            sqlite=None if level.t2 is notpresent else level.t2,
        )
        for kind in tree
        for level in tree[kind]
    ]
    found.sort(key=lambda d: KINDS.index(d.kind) if d.kind in KINDS else len(KINDS))
    # DeepDiff holds -0.0 equal to 0.0; the bytes do not: find the place by hand.
    return found or _divergence(json_doc, sql_doc, "root", ignore)


def _pruned(json_value: Any, sql_value: Any) -> tuple[Any, Any]:
    """Copies of two objects with the same keys where each key's value, when equal on both
    sides, is None on both: DeepDiff finds the same differences at the same paths (it compares
    such objects key by key; lists are left whole, as its list matching depends on their
    items) without walking what is equal. A changed task beside an equal chat history took
    ~70 ms a pair (bench/profiles/validate-10k.txt)."""
    if not (type(json_value) is dict and type(sql_value) is dict):
        return json_value, sql_value
    if json_value.keys() != sql_value.keys():
        return json_value, sql_value
    pairs = {}
    for key, value in json_value.items():
        other = sql_value[key]
        same = value is other or canonical_bytes(value) == canonical_bytes(other)
        pairs[key] = (None, None) if same else _pruned(value, other)
    return (
        {key: pairs[key][0] for key in json_value},
        {key: pairs[key][1] for key in sql_value},
    )


def _divergence(
    json_value: Any, sql_value: Any, path: str, ignore: tuple[re.Pattern[str], ...]
) -> list[Difference]:
    if any(pattern.search(path) for pattern in ignore):
        return []
    if canonical_bytes(json_value) == canonical_bytes(sql_value):
        return []
    both_objects = isinstance(json_value, dict) and isinstance(sql_value, dict)
    if both_objects and json_value.keys() == sql_value.keys():
        return [
            d
            for key in json_value
            for d in _divergence(json_value[key], sql_value[key], f"{path}[{key!r}]", ignore)
        ]
    both_lists = isinstance(json_value, list) and isinstance(sql_value, list)
    if both_lists and len(json_value) == len(sql_value):
        return [
            d
            for index, (a, b) in enumerate(zip(json_value, sql_value, strict=True))
            for d in _divergence(a, b, f"{path}[{index}]", ignore)
        ]
    return [Difference(path, "values_changed", json_value, sql_value)]
