"""PostgreSQL's backups through its own tools: `pg_dump`, `pg_restore`, and a look at an archive.

`PostgresDialect` delegates its backup and restore methods here, as the SQLite dialect does to
`sqlite_files`. A backup is a `pg_dump --format=custom` archive of the store's tables only (a
database may hold the application's other tables, which a restore must not roll back). An
archive is trusted once `pg_restore` has read all of it (its table of contents, then every data
block, whose `migrator_meta` rows name the schema); the restore itself is one transaction
(`pg_restore --clean --if-exists --single-transaction`), so a failure leaves the database as
it was and other sessions see the old tables or the new ones, never a mix.

The tools are found on PATH, through `pg_config --bindir`, or under /usr/lib/postgresql/*/bin.
The URL's password reaches them in the environment (`PGPASSWORD`), never on a command line or
in a message.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from migrator.adapters.dialect_postgres import CONNECT_TIMEOUT_SECONDS
from migrator.adapters.redact import redact_url
from migrator.errors import BackupError, DatabaseError

logger = logging.getLogger(__name__)

#: Where Debian and Ubuntu install each PostgreSQL version's programs.
TOOL_DIRS = "/usr/lib/postgresql/*/bin"
#: How long restore waits for a lock another session holds on a table it replaces.
LOCK_TIMEOUT = "30s"
#: The database a new one is created from (every server has it).
MAINTENANCE_DATABASE = "postgres"
_MISSING_DATABASE = re.compile(r'database ".*" does not exist')
_META_COPY = re.compile(rb'^COPY (?:\S+\.)?"?migrator_meta"? \((.*)\) FROM stdin;$')
_COPY_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))")
_COPY_CHARS = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@dataclass(frozen=True)
class Target:
    """Where a URL points, as libpq wants it: connection parameters with the password apart."""

    params: dict[str, Any]
    password: str | None
    location: str

    def connect(self, **override: Any) -> psycopg.Connection[Any]:
        params = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **self.params, **override}
        if self.password is not None:
            params["password"] = self.password
        return psycopg.connect(autocommit=True, **params)

    def conninfo(self) -> str:
        """A libpq connection string without the password (tools get it from `env`)."""
        return make_conninfo(**{"connect_timeout": CONNECT_TIMEOUT_SECONDS, **self.params})

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    @property
    def database(self) -> str:
        return str(self.params.get("dbname", ""))


def target(url: str) -> Target:
    """The connection parameters of a SQLAlchemy URL, read as SQLAlchemy itself reads them."""
    parsed = make_url(url)
    _args, params = parsed.get_dialect()().create_connect_args(parsed)
    params = {k: str(v) for k, v in params.items() if v is not None}
    password = params.pop("password", None)
    return Target(params, password, redact_url(parsed.render_as_string(hide_password=True)))


# --------------------------------------------------------------------------- the tools


def find_tool(name: str) -> Path:
    """A PostgreSQL client program, or `BackupError` saying where it was looked for."""
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    for directory in bindir_candidates():
        tool = Path(directory) / name
        if directory and tool.is_file() and os.access(tool, os.X_OK):
            return tool
    raise BackupError(
        f"{name} not found (looked on PATH, in `pg_config --bindir` and {TOOL_DIRS}); "
        "install the PostgreSQL client programs (Debian: apt-get install postgresql-client)"
    )


def bindir_candidates() -> list[str]:
    """Where PostgreSQL's programs may be, besides PATH: `pg_config --bindir`, then Debian's
    per-version folders, newest first (the test server looks in the same places)."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            candidates.append(done.stdout.strip())
    return candidates + sorted(glob.glob(TOOL_DIRS), key=_version_key, reverse=True)


