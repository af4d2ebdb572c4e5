"""`import_store`: copy the legacy JSON store into the SQL database, one partition file at a time.

A run reads each partition file whole and hashes its bytes. A file whose hash matches its import
mark (recorded with the data of its last clean import) is skipped without being parsed and
counted `unchanged`. Any other file is parsed and each record validated and mapped to rows; the
rows are written through `BatchWriter` in transactions of about `batch_size` documents, and the
partition's mark is written in the same transaction as its last rows, so an import killed at any
moment and run again ends as an uninterrupted one would.

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
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.json_store import STATE_DIR, JsonStore
from adapters.sql_store import ImportMark, PartitionWrite, SqlStore
from migrator.errors import DocumentError, JsonFileError, UsageError
from migrator.import_writer import BatchWriter, WriteJob, WriteOutcome
from migrator.rejects import Reject, RejectsFile, default_rejects_path
from schemas.codec import DocumentRows, canonical_bytes, from_rows, to_rows, validate
from schemas.declaration import POSITION_COLUMN

logger = logging.getLogger(__name__)

#: Documents per transaction: large enough that commits cost little, small enough for memory.
DEFAULT_BATCH_SIZE = 1000
#: Rejects kept in the summary (the rejects file has every one).
KEPT_REJECTS = 1000


@dataclass
class PartitionResult:
    """One partition file's part of an import. `status`: imported, unchanged, rejected (the
    whole file), or missing (the file is gone; its documents are still in the database)."""

    name: str
    file: str
    status: str = "imported"
    documents: int = 0
    imported: int = 0
    unchanged: int = 0
    rejected: int = 0
    gone: list[str] = field(default_factory=list)
    pruned: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def docs_per_second(self) -> float:
        return (self.imported + self.unchanged) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "documents": self.documents,
            "imported": self.imported,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "gone": len(self.gone),
            "gone_ids": self.gone,
            "pruned": self.pruned,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ImportSummary:
    """What an import did, per partition and in total."""

    partitions: list[PartitionResult]
    rejects: list[Reject]
    seconds: float
    rejects_file: Path | None
    dry_run: bool = False
    prune: bool = False

    def _total(self, name: str) -> int:
        return sum(getattr(p, name) for p in self.partitions)

    @property
    def files(self) -> int:
        return sum(1 for p in self.partitions if p.status != "missing")

    @property
    def documents(self) -> int:
        return self._total("documents")

    @property
    def imported(self) -> int:
        return self._total("imported")

    @property
    def unchanged(self) -> int:
        return self._total("unchanged")

    @property
    def rejected(self) -> int:
        return self._total("rejected")

    @property
    def gone(self) -> int:
        return sum(len(p.gone) for p in self.partitions)

    @property
    def pruned(self) -> int:
        return self._total("pruned")

    @property
    def bytes(self) -> int:
        return self._total("bytes")

    @property
    def ok(self) -> bool:
        """True when every record was imported (or was already)."""
        return self.rejected == 0

    @property
    def docs_per_second(self) -> float:
        done = self.imported + self.unchanged
        return done / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The `--format json` object."""
        return {
            "files": self.files,
            "documents": self.documents,
            "imported": self.imported,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "gone": self.gone,
            "pruned": self.pruned,
            "seconds": round(self.seconds, 3),
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
            "dry_run": self.dry_run,
            "partitions": [p.to_dict() for p in self.partitions],
            "rejects": [r.to_dict() for r in self.rejects],
        }


@dataclass(frozen=True)
class ImportProgress:
    """Where a run is, after each partition file."""

    partition: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    documents: int


