"""The `migrator db` verbs: revisions written, applied and checked through Alembic.

Each verb opens its own connection and runs in one transaction: an upgrade or downgrade holds
the schema lock (SQLite: the write lock, BEGIN IMMEDIATE; PostgreSQL: the advisory lock that
every writer takes shared), so writers wait for it and then meet the new version; a crash
leaves the previous version whole. Given the JSON store, an upgrade or downgrade follows the
run protocol (`migrator.run_protocol`) as the other verbs do: it holds the phase lock, takes
the automatic snapshot before it changes anything, and records itself in the history.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from migrator.adapters.dialects import Dialect, database_url, dialect_for, redacted
from migrator.adapters.faults import checkpoint
from migrator.adapters.phase_state import PhaseState
from migrator.adapters.sql_store import SqlStore, meta_table
from migrator.errors import SchemaMigrationError, UsageError
from migrator.run_protocol import Snapshot, verb_run
from migrator.schema_migrations import autogen, versions
from migrator.schema_migrations.environment import (
    Setup,
    alembic_config,
    require_folder,
    target_metadata,
    versions_dir,
)
from migrator.schema_migrations.transaction import alembic_errors, session
from migrator.schemas.declaration import Schema


@dataclass(frozen=True)
class Status:
    """Where a database stands: its revision and version, and the code's."""

    revision: str | None
    #: True when the revision is inferred from the recorded version (no Alembic row yet).
    inferred: bool
    database_version: int | None
    code_version: int
    head: str | None
    head_version: int | None

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head


@dataclass(frozen=True)
class Move:
    """An upgrade's or downgrade's outcome."""

    from_revision: str | None
    to_revision: str | None
    from_version: int | None
    to_version: int | None
    snapshot: Path | None = None
    created: bool = False
    #: What the user should know afterwards (the code declares another version).
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.created or self.from_revision != self.to_revision


@dataclass(frozen=True)
class CheckReport:
    """`check`: the database against its revisions and the declaration."""

    status: Status
    differences: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status.up_to_date and not self.differences


def init_folder(folder: Path) -> bool:
    """Create the project's migrations folder; False when it was there already."""
    versions = versions_dir(folder)
    if versions.is_dir():
        return False
    try:
        versions.mkdir(parents=True)
    except OSError as exc:
        raise UsageError(f"cannot create {versions}: {exc.strerror or exc}") from None
    return True


def history(schema: Schema, folder: Path) -> list[versions.Revision]:
    """Every revision, newest first."""
    require_folder(folder)
    with alembic_errors():
        return versions.revisions(ScriptDirectory.from_config(alembic_config(schema, folder)))


def status(db: str | Path, schema: Schema, folder: Path) -> Status:
    """The database's revision and version beside the newest revision and the code's."""
    require_folder(folder)
    with session(db, schema, write=False) as conn:
        return _status(conn, schema, folder, _scripts(schema, folder), db)


def check(db: str | Path, schema: Schema, folder: Path) -> CheckReport:
    """Is the database at the newest revision, and does it match the declaration?"""
    require_folder(folder)
    from migrator.adapters.fulltext import owned as fulltext_owned

    metadata = target_metadata(schema)
    with session(db, schema, write=False) as conn:
        found = _status(conn, schema, folder, _scripts(schema, folder), db)
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, parents: (
                    not fulltext_owned(schema, name, type_, parents)
                    and (type_ != "table" or name in metadata.tables)
                ),
            },
        )
        diffs = compare_metadata(context, metadata)
    return CheckReport(found, tuple(_describe_diff(d) for d in diffs))


@dataclass(frozen=True, slots=True)
class NewRevision:
    """A script `new_revision` wrote, and how many data moves its template left to check."""

    revision: str
    path: Path
    data_moves: int


