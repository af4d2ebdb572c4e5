"""Phase moves: forward one guarded step at a time, back to any earlier phase losing nothing.

Forward guards (what `--force` overrides, recording a warning in the phase state):

- `dual-write`: the database is reachable and has the schema's tables (created here); it may
  still be empty, since the import runs in `dual-write`, beside the application's writes.
- `sqlite-primary`: a recorded validation that is clean, covers the whole store, and began
  after the move into `dual-write` and after the last recorded write failure; no pending
  repairs.
- `sqlite-only`: no pending repairs and a fresh, clean validation (run here, each difference
  re-read under its partition lock before it counts); then the JSON store is archived
  (`migrator.archive`) and its originals removed.

A move is made under the phase lock, and each new phase is followed by `wait_for_writers`:
every write begun under the old phase has finished before anything that depends on the new
one (archiving, rebuilding JSON) starts. Moving back from a phase where SQL is primary first
(from `sqlite-only`) enters `sqlite-primary` so that writers keep JSON up to date again, then
repairs the journal and rewrites every JSON partition that differs from SQL, and only then
enters the target phase.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migrator import hints
from migrator.adapters.dialects import redacted
from migrator.adapters.dual_write import wait_for_writers
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseRecord, PhaseState, ValidationRecord
from migrator.adapters.sql_store import SqlStore
from migrator.archive import ArchiveResult, archive_json_store, archived_modes
from migrator.errors import PhaseError, UsageError
from migrator.journal_replay import RepairReport, replay_journal
from migrator.phase_guards import DATABASE_READY, Guard, guards_for
from migrator.schemas.declaration import Schema
from migrator.schemas.decoding import unencodable
from migrator.schemas.jsontext import JsonEncodeError, dumps_pretty
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhaseChange:
    """What `set_phase` did."""

    from_phase: Phase
    to_phase: Phase
    forced: bool = False
    warning: str | None = None
    guards: tuple[Guard, ...] = ()
    #: JSON partitions rewritten from SQL on the way back.
    rebuilt: tuple[str, ...] = ()
    repair: RepairReport | None = None
    validation: ValidationRecord | None = None
    archive: ArchiveResult | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.from_phase.value,
            "to": self.to_phase.value,
            "forced": self.forced,
            "warning": self.warning,
            "guards": [g.to_dict() for g in self.guards],
            "rebuilt": list(self.rebuilt),
            "repair": None if self.repair is None else self.repair.to_dict(),
            "validation": None if self.validation is None else self.validation.to_dict(),
            "archive": None if self.archive is None else str(self.archive.archive),
            "notes": list(self.notes),
        }


def read_phase(json_dir: Path | str, db: str | Path | None = None) -> PhaseRecord:
    """The phase state of the stores at `json_dir` (json-only when none was ever set;
    `PhaseUnknownError` when it cannot be known, its hint naming `db`)."""
    return PhaseState(json_dir, db_hint="DB" if db is None else redacted(db)).read()


def configure_shadow(
    json_dir: Path | str, *, rate: float | None = None, ignore_paths: Sequence[str] | None = None
) -> PhaseRecord:
    """Set the shadow-read sampling rate and/or the paths allowed to differ."""
    if rate is not None and not 0.0 <= rate <= 1.0:
        raise UsageError(f"rate must be between 0 and 1, got {rate}", parameters=["rate"])
    if ignore_paths is not None:
        from migrator.schemas.comparison import compile_ignore_paths

        compile_ignore_paths(ignore_paths)  # a bad pattern is a usage error now, not at a read

    def change(state: PhaseRecord) -> PhaseRecord:
        return replace(
            state,
            shadow_rate=state.shadow_rate if rate is None else rate,
            ignore_paths=state.ignore_paths if ignore_paths is None else tuple(ignore_paths),
        )

    return PhaseState(json_dir).update(change)


def check_move(
    json_dir: Path | str, db: str | Path, schema: str | Schema, target: Phase | str
) -> tuple[Guard, ...]:
    """The guards of entering `target` from the current phase, each checked now (entering
    `sqlite-only` runs a validation) without creating the database or its tables. Moving back
    has no guards."""
    schema, target = resolve(schema), Phase.parse(target) if isinstance(target, str) else target
    record = PhaseState(json_dir, db_hint=redacted(db)).read()
    guards, _ = guards_for(Path(json_dir), db, schema, record, target, create=False)
    return guards


def set_phase(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema,
    target: Phase | str,
    *,
    force: bool = False,
) -> PhaseChange:
    """Move the stores at `json_dir` and `db` to `target` (see the module docstring)."""
    schema = resolve(schema)
    target = Phase.parse(target) if isinstance(target, str) else target
    root = Path(json_dir)
    state = PhaseState(root, db_hint=redacted(db))
    with state.lock():
        record = state.read()
        current = record.phase
        if target is current:
            return _stay(root, schema, current)
        if target.rank > current.rank + 1:
            step = list(Phase)[current.rank + 1]
            first = hints.command(f"phase set {step}", json_dir=root, db=db, schema=schema)
            raise PhaseError(
                f"cannot move from {current} to {target}: one step at a time; run `{first}` first"
            )
        move = _Move(root, db, schema, state, record, target)
        return _forward(move, force) if target.rank > current.rank else _backward(move)


# --------------------------------------------------------------------------- forward


@dataclass(frozen=True)
class _Move:
    """A move under way: the stores, their phase state as read under its lock, the target."""

    root: Path
    db: str | Path
    schema: Schema
    state: PhaseState
    record: PhaseRecord
    target: Phase


def _forward(move: _Move, force: bool) -> PhaseChange:
    guards, validation = guards_for(move.root, move.db, move.schema, move.record, move.target)
    failed = [g for g in guards if not g.passed]
    warning = None
    if failed:
        reasons = "; ".join(f"{g.detail} (run: {g.fix})" if g.fix else g.detail for g in failed)
        if any(g.name == DATABASE_READY for g in failed):
            # No --force: dual writes into a database that cannot take them would all fail.
            raise PhaseError(f"cannot enter {move.target}: {reasons}")
        if not force:
            raise PhaseError(
                f"cannot enter {move.target}: {reasons}; or pass force=True",
                parameters=["force=True"],
            )
        warning = f"forced into {move.target} although: {reasons}"
        logger.warning("%s", warning)
    move.state.write(move.state.read().moved(move.target, forced=bool(failed), warning=warning))
    wait_for_writers(move.root)
    archive = _archive(move.root, move.schema) if move.target is Phase.SQLITE_ONLY else None
    notes: tuple[str, ...] = ()
    stores = hints.Stores(move.root, move.db, move.schema)
    if move.target is Phase.DUAL_WRITE:
        notes = (
            f"next: {stores.command('import')} copies into SQL what "
            "it lacks (everything, or what changed since an earlier import), beside the "
            "application's writes",
        )
    elif move.target is Phase.SQLITE_PRIMARY:
        notes = (
            f"next: {stores.command('check')} until it says READY, then "
            f"{stores.command('phase set sqlite-only')} (validates afresh, then "
            "archives the JSON files)",
        )
    return PhaseChange(
        move.record.phase,
        move.target,
        forced=bool(failed),
        warning=warning,
        guards=guards,
        validation=validation,
        archive=archive,
        notes=notes,
    )


def _archive(root: Path, schema: Schema) -> ArchiveResult | None:
    store = JsonStore(root, schema)
    if not store.partitions():
        return None
    return archive_json_store(store)


def _stay(root: Path, schema: Schema, phase: Phase) -> PhaseChange:
    """Setting the current phase again: nothing to do, except finishing an archive that an
    interrupted move into `sqlite-only` left undone."""
    if phase is Phase.SQLITE_ONLY:
        archive = _archive(root, schema)
        if archive is not None:
            return PhaseChange(phase, phase, archive=archive, notes=("archived the JSON store",))
    return PhaseChange(phase, phase, notes=(f"already in {phase}",))


# --------------------------------------------------------------------------- backward


def _backward(move: _Move) -> PhaseChange:
    notes: list[str] = []
    repaired: RepairReport | None = None
    rebuilt: tuple[str, ...] = ()
    if move.record.phase.sql_is_primary:
        if move.record.phase is Phase.SQLITE_ONLY:
            move.state.write(move.state.read().moved(Phase.SQLITE_PRIMARY))
            wait_for_writers(move.root)
            notes.append("entered sqlite-primary first: writers keep JSON too while it is rebuilt")
        repaired = replay_journal(JsonStore(move.root, move.schema), move.db)
        rebuilt = rebuild_json(JsonStore(move.root, move.schema), move.db, move.schema)
        notes.append(f"rebuilt {len(rebuilt)} JSON partition(s) from SQL")
    if move.state.read().phase is not move.target:
        move.state.write(move.state.read().moved(move.target))
        wait_for_writers(move.root)
        if move.target is Phase.JSON_ONLY:
            # From here writes reach JSON alone, and one could bring a file back to the exact
            # bytes of its import mark while SQL kept a later version: with no marks, the next
            # import reads every file and cannot skip such a partition.
            sql = SqlStore(move.db, move.schema, create=False)
            try:
                sql.forget_marks()
            finally:
                sql.close()
            notes.append("import marks forgotten: the next import reads every file")
        if move.record.phase.sql_is_primary:
            # A JSON write that failed between the rebuild and the move is repaired now.
            late = replay_journal(JsonStore(move.root, move.schema), move.db)
            if late.actions and repaired is not None:
                repaired = replace(repaired, actions=repaired.actions + late.actions)
    return PhaseChange(
        move.record.phase, move.target, repair=repaired, rebuilt=rebuilt, notes=tuple(notes)
    )


def rebuild_json(json_store: JsonStore, db: str | Path, schema: Schema) -> tuple[str, ...]:
    """Rewrite every JSON partition whose bytes differ from SQL's documents in the legacy
    format, each under its partition lock; a partition SQL no longer has becomes `[]`. The
    partitions rewritten."""
    sql = SqlStore(db, schema, create=False)
    rewritten = []
    modes = archived_modes(json_store)  # a file the archive removed comes back as it was
    try:
        in_sql = set(sql.partitions())
        for partition in sorted(in_sql | set(json_store.partitions())):
            with json_store.lock(partition):
                docs = sql.read_partition(partition) if partition in in_sql else []
                current = json_store.read_bytes(partition)
                if partition not in in_sql and current is None:
                    continue
                try:
                    wanted = dumps_pretty(docs)
                except JsonEncodeError as exc:
                    raise unencodable(schema, docs, exc) from exc
                if current != wanted:
                    mode = modes.get(f"{partition}.json")
                    json_store.write_partition(partition, docs, mode=mode)
                    rewritten.append(partition)
    finally:
        sql.close()
    return tuple(rewritten)
