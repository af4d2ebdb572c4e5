"""`validate --sample`: a uniform random sample of the ids of both stores, the same for the
same seed, compared without reading every document of the SQL side."""

from __future__ import annotations

import hashlib
import heapq
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrator.validator import Comparison

logger = logging.getLogger(__name__)


def sample_partitions(run: Comparison, names: list[str], size: int, seed: int) -> int:
    """Compare the `size` ids of both stores whose keyed hashes are smallest: a uniform random
    sample, the same for the same seed. One pass over the JSON files holds at most `size`
    documents; SQL gives ids, then only the sampled documents. Returns how many ids there are."""
    sample = Sample(size, seed)
    for name in names:
        for record in run.read_json(name):
            doc_id = record.get(run.id_key) if isinstance(record, dict) else None
            if isinstance(doc_id, str) and doc_id:
                sample.offer(doc_id, json_doc=(name, record))
        for doc_id in run.sql_store.ids_in(name):
            sample.offer(doc_id, sql_partition=name)
    json_docs: dict[str, list[Any]] = {}
    sql_ids: dict[str, set[str]] = {}
    for doc_id, entry in sample.entries.items():
        if entry.json_doc is not None:
            json_docs.setdefault(entry.json_doc[0], []).append(entry.json_doc[1])
        if entry.sql_partition is not None:
            sql_ids.setdefault(entry.sql_partition, set()).add(doc_id)
    for name in sorted(json_docs.keys() | sql_ids.keys()):
        run.compare_partition(
            name, json_docs.get(name, []), run.read_sql(name, sql_ids.get(name, set()))
        )
    logger.info("sampled %d of %d documents (seed %d)", len(sample.entries), len(sample.seen), seed)
    return len(sample.seen)


@dataclass
class _Sampled:
    json_doc: tuple[str, Any] | None = None
    sql_partition: str | None = None


class Sample:
    """The `size` ids with the smallest hashes (keyed by the seed) among those offered."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.key = str(seed).encode()
        self.entries: dict[str, _Sampled] = {}
        self.seen: set[str] = set()
        self._heap: list[tuple[int, str]] = []  # (-hash, id): the largest kept hash on top

    def offer(
        self,
        doc_id: str,
        *,
        json_doc: tuple[str, Any] | None = None,
        sql_partition: str | None = None,
    ) -> None:
        self.seen.add(doc_id)
        entry = self.entries.get(doc_id)
        if entry is None:
            digest = hashlib.blake2b(doc_id.encode(), digest_size=8, key=self.key).digest()
            rank = int.from_bytes(digest, "big")
            if len(self.entries) >= self.size:
                if rank >= -self._heap[0][0]:
                    return
                del self.entries[heapq.heappop(self._heap)[1]]
            entry = self.entries[doc_id] = _Sampled()
            heapq.heappush(self._heap, (-rank, doc_id))
        if json_doc is not None and entry.json_doc is None:
            entry.json_doc = json_doc
        if sql_partition is not None:
            entry.sql_partition = sql_partition
