"""The Typer application every command module adds its commands to."""

from __future__ import annotations

from typing import Annotated

import typer

from migrator import __version__

app = typer.Typer(
    name="migrator",
    help=(
        "Move a legacy JSON-file store into SQLite (or PostgreSQL) without downtime and "
        "without losing a byte: import, validate, dual-write through four phases, back up.\n\n"
        "Exit codes: 0 ok, 1 differences or rejected records, 2 usage or fatal error."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode="rich",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"migrator {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show a full traceback instead of a one-line error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Global options."""
    ctx.obj = {"debug": debug}
