"""Where a report goes: a file (`--output`), or stdout with the summary line beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from migrator.cli.options import ReportArgs, ReportFormat


def warn(line: str) -> None:
    """Where a library verb's notices go on the command line: one line on stderr."""
    typer.echo(line, err=True)


def emit_report(
    args: ReportArgs,
    *,
    data: dict[str, Any],
    render: Callable[[str], str],
    summary: str,
    print_text: Callable[[], None],
) -> None:
    """Show a report as `args` ask: `data` (the JSON object) to --summary-file if given; with
    --output the file gets the report and stdout the summary; as text it is printed for
    people; as json/junit it goes to stdout and the summary to stderr, so a pipe receives only
    the report."""
    from migrator.cli.report import write_output, write_summary

    if args.summary_file is not None:
        write_summary(data, args.summary_file)
    if args.output is not None:
        write_output(render(args.output_format.value), args.output)
        if not args.quiet:
            typer.echo(summary)
            typer.echo(f"report written to {args.output}")
    elif args.output_format is ReportFormat.text:
        print_text()
    else:
        typer.echo(render(args.output_format.value), nl=False)
        if not args.quiet:
            typer.echo(summary, err=True)
