"""Renders result values for people and for machines: rich tables, JSON, JUnit XML.

The generic helpers (`json_text`, `junit_xml` with `TestCase`/`Failure`, `plain_text`,
`write_output`, `write_summary`) serve any result type; the `validation_*` functions render a
`ValidationReport`, the `check_*` ones a `CheckResult`. Nothing here prints: the CLI decides
where text goes.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from migrator.checklist import CheckResult
from migrator.errors import StoreError, UsageError
from migrator.schemas.comparison import PARTITION_CHANGED, Difference
from migrator.schemas.jsontext import dumps_compact, dumps_pretty
from migrator.validator import FINDINGS, ValidationReport

#: Characters XML 1.0 cannot hold at all (documents may: NUL, other C0 controls, lone
#: surrogates); they are written as `\xNN` / `\uNNNN` escapes instead.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ABSENT = "(absent)"


# --------------------------------------------------------------------------- generic helpers


def json_text(value: Any) -> str:
    """Indented JSON text with a final newline; integers of any size stay exact."""
    return dumps_pretty(value).decode() + "\n"


def short(value: Any, limit: int = 60) -> str:
    """A value as compact JSON on one line, cut to `limit` characters for a table cell."""
    text = dumps_compact(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


@dataclass(frozen=True)
class Failure:
    """One `<failure>` of a JUnit test case."""

    type: str
    message: str
    text: str = ""


@dataclass
class TestCase:
    """One JUnit `<testcase>`: passes when it has no failures."""

    __test__ = False  # not a pytest test class, whatever module imports it

    name: str
    classname: str
    failures: list[Failure] = field(default_factory=list)


def junit_xml(
    suite_name: str, cases: Sequence[TestCase], *, properties: Mapping[str, Any] | None = None
) -> str:
    """A JUnit XML document with one `<testsuite>`, as CI systems read it."""
    failed = sum(1 for case in cases if case.failures)
    suite = ET.Element(
        "testsuite",
        name=_xml_safe(suite_name),
        tests=str(len(cases)),
        failures=str(failed),
        errors="0",
        skipped="0",
    )
    if properties:
        props = ET.SubElement(suite, "properties")
        for key, value in properties.items():
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            ET.SubElement(props, "property", name=_xml_safe(key), value=_xml_safe(shown))
    for case in cases:
        element = ET.SubElement(
            suite, "testcase", name=_xml_safe(case.name), classname=_xml_safe(case.classname)
        )
        for failure in case.failures:
            node = ET.SubElement(
                element, "failure", type=_xml_safe(failure.type), message=_xml_safe(failure.message)
            )
            node.text = _xml_safe(failure.text) if failure.text else None
    ET.indent(suite)
    body = ET.tostring(suite, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)


def plain_text(renderables: Iterable[RenderableType], width: int = 160) -> str:
    """What rich would print, as plain text (no colour codes), for a file."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    for item in renderables:
        console.print(item)
    return buffer.getvalue()


def write_output(text: str, path: Path) -> None:
    """Write a rendered report to `path` atomically: a reader sees the old file or the new."""
    from migrator.adapters.fs import write_atomically

    if not path.parent.is_dir():  # write_atomically would create it
        raise UsageError(f"{path}: cannot write the report: no folder {path.parent}")
    try:
        write_atomically(path, text.encode("utf-8"))
    except StoreError as exc:
        reason = getattr(exc.__cause__, "strerror", None) or exc
        raise UsageError(f"{path}: cannot write the report: {reason}") from None


def write_summary(summary: Any, path: Path) -> None:
    """Write a result's JSON summary (its `to_dict()`) to `path` atomically: `--summary-file`."""
    write_output(json_text(summary), path)


# --------------------------------------------------------------------------- validation


def validation_summary(report: ValidationReport) -> str:
    """The one line that says it all: `OK: 36 documents match` or `DIFFERENT: ...`."""
    c = report.counts
    notes = []
    if report.ok:
        line = f"OK: {c['matched']:,} {'sampled ' if report.sampled else ''}documents match"
        if c["ignored"]:
            notes.append(f"{c['ignored']:,} differ only in ignored paths")
    else:
        parts = [
            f"{c['missing_in_sqlite']:,} missing in sqlite",
            f"{c['missing_in_json']:,} missing in json",
            f"{c['mismatched']:,} mismatched",
        ]
        if c["invalid_in_json"]:
            parts.append(f"{c['invalid_in_json']:,} invalid in json")
        line = f"DIFFERENT: {', '.join(parts)} of {report.compared:,}"
    if c.get("in_flight"):
        notes.append(f"{c['in_flight']:,} in flight, left out")
    if c.get("settled"):
        notes.append(f"{c['settled']:,} settled when re-read")
    if report.future_versions:
        notes.append(
            f"{len(report.future_versions)} with a version key in the future, compared: "
            "a clock may be skewed"
        )
    if notes:
        line += f" ({'; '.join(notes)})"
    if report.sampled:
        line += f" (a sample of {report.compared} of {report.population}, seed {report.seed})"
    return line


