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

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from migrator import __version__
from migrator.adapters.dialects import Dialect, database_url, dialect_for, redacted
from migrator.adapters.faults import checkpoint
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore, table_names
from migrator.adapters.sqlite_files import Progress, fsync_directory
from migrator.adapters.state_dir import StateDir
from migrator.archive import file_sha256, pack_partitions
from migrator.defaults import DEFAULT_KEEP
from migrator.errors import BackupError, DatabaseCorruptError, UsageError
from migrator.history import current_phase
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
JSON_ARTIFACT = "json-store.tar.gz"
SQL_ARTIFACT = "database.sql.gz"
_NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z-[a-z0-9-]+(-\d+)?")
#: A temporary build directory older than this is a crashed backup's, removed by retention.
_STALE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Artifact:
    """One file of a backup; `kind` is database, damaged (a byte copy), sql or json."""

    name: str
    kind: str
    sha256: str
    size: int
    #: For the JSON snapshot: partition file name -> sha256.
    files: dict[str, str] | None = None


@dataclass(frozen=True)
class Manifest:
    """What a backup holds and what it was taken from."""

    created_at: str
    reason: str
    schema: str
    schema_version: int
    phase: str
    database: str | None
    json_dir: str | None
    artifacts: tuple[Artifact, ...]
    tool_version: str = __version__
    format: int = 1

    def artifact(self, kind: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.kind == kind), None)

    @property
    def holds(self) -> list[str]:
        """The stores this backup has a copy of: `database` (also a damaged one's byte copy)
        and `json`; an import's snapshot holds the database only."""
        kinds = {a.kind for a in self.artifacts}
        return ["database"] * bool(kinds & {"database", "damaged"}) + ["json"] * ("json" in kinds)

    @property
    def size(self) -> int:
        return sum(a.size for a in self.artifacts)

    def to_json(self) -> dict[str, Any]:
        value = asdict(self)
        value["artifacts"] = [
            {k: v for k, v in asdict(a).items() if v is not None} for a in self.artifacts
        ]
        value["holds"] = self.holds
        return value

    @classmethod
    def from_json(cls, value: Any) -> Manifest:
        if not isinstance(value, dict) or not isinstance(value.get("artifacts"), list):
            raise ValueError("not a backup manifest")
        artifacts = tuple(Artifact(**a) for a in value["artifacts"])
        fields = {k: value[k] for k in cls.__dataclass_fields__ if k in value and k != "artifacts"}
        return cls(artifacts=artifacts, **fields)


@dataclass(frozen=True)
class BackupResult:
    """A backup just written, and the old ones retention removed."""

    path: Path
    manifest: Manifest
    pruned: tuple[Path, ...] = ()


@dataclass(frozen=True)
class BackupInfo:
    """A backup found on disk; `problems` lists what no longer verifies (None: not checked)."""

    path: Path
    manifest: Manifest | None
    problems: list[str] | None = field(default=None)

    @property
    def verified(self) -> bool | None:
        return None if self.problems is None else not self.problems


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
        raise UsageError(f"--keep {keep}: keep at least 1 backup")
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
            f"--json-dir {json_dir}: not a directory, and backups live in "
            "<json-dir>/.migrator/backups unless --out names another place"
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
                _artifact(build / JSON_ARTIFACT, "json", files={f.name: f.sha256 for f in files})
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
    *,
    enabled: bool = True,
    out_dir: Path | None = None,
    keep: int = DEFAULT_KEEP,
    include_json: bool = True,
) -> Path | None:
    """The automatic backup a bulk step takes first; None when off or there is no database yet."""
    take = snapshot_hook(
        step,
        json_dir,
        db,
        schema,
        enabled=enabled,
        out_dir=out_dir,
        keep=keep,
        include_json=include_json,
    )
    return take() if take is not None else None


def snapshot_hook(
    step: str,
    json_dir: Path,
    db: str | Path,
    schema: Schema | str,
    *,
    enabled: bool = True,
    out_dir: Path | None = None,
    keep: int = DEFAULT_KEEP,
    include_json: bool = True,
) -> Callable[[], Path | None] | None:
    """`snapshot_before`, to be taken later: right before a step's first write
    (`import_store(before_write=...)`), so a step with nothing to change takes none. Whether
    there is a database to save is decided now, since the step may create one before it writes:
    None when off or there is no database yet."""
    if not enabled:
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
            out_dir=out_dir,
            reason=f"before-{step}",
            keep=keep,
            include_json=include_json,
        )
        return result.path

    return take


