"""Issue 15, findings 13 and 14 (state files) and issue 20 point 2: the state directory's files
are never opened through a planted symlink, keep the store's owner when root makes them, and
every lock is one `StateLock` with one timeout setting and one error."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from migrator.adapters.phase_state import Phase
from migrator.adapters.state_dir import StateDir
from migrator.adapters.state_lock import LOCK_TIMEOUT_ENV, StateLock, lock_timeout
from migrator.errors import LockTimeoutError, StoreError, UsageError
from tests.dual_write.conftest import Env, seed, session

NOBODY = 65534


def test_a_planted_history_symlink_is_never_written_through(env: Env, tmp_path: Path) -> None:
    """history.jsonl pointing at another file: the command still runs, the history line is not
    appended to the link's target (a warning says why)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (env.json_dir / ".migrator").mkdir(exist_ok=True)
    (env.json_dir / ".migrator" / "history.jsonl").symlink_to(victim)
    done = env.cli("validate", "--json-dir", str(env.json_dir), "--db", str(env.db))
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "precious\n"
    assert "is a symbolic link; refused" in done.stderr


def test_a_planted_journal_symlink_refuses_the_write(env: Env, tmp_path: Path) -> None:
    """journal.jsonl pointing at another file: a dual write is refused before either store
    changes, with one StoreError, and the target is untouched."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (env.json_dir / ".migrator" / "journal.jsonl").symlink_to(victim)
    before = env.documents("json"), env.documents("sql")
    with env.open() as store, pytest.raises(StoreError, match="is a symbolic link; refused"):
        store.put("ws-a", session("ws-a-0", 5))
    assert victim.read_text() == "precious\n"
    assert (env.documents("json"), env.documents("sql")) == before


def test_a_symlinked_lock_file_is_one_line_exit_2(env: Env, tmp_path: Path) -> None:
    """Finding 11: a lock file replaced by a symlink ends a command in one line, exit 2."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    locks = env.json_dir / ".migrator" / "locks"
    (locks / "ws-a.lock").unlink()
    (locks / "ws-a.lock").symlink_to(victim)
    env.set_phase_raw(Phase.DUAL_WRITE)
    done = env.cli("import", "--json-dir", str(env.json_dir), "--db", str(env.db))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "ws-a.lock: is a symbolic link; refused" in done.stderr
    assert victim.read_text() == "precious\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make files for another user")
def test_state_files_made_by_root_stay_usable_by_the_store_owner(env: Env) -> None:
    """Finding 13: a CLI run as root (import, validate) and a root process's dual write create
    the state directory, locks and logs with the store owner's uid, so the owner's next put
    works instead of failing with a raw PermissionError."""
    root = Path(tempfile.mkdtemp())
    os.chmod(root, 0o755)
    owned = Env(root / "json", root / "sessions.db", env.schema)
    owned.json_dir.mkdir()
    seed(owned, {"ws-a": [session("ws-a-0")]})
    for path in (owned.json_dir, *owned.json_dir.rglob("*"), owned.db):
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    owned.set_phase_raw(Phase.DUAL_WRITE)
    args = ("--json-dir", str(owned.json_dir), "--db", str(owned.db))
    assert owned.cli("validate", *args).returncode == 0
    with owned.open() as store:  # as root: journal, partition lock
        store.put("ws-a", session("ws-a-1"))
    made = [owned.json_dir / ".migrator", *(owned.json_dir / ".migrator").rglob("*")]
    assert {p.name: p.lstat().st_uid for p in made if p.lstat().st_uid != NOBODY} == {}
    owner_put = (
        "import os, sys\n"
        "from migrator.adapters.dual_write import open_store\n"
        "from tests.dual_write.conftest import session\n"
        "import sqlalchemy.dialects.sqlite.pysqlite, encodings.idna\n"
        f"os.setgid({NOBODY}); os.setuid({NOBODY})\n"
        "with open_store(sys.argv[1], sys.argv[2]) as store:\n"
        "    store.put('ws-a', session('ws-a-2'))\n"
        "    print(store.get('ws-a-2')['id'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", owner_put, str(owned.json_dir), str(owned.db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ws-a-2\n"


def test_one_lock_timeout_setting_and_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every lock waits `MIGRATOR_LOCK_TIMEOUT` seconds and then raises LockTimeoutError naming
    the lock; a value that is no number of seconds is a usage error."""
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.2")
    assert lock_timeout() == 0.2
    state = StateDir(tmp_path)
    held = state.lock("phase.lock", purpose="the phase lock", reentrant=True)
    ready, release = threading.Event(), threading.Event()

    def holder() -> None:
        with held:
            ready.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert ready.wait(30)
        with pytest.raises(LockTimeoutError, match=r"phase.lock: another process has held the"):
            state.lock("phase.lock", purpose="the phase lock", reentrant=True).acquire()
        with pytest.raises(LockTimeoutError):  # a shared holder waits for an exclusive one
            StateLock(held.path, purpose="the phase lock", shared=True).acquire()
    finally:
        release.set()
        thread.join()
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "soon")
    with pytest.raises(UsageError, match="MIGRATOR_LOCK_TIMEOUT"):
        lock_timeout()


def test_a_reentrant_lock_is_taken_again_by_its_thread_only(tmp_path: Path) -> None:
    """The holder's thread may take a reentrant lock again; a non-reentrant one (the import
    lock) is refused even to the same thread."""
    state = StateDir(tmp_path)
    with state.partition_lock("ws-a"), state.partition_lock("ws-a"):
        pass
    with (
        state.lock("import.lock", purpose="the import lock", timeout=0),
        pytest.raises(LockTimeoutError),
    ):
        state.lock("import.lock", purpose="the import lock", timeout=0).acquire()


def test_private_partition_files_stay_private_after_a_move_back_from_sql(env: Env) -> None:
    """Finding 14: partition files at 0600, archived by sqlite-only and rebuilt from SQL by a
    move back, come back 0600 (they came back 0644); a new partition gets its siblings' mode."""
    for path in env.json_dir.glob("*.json"):
        path.chmod(0o600)
    _walk(env, "dual-write", "validate", "sqlite-primary", "sqlite-only")
    assert not list(env.json_dir.glob("*.json"))
    _walk(env, "dual-write")
    modes = {p.name: p.stat().st_mode & 0o777 for p in env.json_dir.glob("*.json")}
    assert modes == {"ws-a.json": 0o600, "ws-b.json": 0o600, "ws-c.json": 0o600}
    with env.open() as store:
        store.put("ws-new", session("new-0"))
    assert (env.json_dir / "ws-new.json").stat().st_mode & 0o777 == 0o600


def test_rejects_files_are_private_like_backups(env: Env) -> None:
    """Finding 14: the raw records an import rejects are written 0600 (they were 0644)."""
    (env.json_dir / "ws-bad.json").write_text('[{"id": "bad", "type": 5}]')
    done = env.cli("import", "--json-dir", str(env.json_dir), "--db", str(env.db))
    assert done.returncode == 1, done.stderr
    (rejects,) = (env.json_dir / ".migrator").glob("rejects-*.jsonl")
    assert rejects.stat().st_mode & 0o777 == 0o600


def _walk(env: Env, *steps: str) -> None:
    for step in steps:
        command = ("validate",) if step == "validate" else ("phase", "set", step, "--no-snapshot")
        done = env.cli(*command, "--json-dir", str(env.json_dir), "--db", str(env.db))
        assert done.returncode == 0, done.stderr
