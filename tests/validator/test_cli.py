"""`migrator validate` as users and CI run it: three formats, exit codes, --output, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from migrator.schemas.codec import canonical_bytes
from tests.databases import on_postgresql
from tests.validator.conftest import (
    P1,
    P2,
    P3,
    Planted,
    Stores,
    expected_mismatches,
    plant_every_kind,
    sid,
)
from tests.validator.test_validate import CLEAN_COUNTS

SUMMARY = "DIFFERENT: 1 missing in sqlite, 1 missing in json, 6 mismatched of 37"


def test_agreeing_stores_exit_0_with_an_ok_line(stores: Stores) -> None:
    """Exit 0 and one OK line when the stores agree."""
    result = stores.cli()
    assert result.exit_code == 0, result.output
    assert result.stdout == "OK: 36 documents match\n"


def test_text_format_summary_first_then_a_row_per_finding(stores: Stores) -> None:
    """Text: the summary line first, then the table naming every finding."""
    planted = plant_every_kind(stores)
    result = stores.cli()
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == SUMMARY
    table = "\n".join(lines[1:])
    # Grouped by partition, then by document; each finding's values on lines of their own.
    rows = [line.split() for line in lines[4:] if line.strip()]
    assert rows == [
        ["partition", P2],
        [sid(1, 3), "missing_in_sqlite"],
        [planted.extra_doc_id, "missing_in_json"],
        ["partition", P1],
        [sid(0, 0), "dictionary_item_removed", "root['instances'][0]['sandbox']"],
        ["json:", '{"cpu":2,"ratio":0.5}'], ["sqlite:", "(absent)"],
        [sid(0, 2), "values_changed", "root['instances'][1]['status']"],
        ["json:", json.dumps(planted.status_before)], ["sqlite:", '"archived"'],
        [sid(0, 4), "iterable_item_removed", "root['chat_history'][3]"],
        ["json:", *rows[11][1:]], ["sqlite:", "(absent)"],
        [sid(0, 5), "type_changes", "root['timeout_seconds']"],
        ["json:", "600"], ["sqlite:", "600.0"],
        [sid(0, 8), "type_changes", "root['timeout_seconds']"],
        ["json:", "600"], ["sqlite:", '"600"'],
        ["partition", P2],
        [sid(1, 5), "partition_changed", "root"],
        ["json:", f'"{P2}"'], ["sqlite:", f'"{P3}"'],
    ]  # fmt: skip
    assert rows[11][1].startswith('{"id":"00000000-0000-4000-8000-000000000004-m3"')
    assert "max-details" not in table


def test_json_format_is_the_contract(stores: Stores) -> None:
    """JSON: exactly the documented keys and findings; the summary goes to stderr."""
    planted = plant_every_kind(stores)
    result = stores.cli("--format", "json")
    assert result.exit_code == 1
    assert result.stderr == SUMMARY + "\n"
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["schema"] == "sessions"
    assert report["sampled"] is False
    assert report["counts"] == {
        "json": 36,
        "sqlite": 36,
        "matched": 29,
        "missing_in_sqlite": 1,
        "missing_in_json": 1,
        "mismatched": 6,
        "ignored": 0,
        "invalid_in_json": 0,
        "in_flight": 0,
        "settled": 0,
    }
    assert report["missing_in_sqlite"] == [{"id": sid(1, 3), "partition": P2}]
    assert report["missing_in_json"] == [{"id": planted.extra_doc_id, "partition": P2}]
    assert canonical_bytes(report["mismatched"]) == canonical_bytes(expected_mismatches(planted))


def test_documented_json_example_has_the_reports_keys(stores: Stores) -> None:
    """docs/validating.md's JSON example shows every key a real report has, at every level."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "validating.md").read_text("utf-8")
    documented = json.loads(page.split("```json\n", 1)[1].split("```", 1)[0])
    plant_every_kind(stores)
    report = json.loads(stores.cli("--format", "json").stdout)
    assert documented.keys() == report.keys()
    assert documented["counts"].keys() == report["counts"].keys()
    assert documented["mismatched"][0].keys() == report["mismatched"][0].keys()
    difference = report["mismatched"][0]["differences"][0]
    assert documented["mismatched"][0]["differences"][0].keys() == difference.keys()


