"""The guards of a forward phase move: what must hold before the stores enter a phase, each
checked now, with what to run when it does not (the module docstring of `migrator.phases`
lists them), and the recorded validation the `sqlite-primary` guard reads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from migrator import hints
from migrator.adapters.journal import Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import (
    Phase,
    PhaseRecord,
    PhaseState,
    ValidationRecord,
    now,
    parse_time,
    timestamp,
)
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.store_identity import mirrored_store, record_identity
from migrator.db_probe import database_problem
from migrator.errors import MigratorError
from migrator.journal_replay import settled_pending
from migrator.schemas.declaration import Schema
from migrator.validator import ValidationReport, validate

#: The guard of entering dual-write that --force cannot pass: the database must take writes.
DATABASE_READY = "database ready"


@dataclass(frozen=True)
class Guard:
    """One condition of entering a phase: whether it holds, why not, and what to run."""

    name: str
    passed: bool
    detail: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail, "fix": self.fix}


def record_validation(
    json_dir: Path | str,
    report: ValidationReport,
    *,
    started: datetime | None = None,
    partial: bool = False,
) -> ValidationRecord:
    """Record a validation's outcome in the phase state (what the `sqlite-primary` guard reads).

    `started` is when the validation began reading; `partial` marks one limited to some
    partitions (like a sampled one, it cannot clear the guard)."""
    record = ValidationRecord(
        time=timestamp(),
        started=None if started is None else timestamp(started),
        ok=report.ok,
        sampled=report.sampled or partial,
        counts=dict(report.counts),
    )
    PhaseState(json_dir).update(lambda state: replace(state, last_validation=record))
    return record


def guards_for(
    root: Path,
    db: str | Path,
    schema: Schema,
    record: PhaseRecord,
    target: Phase,
    *,
    create: bool = True,
) -> tuple[tuple[Guard, ...], ValidationRecord | None]:
    if target.rank <= record.phase.rank:
        return (), None
    if target is Phase.DUAL_WRITE and not create:
        problem = database_problem(db, schema)
        detail = "" if problem is None else f"the database cannot be used: {problem}"
        return (Guard(DATABASE_READY, problem is None, detail),), None
    if target is Phase.DUAL_WRITE:
        return _database_guards(root, db, schema), None
    pending = _pending_guard(root, schema, db)
    if target is Phase.SQLITE_PRIMARY:
        return (*_validation_guards(root, db, schema, record), pending), None
    fresh = _fresh_validation(root, db, schema, record)
    guard = Guard(
        "fresh validation clean",
        fresh.ok,
        "" if fresh.ok else f"a fresh validation found differences ({_findings(fresh)})",
        # SQL is primary here, so an import (JSON -> SQL) is refused: repair, or go back.
        f"{validate_command(root, db, schema)} to see them, then "
        f"{hints.command('repair', json_dir=root, db=db, schema=schema)}; or move back to "
        "dual-write and catch up with `migrator import`",
    )
    return (pending, guard), fresh


def _database_guards(root: Path, db: str | Path, schema: Schema) -> tuple[Guard, ...]:
    """Entering dual-write needs the tables, not the documents: the import runs in dual-write.
    The database must not mirror another JSON store (`migrator.adapters.store_identity`): the
    application's writes would mix two stores in it. It carries this store's identity after."""
    sql = SqlStore(db, schema)
    try:
        try:
            other = mirrored_store(root, sql)
            if other is not None:
                detail = (
                    f"the database mirrors another JSON store ({other}): give this store's own "
                    "database (a forced import would make it mirror this one, its other "
                    "documents gone)"
                )
                return (Guard(DATABASE_READY, False, detail),)
            sql.init_schema()
            sql.count()
            record_identity(root, sql)
        except MigratorError as exc:
            return (Guard(DATABASE_READY, False, f"the database cannot be used: {exc}"),)
    finally:
        sql.close()
    return (Guard(DATABASE_READY, True),)


def _validation_guards(
    root: Path, db: str | Path, schema: Schema, record: PhaseRecord
) -> tuple[Guard, ...]:
    run = validate_command(root, db, schema)
    last = record.last_validation
    if last is None:
        return (Guard("validation recorded", False, "no validation was recorded", run),)
    guards = [
        Guard(
            "validation clean",
            last.ok and not last.sampled,
            "" if last.ok else f"the last validation found differences ({_findings(last)})",
            f"{catch_up_commands(root, db, schema)}, then {run}",
        )
    ]
    if last.sampled:
        guards[0] = Guard(
            "validation clean", False, "the last validation covered only part of the store", run
        )
    entered = record.entered_at()
    if entered is not None:
        newer = last.as_of > entered
        detail = f"the last validation ({last.time}) is older than the move into {record.phase}"
        guards.append(Guard("validated in this phase", newer, "" if newer else detail, run))
    failure = Journal(root).read().last_failure
    if failure is not None:
        newer = last.as_of > parse_time(failure)
        detail = f"a write failed at {failure}, after the last validation ({last.time})"
        guards.append(
            Guard(
                "validated after the last write failure",
                newer,
                "" if newer else detail,
                f"{hints.command('repair', json_dir=root, db=db, schema=schema)}, then {run}",
            )
        )
    return tuple(guards)


def catch_up_commands(root: Path, db: str | Path, schema: Schema | str | None = None) -> str:
    """What brings SQL level with JSON in `dual-write`: the journal's writes, then the files
    changed since their import (what the application wrote before `dual-write`)."""
    return (
        f"{hints.command('repair', json_dir=root, db=db, schema=schema)}, "
        f"{hints.command('import', '--prune', json_dir=root, db=db, schema=schema)}"
    )


def _pending_guard(root: Path, schema: Schema, db: str | Path) -> Guard:
    pending = settled_pending(JsonStore(root, schema), Journal(root))
    n = len({p.doc_id for p in pending})
    detail = f"{n} document(s) have writes that reached only one store"
    return Guard(
        "no pending repairs",
        n == 0,
        "" if n == 0 else detail,
        hints.command("repair", json_dir=root, db=db, schema=schema),
    )


def _fresh_validation(
    root: Path, db: str | Path, schema: Schema, record: PhaseRecord
) -> ValidationRecord:
    json_store = JsonStore(root, schema)
    sql = SqlStore(db, schema, create=False)
    try:
        started = now()
        # The application keeps writing: a difference is re-read once under its partition's
        # write lock (held across both stores by a dual write), so only one that outlasts the
        # write in flight refuses the move. Every document is still compared (no min-age).
        report = validate(
            json_store, sql, ignore_paths=record.ignore_paths, recheck=True, recheck_delay=0
        )
    finally:
        sql.close()
    return record_validation(root, report, started=started)


def _findings(validation: ValidationRecord) -> str:
    keys = ("missing_in_sqlite", "missing_in_json", "mismatched", "invalid_in_json")
    return ", ".join(f"{k} {validation.counts[k]}" for k in keys if validation.counts.get(k))


def validate_command(root: Path, db: str | Path, schema: Schema | str | None = None) -> str:
    return hints.command("validate", json_dir=root, db=db, schema=schema)
