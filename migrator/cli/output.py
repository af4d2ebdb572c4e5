"""Where a report goes: a file (`--output`), or stdout with the summary line beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from migrator.cli.options import ReportFormat


def warn(line: str) -> None:
    """Where a library verb's notices go on the command line: one line on stderr."""
    typer.echo(line, err=True)


def emit_report(
    *,
    render: Callable[[str], str],
    summary: str,
    output_format: ReportFormat,
    output: Path | None,
    quiet: bool,
    print_text: Callable[[], None],
) -> None:
    """Print or write a report: with --output the file gets it and stdout the summary; as
    text it is printed for people; as json/junit it goes to stdout and the summary to stderr,
    so a pipe receives only the report."""
    if output is not None:
        from migrator.cli.report import write_output

        write_output(render(output_format.value), output)
        if not quiet:
            typer.echo(summary)
            typer.echo(f"report written to {output}")
    elif output_format is ReportFormat.text:
        print_text()
    else:
        typer.echo(render(output_format.value), nl=False)
        if not quiet:
            typer.echo(summary, err=True)
