"""The reference schema ships its revisions: 0001 builds exactly the declared tables, on
SQLite and PostgreSQL, and a database `init` made is known to be at 0001."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.schema_migrations.project import Project


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated store of 30 sessions and a migrations folder, made once (two CLI processes)
    and copied by `project` for each test; no database yet."""
    p = Project(tmp_path_factory.mktemp("generated"))
    p.ok("generate", "--sessions", "30", "--out", str(p.json_dir / "store"), "-q")
    p.ok("db", "init")
    return p.root


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def project(request: pytest.FixtureRequest, generated: Path, tmp_path: Path) -> Project:
    shutil.copytree(generated, tmp_path, dirs_exist_ok=True)
    db = request.getfixturevalue("pg_db_url") if request.param == "postgresql" else None
    p = Project(tmp_path, db)
    p.json_dir = p.json_dir / "store"
    return p


def test_shipped_revision_builds_the_declared_tables(project: Project) -> None:
    """`db upgrade 0001_sessions` on an empty database runs the shipped script; `db check`
    then finds nothing the declaration says otherwise, and an import validates exactly."""
    p = project
    out = p.ok("db", "upgrade", "0001_sessions", "--db", p.db, "--no-snapshot")
    assert "base -> 0001_sessions (schema version None -> 1)" in out
    check = p.cli("db", "check", "--db", p.db)
    assert check.code == 0, check.out
    p.ok("import", "--json-dir", str(p.json_dir), "--db", p.db, "-q")
    p.ok("validate", "--json-dir", str(p.json_dir), "--db", p.db)
    p.ok("db", "downgrade", "base", "--db", p.db, "--no-snapshot")
    assert "revision base" in p.ok("db", "current", "--db", p.db)


def test_a_database_init_made_is_at_the_shipped_revision(project: Project) -> None:
    p = project
    p.ok("init", "--db", p.db)
    current = p.ok("db", "current", "--db", p.db)
    assert "revision 0001_sessions (inferred from its schema version)" in current
    assert "up to date" in current
    assert p.cli("db", "check", "--db", p.db).code == 0
