"""What a restore replaces, and what must follow it, so that a restore never hides a write.

- `restore --json` in a phase where the application reads the JSON store (json-only,
  dual-write, and sqlite-primary's fallback reads) is refused when the backup's JSON snapshot
  lacks documents its database holds (a backup taken in `sqlite-only` has no partition files
  at all): the application would no longer see them, and `import --prune` would then delete them
  from SQL too.
- Restoring the database alone makes it older than the JSON store in every phase that keeps
  JSON: the JSON files hold the writes made since the backup. So the pending journal entries
  whose primary was SQL are closed (the versions they point to are gone with the replaced
  database; repair would otherwise copy the restored, older version over JSON's), a store in
  `sqlite-primary` is moved back to `dual-write` (JSON, the newest copy, is primary again, and
  no rebuild of JSON from the older SQL happens), and the guidance is to catch SQL up from JSON
  (`repair`, `import --prune`) before anything else.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from migrator.adapters.dialects import redacted
from migrator.adapters.journal import Journal, Side
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.archive import read_tarball
from migrator.errors import BackupError, JsonFileError
from migrator.schemas.declaration import Schema

#: Phases in which the application reads the JSON store (sqlite-primary: its fallback reads).
_READS_JSON = (Phase.JSON_ONLY, Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY)


def refuse_thinner_json(
    json_dir: Path, schema: Schema, tarball: Path, staged: Path, *, sqlite: bool
) -> None:
    """`BackupError` when the snapshot at `tarball` lacks documents the staged database copy
    holds, in a phase that reads JSON (see the module docstring). A PostgreSQL archive cannot
    be read before it is restored: only SQLite copies are compared."""
    phase = PhaseState(json_dir).read().phase
    if phase not in _READS_JSON or not sqlite:
        return
    lacking = sorted(_database_ids(staged, schema) - _snapshot_ids(json_dir, schema, tarball))
    if lacking:
        shown = ", ".join(lacking[:3])
        raise BackupError(
            f"the backup's JSON snapshot lacks {len(lacking)} document(s) its database holds "
            f"(e.g. {shown}): in phase {phase} the application reads the JSON store and would "
            "no longer see them; refused, nothing changed. Restore the database alone (drop "
            "restore_json=True): the JSON store keeps what it holds",
            parameters=["restore_json=True"],
        )


def _snapshot_ids(json_dir: Path, schema: Schema, tarball: Path) -> set[str]:
    store = JsonStore(json_dir, schema)
    ids: set[str] = set()
    for name, data in read_tarball(tarball):
        try:
            records = store.parse(name.removesuffix(".json"), data)
        except JsonFileError:
            continue  # a file that does not parse holds no document the application sees
        ids.update(
            r[schema.id_key]
            for r in records
            if isinstance(r, dict) and isinstance(r.get(schema.id_key), str)
        )
    return ids


def _database_ids(staged: Path, schema: Schema) -> set[str]:
    """The document ids of a staged SQLite copy, read-only (never converted to WAL)."""
    table = schema.root_table
    (key,) = (column.name for column in table.primary_key.columns)
    conn = sqlite3.connect(f"{staged.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return {str(row[0]) for row in conn.execute(f'SELECT "{key}" FROM "{table.name}"')}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{staged}: cannot list its documents: {exc}") from exc
    finally:
        conn.close()


@dataclass(frozen=True)
class AfterRestore:
    """What a restore changed besides the files, and what to run next."""

    notes: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()


def after_restore(json_dir: Path, db: str | Path, *, with_json: bool) -> AfterRestore:
    """Bring the state beside the stores in line with a restore just made (module docstring)."""
    listing = f"migrator validate --json-dir {json_dir} --db {redacted(db)}"
    if with_json:
        return AfterRestore(next_steps=(listing,))
    state = PhaseState(json_dir)
    notes = []
    if not state.state_dir.is_dir():  # never left json-only (or no store there at all)
        return AfterRestore(next_steps=(listing,) if json_dir.is_dir() else ())
    with state.lock():
        phase = state.read().phase
        if phase is Phase.SQLITE_ONLY:  # JSON is not kept: nothing newer anywhere
            return AfterRestore()
        journal = Journal(json_dir)
        stale = [p.entry for p in journal.read().pending if p.primary is Side.SQL]
        if stale:
            journal.finish(stale, by="restore", sync=True)
            notes.append(
                f"closed {len(stale)} pending repair(s) whose newer version was in the "
                "replaced database"
            )
        if phase is Phase.SQLITE_PRIMARY:
            warning = "restored an older database: the JSON store holds the newer writes"
            state.write(state.read().moved(Phase.DUAL_WRITE, warning=warning))
            notes.append(
                "phase: sqlite-primary -> dual-write (the JSON store holds the writes made "
                "since the backup and is primary again; nothing was rebuilt from SQL)"
            )
    catch_up = (
        f"migrator repair --json-dir {json_dir} --db {redacted(db)}",
        f"migrator import --json-dir {json_dir} --db {redacted(db)} --prune",
        listing,
    )
    return AfterRestore(tuple(notes), catch_up)
