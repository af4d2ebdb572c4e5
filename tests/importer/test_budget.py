"""Error budgets: `--max-errors N` / `--max-error-ratio R` stop an import at the next batch
boundary once the rejects exceed them, keeping what was committed valid and every reject seen;
without one, everything valid is imported and the rest reported."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.cli import app
from migrator.errors import UsageError
from migrator.history import read_runs
from migrator.importer import RATIO_MIN_DOCUMENTS, import_store
from migrator.schemas.declaration import Schema
from migrator.validator import validate
from tests.importer.conftest import stored_documents, valid_documents

#: The generated store's four files hold 73, 133, 97 and 97 sessions; where bad records go in
#: each (10 in all, none in the first file).
SPREAD = ((), (10, 90), (5, 15, 25, 35), (3, 30, 60, 90))
STOPPED = re.compile(
    r"stopped: (\d+) rejects exceed --max-errors=3; ([\d,]+) documents committed, rejects in (.+)"
)


def _plant(json_dir: Path, schema: Schema, bad: tuple[tuple[int, ...], ...]) -> list[str]:
    """Give the records at the `bad` indices of each file a status outside its choices;
    return the partitions in name order."""
    store = JsonStore(json_dir, schema)
    partitions = store.partitions()
    for partition, indices in zip(partitions, bad, strict=True):
        path = store.path_for(partition)
        records = json.loads(path.read_text(encoding="utf-8"))
        for index in indices:
            records[index]["status"] = "exploded"
        path.write_text(json.dumps(records, indent=2, ensure_ascii=False), encoding="utf-8")
    return partitions


def _import(json_dir: Path, db: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    result = CliRunner().invoke(
        app, ["import", "--json-dir", str(json_dir), "--db", str(db), "--format", "json", *args]
    )
    return result, json.loads(result.stdout)


def _counts(json_store: JsonStore, sql_store: SqlStore, *partitions: str) -> dict[str, int]:
    """The validator's non-zero counts of findings over `partitions` (not the side totals)."""
    report = validate(json_store, sql_store, partitions=list(partitions))
    return {k: v for k, v in report.counts.items() if v and k not in ("json", "sqlite")}


def test_max_errors_stops_after_the_budget_and_keeps_the_committed_data_valid(
    generated_store_dir: Path, sessions_schema: Schema, sql_path: Path, tmp_path: Path
) -> None:
    """A budget of 3 over 10 bad records in three files: exit 1 with one line on stderr once
    the 4th reject is past a batch boundary; the files before are committed whole and match
    their files (the clean one keeps its import mark), the file in progress is partial (what
    it has matches its file, no mark), the last is not read; every reject seen is in the
    rejects file; a re-run without a budget finishes the job."""
    p0, p1, p2, p3 = _plant(generated_store_dir, sessions_schema, SPREAD)
    rejects = tmp_path / "rejects.jsonl"
    result, summary = _import(
        generated_store_dir, sql_path, "--max-errors", "3", "--batch-size", "10",
        "--rejects", str(rejects),
    )  # fmt: skip
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    match = STOPPED.fullmatch(line)
    assert match is not None, line
    # The JSON summary and the history keep the library's words; the CLI's line, its flag.
    assert summary["stopped"] == f"{match[1]} rejects exceed max_errors=3"
    assert 4 <= summary["rejected"] == int(match[1]) < 10
    assert int(match[2].replace(",", "")) == summary["imported"]
    assert match[3] == str(rejects) == summary["rejects_file"]
    entries = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == summary["rejected"]
    assert {e["record"]["status"] for e in entries} == {"exploded"}
    assert {p["name"]: p["status"] for p in summary["partitions"]} == {
        p0: "imported",
        p1: "imported",
        p2: "partial",
    }
    (run,) = read_runs(generated_store_dir)
    assert (run.outcome, run.message) == ("rejected", line.replace("--max-errors", "max_errors"))

    json_store = JsonStore(generated_store_dir, sessions_schema)
    sql_store = SqlStore(sql_path, sessions_schema, create=False)
    try:
        assert set(sql_store.import_marks()) == {p0}
        assert _counts(json_store, sql_store, p0) == {"matched": 73}
        # The rejected records are the file's only documents the database lacks.
        assert _counts(json_store, sql_store, p1) == {"matched": 131, "missing_in_sqlite": 2}
        rejected_ids = {e["id"] for e in entries}
        assert not rejected_ids & set(sql_store.ids_in(p1))
        held = sql_store.ids_in(p2)
        assert 0 < len(held) < 97 - 4 and not rejected_ids & set(held)
        # What the partial file has matches its file; the rest of the file is missing.
        assert _counts(json_store, sql_store, p2) == {
            "matched": len(held),
            "missing_in_sqlite": 97 - len(held),
        }
        assert sql_store.ids_in(p3) == []
        assert summary["imported"] == 73 + 131 + len(held)
    finally:
        sql_store.close()

    result, again = _import(generated_store_dir, sql_path)
    assert result.exit_code == 1 and result.stderr == ""
    assert again["stopped"] is None and again["rejected"] == 10
    assert again["unchanged"] == 73
    sql_store = SqlStore(sql_path, sessions_schema, create=False)
    try:
        assert stored_documents(sql_store) == valid_documents(json_store)
    finally:
        sql_store.close()


