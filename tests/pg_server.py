"""A throwaway PostgreSQL server for the test session, and a fresh database per test.

Registered from tests/conftest.py (`pytest_plugins`). The server is started once per session
(under pytest-xdist, once per worker: each its own directory and port):
`initdb` into a temporary directory, `pg_ctl start` listening on 127.0.0.1 on a free port with
its Unix socket in that directory, stopped and deleted at the end. PostgreSQL refuses to run as
root, so under root the server runs as the `postgres` system user (`runuser`).
`MIGRATOR_TEST_PG_URL` points the tests at an existing server instead (it needs CREATEDB).

When no server can be had, the PostgreSQL tests skip saying why, except under `CI=true`, where
they fail: CI must prove PostgreSQL works.

Fixtures: `pg_url` (the server's `postgres` database, session), `pg_db_url` (a fresh database
per test), `pg_module_db_url` (a fresh database per module), `pg_private_server` (a server of
the test's own, to `halt()` and `resume()`). Any test using them is marked `postgres`.
Scripts use the command line::

    python -m tests.pg_server run -- COMMAND ARGS...   # start, run with MIGRATOR_DB set, stop
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

from migrator.adapters.postgres_files import bindir_candidates

ENV_URL = "MIGRATOR_TEST_PG_URL"
SERVER_USER = "postgres"
_NEEDED = ("initdb", "pg_ctl", "postgres")
_SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c listen_addresses=127.0.0.1"
)


class PgUnavailable(RuntimeError):
    """No PostgreSQL server can be started or reached; the message says why."""


# --------------------------------------------------------------------------- URLs


def sqlalchemy_url(url: str) -> str:
    """The URL with the psycopg 3 driver named, as SQLAlchemy wants it."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def libpq_url(url: str) -> str:
    """The URL as psycopg/libpq takes it (no `+driver`)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url: str, database: str) -> str:
    """`url` naming another database on the same server."""
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


def create_database(server_url: str) -> str:
    """A new, empty database on the server; its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return sqlalchemy_url(with_database(server_url, name))


def drop_database(server_url: str, url: str) -> None:
    """Drop a database `create_database` made, closing any connection a test left open."""
    name = url.rpartition("/")[2]
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --------------------------------------------------------------------------- the server


