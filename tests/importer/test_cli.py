"""`migrator import` and `migrator generate` on the command line: output, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.cli import app
from migrator.schemas.declaration import Schema
from tests.importer.conftest import stored_documents, valid_documents

ISSUE_KEYS = {
    "files",
    "documents",
    "imported",
    "unchanged",
    "rejected",
    "seconds",
    "rejects_file",
    "partitions",
}
PARTITION_KEYS = {"name", "documents", "imported", "unchanged", "rejected"}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "migrator", *args]


def _import(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["import", *args])
    return result.exit_code, result.output


def test_json_summary_has_the_documented_shape(fixture_store_dir: Path, sql_path: Path) -> None:
    """--format json prints one JSON object with the issue's keys, per partition too."""
    code, output = _import(
        "--json-dir", str(fixture_store_dir), "--db", str(sql_path), "--format", "json"
    )
    assert code == 0, output
    summary = json.loads(output)
    assert set(summary) >= ISSUE_KEYS
    assert (summary["files"], summary["documents"], summary["imported"]) == (3, 36, 36)
    assert (summary["unchanged"], summary["rejected"], summary["rejects_file"]) == (0, 0, None)
    assert isinstance(summary["seconds"], float)
    assert len(summary["partitions"]) == 3
    for partition in summary["partitions"]:
        assert set(partition) >= PARTITION_KEYS
    assert sum(p["imported"] for p in summary["partitions"]) == 36
    code, output = _import(
        "--json-dir", str(fixture_store_dir), "--db", str(sql_path), "--format", "json"
    )
    assert json.loads(output)["unchanged"] == 36


def test_rejects_exit_1_and_name_the_rejects_file(bad_store_dir: Path, sql_path: Path) -> None:
    """Finished with rejects: exit 1, the JSON summary points at the rejects file."""
    rejects = sql_path.parent / "rejects.jsonl"
    code, output = _import(
        "--json-dir",
        str(bad_store_dir),
        "--db",
        str(sql_path),
        "--rejects",
        str(rejects),
        "--format",
        "json",
    )
    assert code == 1, output
    summary = json.loads(output)
    assert summary["rejected"] == 8 and summary["imported"] == 5
    assert summary["rejects_file"] == str(rejects)
    assert len(rejects.read_text().splitlines()) == 8


def test_text_summary_is_a_table_with_totals(bad_store_dir: Path, sql_path: Path) -> None:
    """The text summary lists partitions, the total line and the rejects."""
    code, output = _import("--json-dir", str(bad_store_dir), "--db", str(sql_path))
    assert code == 1
    for word in ("partition", "imported", "unchanged", "rejected", "docs/s", "total (7 files)"):
        assert word in output
    assert "field status: 'exploded' is not one of" in output
    assert "rejected records written to" in output


def test_text_summary_of_many_files_lists_only_those_with_news(
    tmp_path: Path, sql_path: Path
) -> None:
    """Past 40 partitions the table keeps the ones with rejects (or gone, missing) and says how
    many clean ones it leaves out; the total still counts them all."""
    json_dir = tmp_path / "many"
    json_dir.mkdir()
    for n in range(45):
        (json_dir / f"{n:016x}.json").write_text("[]")
    (json_dir / "ffffffffffffffff.json").write_text("[1]")
    code, output = _import("--json-dir", str(json_dir), "--db", str(sql_path))
    assert code == 1
    assert "ffffffffffffffff" in output and "0000000000000001" not in output
    assert "and 45 more partitions with nothing to report" in output
    assert "total (46 files)" in output


def test_missing_json_dir_is_one_line_and_exit_2(tmp_path: Path, sql_path: Path) -> None:
    """A JSON directory that does not exist: exit 2, one line on stderr, no traceback."""
    result = subprocess.run(
        _cli("import", "--json-dir", str(tmp_path / "nope"), "--db", str(sql_path)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "no such directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert not sql_path.exists()


def test_unreadable_database_is_one_line_and_exit_2(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """A --db file that is not a database: exit 2 and one line naming it, file untouched."""
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database, just text\n" * 100)
    before = garbage.read_bytes()
    result = subprocess.run(
        _cli("import", "--json-dir", str(fixture_store_dir), "--db", str(garbage)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and str(garbage) in result.stderr
    assert garbage.read_bytes() == before


def test_no_progress_bar_when_stdout_is_not_a_terminal(
    fixture_store_dir: Path, sql_path: Path
) -> None:
    """Piped output holds the summary only: no progress bar characters, no ETA."""
    result = subprocess.run(
        _cli(
            "import",
            "--json-dir",
            str(fixture_store_dir),
            "--db",
            str(sql_path),
            "--format",
            "json",
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["imported"] == 36
    assert "━" not in result.stdout + result.stderr


def test_import_creates_the_schema_itself(
    fixture_store_dir: Path, sql_path: Path, sessions_schema: Schema
) -> None:
    """No `migrator init` needed first, and the database holds the JSON store afterwards."""
    code, output = _import("--json-dir", str(fixture_store_dir), "--db", str(sql_path), "-q")
    assert code == 0, output
    store = SqlStore(sql_path, sessions_schema, create=False)
    try:
        assert stored_documents(store) == valid_documents(
            JsonStore(fixture_store_dir, sessions_schema)
        )
    finally:
        store.close()


def test_import_reads_its_locations_from_the_environment(
    fixture_store_dir: Path, sql_path: Path
) -> None:
    """MIGRATOR_JSON_DIR and MIGRATOR_DB stand in for --json-dir and --db."""
    result = CliRunner().invoke(
        app,
        ["import", "--format", "json"],
        env={"MIGRATOR_JSON_DIR": str(fixture_store_dir), "MIGRATOR_DB": str(sql_path)},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["imported"] == 36


def test_generate_writes_the_requested_sessions(tmp_path: Path) -> None:
    """`migrator generate` writes N sessions and says where."""
    out = tmp_path / "store"
    result = CliRunner().invoke(
        app, ["generate", "--sessions", "150", "--out", str(out), "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 150 sessions" in result.output
    assert sum(len(json.loads(p.read_bytes())) for p in out.glob("*.json")) == 150


def test_generate_refuses_to_write_over_a_store(fixture_store_dir: Path) -> None:
    """A directory that already holds partition files is a usage error (exit 2)."""
    result = CliRunner().invoke(
        app, ["generate", "--sessions", "10", "--out", str(fixture_store_dir)]
    )
    assert result.exit_code == 2
    assert "already holds partition files" in result.output
