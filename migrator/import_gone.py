"""Documents the database holds that their partition file no longer has (`gone`): which a
prune deletes, which it holds back (`migrator.prune_guard`), and the partitions whose file is
gone altogether."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime

from migrator.adapters.json_store import JsonStore, check_partition_name
from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.errors import UnsafePartitionError
from migrator.import_claims import IdClaims
from migrator.import_summary import PartitionResult
from migrator.import_writer import BatchWriter, WriteJob
from migrator.prune_guard import PruneGuard

logger = logging.getLogger(__name__)


class GoneDocuments:
    """`guard`: what a prune holds back (None: `prune_all`, or no prune); `locked`: `dual-write`,
    where a prune is committed under the partition's lock."""

    def __init__(
        self,
        json_store: JsonStore,
        target: SqlStore,
        *,
        prune: bool,
        guard: PruneGuard | None,
        locked: bool,
    ) -> None:
        self.json_store = json_store
        self.target = target
        self.prune = prune
        self.guard = guard if prune else None
        self.locked = locked

    def held(
        self, partition: str, gone: list[str], *, exists: bool, newest: datetime | None
    ) -> list[str]:
        """The gone ids a prune must keep (none without `--prune`, or with `--prune-all`)."""
        if self.guard is None or not gone:
            return []
        if not exists:  # a partition file missing altogether: see migrator.prune_guard
            return sorted(gone)
        return sorted(self.guard.held(self.target.read_partition(partition, set(gone)), newest))

    def vanished(
        self,
        writer: BatchWriter,
        files: Collection[str],
        marks: Mapping[str, object],
        claims: IdClaims,
    ) -> Iterator[PartitionResult]:
        """Partitions in the database (or with a mark) whose file is gone. In `dual-write` a
        prune is committed under the partition's lock, unless a dual write made the file again
        meanwhile (then the next run reads it)."""
        known = set(self.target.partitions()) | set(marks)
        for partition in sorted(known - set(files)):
            locked = self.locked and self.prune and _is_safe(partition)
            if locked:
                writer.before_first_write()  # holding no lock
            file = self.json_store.root / f"{partition}.json"
            with self.json_store.lock(partition) if locked else contextlib.nullcontext():
                if locked and file.exists():
                    logger.info("partition %s: its file appeared during the import", partition)
                    continue
                ids = sorted(i for i in self.target.ids_in(partition) if i not in claims)
                held = self.held(partition, ids, exists=False, newest=None)
                yield PartitionResult(partition, str(file), "missing", gone=ids, held=held)
                if self.prune and not held:
                    writer.add(WriteJob(PartitionWrite(partition, [], delete_ids=ids), final=True))
                if locked:
                    writer.flush()


def _is_safe(partition: str) -> bool:
    """Whether `partition` can be a file's name (only then can a dual write hold its lock)."""
    try:
        check_partition_name(partition)
    except UnsafePartitionError:
        return False
    return True
