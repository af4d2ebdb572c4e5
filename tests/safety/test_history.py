"""History: each run that reads or changes data is one fsynced line, whatever its outcome."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import typer

from migrator.adapters.phase_state import Phase, PhaseState, current_phase
from migrator.errors import BackupError
from migrator.history import history_path, read_runs, record_run
from tests.safety.conftest import Setup, invoke


def test_a_run_records_command_times_outcome_counts_and_phases(tmp_path: Path) -> None:
    """An ok run: command, start and end, outcome ok, its counts, the phase before and after."""
    with record_run(tmp_path, "import") as run:
        run.counts = {"documents": 3}
        PhaseState(tmp_path).update(lambda record: record.moved(Phase.DUAL_WRITE))
    (recorded,) = read_runs(tmp_path)
    assert recorded.command == "import" and recorded.outcome == "ok"
    assert recorded.counts == {"documents": 3}
    assert (recorded.phase_before, recorded.phase_after) == ("json-only", "dual-write")
    assert recorded.ended_at is not None and recorded.ended_at >= recorded.started_at


def test_errors_and_exit_codes_become_outcomes(tmp_path: Path) -> None:
    """A MigratorError is `error` with its message; Exit(1) is `differences`; a set outcome
    stays; the exception still propagates."""
    with pytest.raises(BackupError), record_run(tmp_path, "backup"):
        raise BackupError("disk full")
    with pytest.raises(typer.Exit), record_run(tmp_path, "validate"):
        raise typer.Exit(1)
    with pytest.raises(typer.Exit), record_run(tmp_path, "import") as run:
        run.outcome = "rejected"
        raise typer.Exit(1)
    rejected, differences, error = read_runs(tmp_path)
    assert (error.outcome, error.message) == ("error", "disk full")
    assert differences.outcome == "differences"
    assert rejected.outcome == "rejected"


def test_dry_runs_and_missing_stores_record_nothing(tmp_path: Path) -> None:
    """enabled=False (a dry run) writes nothing; nor does a JSON directory that does not exist."""
    with record_run(tmp_path, "import", enabled=False):
        pass
    with record_run(tmp_path / "missing", "import"):
        pass
    assert not history_path(tmp_path).exists()
    assert not (tmp_path / "missing").exists()


def test_newest_first_with_a_limit_and_torn_lines_skipped(tmp_path: Path) -> None:
    """read_runs gives the newest first, at most `limit`, skipping a torn last line."""
    for n in range(5):
        with record_run(tmp_path, f"cmd{n}"):
            pass
    with history_path(tmp_path).open("a") as handle:
        handle.write('{"command": "torn", "start')
    assert [run.command for run in read_runs(tmp_path, limit=2)] == ["cmd4", "cmd3"]
    assert len(read_runs(tmp_path)) == 5


def test_history_file_is_private(tmp_path: Path) -> None:
    """The history file is created 0600."""
    with record_run(tmp_path, "backup"):
        pass
    assert history_path(tmp_path).stat().st_mode & 0o777 == 0o600


def test_concurrent_processes_never_interleave_lines(tmp_path: Path) -> None:
    """Four processes appending at once: every line parses, none is lost."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from migrator.history import record_run
        for n in range(25):
            with record_run(Path(sys.argv[1]), f"p{sys.argv[2]}") as run:
                run.counts = {"n": n, "padding": 10**30}
        """
    )
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(i)], cwd=root)
        for i in range(4)
    ]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    lines = history_path(tmp_path).read_text().splitlines()
    assert len(lines) == 100
    runs = [json.loads(line) for line in lines]
    for i in range(4):
        assert sorted(r["counts"]["n"] for r in runs if r["command"] == f"p{i}") == list(range(25))


def test_an_unreadable_phase_file_is_unknown_not_an_error(tmp_path: Path) -> None:
    """A damaged phase file never stops a run from being recorded: its phase is `unknown`."""
    (tmp_path / ".migrator").mkdir()
    (tmp_path / ".migrator" / "phase.json").write_text("{ not json")
    assert current_phase(tmp_path) == "unknown"
    with record_run(tmp_path, "backup"):
        pass
    assert read_runs(tmp_path)[0].phase_before == "unknown"


def test_commands_record_their_runs(setup: Setup, tmp_path: Path) -> None:
    """backup, a refused restore and export are recorded; `history` lists them newest first."""
    assert setup.cli("backup").exit_code == 0
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage")
    assert setup.cli("restore", str(bad), "--yes").exit_code == 2
    out = tmp_path / "exported"
    exported = invoke(
        "export", "--db", str(setup.db), "--out", str(out), "--json-dir", str(setup.json_dir)
    )
    assert exported.exit_code == 0, exported.output
    result = invoke("history", "--json-dir", str(setup.json_dir), "--format", "json")
    assert result.exit_code == 0
    runs = json.loads(result.stdout)
    assert [r["command"] for r in runs] == ["export", "restore", "backup"]
    assert [r["outcome"] for r in runs] == ["ok", "error", "ok"]
    assert runs[0]["counts"] == {"partitions": 3, "documents": 36}
    assert "not a SQLite database" in runs[1]["message"]
    limited = invoke("history", "--json-dir", str(setup.json_dir), "--limit", "1")
    assert limited.exit_code == 0 and "export" in limited.stdout and "backup" not in limited.stdout


def test_ctrl_c_is_recorded_as_interrupted(tmp_path: Path) -> None:
    """A run stopped by Ctrl-C is recorded as `interrupted`, and the interrupt propagates."""
    with pytest.raises(KeyboardInterrupt), record_run(tmp_path, "import"):
        raise KeyboardInterrupt
    assert read_runs(tmp_path)[0].outcome == "interrupted"
