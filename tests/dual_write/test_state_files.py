"""The state files beside the JSON store: the phase state, the journal, the incident logs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.adapters import journal as journal_module
from migrator.adapters.incidents import IncidentLog
from migrator.adapters.journal import Journal, Side, revision_of
from migrator.adapters.phase_state import Phase, PhaseRecord, PhaseState
from migrator.adapters.state_dir import SHADOW_LOG
from migrator.errors import PhaseError, PhaseUnknownError, StateFileError, StoreError


def test_phase_defaults_to_json_only_without_a_file(tmp_path: Path) -> None:
    """A store that never moved is in json-only, and reading creates nothing."""
    state = PhaseState(tmp_path)
    assert state.current().phase is Phase.JSON_ONLY
    assert not (tmp_path / ".migrator").exists()


def test_phase_round_trips_with_history_and_settings(tmp_path: Path) -> None:
    """Everything written to phase.json is read back as it was."""
    state = PhaseState(tmp_path)
    record = PhaseRecord(shadow_rate=0.25, ignore_paths=(r"root\['updated_at'\]",))
    record = record.moved(Phase.DUAL_WRITE, forced=True, warning="because")
    with state.lock():
        state.write(record)
    assert PhaseState(tmp_path).read() == record


def test_phase_unknown_name_is_a_phase_error() -> None:
    """A phase name that does not exist names the phases that do."""
    with pytest.raises(PhaseError, match="json-only, dual-write, sqlite-primary, sqlite-only"):
        Phase.parse("sqlite-first")


def test_damaged_phase_file_is_a_clear_error(tmp_path: Path) -> None:
    """A phase file that is not JSON is an unknown phase, reported with its path and the way
    out (`migrator phase recover`), not as a crash."""
    (tmp_path / ".migrator").mkdir()
    (tmp_path / ".migrator" / "phase.json").write_text("{not json")
    with pytest.raises(PhaseUnknownError, match=r"phase.json is damaged .*phase recover"):
        PhaseState(tmp_path).current()


def test_change_by_another_process_is_noticed_at_the_next_call(tmp_path: Path) -> None:
    """current() re-reads the file when another process replaced it."""
    state = PhaseState(tmp_path)
    assert state.current().phase is Phase.JSON_ONLY
    code = (
        "import sys; from migrator.adapters.phase_state import PhaseState, Phase;"
        "PhaseState(sys.argv[1]).update(lambda r: r.moved(Phase.DUAL_WRITE))"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=60)
    assert state.current().phase is Phase.DUAL_WRITE


def test_journal_intent_without_done_is_pending(tmp_path: Path) -> None:
    """An intent stays pending until its done record; a failure is counted with its time."""
    journal = Journal(tmp_path)
    first = journal.begin("put", "a", "p", Side.JSON, revision_of({"id": "a"}))
    second = journal.begin("delete", "b", "p", Side.SQL, None)
    journal.fail(second, "DatabaseError: down")
    journal.finish([first])
    state = journal.read()
    assert [(p.doc_id, p.op, p.primary, p.error) for p in state.pending] == [
        ("b", "delete", Side.SQL, "DatabaseError: down")
    ]
    assert state.failures == 1
    assert state.last_failure is not None


def test_journal_skips_a_torn_line_and_keeps_later_records(tmp_path: Path) -> None:
    """A record cut short by a crash is skipped; the next append starts on its own line."""
    journal = Journal(tmp_path)
    journal.begin("put", "a", "p", Side.JSON, "r1")
    with journal.path.open("ab") as handle:
        handle.write(b'\n{"kind":"intent","entry":"torn","op":"pu')  # a prefix of an append
    journal.begin("put", "b", "p", Side.JSON, "r2")
    assert [p.doc_id for p in journal.read().pending] == ["a", "b"]


def test_journal_compaction_keeps_pending_and_the_failure_tally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the size limit the journal keeps only pending entries, and still counts failures."""
    monkeypatch.setattr(journal_module, "COMPACT_BYTES", 4096)
    journal = Journal(tmp_path)
    failed = journal.begin("put", "kept", "p", Side.JSON, "r")
    journal.fail(failed, "boom")
    for n in range(100):
        entry = journal.begin("put", f"d{n}", "p", Side.JSON, "r")
        journal.finish([entry])
    assert journal.path.stat().st_size < 4096
    state = journal.read()
    assert [p.doc_id for p in state.pending] == ["kept"]
    assert state.pending[0].error == "boom"
    assert state.failures == 1
    journal.finish([failed])
    journal.compact()
    assert journal.read().failures == 1
    assert journal.read().pending == ()


