"""`migrator check`: may we move to the next phase? A checklist, for people and for CI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from migrator.cli.app import app
from migrator.cli.option_groups import arguments
from migrator.cli.options import CompareArgs, ReportArgs
from migrator.cli.output import emit_report

if TYPE_CHECKING:
    from migrator.checklist import CheckResult


@app.command("check")
def check_command(run: CompareArgs, report: ReportArgs) -> None:
    """May we move to the next phase? Runs doctor, a full validation (recorded, as `validate`
    records it) and the guards of `phase set <next>`; prints each item and what fixes it.

    Exit 0 ready, 1 not ready, 2 on a usage or fatal error."""
    from migrator.cli.report import check_summary, render_check
    from migrator.run_validate import check

    result = check(**arguments(run))
    emit_report(
        report,
        data=result.to_dict(),
        render=lambda fmt: render_check(result, fmt),
        summary=check_summary(result),
        print_text=lambda: _print_lines(result),
    )
    if not result.ready:
        raise typer.Exit(1)


def _print_lines(result: CheckResult) -> None:
    from migrator.cli.report import check_lines

    for number, line in enumerate(check_lines(result)):
        color = ("green" if result.ready else "red") if number == 0 else None
        typer.secho(line, fg=color)
