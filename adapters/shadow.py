"""Shadow reads: compare what SQL would have answered with what JSON did answer.

In the spirit of GitHub's scientist and joealcorn's laboratory: the control (JSON) result is
what the caller gets; the candidate (SQL) is read and compared on the side, and nothing the
candidate does (raise, differ, be slow to compare) can change that result. These functions
only judge one comparison; `migrator.adapters.dual_write` runs the experiment and publishes
outcomes to
`migrator.adapters.incidents`.

A difference whose DeepDiff path matches one of the team's ignore patterns (the validator's
`--ignore-path` regular expressions, set once in the phase state) makes the read `ignored`,
not `mismatched`, when no other difference remains.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from migrator.schemas.codec import canonical_bytes
from migrator.schemas.comparison import Difference, deep_differences

Verdict = Literal["matched", "ignored", "mismatched", "error"]


@dataclass(frozen=True)
class Finding:
    """The differences of one document (paths relative to that document's root)."""

    doc_id: str | None
    differences: tuple[Difference, ...]
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShadowOutcome:
    """What one shadow read found."""

    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    ignored_paths: tuple[str, ...] = field(default=())


def error_outcome(exc: BaseException) -> ShadowOutcome:
    return ShadowOutcome("error", error=f"{type(exc).__name__}: {exc}")


def compare_document(
    doc_id: str | None, control: Any, candidate: Any, ignore: Sequence[re.Pattern[str]]
) -> ShadowOutcome:
    """Judge one `get`: the JSON document (or None) against the SQL one."""
    finding = _finding(doc_id, control, candidate, ignore)
    return _outcome([] if finding is None else [finding])


def compare_partition(
    id_key: str, control: list[Any], candidate: list[Any], ignore: Sequence[re.Pattern[str]]
) -> ShadowOutcome:
    """Judge one `list`: documents paired by id, then the order of the ids."""
    if canonical_bytes(control) == canonical_bytes(candidate):
        return ShadowOutcome("matched")
    json_docs = _by_id(id_key, control)
    sql_docs = _by_id(id_key, candidate)
    findings = []
    for doc_id in dict.fromkeys([*json_docs, *sql_docs]):
        found = _finding(doc_id, json_docs.get(doc_id), sql_docs.get(doc_id), ignore)
        if found is not None:
            findings.append(found)
    if not findings and list(json_docs) != list(sql_docs):
        order = Difference("root", "order_changed", list(json_docs), list(sql_docs))
        findings.append(Finding(None, (order,)))
    return _outcome(findings)


def _finding(
    doc_id: str | None, control: Any, candidate: Any, ignore: Sequence[re.Pattern[str]]
) -> Finding | None:
    if canonical_bytes(control) == canonical_bytes(candidate):
        return None
    kept: list[Difference] = []
    ignored: list[str] = []
    for difference in deep_differences(control, candidate):
        if any(pattern.search(difference.path) for pattern in ignore):
            ignored.append(difference.path)
        else:
            kept.append(difference)
    return Finding(doc_id, tuple(kept), tuple(ignored))


def _outcome(findings: list[Finding]) -> ShadowOutcome:
    if not findings:
        return ShadowOutcome("matched")
    ignored = tuple(path for f in findings for path in f.ignored)
    real = tuple(f for f in findings if f.differences)
    if not real:
        return ShadowOutcome("ignored", ignored_paths=ignored)
    return ShadowOutcome("mismatched", findings=real, ignored_paths=ignored)


def _by_id(id_key: str, docs: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for index, doc in enumerate(docs):
        doc_id = doc.get(id_key) if isinstance(doc, dict) else None
        result[doc_id if isinstance(doc_id, str) else f"#{index}"] = doc
    return result
