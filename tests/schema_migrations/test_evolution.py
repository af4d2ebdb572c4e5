"""A live store through three schema versions and back, on SQLite and PostgreSQL.

v1 -> v2: an optional column promoted from `extra`, with an index. v2 -> v3: a column dropped
back into `extra`, and a new child list split out of it. Then down to v2 and to v1. At every
step the application writes through the dual-write store with that step's code, a catch-up
`import` runs, and `validate` finds both stores exact; code of another version is refused.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from migrator.adapters.dialects import database_url
from tests.schema_migrations.project import Project

V1 = """
from sqlmodel import Field
from migrator.schemas import ChildList, DocumentRow, Schema

class Item(DocumentRow, table=True):
    __tablename__ = "evo_items"
    id: str = Field(primary_key=True)
    folder: str
    title: str
    color: str | None = None

class Tag(DocumentRow, table=True):
    __tablename__ = "evo_tags"
    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(foreign_key="evo_items.id", ondelete="CASCADE")
    label: str

SCHEMA = Schema(name="evo", version=1, root=Item, partition_column="folder",
                children=(ChildList(key="tags", model=Tag, parent_column="item_id",
                                    surrogate_key="id"),))
"""
V2 = V1.replace(
    "    color: str | None = None\n",
    "    color: str | None = None\n    stars: int | None = Field(default=None, index=True)\n",
).replace("version=1", "version=2")
V3 = (
    V2.replace("    color: str | None = None\n", "")
    .replace(
        "SCHEMA = Schema(",
        "class Link(DocumentRow, table=True):\n"
        '    __tablename__ = "evo_links"\n'
        "    id: int | None = Field(default=None, primary_key=True)\n"
        '    item_id: str = Field(foreign_key="evo_items.id", ondelete="CASCADE")\n'
        "    url: str\n"
        "    rank: int | None = None\n\n"
        "SCHEMA = Schema(",
    )
    .replace(
        'surrogate_key="id"),))',
        'surrogate_key="id"),\n'
        '                          ChildList(key="links", model=Link, parent_column="item_id",\n'
        '                                    surrogate_key="id")))',
    )
    .replace("version=2", "version=3")
)

STORE = {
    "f1": [
        {"id": "a", "title": "t", "stars": 5, "color": "red", "links": [{"url": "u1"}]},
        {"title": "t", "id": "b", "links": [], "tags": [{"label": "x"}], "zz": [1, 1.0]},
        {"id": "c", "title": "t", "stars": 2**70, "color": None, "tags": []},
    ],
    "f2": [
        {"id": "d", "stars": None, "title": "t", "links": [{"rank": 2, "url": "u2"}, {"url": "u"}]},
        {"id": "e", "title": "t", "color": "blue\u00e9"},
    ],
}


#: The dialects a test runs on; the whole v1 -> v3 -> v1 walk on PostgreSQL is a heavier variant
#: (--soak) of its SQLite walk plus the PostgreSQL upgrade of the SIGKILL test below.
DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
WALK_DIALECTS = [
    "sqlite",
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.soak]),
]


@pytest.fixture
def project(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Project]:
    db = request.getfixturevalue("pg_db_url") if dialect == "postgresql" else None
    p = Project(tmp_path, db)
    for name, docs in STORE.items():
        (p.json_dir / f"{name}.json").write_text(json.dumps(docs), encoding="utf-8")
    for name, text in (("evo_v1", V1), ("evo_v2", V2), ("evo_v3", V3)):
        p.write_module(name, text)
    yield p


class Step:
    """The commands of one schema version's code."""

    def __init__(self, p: Project, version: int) -> None:
        self.p = p
        self.schema = ("--schema", f"evo_v{version}:SCHEMA")
        self.version = version

    def db(self, *args: str) -> str:
        return self.p.ok("db", *args, "--db", self.p.db, *self.schema)

    def write(self, doc: dict[str, Any], partition: str = "f2") -> str:
        """Put `doc` through the application's dual-write store; its stderr (journaled
        secondary failures are logged there)."""
        code = (
            "import json, logging\n"
            "logging.basicConfig()\n"
            "from migrator.adapters.dual_write import open_store\n"
            f"with open_store({str(self.p.json_dir)!r}, {self.p.db!r}, "
            f"'evo_v{self.version}:SCHEMA') as store:\n"
            f"    store.put({partition!r}, json.loads({json.dumps(doc)!r}))\n"
        )
        result = self.p.python(code)
        assert result.code == 0, result.err
        return result.err

    def exact(self) -> None:
        """A catch-up import, then validate: both stores hold the same documents exactly."""
        p = self.p
        p.ok("import", "--json-dir", str(p.json_dir), "--db", p.db, *self.schema, "-q")
        out = p.ok("validate", "--json-dir", str(p.json_dir), "--db", p.db, *self.schema)
        assert out.startswith("OK")


