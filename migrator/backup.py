"""Backups: a consistent copy of the database and the JSON store, with a manifest to trust them.

A backup is a directory `<out>/<UTC timestamp>-<reason>/` holding the database copy (SQLite's
online backup API, correct while writers run), optionally a gzipped SQL dump of that copy, the
JSON store's partition files as a tar.gz, and `manifest.json`: each artifact's sha256 and size,
the schema name and version, the phase, the time and the tool version. It is built in a hidden
temporary directory and renamed into place, so a crash never leaves half a backup under a real
name. Files are created 0600: a backup holds every document.

`snapshot_before(step, ...)` is the automatic backup the bulk steps (import, phase change,
repair, restore) take first; `snapshot_hook` puts it off until a step's first write (an import
with nothing to change takes none). A step that never changes the JSON store (import) snapshots
the database only (`include_json=False`): the manifest's `holds` says which stores a backup has.
Retention keeps the newest N manual backups and, counted apart, the newest N automatic snapshots.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict, Unpack

from migrator.adapters.dialects import Dialect, database_url, dialect_for, redacted
from migrator.adapters.faults import checkpoint
from migrator.adapters.fs import fsync_directory
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import current_phase
from migrator.adapters.sql_store import SqlStore, table_names
from migrator.adapters.sqlite_files import Progress
from migrator.adapters.state_dir import StateDir
from migrator.archive import pack_partitions
from migrator.backup_manifest import (
    JSON_ARTIFACT,
    MANIFEST,
    SQL_ARTIFACT,
    Artifact,
    Manifest,
    artifact_of,
)
from migrator.backup_retention import prune_backups
from migrator.defaults import DEFAULT_KEEP
from migrator.errors import BackupError, DatabaseCorruptError, UsageError
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackupResult:
    """A backup just written, and the old ones retention removed."""

    path: Path
    manifest: Manifest
    pruned: tuple[Path, ...] = ()


def default_backup_dir(json_dir: Path) -> Path:
    return StateDir(json_dir).backups()


def create_backup(
    json_dir: Path,
    db: str | Path,
    schema: Schema | str,
    *,
    out_dir: Path | None = None,
    reason: str = "manual",
    sql: bool = False,
    keep: int = DEFAULT_KEEP,
    progress: Progress | None = None,
    allow_damaged: bool = False,
    protect: Iterable[Path] = (),
    include_json: bool = True,
) -> BackupResult:
    """Back up the database and the JSON store into a new directory under `out_dir`.

    `allow_damaged` (the safety backup before a restore) keeps a byte copy of a database too
    damaged to copy consistently instead of failing. `include_json=False` copies the database
    only (before a step that never changes the files). Retention then keeps the newest `keep`
    (manual backups and automatic snapshots counted apart), never removing the new one or
    those in `protect`.
    """
    if keep < 1:
        raise UsageError(f"keep {keep}: keep at least 1 backup", parameters=["keep"])
    schema = resolve(schema)
    url = database_url(db)
    dialect = dialect_for(url)
    has_db = dialect.database_exists(url)
    json_exists = JsonStore(json_dir, schema).exists()
    has_json = include_json and json_exists
    if not has_db and not has_json:
        left_out = f"and no JSON store {json_dir}" if include_json else "(JSON store left out)"
        raise BackupError(f"nothing to back up: no database at {redacted(db)} {left_out}")
    if out_dir is None and not json_exists:
        raise UsageError(
            f"json_dir {json_dir}: not a directory, and backups live in its "
            ".migrator/backups unless out_dir names another place",
            parameters=["json_dir", "out_dir"],
        )
    out = out_dir if out_dir is not None else default_backup_dir(json_dir)
    name = f"{_stamp()}-{_slug(reason)}"
    try:
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
        build = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=out))
    except OSError as exc:
        raise BackupError(f"{out}: cannot create a backup there: {exc.strerror or exc}") from exc
    try:
        artifacts: list[Artifact] = []
        recorded, location = (schema.name, schema.version), None
        if has_db:
            # The copy comes first: reading the schema opens the database as a store does,
            # which would change a damaged file before its byte copy is taken.
            artifacts += _database_artifacts(
                dialect, url, table_names(schema), build, sql, progress, allow_damaged
            )
            damaged = artifacts[0].kind == "damaged"
            recorded, location = _describe(url, schema, read_meta=not damaged)
        if has_json:
            files = pack_partitions(JsonStore(json_dir, schema), build / JSON_ARTIFACT)
            artifacts.append(
                artifact_of(build / JSON_ARTIFACT, "json", files={f.name: f.sha256 for f in files})
            )
        manifest = Manifest(
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            reason=reason,
            schema=recorded[0],
            schema_version=recorded[1],
            phase=current_phase(json_dir),
            database=location,
            json_dir=str(Path(json_dir).absolute()) if has_json else None,
            artifacts=tuple(artifacts),
        )
        _write_private(build / MANIFEST, json.dumps(manifest.to_json(), indent=2).encode())
        fsync_directory(build)
        final = _free_name(out, name)
        checkpoint("backup.before_rename")
        os.rename(build, final)
        checkpoint("backup.after_rename")
        fsync_directory(out)
    except OSError as exc:  # disk full, permission: one line, and no half-built backup
        shutil.rmtree(build, ignore_errors=True)
        raise BackupError(f"{out}: cannot write the backup: {exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    logger.info("backup %s written (%d bytes)", final, manifest.size)
    pruned = prune_backups(out, keep, protect=[final, *protect])
    return BackupResult(final, manifest, tuple(pruned))


def snapshot_before(
    step: str,
    json_dir: Path,
    db: str | Path,
    schema: Schema | str,
    **options: Unpack[SnapshotOptions],
) -> Path | None:
    """The automatic backup a bulk step takes first; None when off or there is no database yet."""
    take = snapshot_hook(step, json_dir, db, schema, **options)
    return take() if take is not None else None


class SnapshotOptions(TypedDict, total=False):
    """How an automatic snapshot is taken: `enabled` (default True), `out_dir` (default the
    state directory's backups), `keep` (retention) and `include_json` (default True)."""

    enabled: bool
    out_dir: Path | None
    keep: int
    include_json: bool


def snapshot_hook(
    step: str,
    json_dir: Path,
    db: str | Path,
    schema: Schema | str,
    **options: Unpack[SnapshotOptions],
) -> Callable[[], Path | None] | None:
    """`snapshot_before`, to be taken later: right before a step's first write
    (`import_store(before_write=...)`), so a step with nothing to change takes none. Whether
    there is a database to save is decided now, since the step may create one before it writes:
    None when off or there is no database yet."""
    if not options.get("enabled", True):
        logger.info("automatic backup before %s turned off", step)
        return None
    url = database_url(db)
    if not dialect_for(url).database_exists(url):
        logger.info("no automatic backup before %s: the database does not exist yet", step)
        return None

    def take() -> Path | None:
        result = create_backup(
            json_dir,
            db,
            schema,
            out_dir=options.get("out_dir"),
            reason=f"before-{step}",
            keep=options.get("keep", DEFAULT_KEEP),
            include_json=options.get("include_json", True),
        )
        return result.path

    return take


# --------------------------------------------------------------------------- helpers


def _database_artifacts(
    dialect: Dialect,
    url: str,
    tables: list[str],
    build: Path,
    sql: bool,
    progress: Progress | None,
    allow_damaged: bool,
) -> list[Artifact]:
    copy = build / f"database{dialect.backup_suffix}"
    _write_private(copy, b"")
    try:
        dialect.backup_database(url, copy, progress=progress, tables=tables)
    except DatabaseCorruptError:
        if not allow_damaged:
            raise
        logger.warning("database %s is damaged: keeping a byte copy of it", url)
        copy.unlink()
        dialect.copy_damaged(url, copy)
        extra = [p for p in build.iterdir() if p.name.startswith(f"{copy.name}-")]
        return [artifact_of(copy, "damaged"), *(artifact_of(p, "damaged-log") for p in extra)]
    artifacts = [artifact_of(copy, "database")]
    if sql:
        dump = build / SQL_ARTIFACT
        dialect.dump_sql(copy, _open_private(dump))
        artifacts.append(artifact_of(dump, "sql"))
    return artifacts


def _describe(url: str, schema: Schema, *, read_meta: bool) -> tuple[tuple[str, int], str]:
    """The (schema, version) the database records, and its location without a password."""
    store = SqlStore(url, schema, create=False)
    try:
        recorded = store.recorded_schema() if read_meta else None
    finally:
        store.close()
    return recorded or (schema.name, schema.version), store.location


def _open_private(path: Path) -> int:
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupError(f"{path}: cannot create: {exc.strerror or exc}") from exc


def _write_private(path: Path, data: bytes) -> None:
    with os.fdopen(_open_private(path), "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _free_name(out: Path, name: str) -> Path:
    candidate, n = out / name, 1
    while candidate.exists():
        n += 1
        candidate = out / f"{name}-{n}"
    return candidate


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _slug(reason: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-") or "manual"
