"""Phase moves: guarded forward steps, forced moves, moves back that lose nothing, and a
workload walked through every phase and back with the stores agreeing at each step."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator import repair
from migrator.adapters.dual_write import DualWriteStore
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import SqlStore
from migrator.errors import PhaseError
from migrator.importer import import_store
from migrator.phase_guards import record_validation
from migrator.phases import check_move, set_phase
from migrator.schemas.registry import resolve
from migrator.status_report import status
from tests.databases import on_both
from tests.dual_write.conftest import FIXTURE_STORE, Env, session


def _validate_and_record(env: Env) -> None:
    report = env.validate()
    assert report.ok, report.to_dict()
    record_validation(env.json_dir, report)


def _to(env: Env, phase: Phase | str, **kwargs: bool) -> None:
    set_phase(env.json_dir, env.db, env.schema, phase, **kwargs)


def test_entering_dual_write_needs_the_tables_not_an_import(env: Env, tmp_path: Path) -> None:
    """An empty database is allowed (the import runs in dual-write): the tables are created,
    nothing is forced, and the move's note says to import."""
    empty = tmp_path / "empty.db"
    change = set_phase(env.json_dir, empty, env.schema, "dual-write")
    assert not change.forced and change.warning is None
    assert change.notes == (
        f"next: migrator import --json-dir {env.json_dir} --db {empty} copies into SQL what it "
        "lacks (everything, or what changed since an earlier import), beside the application's "
        "writes",
    )
    move = PhaseState(env.json_dir).read().history[-1]
    assert (move.to_phase, move.forced) == (Phase.DUAL_WRITE, False)
    sql = SqlStore(empty, env.schema, create=False)
    assert sql.count() == 0
    sql.close()


def test_skipping_a_phase_is_refused_even_forced(env: Env) -> None:
    """Forward moves go one step at a time."""
    with pytest.raises(PhaseError, match=r"one step at a time.*phase set dual-write"):
        _to(env, "sqlite-primary", force=True)
    assert PhaseState(env.json_dir).read().phase is Phase.JSON_ONLY


@on_both
def test_sqlite_primary_needs_a_validation_recorded_in_dual_write(env: Env) -> None:
    """A validation from before the move into dual-write does not count."""
    _validate_and_record(env)
    _to(env, "dual-write")
    with pytest.raises(PhaseError, match="older than the move into dual-write"):
        _to(env, "sqlite-primary")
    _validate_and_record(env)
    _to(env, "sqlite-primary")
    assert PhaseState(env.json_dir).read().phase is Phase.SQLITE_PRIMARY


def test_sqlite_primary_refused_without_validation_and_with_pending_repairs(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """No validation and a write that reached one store: both reasons and their fixes shown."""
    _to(env, "dual-write")
    failing(SqlStore, "put")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 2))
    monkeypatch.undo()
    with pytest.raises(PhaseError) as refused:
        _to(env, "sqlite-primary")
    message = str(refused.value)
    assert "no validation was recorded (run: migrator validate" in message
    assert "1 document(s) have writes that reached only one store (run: migrator repair" in message
    guards = {
        g.name: g.passed for g in check_move(env.json_dir, env.db, env.schema, "sqlite-primary")
    }
    assert guards == {"validation recorded": False, "no pending repairs": False}


def test_a_write_failure_after_the_validation_blocks_sqlite_primary(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """A clean validation older than the last write failure is not enough, even repaired."""
    _to(env, "dual-write")
    _validate_and_record(env)
    failing(SqlStore, "put")
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 2))
    monkeypatch.undo()
    assert repair(env.json_dir, env.db, snapshot=False).ok
    with pytest.raises(PhaseError, match=r"a write failed at .* after the last validation"):
        _to(env, "sqlite-primary")
    _validate_and_record(env)
    _to(env, "sqlite-primary")


def test_a_sampled_validation_does_not_clear_the_guard(env: Env) -> None:
    """Only a validation of the whole store lets SQL become primary."""
    _to(env, "dual-write")
    sql = SqlStore(env.db, env.schema, create=False)
    from migrator.validator import validate

    report = validate(env.json_store(), sql, sample=3)
    sql.close()
    record_validation(env.json_dir, report)
    with pytest.raises(PhaseError, match="covered only part of the store"):
        _to(env, "sqlite-primary")


