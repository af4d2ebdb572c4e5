"""Shared fixtures: real stores in tmp_path, seeded from fixtures/ (no mocks of a database)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve
from tests import soak
from tests.databases import database_for

# The throwaway PostgreSQL server and its fixtures (`pg_url`, `pg_db_url`); the reliability
# suite's summary line (added up across xdist workers).
pytest_plugins = ["tests.pg_server", "tests.reliability.tally"]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak", action="store_true", default=False, help="run the heavy reliability variants"
    )


def pytest_configure(config: pytest.Config) -> None:
    soak.SOAK = bool(config.getoption("--soak"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `soak` is a heavier variant of a property a lighter test in `make test`
    already proves: it runs only with `--soak` (`make soak`), to keep CI in its time budget."""
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="a heavier variant: runs with --soak (make soak)")
    for item in items:
        if item.get_closest_marker("soak"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sessions_schema() -> Schema:
    return resolve("sessions")


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """The test's database: a SQLite file in tmp_path, or (the `postgresql` case of a test
    decorated with `tests.databases.on_both`) a fresh database on the test server's URL."""
    return database_for(request, tmp_path)


@pytest.fixture
def fixture_store_dir(tmp_path: Path) -> Path:
    """A private copy of the committed fixture store."""
    target = tmp_path / "json"
    shutil.copytree(FIXTURES / "store", target)
    return target


@pytest.fixture
def json_store(fixture_store_dir: Path, sessions_schema: Schema) -> JsonStore:
    return JsonStore(fixture_store_dir, sessions_schema)


@pytest.fixture
def sqlite_store(tmp_path: Path, sessions_schema: Schema) -> SqlStore:
    store = SqlStore(tmp_path / "sessions.db", sessions_schema)
    store.init_schema()
    yield store  # type: ignore[misc]
    store.close()
