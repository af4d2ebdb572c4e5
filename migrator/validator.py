"""The validator: prove the SQL store holds exactly what the JSON store holds, or name every
difference.

Partition by partition, each side's documents are keyed by id and compared by their canonical
bytes (`migrator.schemas.codec.canonical_bytes`); DeepDiff runs only on the pairs whose bytes
differ, so
validating costs little more than reading both stores. Memory holds one partition's documents:
an id seen on one side only is kept as a reference until the end, where an id found on both
sides in different partitions becomes one mismatch (a moved document), not two missing ones.

Read-only, safe beside a running application: JSON files are read without a lock (writers
replace them atomically) and SQL in one read transaction per partition.

A live system changes while it is read, so two options keep writes in flight from looking like
differences. `min_age` leaves out every document whose version key (the schema's
`version_key`, an RFC 3339 / ISO 8601 timestamp), on either side, is newer than that many
seconds: counted as `in_flight`, never compared. `recheck` holds every difference found back,
pauses, and re-reads just those documents, each partition under its write lock (a dual write
holds that lock across both stores, so none is seen half done); only what still differs is
reported, and the rest is counted as `settled`. The time and lock helpers are in
`migrator.in_flight`.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import migrator.in_flight as live
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.errors import UsageError
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.comparison import (
    PARTITION_CHANGED,
    Difference,
    compare_documents,
    compile_ignore_paths,
    deep_differences,
)
from migrator.schemas.declaration import Schema

__all__ = [
    "Difference",
    "DocRef",
    "InvalidRecord",
    "Mismatch",
    "ValidationReport",
    "compare_documents",
    "validate",
]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

#: At most this many ids go into one `IN (...)` of a sampled SQL read; more read the partition.
_MAX_IDS_PER_READ = 500
#: The pause before `recheck` re-reads (a name of its own, so tests can act during it).
_pause = time.sleep


@dataclass(frozen=True)
class DocRef:
    """A document by id and partition: what a missing finding names."""

    id: str
    partition: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "partition": self.partition}


@dataclass
class Mismatch:
    """A document on both sides that differs. `partition` is the JSON side's; a document whose
    partition differs carries a `partition_changed` difference at path `root` first."""

    id: str
    partition: str
    differences: list[Difference]
    #: How many differences there are, when `differences` was cut by `max_details`.
    total_differences: int | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": self.id,
            "partition": self.partition,
            "differences": [d.to_dict() for d in self.differences],
        }
        if self.total_differences is not None:
            result["differences_total"] = self.total_differences
        return result


@dataclass(frozen=True)
class InvalidRecord:
    """A JSON record that cannot be keyed (not an object, no string id, a repeated id): it
    cannot be in the SQL store as it stands."""

    partition: str
    index: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"partition": self.partition, "index": self.index, "reason": self.reason}


def _tally() -> dict[str, int]:
    return dict.fromkeys(
        (
            "json",
            "sqlite",
            "matched",
            "missing_in_sqlite",
            "missing_in_json",
            "mismatched",
            "ignored",
            "invalid_in_json",
            "in_flight",
            "settled",
        ),
        0,
    )


#: The counts that are findings (what makes `ok` false).
FINDINGS = ("missing_in_sqlite", "missing_in_json", "mismatched", "invalid_in_json")


@dataclass
class ValidationReport:
    """What `validate` found. `counts` are always complete; the lists may be cut by
    `max_details` (then `details_truncated`). `by_partition` has the same counts per partition
    (a moved document counts as mismatched in its JSON partition). `in_flight` documents were
    left out (`min_age`); `settled` ones differed at first and matched when re-read (`recheck`),
    and count as matched too. `json` and `sqlite` count what the first read found."""

    ok: bool
    schema: str
    sampled: bool
    counts: dict[str, int]
    missing_in_sqlite: list[DocRef]
    missing_in_json: list[DocRef]
    mismatched: list[Mismatch]
    invalid_in_json: list[InvalidRecord] = field(default_factory=list)
    by_partition: dict[str, dict[str, int]] = field(default_factory=dict)
    ignore_paths: tuple[str, ...] = ()
    details_truncated: bool = False
    #: With `sampled`: the seed that reproduces the sample, and how many ids it was drawn from.
    seed: int | None = None
    population: int | None = None
    #: With `min_age`: ids whose version key is later than now (a skewed clock). They are
    #: compared, never left out as in flight.
    future_versions: tuple[str, ...] = ()

    @property
    def compared(self) -> int:
        """Documents compared: each id once, whichever sides hold it."""
        c = self.counts
        return c["matched"] + c["mismatched"] + c["missing_in_sqlite"] + c["missing_in_json"]

    def to_dict(self) -> dict[str, Any]:
        """The JSON report, a contract scripts rely on (keys are only ever added)."""
        result: dict[str, Any] = {
            "ok": self.ok,
            "schema": self.schema,
            "sampled": self.sampled,
            "counts": dict(self.counts),
            "missing_in_sqlite": [ref.to_dict() for ref in self.missing_in_sqlite],
            "missing_in_json": [ref.to_dict() for ref in self.missing_in_json],
            "mismatched": [m.to_dict() for m in self.mismatched],
            "invalid_in_json": [r.to_dict() for r in self.invalid_in_json],
            "ignore_paths": list(self.ignore_paths),
            "details_truncated": self.details_truncated,
            "future_versions": list(self.future_versions),
        }
        if self.sampled:
            result["seed"] = self.seed
            result["population"] = self.population
        return result


def check_options(
    schema: Schema, max_details: int | None, min_age: float | None, recheck_delay: float
) -> None:
    """A `UsageError` for an option `validate` (and `check`, in every phase) cannot take."""
    if max_details is not None and max_details < 0:
        raise UsageError(f"--max-details must be 0 or more, got {max_details}")
    if min_age is not None and min_age < 0:
        raise UsageError(f"--min-age must be 0 or more seconds, got {min_age:g}")
    if min_age is not None and schema.version_key is None:
        raise UsageError(
            f"--min-age: schema {schema.name!r} declares no version key "
            "(Schema.version_key) to tell how old a document is"
        )
    if recheck_delay < 0:
        raise UsageError(f"--recheck-delay must be 0 or more seconds, got {recheck_delay:g}")


def validate(
    json_store: JsonStore,
    sql_store: SqlStore,
    *,
    ignore_paths: Sequence[str] = (),
    partitions: Sequence[str] | None = None,
    sample: int | None = None,
    max_details: int | None = None,
    seed: int | None = None,
    min_age: float | None = None,
    recheck: bool = False,
    recheck_delay: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> ValidationReport:
    """Compare the two stores document by document and report every difference.

    `ignore_paths` are regular expressions over DeepDiff paths (`root\\['updated_at'\\]`) that
    may differ; `partitions` limits the comparison to those partitions (on both sides);
    `sample` compares a random sample of that many ids from the whole store (reproducible with
    `seed`); `max_details` caps each list of findings and each mismatch's differences, never
    the counts. On a live system, `min_age` (seconds) leaves out documents written that
    recently, and `recheck` re-reads each difference once after `recheck_delay` seconds (see
    the module docstring). `progress(partitions_done, partitions_total)` is called after each
    partition compared in full (the CLI draws it)."""
    if sample is not None and sample < 1:
        raise UsageError(f"--sample must be at least 1, got {sample}")
    check_options(sql_store.schema, max_details, min_age, recheck_delay)
    run = _Run(json_store, sql_store, compile_ignore_paths(ignore_paths), max_details)
    run.min_age, run.deferring = min_age, recheck
    names = _partitions_in_scope(json_store, sql_store, partitions)
    for path in json_store.unsafe_files() if partitions is None else ():
        run.add_invalid(path.stem, -1, f"{path.name}: not a safe partition name, not compared")
    drawn: tuple[int, int] | None = None  # (seed, population) of a sample
    if sample is None:
        for done, name in enumerate(names, 1):
            run.compare_partition(name, run.read_json(name), sql_store.read_partition(name))
            if progress is not None:
                progress(done, len(names))
    else:
        chosen_seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        drawn = chosen_seed, _sample_partitions(run, names, sample, chosen_seed)
    run.finish()
    if recheck:
        run.recheck(recheck_delay)
    report = run.report(ignore_paths)
    if drawn is not None:
        report.sampled = True
        report.seed, report.population = drawn
    return report


def _partitions_in_scope(
    json_store: JsonStore, sql_store: SqlStore, wanted: Sequence[str] | None
) -> list[str]:
    names = sorted(set(json_store.partitions()) | set(sql_store.partitions()))
    if wanted is None:
        return names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise UsageError(f"--partition {', '.join(map(repr, unknown))}: in neither store")
    return sorted(set(wanted))


def _sample_partitions(run: _Run, names: list[str], size: int, seed: int) -> int:
    """Compare the `size` ids of both stores whose keyed hashes are smallest: a uniform random
    sample, the same for the same seed. One pass over the JSON files holds at most `size`
    documents; SQL gives ids, then only the sampled documents. Returns how many ids there are."""
    sample = _Sample(size, seed)
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


class _Sample:
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


class _Run:
    """The state of one validation: findings, counts, and the one-sided ids not yet resolved."""

    def __init__(
        self,
        json_store: JsonStore,
        sql_store: SqlStore,
        ignore: tuple[re.Pattern[str], ...],
        max_details: int | None,
    ) -> None:
        self.json_store, self.sql_store = json_store, sql_store
        self.id_key = sql_store.schema.id_key
        self.ignore = ignore
        self.cap = max_details
        self.truncated = False
        self.json_partitions = set(json_store.partitions())
        self.counts = _tally()
        self.by_partition: dict[str, dict[str, int]] = {}
        self.mismatched: list[Mismatch] = []
        self.invalid: list[InvalidRecord] = []
        self.missing: dict[str, list[DocRef]] = {"missing_in_sqlite": [], "missing_in_json": []}
        # id -> partition of documents seen on one side only, until `finish` pairs moved ones.
        self.json_only: dict[str, str] = {}
        self.sql_only: dict[str, str] = {}
        # Live systems: documents newer than `min_age` seconds are left out; with `deferring`
        # (recheck), each difference waits in `suspects` (id -> partition) for a second read.
        self.min_age: float | None = None
        self.deferring = False
        self.suspects: dict[str, str] = {}
        self.recent: set[str] = set()  # one-sided ids whose document was in flight
        self.cutoff: datetime | None = None
        #: During the recheck: the suspects reported again or left out (the rest settled).
        self.unsettled: set[str] | None = None
        #: Ids whose version key is in the future (only looked for with `min_age`).
        self.future: set[str] = set()

    # ------------------------------------------------------------------ reading

    def read_json(self, name: str) -> list[Any]:
        # A partition only SQL has may not even be a safe file name: then JSON has nothing.
        return self.json_store.read_partition(name) if name in self.json_partitions else []

    def read_sql(self, name: str, ids: set[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        if len(ids) <= _MAX_IDS_PER_READ:
            return self.sql_store.read_partition(name, ids)
        return [d for d in self.sql_store.read_partition(name) if d[self.id_key] in ids]

    # ------------------------------------------------------------------ comparing

    def compare_partition(
        self, name: str, records: list[Any], sql_docs: list[Any], *, again: bool = False
    ) -> None:
        """Compare one partition's JSON records with its SQL documents (`again`: a recheck's
        re-read of some of them, whose sides and invalid records were counted already)."""
        self.cutoff = live.cutoff(self.min_age)
        json_docs: dict[str, Any] = {}
        for index, record in enumerate(records):
            doc_id = record.get(self.id_key) if isinstance(record, dict) else None
            if isinstance(doc_id, str) and doc_id in json_docs:
                if not again:
                    self.add_invalid(name, index, f"repeats id {doc_id!r}")
            elif isinstance(doc_id, str) and doc_id:
                json_docs[doc_id] = record
            elif again:
                continue
            elif isinstance(record, dict):
                self.add_invalid(name, index, f"has no string {self.id_key!r}")
            else:
                self.add_invalid(name, index, "is not a JSON object")
        sql_docs_by_id = {doc[self.id_key]: doc for doc in sql_docs}
        if not again:
            self.count(name, "json", len(json_docs))
            self.count(name, "sqlite", len(sql_docs_by_id))
        for doc_id, json_doc in json_docs.items():
            sql_doc = sql_docs_by_id.pop(doc_id, None)
            if sql_doc is None:
                if doc_id in self.json_only:  # the same id in two JSON files: one may pair
                    self.add_missing("missing_in_sqlite", doc_id, self.json_only[doc_id])
                self.json_only[doc_id] = name
                if self.in_flight(json_doc):
                    self.recent.add(doc_id)
            elif self.in_flight(json_doc) or self.in_flight(sql_doc):
                self.leave_out(doc_id, name)
            elif canonical_bytes(json_doc) == canonical_bytes(sql_doc):
                self.count(name, "matched")
            else:
                self.compare_pair(doc_id, name, json_doc, sql_doc, [])
        for doc_id, sql_doc in sql_docs_by_id.items():
            self.sql_only[doc_id] = name
            if self.in_flight(sql_doc):
                self.recent.add(doc_id)
        logger.debug("partition %s: %d json, %d sql", name, len(json_docs), len(sql_docs))

    def compare_pair(
        self, doc_id: str, name: str, json_doc: Any, sql_doc: Any, found: list[Difference]
    ) -> None:
        """A pair whose bytes differ, or whose partitions do (then `found` says so)."""
        listed = self.room(self.mismatched) and not self.deferring
        if listed or self.ignore:  # past the cap, differing bytes are a mismatch unless ignored
            found = found + deep_differences(json_doc, sql_doc, self.ignore)
            if not found:
                self.count(name, "matched")
                self.count(name, "ignored")
                return
        if self.deferring:
            self.suspects[doc_id] = name
            return
        self.mark(doc_id)
        self.count(name, "mismatched")
        if not listed:
            self.truncated = True
            return
        shown = self.cut(found)
        total = len(found) if len(shown) < len(found) else None
        self.mismatched.append(Mismatch(doc_id, name, shown, total))

    def finish(self) -> None:
        """Pair the ids seen on one side only: a moved document, or missing for real."""
        moved = sorted(self.json_only.keys() & self.sql_only.keys())
        json_docs = self._fetch_json({doc_id: self.json_only[doc_id] for doc_id in moved})
        sql_docs = self._fetch_sql({doc_id: self.sql_only[doc_id] for doc_id in moved})
        self.cutoff = live.cutoff(self.min_age)
        for doc_id in moved:
            if doc_id not in json_docs or doc_id not in sql_docs:
                continue  # written to since it was read: reported as missing below
            json_name, sql_name = self.json_only.pop(doc_id), self.sql_only.pop(doc_id)
            if self.in_flight(json_docs[doc_id]) or self.in_flight(sql_docs[doc_id]):
                self.leave_out(doc_id, json_name)
                continue
            where = Difference("root", PARTITION_CHANGED, json_name, sql_name)
            self.compare_pair(doc_id, json_name, json_docs[doc_id], sql_docs[doc_id], [where])
        for key, one_sided in (
            ("missing_in_sqlite", self.json_only),
            ("missing_in_json", self.sql_only),
        ):
            for doc_id, name in one_sided.items():
                if doc_id in self.recent:
                    self.leave_out(doc_id, name)
                elif self.deferring:
                    self.suspects[doc_id] = name
                else:
                    self.add_missing(key, doc_id, name)
            one_sided.clear()
        self.recent.clear()

    def recheck(self, delay: float) -> None:
        """Re-read the suspects once, after `delay` seconds, and judge them for good."""
        suspects, self.suspects = self.suspects, {}
        self.deferring = False
        if not suspects:
            return
        logger.info("re-reading %d differing document(s) in %gs", len(suspects), delay)
        _pause(delay)
        self.unsettled = set()
        self.json_partitions = set(self.json_store.partitions())
        in_sql = self.sql_store.owners(suspects)  # where each is now, if it moved meanwhile
        for name in sorted(set(suspects.values()) | set(in_sql.values())):
            with live.write_locked(self.json_store, name):
                records = [
                    record
                    for record in self.read_json(name)
                    if isinstance(record, dict) and record.get(self.id_key) in suspects
                ]
                wanted = {doc_id for doc_id, where in in_sql.items() if where == name}
                sql_docs = self.read_sql(name, wanted)
            self.compare_partition(name, records, sql_docs, again=True)
        self.finish()
        for doc_id, name in suspects.items():
            if doc_id not in self.unsettled:
                self.count(name, "settled")
        self.unsettled = None

    def in_flight(self, doc: Any) -> bool:
        version_key = self.sql_store.schema.version_key
        if self.cutoff is not None and live.in_future(doc, version_key):
            self.future.add(str(doc.get(self.id_key)))
            return False
        return live.in_flight(doc, version_key, self.cutoff)

    def leave_out(self, doc_id: str, name: str) -> None:
        self.mark(doc_id)
        self.count(name, "in_flight")

    def mark(self, doc_id: str) -> None:
        if self.unsettled is not None:
            self.unsettled.add(doc_id)

    def _fetch_json(self, where: dict[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in sorted(set(where.values())):
            for record in self.read_json(name):
                doc_id = record.get(self.id_key) if isinstance(record, dict) else None
                if isinstance(doc_id, str) and where.get(doc_id) == name:
                    found.setdefault(doc_id, record)
        return found

    def _fetch_sql(self, where: dict[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in sorted(set(where.values())):
            ids = {doc_id for doc_id, partition in where.items() if partition == name}
            found.update((doc[self.id_key], doc) for doc in self.read_sql(name, ids))
        return found

    # ------------------------------------------------------------------ bookkeeping

    def count(self, partition: str, key: str, n: int = 1) -> None:
        self.counts[key] += n
        self.by_partition.setdefault(partition, _tally())[key] += n

    def room(self, listed: Sequence[object]) -> bool:
        return self.cap is None or len(listed) < self.cap

    def cut(self, items: list[_T]) -> list[_T]:
        if self.cap is None or len(items) <= self.cap:
            return items
        self.truncated = True
        return items[: self.cap]

    def add_invalid(self, name: str, index: int, reason: str) -> None:
        self.count(name, "invalid_in_json")
        if self.room(self.invalid):
            self.invalid.append(InvalidRecord(name, index, reason))
        else:
            self.truncated = True

    def add_missing(self, key: str, doc_id: str, name: str) -> None:
        # Kept whole (refs are small) so the listed ones are the first by partition and id.
        self.mark(doc_id)
        self.count(name, key)
        self.missing[key].append(DocRef(doc_id, name))

    def report(self, ignore_paths: Iterable[str]) -> ValidationReport:
        def by_place(refs: list[DocRef]) -> list[DocRef]:
            return self.cut(sorted(refs, key=lambda ref: (ref.partition, ref.id)))

        missing_in_sqlite = by_place(self.missing["missing_in_sqlite"])
        missing_in_json = by_place(self.missing["missing_in_json"])
        return ValidationReport(
            ok=not any(self.counts[key] for key in FINDINGS),
            schema=self.sql_store.schema.name,
            sampled=False,
            counts=self.counts,
            missing_in_sqlite=missing_in_sqlite,
            missing_in_json=missing_in_json,
            mismatched=sorted(self.mismatched, key=lambda m: (m.partition, m.id)),
            invalid_in_json=self.invalid,
            by_partition=self.by_partition,
            ignore_paths=tuple(ignore_paths),
            details_truncated=self.truncated,
            future_versions=tuple(sorted(self.future)),
        )
