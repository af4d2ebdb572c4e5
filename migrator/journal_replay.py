"""`migrator repair`: bring the two stores back to agreement from the journal.

The journal (`migrator.adapters.journal`) holds every dual write that may have reached only its
primary store: the secondary raised, or the process died between the two stores. Repair
replays them, idempotently, with one rule:

    For each document, the primary of its NEWEST pending entry holds its newest version.
    Repair copies that store's CURRENT version of the document to the other store; when that
    store no longer has the document, repair deletes it from the other.

Why this is sound: any later write of the document either reached both stores (so they were
equal after it, and copying the current version changes nothing that matters) or left a newer
pending entry (which is then the newest). So repair never puts an older version over a newer
one, and never resurrects a document the primary deleted. The journal's revision (content
hash) is only compared to report when the source moved on since the journaled write; the
journaled version itself is never written.

Repair is partition-aware: a document is judged in the partition of each entry, where the
source's copy counts only if the source holds it in that partition. A document that moved
(delete from one partition, put into another) is so removed from the old partition and written
into the new one, on either side, whatever order the entries come in.

Repair works one partition at a time under that partition's lock (the lock every dual write
holds across both stores), so it never interleaves with a running write; first it passes each
pending partition's lock once, so writes still in flight finish and leave the journal. In
`sqlite-only` the JSON store is archived and not kept: entries that would copy to JSON are
closed as `skipped` (moving back rebuilds JSON from SQL), and entries whose newest version is
in JSON are reported as `failed` (move back to `sqlite-primary` first).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.adapters.dialects import redacted
from migrator.adapters.journal import Journal, PendingWrite, Side, revision_of
from migrator.adapters.json_store import JsonStore, sweep_staged
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import SqlStore
from migrator.errors import MigratorError
from migrator.schemas.codec import canonical_bytes

logger = logging.getLogger(__name__)

#: What repair did (or, in a dry run, would do) for one document.
ACTIONS = ("put", "delete", "none", "skipped", "failed")


@dataclass(frozen=True)
class RepairAction:
    """One document: copied from `source` to `target` (`put`), deleted from `target`, already
    equal (`none`), closed without copying (`skipped`), or not repaired (`failed`)."""

    doc_id: str
    partition: str
    action: str
    source: Side
    target: Side
    entries: tuple[str, ...]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.doc_id,
            "partition": self.partition,
            "action": self.action,
            "from": self.source.value,
            "to": self.target.value,
            "entries": len(self.entries),
            "note": self.note,
        }


@dataclass(frozen=True)
class RepairReport:
    """What `repair` found pending and what it did about each document."""

    dry_run: bool
    phase: Phase
    actions: tuple[RepairAction, ...] = field(default=())
    #: Staged partition files a killed writer left, removed (a dry run: to remove).
    swept: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        tally = Counter(a.action for a in self.actions)
        return {action: tally.get(action, 0) for action in ACTIONS}

    @property
    def ok(self) -> bool:
        """Nothing is left pending that repair could not fix."""
        return not any(a.action == "failed" for a in self.actions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "phase": self.phase.value,
            "pending": len(self.actions),
            "counts": self.counts,
            "documents": [a.to_dict() for a in self.actions],
            "swept": list(self.swept),
        }


def replay_journal(
    json_store: JsonStore,
    db: str | Path,
    *,
    dry_run: bool = False,
    before_write: Callable[[], object] | None = None,
) -> RepairReport:
    """Replay the pending writes of the journal beside `json_store` into `db` (the rule: the
    module docstring), then remove the staged partition files killed writers left. `dry_run`
    reports the plan and changes nothing. The database is opened, and `before_write` (the
    run's snapshot) called, only when something is pending."""
    root = json_store.root
    phase = PhaseState(root, db_hint=redacted(db)).read().phase
    journal = Journal(root)
    pending = settled_pending(json_store, journal) if not dry_run else journal.read().pending
    if pending and not dry_run and before_write is not None:
        before_write()
    actions = _replay(json_store, db, journal, phase, pending, dry_run) if pending else ()
    leftovers = json_store.staged_leftovers() if dry_run else sweep_staged(json_store)
    return RepairReport(dry_run, phase, actions, tuple(tmp.name for tmp in leftovers))


def _replay(
    json_store: JsonStore,
    db: str | Path,
    journal: Journal,
    phase: Phase,
    pending: tuple[PendingWrite, ...],
    dry_run: bool,
) -> tuple[RepairAction, ...]:
    sql_store = SqlStore(db, json_store.schema, create=False)
    try:
        log = _ActionLog(dry_run)
        replay = _Replay(json_store, sql_store, phase, log)
        by_partition: dict[str, dict[str, list[PendingWrite]]] = {}
        for write in pending:
            by_partition.setdefault(write.partition, {}).setdefault(write.doc_id, []).append(write)
        for partition, writes in by_partition.items():
            replay.partition(partition, writes)
    finally:
        sql_store.close()
    if not dry_run and log.closed:
        journal.finish(log.closed, by="repair", sync=True)
        journal.compact()
    return tuple(log.actions)


def settled_pending(json_store: JsonStore, journal: Journal) -> tuple[PendingWrite, ...]:
    """The pending writes once those in flight have finished: each pending partition's lock
    is passed once (a live writer holds it across both stores), then the journal re-read.

    Only an entry pending before the pass and still pending after counts: on a busy system
    the next writer journals its intent as soon as a lock is passed, and that write is in
    flight, not one a repair must replay (counting it kept the guards from ever passing)."""
    before = journal.read().pending
    for partition in sorted({p.partition for p in before}):
        with json_store.lock(partition):
            pass
    settled = {p.entry for p in before}
    return tuple(p for p in journal.read().pending if p.entry in settled)


class _ActionLog:
    """What repair did for each document; the journal entries it closed (none in a dry run)."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.actions: list[RepairAction] = []
        self.closed: list[str] = []

    def done(
        self,
        partition: str,
        doc_id: str,
        entries: list[PendingWrite],
        action: str,
        note: str | None,
        *,
        close: bool = True,
    ) -> None:
        """Record what was done and, when `close` and this is no dry run, close the entries."""
        source = entries[-1].primary
        ids = tuple(e.entry for e in entries)
        self.actions.append(
            RepairAction(doc_id, partition, action, source, source.other, ids, note)
        )
        log = logger.warning if action == "failed" else logger.info
        log("repair %s %r (%s -> %s): %s", action, doc_id, source, source.other, note or "")
        if close and not self.dry_run:
            self.closed.extend(ids)

    def failed(self, partition: str, doc_id: str, entries: list[PendingWrite], note: str) -> None:
        """Record a failure: the entries stay open for the next repair."""
        self.done(partition, doc_id, entries, "failed", note, close=False)


class _Replay:
    """Replays the pending writes of one partition at a time, into `log`."""

    def __init__(
        self, json_store: JsonStore, sql_store: SqlStore, phase: Phase, log: _ActionLog
    ) -> None:
        self.json = json_store
        self.sql = sql_store
        self.phase = phase
        self.dry_run = log.dry_run
        self.log = log

    def partition(self, partition: str, writes: dict[str, list[PendingWrite]]) -> None:
        """Repair the documents of one partition, holding its lock (unless a dry run)."""
        if self.dry_run:
            self._repair(partition, writes)
            return
        with self.json.lock(partition):
            self._repair(partition, writes)

    def _repair(self, partition: str, writes: dict[str, list[PendingWrite]]) -> None:
        id_key = self.json.schema.id_key
        try:
            records = self.json.read_partition(partition)
        except MigratorError as exc:
            for doc_id, entries in writes.items():
                self.log.failed(partition, doc_id, entries, f"JSON unreadable: {exc}")
            return
        json_docs = {
            d[id_key]: d for d in records if isinstance(d, dict) and isinstance(d.get(id_key), str)
        }
        # Copies into JSON are made in memory and written with one rewrite of the partition.
        json_fixes: list[tuple[str, list[PendingWrite], str, str | None]] = []
        for doc_id, entries in writes.items():
            source = entries[-1].primary
            if self.phase is Phase.SQLITE_ONLY:
                self._sqlite_only(partition, doc_id, entries, source)
                continue
            try:
                # Each side's copy IN THIS PARTITION: a copy elsewhere (a document that moved)
                # counts as absent here, and the other partition's entries deal with it there.
                in_sql = self.sql.partition_of(doc_id)
                sql_doc = self.sql.get(doc_id) if in_sql == partition else None
            except MigratorError as exc:
                self.log.failed(partition, doc_id, entries, f"cannot read: {exc}")
                continue
            src = json_docs.get(doc_id) if source is Side.JSON else sql_doc
            dst = sql_doc if source is Side.JSON else json_docs.get(doc_id)
            action, note = _decide(src, dst), _moved_on(entries[-1], src)
            if action == "none" or self.dry_run:
                self.log.done(partition, doc_id, entries, action, note)
            elif source is Side.SQL:
                records = _replace(records, id_key, doc_id, src)
                json_fixes.append((doc_id, entries, action, note))
            else:
                try:
                    if src is None or in_sql not in (None, partition):
                        self.sql.delete(doc_id)  # gone from JSON here, or to move it here
                    if src is not None:
                        self.sql.put(partition, src)
                except MigratorError as exc:
                    self.log.failed(partition, doc_id, entries, f"SQL refused: {exc}")
                    continue
                self.log.done(partition, doc_id, entries, action, note)
        if not json_fixes:
            return
        try:
            self.json.write_partition(partition, records)
        except MigratorError as exc:
            for doc_id, entries, _, _ in json_fixes:
                self.log.failed(partition, doc_id, entries, f"JSON write failed: {exc}")
            return
        for doc_id, entries, action, note in json_fixes:
            self.log.done(partition, doc_id, entries, action, note)

    def _sqlite_only(
        self, partition: str, doc_id: str, entries: list[PendingWrite], source: Side
    ) -> None:
        if source is Side.SQL:
            note = "JSON is not kept in sqlite-only; moving back rebuilds it from SQL"
            self.log.done(partition, doc_id, entries, "skipped", note)
            return
        note = (
            "the newest version is in the archived JSON store: run `migrator phase set "
            "sqlite-primary`, then `migrator repair`"
        )
        self.log.failed(partition, doc_id, entries, note)


def _decide(src: Any, dst: Any) -> str:
    if src is None:
        return "none" if dst is None else "delete"
    if dst is not None and canonical_bytes(src) == canonical_bytes(dst):
        return "none"
    return "put"


def _moved_on(latest: PendingWrite, src: Any) -> str | None:
    current = None if src is None else revision_of(src)
    if current == latest.revision:
        return None
    return "the source changed since the journaled write: copied its current version"


def _replace(records: list[Any], id_key: str, doc_id: str, doc: Any) -> list[Any]:
    """`records` with the document `doc_id` replaced by `doc` (appended when new, removed when
    `doc` is None)."""
    kept = []
    placed = False
    for record in records:
        if isinstance(record, dict) and record.get(id_key) == doc_id:
            if doc is not None and not placed:
                kept.append(doc)
                placed = True
            continue
        kept.append(record)
    if doc is not None and not placed:
        kept.append(doc)
    return kept
