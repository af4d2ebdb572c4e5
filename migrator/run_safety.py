"""Backup, restore, export and archive on paths, under the run protocol: the verbs `migrator
backup`, `restore`, `export`, `archive` and their Python names call.

Each records its run in the history of the JSON store it concerns (an export only when told
which, through `json_dir`). A restore holds the phase lock throughout (no phase move or import
runs meanwhile) and takes its own safety backup first (`migrator.restore`); an archive refuses
a phase that still uses the JSON files unless `force`, and passes each partition's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from migrator.archive import ArchiveResult
from migrator.backup import BackupResult
from migrator.defaults import DEFAULT_KEEP
from migrator.errors import PhaseError
from migrator.export import ExportResult
from migrator.restore import RestorePlan, RestoreResult
from migrator.run_protocol import verb_run
from migrator.schemas.declaration import Schema


def create_backup(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    *,
    out_dir: Path | None = None,
    sql: bool = False,
    keep: int = DEFAULT_KEEP,
) -> BackupResult:
    """Back up the database and the JSON store into a new directory under `out_dir` (default
    `<json_dir>/.migrator/backups`), keeping the newest `keep` (`migrator.backup`)."""
    from migrator.backup import create_backup as write_backup

    with verb_run("backup", Path(json_dir)) as run:
        result = write_backup(Path(json_dir), db, schema, out_dir=out_dir, sql=sql, keep=keep)
        run.record.counts = {"bytes": result.manifest.size, "pruned": len(result.pruned)}
    return result


def restore_backup(
    backup: Path | str,
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    *,
    restore_json: bool = False,
    confirm: Callable[[RestorePlan], bool] | None = None,
    snapshot: bool = True,
) -> RestoreResult:
    """Replace the database (and with `restore_json` the JSON store) by a verified backup,
    after `confirm` says yes and a safety backup (unless `snapshot` is False); a declined
    restore changes nothing and is recorded as declined (`migrator.restore`)."""
    from migrator.adapters.phase_state import PhaseState
    from migrator.restore import restore_backup as put_back

    # The phase lock, held by a phase move and by an import to their end: a restore waits for
    # them, and they for it (a store that never left json-only has none, and gets none).
    state = PhaseState(Path(json_dir))
    lock = state.lock() if state.state_dir.is_dir() else None
    with verb_run("restore", Path(json_dir), lock=lock) as run:
        result = put_back(
            Path(backup),
            Path(json_dir),
            db,
            schema,
            restore_json=restore_json,
            confirm=confirm,
            snapshot=snapshot,
        )
        if result.declined:
            run.record.outcome = "declined"
        elif result.json is not None:
            run.record.counts = {"json_written": len(result.json.written)}
    return result


def export_store(
    db: str | Path,
    schema: str | Schema,
    out: Path | str,
    *,
    partitions: Sequence[str] | None = None,
    force: bool = False,
    json_dir: Path | str | None = None,
) -> ExportResult:
    """Write a legacy JSON store at `out` from the database (`migrator.export`); the run is
    recorded in the history of `json_dir` when one is given (which `out` may never be)."""
    from migrator.export import export_store as write_store

    live = None if json_dir is None else Path(json_dir)
    with verb_run("export", live) as run:
        result = write_store(
            db, schema, Path(out), partitions=partitions, force=force, json_dir=live
        )
        run.record.counts = {"partitions": result.partitions, "documents": result.documents}
    return result


def archive_json_store(
    json_dir: Path | str,
    schema: str | Schema = "sessions",
    *,
    out_dir: Path | None = None,
    force: bool = False,
) -> ArchiveResult:
    """Pack the JSON store's partition files into a verified archive, then remove them
    (`migrator.archive`); refused unless the phase is sqlite-only or `force`."""
    from migrator.adapters.json_store import JsonStore
    from migrator.adapters.phase_state import current_phase
    from migrator.archive import archive_json_store as pack
    from migrator.schemas.registry import resolve

    root = Path(json_dir)
    phase = current_phase(root)
    if phase != "sqlite-only" and not force:
        raise PhaseError(
            f"the application still uses the JSON store in phase {phase}; "
            "`migrator phase set sqlite-only` archives it after a fresh validation "
            "(or pass force=True)",
            parameters=["force=True"],
        )
    with verb_run("archive", root) as run:
        result = pack(JsonStore(root, resolve(schema)), out_dir)
        run.record.counts = {"files": len(result.files), "removed": len(result.removed)}
    return result
