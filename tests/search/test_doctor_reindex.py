"""`doctor` sees a full-text index that disagrees with its rows and names the fix;
`migrator reindex` rebuilds it; a backup's SQL dump replays into a database that searches."""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.backup import create_backup
from migrator.cli import app
from migrator.doctor import diagnose
from migrator.schemas.declaration import Schema
from tests.conftest import FIXTURES
from tests.search.helpers import index_problems, ranked

runner = CliRunner()


def _stores(tmp_path: Path, schema: Schema) -> tuple[Path, Path]:
    json_dir, db = tmp_path / "json", tmp_path / "s.db"
    shutil.copytree(FIXTURES / "store", json_dir)
    sql = SqlStore(db, schema)
    try:
        for partition, document in JsonStore(json_dir, schema).iter_documents():
            sql.put(partition, document)
    finally:
        sql.close()
    return json_dir, db


def _search_checks(json_dir: Path, db: Path, schema: Schema) -> dict[str, str]:
    report = diagnose(json_dir, db, schema)
    return {c.name: c.status for c in report.checks if c.name.startswith("search index")}


def test_writes_that_bypassed_the_index_are_found_and_reindex_repairs_them(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """A message inserted by raw SQL, outside the store: doctor says which field disagrees and
    the exact command; after `migrator reindex` every field agrees and search finds it."""
    json_dir, db = _stores(tmp_path, sessions_schema)
    with sqlite3.connect(db) as conn:
        session_id = conn.execute("SELECT id FROM sessions ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute(
            "INSERT INTO chat_messages (position, id, session_id, role, content, timestamp) "
            "VALUES (99, 'raw-1', ?, 'user', 'a pangolin appears', '2025-01-01T00:00:00Z')",
            (session_id,),
        )
    sql = SqlStore(db, sessions_schema, create=False)
    assert [h.doc_id for h in sql.search("pangolin")] == []
    sql.close()
    report = diagnose(json_dir, db, sessions_schema)
    problems = [c for c in report.problems if c.name.startswith("search index")]
    assert [c.name for c in problems] == ["search index chat_history.content"]
    assert f"migrator reindex --db {db}" in problems[0].detail
    result = runner.invoke(app, ["reindex", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "chat_history.content 82" in result.output
    assert set(_search_checks(json_dir, db, sessions_schema).values()) == {"ok"}
    sql = SqlStore(db, sessions_schema, create=False)
    try:
        assert [h.doc_id for h in sql.search("pangolin")] == [session_id]
        assert index_problems(sql) == []
    finally:
        sql.close()


def test_a_damaged_index_is_a_problem_and_reindex_rebuilds_it(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """Index pages lost (the shadow table emptied): the integrity check against the rows
    fails, doctor exits 1 naming the fix, and reindex brings back the JSON scan's answer."""
    json_dir, db = _stores(tmp_path, sessions_schema)
    with sqlite3.connect(db) as conn:
        conn.execute('DELETE FROM "fts_sessions_task_data" WHERE id > 10')
    doctor = runner.invoke(app, ["doctor", "--json-dir", str(json_dir), "--db", str(db)])
    assert doctor.exit_code == 1
    assert _search_checks(json_dir, db, sessions_schema)["search index task"] == "problem"
    assert runner.invoke(app, ["reindex", "--db", str(db)]).exit_code == 0
    assert set(_search_checks(json_dir, db, sessions_schema).values()) == {"ok"}
    sql = SqlStore(db, sessions_schema, create=False)
    try:
        json_store = JsonStore(json_dir, sessions_schema)
        assert ranked(sql.search("refactor", limit=50)) == ranked(
            json_store.search("refactor", limit=50)
        )
    finally:
        sql.close()


def test_the_backup_sql_dump_replays_into_a_database_that_searches(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """The dump leaves out the index's own tables and builds the index after the rows: the
    replayed database answers as the original does and its index agrees with its rows."""
    json_dir, db = _stores(tmp_path, sessions_schema)
    result = create_backup(json_dir, db, sessions_schema, sql=True, out_dir=tmp_path / "b")
    script = gzip.decompress((result.path / "database.sql.gz").read_bytes()).decode()
    rebuilt = tmp_path / "rebuilt.db"
    with sqlite3.connect(rebuilt) as conn:
        conn.executescript(script)
    original, copy = SqlStore(db, sessions_schema), SqlStore(rebuilt, sessions_schema)
    try:
        assert index_problems(copy) == []
        for text in ("refactor", "error", '"the session"', "fix*"):
            assert ranked(copy.search(text, limit=50)) == ranked(original.search(text, limit=50))
    finally:
        original.close()
        copy.close()
