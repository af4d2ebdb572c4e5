"""`migrator check`: may we move to the next phase? A checklist, for people and for CI."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from migrator.check import check
from migrator.cli.app import app
from migrator.cli.options import Db, JsonDir, Quiet, SchemaRef, SummaryFile
from migrator.history import record_run
from migrator.report import check_lines, check_summary, render_check, write_output, write_summary


class ReportFormat(enum.StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


@app.command("check")
def check_command(
    json_dir: JsonDir,
    db: Db,
    schema: SchemaRef = "sessions",
    ignore_path: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore-path",
            metavar="REGEX",
            help="A DeepDiff path allowed to differ (repeatable; default: those recorded with "
            "`migrator phase configure`).",
        ),
    ] = None,
    min_age: Annotated[
        float | None,
        typer.Option(
            min=0,
            metavar="SECONDS",
            help="Validation leaves out documents written less than this long ago (in flight).",
        ),
    ] = None,
    recheck: Annotated[
        bool,
        typer.Option("--recheck", help="Validation re-reads each difference once after a pause."),
    ] = False,
    recheck_delay: Annotated[
        float, typer.Option(min=0, metavar="SECONDS", help="The pause before --recheck re-reads.")
    ] = 1.0,
    max_details: Annotated[
        int | None,
        typer.Option(min=0, metavar="N", help="List at most N validation findings of each kind."),
    ] = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="text, json or junit (JUnit XML).")
    ] = ReportFormat.text,
    output: Annotated[
        Path | None,
        typer.Option("--output", metavar="PATH", help="Write the report to this file."),
    ] = None,
    summary_file: SummaryFile = None,
    quiet: Quiet = False,
) -> None:
    """May we move to the next phase? Runs doctor, a full validation (recorded, as `validate`
    records it) and the guards of `phase set <next>`; prints each item and what fixes it.

    Exit 0 ready, 1 not ready, 2 on a usage or fatal error."""
    with record_run(json_dir, "check") as run:
        result = check(
            json_dir,
            db,
            schema,
            ignore_paths=ignore_path,
            min_age=min_age,
            recheck=recheck,
            recheck_delay=recheck_delay,
            max_details=max_details,
        )
        run.outcome = "ok" if result.ready else "differences"
        run.counts = {"items": len(result.items), "failed": len(result.failed)}
    if summary_file is not None:
        write_summary(result.to_dict(), summary_file)
    if output is not None:
        write_output(render_check(result, output_format.value), output)
        if not quiet:
            typer.echo(check_summary(result))
            typer.echo(f"report written to {output}")
    elif output_format is ReportFormat.text:
        for number, line in enumerate(check_lines(result)):
            color = ("green" if result.ready else "red") if number == 0 else None
            typer.secho(line, fg=color)
    else:
        typer.echo(render_check(result, output_format.value), nl=False)
        if not quiet:
            typer.echo(check_summary(result), err=True)
    if not result.ready:
        raise typer.Exit(1)
