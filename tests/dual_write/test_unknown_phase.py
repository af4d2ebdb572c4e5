"""Issue 15, finding 1: a missing or damaged phase file is an UNKNOWN phase that refuses
writes and reads (never `json-only` by default), and `migrator phase recover` works the phase
out from the history, the journal and the stores, then records it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.adapters.journal import Journal, Side
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.errors import PhaseError, PhaseUnknownError
from migrator.phase_recover import recover_phase
from tests.dual_write.conftest import Env, session


def _walk_to_sqlite_only(env: Env) -> None:
    args = ("--json-dir", str(env.json_dir), "--db", str(env.db))
    steps = [("phase", "set", "dual-write", "--no-snapshot"), ("validate",)]
    steps += [("phase", "set", p, "--no-snapshot") for p in ("sqlite-primary", "sqlite-only")]
    for step in steps:
        done = env.cli(*step, *args)
        assert done.returncode == 0, done.stderr


def test_a_removed_phase_file_in_sqlite_only_is_unknown_until_recovered(env: Env) -> None:
    """The issue's first scenario: the phase file removed in sqlite-only made the store read as
    json-only (get -> None, check advising `import --prune`). Now every read and write is
    refused with the way out, `phase set` too, and `phase recover` brings back sqlite-only."""
    _walk_to_sqlite_only(env)
    phase_file = env.json_dir / ".migrator" / "phase.json"
    phase_file.unlink()
    with env.open() as store:
        with pytest.raises(PhaseUnknownError, match=r"phase recover --json-dir .* --db "):
            store.get("ws-a-0")
        with pytest.raises(PhaseUnknownError):
            store.put("ws-a", session("ws-a-0", 9))
        with pytest.raises(PhaseUnknownError):
            store.delete("ws-a-1")
    args = ("--json-dir", str(env.json_dir), "--db", str(env.db))
    for command in (("status",), ("check",), ("phase", "set", "sqlite-only", "--no-snapshot")):
        done = env.cli(*command, *args)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert done.stderr.startswith("error: the phase is unknown"), done.stderr
        assert "migrator phase recover" in done.stderr and "Traceback" not in done.stderr
    recovered = env.cli("phase", "recover", *args)
    assert recovered.returncode == 0, recovered.stderr
    assert "recovered sqlite-only" in recovered.stdout
    with env.open() as store:
        assert store.phase is Phase.SQLITE_ONLY
        assert store.get("ws-a-0") == session("ws-a-0")


def test_a_store_that_never_moved_is_still_json_only(env: Env) -> None:
    """No state directory, or one holding only locks and a json-only history: json-only."""
    assert PhaseState(env.json_dir).read().phase is Phase.JSON_ONLY
    done = env.cli("validate", "--json-dir", str(env.json_dir), "--db", str(env.db))
    assert done.returncode == 0, done.stderr
    (env.json_dir / ".migrator" / "phase.json").unlink()  # validate recorded its outcome
    assert (env.json_dir / ".migrator" / "history.jsonl").exists()
    with env.open() as store:
        store.put("ws-a", session("ws-a-0", 3))
        assert store.phase is Phase.JSON_ONLY


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ({"phase": "dual-write", "shadow": [0.5]}, "shadow"),
        ({"phase": "mongo"}, "phase"),
        ({"phase": "dual-write", "history": [{"time": "yesterday", "from": "json-only"}]}, "time"),
        ({"phase": "dual-write", "shadow": {"rate": 7}}, "rate"),
    ],
)
def test_a_phase_file_of_the_wrong_shape_is_one_line_naming_the_field(
    env: Env, content: dict[str, object], detail: str
) -> None:
    """Finding 11: `shadow: [0.5]`, an unknown phase, a bad time: one line, exit 2, naming the
    file and the field, instead of a traceback."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    (env.json_dir / ".migrator" / "phase.json").write_text(json.dumps(content))
    done = env.cli("status", "--json-dir", str(env.json_dir), "--db", str(env.db))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert "phase.json is damaged" in done.stderr and detail in done.stderr, done.stderr


