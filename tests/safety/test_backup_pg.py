"""Backups, restore and doctor on PostgreSQL: pg_dump archives of the store's tables, restores
in one transaction after the same checks as on SQLite, and the checks doctor can run there.

The stores are the safety tests' (`tests/safety/conftest.py`): the fixture store in JSON and
the same documents in a database, here a fresh PostgreSQL database per test.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from migrator.adapters import postgres_files
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore, table_names
from migrator.backup import create_backup, default_backup_dir
from migrator.backup_manifest import MANIFEST
from migrator.backup_retention import list_backups
from migrator.doctor import diagnose
from migrator.errors import BackupError
from migrator.restore import restore_backup
from migrator.schemas.registry import resolve
from migrator.validator import validate
from tests.databases import on_postgresql
from tests.pg_server import create_database, drop_database, libpq_url
from tests.safety.conftest import Setup, import_into, invoke
from tests.safety.test_backup import backups_while_writing
from tests.safety.test_restore import _change_database, _rehash

#: Every test here runs over the safety suite's `setup`, its database on PostgreSQL.
pytestmark = [pytest.mark.postgres, on_postgresql]
ROOT = Path(__file__).resolve().parents[2]
NOTES = "tests.second_schema:NOTES"


def raw_sql(url: str, *statements: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def all_rows(url: str, schema: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the store, sorted: the database's whole content."""
    with psycopg.connect(libpq_url(url)) as conn:
        return {
            table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)  # type: ignore[arg-type]
            for table in table_names(schema)
        }


def archive_toc(archive: Path) -> str:
    tool = postgres_files.find_tool("pg_restore")
    return subprocess.run(
        [str(tool), "--list", str(archive)], capture_output=True, text=True, check=True
    ).stdout


# --------------------------------------------------------------------------- backup


def test_backup_is_a_custom_archive_of_the_store_tables_only(setup: Setup) -> None:
    """The database copy is a pg_dump custom archive holding the store's tables and not the
    application's other tables; the SQL dump is its text; every file is private."""
    raw_sql(
        str(setup.db), "CREATE TABLE app_users (name text)", "INSERT INTO app_users VALUES ('a')"
    )
    result = create_backup(setup.json_dir, setup.db, setup.schema, sql=True)
    manifest = json.loads((result.path / MANIFEST).read_bytes())
    assert {a["name"] for a in manifest["artifacts"]} == {
        "database.pgdump",
        "database.sql.gz",
        "json-store.tar.gz",
    }
    assert (manifest["schema"], manifest["schema_version"]) == ("sessions", 1)
    assert manifest["database"] == str(setup.db)
    toc = archive_toc(result.path / "database.pgdump")
    for table in table_names(setup.schema):
        assert f"TABLE DATA public {table} " in toc
    assert "app_users" not in toc
    with gzip.open(result.path / "database.sql.gz") as dump:
        text = dump.read().decode()
    assert "COPY public.sessions " in text and "app_users" not in text
    for path in result.path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_backup_while_another_process_writes_then_restore_and_validate(
    setup: Setup, tmp_path: Path
) -> None:
    """Backups taken while a process writes continuously restore to one consistent snapshot:
    the writer's documents are a gapless prefix, each whole, and the fixture documents still
    validate equal to the JSON store."""
    backups, before, after = backups_while_writing(setup, tmp_path, 2)
    restore_backup(backups[-1].path, setup.json_dir, setup.db, setup.schema)
    documents = setup.documents()
    written = sorted(i for i in documents if i.startswith("w-"))
    assert before <= len(written) <= after + 1
    assert written == [f"w-{n:06d}" for n in range(len(written))]  # a prefix: no gaps
    store = setup.sql_store()
    try:
        for doc_id in written:
            doc = store.get(doc_id)
            assert doc is not None and doc["task"] == "x" * 2000
            assert doc["chat_history"][0]["id"] == doc_id.replace("w-", "m-")
        report = validate(JsonStore(setup.json_dir, setup.schema), store)
    finally:
        store.close()
    assert report.counts["matched"] == 36
    assert report.counts["mismatched"] == 0 and report.counts["missing_in_sqlite"] == 0
    assert report.counts["missing_in_json"] == len(written)  # the writer's, in SQL only
    assert diagnose(setup.json_dir, setup.db, setup.schema).healthy


