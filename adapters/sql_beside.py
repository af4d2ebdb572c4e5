"""The SQL side of a `dual-write` put, run on a worker thread while the caller stages the JSON
side (`migrator.adapters.dual_puts`).

Why: a dual-write put is the JSON write (read, parse, re-encode, write and fsync the partition
file) and the SQL write (about fifteen statements, most of the time spent in SQLite with the GIL
released, and the commit). One after the other they cost ~1.2-1.3x a JSON write; side by side
the SQL rows are written while the partition file is parsed and encoded.

The order that matters stays the same: the SQL transaction writes its rows, then waits in its
`before_commit` for the caller's verdict; the caller renames the JSON file only once the rows
are written (so SQL's refusal still comes before JSON changes), then lets SQL commit, or has it
roll back. Workers are daemon threads kept for the next put (starting a thread costs
milliseconds on a loaded machine); a forked child starts its own.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from migrator.adapters.sql_store import SqlStore


class _Abandoned(Exception):
    """Raised in the SQL transaction to roll it back: the caller will not have it commit."""


class RowsBeside:
    """`SqlStore.put` of one document started on a worker thread, held before its commit."""

    def __init__(self, sql: SqlStore, partition: str, doc: dict[str, Any]) -> None:
        self._reached = threading.Event()
        self._verdict = threading.Event()
        self._abandon = False
        self._future: Future[None] = _workers().submit(
            lambda: sql.put(partition, doc, before_commit=self._hold, validated=True)
        )
        self._future.add_done_callback(lambda _: self._reached.set())

    def _hold(self) -> None:
        self._reached.set()
        self._verdict.wait()
        if self._abandon:
            raise _Abandoned

    def written(self) -> BaseException | None:
        """Wait until the rows are written (None), or the put ended before that (its error)."""
        self._reached.wait()
        return self._future.exception() if self._future.done() else None

    def commit(self) -> None:
        """Let the transaction commit and wait for it; its error raised."""
        self._verdict.set()
        self._future.result()

    def abandon(self) -> None:
        """Roll the transaction back, whatever it reached, and wait until it has."""
        self._abandon = True
        self._verdict.set()
        with contextlib.suppress(Exception):  # _Abandoned, or its own failure: not committed
            self._future.result()


class _Workers:
    """Daemon threads running jobs; a new one starts when none is idle."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)

    def submit(self, work: Callable[[], None]) -> Future[None]:
        future: Future[None] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                work()
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(None)

        if not self._idle.acquire(blocking=False):
            threading.Thread(target=self._serve, name="migrator-sql", daemon=True).start()
        self._jobs.put(job)
        return future

    def _serve(self) -> None:
        while True:
            self._jobs.get()()
            self._idle.release()


_pool: _Workers | None = None
_pool_lock = threading.Lock()


def _workers() -> _Workers:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Workers()
        return _pool


def _forget_workers() -> None:
    """In a forked child: the parent's threads are not there; the next put starts its own."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_workers)