def import_store(
    json_store: JsonStore,
    sql_store: SqlStore,
    *,
    prune: bool = False,
    dry_run: bool = False,
    rejects_path: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[ImportProgress], None] | None = None,
) -> ImportSummary:
    """Import every partition file of `json_store` into `sql_store` (see the module docstring).

    `rejects_path` defaults to `<json dir>/.migrator/rejects-<UTC time>.jsonl`, created only
    when something is rejected (never in a dry run)."""
    if not json_store.exists():
        raise UsageError(f"JSON store {json_store.root} does not exist or is not a directory")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {batch_size}")
    started = time.monotonic()
    if dry_run:
        target = SqlStore("sqlite://", json_store.schema)
        rejects_file = None
    else:
        target = sql_store
        path = rejects_path or default_rejects_path(json_store.root / STATE_DIR)
        rejects_file = RejectsFile(path)
    try:
        target.init_schema()
        run = _Import(json_store, target, prune=prune, dry_run=dry_run, rejects=rejects_file)
        run.run(batch_size, progress)
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
        prune=prune,
    )
    logger.info(
        "import: %s files, %s imported, %s unchanged, %s rejected in %.1fs",
        summary.files,
        summary.imported,
        summary.unchanged,
        summary.rejected,
        summary.seconds,
    )
    return summary


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
    ) -> None:
        self.json_store = json_store
        self.target = target
        self.schema = json_store.schema
        self.prune = prune
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
        #: Dry run: partition -> id -> (index in the file, hash of the document as read).
        self.digests: dict[str, dict[str, tuple[int, bytes]]] = {}
        self.writer: BatchWriter | None = None

    def run(self, batch_size: int, progress: Callable[[ImportProgress], None] | None) -> None:
        # The dry run's in-memory database is one connection: no second thread may use it.
        background = not self.dry_run
        with BatchWriter(self.target, batch_size, self._written, background=background) as writer:
            self.writer = writer
            partitions = self.json_store.partitions()
            sizes = [_size(self.json_store.path_for(p)) for p in partitions]
            bytes_done = documents = 0
            for done, (partition, size) in enumerate(zip(partitions, sizes, strict=True), 1):
                result = self._partition(partition)
                writer.drain()
                bytes_done += size
                documents += result.documents if result else 0
                if progress is not None:
                    progress(
                        ImportProgress(
                            partition, done, len(partitions), bytes_done, sum(sizes), documents
                        )
                    )
            writer.flush()
            self._vanished(set(self.results))
            writer.flush()
        for result in self.results.values():
            result.gone = [i for i in result.gone if self.claims.get(i, result.name) == result.name]
            result.pruned = len(result.gone) if self.prune else 0

    # ------------------------------------------------------------------ one file

    def _partition(self, partition: str) -> PartitionResult | None:
        started = time.monotonic()
        path = self.json_store.path_for(partition)
        result = PartitionResult(partition, str(path))
        try:
            data = self.json_store.read_bytes(partition)
        except JsonFileError as exc:
            self._reject_file(result, exc)
            return result
        if data is None:  # removed since the listing: dealt with as a vanished file
            return None
        self.results[partition] = result
        result.bytes = len(data)
        sha = hashlib.sha256(data).hexdigest()
        mark = self.marks.get(partition)
        if mark is not None and mark.sha256 == sha:
            result.status = "unchanged"
            result.documents = result.unchanged = mark.documents
        else:
            try:
                records = self.json_store.parse(partition, data)
            except JsonFileError as exc:
                self._reject_file(result, exc)
            else:
                del data
                self._records(result, records, sha)
        result.seconds += time.monotonic() - started
        return result

    def _records(self, result: PartitionResult, records: list[Any], sha: str) -> None:
        assert self.writer is not None
        partition, id_key = result.name, self.schema.id_key
        self.examined.add(partition)
        in_file = {
            r[id_key] for r in records if isinstance(r, dict) and isinstance(r.get(id_key), str)
        }
        stored = set(self.target.ids_in(partition))
        newcomers = in_file - stored
        owners = self.target.owners(newcomers) if newcomers else {}
        first_index: dict[str, int] = {}
        batch: list[DocumentRows] = []
        for index, record in enumerate(records):
            result.documents += 1
            error = self._check(partition, index, record, first_index, owners)
            if error is not None:
                self._reject(result, index, record, error)
                continue
            doc_id = record[id_key]
            self.claims[doc_id] = partition
            batch.append(to_rows(self.schema, partition, record, index))
            if self.dry_run:
                self.digests.setdefault(partition, {})[doc_id] = (index, _digest(record))
            if len(batch) >= self.writer.batch_size:
                self.writer.add(WriteJob(PartitionWrite(partition, batch), final=False))
                batch = []
        gone = sorted(i for i in stored - in_file if self.claims.get(i, partition) == partition)
        result.gone = gone
        clean = result.rejected == 0 and (self.prune or not gone)
        mark = ImportMark(partition, sha, len(records)) if clean else None
        delete_ids = gone if self.prune else ()
        self.writer.add(
            WriteJob(PartitionWrite(partition, batch, delete_ids=delete_ids, mark=mark), final=True)
        )

    def _check(
        self,
        partition: str,
        index: int,
        record: Any,
        first_index: dict[str, int],
        owners: Mapping[str, str],
    ) -> DocumentError | None:
        """Why `record` cannot be imported, or None."""
        id_key = self.schema.id_key
        doc_id = record.get(id_key) if isinstance(record, dict) else None
        if isinstance(doc_id, str):
            if doc_id in first_index:
                return DocumentError(
                    f"duplicate id: record {first_index[doc_id]} of this file has it too "
                    "(the first is kept)",
                    field=id_key,
                    doc_id=doc_id,
                )
            first_index[doc_id] = index
        try:
            validate(self.schema, record)
        except DocumentError as exc:
            return exc
        assert isinstance(doc_id, str)
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
        except JsonFileError:
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

    def _written(self, outcome: WriteOutcome) -> None:
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
            index, digest = expected.pop(doc[id_key], (-1, b""))
            if index >= 0 and _digest(doc) != digest:
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
        """Partitions in the database (or with a mark) whose file is gone."""
        assert self.writer is not None
        known = set(self.target.partitions()) | set(self.marks)
        for partition in sorted(known - set(files)):
            ids = sorted(i for i in self.target.ids_in(partition) if i not in self.claims)
            file = str(self.json_store.root / f"{partition}.json")
            self.results[partition] = PartitionResult(partition, file, "missing", gone=ids)
            if self.prune:
                write = PartitionWrite(partition, [], delete_ids=ids)
                self.writer.add(WriteJob(write, final=True))

    # ------------------------------------------------------------------ rejects

    def _reject_file(self, result: PartitionResult, error: JsonFileError) -> None:
        self.results[result.name] = result
        self.examined.add(result.name)
        result.status = "rejected"
        result.rejected += 1
        self._keep(Reject.of_file(result.file, result.name, error), None)

    def _reject(
        self, result: PartitionResult, index: int, record: Any, error: DocumentError
    ) -> None:
        result.rejected += 1
        self._keep(Reject.of_document(result.file, result.name, index, error), record)

    def _keep(self, reject: Reject, record: Any) -> None:
        logger.debug("rejected: %s", reject)
        if len(self.rejects) < KEPT_REJECTS:
            self.rejects.append(reject)
        if self.rejects_file is not None:
            self.rejects_file.write(reject, record)


def _digest(doc: Any) -> bytes:
    return hashlib.blake2b(canonical_bytes(doc), digest_size=16).digest()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
