"""The throwaway test server itself: found, started, stopped and deleted; skip versus fail."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests import pg_server
from tests.pg_server import PgServer, PgUnavailable, libpq_url, sqlalchemy_url

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


def test_urls_are_converted_both_ways() -> None:
    """A libpq URL gets the psycopg driver for SQLAlchemy, and loses it again for psycopg."""
    assert sqlalchemy_url("postgresql://u@h:1/d") == "postgresql+psycopg://u@h:1/d"
    assert sqlalchemy_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert libpq_url("postgresql+psycopg://u@h:1/d") == "postgresql://u@h:1/d"


def test_binaries_are_found() -> None:
    """initdb, pg_ctl and postgres are found in one directory on this machine."""
    bindir = pg_server.find_bindir()
    assert bindir is not None
    for tool in ("initdb", "pg_ctl", "postgres"):
        assert (bindir / tool).is_file()


def test_no_server_skips_except_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a server the tests skip saying why; with CI=true they fail instead."""
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no PostgreSQL server.*because"):
        pg_server._unavailable("because")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        pg_server._unavailable("because")


def test_unreachable_external_server_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    """MIGRATOR_TEST_PG_URL naming a server that does not answer says so."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(pg_server.ENV_URL, f"postgresql://postgres@127.0.0.1:{port}/postgres")
    with pytest.raises(PgUnavailable, match="cannot be reached"):
        pg_server._server()


def test_external_server_is_used_as_given(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    """MIGRATOR_TEST_PG_URL points the tests at an existing server instead of starting one."""
    monkeypatch.setenv(pg_server.ENV_URL, libpq_url(pg_url))
    url, release = pg_server._server()
    assert url == pg_url
    release()
    psycopg.connect(libpq_url(pg_url)).close()  # releasing an external server leaves it running


def test_server_starts_and_is_removed_when_stopped() -> None:
    """A new server listens on 127.0.0.1 with its socket in its directory; stop deletes it."""
    server = PgServer.start_new()
    try:
        with psycopg.connect(libpq_url(server.url)) as conn:
            fsync = conn.execute("SHOW fsync").fetchone()
            sockets = conn.execute("SHOW unix_socket_directories").fetchone()
            user = conn.execute("SELECT current_user").fetchone()
        assert fsync == ("off",)
        assert sockets == (str(server.base),)
        assert user == ("postgres",)
        assert any(server.base.glob(".s.PGSQL.*"))
    finally:
        server.stop()
    assert not server.base.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(libpq_url(server.url), connect_timeout=5).close()


def test_run_command_gets_a_database_and_the_server_goes_away() -> None:
    """`python -m tests.pg_server run -- CMD` runs CMD with MIGRATOR_DB set, stops the server
    afterwards, and exits with CMD's code (so `make demo-pg` fails when the demo does)."""
    probe = (
        "import os, sys, psycopg; url = os.environ['MIGRATOR_DB']; "
        "print('URL', url); "
        "psycopg.connect(url.replace('+psycopg', '')).close(); sys.exit(3)"
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.pg_server", "run", "--", sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    url = next(line for line in done.stdout.splitlines() if line.startswith("URL "))[4:]
    assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(libpq_url(url), connect_timeout=5).close()
