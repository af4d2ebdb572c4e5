"""What the clients were told, and whether the final stores still say it.

Each client owns its documents (no two clients write one document), so a client knows the
exact version its last acknowledged write left. A write that got no answer (a worker killed
under it, a dropped connection) may have happened or not: the document then has two
acceptable versions and its client writes it no more. A deleted document's version is None.

At the end each store is read directly (not through the service) and every tracked document
is compared, by canonical bytes, with what its client was last told: `lost` (acknowledged,
absent), `stale` (present, but not the acknowledged version) or `resurrected` (acknowledged
deleted, present).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from migrator.schemas.codec import canonical_bytes

Document = dict[str, Any]


def same(a: Document | None, b: Document | None) -> bool:
    """Equal documents, value for value (1 and 1.0 differ), or both absent."""
    if a is None or b is None:
        return a is b
    return canonical_bytes(a) == canonical_bytes(b)


@dataclass
class Tracked:
    """One document: its partition, the acknowledged version, and the unconfirmed ones."""

    partition: str
    acked: Document | None
    maybe: list[Document | None] = field(default_factory=list)
    #: When the answer to its newest write came (seconds on the rehearsal's clock; 0: never
    #: written; infinity: no answer, so the service may still have applied it at any time).
    last_done: float = 0.0

    @property
    def certain(self) -> bool:
        return not self.maybe

    def accepts(self, found: Document | None) -> bool:
        return any(same(found, version) for version in (self.acked, *self.maybe))


@dataclass
class Verdict:
    """The comparison of one store with the ledger."""

    store: str
    checked: int = 0
    lost: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    resurrected: list[str] = field(default_factory=list)
    #: Documents the store holds that no client ever wrote and the original store lacked.
    unknown: list[str] = field(default_factory=list)
    #: Unacknowledged writes, and how they ended: applied or not.
    unconfirmed_applied: int = 0
    unconfirmed_not_applied: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.stale or self.resurrected or self.unknown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "ok": self.ok,
            "checked": self.checked,
            "lost": len(self.lost),
            "stale": len(self.stale),
            "resurrected": len(self.resurrected),
            "unknown": len(self.unknown),
            "unconfirmed_applied": self.unconfirmed_applied,
            "unconfirmed_not_applied": self.unconfirmed_not_applied,
            "examples": (self.lost + self.stale + self.resurrected + self.unknown)[:10],
        }


class Ledger:
    """Every tracked document by id; clients change only their own entries."""

    def __init__(self) -> None:
        self.docs: dict[str, Tracked] = {}
        self._lock = threading.Lock()

    def track(self, doc_id: str, partition: str, doc: Document | None) -> Tracked:
        with self._lock:
            entry = self.docs[doc_id] = Tracked(partition, doc)
            return entry

    def answered_since(self, moment: float) -> set[str]:
        """Documents whose newest write was answered at or after `moment`, or never: the
        service may have applied them after it (a request can wait long in a queue)."""
        return {doc_id for doc_id, entry in self.docs.items() if entry.last_done >= moment}

    def verify(
        self, store: str, found: Mapping[str, Document], *, skip: Iterable[str] = ()
    ) -> Verdict:
        """Compare a store's documents (id -> document) with the ledger, leaving out `skip`
        (documents written since that store stopped receiving writes)."""
        left_out = set(skip)
        verdict = Verdict(store)
        for doc_id, entry in self.docs.items():
            if doc_id in left_out:
                continue
            verdict.checked += 1
            doc = found.get(doc_id)
            if entry.accepts(doc):
                if not entry.certain:
                    applied = not same(doc, entry.acked)
                    verdict.unconfirmed_applied += applied
                    verdict.unconfirmed_not_applied += not applied
            elif doc is None:
                verdict.lost.append(doc_id)
            elif entry.acked is None and entry.certain:
                verdict.resurrected.append(doc_id)
            else:
                verdict.stale.append(doc_id)
        verdict.unknown = sorted(set(found) - set(self.docs) - left_out)
        return verdict
