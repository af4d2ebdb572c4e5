"""Every CLI command only parses, calls one library verb and renders its result: its body (the
statements after the signature and the docstring) is at most 25 lines (issue 20 point 1)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import typer

from migrator.cli import app

MAX_BODY_LINES = 25


def commands(group: typer.Typer, prefix: str = "") -> Iterator[tuple[str, Callable[..., Any]]]:
    """(name, callback) of every command of `group` and of its sub-groups."""
    for info in group.registered_commands:
        assert info.callback is not None
        yield f"{prefix}{info.name or info.callback.__name__}", info.callback
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        yield from commands(sub.typer_instance, f"{prefix}{sub.name} ")


def body_lines(function: Callable[..., Any]) -> int:
    """The lines from the first statement after the docstring to the function's last line."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring: the command's --help
    if not body:
        return 0
    end = body[-1].end_lineno
    assert end is not None
    return end - body[0].lineno + 1


def test_there_are_commands_to_measure() -> None:
    """The walk finds the commands and the sub-groups' commands."""
    names = {name for name, _ in commands(app)}
    assert {"import", "validate", "check", "phase set", "db upgrade", "restore"} <= names


def test_every_command_is_parse_call_render() -> None:
    """No command's body is over MAX_BODY_LINES lines: the work is in the library's verbs."""
    long = {
        name: lines
        for name, callback in commands(app)
        if (lines := body_lines(callback)) > MAX_BODY_LINES
    }
    assert long == {}


def test_the_measure_counts_what_it_should() -> None:
    """A docstring is not counted; every statement line after it is."""

    def sample() -> None:
        """Help text,
        two lines."""
        x = 1
        if x:
            x += 1

    assert body_lines(sample) == 3