def new_revision(
    db: str | Path, schema: Schema, folder: Path, message: str, *, autogenerate: bool
) -> NewRevision | None:
    """Write a revision script into the project's folder (None: autogenerate found nothing)."""
    require_folder(folder)
    scripts = _scripts(schema, folder)
    with session(db, schema, write=False) as conn:
        found = _status(conn, schema, folder, scripts, db, stamp=True)
        newest = found.head_version if found.head_version is not None else found.database_version
        if newest is not None and schema.version <= newest:
            raise SchemaMigrationError(
                f"schema {schema.name!r} declares version {schema.version}, and the database or "
                f"the newest revision is at {newest}: bump Schema(version=...) first"
            )
        if autogenerate and not found.up_to_date:
            raise SchemaMigrationError(
                f"database {redacted(db)} is not at the newest revision: run "
                "`migrator db upgrade` before generating a new one"
            )
        recorded = _recorded_layout(scripts, found.head)
        setup = Setup(schema, conn, _dialect(db).name)
        if autogenerate:
            setup.process_revision = _skip_empty(autogen.data_moves(schema, recorded))
        with alembic_errors():
            script = command.revision(
                alembic_config(schema, folder, setup),
                message=message,
                autogenerate=autogenerate,
                version_path=str(versions_dir(folder)),
            )
    if script is None or isinstance(script, list):
        return None
    text = Path(script.path).read_text(encoding="utf-8")
    return NewRevision(script.revision, Path(script.path), text.count("moves."))


def upgrade(
    db: str | Path,
    schema: Schema,
    folder: Path,
    target: str = "head",
    *,
    json_dir: Path | None = None,
    snapshot: bool = True,
) -> Move:
    """Bring the database to `target` (default the newest revision), data moved with it."""
    return _move("upgrade", db, schema, folder, target, json_dir=json_dir, snapshot=snapshot)


def downgrade(
    db: str | Path,
    schema: Schema,
    folder: Path,
    target: str,
    *,
    json_dir: Path | None = None,
    snapshot: bool = True,
) -> Move:
    """Take the database back to `target` (a revision, or `base`), data moved back with it."""
    return _move("downgrade", db, schema, folder, target, json_dir=json_dir, snapshot=snapshot)


def _move(
    direction: str,
    db: str | Path,
    schema: Schema,
    folder: Path,
    target: str,
    *,
    json_dir: Path | None,
    snapshot: bool,
) -> Move:
    require_folder(folder)
    if snapshot and json_dir is None:
        raise UsageError(
            f"db {direction} takes a snapshot first: give json_dir=... (where backups and the "
            "history live), or snapshot=False",
            parameters=["json_dir=...", "snapshot=False"],
        )
    scripts = _scripts(schema, folder)
    with alembic_errors():
        wanted = scripts.get_revision(target) if target not in ("head", "base") else None
    with session(db, schema, write=False, create=direction == "upgrade") as conn:
        before = _status(conn, schema, folder, scripts, db)
        empty = before.database_version is None and not _has_root(conn, schema)
    if direction == "upgrade" and empty and target == "head":
        return _create(db, schema, folder, scripts, json_dir)
    if direction == "upgrade" and (before.database_version or 0) > schema.version:
        raise SchemaMigrationError(
            f"database {redacted(db)} is at schema version {before.database_version}, newer "
            f"than the code's version {schema.version}: the code is older than the database"
        )
    goal = wanted.revision if wanted is not None else (before.head if target == "head" else None)
    if goal == before.revision:
        return Move(before.revision, before.revision, before.database_version, None)
    plan = Snapshot(f"db-{direction}", db, schema, include_json=False) if snapshot else None
    with verb_run(f"db {direction}", json_dir, lock=_phase_lock(json_dir), snapshot=plan) as run:
        taken = run.snapshot
        with session(db, schema, write=True) as conn:
            meta_table.metadata.create_all(conn)  # the toolkit's own tables, when missing
            _status(conn, schema, folder, scripts, db, stamp=True)
            setup = Setup(schema, conn, _dialect(db).name)
            with alembic_errors(f"{direction} to {target}"):
                run_command = command.upgrade if direction == "upgrade" else command.downgrade
                run_command(alembic_config(schema, folder, setup), target)
            after = versions.current_revision(conn)
            version = versions.version_at(versions.revisions(scripts), after)
            if version is not None:
                versions.record_version(conn, schema.name, version)
            checkpoint("db.before_commit")
        result = Move(
            before.revision,
            after,
            before.database_version,
            version,
            taken,
            notes=_notes(schema, version),
        )
        run.record.message = _summary(direction, result)
    return result


