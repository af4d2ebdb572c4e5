"""One suite over both databases: a test decorated with `on_both` runs once on a SQLite file and
once on a fresh PostgreSQL database of the test server, through the `database` fixture (in
tests/conftest.py), which a suite's store fixtures take instead of a path of their own. So the
PostgreSQL runs reuse the SQLite suites' tests and set-up; tests/postgres keeps only what
exists on PostgreSQL alone (pg_dump, a server going away, its type limits).
"""

from __future__ import annotations

from pathlib import Path

import pytest

SQLITE, POSTGRESQL = "sqlite", "postgresql"
#: The `database` parameters of a test that runs on both.
BOTH = [SQLITE, pytest.param(POSTGRESQL, marks=pytest.mark.postgres)]
#: Decorates a test (or a class) to run on SQLite and on PostgreSQL.
on_both = pytest.mark.parametrize("database", BOTH, indirect=True)
#: Decorates a test of the suite's set-up that only PostgreSQL needs.
on_postgresql = pytest.mark.parametrize("database", BOTH[1:], indirect=True)


def database_for(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """`tmp_path / "sessions.db"`, or under the `postgresql` parameter a new database's URL."""
    if getattr(request, "param", SQLITE) == POSTGRESQL:
        url: str = request.getfixturevalue("pg_db_url")
        return url
    return tmp_path / "sessions.db"