def test_sqlite_only_refused_when_a_fresh_validation_differs(env: Env) -> None:
    """The move to sqlite-only validates afresh; a difference refuses it and nothing is archived."""
    _to(env, "dual-write")
    _validate_and_record(env)
    _to(env, "sqlite-primary")
    sql = env.sql_store()
    sql.delete("ws-b-1")
    sql.close()
    with pytest.raises(
        PhaseError, match=r"fresh validation found differences.*missing_in_sqlite 1"
    ):
        _to(env, "sqlite-only")
    assert sorted(p.name for p in env.json_dir.glob("*.json")) == [
        "ws-a.json",
        "ws-b.json",
        "ws-c.json",
    ]
    assert PhaseState(env.json_dir).read().last_validation is not None


@on_both
def test_sqlite_only_archives_and_moving_back_rebuilds_json_exactly(fixture_env: Env) -> None:
    """The JSON files are archived, then regenerated byte for byte from SQL on the way back."""
    env = fixture_env
    originals = {p.name: p.read_bytes() for p in FIXTURE_STORE.glob("*.json")}
    _to(env, "dual-write")
    _validate_and_record(env)
    _to(env, "sqlite-primary")
    change = set_phase(env.json_dir, env.db, env.schema, "sqlite-only")
    assert change.archive is not None and change.archive.archive.exists()
    assert change.validation is not None and change.validation.ok
    assert list(env.json_dir.glob("*.json")) == []
    back = set_phase(env.json_dir, env.db, env.schema, "dual-write")
    assert sorted(back.rebuilt) == sorted(n.removesuffix(".json") for n in originals)
    assert {p.name: p.read_bytes() for p in env.json_dir.glob("*.json")} == originals
    history = [(m.from_phase, m.to_phase) for m in PhaseState(env.json_dir).read().history]
    assert history[-2:] == [
        (Phase.SQLITE_ONLY, Phase.SQLITE_PRIMARY),
        (Phase.SQLITE_PRIMARY, Phase.DUAL_WRITE),
    ]


def test_setting_the_current_phase_is_a_no_op(env: Env) -> None:
    """Asking for the phase the stores are in changes nothing."""
    change = set_phase(env.json_dir, env.db, env.schema, "json-only")
    assert change.from_phase is change.to_phase is Phase.JSON_ONLY
    assert PhaseState(env.json_dir).read().history == ()


def _workload(store: DualWriteStore, step: int) -> None:
    """Writes of every kind: a new document, an update, a delete, an edge-case document."""
    store.put("ws-new", session(f"new-{step}", step))
    first = store.list("3f2a9c1e7b6d4a10")[0]
    store.put("3f2a9c1e7b6d4a10", {**first, "task": f"updated at step {step}", "n": 10**25})
    victim = store.list("8c1d2e3f4a5b6c7d")[-1]
    assert store.delete(victim["id"])


@on_both
def test_workload_through_every_phase_and_back(fixture_env: Env) -> None:
    """Writes in each phase, forward to sqlite-only and back to json-only: the stores agree
    in every phase that writes both, and the application reads what it wrote throughout."""
    env = fixture_env
    phases = [Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY, Phase.SQLITE_ONLY]
    phases += [Phase.SQLITE_PRIMARY, Phase.DUAL_WRITE, Phase.JSON_ONLY]
    with env.open() as store:
        seen = {d["id"]: d for _, d in store.iter_documents()}
        for step, phase in enumerate(phases, start=1):
            if phase is Phase.SQLITE_PRIMARY and store.phase is Phase.DUAL_WRITE:
                _validate_and_record(env)
            _to(env, phase)
            assert store.phase is phase
            assert {d["id"]: d for _, d in store.iter_documents()} == seen
            _workload(store, step)
            seen = {d["id"]: d for _, d in store.iter_documents()}
            if phase.writes_json and phase.writes_sql:
                env.assert_agree()
    assert {d["id"]: d for _, d in env.json_store().iter_documents()} == seen


def test_a_second_process_notices_a_phase_change(env: Env) -> None:
    """A store open here follows a `migrator phase set` run by another process."""
    with env.open() as store:
        store.put("ws-a", session("before", 1))
        moved = env.cli(
            "phase", "set", "dual-write", "--json-dir", str(env.json_dir), "--db", str(env.db)
        )
        assert moved.returncode == 0, moved.stderr
        assert "phase: json-only -> dual-write" in moved.stdout
        assert store.phase is Phase.DUAL_WRITE
        store.put("ws-a", session("after", 1))
    sql_docs = env.documents("sql")
    assert "after" in sql_docs and "before" not in sql_docs


