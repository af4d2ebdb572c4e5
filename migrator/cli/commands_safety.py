"""Commands that make every step undoable and every state inspectable:
`backup`, `restore`, `backups`, `doctor`, `history`, `export`, `archive`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from migrator.cli.app import app
from migrator.cli.option_groups import arguments, parameter
from migrator.cli.options import (
    Db,
    FormatOption,
    JsonDir,
    MaybeJsonDir,
    NoSnapshot,
    OutputFormat,
    Partitions,
    Quiet,
    SchemaRef,
    StoreArgs,
    out_dir_option,
)
from migrator.cli.text import size_text
from migrator.defaults import DEFAULT_KEEP
from migrator.errors import UsageError

if TYPE_CHECKING:
    from migrator.backup_manifest import BackupInfo
    from migrator.restore import RestorePlan, RestoreResult


BackupsDir = Annotated[
    Path | None, out_dir_option("Where backups live (default: <json-dir>/.migrator/backups).")
]


Sql = Annotated[bool, typer.Option("--sql", help="Also write a gzipped SQL dump of the copy.")]
Keep = Annotated[int, typer.Option("--keep", min=1, metavar="N", help="Keep the newest N backups.")]


@dataclass(frozen=True)
class BackupArgs(StoreArgs):
    """The stores, where their backups live and how many to keep: `create_backup`'s
    parameters."""

    out: BackupsDir = field(default=None, metadata=parameter("out_dir"))
    sql: Sql = False
    keep: Keep = DEFAULT_KEEP


@app.command()
def backup(run: BackupArgs, quiet: Quiet = False) -> None:
    """Back up the database (a consistent copy, even while writers run) and the JSON store.

    Each backup is a directory with a manifest of sha256 checksums; files are mode 0600."""
    from migrator.run_safety import create_backup

    result = create_backup(**arguments(run))
    if quiet:
        typer.echo(result.path)
        return
    typer.echo(f"backup written: {result.path}")
    for artifact in result.manifest.artifacts:
        files = f" ({len(artifact.files)} files)" if artifact.files is not None else ""
        typer.echo(f"  {artifact.name:<20} {size_text(artifact.size):>10}{files}")
    typer.echo(f"  total {size_text(result.manifest.size)}, phase {result.manifest.phase}")
    if result.pruned:
        typer.echo(f"removed {len(result.pruned)} old backup(s), keeping the newest {run.keep}")


BackupArg = Annotated[
    Path,
    typer.Argument(
        metavar="BACKUP", help="A backup directory, its manifest.json, or a database file."
    ),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
RestoreJson = Annotated[
    bool,
    typer.Option("--json", help="Also replace the JSON store's partition files with the backup's."),
]


@dataclass(frozen=True)
class RestoreArgs(StoreArgs):
    """The stores to restore, and whether the JSON store is restored too."""

    json_store: RestoreJson = field(default=False, metadata=parameter("restore_json"))


@app.command()
def restore(
    backup: BackupArg, run: RestoreArgs, yes: Yes = False, no_snapshot: NoSnapshot = False
) -> None:
    """Replace the database (and with --json the JSON store) by a verified backup.

    Checksums, the schema and that the copy is whole (SQLite: its header and PRAGMA
    integrity_check; PostgreSQL: pg_restore reads all of the archive) are verified first;
    a refused backup leaves everything as it was. A safety backup of the current state is taken
    before anything is replaced. Stop the application first: on SQLite restore refuses while
    another process has the database open."""
    from migrator.run_safety import restore_backup

    confirm = None if yes else lambda plan: _confirm(plan, run.json_dir)
    result = restore_backup(backup, **arguments(run), confirm=confirm, snapshot=not no_snapshot)
    if result.declined:
        typer.echo("nothing restored")
        raise typer.Exit(1)
    _print_restore(result, backup, run.json_dir)


def _confirm(plan: RestorePlan, json_dir: Path) -> bool:
    typer.echo(_describe_plan(plan, json_dir))
    try:
        return typer.confirm("Replace it?", default=False)
    except typer.Abort:
        raise UsageError(
            "restore needs a confirmation and there is no answer on stdin; pass --yes"
        ) from None


def _print_restore(result: RestoreResult, backup: Path, json_dir: Path) -> None:
    if result.safety_backup is not None:
        typer.echo(f"safety backup of the previous state: {result.safety_backup}")
    typer.echo(f"database {result.plan.database} restored from {backup}")
    if result.json is not None:
        typer.echo(
            f"JSON store {json_dir}: {len(result.json.written)} file(s) written, "
            f"{len(result.json.unchanged)} unchanged, {len(result.json.removed)} removed"
        )
    for note in result.notes:
        typer.echo(note)
    for step in result.next_steps:
        typer.echo(f"next: {step}")


@app.command("backups")
def backups_command(
    json_dir: JsonDir, out: BackupsDir = None, output_format: FormatOption = OutputFormat.text
) -> None:
    """List the backups: time and reason (the name), size, phase, and whether their checksums
    still verify (--format json adds the schema and every artifact).

    Exit 1 when a backup no longer verifies."""
    from rich.console import Console

    from migrator.backup import default_backup_dir
    from migrator.backup_retention import list_backups
    from migrator.cli.report import json_text
    from migrator.cli.tables import backup_problems, backups_table

    infos = list_backups(out if out is not None else default_backup_dir(json_dir))
    if output_format is OutputFormat.json:
        typer.echo(json_text([_backup_json(info) for info in infos]), nl=False)
    elif not infos:
        typer.echo("no backups")
    else:
        console = Console(highlight=False)
        console.print(backups_table(infos))
        for line in backup_problems(infos):
            console.print(f"FAILED {line}", markup=False, soft_wrap=True)
    if any(info.verified is False for info in infos):
        raise typer.Exit(1)


@app.command()
def doctor(run: StoreArgs, output_format: FormatOption = OutputFormat.text) -> None:
    """Check the stores' health: integrity, foreign keys, journal mode, schema version, rows,
    orphan rows, JSON files that do not parse, phase, pending repairs. Read-only.

    Exit 0 healthy, 1 problems found."""
    from rich.console import Console

    from migrator.cli.report import json_text
    from migrator.cli.tables import doctor_table
    from migrator.doctor import diagnose

    report = diagnose(**arguments(run))
    if output_format is OutputFormat.json:
        payload = {
            "healthy": report.healthy,
            "phase": report.phase,
            "checks": [
                {"name": c.name, "status": c.status, "detail": c.detail, "data": _plain(c.data)}
                for c in report.checks
            ],
        }
        typer.echo(json_text(payload), nl=False)
    else:
        console = Console(highlight=False)
        console.print(doctor_table(report))
        problems = len(report.problems)
        console.print("healthy" if report.healthy else f"{problems} problem(s) found")
    if not report.healthy:
        raise typer.Exit(1)


@app.command()
def history(
    json_dir: JsonDir,
    limit: Annotated[
        int, typer.Option("--limit", min=1, metavar="N", help="The newest N runs.")
    ] = 20,
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """The runs of commands that read or changed data, newest first."""
    from rich.console import Console

    from migrator.cli.report import json_text
    from migrator.cli.tables import history_table
    from migrator.history import read_runs

    runs = read_runs(json_dir, limit=limit)
    if output_format is OutputFormat.json:
        typer.echo(json_text([run.to_json() for run in runs]), nl=False)
        return
    if not runs:
        typer.echo("no runs recorded")
        return
    Console(highlight=False).print(history_table(runs))


ExportOut = Annotated[Path, out_dir_option("The directory to write the store into.")]
ExportForce = Annotated[bool, typer.Option("--force", help="Write into a non-empty directory.")]
ArchiveOut = Annotated[
    Path | None, out_dir_option("Where the archive goes (default: <json-dir>/.migrator/archive).")
]
ArchiveForce = Annotated[
    bool, typer.Option("--force", help="Archive even though the phase still uses JSON.")
]


@app.command()
def export(
    db: Db,
    out: ExportOut,
    schema: SchemaRef = "sessions",
    partition: Partitions = None,
    force: ExportForce = False,
    json_dir: MaybeJsonDir = None,
) -> None:
    """Write a legacy JSON store from the database, formatted as the application writes it.

    --json-dir says whose history records the run; it (or any directory holding a store's
    .migrator/) is refused as --out, even with --force."""
    from migrator.run_safety import export_store

    result = export_store(db, schema, out, partitions=partition, force=force, json_dir=json_dir)
    typer.echo(
        f"exported {result.documents} document(s) in {result.partitions} partition file(s) "
        f"({size_text(result.bytes)}) to {result.out}"
    )


@app.command()
def archive(
    json_dir: JsonDir,
    schema: SchemaRef = "sessions",
    out: ArchiveOut = None,
    force: ArchiveForce = False,
) -> None:
    """Pack the JSON store's partition files into a verified tar.gz, then remove them.

    The originals are removed only after every file's sha256 is read back from the archive.
    `migrator phase set sqlite-only` runs this; by hand it needs the sqlite-only phase."""
    from migrator.run_safety import archive_json_store

    result = archive_json_store(json_dir, schema, out_dir=out, force=force)
    typer.echo(
        f"archived {len(result.files)} file(s) ({size_text(result.original_size)}) into "
        f"{result.archive} ({size_text(result.archive_size)}); verified, originals removed"
    )
    if result.kept_changed:
        typer.echo(
            f"kept {len(result.kept_changed)} file(s) a writer changed meanwhile: "
            + ", ".join(result.kept_changed)
        )


# --------------------------------------------------------------------------- rendering


def _describe_plan(plan: RestorePlan, json_dir: Path) -> str:
    lines = [f"restore {plan.backup}"]
    m = plan.manifest
    if m is not None:
        lines.append(f"  taken    {m.created_at} ({m.reason}, phase {m.phase})")
        lines.append(f"  schema   {plan.schema} v{plan.schema_version}; checksums verified")
    else:
        lines.append(f"  schema   {plan.schema} v{plan.schema_version}; a bare file, no checksums")
    lines.append(f"  into     {plan.database} (after a safety backup of it)")
    if plan.restore_json:
        lines.append(f"  and      the JSON store {json_dir} (files not in the backup removed)")
    return "\n".join(lines)


def _backup_json(info: BackupInfo) -> dict[str, Any]:
    value: dict[str, Any] = {"path": str(info.path), "verified": info.verified}
    if info.problems:
        value["problems"] = info.problems
    if info.manifest is not None:
        value.update(info.manifest.to_json())
        value["size"] = info.manifest.size
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)
