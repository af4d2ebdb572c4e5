"""`import_store`: copy the legacy JSON store into the SQL database, one partition file at a time.

A run reads each partition file whole and hashes its bytes (`import_reader`, in a helper process
on a big store). A file whose hash matches its import mark, recorded with the data of its last
clean import, is skipped without being parsed and counted `unchanged`. Any other file is parsed,
each record validated and mapped to rows, and the rows written through `BatchWriter` in
transactions of about `batch_size` documents; a partition's mark is written in the same
transaction as its last rows, so an import killed at any moment and run again ends as an
uninterrupted one would.

What is rejected, each with the field at fault, into the rejects file (JSON Lines):
- a file that is not a JSON array: whole, with its line and column;
- a record the schema refuses (wrong type, value outside its choices, missing id);
- the second record of a file with an id already seen in that file (the legacy application
  reads the first);
- a record whose id another partition holds: the partition the database already holds it in
  keeps it while its file still has it; otherwise the first file in name order keeps it;
- a document the database refuses (a chat message id another session already uses).

Documents in the database that a file no longer has are reported as `gone` and deleted only with
`prune`. A partition with rejects or unpruned gone documents gets no mark, so the next run reads
it again and reports them again (and a later `prune` still finds them).

A dry run rehearses a first import into an empty in-memory database (it never opens the real
one, so nothing is `unchanged`): each partition is written, read back and compared with its file
by canonical bytes, then dropped to keep memory to one batch. Keys that clash between partitions
in child tables are therefore only found by a real import.

An error budget (`max_errors`, `max_error_ratio`: rejects over documents read from files in
this run, applied once `RATIO_MIN_DOCUMENTS` were read) is checked after each transaction and
after each file. Once the rejects exceed it, what is pending is committed and the run stops
(`ImportSummary.stopped` says why): partitions written whole keep their marks; one stopped
midway is `partial`, with no mark, so the next run reads it again; later files are not read.

A real import runs in `json-only` or `dual-write` under the phase lock, and is refused once SQL
is primary, where a file may be behind SQL. In `dual-write` each partition is read and committed
under the partition lock every dual write holds, so SQL catches up beside the application's
writes and no write of the partition interleaves or is undone. A file unchanged since its mark is
still skipped: every later write changed the file, and reached SQL or left a journal entry.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from migrator.adapters.json_store import JsonStore, check_partition_name
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import ImportMark, PartitionWrite, SqlStore
from migrator.adapters.state_dir import StateDir
from migrator.adapters.store_identity import check_identity, record_identity
from migrator.defaults import DEFAULT_BATCH_SIZE, RATIO_MIN_DOCUMENTS
from migrator.errors import (
    DocumentError,
    ImportInterrupted,
    JsonFileError,
    PhaseError,
    StoreError,
    UnsafePartitionError,
    UsageError,
)
from migrator.import_reader import FileRead, digest, read_file, read_files, worth_a_helper
from migrator.import_summary import ImportProgress, ImportSummary, PartitionResult
from migrator.import_writer import BatchWriter, WriteJob, WriteOutcome
from migrator.in_flight import version_time
from migrator.prune_guard import PruneGuard
from migrator.rejects import Reject, RejectsFile
from migrator.schemas.codec import DocumentRows, from_rows, validate
from migrator.schemas.declaration import POSITION_COLUMN

logger = logging.getLogger(__name__)

#: Rejects kept in the summary (the rejects file has every one).
KEPT_REJECTS = 1000


def import_store(
    json_store: JsonStore,
    sql_store: SqlStore,
    *,
    prune: bool = False,
    prune_all: bool = False,
    dry_run: bool = False,
    rejects_path: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[ImportProgress], None] | None = None,
    parallel: bool | None = None,
    before_write: Callable[[], object] | None = None,
    max_errors: int | None = None,
    max_error_ratio: float | None = None,
    force: bool = False,
) -> ImportSummary:
    """Import every partition file of `json_store` into `sql_store` (see the module docstring).

    `rejects_path` defaults to `<json dir>/.migrator/rejects-<UTC time>.jsonl`, created only
    when something is rejected (never in a dry run). `parallel` reads and maps files in a helper
    process (None: when there is a spare core and the store is big enough to pay for it; never
    in `dual-write`, where each file is read under its partition lock).
    `before_write` is called once, right before the first write of documents (never in a dry
    run, nor in a run with nothing to change): the CLI takes its snapshot there.
    `max_errors` and `max_error_ratio` stop the run once the rejects exceed them (see the module
    docstring); by default everything valid is imported and the rest reported. `prune` holds
    back the gone documents the JSON store may never have had (`migrator.prune_guard`);
    `prune_all` deletes those too. A database that mirrors another JSON store is refused
    unless `force` (`migrator.adapters.store_identity`)."""
    if not json_store.exists():
        raise UsageError(f"JSON store {json_store.root} does not exist or is not a directory")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {batch_size}")
    if max_errors is not None and max_errors < 0:
        raise UsageError(f"--max-errors must be at least 0, not {max_errors}")
    if max_error_ratio is not None and not 0 <= max_error_ratio <= 1:
        raise UsageError(f"--max-error-ratio must be between 0 and 1, not {max_error_ratio}")
    started = time.monotonic()
    if dry_run:
        target = SqlStore("sqlite://", json_store.schema)
        rejects_file = None
    else:
        target = sql_store
        path = Path(rejects_path) if rejects_path else StateDir(json_store.root).new_rejects_file()
        rejects_file = RejectsFile(path)
    try:
        # A dry run writes only its in-memory database: it needs no lock and runs in any phase.
        held = (
            contextlib.nullcontext(Phase.JSON_ONLY)
            if dry_run
            else _importing(json_store.root, sql_store.location)
        )
        with held as phase:
            if not dry_run:
                check_identity(json_store.root, target, force=force)
            target.init_schema()
            if not dry_run:
                record_identity(json_store.root, target)
            run = _Import(
                json_store,
                target,
                prune=prune or prune_all,
                guard=None
                if prune_all or dry_run
                else PruneGuard.for_store(json_store.root, json_store.schema),
                dry_run=dry_run,
                rejects=rejects_file,
                budget=(max_errors, max_error_ratio),
                locked=phase is Phase.DUAL_WRITE,
            )
            hook = None if dry_run else before_write
            try:
                run.run(BatchWriter(target, batch_size, run.written, hook), progress, parallel)
            except KeyboardInterrupt:
                committed = 0 if dry_run else sum(r.imported for r in run.results.values())
                raise ImportInterrupted(committed) from None
    finally:
        if rejects_file is not None:
            rejects_file.close()
        if dry_run:
            target.close()
    summary = ImportSummary(
        partitions=list(run.results.values()),
        rejects=run.rejects,
        seconds=time.monotonic() - started,
        rejects_file=rejects_file.path if rejects_file and rejects_file.written else None,
        dry_run=dry_run,
        prune=prune or prune_all,
        stopped=run.stopped,
    )
    if run.stopped is not None:
        logger.info("import stopped: %s", run.stopped)
    logger.info(
        "import: %s files, %s imported, %s unchanged, %s rejected in %.1fs",
        summary.files,
        summary.imported,
        summary.unchanged,
        summary.rejected,
        summary.seconds,
    )
    return summary


@contextlib.contextmanager
def _importing(json_dir: Path, db: str) -> Iterator[Phase]:
    """Hold the phase lock while the store is in `json-only` or `dual-write` (see the module
    docstring), yielding the phase; a store with no state directory has never left `json-only`,
    and is left without one."""
    state = PhaseState(json_dir, db_hint=db)
    with state.lock() if state.state_dir.is_dir() else contextlib.nullcontext():
        phase = state.read().phase
        if phase.sql_is_primary:
            raise PhaseError(
                f"import runs in phase json-only or dual-write, not {phase}: SQL is the primary "
                "store now and the JSON files may be behind it, so an import could put older "
                "versions over newer ones; run `migrator repair` and `migrator validate` instead"
            )
        yield phase


class _BudgetSpent(Exception):
    """The rejects exceed the error budget: the run stops (caught in `_Import.run`)."""


class _Import:
    """The state of one run: results, rejects, and which partition claimed which id."""

    def __init__(
        self,
        json_store: JsonStore,
        target: SqlStore,
        *,
        prune: bool,
        dry_run: bool,
        rejects: RejectsFile | None,
        guard: PruneGuard | None = None,
        budget: tuple[int | None, float | None] = (None, None),
        locked: bool = False,
    ) -> None:
        self.json_store = json_store
        self.target = target
        self.schema = json_store.schema
        self.prune = prune
        #: What a prune holds back (None: `prune_all`, or nothing to prune).
        self.guard = guard if prune else None
        self.dry_run = dry_run
        self.rejects_file = rejects
        self.results: dict[str, PartitionResult] = {}
        self.rejects: list[Reject] = []
        self.marks: Mapping[str, ImportMark] = {} if dry_run else target.import_marks()
        #: id -> the partition whose file supplied it in this run.
        self.claims: dict[str, str] = {}
        #: Partitions whose records this run has examined (their valid ids are in `claims`).
        self.examined: set[str] = set()
        #: Valid ids of partition files read only to settle a conflict.
        self.kept_ids: dict[str, frozenset[str]] = {}
        #: Dry run: partition -> id -> (index in the file, digest of the document as read).
        self.digests: dict[str, dict[str, tuple[int, bytes]]] = {}
        self.writer: BatchWriter
        #: (max_errors, max_error_ratio); None: no limit.
        self.budget = budget
        #: Documents read from files in this run (not those of unchanged files), and rejects.
        self.read = self.rejected = 0
        #: Why the run stopped early (the budget), or None.
        self.stopped: str | None = None
        #: `dual-write`: each partition read and committed under its partition lock.
        self.locked = locked

    def run(
        self,
        writer: BatchWriter,
        progress: Callable[[ImportProgress], None] | None,
        parallel: bool | None,
    ) -> None:
        self.writer = writer
        self._reject_unsafe_files()
        partitions = self.json_store.partitions()
        sizes = [_size(self.json_store.path_for(p)) for p in partitions]
        known = {p: mark.sha256 for p, mark in self.marks.items()}
        reads: Generator[FileRead | None, None, None]
        if self.locked:
            reads = self._under_locks(partitions, known)
        else:
            helper = worth_a_helper(sizes) if parallel is None else parallel
            reads = read_files(
                self.json_store, partitions, known, digests=self.dry_run, parallel=helper
            )
        try:
            with contextlib.closing(reads):  # stops the helper process even when a write fails
                self._files(partitions, reads, sizes, progress)
            self.writer.flush()
            self._stop_if_spent()
            self._vanished(set(self.results))
            self.writer.flush()
        except _BudgetSpent as spent:
            self.stopped = str(spent)
        for result in self.results.values():
            result.gone = [i for i in result.gone if self.claims.get(i, result.name) == result.name]
            result.held = [i for i in result.held if i in result.gone]
            result.pruned = len(result.gone) - len(result.held) if self.prune else 0

    def _files(
        self,
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
                result = self._partition(read)
                result.seconds += time.monotonic() - started
                documents += result.documents
            bytes_done += size
            if progress is not None:
                total = sum(sizes)
                progress(
                    ImportProgress(partition, done, len(partitions), bytes_done, total, documents)
                )
            self._stop_if_spent()
            started = time.monotonic()

    def _under_locks(
        self, partitions: list[str], marks: Mapping[str, str]
    ) -> Generator[FileRead | None, None, None]:
        """`dual-write`: each file read while holding its partition lock, which stays held while
        the caller maps the read into write jobs and until they are committed (when the caller
        asks for the next read). The snapshot is taken holding no lock: a read that would write
        first is dropped, and the file read again once the snapshot is taken."""
        for partition in partitions:
            while True:
                with self.json_store.lock(partition):
                    read = read_file(self.json_store, partition, marks.get(partition))
                    writes = read is not None and not read.unchanged and read.file_error is None
                    if not (writes and self.writer.snapshot_pending):
                        yield read
                        self.writer.flush()
                        break
                self.writer.before_first_write()

    # ------------------------------------------------------------------ one file

    def _partition(self, read: FileRead) -> PartitionResult:
        partition = read.partition
        path = self.json_store.path_for(partition)
        result = PartitionResult(partition, str(path), bytes=read.size)
        self.results[partition] = result
        if read.file_error is not None:
            self.examined.add(partition)
            result.status = "rejected"
            result.rejected += 1
            self._keep(Reject.of_file(result.file, partition, read.json_file_error(path)), None)
        elif read.unchanged:
            result.status = "unchanged"
            result.documents = result.unchanged = self.marks[partition].documents
        else:
            self._records(result, read)
        return result

    def _records(self, result: PartitionResult, read: FileRead) -> None:
        partition = result.name
        self.examined.add(partition)
        stored = set(self.target.ids_in(partition))
        newcomers = read.ids - stored
        owners = self.target.owners(newcomers) if newcomers else {}
        newer = self._newer_in_sql(read, stored)
        batch: list[DocumentRows] = []
        for record in read.records:
            result.documents += 1
            self.read += 1
            if record.rows is None:
                self._reject(result, record.index, record.raw, record.error())
                continue
            if record.doc_id in newer:  # never an older version over a newer one
                self.claims[record.doc_id] = partition
                result.kept_newer.append(record.doc_id)
                continue
            conflict = self._conflict(partition, record.doc_id, owners)
            if conflict is not None:
                raw = from_rows(self.schema, record.rows.root, record.rows.children)
                self._reject(result, record.index, raw, conflict)
                continue
            self.claims[record.doc_id] = partition
            batch.append(record.rows)
            if record.digest is not None:
                self.digests.setdefault(partition, {})[record.doc_id] = (
                    record.index,
                    record.digest,
                )
            if len(batch) >= self.writer.batch_size:
                committed = self.writer.add(WriteJob(PartitionWrite(partition, batch), final=False))
                batch = []
                if committed:
                    self._stop_if_spent(partial=result)
        gone = sorted(i for i in stored - read.ids if self.claims.get(i, partition) == partition)
        result.gone = gone
        result.held = self._held(partition, gone, exists=True, newest=read.newest)
        clean = result.rejected == 0 and (self.prune or not gone) and not result.held
        clean = clean and not result.kept_newer  # read again until someone settles them
        mark = ImportMark(partition, read.sha256, len(read.records)) if clean else None
        delete_ids = [i for i in gone if i not in result.held] if self.prune else ()
        self.writer.add(
            WriteJob(PartitionWrite(partition, batch, delete_ids=delete_ids, mark=mark), final=True)
        )

    def _newer_in_sql(self, read: FileRead, stored: set[str]) -> set[str]:
        """The ids whose SQL copy has a newer version key than the file's record: the JSON
        store lost that version (a restore, a hand edit), and importing it would lose SQL's."""
        version_key = self.schema.version_key
        versions = {r.doc_id: r.version for r in read.records if r.version is not None}
        candidates = stored & set(versions)
        if self.dry_run or version_key is None or not candidates:
            return set()
        newer = set()
        for doc in self.target.read_partition(read.partition, candidates):
            moment = version_time(doc.get(version_key))
            file_version = versions[doc[self.schema.id_key]]
            if moment is not None and file_version is not None and moment > file_version:
                newer.add(doc[self.schema.id_key])
        return newer

    def _conflict(
        self, partition: str, doc_id: str, owners: Mapping[str, str]
    ) -> DocumentError | None:
        """Why another partition keeps `doc_id`, or None when this one may have it."""
        id_key = self.schema.id_key
        claimant = self.claims.get(doc_id)
        if claimant is not None and claimant != partition:
            return DocumentError(
                f"already in partition {claimant!r} (file {claimant}.json)",
                field=id_key,
                doc_id=doc_id,
            )
        owner = owners.get(doc_id)
        if claimant is None and owner not in (None, partition) and self._file_keeps(owner, doc_id):
            return DocumentError(
                f"already in partition {owner!r}, whose file still has it",
                field=id_key,
                doc_id=doc_id,
            )
        return None

    def _file_keeps(self, partition: str, doc_id: str) -> bool:
        """Whether `partition`'s file holds a valid record `doc_id` (it keeps the id then)."""
        if partition in self.examined:
            return False  # its valid records are claimed already, and this id is not
        if partition not in self.kept_ids:
            self.kept_ids[partition] = self._valid_ids(partition)
        return doc_id in self.kept_ids[partition]

    def _valid_ids(self, partition: str) -> frozenset[str]:
        try:
            records = self.json_store.read_partition(partition)
        except StoreError:  # not a JSON array, unreadable, or a name no file can have
            return frozenset()
        id_key, seen, valid = self.schema.id_key, set(), set()
        for record in records:
            doc_id = record.get(id_key) if isinstance(record, dict) else None
            if not isinstance(doc_id, str) or doc_id in seen:
                continue
            seen.add(doc_id)
            try:
                validate(self.schema, record)
            except DocumentError:
                continue
            valid.add(doc_id)
        return frozenset(valid)

    # ------------------------------------------------------------------ after the database

    def written(self, outcome: WriteOutcome) -> None:
        """The writer committed `outcome`: count it, reject what the database refused."""
        write = outcome.job.write
        result = self.results[write.partition]
        result.seconds += outcome.seconds
        result.imported += len(write.documents) - len(outcome.refused)
        for rows, error in outcome.refused:
            record = from_rows(self.schema, rows.root, rows.children)
            self._reject(result, rows.root[POSITION_COLUMN], record, error)
            self.digests.get(write.partition, {}).pop(rows.doc_id, None)
        if outcome.job.final and self.dry_run:
            self._verify(result)

    def _verify(self, result: PartitionResult) -> None:
        """Dry run: read the partition back, compare it with its file, then drop it."""
        expected = self.digests.pop(result.name, {})
        stored = self.target.read_partition(result.name)
        id_key = self.schema.id_key
        for doc in stored:
            index, wanted = expected.pop(doc[id_key], (-1, b""))
            if index >= 0 and digest(doc) != wanted:
                reason = "differs once read back from the database (the mapping lost something)"
                self._lost(result, index, doc, DocumentError(reason, doc_id=doc[id_key]))
        for doc_id, (index, _) in expected.items():
            error = DocumentError("missing once written to the database", doc_id=doc_id)
            self._lost(result, index, None, error)
        ids = [doc[id_key] for doc in stored]
        self.target.write_partitions([PartitionWrite(result.name, [], delete_ids=ids)])

    def _lost(self, result: PartitionResult, index: int, doc: Any, error: DocumentError) -> None:
        result.imported -= 1
        self._reject(result, index, doc, error)

    # ------------------------------------------------------------------ files gone

    def _vanished(self, files: Collection[str]) -> None:
        """Partitions in the database (or with a mark) whose file is gone. In `dual-write` a
        prune is committed under the partition's lock, unless a dual write made the file again
        meanwhile (then the next run reads it)."""
        known = set(self.target.partitions()) | set(self.marks)
        for partition in sorted(known - set(files)):
            locked = self.locked and self.prune and _is_safe(partition)
            if locked:
                self.writer.before_first_write()  # holding no lock
            file = self.json_store.root / f"{partition}.json"
            with self.json_store.lock(partition) if locked else contextlib.nullcontext():
                if locked and file.exists():
                    logger.info("partition %s: its file appeared during the import", partition)
                    continue
                ids = sorted(i for i in self.target.ids_in(partition) if i not in self.claims)
                held = self._held(partition, ids, exists=False, newest=None)
                result = PartitionResult(partition, str(file), "missing", gone=ids, held=held)
                self.results[partition] = result
                if self.prune and not held:
                    write = PartitionWrite(partition, [], delete_ids=ids)
                    self.writer.add(WriteJob(write, final=True))
                if locked:
                    self.writer.flush()

    def _held(
        self, partition: str, gone: list[str], *, exists: bool, newest: datetime | None
    ) -> list[str]:
        """The gone ids a prune must keep (none without `--prune`, or with `--prune-all`)."""
        if self.guard is None or not gone:
            return []
        if not exists:  # a partition file missing altogether: see migrator.prune_guard
            return sorted(gone)
        return sorted(self.guard.held(self.target.read_partition(partition, set(gone)), newest))

    # ------------------------------------------------------------------ rejects

    def _stop_if_spent(self, partial: PartitionResult | None = None) -> None:
        """At a batch boundary: once the rejects exceed the budget, commit what is pending (whole
        files only, or nothing when a file is `partial`ly written) and stop."""
        if self._over_budget() is None:
            return
        self.writer.flush()  # may refuse documents: the reason counts them too
        if partial is not None:
            partial.status = "partial"
        raise _BudgetSpent(self._over_budget())

    def _over_budget(self) -> str | None:
        max_errors, max_ratio = self.budget
        rejected, read = self.rejected, self.read
        rejects, exceed = (
            ("1 reject", "exceeds") if rejected == 1 else (f"{rejected:,} rejects", "exceed")
        )
        if max_errors is not None and rejected > max_errors:
            return f"{rejects} {exceed} --max-errors {max_errors}"
        if max_ratio is not None and read >= RATIO_MIN_DOCUMENTS and rejected > max_ratio * read:
            return (
                f"{rejects} in {read:,} documents read ({rejected / read:.1%}) "
                f"{exceed} --max-error-ratio {max_ratio:g}"
            )
        return None

    def _reject_unsafe_files(self) -> None:
        """A `*.json` file whose name is no safe partition name is rejected whole, by name."""
        for path in self.json_store.unsafe_files():
            result = PartitionResult(path.stem, str(path), status="rejected", rejected=1)
            self.results[f"\0{path.name}"] = result  # a key no partition name can take
            reason = (
                "file name is not a safe partition name (letters, digits, '-', '_', '.'): rename it"
            )
            self._keep(Reject.of_file(str(path), path.stem, JsonFileError(path, reason)), None)

    def _reject(
        self, result: PartitionResult, index: int, record: Any, error: DocumentError
    ) -> None:
        result.rejected += 1
        self._keep(Reject.of_document(result.file, result.name, index, error), record)

    def _keep(self, reject: Reject, record: Any) -> None:
        logger.debug("rejected: %s", reject)
        self.rejected += 1
        if len(self.rejects) < KEPT_REJECTS:
            self.rejects.append(reject)
        if self.rejects_file is not None:
            self.rejects_file.write(reject, record)


def _is_safe(partition: str) -> bool:
    """Whether `partition` can be a file's name (only then can a dual write hold its lock)."""
    try:
        check_partition_name(partition)
    except UnsafePartitionError:
        return False
    return True


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
