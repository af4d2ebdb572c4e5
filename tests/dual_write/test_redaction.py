"""Issue 15, findings 11 and 14: a PostgreSQL password in the URL (user:pass@ or ?password=)
is never printed, nor stored in history lines or backup manifests; a malformed URL is one
usage line, exit 2; an integer too long for JSON text is refused before any store changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.adapters.dialects import dialect_for
from migrator.adapters.redact import redact_text, redact_url
from migrator.errors import DocumentError, UsageError
from migrator.history import Run, append_run
from tests.dual_write.conftest import Env, session

SECRET = "s3cr3t-Pw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://app:{SECRET}@db:5432/app", "postgresql://app:***@db:5432/app"),
        (f"postgresql://app@db/app?password={SECRET}", "postgresql://app@db/app?password=***"),
        (
            f"postgresql://app@db/app?sslmode=require&PASSWORD={SECRET}&x=1",
            "postgresql://app@db/app?sslmode=require&PASSWORD=***&x=1",
        ),
        (f"postgresql://app:{SECRET}@[::1/app", "postgresql://app:***@[::1/app"),
        ("/var/lib/app/sessions.db", "/var/lib/app/sessions.db"),
    ],
)
def test_every_form_of_password_is_hidden(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert (
        redact_text(f"error: database {url} refused: bad")
        == f"error: database {shown} refused: bad"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u@h:5x/db", "not a usable database URL"),
        ("postgresql://u@[::1/db", "not a usable database URL"),
        ("postgresql+nodriver://u@h/db", "driver 'nodriver' is not supported"),
        (f"postgresql+psycopg2://u:{SECRET}@h/db", "driver 'psycopg2' is not supported"),
    ],
)
def test_a_malformed_url_is_one_usage_line(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        dialect_for(url)
    assert SECRET not in str(caught.value)
    done = subprocess.run(
        [sys.executable, "-m", "migrator", "validate", "--json-dir", str(tmp_path), "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr


def test_a_query_password_is_neither_printed_nor_stored(env: Env, tmp_path: Path) -> None:
    """The `next:` hint of `phase set dual-write` and the history line of a failed command
    name the database without its password; so does a manifest's location."""
    url = f"postgresql://app@127.0.0.1:1/app?password={SECRET}&connect_timeout=1"
    done = env.cli("phase", "set", "dual-write", "--json-dir", str(env.json_dir), "--db", url)
    assert done.returncode == 2
    assert SECRET not in done.stdout + done.stderr
    assert "password=***" in done.stderr
    append_run(env.json_dir, Run("x", "2026-01-01T00:00:00+00:00", message=f"at {url}"))
    history = (env.json_dir / ".migrator" / "history.jsonl").read_text()
    assert SECRET not in history and "password=***" in history
    from migrator.adapters.sql_store import SqlStore

    store = SqlStore(url, env.schema, create=False)
    try:
        assert SECRET not in store.location and "password=***" in store.location
    finally:
        store.close()


def test_an_integer_too_long_for_json_text_is_refused_by_every_phase(env: Env) -> None:
    """A 5000-digit integer through `put`: a DocumentError naming the field, in every phase,
    and neither store changes (it was a raw ValueError from the JSON encoder)."""
    from migrator.adapters.phase_state import Phase

    doc = session("big") | {"huge": 7 * 10**5000}
    for phase in Phase:
        env.set_phase_raw(phase)
        before = env.documents("json"), env.documents("sql")
        with env.open() as store, pytest.raises(DocumentError, match="huge: an integer of more"):
            store.put("ws-a", doc)
        assert (env.documents("json"), env.documents("sql")) == before
    assert json.dumps(10**4300 - 1)  # the longest allowed is still text
