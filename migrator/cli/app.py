"""The Typer application every command module adds its commands to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import typer._click as click  # typer vendors click; its Context type lives here
from typer.core import TyperGroup

from migrator import __version__
from migrator.cli.defaults import default_map
from migrator.cli.option_groups import App
from migrator.config import CONFIG_ENV, find_config
from migrator.errors import ImportInterrupted, MigratorError


class _MigratorGroup(TyperGroup):
    """The one place a `MigratorError` becomes a one-line message and its exit code (and an
    interrupted import its line and 130)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImportInterrupted as stop:  # printed once the command's progress bar is gone
            typer.echo(str(stop), err=True)
            raise typer.Exit(130) from None
        except MigratorError as exc:
            if ctx.params.get("debug"):
                raise
            typer.secho(f"error: {redacted_message(exc)}", err=True, fg="red")
            raise typer.Exit(exc.exit_code) from None


app = App(
    cls=_MigratorGroup,
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
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            envvar=CONFIG_ENV,
            help="Config file to read defaults from (default: ./migrator.toml, or "
            "\\[tool.migrator] in ./pyproject.toml).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Global options. Settings come from flags, then MIGRATOR_* variables, then the config
    file, then built-in defaults."""
    project = find_config(Path.cwd(), config)
    ctx.obj = {"debug": debug, "config": project}
    ctx.default_map = default_map(ctx.command, project)


def redacted_message(exc: Exception) -> str:
    """The error's line as the command line shows it: every database password hidden, each
    parameter it names shown as its flag (imported only on an error: the CLI starts without
    the adapters)."""
    from migrator.adapters.redact import redact_text
    from migrator.cli.flags import with_flags

    text = redact_text(str(exc))
    return with_flags(exc, text) if isinstance(exc, MigratorError) else text