def _revision_of(out: str) -> str:
    return out.split()[1]


def _indexes(p: Project) -> set[str]:
    engine = create_engine(database_url(p.db))
    try:
        return {ix["name"] for ix in inspect(engine).get_indexes("evo_items")}
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", WALK_DIALECTS)
def test_store_goes_v1_v2_v3_and_back_to_v1_exact_at_every_step(project: Project) -> None:
    """The whole life: every step exact; a writer of another version is refused (journaled
    in dual-write) and `repair` with the right code copies its write."""
    p = project
    v1, v2, v3 = Step(p, 1), Step(p, 2), Step(p, 3)
    snap = ("--json-dir", str(p.json_dir)) if p.db.endswith(".db") else ("--no-snapshot",)
    v1.exact()
    p.ok("phase", "set", "dual-write", "--json-dir", str(p.json_dir), "--db", p.db, *v1.schema)
    v1.write({"id": "w1", "title": "v1 write", "stars": 1, "links": [{"url": "w"}]})
    v1.exact()

    p.ok("db", "init")
    rev2 = _revision_of(v2.db("revision", "--autogenerate", "-m", "stars"))
    v2.db("upgrade", *snap)
    assert "ix_evo_items_stars" in _indexes(p)
    # Code of the old version: JSON (the primary) takes the write, SQL refuses it, the
    # journal keeps it for `repair`, which the new code runs.
    refused = v1.write({"id": "w0", "title": "old code", "stars": 0})
    assert "the code is older than the database" in refused
    p.ok("repair", "--json-dir", str(p.json_dir), "--db", p.db, *v2.schema)
    v2.write({"id": "w2", "title": "v2", "stars": 7, "color": "green"})
    v2.exact()
    if p.db.endswith(".db"):
        stars = p.sqlite_rows("SELECT id, stars FROM evo_items WHERE id IN ('a', 'c', 'w2')")
        assert dict(stars) == {"a": 5, "c": None, "w2": 7}  # 2**70 stays in extra

    v3.db("revision", "--autogenerate", "-m", "links, no color")
    v3.db("upgrade", *snap)
    v3.write({"id": "w3", "links": [{"url": "x", "rank": 1}], "title": "v3", "color": "c"})
    v3.exact()

    v2.db("downgrade", rev2, *snap)
    v2.write({"id": "w4", "title": "v2 again", "links": [{"url": "y"}]})
    v2.exact()

    v1.db("downgrade", "base", *snap)
    assert "ix_evo_items_stars" not in _indexes(p)
    v1.write({"id": "w5", "title": "v1 again", "stars": 3})
    v1.exact()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_sigkill_mid_upgrade_keeps_v1_and_the_rerun_finishes(project: Project) -> None:
    """Killed after the DDL and the data moves, before the commit: v1's code still reads the
    store exactly (SQLite and PostgreSQL alike roll the upgrade back whole); run again, the
    upgrade finishes and v2's code reads it exactly."""
    p = project
    v1, v2 = Step(p, 1), Step(p, 2)
    v1.exact()
    p.ok("db", "init")
    v2.db("revision", "--autogenerate", "-m", "stars")
    killed = p.cli(
        "db",
        "upgrade",
        "--no-snapshot",
        "--db",
        p.db,
        *v2.schema,
        env=p.env(MIGRATOR_CRASH_AT="db.before_commit"),
    )
    assert killed.code == -signal.SIGKILL
    v1.exact()
    assert "behind" in v2.db("current")
    v2.db("upgrade", "--no-snapshot")
    v2.exact()
