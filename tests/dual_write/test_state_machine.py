"""Hypothesis state machine of the dual-write store: random puts, deletes, phase moves,
secondary stores failing and coming back, and repairs, checked against a plain model (an
ordered dict per partition) after every step."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from migrator import repair
from migrator.adapters.dual_write import DualWriteStore, open_store
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.errors import DatabaseError, StoreError
from migrator.phase_guards import record_validation
from migrator.phases import set_phase
from migrator.schemas.codec import to_rows
from migrator.schemas.registry import resolve
from migrator.validator import validate
from tests.dual_write.conftest import PARTITIONS, session
from tests.soak import examples

SCHEMA = resolve("sessions")
IDS = [f"d{n}" for n in range(6)]


def partition_of(doc_id: str) -> str:
    return PARTITIONS[int(doc_id[1:]) % len(PARTITIONS)]


def _raise_sql(*args: Any, **kwargs: Any) -> Any:
    raise DatabaseError("injected: the database is down")


def _raise_json(*args: Any, **kwargs: Any) -> Any:
    raise StoreError("injected: the disk is full")


#: What "the secondary is down" patches, per secondary store.
BREAKS = {
    "sql": (SqlStore, ("put", "delete"), _raise_sql),
    "json": (JsonStore, ("put", "write_partition"), _raise_json),
}


class DualWriteMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="dual-write-machine-"))
        self.json_dir, self.db = self.tmp / "json", self.tmp / "sessions.db"
        self.json_dir.mkdir()
        sql = SqlStore(self.db, SCHEMA)
        sql.init_schema()
        sql.close()
        self.store: DualWriteStore = open_store(self.json_dir, self.db, SCHEMA)
        self.model: dict[str, dict[str, int]] = {p: {} for p in PARTITIONS}
        self.saved: dict[str, Any] = {}

    # ------------------------------------------------------------------ helpers

    @property
    def phase(self) -> Phase:
        return self.store.phase

    def secondary(self) -> str | None:
        if self.phase is Phase.DUAL_WRITE:
            return "sql"
        if self.phase is Phase.SQLITE_PRIMARY:
            return "json"
        return None

    def heal(self) -> None:
        for (cls, name), original in self.saved.items():
            setattr(cls, name, original)
        self.saved.clear()

    def reimport(self) -> None:
        """What `migrator import` does before dual-write: SQL becomes the JSON store."""
        json_store = JsonStore(self.json_dir, SCHEMA)
        sql = SqlStore(self.db, SCHEMA)
        try:
            for partition in PARTITIONS:
                docs = json_store.list(partition)
                rows = [to_rows(SCHEMA, partition, d, i) for i, d in enumerate(docs)]
                sql.write_partitions([PartitionWrite(partition, rows, sql.ids_in(partition))])
        finally:
            sql.close()

    def validated(self) -> None:
        """Repair, then record a validation that must be clean (what the guards ask for)."""
        report = repair(self.json_dir, self.db, SCHEMA, snapshot=False)
        assert report.ok, report.to_dict()
        sql = SqlStore(self.db, SCHEMA, create=False)
        try:
            validation = validate(JsonStore(self.json_dir, SCHEMA), sql)
        finally:
            sql.close()
        assert validation.ok, validation.to_dict()
        record_validation(self.json_dir, validation)

    # ------------------------------------------------------------------ rules

    @rule(doc_id=st.sampled_from(IDS), version=st.integers(0, 50))
    def put(self, doc_id: str, version: int) -> None:
        partition = partition_of(doc_id)
        self.store.put(partition, session(doc_id, version))
        self.model[partition][doc_id] = version

    @rule(doc_id=st.sampled_from(IDS))
    def delete(self, doc_id: str) -> None:
        partition = partition_of(doc_id)
        assert self.store.delete(doc_id) is (doc_id in self.model[partition])
        self.model[partition].pop(doc_id, None)

    @precondition(lambda self: self.secondary() is not None and not self.saved)
    @rule()
    def secondary_goes_down(self) -> None:
        side = self.secondary()
        assert side is not None
        cls, names, broken = BREAKS[side]
        event(f"{side} down in {self.phase}")
        for name in names:
            self.saved[(cls, name)] = cls.__dict__[name]
            setattr(cls, name, broken)

    @precondition(lambda self: bool(self.saved))
    @rule()
    def secondary_comes_back(self) -> None:
        self.heal()

    @rule()
    def run_repair(self) -> None:
        self.heal()
        report = repair(self.json_dir, self.db, SCHEMA, snapshot=False)
        assert report.ok, report.to_dict()
        if report.actions:
            event("repair replayed pending writes")

    @precondition(lambda self: self.phase is not Phase.SQLITE_ONLY)
    @rule()
    def move_forward(self) -> None:
        self.heal()
        target = list(Phase)[self.phase.rank + 1]
        if target is Phase.DUAL_WRITE:
            self.reimport()
        elif target is Phase.SQLITE_PRIMARY:
            self.validated()
        else:
            assert repair(self.json_dir, self.db, SCHEMA, snapshot=False).ok
        change = set_phase(self.json_dir, self.db, SCHEMA, target)
        assert change.to_phase is target and not change.forced
        event(f"entered {target}")

    @precondition(lambda self: self.phase is not Phase.JSON_ONLY)
    @rule(data=st.data())
    def move_back(self, data: st.DataObject) -> None:
        self.heal()
        target = data.draw(st.sampled_from(list(Phase)[: self.phase.rank]))
        set_phase(self.json_dir, self.db, SCHEMA, target)
        assert PhaseState(self.json_dir).read().phase is target
        event(f"moved back to {target}")

    # ------------------------------------------------------------------ checks

    @invariant()
    def reads_match_the_model(self) -> None:
        for partition in PARTITIONS:
            expected = [session(i, v) for i, v in self.model[partition].items()]
            assert self.store.list(partition) == expected
        for doc_id in IDS:
            version = self.model[partition_of(doc_id)].get(doc_id)
            assert self.store.get(doc_id) == (None if version is None else session(doc_id, version))

    @invariant()
    def both_stores_agree_when_nothing_is_pending(self) -> None:
        if self.phase not in (Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY):
            return
        if self.store.journal.read().pending:
            return
        json_store = JsonStore(self.json_dir, SCHEMA)
        sql = SqlStore(self.db, SCHEMA, create=False)
        try:
            for partition in PARTITIONS:
                assert json_store.list(partition) == sql.list(partition)
        finally:
            sql.close()

    def teardown(self) -> None:
        self.heal()
        self.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


DualWriteMachine.TestCase.settings = settings(
    max_examples=examples(40),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDualWriteMachine = DualWriteMachine.TestCase