def test_cli_refused_move_is_one_line_and_exit_2(env: Env) -> None:
    """A refused move prints `error: cannot enter ...` with what to run, and exits 2."""
    args = ("--json-dir", str(env.json_dir), "--db", str(env.db))
    assert env.cli("phase", "set", "dual-write", *args).returncode == 0
    refused = env.cli("phase", "set", "sqlite-primary", *args)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: cannot enter sqlite-primary: no validation")
    assert refused.stderr.count("\n") == 1
    validated = env.cli("validate", *args)
    assert validated.returncode == 0, validated.stderr
    assert env.cli("phase", "set", "sqlite-primary", *args).returncode == 0
    shown = json.loads(
        env.cli("phase", "show", "--json-dir", str(env.json_dir), "--format", "json").stdout
    )
    assert shown["phase"] == "sqlite-primary"
    assert shown["last_validation"]["ok"] is True
    assert [m["to"] for m in shown["history"]] == ["dual-write", "sqlite-primary"]


def test_cli_force_prints_the_warning(env: Env) -> None:
    """--force moves anyway and says which guard it overrode."""
    args = ("--json-dir", str(env.json_dir), "--db", str(env.db))
    assert env.cli("phase", "set", "dual-write", *args).returncode == 0
    forced = env.cli("phase", "set", "sqlite-primary", *args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "warning: forced into sqlite-primary although: no validation was recorded" in (
        forced.stderr
    )


def test_cli_configure_sets_rate_and_ignore_paths(env: Env) -> None:
    """`phase configure` records the shadow settings that every store then reads."""
    done = env.cli(
        "phase",
        "configure",
        "--json-dir",
        str(env.json_dir),
        "--shadow-rate",
        "0.1",
        "--ignore-path",
        r"root\['updated_at'\]",
    )
    assert done.returncode == 0, done.stderr
    record = PhaseState(env.json_dir).read()
    assert record.shadow_rate == 0.1
    assert record.ignore_paths == (r"root\['updated_at'\]",)
    bad = env.cli("phase", "configure", "--json-dir", str(env.json_dir), "--ignore-path", "(")
    assert bad.returncode == 2 and "not a regular expression" in bad.stderr


def test_status_summarizes_everything(
    env: Env, monkeypatch: pytest.MonkeyPatch, failing: Callable[[type, str], None]
) -> None:
    """status counts both sides, pending repairs, failures, and shows the last validation."""
    _to(env, "dual-write")
    _validate_and_record(env)
    failing(SqlStore, "put")
    with env.open() as store:
        store.put("ws-a", session("only-in-json", 1))
    monkeypatch.undo()
    report = status(env.json_dir, env.db)
    assert report.phase is Phase.DUAL_WRITE
    assert report.documents == {"json": 13, "sql": 12}
    assert (report.pending_repairs, report.pending_ids, report.write_failures) == (
        1,
        ("only-in-json",),
        1,
    )
    assert report.last_validation is not None and report.last_validation.ok
    printed = env.cli("status", "--json-dir", str(env.json_dir), "--db", str(env.db))
    assert "pending repairs:  1 (only-in-json)" in printed.stdout
    as_json = json.loads(
        env.cli(
            "status", "--json-dir", str(env.json_dir), "--db", str(env.db), "--format", "json"
        ).stdout
    )
    assert as_json["write_failures"] == 1 and as_json["shadow"]["mismatched"] == 0


def test_status_without_a_database_reports_it_unavailable(env: Env, tmp_path: Path) -> None:
    """status never creates the database; a missing one is shown, not fatal."""
    missing = tmp_path / "missing.db"
    report = status(env.json_dir, missing)
    assert report.documents == {"json": 12, "sql": None}
    assert "sql" in report.errors
    assert not missing.exists()


def test_moving_back_to_json_only_forgets_the_import_marks(tmp_path: Path) -> None:
    """After a move back to json-only no partition is skipped as unchanged by the next import:
    a file returned to its marked bytes while SQL kept a dual write's version is re-read."""
    schema = resolve("sessions")
    json_dir = tmp_path / "json"
    shutil.copytree(FIXTURE_STORE, json_dir)
    db = tmp_path / "db.sqlite"
    sql = SqlStore(db, schema)
    import_store(JsonStore(json_dir, schema), sql)
    assert sql.import_marks()
    set_phase(json_dir, db, schema, "dual-write")
    change = set_phase(json_dir, db, schema, "json-only")
    assert sql.import_marks() == {}
    assert any("marks forgotten" in note for note in change.notes)
    sql.close()