def test_recover_takes_the_newest_evidence_and_keeps_the_damaged_file(env: Env) -> None:
    """A damaged file that still names its phase, and a newer journal entry made with SQL
    primary: the newest (sqlite-primary) wins; the damaged file is kept beside the new one."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    phase_file = env.json_dir / ".migrator" / "phase.json"
    damaged = phase_file.read_text().replace('"rate": 0.0', '"rate": "fast"')
    phase_file.write_text(damaged)
    journal = Journal(env.json_dir)
    journal.finish([journal.begin("put", "ws-a-0", "ws-a", Side.SQL, "r")])
    recovery = recover_phase(env.json_dir, env.db, env.schema)
    assert recovery.recorded and recovery.phase is Phase.SQLITE_PRIMARY
    assert [e.phase for e in sorted(recovery.evidence, key=lambda e: e.time)] == [
        Phase.DUAL_WRITE,
        Phase.SQLITE_PRIMARY,
    ]
    record = PhaseState(env.json_dir).read()
    assert record.phase is Phase.SQLITE_PRIMARY and record.last_validation is None
    kept = list(phase_file.parent.glob("phase.json.damaged-*"))
    assert [p.read_text() for p in kept] == [damaged]


def test_recover_asks_when_nothing_tells_and_refuses_against_the_evidence(env: Env) -> None:
    """Both stores hold documents and no state file says a phase: refused, asking for
    phase=...; a phase that the journal contradicts is refused unless forced."""
    (env.json_dir / ".migrator").mkdir(exist_ok=True)  # the seed's partition locks made it
    (env.json_dir / ".migrator" / "phase.json").write_text("garbage")
    with pytest.raises(
        PhaseError, match=r"cannot tell the phase.*with phase=\.\.\. saying"
    ) as asked:
        recover_phase(env.json_dir, env.db, env.schema)
    assert "--" not in str(asked.value)
    recovery = recover_phase(env.json_dir, env.db, env.schema, phase="dual-write")
    assert recovery.phase is Phase.DUAL_WRITE
    (env.json_dir / ".migrator" / "phase.json").unlink()
    Journal(env.json_dir).begin("put", "ws-a-0", "ws-a", Side.SQL, "r")
    with pytest.raises(PhaseError, match=r"cannot record json-only: the journal"):
        recover_phase(env.json_dir, env.db, env.schema, phase="json-only")
    forced = recover_phase(env.json_dir, env.db, env.schema, phase="json-only", force=True)
    assert forced.phase is Phase.JSON_ONLY


def test_recover_takes_the_asked_for_phase_when_the_stores_rule_the_evidence_out(
    env: Env,
) -> None:
    """Found by the operator-chaos test: in sqlite-only, the history damaged and the journal's
    newest write made in sqlite-primary; recover refuses that evidence (the JSON files are
    archived) and asks for --phase. `--phase sqlite-only` was then refused by the same vetoed
    journal entry, leaving only --force; now the evidence the stores rule out refuses nothing."""
    _walk_to_sqlite_only(env)
    journal = Journal(env.json_dir)
    journal.finish([journal.begin("put", "ws-a-0", "ws-a", Side.SQL, "r")])
    state = env.json_dir / ".migrator"
    (state / "history.jsonl").write_bytes(b"{")
    (state / "phase.json").write_text("garbage")
    with pytest.raises(PhaseError, match=r"newest write says sqlite-primary.*phase=\.\.\."):
        recover_phase(env.json_dir, env.db, env.schema)
    recovery = recover_phase(env.json_dir, env.db, env.schema, phase="sqlite-only")
    assert recovery.recorded and recovery.phase is Phase.SQLITE_ONLY
    (state / "phase.json").write_text("garbage")
    with pytest.raises(PhaseError, match=r"cannot record dual-write: dual-write reads the JSON"):
        recover_phase(env.json_dir, env.db, env.schema, phase="dual-write")


def test_an_unknown_phase_is_never_overwritten_with_json_only(env: Env) -> None:
    """Recording shadow settings on an unknown phase is refused, and a validation is not
    recorded (a warning says why): either would have written a fresh phase file in json-only."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    (env.json_dir / ".migrator" / "phase.json").unlink()
    Journal(env.json_dir).begin("put", "ws-a-0", "ws-a", Side.JSON, "r")
    args = ("--json-dir", str(env.json_dir))
    done = env.cli("phase", "configure", "--shadow-rate", "0.5", *args)
    assert done.returncode == 2 and "phase is unknown" in done.stderr
    done = env.cli("validate", *args, "--db", str(env.db))
    assert done.returncode == 0
    assert done.stderr.startswith("warning: validation not recorded in the phase state: the phase")
    assert not (env.json_dir / ".migrator" / "phase.json").exists()


def test_recover_on_a_sound_phase_file_changes_nothing(env: Env) -> None:
    env.set_phase_raw(Phase.DUAL_WRITE)
    before = (env.json_dir / ".migrator" / "phase.json").read_bytes()
    recovery = recover_phase(env.json_dir, env.db, env.schema)
    assert not recovery.recorded and recovery.phase is Phase.DUAL_WRITE
    assert (env.json_dir / ".migrator" / "phase.json").read_bytes() == before


def test_history_of_another_phase_makes_a_missing_file_unknown(tmp_path: Path) -> None:
    """The history line a CLI run left (phase after: dual-write) is enough to know the store
    left json-only."""
    state = tmp_path / ".migrator"
    state.mkdir()
    line = {"command": "phase set", "started_at": "2026-01-01T00:00:00+00:00", "outcome": "ok"}
    line |= {"phase_before": "json-only", "phase_after": "dual-write"}
    (state / "history.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(PhaseUnknownError, match="history records phase dual-write"):
        PhaseState(tmp_path).current()
