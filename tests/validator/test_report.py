"""The generic report helpers other result types reuse: JUnit XML, JSON text, atomic output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from migrator.cli.report import Failure, TestCase, json_text, junit_xml, short, write_output
from migrator.errors import UsageError


def test_junit_xml_escapes_what_xml_cannot_hold() -> None:
    """Control characters (NUL included) in names and messages still give parseable XML."""
    case = TestCase("part\x00ition", "cls", [Failure("mismatched", "id \x01 <&>", "text \x1f")])
    xml_text = junit_xml("suite", [case, TestCase("clean", "cls")], properties={"ok": False})
    suite = ET.fromstring(xml_text)
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    names = [c.get("name") for c in suite.iter("testcase")]
    assert names == ["part\\x00ition", "clean"]
    (failure,) = suite.iter("failure")
    assert failure.get("message") == "id \\x01 <&>"
    assert failure.text == "text \\x1f"
    assert [p.get("value") for p in suite.iter("property")] == ["false"]


def test_json_text_keeps_huge_integers_and_ends_with_a_newline() -> None:
    """JSON text is exact for integers beyond 64 bits and ends with one newline."""
    text = json_text({"n": 2**80, "f": 1.0})
    assert text.endswith("}\n")
    assert json.loads(text) == {"n": 2**80, "f": 1.0}
    assert "1.0" in text


def test_short_cuts_long_values_for_a_cell() -> None:
    """Table cells show compact JSON, cut with an ellipsis past the limit."""
    assert short({"a": [1, 2]}) == '{"a":[1,2]}'
    assert short("x" * 100, limit=10) == '"xxxxxxxx…'


def test_write_output_replaces_a_file_whole(tmp_path: Path) -> None:
    """An existing report is replaced, no temporary file is left behind."""
    target = tmp_path / "report.xml"
    target.write_text("old", encoding="utf-8")
    write_output("new ✓\n", target)
    assert target.read_text(encoding="utf-8") == "new ✓\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xml"]


def test_write_output_into_a_directory_path_is_a_usage_error(tmp_path: Path) -> None:
    """A target that is a directory cannot be replaced: a clear error, no temporary file."""
    with pytest.raises(UsageError, match="cannot write the report"):
        write_output("x", tmp_path)
    assert list(tmp_path.iterdir()) == []


def _counts(**counts: int) -> dict[str, int]:
    keys = ("matched", "ignored", "missing_in_sqlite", "missing_in_json", "mismatched")
    return {**dict.fromkeys(keys, 0), "invalid_in_json": 0, **counts}


def test_the_summary_line_groups_thousands() -> None:
    """Large counts read at a glance, as every table of the tool shows them: 12,345 not 12345."""
    from migrator.cli.report import validation_summary
    from migrator.validate_report import ValidationReport

    def report(ok: bool, **counts: int) -> ValidationReport:
        return ValidationReport(
            ok=ok,
            schema="sessions",
            sampled=False,
            counts=_counts(**counts),
            missing_in_sqlite=[],
            missing_in_json=[],
            mismatched=[],
        )

    assert validation_summary(report(True, matched=12345)) == "OK: 12,345 documents match"
    different = validation_summary(report(False, matched=100000, mismatched=1200))
    assert (
        different
        == "DIFFERENT: 0 missing in sqlite, 0 missing in json, 1,200 mismatched of 101,200"
    )
