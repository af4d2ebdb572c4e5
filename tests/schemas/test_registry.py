"""`resolve`: a built-in name or `package.module:attribute` to a Schema, or a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.errors import MigratorError, SchemaError, SchemaNotFoundError
from migrator.schemas.declaration import choices_field
from migrator.schemas.registry import builtin_names, resolve
from migrator.schemas.sessions import SESSIONS
from tests.second_schema import NOTES


def test_builtin_name() -> None:
    """`sessions` is the reference schema."""
    assert resolve("sessions") is SESSIONS
    assert builtin_names() == ("sessions",)


def test_module_attribute() -> None:
    """`package.module:attribute` imports the module and returns its Schema."""
    assert resolve("tests.second_schema:NOTES") is NOTES
    assert resolve("migrator.schemas.sessions:SESSIONS") is SESSIONS


def test_schema_value_passes_through() -> None:
    """A Schema value is its own reference."""
    assert resolve(NOTES) is NOTES


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("nope", "not a built-in schema (sessions) nor of the form package.module:attribute"),
        ("", "not a built-in schema (sessions) nor of the form package.module:attribute"),
        ("migrator.schemas.sessions:", "not a built-in schema (sessions) nor of the form"),
        (":SESSIONS", "not a built-in schema (sessions) nor of the form"),
        ("no_such_module_x:S", "cannot import no_such_module_x: No module named"),
        (
            "migrator.schemas.sessions:NOPE",
            "migrator.schemas.sessions:NOPE is nothing, not a Schema",
        ),
        (
            "migrator.schemas.sessions:SESSION_TYPES",
            "migrator.schemas.sessions:SESSION_TYPES is tuple, not a Schema",
        ),
    ],
)
def test_unresolvable(reference: str, reason: str) -> None:
    """Anything else is a SchemaNotFoundError naming the reference and why (exit code 2)."""
    with pytest.raises(SchemaNotFoundError) as caught:
        resolve(reference)
    error = caught.value
    assert error.reference == reference
    assert error.reason.startswith(reason)
    assert str(error).startswith(f"schema {reference!r}: ")
    assert isinstance(error, MigratorError) and error.exit_code == 2


def test_module_that_fails_to_import_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema module that itself fails to import gives the import error, not a traceback."""
    (tmp_path / "broken_schema_mod.py").write_text("import does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SchemaNotFoundError, match="does_not_exist_anywhere"):
        resolve("broken_schema_mod:S")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("raise RuntimeError('boom\\nsecond line')\n", "RuntimeError: boom second line"),
        ("S = (\n", "SyntaxError: '(' was never closed"),
    ],
)
def test_a_schema_module_failing_as_it_runs_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, reason: str
) -> None:
    """Issue 20 point 5, found from outside: a user's module that raises anything else than
    an ImportError while it is imported (a bug of its own, a syntax error, SQLAlchemy refusing
    a table declared twice) is a SchemaNotFoundError on one line, the original kept as its
    cause, for Python callers and the CLI alike (which printed a traceback and exited 1)."""
    name = f"failing_schema_{abs(hash(body))}"
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SchemaNotFoundError) as caught:
        resolve(f"{name}:S")
    assert caught.value.reason.startswith(f"importing {name} failed: {reason}")
    assert "\n" not in str(caught.value) and caught.value.__cause__ is not None
    result = CliRunner().invoke(
        app, ["init", "--db", str(tmp_path / "x.db"), "--schema", f"{name}:S"]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: schema '{name}:S': importing {name} failed: ")


def test_choices_field_without_a_value_is_a_schema_error() -> None:
    """A text column limited to no value at all would refuse every document."""
    with pytest.raises(SchemaError, match="needs at least one value"):
        choices_field()
