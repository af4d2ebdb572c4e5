"""Reliability fixtures: the soak switch and a synthetic store to import. The summary line of
what the suite tried is tests/reliability/tally.py's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migrator.generate import generate_store
from migrator.schemas.declaration import Schema
from tests.conftest import FIXTURES


@pytest.fixture
def soak(request: pytest.FixtureRequest) -> bool:
    """`--soak`: the heavy variants (`make soak`)."""
    return bool(request.config.getoption("--soak"))


@pytest.fixture(scope="session")
def import_source(tmp_path_factory: pytest.TempPathFactory, sessions_schema: Schema) -> Path:
    """A store to import (read-only: copy it first): 240 synthetic sessions in a few files and
    the committed fixture store with its edge cases."""
    out = tmp_path_factory.mktemp("import-source") / "json"
    generate_store(out, sessions=240, seed=23, schema=sessions_schema)
    for path in (FIXTURES / "store").glob("*.json"):
        shutil.copy(path, out / path.name)
    return out
