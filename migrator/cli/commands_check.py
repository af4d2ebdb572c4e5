"""`migrator check`: may we move to the next phase? A checklist, for people and for CI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from migrator.cli.app import app
from migrator.cli.options import (
    Db,
    Format,
    JsonDir,
    MaxDetails,
    MinAge,
    Output,
    Quiet,
    Recheck,
    RecheckDelay,
    ReportFormat,
    SchemaRef,
    SummaryFile,
)
from migrator.cli.output import emit_report

if TYPE_CHECKING:
    from migrator.check import CheckResult


IgnorePath = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore-path",
        metavar="REGEX",
        help="A DeepDiff path allowed to differ (repeatable; default: those recorded with "
        "`migrator phase configure`).",
    ),
]


@app.command("check")
def check_command(
    json_dir: JsonDir,
    db: Db,
    schema: SchemaRef = "sessions",
    ignore_path: IgnorePath = None,
    min_age: MinAge = None,
    recheck: Recheck = False,
    recheck_delay: RecheckDelay = 1.0,
    max_details: MaxDetails = None,
    output_format: Format = ReportFormat.text,
    output: Output = None,
    summary_file: SummaryFile = None,
    quiet: Quiet = False,
) -> None:
    """May we move to the next phase? Runs doctor, a full validation (recorded, as `validate`
    records it) and the guards of `phase set <next>`; prints each item and what fixes it.

    Exit 0 ready, 1 not ready, 2 on a usage or fatal error."""
    from migrator.cli.report import check_summary, render_check, write_summary
    from migrator.run_validate import check

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
    if summary_file is not None:
        write_summary(result.to_dict(), summary_file)
    emit_report(
        render=lambda fmt: render_check(result, fmt),
        summary=check_summary(result),
        output_format=output_format,
        output=output,
        quiet=quiet,
        print_text=lambda: _print_lines(result),
    )
    if not result.ready:
        raise typer.Exit(1)


def _print_lines(result: CheckResult) -> None:
    from migrator.cli.report import check_lines

    for number, line in enumerate(check_lines(result)):
        color = ("green" if result.ready else "red") if number == 0 else None
        typer.secho(line, fg=color)