def test_json_format_keeps_huge_integers_exact(stores: Stores) -> None:
    """Integers beyond 64 bits appear in the JSON report digit for digit."""

    def edit(docs: list[dict[str, int]]) -> None:
        docs[3]["total_duration"] += 1

    stores.edit_json(P1, edit)
    report = json.loads(stores.cli("--format", "json").stdout)
    (difference,) = report["mismatched"][0]["differences"]
    big = 123456789012345678901234567890
    assert (difference["json"], difference["sqlite"]) == (big + 1, big)


def _junit(xml_text: str) -> ET.Element:
    root = ET.fromstring(xml_text)
    assert root.tag == "testsuite"
    return root


def _failures(suite: ET.Element) -> dict[str, list[tuple[str, str]]]:
    return {
        case.get("name", ""): [(f.get("type", ""), f.get("message", "")) for f in case]
        for case in suite.iter("testcase")
    }


def test_junit_has_a_testcase_per_partition_and_a_failure_per_finding(stores: Stores) -> None:
    """JUnit: parses with xml.etree; one testcase per partition, one failure per finding."""
    planted = plant_every_kind(stores)
    result = stores.cli("--format", "junit")
    assert result.exit_code == 1
    suite = _junit(result.stdout)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "2", "0")
    assert _failures(suite) == {
        P1: [
            ("mismatched", f"{sid(0, 0)}: 1 difference"),
            ("mismatched", f"{sid(0, 2)}: 1 difference"),
            ("mismatched", f"{sid(0, 4)}: 1 difference"),
            ("mismatched", f"{sid(0, 5)}: 1 difference"),
            ("mismatched", f"{sid(0, 8)}: 1 difference"),
        ],
        P2: [
            ("missing_in_sqlite", f"{sid(1, 3)}: in JSON, not in SQL"),
            ("missing_in_json", f"{planted.extra_doc_id}: in SQL, not in JSON"),
            ("mismatched", f"{sid(1, 5)}: 1 difference"),
        ],
        P3: [],
    }
    texts = [f.text for f in suite.iter("failure") if f.get("type") == "mismatched"]
    assert texts[3] == "type_changes root['timeout_seconds']: json=600 sqlite=600.0"
    assert texts[5] == f"partition_changed: json partition {P2}, sqlite partition {P3}"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["count.mismatched"] == "6"
    assert properties["sampled"] == "false"


def test_junit_says_when_findings_were_cut(stores: Stores) -> None:
    """With --max-details a partition still fails, with one failure counting the rest."""
    plant_every_kind(stores)
    suite = _junit(stores.cli("--format", "junit", "--max-details", "1").stdout)
    failures = _failures(suite)
    assert failures[P1] == [
        ("mismatched", f"{sid(0, 0)}: 1 difference"),
        ("truncated", "4 more findings not listed (--max-details)"),
    ]
    assert failures[P2][-1] == ("truncated", "1 more finding not listed (--max-details)")


def test_junit_of_agreeing_stores_passes(stores: Stores) -> None:
    """Every partition's testcase passes when the stores agree; exit 0."""
    result = stores.cli("--format", "junit")
    assert result.exit_code == 0
    suite = _junit(result.stdout)
    assert (suite.get("tests"), suite.get("failures")) == ("3", "0")
    assert list(suite.iter("failure")) == []


