"""`migrator validate`: prove the SQL store holds exactly what the JSON store holds."""

from __future__ import annotations

import sys
from pathlib import Path
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
from migrator.cli.output import emit_report, warn

#: Findings listed on the terminal; the counts, --format json and --output have them all.
LISTED_FINDINGS = 50

if TYPE_CHECKING:
    from migrator.validator import ValidationReport


IgnorePath = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore-path",
        metavar="REGEX",
        # Rich markup: "\\\\[" shows as a backslash and a bracket.
        help="A DeepDiff path allowed to differ, as a regular expression "
        "(repeatable), e.g. \"root\\\\['updated_at'\\]\".",
    ),
]
Partition = Annotated[
    list[str] | None,
    typer.Option("--partition", metavar="NAME", help="Only this partition (repeatable)."),
]
Sample = Annotated[
    int | None, typer.Option(min=1, metavar="N", help="Compare a random sample of N documents.")
]
Seed = Annotated[
    int | None, typer.Option(metavar="N", help="Seed of --sample, to draw the same sample again.")
]


@app.command("validate")
def validate_command(
    json_dir: JsonDir,
    db: Db,
    schema: SchemaRef = "sessions",
    ignore_path: IgnorePath = None,
    partition: Partition = None,
    sample: Sample = None,
    seed: Seed = None,
    max_details: MaxDetails = None,
    output_format: Format = ReportFormat.text,
    output: Output = None,
    min_age: MinAge = None,
    recheck: Recheck = False,
    recheck_delay: RecheckDelay = 1.0,
    summary_file: SummaryFile = None,
    quiet: Quiet = False,
) -> None:
    """Compare the JSON store with the SQL database, document by document; read-only.

    Exit 0 when they agree, 1 when there are differences, 2 on a usage or fatal error."""
    from migrator.cli.progress import validate_progress
    from migrator.run_validate import validate

    text = output_format is ReportFormat.text and output is None
    with validate_progress(enabled=text and not quiet and sys.stdout.isatty()) as progress:
        report = validate(
            json_dir,
            db,
            schema,
            ignore_paths=ignore_path or (),
            partitions=partition or None,
            sample=sample,
            max_details=max_details,
            seed=seed,
            min_age=min_age,
            recheck=recheck,
            recheck_delay=recheck_delay,
            progress=progress,
            notice=warn,
        )
    _show(report, (json_dir, db, schema), output_format, output, summary_file, quiet)


def _show(
    report: ValidationReport,
    stores: tuple[Path, str, str],
    output_format: ReportFormat,
    output: Path | None,
    summary_file: Path | None,
    quiet: bool,
) -> None:
    """The report where it was asked for; exit 1 when the stores differ."""
    from migrator.cli.report import render_validation, validation_summary, write_summary

    if summary_file is not None:
        write_summary(report.to_dict(), summary_file)
    emit_report(
        render=lambda fmt: render_validation(report, fmt),
        summary=validation_summary(report),
        output_format=output_format,
        output=output,
        quiet=quiet,
        print_text=lambda: _print_text(report, *stores),
    )
    if not report.ok:
        raise typer.Exit(1)


def _print_text(report: ValidationReport, json_dir: Path, db: str, schema: str) -> None:
    """The summary and at most LISTED_FINDINGS findings (--format json and --output list every
    one); against a database that holds nothing yet, one line that says so."""
    from rich.console import Console

    from migrator.cli.report import nothing_imported, validation_summary, validation_text
    from migrator.hints import command

    console = Console(highlight=False)
    if nothing_imported(report):
        console.print(validation_summary(report), style="red", markup=False)
        importing = command("import", json_dir=json_dir, db=db, schema=schema)
        console.print(
            f"the database holds no documents yet: run {importing}", markup=False, soft_wrap=True
        )
        return
    for item in validation_text(report, limit=LISTED_FINDINGS):
        console.print(item)