def test_restore_brings_back_the_backup_and_keeps_a_safety_backup(setup: Setup) -> None:
    """After changes, restore gives exactly the backed-up rows; the safety backup taken first
    restores the changed state; the application's other tables are left alone."""
    raw_sql(str(setup.db), "CREATE TABLE app_users (name text)")
    before = all_rows(str(setup.db), setup.schema)
    backup = create_backup(setup.json_dir, setup.db, setup.schema).path
    _change_database(setup)
    raw_sql(str(setup.db), "INSERT INTO app_users VALUES ('added after the backup')")
    changed = all_rows(str(setup.db), setup.schema)
    assert changed != before
    result = restore_backup(backup, setup.json_dir, setup.db, setup.schema)
    assert all_rows(str(setup.db), setup.schema) == before
    with psycopg.connect(libpq_url(str(setup.db))) as conn:
        assert conn.execute("SELECT name FROM app_users").fetchall() == [
            ("added after the backup",)
        ]
    assert result.safety_backup is not None
    restore_backup(result.safety_backup, setup.json_dir, setup.db, setup.schema, snapshot=False)
    assert all_rows(str(setup.db), setup.schema) == changed


def test_restore_into_a_missing_database_creates_it(setup: Setup, pg_url: str) -> None:
    """Restoring into a database that does not exist creates it (no safety backup to take)."""
    backup = create_backup(setup.json_dir, setup.db, setup.schema).path
    target = str(setup.db) + "_new"
    try:
        result = restore_backup(backup, setup.json_dir, target, setup.schema)
        assert result.safety_backup is None
        assert all_rows(target, setup.schema) == all_rows(str(setup.db), setup.schema)
    finally:
        drop_database(pg_url, target)


def test_backup_and_restore_commands_never_show_the_password(setup: Setup) -> None:
    """`backup --sql` then `restore --yes` through the CLI with a password in the URL: exit 0
    each, the database is restored, and the password appears nowhere in the output."""
    secret = "s3cret-Pa55"
    url = str(setup.db).replace("postgres@", f"postgres:{secret}@", 1)  # trust: any password
    where = ("--json-dir", str(setup.json_dir), "--db", url)
    result = invoke("backup", "--sql", *where)
    assert result.exit_code == 0, result.output
    backup = next(default_backup_dir(setup.json_dir).iterdir())
    _change_database(setup)
    restored = invoke("restore", str(backup), "--yes", *where)
    assert restored.exit_code == 0, restored.output
    assert "00000000-0000-4000-8000-000100000000" in setup.documents()
    assert "postgres:***@" in restored.stdout
    assert secret not in result.output + restored.output
    assert secret not in (backup / MANIFEST).read_text()


# --------------------------------------------------------------------------- refusals


def _random_bytes(setup: Setup, backup: Path, elsewhere: Path) -> Path:
    target = elsewhere / "random.pgdump"
    target.write_bytes(os.urandom(20000))
    return target


def _sqlite_backup(setup: Setup, backup: Path, elsewhere: Path) -> Path:
    """A backup of a migrator SQLite database: a migrator backup, but no pg_dump archive."""
    db = elsewhere / "sessions.db"
    import_into(setup.json_dir, db, setup.schema)
    return create_backup(setup.json_dir, db, setup.schema, out_dir=elsewhere).path / (
        "database.sqlite3"
    )


def _foreign_archive(setup: Setup, backup: Path, elsewhere: Path) -> Path:
    """A pg_dump archive of some other application's table."""
    server = str(setup.db).rpartition("/")[0] + "/postgres"
    other = create_database(server)
    try:
        raw_sql(other, "CREATE TABLE invoices (id int)", "INSERT INTO invoices VALUES (1)")
        target = elsewhere / "foreign.pgdump"
        target.touch()
        postgres_files.dump(other, target, ["invoices", "migrator_meta"])
    finally:
        drop_database(server, other)
    return target


def _other_schema(setup: Setup, backup: Path, elsewhere: Path) -> Path:
    """A backup of a migrator database that holds the notes schema."""
    server = str(setup.db).rpartition("/")[0] + "/postgres"
    other = create_database(server)
    try:
        notes = resolve(NOTES)
        SqlStore(other, notes).init_schema()
        path = create_backup(elsewhere, other, notes, out_dir=elsewhere / "b").path
    finally:
        drop_database(server, other)
    return path / "database.pgdump"


