"""The importer's loop: each partition file in turn, its records claimed, written or rejected,
then the partitions whose file is gone (see `migrator.importer` for the rules)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from pathlib import Path

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import ImportMark, PartitionWrite, SqlStore
from migrator.errors import JsonFileError
from migrator.import_budget import BudgetSpent, ErrorBudget, RejectLog
from migrator.import_claims import IdClaims
from migrator.import_dry_run import DryRunCheck
from migrator.import_gone import GoneDocuments
from migrator.import_reader import FileRead, read_file, read_files, worth_a_helper
from migrator.import_summary import ImportProgress, PartitionResult
from migrator.import_writer import BatchWriter, WriteJob, WriteOutcome
from migrator.in_flight import version_time
from migrator.prune_guard import PruneGuard
from migrator.rejects import Reject
from migrator.schemas.codec import DocumentRows, from_rows
from migrator.schemas.declaration import POSITION_COLUMN

logger = logging.getLogger(__name__)


class ImportRun:
    """One run: results per partition, rejects, claims; `written` hears of each commit.

    `guard` is what a prune holds back (None: `prune_all`, or no prune); `check` is the dry
    run's read-back (None in a real import); `locked`: `dual-write`, where each partition is
    read and committed under its partition lock."""

    def __init__(
        self,
        json_store: JsonStore,
        target: SqlStore,
        rejects: RejectLog,
        *,
        prune: bool,
        guard: PruneGuard | None,
        check: DryRunCheck | None,
        budget: ErrorBudget,
        locked: bool,
    ) -> None:
        self.json_store = json_store
        self.target = target
        self.schema = json_store.schema
        self.rejects = rejects
        self.prune = prune
        self.gone = GoneDocuments(json_store, target, prune=prune, guard=guard, locked=locked)
        self.check = check
        self.budget = budget
        self.locked = locked
        self.results: dict[str, PartitionResult] = {}
        self.marks: Mapping[str, ImportMark] = {} if check else target.import_marks()
        self.claims = IdClaims(json_store)
        #: Documents read from files in this run (not those of unchanged files).
        self.read = 0
        #: Why the run stopped early (the budget), or None.
        self.stopped: str | None = None

    def run(
        self,
        writer: BatchWriter,
        progress: Callable[[ImportProgress], None] | None,
        parallel: bool | None,
    ) -> None:
        self._reject_unsafe_files()
        partitions = self.json_store.partitions()
        sizes = [_size(self.json_store.path_for(p)) for p in partitions]
        known = {p: mark.sha256 for p, mark in self.marks.items()}
        reads: Generator[FileRead | None, None, None]
        if self.locked:
            reads = _under_locks(self.json_store, writer, partitions, known)
        else:
            helper = worth_a_helper(sizes) if parallel is None else parallel
            digests = self.check is not None
            reads = read_files(self.json_store, partitions, known, digests=digests, parallel=helper)
        try:
            with contextlib.closing(reads):  # stops the helper process even when a write fails
                self._files(writer, partitions, reads, sizes, progress)
            writer.flush()
            self._stop_if_spent(writer)
            for gone in self.gone.vanished(writer, set(self.results), self.marks, self.claims):
                self.results[gone.name] = gone
            writer.flush()
        except BudgetSpent as spent:
            self.stopped = str(spent)
        for result in self.results.values():
            result.gone = [i for i in result.gone if self.claims.get(i, result.name) == result.name]
            result.held = [i for i in result.held if i in result.gone]
            result.pruned = len(result.gone) - len(result.held) if self.prune else 0

    def _files(
        self,
        writer: BatchWriter,
        partitions: list[str],
        reads: Iterable[FileRead | None],
        sizes: list[int],
        progress: Callable[[ImportProgress], None] | None,
    ) -> None:
        """Each file in turn; a read is None for a file removed since the listing (then dealt
        with as vanished). The budget is checked after each file."""
        bytes_done = documents = 0
        started = time.monotonic()
        files = zip(partitions, reads, sizes, strict=True)
        for done, (partition, read, size) in enumerate(files, 1):
            if read is not None:
                result = self._partition(writer, read)
                result.seconds += time.monotonic() - started
                documents += result.documents
            bytes_done += size
            if progress is not None:
                total = sum(sizes)
                progress(
                    ImportProgress(partition, done, len(partitions), bytes_done, total, documents)
                )
            self._stop_if_spent(writer)
            started = time.monotonic()

    # ------------------------------------------------------------------ one file

    def _partition(self, writer: BatchWriter, read: FileRead) -> PartitionResult:
        partition = read.partition
        path = self.json_store.path_for(partition)
        result = PartitionResult(partition, str(path), bytes=read.size)
        self.results[partition] = result
        if read.file_error is not None:
            self.claims.examined.add(partition)
            result.status = "rejected"
            result.rejected += 1
            self.rejects.keep(
                Reject.of_file(result.file, partition, read.json_file_error(path)), None
            )
        elif read.unchanged:
            result.status = "unchanged"
            result.documents = result.unchanged = self.marks[partition].documents
        else:
            self._records(writer, result, read)
        return result

    def _records(self, writer: BatchWriter, result: PartitionResult, read: FileRead) -> None:
        partition = result.name
        self.claims.examined.add(partition)
        stored = set(self.target.ids_in(partition))
        newcomers = read.ids - stored
        owners = self.target.owners(newcomers) if newcomers else {}
        newer = set() if self.check is not None else newer_in_sql(self.target, read, stored)
        batch: list[DocumentRows] = []
        for record in read.records:
            result.documents += 1
            self.read += 1
            if record.rows is None:
                self.rejects.document(result, record.index, record.raw, record.error())
                continue
            if record.doc_id in newer:  # never an older version over a newer one
                self.claims.claim(record.doc_id, partition)
                result.kept_newer.append(record.doc_id)
                continue
            conflict = self.claims.conflict(partition, record.doc_id, owners)
            if conflict is not None:
                raw = from_rows(self.schema, record.rows.root, record.rows.children)
                self.rejects.document(result, record.index, raw, conflict)
                continue
            self.claims.claim(record.doc_id, partition)
            batch.append(record.rows)
            if self.check is not None and record.digest is not None:
                self.check.expect(partition, record.doc_id, record.index, record.digest)
            if len(batch) >= writer.batch_size:
                committed = writer.add(WriteJob(PartitionWrite(partition, batch), final=False))
                batch = []
                if committed:
                    self._stop_if_spent(writer, partial=result)
        gone = sorted(i for i in stored - read.ids if self.claims.get(i, partition) == partition)
        result.gone = gone
        result.held = self.gone.held(partition, gone, exists=True, newest=read.newest)
        clean = result.rejected == 0 and (self.prune or not gone) and not result.held
        clean = clean and not result.kept_newer  # read again until someone settles them
        mark = ImportMark(partition, read.sha256, len(read.records)) if clean else None
        delete_ids = [i for i in gone if i not in result.held] if self.prune else ()
        writer.add(
            WriteJob(PartitionWrite(partition, batch, delete_ids=delete_ids, mark=mark), final=True)
        )

    # ------------------------------------------------------------------ after the database

    def written(self, outcome: WriteOutcome) -> None:
        """The writer committed `outcome`: count it, reject what the database refused."""
        write = outcome.job.write
        result = self.results[write.partition]
        result.seconds += outcome.seconds
        result.imported += len(write.documents) - len(outcome.refused)
        for rows, error in outcome.refused:
            record = from_rows(self.schema, rows.root, rows.children)
            self.rejects.document(result, rows.root[POSITION_COLUMN], record, error)
            if self.check is not None:
                self.check.forget(write.partition, rows.doc_id)
        if outcome.job.final and self.check is not None:
            for index, doc, error in self.check.verify(result.name):
                result.imported -= 1
                self.rejects.document(result, index, doc, error)

    # ------------------------------------------------------------------ rejects

    def _stop_if_spent(self, writer: BatchWriter, partial: PartitionResult | None = None) -> None:
        """At a batch boundary: once the rejects exceed the budget, commit what is pending (whole
        files only, or nothing when a file is `partial`ly written) and stop."""
        if self.budget.exceeded(self.rejects.count, self.read) is None:
            return
        writer.flush()  # may refuse documents: the reason counts them too
        if partial is not None:
            partial.status = "partial"
        raise BudgetSpent(self.budget.exceeded(self.rejects.count, self.read))

    def _reject_unsafe_files(self) -> None:
        """A `*.json` file whose name is no safe partition name is rejected whole, by name."""
        for path in self.json_store.unsafe_files():
            result = PartitionResult(path.stem, str(path), status="rejected", rejected=1)
            self.results[f"\0{path.name}"] = result  # a key no partition name can take
            reason = (
                "file name is not a safe partition name (letters, digits, '-', '_', '.'): rename it"
            )
            self.rejects.keep(
                Reject.of_file(str(path), path.stem, JsonFileError(path, reason)), None
            )


def newer_in_sql(target: SqlStore, read: FileRead, stored: set[str]) -> set[str]:
    """The ids whose SQL copy has a newer version key than the file's record: the JSON store
    lost that version (a restore, a hand edit), and importing it would lose SQL's."""
    schema = target.schema
    version_key = schema.version_key
    versions = {r.doc_id: r.version for r in read.records if r.version is not None}
    candidates = stored & set(versions)
    if version_key is None or not candidates:
        return set()
    newer = set()
    for doc in target.read_partition(read.partition, candidates):
        moment = version_time(doc.get(version_key))
        file_version = versions[doc[schema.id_key]]
        if moment is not None and file_version is not None and moment > file_version:
            newer.add(doc[schema.id_key])
    return newer


def _under_locks(
    json_store: JsonStore, writer: BatchWriter, partitions: list[str], marks: Mapping[str, str]
) -> Generator[FileRead | None, None, None]:
    """`dual-write`: each file read while holding its partition lock, which stays held while
    the caller maps the read into write jobs and until they are committed (when the caller asks
    for the next read). The snapshot is taken holding no lock: a read that would write first is
    dropped, and the file read again once the snapshot is taken."""
    for partition in partitions:
        while True:
            with json_store.lock(partition):
                read = read_file(json_store, partition, marks.get(partition))
                writes = read is not None and not read.unchanged and read.file_error is None
                if not (writes and writer.snapshot_pending):
                    yield read
                    writer.flush()
                    break
            writer.before_first_write()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