def _phase_lock(json_dir: Path | None) -> AbstractContextManager[None] | None:
    """The lock a `db` move holds beside its database's own (the run protocol's: an import, a
    phase move and a restore hold it to their end, so none of them meets a schema changing
    under it); none without a JSON store."""
    return PhaseState(json_dir).lock() if json_dir is not None and Path(json_dir).is_dir() else None


def _create(
    db: str | Path, schema: Schema, folder: Path, scripts: ScriptDirectory, json_dir: Path | None
) -> Move:
    """An empty database brought to the newest revision: the declaration's tables, stamped."""
    with verb_run("db upgrade", json_dir, lock=_phase_lock(json_dir)) as run:
        store = SqlStore(db, schema)
        try:
            store.init_schema()
        finally:
            store.close()
        with session(db, schema, write=True) as conn:
            found = _status(conn, schema, folder, scripts, db, stamp=True)
        result = Move(None, found.revision, None, schema.version, created=True)
        run.record.message = _summary("upgrade", result)
    return result


def _status(
    conn: Connection,
    schema: Schema,
    folder: Path,
    scripts: ScriptDirectory,
    db: str | Path,
    *,
    stamp: bool = False,
) -> Status:
    """The database's standing; with `stamp`, a revision inferred from the recorded version
    is written into the version table (inside the caller's transaction)."""
    with alembic_errors():
        history = versions.revisions(scripts)
        recorded = versions.recorded_version(conn)
        revision = versions.current_revision(conn) if versions.has_version_table(conn) else None
        inferred = revision is None and recorded is not None
        if inferred and recorded is not None:
            revision = versions.revision_for(history, recorded, redacted(db))
            if stamp and revision is not None:
                versions.stamp(conn, scripts, revision)
    head = history[0] if history else None
    return Status(
        revision=revision,
        inferred=inferred,
        database_version=recorded,
        code_version=schema.version,
        head=head.revision if head else None,
        head_version=head.schema_version if head else None,
    )


def _scripts(schema: Schema, folder: Path) -> ScriptDirectory:
    with alembic_errors():
        return ScriptDirectory.from_config(alembic_config(schema, folder))


def _recorded_layout(scripts: ScriptDirectory, head: str | None) -> dict[str, list[str]] | None:
    """The layout the newest revision that records one wrote."""
    revision = head
    while revision is not None:
        script = scripts.get_revision(revision)
        layout = getattr(script.module, "layout", None)
        if isinstance(layout, dict):
            return layout
        down = script.down_revision
        revision = down if isinstance(down, str) else None
    return None


def _skip_empty(process: Callable[..., None]) -> Callable[..., None]:
    """Autogenerate that finds nothing writes no script."""

    def wrapped(context: object, revision: object, directives: list[object]) -> None:
        script = directives[0]
        if script.upgrade_ops.is_empty():  # type: ignore[attr-defined]
            directives[:] = []
            return
        process(context, revision, directives)

    return wrapped


def _has_root(conn: Connection, schema: Schema) -> bool:
    return schema.root_table.name in inspect(conn).get_table_names()


def _dialect(db: str | Path) -> Dialect:
    return dialect_for(database_url(db))


def _describe_diff(diff: object) -> str:
    if isinstance(diff, tuple) and diff:
        kind = str(diff[0])
        names = [getattr(part, "name", None) for part in diff[1:]]
        table = next((getattr(p, "table", None) for p in diff[1:] if hasattr(p, "table")), None)
        shown = [n for n in names if isinstance(n, str)]
        where = f"{table.name}." if table is not None and hasattr(table, "name") else ""
        return f"{kind} {where}{', '.join(shown)}".strip()
    if isinstance(diff, list):
        return "; ".join(_describe_diff(d) for d in diff)
    return str(diff)


def _notes(schema: Schema, version: int | None) -> tuple[str, ...]:
    if version is None or version == schema.version:
        return ()
    return (
        f"the code declares version {schema.version}: writes are refused until the database "
        "and the code agree",
    )


def _summary(direction: str, move: Move) -> str:
    where = f"{move.from_revision or 'base'} -> {move.to_revision or 'base'}"
    versions_ = f"schema version {move.from_version} -> {move.to_version}"
    snap = f", snapshot {move.snapshot}" if move.snapshot else ""
    return f"{direction} {where} ({versions_}){snap}"
