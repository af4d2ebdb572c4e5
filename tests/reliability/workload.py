"""A deterministic dual-write workload: the writer process (`tests.writers workload`) and the
test that kills it derive the same operations from one seed, so after a kill the test knows
exactly which writes were made (the writer prints each index as it completes) and which one
was in flight.

Documents carry the edges a migration must keep: non-ASCII and NUL text, integers beyond 64
bits, 1.0 next to 1, absent next to null, unknown nested keys, child rows in order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from migrator.schemas.codec import canonical_bytes
from tests.schemas.samples import message, session

PARTITIONS = ("ws-a", "ws-b", "ws-c")
#: Ids the workload writes; each lives in one partition (a move would be another test).
IDS = tuple(f"doc-{n}" for n in range(12))


def partition_of(doc_id: str) -> str:
    return PARTITIONS[int(doc_id.rsplit("-", 1)[1]) % len(PARTITIONS)]


def document(doc_id: str, version: int) -> dict[str, Any]:
    """Version `version` of a document: every version differs in bytes."""
    changes: dict[str, Any] = {
        "task": f"v{version} of {doc_id}: naïve 😀 \x00 end",
        "total_duration": 2**70 + version,
        "unknown": {"nested": [1, 1.0, None, {"deep": [version]}]},
        "chat_history": [
            message(f"{doc_id}-m{k}", content=f"{k} of v{version}") for k in range(version % 3)
        ],
    }
    if version % 2:
        changes["winner_id"] = ...  # absent, not null
    return session(doc_id, **changes)


@dataclass(frozen=True)
class Op:
    kind: str  # "put" or "delete"
    doc_id: str
    version: int = 0

    @property
    def partition(self) -> str:
        return partition_of(self.doc_id)


def initial() -> dict[str, list[dict[str, Any]]]:
    """What both stores hold before the workload: half the ids, version 0."""
    docs: dict[str, list[dict[str, Any]]] = {p: [] for p in PARTITIONS}
    for doc_id in IDS[::2]:
        docs[partition_of(doc_id)].append(document(doc_id, 0))
    return docs


def plan(seed: int, count: int) -> list[Op]:
    """`count` puts and deletes of the workload's ids (a delete only of a present id)."""
    rng = random.Random(seed)
    present = {i for docs in initial().values() for i in (d["id"] for d in docs)}
    ops = []
    for index in range(count):
        doc_id = rng.choice(IDS)
        if doc_id in present and rng.random() < 0.25:
            ops.append(Op("delete", doc_id))
            present.discard(doc_id)
        else:
            ops.append(Op("put", doc_id, index + 1))
            present.add(doc_id)
    return ops


class Model:
    """What the stores must hold: partition -> ordered id -> document."""

    def __init__(self) -> None:
        self.partitions: dict[str, dict[str, dict[str, Any]]] = {
            p: {d["id"]: d for d in docs} for p, docs in initial().items()
        }

    def apply(self, op: Op) -> None:
        docs = self.partitions[op.partition]
        if op.kind == "delete":
            docs.pop(op.doc_id, None)
        else:
            docs[op.doc_id] = document(op.doc_id, op.version)

    def documents(self) -> dict[str, tuple[str, bytes]]:
        return {
            doc_id: (partition, canonical_bytes(doc))
            for partition, docs in self.partitions.items()
            for doc_id, doc in docs.items()
        }

    def order(self) -> dict[str, list[str]]:
        return {p: list(docs) for p, docs in self.partitions.items() if docs}


def model_after(ops: list[Op], done: int) -> Model:
    model = Model()
    for op in ops[:done]:
        model.apply(op)
    return model