def validation_table(report: ValidationReport, limit: int | None = None) -> Table | None:
    """The findings, grouped by partition (a row of its own) and by document: the id on the
    left, never cut (it is what a user greps for), and each finding on the right, its path and
    both values on lines of their own, so the table fits 80 columns. None when there is nothing.
    At most `limit` findings are listed; the caption says how many more there are."""
    rows = list(_finding_rows(report))
    if not rows:
        return None
    hidden = 0
    if limit is not None and len(rows) > limit:
        hidden, rows = len(rows) - limit, rows[:limit]
    ids = [row[1] for row in rows]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    # Ids up to 50 characters (a UUID is 36) stay whole at 80 columns; longer ones fold.
    table.add_column("partition / id", overflow="fold", min_width=min(50, max(map(len, ids))))
    table.add_column("finding", overflow="fold", ratio=1)
    partition, document = "", ""
    for row in rows:
        if row[0] != partition:
            partition, document = row[0], ""
            table.add_row(Text(f"partition {partition}", style="bold"), "")
        shown = "" if row[1] == document else row[1]
        document = row[1]
        table.add_row(Text(shown), _finding_cell(*row[2:]))
    if report.details_truncated:
        table.caption = "listing cut by --max-details; the counts are complete"
    if hidden:
        table.caption = (
            f"and {hidden:,} more finding{'' if hidden == 1 else 's'}: "
            "--format json or --output FILE lists them all"
        )
    table.caption_justify = "left"
    return table


def _finding_cell(kind: str, path: str, json_value: str, sqlite_value: str) -> Text:
    """`values_changed root['task']`, then `json:` and `sqlite:` each on a line of its own."""
    text = Text(kind)
    if path:
        text.append(f" {path}")
    if (json_value or sqlite_value) and not kind.startswith("missing_in_"):
        text.append(f"\n  json:   {json_value}\n  sqlite: {sqlite_value}")
    return text


def _finding_rows(report: ValidationReport) -> Iterable[tuple[str, ...]]:
    for ref in report.missing_in_sqlite:
        yield ref.partition, ref.id, "missing_in_sqlite", "", "present", _ABSENT
    for ref in report.missing_in_json:
        yield ref.partition, ref.id, "missing_in_json", "", _ABSENT, "present"
    for mismatch in report.mismatched:
        for d in mismatch.differences:
            json_cell = _ABSENT if d.kind.endswith("_added") else short(d.json)
            sqlite_cell = _ABSENT if d.kind.endswith("_removed") else short(d.sqlite)
            yield mismatch.partition, mismatch.id, d.kind, d.path, json_cell, sqlite_cell
        hidden = (mismatch.total_differences or 0) - len(mismatch.differences)
        if hidden > 0:
            yield mismatch.partition, mismatch.id, f"{hidden} more differences", "", "", ""
    for record in report.invalid_in_json:
        yield record.partition, f"record {record.index}", "invalid_in_json", record.reason, "", ""


def nothing_imported(report: ValidationReport) -> bool:
    """Every document is missing from a database that holds none: one line says it, not one
    line per document."""
    counts = report.counts
    return counts["sqlite"] == 0 and counts["json"] > 0 and not report.sampled


def validation_text(report: ValidationReport, limit: int | None = None) -> list[RenderableType]:
    """The text format: the summary line, then the table of findings (at most `limit`)."""
    style = "green" if report.ok else "red"
    items: list[RenderableType] = [Text(validation_summary(report), style=style)]
    table = validation_table(report, limit)
    if table is not None:
        items.append(table)
    return items


def validation_json(report: ValidationReport) -> str:
    return json_text(report.to_dict())