def _version_key(directory: str) -> tuple[int, ...]:
    version = Path(directory).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _run(name: str, args: list[str], *, env: dict[str, str] | None = None) -> None:
    """Run a tool to completion; `BackupError` with its last words when it fails."""
    try:
        done = subprocess.run(
            [str(find_tool(name)), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            check=False,
        )
    except OSError as exc:
        raise BackupError(f"{name} could not run: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        raise BackupError(f"{name} failed: {_last_words(name, done.returncode, done.stderr)}")


@contextlib.contextmanager
def _streamed(name: str, args: list[str]) -> Iterator[IO[bytes]]:
    """A tool's standard output to read; `BackupError` when it fails (checked at the end).
    Its standard error goes to a file, so a chatty tool never blocks on a full pipe."""
    with tempfile.TemporaryFile() as stderr:
        try:
            process = subprocess.Popen(
                [str(find_tool(name)), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        except OSError as exc:
            raise BackupError(f"{name} could not run: {exc.strerror or exc}") from exc
        assert process.stdout is not None
        try:
            yield process.stdout
            while process.stdout.read(1 << 20):  # the rest, so the tool can finish
                pass
        finally:
            process.stdout.close()
            code = process.wait()
        if code != 0:
            stderr.seek(0)
            raise BackupError(f"{name} failed: {_last_words(name, code, stderr.read())}")


def _last_words(name: str, code: int, stderr: bytes) -> str:
    """The line of a tool's standard error that says what went wrong, without its name."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line and "hint:" not in line and "detail:" not in line]
    if not lines:
        return f"killed by signal {-code}" if code < 0 else f"exit {code}, no message"
    errors = [line for line in lines if "error:" in line or "FATAL" in line or "ERROR" in line]
    return (errors or lines)[-1].removeprefix(f"{name}: ").removeprefix("error: ")


# --------------------------------------------------------------------------- backup


def database_exists(url: str) -> bool:
    """Whether the database exists and holds a store (`migrator_meta`); a server that cannot
    be reached is a `DatabaseError`, not a missing database."""
    where = target(url)
    try:
        with where.connect() as conn:
            row = conn.execute("SELECT to_regclass('migrator_meta') IS NOT NULL").fetchone()
            return bool(row and row[0])
    except psycopg.OperationalError as exc:
        if _MISSING_DATABASE.search(str(exc)):
            return False
        raise DatabaseError(f"database {where.location}: {_first_line(exc)}") from exc
    except psycopg.Error as exc:
        raise DatabaseError(f"database {where.location}: {_first_line(exc)}") from exc


def dump(url: str, dest: Path, tables: Collection[str]) -> None:
    """`pg_dump --format=custom` of `tables` into `dest` (an existing file, whose mode stays):
    one consistent snapshot while writers keep going (pg_dump reads in one transaction)."""
    where = target(url)
    if not tables:
        raise BackupError(f"database {where.location}: no tables named to back up")
    args = ["--format=custom", "--no-password", f"--file={dest}", f"--dbname={where.conninfo()}"]
    args += [f"--table={_pattern(name)}" for name in tables]
    _run("pg_dump", args, env=where.env())
    logger.info("pg_dump of %s (%d tables) written to %s", where.location, len(tables), dest)


def _pattern(name: str) -> str:
    # Quoted: exactly this name (no wildcards, case kept), in the connection's search_path.
    return '"' + name.replace('"', '""') + '"'


def dump_sql(archive: Path, dest_fd: int) -> None:
    """The SQL text of an archive (`pg_restore -f -`), gzipped, into a descriptor we close."""
    with (
        os.fdopen(dest_fd, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        _streamed("pg_restore", ["--file=-", str(archive)]) as out,
    ):
        shutil.copyfileobj(out, gz, 1 << 20)


# --------------------------------------------------------------------------- restore


def inspect_archive(archive: Path) -> dict[str, str]:
    """The `migrator_meta` rows of an archive, after `pg_restore` read it whole: its table of
    contents (`--list`: a custom archive), then every data block; `BackupError` otherwise."""
    try:
        _run("pg_restore", ["--list", str(archive)])
    except BackupError as exc:
        raise BackupError(f"not a pg_dump custom archive ({exc})") from exc
    meta: dict[str, str] | None = None
    try:
        with _streamed("pg_restore", ["--file=-", str(archive)]) as out:
            for line in out:
                match = _META_COPY.match(line.rstrip(b"\n"))
                if match and meta is None:
                    meta = _read_meta(out, match.group(1).decode())
    except BackupError as exc:
        raise BackupError(f"damaged pg_dump archive ({exc})") from exc
    if meta is None:
        raise BackupError("a pg_dump archive, but not one of migrator (no migrator_meta rows)")
    return meta


def _read_meta(out: IO[bytes], columns: str) -> dict[str, str]:
    names = [c.strip().strip('"') for c in columns.split(",")]
    key, value = names.index("key"), names.index("value")
    meta = {}
    for raw in out:
        line = raw.rstrip(b"\n").decode("utf-8")
        if line == "\\.":
            break
        fields = [_unescape(f) for f in line.split("\t")]
        meta[fields[key]] = fields[value]
    return meta


def _unescape(field: str) -> str:
    """A field of COPY's text format as the text it stands for."""

    def one(match: re.Match[str]) -> str:
        octal, hexa, char = match.groups()
        if octal is not None:
            return chr(int(octal, 8))
        if hexa is not None:
            return chr(int(hexa, 16))
        return _COPY_CHARS.get(char, char)

    return _COPY_ESCAPE.sub(one, field)


def restore(url: str, archive: Path) -> None:
    """Replace the store's tables in the database with an inspected archive's, in one
    transaction (creating the database first when it does not exist)."""
    where = target(url)
    _ensure_database(where)
    env = where.env()
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout={LOCK_TIMEOUT}".strip()
    args = ["--clean", "--if-exists", "--single-transaction", "--no-owner", "--no-privileges"]
    args += ["--no-password", f"--dbname={where.conninfo()}", str(archive)]
    try:
        _run("pg_restore", args, env=env)
    except BackupError as exc:
        hint = " (stop the application first)" if "lock timeout" in str(exc) else ""
        raise BackupError(
            f"restore into {where.location} failed and was rolled back, nothing changed: "
            f"{exc}{hint}"
        ) from exc
    logger.info("%s restored into %s", archive, where.location)


def _ensure_database(where: Target) -> None:
    try:
        where.connect().close()
        return
    except psycopg.OperationalError as exc:
        if not _MISSING_DATABASE.search(str(exc)):
            raise DatabaseError(f"database {where.location}: {_first_line(exc)}") from exc
    try:
        with where.connect(dbname=MAINTENANCE_DATABASE) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(where.database)))
    except psycopg.Error as exc:
        raise BackupError(
            f"database {where.location} does not exist and cannot be created: {_first_line(exc)}"
        ) from exc
    logger.info("created database %s to restore into", where.location)


# --------------------------------------------------------------------------- health


def unenforced_foreign_keys(conn: Any) -> list[str]:
    """Foreign keys of the tables on the search path that PostgreSQL does not enforce now:
    added NOT VALID, or whose triggers were disabled (`ALTER TABLE ... DISABLE TRIGGER ALL`).
    `conn` is a SQLAlchemy connection."""
    rows = conn.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, c.conname, c.convalidated, "
        "bool_and(t.tgenabled <> 'D') "
        "FROM pg_constraint c LEFT JOIN pg_trigger t ON t.tgconstraint = c.oid "
        "WHERE c.contype = 'f' AND pg_table_is_visible(c.conrelid) "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2"
    )
    found = []
    for table, name, validated, enabled in rows:
        if not validated:
            found.append(f"{table}.{name} (NOT VALID)")
        elif enabled is False:
            found.append(f"{table}.{name} (triggers disabled)")
    return found


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