@pytest.mark.parametrize("parallel", [False, True])
def test_ratio_waits_for_enough_documents_then_stops(
    generated_store_dir: Path, sessions_schema: Schema, sql_store: SqlStore, parallel: bool
) -> None:
    """10 bad records in the first file (73 sessions, 14%) and a ratio of 5%: nothing stops
    before RATIO_MIN_DOCUMENTS were read, so the first file is committed whole; the run stops
    at the first boundary after that, in the second file (the same with files read by the
    helper process, which the stop ends)."""
    p0, p1, *_ = _plant(generated_store_dir, sessions_schema, (tuple(range(0, 70, 7)), (), (), ()))
    json_store = JsonStore(generated_store_dir, sessions_schema)
    summary = import_store(
        json_store, sql_store, max_error_ratio=0.05, batch_size=10, parallel=parallel
    )
    assert summary.stopped is not None and not summary.ok
    found = re.search(r"in ([\d,]+) documents read", summary.stopped)
    assert found is not None, summary.stopped
    read = int(found[1])
    assert RATIO_MIN_DOCUMENTS <= read < RATIO_MIN_DOCUMENTS + 10
    assert summary.stopped == (
        f"10 rejects in {read} documents read ({10 / read:.1%}) exceed max_error_ratio=0.05"
    )
    assert [(p.name, p.status) for p in summary.partitions] == [(p0, "imported"), (p1, "partial")]
    assert len(sql_store.ids_in(p0)) == 63
    assert len(sql_store.ids_in(p1)) == read - 73


def test_a_budget_not_exceeded_and_no_budget_import_everything_valid(
    generated_store_dir: Path, sessions_schema: Schema, sql_path: Path
) -> None:
    """10 bad records in 400 (2.5%) under a 5% ratio, or under no budget at all (the default):
    every valid record is imported, the 10 reported, exit 1, "stopped" null, nothing on stderr."""
    _plant(generated_store_dir, sessions_schema, SPREAD)
    json_store = JsonStore(generated_store_dir, sessions_schema)
    for args in (("--max-error-ratio", "0.05", "--max-errors", "10"), ()):
        sql_path.unlink(missing_ok=True)
        result, summary = _import(generated_store_dir, sql_path, "--batch-size", "10", *args)
        assert result.exit_code == 1 and result.stderr == ""
        assert summary["stopped"] is None
        assert (summary["imported"], summary["rejected"]) == (390, 10)
        assert {p["status"] for p in summary["partitions"]} == {"imported"}
        sql_store = SqlStore(sql_path, sessions_schema, create=False)
        try:
            assert stored_documents(sql_store) == valid_documents(json_store)
        finally:
            sql_store.close()


def test_text_summary_says_it_stopped(
    generated_store_dir: Path, sessions_schema: Schema, sql_path: Path
) -> None:
    """The table's title says the import stopped early and why (here at the end of the file
    with the first bad record, whole in one batch), and the process's stderr is the one line;
    a dry run stops there too and says nothing was written."""
    _plant(generated_store_dir, sessions_schema, ((), (10,), (), (5,)))
    args = ["import", "--json-dir", str(generated_store_dir), "--db", str(sql_path)]
    result = subprocess.run(
        [sys.executable, "-m", "migrator", *args, "--max-errors", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "import stopped early: 1 reject exceeds --max-errors=0" in result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("stopped: 1 reject exceeds --max-errors=0; 205 documents committed")
    dry = CliRunner().invoke(app, [*args, "--max-errors", "0", "--dry-run", "--format", "json"])
    assert dry.exit_code == 1
    assert dry.stderr == "stopped: 1 reject exceeds --max-errors=0; dry run, nothing written\n"
    assert json.loads(dry.stdout)["imported"] == 205


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"max_errors": -1}, "max_errors must be at least 0"),
        ({"max_error_ratio": 1.5}, "max_error_ratio must be between 0 and 1"),
    ],
)
def test_a_budget_out_of_range_is_a_usage_error(
    json_store: JsonStore, sql_store: SqlStore, options: dict[str, Any], words: str
) -> None:
    """A negative count or a ratio outside [0, 1] is refused before anything is read."""
    with pytest.raises(UsageError, match=words):
        import_store(json_store, sql_store, **options)
    assert sql_store.import_marks() == {}