def test_output_writes_the_report_and_prints_the_summary(stores: Stores) -> None:
    """--output PATH holds the rendered report; stdout keeps the summary line."""
    planted: Planted = plant_every_kind(stores)
    for fmt in ("json", "junit", "text"):
        target = stores.json_dir.parent / f"report.{fmt}"
        result = stores.cli("--format", fmt, "--output", str(target))
        assert result.exit_code == 1
        assert result.stdout == f"{SUMMARY}\nreport written to {target}\n"
        written = target.read_text(encoding="utf-8")
        if fmt == "json":
            assert json.loads(written)["missing_in_json"][0]["id"] == planted.extra_doc_id
        elif fmt == "junit":
            assert len(list(_junit(written).iter("failure"))) == 8
        else:
            assert written.splitlines()[0] == SUMMARY
            assert "\x1b[" not in written  # plain text, no colour codes
    leftovers = [p.name for p in stores.json_dir.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_output_into_a_missing_directory_is_a_usage_error(stores: Stores) -> None:
    """An --output path that cannot be written: exit 2, one line naming it."""
    target = stores.json_dir.parent / "no" / "such" / "report.json"
    result = stores.cli("--format", "json", "--output", str(target))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {target}: cannot write the report")
    assert result.stderr.count("\n") == 1


def test_options_reach_the_validator(stores: Stores) -> None:
    """--ignore-path, --partition, --sample/--seed and --max-details are honoured."""
    stores.sql("UPDATE sessions SET updated_at = 'later' WHERE id = ?", sid(0, 1))
    assert stores.cli().exit_code == 1
    ignored = stores.cli("--ignore-path", r"root\['updated_at'\]")
    assert ignored.exit_code == 0
    assert ignored.stdout == "OK: 36 documents match (1 differ only in ignored paths)\n"
    assert stores.cli("--partition", P2, "--partition", P3).exit_code == 0
    sampled = stores.cli("--sample", "4", "--seed", "5", "--partition", P2)
    assert sampled.stdout == "OK: 4 sampled documents match (a sample of 4 of 12, seed 5)\n"
    capped = json.loads(stores.cli("--format", "json", "--max-details", "0").stdout)
    assert capped["mismatched"] == [] and capped["counts"]["mismatched"] == 1


def test_bad_option_values_exit_2(stores: Stores) -> None:
    """Out-of-range numbers, unknown formats and partitions are usage errors (exit 2)."""
    for args in (
        ["--sample", "0"],
        ["--max-details", "-1"],
        ["--format", "yaml"],
        ["--partition", "nope"],
        ["--ignore-path", "root[("],
    ):
        result = stores.cli(*args)
        assert result.exit_code == 2, (args, result.output)


def test_unparseable_json_file_exits_2_naming_the_file(stores: Stores) -> None:
    """A JSON file that does not parse: exit 2, one line naming the file, no traceback."""
    broken = stores.json_dir / "broken.json"
    broken.write_text('[\n  {"id": "a",\n  "type": }\n]', encoding="utf-8")
    result = stores.cli()
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {broken}:3:")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_missing_database_and_json_dir_exit_2(stores: Stores) -> None:
    """A database file that does not exist is not created; a missing --json-dir is named."""
    missing = stores.db.with_name("missing.db")
    result = stores.cli("--db", str(missing))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert not missing.exists()
    gone = stores.json_dir.parent / "gone"
    result = stores.cli("--json-dir", str(gone))
    assert result.exit_code == 2
    assert result.stderr == f"error: --json-dir {gone}: no such directory\n"


def test_runs_as_a_subprocess_with_exit_code_1(stores: Stores, tmp_path: Path) -> None:
    """`python -m migrator validate` exits 1 on differences, report on stdout."""
    plant_every_kind(stores)
    done = subprocess.run(
        [sys.executable, "-m", "migrator", "validate", "--json-dir", str(stores.json_dir),
         "--db", str(stores.db), "--format", "json", "--quiet"],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["counts"]["mismatched"] == 6
    assert done.stderr == ""


# The CLI given a PostgreSQL URL (on SQLite: the tests above).
@on_postgresql
def test_cli_validate_with_a_postgresql_url(stores: Stores) -> None:
    """`migrator validate --db postgresql://...` exits 0 when the stores agree, 1 when not."""
    clean = stores.cli("--format", "json")
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["counts"] == CLEAN_COUNTS
    stores.sql("UPDATE sessions SET status = 'paused' WHERE id = ?", sid(0, 1))
    different = stores.cli("--format", "json")
    assert different.exit_code == 1, different.output
    (mismatch,) = json.loads(different.stdout)["mismatched"]
    assert mismatch["id"] == sid(0, 1)
    assert mismatch["differences"][0]["sqlite"] == "paused"