def list_backups(out_dir: Path, *, verify: bool = True) -> list[BackupInfo]:
    """The backups in `out_dir`, newest first, each checked against its manifest if `verify`."""
    found = []
    for path in _backup_dirs(out_dir):
        try:
            manifest = load_manifest(path)
        except BackupError as exc:
            found.append(BackupInfo(path, None, [str(exc)]))
            continue
        found.append(BackupInfo(path, manifest, verify_backup(path, manifest) if verify else None))
    return found


def load_manifest(backup_dir: Path) -> Manifest:
    path = backup_dir / MANIFEST
    try:
        return Manifest.from_json(json.loads(path.read_bytes()))
    except FileNotFoundError:
        raise BackupError(f"{backup_dir}: not a backup (no {MANIFEST})") from None
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"{path}: unreadable manifest: {exc}") from exc


def verify_backup(backup_dir: Path, manifest: Manifest) -> list[str]:
    """What no longer matches the manifest: missing files, other sizes, other sha256."""
    problems = []
    for artifact in manifest.artifacts:
        path = backup_dir / artifact.name
        if Path(artifact.name).name != artifact.name:
            problems.append(f"{artifact.name}: not a plain file name; refused")
        elif not path.is_file():
            problems.append(f"{artifact.name}: missing")
        elif path.stat().st_size != artifact.size:
            problems.append(f"{artifact.name}: {path.stat().st_size} bytes, not {artifact.size}")
        elif file_sha256(path) != artifact.sha256:
            problems.append(f"{artifact.name}: sha256 differs from the manifest")
    return problems


def prune_backups(out_dir: Path, keep: int, *, protect: Iterable[Path] = ()) -> list[Path]:
    """Keep the newest `keep` manual backups and, apart, the newest `keep` automatic snapshots
    (so frequent snapshots never push out a backup someone took on purpose); never remove
    those in `protect`. Also removes crashed builds older than a day. What cannot be removed
    (another user's backup, a symbolic link) is left in place with a warning: retention runs
    after a new backup is written, and must not fail the step that took it."""
    kept = {p.resolve() for p in protect}
    pruned = []
    backups = _backup_dirs(out_dir)
    for automatic in (False, True):
        group = [p for p in backups if _is_snapshot(p) is automatic]
        for path in group[keep:]:
            if path.resolve() not in kept and _removed(path):
                pruned.append(path)
    for stale in out_dir.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(stale)
    return pruned


# --------------------------------------------------------------------------- helpers


def _removed(path: Path) -> bool:
    """Remove an old backup; False (and a warning) when it cannot be."""
    if path.is_symlink():
        logger.warning("backup retention: %s is a symbolic link; left in place", path)
        return False
    try:
        shutil.rmtree(path)
    except OSError as exc:
        logger.warning("backup retention: cannot remove %s (%s); left in place", path, exc)
        return False
    return True


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
        dialect.backup_database(url, copy, progress, tables=tables)
    except DatabaseCorruptError:
        if not allow_damaged:
            raise
        logger.warning("database %s is damaged: keeping a byte copy of it", url)
        copy.unlink()
        dialect.copy_damaged(url, copy)
        extra = [p for p in build.iterdir() if p.name.startswith(f"{copy.name}-")]
        return [_artifact(copy, "damaged"), *(_artifact(p, "damaged-log") for p in extra)]
    artifacts = [_artifact(copy, "database")]
    if sql:
        dump = build / SQL_ARTIFACT
        dialect.dump_sql(copy, _open_private(dump))
        artifacts.append(_artifact(dump, "sql"))
    return artifacts


def _describe(url: str, schema: Schema, *, read_meta: bool) -> tuple[tuple[str, int], str]:
    """The (schema, version) the database records, and its location without a password."""
    store = SqlStore(url, schema, create=False)
    try:
        recorded = store.recorded_schema() if read_meta else None
    finally:
        store.close()
    return recorded or (schema.name, schema.version), store.location


def _artifact(path: Path, kind: str, files: dict[str, str] | None = None) -> Artifact:
    return Artifact(path.name, kind, file_sha256(path), path.stat().st_size, files)


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


def _backup_dirs(out_dir: Path) -> list[Path]:
    """Backup directories (by their name's shape), newest first."""
    if not out_dir.is_dir():
        return []
    found = [p for p in out_dir.iterdir() if p.is_dir() and _NAME.fullmatch(p.name)]
    return sorted(found, key=lambda p: p.name, reverse=True)


def _is_snapshot(path: Path) -> bool:
    """An automatic snapshot (`...Z-before-<step>`), by the name `snapshot_before` gives it."""
    return path.name.split("Z-", 1)[1].startswith("before-")


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