def find_bindir() -> Path | None:
    """Where initdb/pg_ctl/postgres live: PATH, then `pg_config --bindir`, then Debian's dirs."""
    on_path = [shutil.which(tool) for tool in _NEEDED]
    if all(on_path):
        return Path(os.path.realpath(str(on_path[0]))).parent
    for candidate in bindir_candidates():
        if candidate and all((Path(candidate) / tool).is_file() for tool in _NEEDED):
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PgServer:
    """One private PostgreSQL cluster in a temporary directory; `stop()` removes it."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = 0
        self.base = Path(tempfile.mkdtemp(prefix="migrator-pg-", dir="/tmp"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self._as_user: list[str] = []
        self._running = False

    @classmethod
    def start_new(cls) -> PgServer:
        """Find the binaries, initdb and start; `PgUnavailable` saying why when that fails."""
        bindir = find_bindir()
        if bindir is None:
            raise PgUnavailable(
                "no initdb/pg_ctl/postgres on PATH, via `pg_config --bindir` or under "
                "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)"
            )
        server = cls(bindir)
        try:
            server._prepare()
            server._initdb()
            server._start()
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server's `postgres` database."""
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def _prepare(self) -> None:
        self.base.chmod(0o755)
        if os.geteuid() != 0:
            return
        try:
            user = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PgUnavailable(
                f"running as root and there is no {SERVER_USER!r} user to run the server as"
            ) from None
        if shutil.which("runuser") is None:
            raise PgUnavailable("running as root and `runuser` is missing")
        os.chown(self.base, user.pw_uid, user.pw_gid)
        self._as_user = ["runuser", "-u", SERVER_USER, "--"]

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [*self._as_user, str(self.bindir / args[0]), *args[1:]]
        done = subprocess.run(
            command,
            cwd=self.base,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            tail = self._log_tail()
            raise PgUnavailable(
                f"{args[0]} failed (exit {done.returncode}): {' | '.join(detail[-3:])}{tail}"
            )

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.log.read_text(errors="replace").strip().splitlines()
            if lines:
                return " | log: " + " | ".join(lines[-3:])
        return ""

    def _initdb(self) -> None:
        # Text sorts as on a typical production server (ICU en-US: "a" < "B" < "_x"), not in
        # code point order, so a test catches SQL ordering that Python would not agree with.
        common = ["initdb", "-D", str(self.data), "-U", SERVER_USER, "--auth=trust"]
        common += ["--encoding=UTF8", "--locale=C", "--no-sync"]
        try:
            self._run(*common, "--locale-provider=icu", "--icu-locale=en-US")
        except PgUnavailable:  # built without ICU: code point order it is
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(*common)

    def _start(self) -> None:
        for attempt in range(3):
            self.port = _free_port()
            try:
                self._pg_ctl_start()
            except PgUnavailable:
                if attempt == 2:
                    raise
                continue
            return

    def _pg_ctl_start(self) -> None:
        options = f"{_SERVER_OPTIONS} -p {self.port} -c unix_socket_directories={self.base}"
        log = ["-l", str(self.log)]
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), *log, "-o", options)
        self._running = True

    def halt(self) -> None:
        """Stop the server but keep its data and port: a server that is down, for a while."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w")
        self._running = False

    def resume(self) -> None:
        """Start a halted server again on the same port, with the same data."""
        self._pg_ctl_start()

    def stop(self) -> None:
        """Stop the server (fast: the data is thrown away) and delete its directory."""
        if self._running:
            with contextlib.suppress(PgUnavailable, subprocess.SubprocessError):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
            self._running = False
        shutil.rmtree(self.base, ignore_errors=True)


# --------------------------------------------------------------------------- fixtures


def _unavailable(reason: str) -> NoReturn:
    message = f"no PostgreSQL server for the tests: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: CI must prove PostgreSQL works)", pytrace=False)
    pytest.skip(message)


def _server() -> tuple[str, Callable[[], None]]:
    """The server's URL and how to let go of it: the external one, or a new throwaway one."""
    external = os.environ.get(ENV_URL)
    if external:
        url = sqlalchemy_url(external)
        try:
            psycopg.connect(libpq_url(url), connect_timeout=10).close()
        except psycopg.Error as exc:
            raise PgUnavailable(f"{ENV_URL}={external!r} cannot be reached: {exc}") from None
        return url, lambda: None
    server = PgServer.start_new()
    atexit.register(server.stop)
    return server.url, server.stop


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """SQLAlchemy URL of the session's PostgreSQL server (its `postgres` database)."""
    try:
        url, release = _server()
    except PgUnavailable as exc:
        _unavailable(str(exc))
    yield url
    release()


@pytest.fixture
def pg_db_url(pg_url: str) -> Iterator[str]:
    """A fresh, empty database for one test: `postgresql+psycopg://postgres@127.0.0.1:PORT/t_...`."""
    url = create_database(pg_url)
    yield url
    drop_database(pg_url, url)


@pytest.fixture(scope="module")
def pg_module_db_url(pg_url: str) -> Iterator[str]:
    """A fresh, empty database shared by one test module (for hypothesis tests)."""
    url = create_database(pg_url)
    yield url
    drop_database(pg_url, url)


@pytest.fixture
def pg_private_server() -> Iterator[PgServer]:
    """A server of the test's own, which it may `halt()` and `resume()` (about a second)."""
    try:
        server = PgServer.start_new()
    except PgUnavailable as exc:
        _unavailable(str(exc))
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the server `postgres`, so `-m 'not postgres'` skips them."""
    for item in items:
        if {"pg_url", "pg_private_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


# --------------------------------------------------------------------------- command line


def main(argv: list[str]) -> int:
    """`run -- COMMAND...`: a throwaway server around one command (MIGRATOR_DB is its URL)."""
    if len(argv) < 3 or argv[0] != "run" or argv[1] != "--":
        print("usage: python -m tests.pg_server run -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    try:
        server = PgServer.start_new()
    except PgUnavailable as exc:
        print(f"error: cannot start PostgreSQL: {exc}", file=sys.stderr)
        return 2
    try:
        url = create_database(server.url)
        print(f"PostgreSQL {server.bindir.parent.name} on 127.0.0.1:{server.port}: {url}")
        env = {**os.environ, "MIGRATOR_DB": url}
        return subprocess.run(argv[2:], env=env, check=False).returncode
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
