"""Revisions and schema versions: which revision a database is at, and which version that is.

Each revision script says the schema version it brings a database to (`schema_version = N`,
the `Schema(version=N)` it was written for), and the database records its version in
`migrator_meta`. A database that `migrator init` or `import` created has no Alembic version
row yet: it is at the newest revision of its recorded version (or before the first revision,
when that one is for a later version), and is stamped so before any revision runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, delete, inspect, select

from migrator.adapters.sql_store import meta_table
from migrator.errors import SchemaMigrationError

VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class Revision:
    """One revision script, as `history` lists it."""

    revision: str
    down_revision: str | None
    schema_version: int | None
    message: str
    path: str


def revisions(scripts: ScriptDirectory) -> list[Revision]:
    """Every revision, newest first; `SchemaMigrationError` for branches (one line of history)."""
    heads = scripts.get_heads()
    if len(heads) > 1:
        raise SchemaMigrationError(
            f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}): "
            "revisions must form one line; give one of them the other as down_revision"
        )
    return [_describe(script) for script in scripts.walk_revisions("base", "heads")]


def _describe(script: Script) -> Revision:
    down = script.down_revision
    if isinstance(down, tuple | list):
        raise SchemaMigrationError(f"revision {script.revision} merges branches: not supported")
    return Revision(
        revision=script.revision,
        down_revision=down,
        schema_version=_version_of(script),
        message=(script.doc or "").strip(),
        path=script.path,
    )


def _version_of(script: Script) -> int | None:
    value = getattr(script.module, "schema_version", None)
    return value if type(value) is int else None


def version_at(history: Sequence[Revision], revision: str | None) -> int | None:
    """The schema version a database is at when its revision is `revision` (None: base)."""
    seen = False
    for rev in history:  # newest first
        seen = seen or rev.revision == revision
        if seen and rev.schema_version is not None:
            return rev.schema_version
    if history and history[-1].schema_version is not None:
        return history[-1].schema_version - 1  # before the first revision
    return None


def revision_for(history: Sequence[Revision], version: int, where: str) -> str | None:
    """The revision a database recorded at `version` is at (None: before the first one)."""
    for rev in history:  # newest first: the last revision of that version
        if rev.schema_version == version:
            return rev.revision
    known = [rev.schema_version for rev in history if rev.schema_version is not None]
    if not known or version < min(known):
        return None
    if version > max(known):
        raise SchemaMigrationError(
            f"database {where} is at schema version {version}, newer than the newest "
            f"revision (version {max(known)}): the code is older than the database"
        )
    raise SchemaMigrationError(
        f"database {where} is at schema version {version}, which no revision brings it to"
    )


def current_revision(conn: Connection) -> str | None:
    """The revision the database's Alembic version table names (None: none yet)."""
    heads = MigrationContext.configure(conn).get_current_heads()
    if len(heads) > 1:
        raise SchemaMigrationError(f"the database names several revisions: {', '.join(heads)}")
    return heads[0] if heads else None


def has_version_table(conn: Connection) -> bool:
    return VERSION_TABLE in inspect(conn).get_table_names()


def stamp(conn: Connection, scripts: ScriptDirectory, revision: str | None) -> None:
    """Record `revision` as the database's (no revision script runs)."""
    MigrationContext.configure(conn).stamp(scripts, revision or "base")


def record_version(conn: Connection, schema_name: str, version: int) -> None:
    """Write the schema and the version the database is now at into `migrator_meta`."""
    conn.execute(delete(meta_table).where(meta_table.c.key.in_(["schema", "version"])))
    conn.execute(
        meta_table.insert(),
        [{"key": "schema", "value": schema_name}, {"key": "version", "value": str(version)}],
    )


def recorded_version(conn: Connection) -> int | None:
    if "migrator_meta" not in inspect(conn).get_table_names():
        return None
    value = conn.execute(
        select(meta_table.c.value).where(meta_table.c.key == "version")
    ).scalar_one_or_none()
    return int(value) if value is not None else None
