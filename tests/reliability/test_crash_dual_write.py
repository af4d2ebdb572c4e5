"""The application killed mid-write: a writer process using `migrator.open_store` is SIGKILLed
at every checkpoint of a dual write (before and after each SQL commit and each JSON rename, and
between the two stores) and at random moments, in `dual-write` and in `sqlite-primary`; then
`migrator repair`. Afterwards the validator finds the stores equal, the journal has nothing
pending, every JSON file parses, and each store holds exactly the writes that completed, plus
the one in flight when it was killed or minus it (never half of it, never an older version,
no document lost or duplicated). Some repairs are killed too, and run again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator.adapters.journal import Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.schemas.codec import to_rows
from migrator.schemas.declaration import Schema
from tests.reliability import tally
from tests.reliability.harness import (
    KillPoint,
    Outcome,
    cli,
    documents,
    duplicated,
    lost,
    migrator,
    order,
    run_all,
    run_child,
    unparsable_files,
    validation,
)
from tests.reliability.workload import initial, model_after, plan
from tests.writers import writer_command

#: Operations per writer: enough that every checkpoint is reached a dozen times.
OPERATIONS = 40
CHECKPOINTS = (
    "json.before_rename",
    "json.after_rename",
    "sql.before_commit",
    "sql.after_commit",
    "dual.between_writes",
    "dual.staged",
)


@dataclass(frozen=True)
class Scenario:
    phase: Phase
    point: KillPoint
    seed: int
    #: Kill the first repair too, at this checkpoint, before the repair that must succeed.
    repair_crash: str | None = None

    @property
    def label(self) -> str:
        extra = f", repair killed at {self.repair_crash}" if self.repair_crash else ""
        return f"{self.phase} killed at {self.point.label} (seed {self.seed}{extra})"


def _prepare(root: Path, schema: Schema, phase: Phase) -> tuple[Path, Path]:
    """Both stores holding the workload's initial documents, in `phase`."""
    json_dir, db = root / "json", root / "sessions.db"
    root.mkdir(exist_ok=True)
    json_store = JsonStore(json_dir, schema)
    sql = SqlStore(db, schema)
    try:
        sql.init_schema()
        for partition, docs in initial().items():
            json_store.write_partition(partition, docs)
            rows = [to_rows(schema, partition, doc, i) for i, doc in enumerate(docs)]
            sql.write_partitions([PartitionWrite(partition, rows)])
    finally:
        sql.close()
    PhaseState(json_dir).update(lambda record: record.moved(phase))
    return json_dir, db


def _kill_writer(root: Path, scenario: Scenario, schema: Schema) -> Outcome:
    json_dir, db = _prepare(root, schema, scenario.phase)
    ready = root / "ready"
    writer = writer_command("workload", json_dir, db, scenario.seed, OPERATIONS, ready)
    return run_child(writer, scenario.point, ready=ready.exists)


def _recover_and_check(root: Path, scenario: Scenario, outcome: Outcome, schema: Schema) -> str:
    """Repair, then every check; '' when all hold, else what failed."""
    json_dir, db = root / "json", root / "sessions.db"
    if not outcome.killed and outcome.returncode != 0:
        return f"writer failed on its own (exit {outcome.returncode}): {outcome.stderr[-1500:]}"
    done = outcome.stdout.count("done ")
    store_args = ("--json-dir", str(json_dir), "--db", str(db))
    if scenario.repair_crash:
        repair = run_child(cli("repair", *store_args), KillPoint(scenario.repair_crash))
        if repair.killed:
            tally.kill_survived("repair")
        elif repair.returncode != 0:
            return f"repair failed: {repair.stdout} {repair.stderr[-1500:]}"
    code, output = migrator("repair", *store_args)
    if code != 0:
        return f"repair exit {code}: {output}"
    problems = []
    report = validation(json_dir, db, schema)
    if not report.ok:
        problems.append(f"validation: {report.to_dict()['counts']}")
    if Journal(json_dir).read().pending:
        problems.append("journal still pending after repair")
    problems += unparsable_files(json_dir)
    ops = plan(scenario.seed, OPERATIONS)
    candidates = [model_after(ops, n) for n in {done, min(done + 1, len(ops))}]
    stores = {"json": JsonStore(json_dir, schema), "sql": SqlStore(db, schema, create=False)}
    try:
        for side, store in stores.items():
            found = documents(store)
            problems += [f"{side}: {i} stored twice" for i in duplicated(found)]
            missing = min(
                (lost(model.documents(), found) for model in candidates), key=lambda m: len(m)
            )
            extra = set(found) - {i for model in candidates for i in model.documents()}
            tally.documents_lost(len(missing))
            problems += [f"{side}: {i} lost or not its last version" for i in missing]
            problems += [f"{side}: {i} never written" for i in sorted(extra)]
            stored_order = {p: ids for p, ids in order(store).items() if ids}
            if all(stored_order != model.order() for model in candidates):
                problems.append(f"{side}: order {stored_order} is no model's")
    finally:
        stores["sql"].close()
    if outcome.killed:
        tally.kill_survived("dual-write")
    return "; ".join(problems)