def _newer_version(setup: Setup, backup: Path, elsewhere: Path) -> Path:
    """An archive whose migrator_meta records a newer schema version."""
    server = str(setup.db).rpartition("/")[0] + "/postgres"
    other = create_database(server)
    try:
        SqlStore(other, setup.schema).init_schema()
        raw_sql(other, "UPDATE migrator_meta SET value = '99' WHERE key = 'version'")
        target = elsewhere / "newer.pgdump"
        target.touch()
        postgres_files.dump(other, target, table_names(setup.schema))
    finally:
        drop_database(server, other)
    return target


def _checksum_mismatch(setup: Setup, backup: Path, elsewhere: Path) -> Path:
    path = backup / "database.pgdump"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return backup


def _truncated_in_a_consistent_backup(setup: Setup, backup: Path, elsewhere: Path) -> Path:
    """An archive cut short inside its data blocks, with a manifest rewritten to match."""
    path = backup / "database.pgdump"
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 3 // 4])
    return _rehash(backup)


def _damaged_data_in_a_consistent_backup(setup: Setup, backup: Path, elsewhere: Path) -> Path:
    """An archive with bytes overwritten inside its last compressed data block (after the zlib
    header), the manifest rewritten to match: its table of contents still reads."""
    path = backup / "database.pgdump"
    data = bytearray(path.read_bytes())
    block = data.rindex(b"\x78\x9c")
    data[block + 8 : block + 24] = b"\xa5" * 16
    path.write_bytes(bytes(data))
    return _rehash(backup)


Maker = Callable[[Setup, Path, Path], Path]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_random_bytes, "not a pg_dump custom archive"),
        (_sqlite_backup, "not a pg_dump custom archive"),
        (_foreign_archive, "not one of migrator"),
        (_other_schema, "holds schema 'notes', not 'sessions'"),
        (_newer_version, "newer than this toolkit"),
        (_checksum_mismatch, "sha256 differs"),
        (_truncated_in_a_consistent_backup, "damaged pg_dump archive"),
        (_damaged_data_in_a_consistent_backup, "damaged pg_dump archive.*could not uncompress"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:] if callable(value) else "",
)
def test_untrustworthy_backup_is_refused_and_nothing_changes(
    setup: Setup, tmp_path: Path, make: Maker, message: str
) -> None:
    """Each bad backup is refused naming the problem; every row of the database is as it was
    and no safety backup is taken."""
    backup = create_backup(setup.json_dir, setup.db, setup.schema).path
    _change_database(setup)  # so that a restore would be visible
    before = all_rows(str(setup.db), setup.schema)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = make(setup, backup, elsewhere)
    count = len(list_backups(default_backup_dir(setup.json_dir), verify=False))
    with pytest.raises(BackupError, match=message):
        restore_backup(target, setup.json_dir, setup.db, setup.schema)
    assert all_rows(str(setup.db), setup.schema) == before
    assert len(list_backups(default_backup_dir(setup.json_dir), verify=False)) == count


def test_a_failed_restore_rolls_back_whole(setup: Setup) -> None:
    """A restore that fails half way (a table it must drop is held by another table's foreign
    key) changes nothing: one transaction."""
    backup = create_backup(setup.json_dir, setup.db, setup.schema).path
    _change_database(setup)
    raw_sql(
        str(setup.db),
        "CREATE TABLE app_refs (session_id text REFERENCES sessions (id))",
    )
    before = all_rows(str(setup.db), setup.schema)
    with pytest.raises(BackupError, match="rolled back, nothing changed"):
        restore_backup(backup, setup.json_dir, setup.db, setup.schema, snapshot=False)
    assert all_rows(str(setup.db), setup.schema) == before


# --------------------------------------------------------------------------- the tools


