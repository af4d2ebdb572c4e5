"""`migrator status`: where the migration stands, in one value.

The phase and its last move, the documents on each side, what the journal holds (pending
repairs, write failures), what shadow reads and fallback reads saw, the last import and the
last validation. Read-only: it never creates the database nor writes a store; a side that
cannot be read is reported with its error instead of failing the whole status.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.adapters.dialects import redacted
from migrator.adapters.incidents import IncidentLog
from migrator.adapters.journal import Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseMove, PhaseState, ValidationRecord
from migrator.adapters.sql_store import SqlStore
from migrator.errors import DatabaseCorruptError, MigratorError
from migrator.history import read_runs
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

#: How many pending ids and recent mismatches a status lists.
LISTED = 10


@dataclass(frozen=True)
class StatusReport:
    """Everything `migrator status` shows."""

    phase: Phase
    last_move: PhaseMove | None
    documents: dict[str, int | None]
    #: Why a side's count is missing (store -> error).
    errors: dict[str, str]
    pending_repairs: int
    pending_ids: tuple[str, ...]
    write_failures: int
    last_write_failure: str | None
    shadow_rate: float
    ignore_paths: tuple[str, ...]
    incidents: dict[str, int]
    #: The paths most often found differing by shadow reads, with their counts.
    mismatch_paths: tuple[tuple[str, int], ...]
    recent_mismatches: tuple[dict[str, Any], ...]
    last_import: str | None
    imported_partitions: int
    last_validation: ValidationRecord | None
    notes: tuple[str, ...] = field(default=())
    #: What is wrong, not merely unknown (a corrupt database): the command then exits 1.
    problems: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "last_move": None if self.last_move is None else self.last_move.to_dict(),
            "documents": dict(self.documents),
            "errors": dict(self.errors),
            "pending_repairs": self.pending_repairs,
            "pending_ids": list(self.pending_ids),
            "write_failures": self.write_failures,
            "last_write_failure": self.last_write_failure,
            "shadow": {
                "rate": self.shadow_rate,
                "ignore_paths": list(self.ignore_paths),
                "compared": self.incidents.get("shadow_compared", 0),
                "matched": self.incidents.get("shadow_matched", 0),
                "ignored": self.incidents.get("shadow_ignored", 0),
                "mismatched": self.incidents.get("shadow_mismatched", 0),
                "errors": self.incidents.get("shadow_errors", 0),
                "top_paths": [{"path": p, "count": n} for p, n in self.mismatch_paths],
                "recent": list(self.recent_mismatches),
            },
            "fallbacks": self.incidents.get("fallbacks", 0),
            "last_import": self.last_import,
            "imported_partitions": self.imported_partitions,
            "last_validation": None
            if self.last_validation is None
            else self.last_validation.to_dict(),
            "notes": list(self.notes),
            "problems": list(self.problems),
        }


def status(json_dir: Path | str, db: str | Path, schema: str | Schema = "sessions") -> StatusReport:
    """The status of the stores at `json_dir` and `db` (see the module docstring)."""
    schema = resolve(schema)
    root = Path(json_dir)
    record = PhaseState(root, db_hint=redacted(db)).read()
    journal = Journal(root).read()
    summary = IncidentLog(root).summary(recent=200)
    documents: dict[str, int | None] = {"json": None, "sql": None}
    errors: dict[str, str] = {}
    notes: list[str] = []
    try:
        documents["json"] = JsonStore(root, schema).count()
    except MigratorError as exc:
        errors["json"] = str(exc)
    if record.phase is Phase.SQLITE_ONLY:
        notes.append("the JSON store is archived in sqlite-only: its count is not kept")
    last_import, imported = None, 0
    problems: list[str] = []
    try:
        sql = SqlStore(db, schema, create=False)
        try:
            problems += _damage(sql)
            documents["sql"] = sql.count()
            marks = sql.import_marks()
        finally:
            sql.close()
        imported = len(marks)
        times = [m.imported_at for m in marks.values() if m.imported_at]
        last_import = max(times) if times else None
    except DatabaseCorruptError as exc:
        errors["sql"] = str(exc)
        problems.append(str(exc))
    except MigratorError as exc:
        errors["sql"] = str(exc)
    notes += _interrupted_import(root)
    paths = Counter(p for entry in summary.recent_mismatches for p in entry.get("paths", []))
    pending_ids = tuple(dict.fromkeys(p.doc_id for p in journal.pending))
    return StatusReport(
        phase=record.phase,
        last_move=record.history[-1] if record.history else None,
        documents=documents,
        errors=errors,
        pending_repairs=len(pending_ids),
        pending_ids=pending_ids[:LISTED],
        write_failures=journal.failures,
        last_write_failure=journal.last_failure,
        shadow_rate=record.shadow_rate,
        ignore_paths=record.ignore_paths,
        incidents=summary.counters,
        mismatch_paths=tuple(paths.most_common(LISTED)),
        recent_mismatches=tuple(summary.recent_mismatches[-LISTED:]),
        last_import=last_import,
        imported_partitions=imported,
        last_validation=record.last_validation,
        notes=tuple(notes),
        problems=tuple(dict.fromkeys(problems)),
    )


def _damage(sql: SqlStore) -> list[str]:
    """A SQLite file's `PRAGMA quick_check` findings, as one problem (none on a server, where
    `doctor` says what to run)."""
    from migrator.adapters import sqlite_files

    file = sql.dialect.database_file(sql.url)
    if file is None or not file.is_file():  # none yet, or a directory: "SQL unavailable"
        return []
    found = sqlite_files.quick_check(file)
    if not found:
        return []
    return [str(DatabaseCorruptError(sql.location, "; ".join(found[:3])))]


def _interrupted_import(root: Path) -> list[str]:
    """A note when the newest import recorded was interrupted: the marks alone would make it
    look finished."""
    imports = [run for run in read_runs(root) if run.command == "import"]
    if not imports or imports[0].outcome != "interrupted":
        return []
    last = imports[0]
    return [f"the last import ({last.started_at[:19].replace('T', ' ')}) was {last.message}"]
