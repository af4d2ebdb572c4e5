"""`migrator validate`: prove the SQL store holds exactly what the JSON store holds."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer

from migrator.cli.app import app
from migrator.cli.option_groups import arguments, parameter
from migrator.cli.options import CompareArgs, Partitions, ReportArgs, ReportFormat, StoreArgs
from migrator.cli.output import emit_report, warn

#: Findings listed on the terminal; the counts, --format json and --output have them all.
LISTED_FINDINGS = 50

if TYPE_CHECKING:
    from migrator.validator import ValidationReport


Sample = Annotated[
    int | None, typer.Option(min=1, metavar="N", help="Compare a random sample of N documents.")
]
Seed = Annotated[
    int | None, typer.Option(metavar="N", help="Seed of --sample, to draw the same sample again.")
]


@dataclass(frozen=True)
class ValidateArgs(CompareArgs):
    """The comparison, over some partitions or a sample: `migrator.validate`'s parameters."""

    partition: Partitions = field(default=None, metadata=parameter("partitions"))
    sample: Sample = None
    seed: Seed = None


@app.command("validate")
def validate_command(run: ValidateArgs, report: ReportArgs) -> None:
    """Compare the JSON store with the SQL database, document by document; read-only.

    Exit 0 when they agree, 1 when there are differences, 2 on a usage or fatal error."""
    from migrator.cli.progress import validate_progress
    from migrator.cli.report import render_validation, validation_summary
    from migrator.run_validate import validate

    text = report.output_format is ReportFormat.text and report.output is None
    with validate_progress(enabled=text and not report.quiet and sys.stdout.isatty()) as progress:
        result = validate(**arguments(run), progress=progress, notice=warn)
    emit_report(
        report,
        data=result.to_dict(),
        render=lambda fmt: render_validation(result, fmt),
        summary=validation_summary(result),
        print_text=lambda: _print_text(result, run),
    )
    if not result.ok:
        raise typer.Exit(1)


def _print_text(report: ValidationReport, run: StoreArgs) -> None:
    """The summary and at most LISTED_FINDINGS findings (--format json and --output list every
    one); against a database that holds nothing yet, one line that says so."""
    from rich.console import Console

    from migrator.cli.report import nothing_imported, validation_summary, validation_text
    from migrator.hints import command

    console = Console(highlight=False)
    if nothing_imported(report):
        console.print(validation_summary(report), style="red", markup=False)
        importing = command("import", json_dir=run.json_dir, db=run.db, schema=run.schema)
        console.print(
            f"the database holds no documents yet: run {importing}", markup=False, soft_wrap=True
        )
        return
    for item in validation_text(report, limit=LISTED_FINDINGS):
        console.print(item)
