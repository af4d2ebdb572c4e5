"""`migrator db init|revision|upgrade|downgrade|current|history|check`: schema evolution
through Alembic, faces over `migrator.schema_migrations` (imported when a command runs, so
Alembic costs nothing at start-up)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from migrator.cli.app import app
from migrator.cli.option_groups import App
from migrator.cli.options import Db, MaybeJsonDir, NoSnapshot, SchemaRef

if TYPE_CHECKING:
    from migrator.schema_migrations.verbs import Move, Status
    from migrator.schemas.declaration import Schema

db_app = App(
    help="Evolve the database schema with the declaration: Alembic revisions that move the "
    "documents' data with them.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

Migrations = Annotated[
    Path,
    typer.Option(
        "--migrations",
        envvar="MIGRATOR_MIGRATIONS",
        help="The project's migrations folder (its revision scripts are in versions/).",
    ),
]
Revision = Annotated[str, typer.Argument(metavar="REV", help="A revision id, or base / head.")]


@db_app.command("init")
def db_init(migrations: Migrations = Path("migrations")) -> None:
    """Create the migrations folder that `db revision` writes into. Safe to run twice.

    Example: migrator db init --migrations migrations"""
    from migrator.schema_migrations.verbs import init_folder

    created = init_folder(migrations)
    typer.echo(f"{migrations}/versions {'created' if created else 'already present'}")


@db_app.command("revision")
def db_revision(
    db: Db,
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision does.")],
    autogenerate: Annotated[
        bool,
        typer.Option(
            "--autogenerate",
            help="Compare the declaration with the database and write the DDL and the data "
            "moves (promote, demote, split_list, merge_list).",
        ),
    ] = False,
    schema: SchemaRef = "sessions",
    migrations: Migrations = Path("migrations"),
) -> None:
    """Write a revision script for the declaration's new version (bump Schema(version=...)).

    Example: migrator db revision --autogenerate -m "add stars" --db app.db"""
    from migrator.schema_migrations.verbs import new_revision

    made = new_revision(db, _resolve(schema), migrations, message, autogenerate=autogenerate)
    if made is None:
        typer.echo("no difference between the declaration and the database: no revision written")
        return
    typer.echo(f"revision {made.revision} written to {made.path} ({made.data_moves} data moves)")


@db_app.command("upgrade")
def db_upgrade(
    db: Db,
    revision: Annotated[
        str, typer.Argument(metavar="REV", help="The revision to reach (default: head).")
    ] = "head",
    schema: SchemaRef = "sessions",
    migrations: Migrations = Path("migrations"),
    json_dir: MaybeJsonDir = None,
    no_snapshot: NoSnapshot = False,
) -> None:
    """Apply revisions up to REV in one transaction, after a snapshot (needs --json-dir).

    Writers wait while it runs; afterwards only code declaring the new version may write.
    Example: migrator db upgrade --db app.db --json-dir data"""
    from migrator.schema_migrations.verbs import upgrade

    moved = upgrade(
        db, _resolve(schema), migrations, revision, json_dir=json_dir, snapshot=not no_snapshot
    )
    _print_move("upgrade", moved)


@db_app.command("downgrade")
def db_downgrade(
    db: Db,
    revision: Revision,
    schema: SchemaRef = "sessions",
    migrations: Migrations = Path("migrations"),
    json_dir: MaybeJsonDir = None,
    no_snapshot: NoSnapshot = False,
) -> None:
    """Revert revisions down to REV (base: before the first), data moved back, after a
    snapshot. Example: migrator db downgrade 1a2b3c4d --db app.db --json-dir data"""
    from migrator.schema_migrations.verbs import downgrade

    moved = downgrade(
        db, _resolve(schema), migrations, revision, json_dir=json_dir, snapshot=not no_snapshot
    )
    _print_move("downgrade", moved)


@db_app.command("current")
def db_current(
    db: Db, schema: SchemaRef = "sessions", migrations: Migrations = Path("migrations")
) -> None:
    """Print the database's revision and schema version, and the code's."""
    from migrator.schema_migrations.verbs import status

    for line in _status_lines(status(db, _resolve(schema), migrations)):
        typer.echo(line)


@db_app.command("history")
def db_history(schema: SchemaRef = "sessions", migrations: Migrations = Path("migrations")) -> None:
    """List the revisions, newest first: id, schema version, message."""
    from migrator.schema_migrations.verbs import history

    found = history(_resolve(schema), migrations)
    if not found:
        typer.echo("no revisions yet")
    for rev in found:
        version = "?" if rev.schema_version is None else str(rev.schema_version)
        first = rev.message.splitlines()[0] if rev.message else ""
        typer.echo(f"{rev.revision}  v{version}  {first}")


@db_app.command("check")
def db_check(
    db: Db, schema: SchemaRef = "sessions", migrations: Migrations = Path("migrations")
) -> None:
    """Exit 1 when the database is behind the newest revision, or differs from the
    declaration with no revision to cover it (for CI); 0 when all agree."""
    from migrator.schema_migrations.verbs import check

    report = check(db, _resolve(schema), migrations)
    found = report.status
    if not found.up_to_date:
        typer.echo(
            f"database at {found.revision or 'base'}, newest revision {found.head}: "
            "run `migrator db upgrade`"
        )
    elif report.differences:
        typer.echo(
            f"{len(report.differences)} difference(s) between the declaration and the database "
            "that no revision covers: run `migrator db revision --autogenerate -m MSG`"
        )
        for diff in report.differences:
            typer.echo(f"  {diff}")
    else:
        typer.echo(f"database at {found.head or 'base'}: matches the declaration")
    if not report.ok:
        raise typer.Exit(1)


def _resolve(reference: str) -> Schema:
    from migrator.schemas.registry import resolve

    return resolve(reference)


def _print_move(direction: str, moved: Move) -> None:
    if moved.created:
        typer.echo(
            f"tables created at schema version {moved.to_version}, revision "
            f"{moved.to_revision or 'base'}"
        )
    elif not moved.changed:
        typer.echo(f"already at {moved.to_revision or 'base'}: nothing to {direction}")
    else:
        typer.echo(
            f"{direction}d {moved.from_revision or 'base'} -> {moved.to_revision or 'base'} "
            f"(schema version {moved.from_version} -> {moved.to_version})"
        )
    if moved.snapshot is not None:
        typer.echo(f"snapshot taken first: {moved.snapshot}")
    for note in moved.notes:
        typer.echo(f"note: {note}")


def _status_lines(found: Status) -> list[str]:
    inferred = " (inferred from its schema version)" if found.inferred else ""
    return [
        f"database: revision {found.revision or 'base'}{inferred}, schema version "
        f"{found.database_version if found.database_version is not None else 'none'}",
        f"newest revision: {found.head or 'none'}, schema version "
        f"{found.head_version if found.head_version is not None else 'none'}",
        f"code: schema version {found.code_version}",
        "up to date" if found.up_to_date else "behind: run `migrator db upgrade`",
    ]
