"""The durable record of dual writes that may not have reached both stores:
`<json_dir>/.migrator/journal.jsonl`, beside the JSON store so it survives the database being
down.

Every dual write (a put or delete in `dual-write` or `sqlite-primary`) appends an `intent`
before it touches the primary store, fsynced, and a `done` once the secondary has the write
too. So whatever stops a write half way, a failing secondary (a `failed` record with the error,
fsynced before the call returns) or a SIGKILL between the two stores (an intent with no
`done`), leaves a pending entry that `migrator repair` finds. Each intent carries the
document's id and partition, which store was primary, and a revision (the sha256 of the
document's canonical bytes, None for a delete) with the time of the write.

Appends are single O_APPEND writes under a shared `flock` (many writers at once; the kernel
keeps each write whole), each record starting with a newline so that a line torn by a power
cut stays on its own line and is skipped on reading. Compaction takes the lock exclusively.
A plain `flock` rather than `filelock` here: it costs microseconds instead of ~0.1 ms, and
every dual write appends twice. `done` records are not fsynced: losing one only makes
repair copy a document that was already equal. When the file grows past `COMPACT_BYTES` it is
rewritten atomically with only what is still pending, headed by a `summary` record that keeps
the count and time of every write failure ever recorded.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from adapters.json_store import STATE_DIR, write_atomically
from adapters.phase_state import timestamp
from migrator.errors import StoreError
from schemas.codec import canonical_bytes

logger = logging.getLogger(__name__)

JOURNAL_FILE = "journal.jsonl"
#: Past this size the journal is compacted to what is still pending.
COMPACT_BYTES = 1 << 20
#: The records compaction keeps for a pending entry.
_KEPT = ("intent", "failed", "failed_counted")


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
        self.state_dir = Path(json_dir) / STATE_DIR
        self.path = self.state_dir / JOURNAL_FILE

    @contextlib.contextmanager
    def _lock(self, *, exclusive: bool) -> Iterator[None]:
        """Shared for appends, exclusive for compaction (closing the file releases it)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir / "journal.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ writers

    def begin(
        self, op: str, doc_id: str, partition: str, primary: Side, revision: str | None
    ) -> str:
        """Record, durably, a write about to be made; its entry id."""
        entry = uuid.uuid4().hex
        self._append(
            [
                {
                    "kind": "intent",
                    "entry": entry,
                    "op": op,
                    "id": doc_id,
                    "partition": partition,
                    "primary": primary.value,
                    "revision": revision,
                    "time": timestamp(),
                }
            ],
            sync=True,
        )
        return entry

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
            kind, entry = record.get("kind"), record.get("entry")
            if kind == "summary":
                failures += int(record.get("failures", 0))
                last_failure = _later(last_failure, record.get("last_failure"))
            elif kind == "intent" and isinstance(entry, str):
                intents[entry] = PendingWrite(
                    entry=entry,
                    op=str(record["op"]),
                    doc_id=str(record["id"]),
                    partition=str(record["partition"]),
                    primary=Side(record["primary"]),
                    revision=record.get("revision"),
                    time=str(record["time"]),
                )
            elif kind in ("failed", "failed_counted") and isinstance(entry, str):
                errors[entry] = str(record.get("error", ""))
                if kind == "failed":
                    failures += 1
                    last_failure = _later(last_failure, record.get("time"))
            elif kind == "done" and isinstance(entry, str):
                done.add(entry)
        pending = tuple(
            replace(p, error=errors.get(entry_id))
            for entry_id, p in intents.items()
            if entry_id not in done
        )
        return JournalState(pending=pending, failures=failures, last_failure=last_failure)

    def compact(self) -> None:
        """Rewrite the journal with only what is pending, keeping the failure tally."""
        with self._lock(exclusive=True):
            self._compact_locked()

    # ------------------------------------------------------------------ plumbing

    def _records(self) -> Iterator[dict[str, Any]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                logger.warning("%s:%d: skipping a torn journal line", self.path, number)
                continue
            if isinstance(record, dict):
                yield record

    def _append(self, records: list[dict[str, Any]], *, sync: bool) -> None:
        data = b"".join(b"\n" + orjson.dumps(r) for r in records)
        try:
            with self._lock(exclusive=False):
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                try:
                    created = os.fstat(fd).st_size == 0
                    os.write(fd, data)
                    if sync:
                        os.fsync(fd)
                    size = os.fstat(fd).st_size
                finally:
                    os.close(fd)
                if created and sync:
                    _fsync_directory(self.state_dir)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot append: {exc.strerror or exc}") from exc
        if size > COMPACT_BYTES:
            self.compact()

    def _compact_locked(self) -> None:
        state = self.read()
        kept = {p.entry for p in state.pending}
        records = [
            {"kind": "summary", "failures": state.failures, "last_failure": state.last_failure}
        ]
        for record in self._records():
            if record.get("kind") in _KEPT and record.get("entry") in kept:
                if record["kind"] == "failed":
                    # Counted in the summary already; keep the error text for the report.
                    record = {**record, "kind": "failed_counted"}
                records.append(record)
        write_atomically(self.path, b"".join(b"\n" + orjson.dumps(r) for r in records))
        logger.info("compacted %s to %d pending writes", self.path, len(kept))


def _later(a: str | None, b: Any) -> str | None:
    if not isinstance(b, str):
        return a
    return b if a is None or b > a else a


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
