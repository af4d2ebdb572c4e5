"""Restore: put a verified backup in place of the database (and the JSON store when asked).

Everything that can refuse happens before anything changes: the manifest's checksums, that the
database file is whole, a SQLite database of this schema at a version not newer than ours, and
that it passes `PRAGMA integrity_check` (checked on a private copy, so the backup itself is
never opened for writing). Only then: confirmation, a safety backup of the current state, and
the atomic replacement. A refused restore leaves the current database byte for byte as it was.

The application must be stopped first: a process that keeps a connection open would go on
using the old, replaced file, and what it writes afterwards would be lost. SQLite restore
therefore refuses while another process holds the database open.

On PostgreSQL (`migrator.adapters.postgres_files`) the same checks read the `pg_dump` archive with
`pg_restore`, and the replacement is one transaction over the store's tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from migrator.adapters.dialects import database_url, dialect_for, redacted
from migrator.adapters.json_store import JsonStore
from migrator.archive import UnpackResult, unpack_partitions, verify_tarball
from migrator.backup import create_backup, default_backup_dir
from migrator.backup_manifest import JSON_ARTIFACT, MANIFEST, Manifest, load_manifest, verify_backup
from migrator.errors import BackupError
from migrator.restore_guard import after_restore, refuse_thinner_json
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestorePlan:
    """What a restore is about to do, once the backup has passed every check."""

    backup: Path
    manifest: Manifest | None
    database: str
    schema: str
    schema_version: int
    restore_json: bool

    @property
    def checksums_verified(self) -> bool:
        return self.manifest is not None


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did; `declined` when the confirmation said no (nothing changed)."""

    plan: RestorePlan
    declined: bool = False
    safety_backup: Path | None = None
    json: UnpackResult | None = None
    #: What the restore changed besides the files (a phase moved back, repairs closed).
    notes: tuple[str, ...] = ()
    #: The commands to run next, in order, before anything else.
    next_steps: tuple[str, ...] = ()


def restore_backup(
    backup: Path,
    json_dir: Path,
    db: str | Path,
    schema: Schema | str,
    *,
    restore_json: bool = False,
    confirm: Callable[[RestorePlan], bool] | None = None,
    snapshot: bool = True,
    backups_dir: Path | None = None,
) -> RestoreResult:
    """Verify `backup` (a backup directory, its manifest, or a bare database file), ask
    `confirm`, take a safety backup (unless `snapshot` is False), then replace the database and,
    with `restore_json`, the JSON store's partition files. `BackupError` names what is refused.
    """
    schema = resolve(schema)
    url = database_url(db)
    dialect = dialect_for(url)
    json_dir = Path(json_dir)
    try:
        folder, manifest, database_file = _locate(Path(backup))
    except OSError as exc:  # a backup this user may not read
        raise BackupError(f"{backup}: cannot read the backup: {exc.strerror or exc}") from exc
    json_files = _check_manifest(folder, manifest, schema, restore_json)
    staged = dialect.stage_backup(url, database_file)
    try:
        try:
            meta = dialect.inspect_backup(staged)
        except BackupError as exc:
            raise BackupError(f"{database_file}: {exc}; refused, nothing changed") from exc
        version = _check_schema(database_file, meta, schema)
        if json_files is not None and folder is not None:
            sqlite = dialect.database_file(url) is not None
            refuse_thinner_json(json_dir, schema, folder / JSON_ARTIFACT, staged, sqlite=sqlite)
        plan = RestorePlan(Path(backup), manifest, redacted(db), schema.name, version, restore_json)
        if confirm is not None and not confirm(plan):
            return RestoreResult(plan, declined=True)
        safety = None
        if snapshot and (dialect.database_exists(url) or (restore_json and json_dir.is_dir())):
            safety = create_backup(
                json_dir,
                db,
                schema,
                out_dir=backups_dir if backups_dir is not None else default_backup_dir(json_dir),
                reason="before-restore",
                allow_damaged=True,
                protect=[folder] if folder is not None else [],
            ).path
        dialect.restore_database(url, staged)
    finally:
        if staged != database_file:
            staged.unlink(missing_ok=True)
    logger.info("database %s restored from %s", plan.database, backup)
    unpacked = None
    if restore_json and folder is not None and json_files is not None:
        store = JsonStore(json_dir, schema)
        unpacked = unpack_partitions(store, folder / JSON_ARTIFACT, json_files, replace_all=True)
    after = after_restore(json_dir, db, with_json=unpacked is not None)
    return RestoreResult(
        plan, safety_backup=safety, json=unpacked, notes=after.notes, next_steps=after.next_steps
    )


def _locate(backup: Path) -> tuple[Path | None, Manifest | None, Path]:
    """(backup directory, manifest, database file) for what the user named."""
    if backup.is_dir():
        folder = backup
    elif backup.name == MANIFEST and backup.is_file():
        folder = backup.parent
    elif backup.is_file() and (backup.parent / MANIFEST).is_file():
        # A file of a backup directory is that backup: checked against its manifest.
        folder = backup.parent
        named = load_manifest(folder).artifact("database")
        if named is None or named.name != backup.name:
            raise BackupError(
                f"{backup}: not the database copy its backup's {MANIFEST} lists; "
                f"restore the backup {folder} instead"
            )
    elif backup.is_file():
        return None, None, backup
    else:
        raise BackupError(f"{backup}: no such backup")
    manifest = load_manifest(folder)
    artifact = manifest.artifact("database")
    if artifact is None:
        damaged = manifest.artifact("damaged") is not None
        what = "only a byte copy of a damaged database" if damaged else "no database copy"
        raise BackupError(f"backup {folder} holds {what}; it cannot be restored")
    return folder, manifest, folder / artifact.name


def _check_manifest(
    folder: Path | None, manifest: Manifest | None, schema: Schema, restore_json: bool
) -> dict[str, str] | None:
    if folder is None or manifest is None:
        if restore_json:
            raise BackupError(
                "restore_json=True needs a backup directory (a bare database file has no JSON)",
                parameters=["restore_json=True"],
            )
        logger.warning("restoring a bare database file: there are no checksums to verify")
        return None
    problems = verify_backup(folder, manifest)
    if problems:
        raise BackupError(
            f"backup {folder} does not verify ({'; '.join(problems[:3])}); refused, nothing changed"
        )
    if manifest.schema != schema.name:
        raise BackupError(f"backup {folder} holds schema {manifest.schema!r}, not {schema.name!r}")
    if not restore_json:
        return None
    artifact = manifest.artifact("json")
    if artifact is None or artifact.files is None:
        raise BackupError(
            f"backup {folder} has no JSON store snapshot; drop restore_json=True",
            parameters=["restore_json=True"],
        )
    problems = verify_tarball(folder / JSON_ARTIFACT, artifact.files)
    if problems:
        raise BackupError(f"backup {folder}: JSON snapshot does not verify: {problems[0]}")
    return artifact.files


def _check_schema(source: Path, meta: dict[str, str], schema: Schema) -> int:
    name = meta.get("schema")
    try:
        version = int(meta.get("version", ""))
    except ValueError:
        raise BackupError(f"{source}: records no usable schema version; refused") from None
    if name != schema.name:
        raise BackupError(f"{source}: holds schema {name!r}, not {schema.name!r}; refused")
    if version > schema.version:
        raise BackupError(
            f"{source}: schema {name!r} version {version} is newer than this toolkit's "
            f"version {schema.version}; upgrade migrator to restore it"
        )
    return version
