"""The `migrator` command line: thin faces over the library in `migrator`.

Each command module parses, calls one library function and renders its result. The one place
that turns a `MigratorError` into a one-line message and an exit code is the app's group
(`migrator.cli.app`); `main` adds the same for errors raised outside a command.
"""

from __future__ import annotations

import sys

import typer

from migrator.cli import (  # noqa: F401  (register commands)
    commands_check,
    commands_config,
    commands_db,
    commands_import,
    commands_init,
    commands_phase,
    commands_query,
    commands_safety,
    commands_search,
    commands_validate,
)
from migrator.cli.app import app, redacted_message
from migrator.cli.help_text import tidy
from migrator.errors import MigratorError

__all__ = ["app", "main", "run"]

tidy(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; a `MigratorError` becomes one line on stderr."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="migrator")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except MigratorError as exc:
        if "--debug" in args:
            raise
        typer.secho(f"error: {redacted_message(exc)}", err=True, fg="red")
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
