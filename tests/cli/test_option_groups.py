"""Option groups (`migrator.cli.option_groups`): options several commands share, declared once
as a dataclass, expanded into each command's options and handed to it as one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from migrator.cli.option_groups import App, OptionGroup, arguments, parameter


@dataclass(frozen=True)
class _Where(OptionGroup):
    db: Annotated[str, typer.Option("--db")]
    ignore_path: Annotated[list[str] | None, typer.Option("--ignore-path")] = field(
        default=None, metadata=parameter("ignore_paths")
    )


def test_a_group_is_options_of_the_command_and_one_value_in_it() -> None:
    """The group's fields are the command's options (required or with their default), and
    the command receives the dataclass; `arguments` names each value as the verb does."""
    app = App()
    seen: list[_Where] = []

    @app.command()
    def run(where: _Where, quiet: Annotated[bool, typer.Option("--quiet")] = False) -> None:
        seen.append(where)
        typer.echo(f"{arguments(where)} quiet={quiet}")

    result = CliRunner().invoke(app, ["--db", "a.db", "--ignore-path", "x", "--quiet"])
    assert result.exit_code == 0, result.output
    assert seen == [_Where("a.db", ["x"])]
    assert result.stdout == "{'db': 'a.db', 'ignore_paths': ['x']} quiet=True\n"
    missing = CliRunner().invoke(app, [])
    assert missing.exit_code == 2 and "--db" in missing.output


def test_an_option_declared_twice_is_refused() -> None:
    """A command that takes a group and an option of one of its fields' names cannot be
    registered (one option cannot have two declarations)."""
    app = App()
    with pytest.raises(ValueError, match="duplicate parameter name"):

        @app.command()
        def run(where: _Where, db: Annotated[str, typer.Option("--other")] = "") -> None:
            pass