def _scenarios(soak: bool, rng: random.Random) -> list[Scenario]:
    phases = (Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY)
    nths = (1, 3, 7, 12) if soak else (None,)
    found = []
    for phase in phases:
        repair_target = "sql.before_commit" if phase is Phase.DUAL_WRITE else "json.before_rename"
        for index, name in enumerate(CHECKPOINTS):
            for nth in nths:
                n = nth if nth is not None else 2 + (index * 3 + phase.rank) % 6
                crash_repair = f"{repair_target}:1" if (index + n) % 4 == 0 else None
                found.append(
                    Scenario(phase, KillPoint(f"{name}:{n}"), rng.randrange(10**6), crash_repair)
                )
        for _ in range(8 if soak else 1):
            point = KillPoint(delay=rng.uniform(0.02, 0.5))
            found.append(Scenario(phase, point, rng.randrange(10**6)))
    return found


def test_writer_killed_anywhere_then_repair_loses_nothing(
    tmp_path: Path, sessions_schema: Schema, soak: bool
) -> None:
    """Every kill point of a dual write, in both dual phases: repair leaves equal stores holding
    exactly the completed writes (and the one in flight, whole or not at all)."""
    seed = random.randrange(10**6)
    scenarios = _scenarios(soak, random.Random(seed))
    roots = [tmp_path / f"s{n}" for n in range(len(scenarios))]
    outcomes = run_all(
        [
            (lambda root=root, s=s: _kill_writer(root, s, sessions_schema))
            for root, s in zip(roots, scenarios, strict=True)
        ]
    )
    failures = []
    for root, scenario, outcome in zip(roots, scenarios, outcomes, strict=True):
        problem = _recover_and_check(root, scenario, outcome, sessions_schema)
        if problem:
            failures.append(f"{scenario.label}: {problem}")
    killed = sum(o.killed for o in outcomes)
    print(f"dual-write kill points: {killed} of {len(scenarios)} scenarios killed (seed {seed})")
    assert not failures, "\n".join(failures)
    assert killed >= (40 if soak else 10), f"only {killed} writers were killed (seed {seed})"


@pytest.mark.parametrize("phase", [Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY])
def test_interrupted_write_is_pending_until_repaired(
    tmp_path: Path, sessions_schema: Schema, phase: Phase
) -> None:
    """Killed between the two stores, the write is in the journal (the intent was fsynced
    before the primary was touched), and only the primary has it until repair copies it."""
    scenario = Scenario(phase, KillPoint("dual.between_writes:5"), seed=7)
    outcome = _kill_writer(tmp_path, scenario, sessions_schema)
    assert outcome.killed, outcome.stderr
    json_dir, db = tmp_path / "json", tmp_path / "sessions.db"
    pending = Journal(json_dir).read().pending
    assert len(pending) == 1
    op = plan(scenario.seed, OPERATIONS)[outcome.stdout.count("done ")]
    assert (pending[0].doc_id, pending[0].op) == (op.doc_id, op.kind)
    assert not validation(json_dir, db, sessions_schema).ok
    assert _recover_and_check(tmp_path, scenario, outcome, sessions_schema) == ""