def test_journal_append_failure_is_a_store_error(tmp_path: Path) -> None:
    """A journal that cannot be written raises StoreError (the write must not go ahead)."""
    blocker = tmp_path / "json"
    blocker.mkdir()
    (blocker / ".migrator").write_text("a file where the state directory should be")
    with pytest.raises(StoreError):
        Journal(blocker).begin("put", "a", "p", Side.JSON, None)


def test_incident_log_is_capped_oldest_first(tmp_path: Path) -> None:
    """The mismatch log keeps its newest entries and counts every incident."""
    log = IncidentLog(tmp_path, cap=8)
    for n in range(30):
        log.record(SHADOW_LOG, "shadow_mismatched", [{"id": f"d{n}", "paths": ["root"]}])
    lines = (tmp_path / ".migrator" / SHADOW_LOG).read_text().splitlines()
    assert len(lines) <= 8 + 8 // 4
    summary = log.summary(recent=3)
    assert [e["id"] for e in summary.recent_mismatches] == ["d27", "d28", "d29"]
    assert summary.counters["shadow_mismatched"] == 30


def test_incident_log_cuts_huge_values(tmp_path: Path) -> None:
    """A megabyte value is logged as a short preview, and big integers do not break it."""
    log = IncidentLog(tmp_path)
    log.record(SHADOW_LOG, "shadow_mismatched", [{"json": "x" * 1_000_000, "sql": 10**30}])
    entry = log.summary().recent_mismatches[-1]
    assert len(entry["json"]) < 2000
    assert entry["sql"] == 10**30


def test_counts_are_saved_on_flush(tmp_path: Path) -> None:
    """Counted outcomes reach the counters file when flushed, for another reader."""
    log = IncidentLog(tmp_path)
    log.count("shadow_matched", 3)
    log.flush()
    assert IncidentLog(tmp_path).summary().counters["shadow_matched"] == 3


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"op": None}, "line 3: intent.op is missing"),
        ({"primary": "mongo"}, "line 3: intent.primary = 'mongo'"),
        ({"time": 5}, "line 3: intent.time = 5"),
    ],
)
def test_a_journal_line_of_the_wrong_shape_is_one_line_exit_2(
    tmp_path: Path, change: dict[str, object], detail: str
) -> None:
    """Issue 15, finding 11: an intent without `op`, `primary: "mongo"`, a time that is no
    timestamp: `repair` and `status` stop with one line naming the journal and the line, not
    a traceback."""
    PhaseState(tmp_path).update(lambda record: record.moved(Phase.DUAL_WRITE))
    journal = Journal(tmp_path)
    journal.begin("put", "a", "p", Side.JSON, "r")
    line = json.loads(journal.path.read_bytes().splitlines()[1])
    line.update(change)
    line = {k: v for k, v in line.items() if v is not None}
    with journal.path.open("ab") as handle:
        handle.write(b"\n" + json.dumps(line).encode())
    with pytest.raises(StateFileError, match=re.escape(f"journal.jsonl: {detail}")):
        journal.read()
    db = str(tmp_path / "none.db")
    for command in ("repair", "status"):
        done = subprocess.run(
            [sys.executable, "-m", "migrator", command, "--json-dir", str(tmp_path), "--db", db],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith(f"error: {journal.path}: {detail}"), done.stderr


def test_journal_compaction_is_bounded_with_many_pending_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, finding 8: with more pending entries than the compaction size (a long outage),
    a write does not rewrite the whole journal each time: compactions happen once per doubling
    of the file (it was every write: 20k pending cost 0.65-1.1 s per put)."""
    monkeypatch.setattr(journal_module, "COMPACT_BYTES", 4096)
    journal = Journal(tmp_path)
    for n in range(100):  # ~25 KB of pending intents, far past the limit
        journal.fail(journal.begin("put", f"d{n}", "p", Side.JSON, "r"), "down")
    compactions = []
    real = Journal._compact_locked

    def counted(self: Journal) -> None:
        compactions.append(self.path.stat().st_size)
        real(self)

    monkeypatch.setattr(Journal, "_compact_locked", counted)
    for n in range(200):
        journal.finish([journal.begin("put", f"e{n}", "p", Side.JSON, "r")])
    assert 1 <= len(compactions) <= 3, compactions
    state = journal.read()
    assert len(state.pending) == 100 and state.failures == 100