def validation_junit(report: ValidationReport) -> str:
    """One test case per partition, one failure per finding in it."""
    classname = f"migrator.validate.{report.schema}"
    cases = {name: TestCase(name, classname) for name in sorted(report.by_partition)}

    def fail(partition: str, failure: Failure) -> None:
        cases.setdefault(partition, TestCase(partition, classname)).failures.append(failure)

    for ref in report.missing_in_sqlite:
        fail(ref.partition, Failure("missing_in_sqlite", f"{ref.id}: in JSON, not in SQL"))
    for ref in report.missing_in_json:
        fail(ref.partition, Failure("missing_in_json", f"{ref.id}: in SQL, not in JSON"))
    for m in report.mismatched:
        total = m.total_differences or len(m.differences)
        lines = [_difference_line(d) for d in m.differences]
        if total > len(m.differences):
            lines.append(f"... {total - len(m.differences)} more differences")
        message = f"{m.id}: {total} difference{'s' if total != 1 else ''}"
        fail(m.partition, Failure("mismatched", message, "\n".join(lines)))
    for record in report.invalid_in_json:
        fail(record.partition, Failure("invalid_in_json", f"record {record.index} {record.reason}"))
    for name, counts in report.by_partition.items():
        hidden = sum(counts[key] for key in FINDINGS) - len(cases[name].failures)
        if hidden > 0:
            noun = "finding" if hidden == 1 else "findings"
            fail(name, Failure("truncated", f"{hidden} more {noun} not listed (--max-details)"))
    properties: dict[str, Any] = {"schema": report.schema, "sampled": report.sampled}
    properties.update({f"count.{key}": value for key, value in report.counts.items()})
    return junit_xml("migrator validate", list(cases.values()), properties=properties)


def _difference_line(d: Difference) -> str:
    if d.kind == PARTITION_CHANGED:
        return f"{d.kind}: json partition {d.json}, sqlite partition {d.sqlite}"
    json_value = _ABSENT if d.kind.endswith("_added") else short(d.json, 200)
    sqlite_value = _ABSENT if d.kind.endswith("_removed") else short(d.sqlite, 200)
    return f"{d.kind} {d.path}: json={json_value} sqlite={sqlite_value}"


def render_validation(report: ValidationReport, fmt: str) -> str:
    """The report as text in `fmt` (`text`, `json` or `junit`), e.g. for `--output`."""
    if fmt == "json":
        return validation_json(report)
    if fmt == "junit":
        return validation_junit(report)
    return plain_text(validation_text(report))


# --------------------------------------------------------------------------- check


def check_summary(result: CheckResult) -> str:
    """`READY: dual-write -> sqlite-primary: all 8 checks passed`, or `NOT READY: ...`."""
    move = f"{result.phase} (the last phase)"
    if result.next_phase is not None:
        move = f"{result.phase} -> {result.next_phase}"
    total = len(result.items)
    if result.ready:
        return f"READY: {move}: all {total} checks passed"
    return f"NOT READY: {move}: {len(result.failed)} of {total} checks failed"


def check_lines(result: CheckResult) -> list[str]:
    """The text format: the summary, then one line per item and the fix of each failed one."""
    lines = [check_summary(result)]
    for item in result.items:
        mark = "ok  " if item.passed else "FAIL"
        lines.append(f"  [{mark}] {item.name}" + (f": {item.detail}" if item.detail else ""))
        if not item.passed and item.fix:
            lines.append(f"         fix: {item.fix}")
    return lines


def check_junit(result: CheckResult) -> str:
    """One test case per checklist item; a failed item's failure says what to run."""
    classname = f"migrator.check.{result.schema}"
    cases = []
    for item in result.items:
        case = TestCase(item.name, classname)
        if not item.passed:
            text = f"fix: {item.fix}" if item.fix else ""
            case.failures.append(Failure("not_ready", item.detail or item.name, text))
        cases.append(case)
    properties: dict[str, Any] = {
        "schema": result.schema,
        "phase": result.phase.value,
        "next_phase": "" if result.next_phase is None else result.next_phase.value,
        "ready": result.ready,
    }
    if result.validation is not None:
        counts = result.validation.counts
        properties.update({f"count.{key}": value for key, value in counts.items()})
    return junit_xml("migrator check", cases, properties=properties)


def render_check(result: CheckResult, fmt: str) -> str:
    """The checklist as text in `fmt` (`text`, `json` or `junit`), e.g. for `--output`."""
    if fmt == "json":
        return json_text(result.to_dict())
    if fmt == "junit":
        return check_junit(result)
    return "\n".join(check_lines(result)) + "\n"
