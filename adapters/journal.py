"""The durable record of dual writes that may not have reached both stores:
`<json_dir>/.migrator/journal.jsonl`, beside the JSON store so it survives the database being
down.

Every dual write (a put or delete in `dual-write` or `sqlite-primary`) appends an `intent`
before it touches the primary store, and a `done` once the secondary has the write too. The
intent's fsync runs on a thread while the writer prepares the primary's change (`intend`); the
writer waits for it just before that change becomes visible (the JSON rename, the SQL commit),
so the intent is durable before the primary changes. So whatever stops a write half way, a
failing secondary (a `failed` record with the error, fsynced before the call returns) or a
SIGKILL between the two stores (an intent with no `done`), leaves a pending entry that
`migrator repair` finds. Each intent carries the
document's id and partition, which store was primary, and a revision (the sha256 of the
document's canonical bytes, None for a delete) with the time of the write.

Appends are single O_APPEND writes under a shared `flock` (many writers at once; the kernel
keeps each write whole), each record starting with a newline so that a line torn by a power
cut stays on its own line and is skipped on reading. Compaction takes the lock exclusively.
`done` records are not fsynced: losing one only makes repair copy a document that was already
equal. When the file grows past `COMPACT_BYTES`, and past twice the size its last compaction
left (so a long outage's thousands of pending entries are rewritten once per doubling, not at
every write: bounded, amortized constant time per write), it is rewritten atomically with only
what is still pending, headed by a `summary` record that keeps the count and time of every
write failure ever recorded and the size it left. Every line is validated when read
(`migrator.adapters.state_models.JournalLine`): a line of the wrong shape is one `StateFileError`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import orjson

from migrator.adapters.background_sync import BackgroundSync, append_synced_in_background
from migrator.adapters.fs import append, read_nofollow, write_atomically
from migrator.adapters.phase_state import timestamp
from migrator.adapters.state_dir import JOURNAL, JOURNAL_LOCK, StateDir
from migrator.adapters.state_models import (
    JOURNAL_LINE,
    DoneLine,
    FailedLine,
    IntentLine,
    SummaryLine,
    parse,
    record_of,
)
from migrator.errors import StoreError
from migrator.schemas.codec import canonical_bytes

logger = logging.getLogger(__name__)

JOURNAL_FILE = JOURNAL
T = TypeVar("T")

#: Past this size the journal is compacted to what is still pending.
COMPACT_BYTES = 1 << 20
#: How much of the file's head holds the summary record (its size field is all that is read).
_HEAD_BYTES = 512


class Side(StrEnum):
    JSON = "json"
    SQL = "sql"

    @property
    def other(self) -> Side:
        return Side.SQL if self is Side.JSON else Side.JSON


def revision_of(doc: Any) -> str:
    """The revision a journal entry records for a document: the hash of its canonical bytes."""
    return hashlib.sha256(canonical_bytes(doc)).hexdigest()


@dataclass(frozen=True)
class Intent:
    """A journaled intent: its entry id, and `durable()`, which returns once the intent is on
    disk (a `StoreError` when it cannot be: the write must then not change the primary)."""

    entry: str
    durable: Callable[[], None]


@dataclass(frozen=True)
class PendingWrite:
    """A dual write that may have reached only its primary store."""

    entry: str
    op: str  # "put" or "delete"
    doc_id: str
    partition: str
    primary: Side
    revision: str | None
    time: str
    #: The secondary's error, when it failed; None when the write simply never finished.
    error: str | None = None


@dataclass(frozen=True)
class JournalState:
    """What the journal says: the pending writes in the order they were made, and the
    write failures recorded so far (including those repaired since)."""

    pending: tuple[PendingWrite, ...]
    failures: int
    last_failure: str | None

    def pending_ids(self) -> set[str]:
        return {p.doc_id for p in self.pending}


class Journal:
    """The journal of one JSON store's state directory."""

    def __init__(self, json_dir: Path | str) -> None:
        self.dir = StateDir(json_dir)
        self.state_dir = self.dir.path
        self.path = self.dir.file(JOURNAL)

    def _lock(self, *, exclusive: bool) -> Any:
        """Shared for appends, exclusive for compaction."""
        return self.dir.lock(
            JOURNAL_LOCK, purpose="the journal lock (a compaction)", shared=not exclusive
        )

    # ------------------------------------------------------------------ writers

    def begin(
        self, op: str, doc_id: str, partition: str, primary: Side, revision: str | None
    ) -> str:
        """Record, durably, a write about to be made; its entry id."""
        entry, record = _intent(op, doc_id, partition, primary, revision)
        self._append([record], sync=True)
        return entry

    def intend(
        self, op: str, doc_id: str, partition: str, primary: Side, revision: str | None
    ) -> Intent:
        """`begin`, its fsync left running: the intent is durable once `Intent.durable()`
        returns, which the writer calls just before the primary changes."""
        entry, record = _intent(op, doc_id, partition, primary, revision)
        return Intent(entry, self._append_in_background([record]).wait)

    def fail(self, entry: str, error: str) -> None:
        """Record, durably, that the secondary store refused the write."""
        record = {"kind": "failed", "entry": entry, "error": error, "time": timestamp()}
        self._append([record], sync=True)

    def finish(self, entries: Iterable[str], *, by: str = "writer", sync: bool = False) -> None:
        """Mark writes complete on both stores (or abandoned before either was written)."""
        records = [{"kind": "done", "entry": e, "by": by, "time": timestamp()} for e in entries]
        if records:
            self._append(records, sync=sync)

    # ------------------------------------------------------------------ readers

    def read(self) -> JournalState:
        """The pending writes and recorded failures."""
        intents: dict[str, PendingWrite] = {}
        errors: dict[str, str] = {}
        done: set[str] = set()
        failures, last_failure = 0, None
        for record in self._records():
            if isinstance(record, SummaryLine):
                failures += record.failures
                last_failure = _later(last_failure, record.last_failure)
            elif isinstance(record, IntentLine):
                intents[record.entry] = _pending(record)
            elif isinstance(record, FailedLine):
                errors[record.entry] = record.error
                if record.kind == "failed":
                    failures += 1
                    last_failure = _later(last_failure, record.time)
            else:
                done.add(record.entry)
        pending = tuple(
            replace(p, error=errors.get(entry_id))
            for entry_id, p in intents.items()
            if entry_id not in done
        )
        return JournalState(pending=pending, failures=failures, last_failure=last_failure)

    def newest_intent(self) -> PendingWrite | None:
        """The last write journaled, pending or not (what phase it was made in)."""
        newest = None
        for record in self._records():
            if isinstance(record, IntentLine):
                newest = record
        return None if newest is None else _pending(newest)

    def compact(self) -> None:
        """Rewrite the journal with only what is pending, keeping the failure tally."""
        with self._lock(exclusive=True):
            self._compact_locked()

    # ------------------------------------------------------------------ plumbing

    def _records(self) -> Iterator[IntentLine | FailedLine | DoneLine | SummaryLine]:
        try:
            data = read_nofollow(self.path)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        for number, line in enumerate((data or b"").split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                logger.warning("%s:%d: skipping a torn journal line", self.path, number)
                continue
            yield parse(JOURNAL_LINE, line, self.path, line=number)

    def _append(self, records: list[dict[str, Any]], *, sync: bool) -> None:
        self._appended(records, lambda data: (append(self.path, data, sync=sync), None))

    def _append_in_background(self, records: list[dict[str, Any]]) -> BackgroundSync:
        """Append `records`, their fsync left running on a thread: the sync to wait for."""
        return self._appended(records, lambda data: append_synced_in_background(self.path, data))

    def _appended(
        self, records: list[dict[str, Any]], write: Callable[[bytes], tuple[int, T]]
    ) -> T:
        data = b"".join(b"\n" + orjson.dumps(r) for r in records)
        try:
            with self._lock(exclusive=False):
                size, result = write(data)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot append: {exc.strerror or exc}") from exc
        if size > COMPACT_BYTES and size > 2 * self._compacted_size():
            self.compact()
        return result

    def _compacted_size(self) -> int:
        """The size the last compaction left, from the summary record heading the file."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                head = os.pread(fd, _HEAD_BYTES, 0)
            finally:
                os.close(fd)
            first = head.lstrip(b"\n").split(b"\n", 1)[0]
            record = orjson.loads(first)
        except (OSError, orjson.JSONDecodeError):
            return 0
        size = record.get("size") if isinstance(record, dict) else None
        return size if isinstance(size, int) and record.get("kind") == "summary" else 0

    def _compact_locked(self) -> None:
        records = list(self._records())
        done = {r.entry for r in records if isinstance(r, DoneLine)}
        failures, last_failure = 0, None
        kept: list[dict[str, Any]] = []
        for record in records:
            if isinstance(record, SummaryLine):
                failures += record.failures
                last_failure = _later(last_failure, record.last_failure)
                continue
            if isinstance(record, FailedLine) and record.kind == "failed":
                failures += 1
                last_failure = _later(last_failure, record.time)
            if isinstance(record, IntentLine | FailedLine) and record.entry not in done:
                line = record.model_dump()
                if line["kind"] == "failed":
                    # Counted in the summary already; keep the error text for the report.
                    line["kind"] = "failed_counted"
                kept.append(line)
        body = b"".join(b"\n" + orjson.dumps(r) for r in kept)
        head = {"kind": "summary", "failures": failures, "last_failure": last_failure}
        size = len(body) + len(orjson.dumps({**head, "size": 10**12})) + 1
        summary = orjson.dumps({**head, "size": size})
        write_atomically(self.path, b"\n" + summary + body)
        logger.info("compacted %s to %d pending records", self.path, len(kept))


def _intent(
    op: str, doc_id: str, partition: str, primary: Side, revision: str | None
) -> tuple[str, dict[str, Any]]:
    entry = uuid.uuid4().hex
    record = {
        "kind": "intent",
        "entry": entry,
        "op": op,
        "id": doc_id,
        "partition": partition,
        "primary": primary.value,
        "revision": revision,
        "time": timestamp(),
    }
    return entry, record


def _pending(record: IntentLine) -> PendingWrite:
    return record_of(PendingWrite, record, doc_id=record.id, primary=Side(record.primary))


def _later(a: str | None, b: Any) -> str | None:
    if not isinstance(b, str):
        return a
    return b if a is None or b > a else a
