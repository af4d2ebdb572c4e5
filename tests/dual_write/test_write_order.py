"""Issue 19 (put at the physical limit): a `dual-write` put writes SQL once, in one
transaction around the JSON write, and the journal intent, whose fsync now runs while the
primary's change is prepared, is still durable before that change becomes visible."""

from __future__ import annotations

import errno
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from migrator.adapters import json_store
from migrator.adapters.journal import Journal
from migrator.adapters.phase_state import Phase
from migrator.errors import StoreError
from tests.dual_write.conftest import Env, session


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


def test_a_dual_write_put_writes_its_rows_once(env: Env) -> None:
    """Before: a rolled-back probe write (to refuse what SQL cannot hold), then the write."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    root = env.schema.root_table.name
    inserts: list[str] = []
    with env.open() as store:

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith(f"INSERT INTO {root.upper()} "):
                inserts.append(statement)

        event.listen(store.sql.engine, "before_cursor_execute", count)
        store.put("ws-a", session("ws-a-1", 5))
        store.put("ws-b", session("brand-new", 1))
    assert len(inserts) == 2
    assert env.documents("json") == env.documents("sql")
    assert Journal(env.json_dir).read().pending == ()


@pytest.mark.parametrize("phase", [Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY])
def test_the_intent_is_durable_before_the_primary_changes(
    env: Env, phase: Phase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal's fsync comes before the JSON rename (dual-write) or the SQL commit
    (sqlite-primary), and the new partition file's before its rename, whatever runs on which
    thread."""
    env.set_phase_raw(phase)
    events: list[str] = []
    real_fsync = os.fsync
    journal = str(Journal(env.json_dir).path)

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if _fd_path(fd) == journal:
            events.append("intent durable")
        elif Path(_fd_path(fd)).name.startswith(".ws-a.json."):
            events.append("new version durable")

    monkeypatch.setattr(os, "fsync", fsync)
    _note_json_replaced(monkeypatch, events)
    _put_noting_commit(env, events)
    primary = "json replaced" if phase is Phase.DUAL_WRITE else "sql commit"
    assert events.index("intent durable") < events.index(primary), events
    assert events.index("new version durable") < events.index("json replaced"), events
    assert env.documents("json") == env.documents("sql")


def test_dual_write_syncs_the_renamed_partition_beside_the_commit_before_returning(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the fsync of the store's directory that makes the JSON rename durable runs on
    the sync thread while SQL commits, and is done before `put` returns."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    synced: list[str] = []
    real_fsync = os.fsync
    directory = str(env.json_dir)

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if _fd_path(fd) == directory:
            synced.append(threading.current_thread().name)

    monkeypatch.setattr(os, "fsync", fsync)
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 9))
        assert synced and threading.current_thread().name not in synced, synced
    assert env.documents("json") == env.documents("sql")


def test_sqlite_primary_stages_json_before_the_commit_and_renames_after_it(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the JSON secondary's next version is written (its fsync started) before the
    SQL commit, so that fsync runs beside the SQL work; the rename still follows the commit."""
    env.set_phase_raw(Phase.SQLITE_PRIMARY)
    events: list[str] = []
    real_stage = json_store.stage

    def stage(path: Path, data: bytes, **kwargs: Any) -> Path:
        events.append("json staged")
        return real_stage(path, data, **kwargs)

    monkeypatch.setattr(json_store, "stage", stage)
    _note_json_replaced(monkeypatch, events)
    _put_noting_commit(env, events)
    assert events == ["json staged", "sql commit", "json replaced"], events
    assert env.documents("json") == env.documents("sql")


@pytest.mark.parametrize("phase", [Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY])
def test_an_intent_that_cannot_be_synced_changes_neither_store(
    env: Env, phase: Phase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fsync on the background thread fails: the put raises, and no store changed."""
    env.set_phase_raw(phase)
    before = env.documents("json"), env.documents("sql")
    real_fsync = os.fsync
    journal = str(Journal(env.json_dir).path)

    def fsync(fd: int) -> None:
        if _fd_path(fd) == journal:
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with env.open() as store, pytest.raises(StoreError, match="Input/output error"):
        store.put("ws-a", session("ws-a-1", 9))
    assert (env.documents("json"), env.documents("sql")) == before
    assert not list(env.json_dir.glob(".ws-a.json.*.tmp"))


def test_a_forked_child_syncs_on_a_thread_of_its_own(env: Env) -> None:
    """The parent's sync thread does not exist in a forked child: the child's puts must not
    wait for it forever (a hang, not a slow test, is what this guards against)."""
    env.set_phase_raw(Phase.DUAL_WRITE)
    with env.open() as store:
        store.put("ws-a", session("ws-a-1", 1))  # the parent's sync thread is running now
    pid = os.fork()
    if pid == 0:  # the child: a store of its own (connections do not cross a fork)
        code = 1
        try:
            with env.open() as store:
                store.put("ws-a", session("ws-a-2", 2))
            code = 0
        finally:
            os._exit(code)
    for _ in range(1200):  # up to ~2 minutes, then the child is deemed hung
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's put never returned")
    assert os.waitstatus_to_exitcode(status) == 0
    assert env.documents("json")["ws-a-2"] == env.documents("sql")["ws-a-2"]
    assert Journal(env.json_dir).read().pending == ()


def _note_json_replaced(monkeypatch: pytest.MonkeyPatch, events: list[str]) -> None:
    """Note "json replaced" in `events` when ws-a's partition file is renamed into place."""
    real_replace = os.replace

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        real_replace(src, dst, **kwargs)
        if Path(dst).name == "ws-a.json":
            events.append("json replaced")

    monkeypatch.setattr(os, "replace", replace)


def _put_noting_commit(env: Env, events: list[str]) -> None:
    """One put to ws-a, noting "sql commit" in `events` when the database commits."""
    with env.open() as store:
        event.listen(store.sql.engine, "commit", lambda conn: events.append("sql commit"))
        store.put("ws-a", session("ws-a-1", 9))