def test_a_missing_pg_dump_is_a_one_line_error(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pg_dump on PATH, via pg_config or in the Debian directories, backup says so in
    one line (exit 2) and leaves no backup behind."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(postgres_files, "TOOL_DIRS", str(tmp_path / "none" / "*" / "bin"))
    result = setup.cli("backup")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: pg_dump not found"), lines
    assert "apt-get install postgresql-client" in lines[0]
    assert list_backups(default_backup_dir(setup.json_dir), verify=False) == []


def test_the_password_goes_to_the_tools_in_the_environment_only(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL's password reaches pg_dump as PGPASSWORD, never on its command line nor in the
    error it reports (a recording stand-in for pg_dump that fails)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "record.json"
    fake = bindir / "pg_dump"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"json.dump({{'argv': sys.argv, 'password': os.environ.get('PGPASSWORD')}}, "
        f"open({str(record)!r}, 'w'))\n"
        "sys.stderr.write('pg_dump: error: connection refused\\n')\n"
        "sys.exit(1)\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    secret = "s3cret-Pa55"
    url = str(setup.db).replace("postgres@", f"postgres:{secret}@", 1)  # trust: any password
    result = invoke("backup", "--json-dir", str(setup.json_dir), "--db", url)
    assert result.exit_code == 2
    assert "pg_dump failed: connection refused" in result.stderr
    assert secret not in result.output
    seen = json.loads(record.read_text())
    assert seen["password"] == secret
    assert not any(secret in arg for arg in seen["argv"])


# --------------------------------------------------------------------------- doctor


def test_doctor_is_healthy_and_says_which_checks_do_not_apply(setup: Setup) -> None:
    """The imported store passes; SQLite's integrity_check and journal mode are `n/a`, the
    foreign keys are checked as PostgreSQL enforces them, rows are counted."""
    report = diagnose(setup.json_dir, setup.db, setup.schema)
    assert report.healthy, report.problems
    status = {check.name: check.status for check in report.checks}
    assert status["integrity"] == status["journal mode"] == "skipped"
    assert status["foreign keys"] == status["orphans"] == status["schema version"] == "ok"
    assert status["server"] == "info"
    rows = next(c for c in report.checks if c.name == "rows").data
    assert rows == {"workspaces": 3, "sessions": 36, "instances": 69, "chat_messages": 81}
    result = setup.cli("doctor")
    assert result.exit_code == 0, result.output
    assert "n/a" in result.stdout and "pg_amcheck" in result.stdout


def test_doctor_finds_a_planted_orphan_and_unenforced_keys(setup: Setup) -> None:
    """A chat message whose session does not exist (inserted with triggers off, as a replica
    does) is an orphan; foreign-key triggers left disabled are reported too; exit 1."""
    raw_sql(
        str(setup.db),
        "SET session_replication_role = replica",
        "INSERT INTO chat_messages (id, session_id, role, content, timestamp, position) "
        "VALUES ('orphan-1', 'no-such-session', 'user', 'hi', '2025', 0)",
    )
    problems = {c.name: c.detail for c in diagnose(setup.json_dir, setup.db, setup.schema).problems}
    assert set(problems) == {"orphans"}
    assert "chat_messages" in problems["orphans"] and "'no-such-session'" in problems["orphans"]
    raw_sql(str(setup.db), "ALTER TABLE instances DISABLE TRIGGER ALL")
    result = setup.cli("doctor", "--format", "json")
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["orphans"]["data"]["table"] == "chat_messages"
    assert checks["foreign keys"]["status"] == "problem"
    assert "instances" in checks["foreign keys"]["detail"]


def test_doctor_without_the_database_yet(setup: Setup, pg_url: str) -> None:
    """A database that does not exist yet is reported as such, not as an error."""
    missing = str(setup.db) + "_missing"
    checks = {c.name: c for c in diagnose(setup.json_dir, missing, setup.schema).checks}
    assert checks["database"].status == "info"
    assert "does not exist yet" in checks["database"].detail


def test_doctor_with_the_server_unreachable_still_checks_the_json_store(
    setup: Setup, tmp_path: Path
) -> None:
    """A server that refuses connections is one `database` problem (no password shown); the
    JSON checks still run."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://postgres:s3cret@127.0.0.1:{port}/nothing"
    report = diagnose(setup.json_dir, url, setup.schema)
    checks = {c.name: c for c in report.checks}
    assert checks["database"].status == "problem"
    assert (
        "postgres:***@" in checks["database"].detail and "s3cret" not in checks["database"].detail
    )
    assert checks["json files"].status == "ok"
