"""The dialects: an abstract base with SQLite and PostgreSQL side by side (issue 20 point 3)."""

from __future__ import annotations

import inspect

import pytest

from migrator.adapters.dialect_base import Dialect
from migrator.adapters.dialects import PostgresDialect, SqliteDialect

CONCRETE = [SqliteDialect, PostgresDialect]


def _members() -> set[str]:
    """Every method and class attribute the base declares."""
    methods = set(Dialect.__abstractmethods__)
    attributes = set(inspect.get_annotations(Dialect))
    return methods | attributes


def test_the_base_cannot_be_used_as_a_dialect() -> None:
    """Dialect is abstract: nothing can be asked of it directly."""
    with pytest.raises(TypeError, match="abstract"):
        Dialect()  # type: ignore[abstract]


def test_a_dialect_that_forgets_a_method_cannot_be_made() -> None:
    """A new dialect must say how it does everything; it inherits no default."""

    class Partial(Dialect):
        name = "partial"

        def engine(self, url: str):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    with pytest.raises(TypeError, match="abstract"):
        Partial()  # type: ignore[abstract]


@pytest.mark.parametrize("dialect", CONCRETE, ids=lambda d: d.__name__)
def test_each_dialect_defines_every_member_itself(dialect: type[Dialect]) -> None:
    """Each dialect's own class answers every member of the base (none inherited from the
    other dialect or from a default), and derives from the base alone."""
    assert dialect.__bases__ == (Dialect,)
    assert _members() - set(vars(dialect)) == set()


def test_the_base_declares_the_members_the_code_asks() -> None:
    """The base is not empty: the members the stores ask are declared there."""
    assert {"engine", "bulk_insert", "begin_read", "health_checks", "backup_suffix"} <= _members()
