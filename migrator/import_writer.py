"""The importer's writer: partition writes grouped into transactions of about `batch_size`
documents, and, when the database refuses a group, the culprits found without losing the rest.

One transaction per partition file costs an import dearly (each SQLite commit may checkpoint the
WAL and fsync), so writes wait here until enough documents are pending. Each partition's data
and its import mark still commit together.

When a group breaks a constraint (a chat message id another session already uses) it is retried
partition by partition, and a refusing partition document by document: only the documents the
database refuses are rejected, and their partition's mark is not recorded.

(Committing on a background thread was tried and measured: no faster, since the driver takes
the GIL back for every row while the main thread parses. `import_reader` parallelizes with a
process instead.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.errors import ConstraintError, DocumentError
from migrator.schemas.codec import DocumentRows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteJob:
    """One partition write; `final` when it is the partition's last (it carries mark and prune)."""

    write: PartitionWrite
    final: bool


@dataclass
class WriteOutcome:
    """A job once committed: the documents the database refused, and its share of the time."""

    job: WriteJob
    refused: list[tuple[DocumentRows, DocumentError]] = field(default_factory=list)
    seconds: float = 0.0


class BatchWriter:
    """Collects jobs and commits them in groups; `done` hears of each job once committed, and
    `before_write` is called once, right before the first write (the import's snapshot)."""

    def __init__(
        self,
        store: SqlStore,
        batch_size: int,
        done: Callable[[WriteOutcome], None],
        before_write: Callable[[], object] | None = None,
    ) -> None:
        self.store = store
        self.batch_size = max(1, batch_size)
        self._done = done
        self._before_write = before_write
        self._jobs: list[WriteJob] = []
        self._documents = 0
        #: Partitions with a refused document: their later marks are dropped.
        self._refused_in: set[str] = set()

    @property
    def snapshot_pending(self) -> bool:
        """Whether `before_write` is still to be called (before the first write)."""
        return self._before_write is not None

    def before_first_write(self) -> None:
        """Call `before_write` now if it was not yet (the importer does so holding no partition
        lock: a snapshot of a big database may take longer than a writer waits for a lock)."""
        if self._before_write is not None:
            hook, self._before_write = self._before_write, None
            hook()

    def add(self, job: WriteJob) -> bool:
        """Queue `job`; True when that filled a batch, now committed."""
        self._jobs.append(job)
        self._documents += len(job.write.documents)
        if self._documents >= self.batch_size:
            return self.flush()
        return False

    def flush(self) -> bool:
        """Commit everything pending and report every outcome; False when nothing was."""
        jobs, self._jobs, self._documents = self._jobs, [], 0
        if not jobs:
            return False
        self.before_first_write()
        jobs = [self._unmarked(j) if j.write.partition in self._refused_in else j for j in jobs]
        start = time.monotonic()
        try:
            self.store.write_partitions([job.write for job in jobs])
            outcomes = [WriteOutcome(job) for job in jobs]
        except (ConstraintError, DocumentError) as exc:
            logger.info("%s partitions refused together (%s); retrying one by one", len(jobs), exc)
            outcomes = [self._one_partition(job) for job in jobs]
        _share_time(outcomes, time.monotonic() - start)
        for outcome in outcomes:
            self._done(outcome)
        return True

    def _one_partition(self, job: WriteJob) -> WriteOutcome:
        try:
            self.store.write_partitions([job.write])
            return WriteOutcome(job)
        except (ConstraintError, DocumentError):
            pass
        write = job.write
        refused: list[tuple[DocumentRows, DocumentError]] = []
        for rows in write.documents:
            try:
                self.store.write_partitions([PartitionWrite(write.partition, [rows])])
            except DocumentError as exc:
                refused.append((rows, exc))
        if refused:
            self._refused_in.add(write.partition)
        # What is left of the job: its deletions, and its mark when nothing was refused.
        rest = PartitionWrite(write.partition, [], delete_ids=write.delete_ids, mark=write.mark)
        self.store.write_partitions([rest if not refused else replace(rest, mark=None)])
        return WriteOutcome(job, refused)

    @staticmethod
    def _unmarked(job: WriteJob) -> WriteJob:
        return replace(job, write=replace(job.write, mark=None))


def _share_time(outcomes: list[WriteOutcome], seconds: float) -> None:
    """Spread a transaction's time over its jobs by their number of documents."""
    total = sum(len(outcome.job.write.documents) for outcome in outcomes)
    for outcome in outcomes:
        size = len(outcome.job.write.documents)
        outcome.seconds = seconds * size / total if total else seconds / len(outcomes)
