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

import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import migrator.in_flight as live
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_rows import read_partition_rows
from migrator.adapters.sql_store import SqlStore
from migrator.errors import UsageError
from migrator.in_flight import InFlightFilter
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.comparison import (
    PARTITION_CHANGED,
    Difference,
    compare_documents,
    compile_ignore_paths,
    deep_differences,
)
from migrator.schemas.declaration import Schema
from migrator.schemas.decoding import unencodable
from migrator.schemas.jsontext import JsonEncodeError
from migrator.validate_report import (
    FINDINGS,
    DocRef,
    Findings,
    InvalidRecord,
    Mismatch,
    ValidationReport,
)
from migrator.validate_rows import DocsRead, JsonRows, RowsRead, SqlSide
from migrator.validate_sample import sample_partitions

__all__ = [
    "FINDINGS",
    "Difference",
    "DocRef",
    "InvalidRecord",
    "Mismatch",
    "ValidationReport",
    "check_options",
    "compare_documents",
    "validate",
]

logger = logging.getLogger(__name__)

#: At most this many ids go into one `IN (...)` of a sampled SQL read; more read the partition.
_MAX_IDS_PER_READ = 500
#: The pause before `recheck` re-reads (a name of its own, so tests can act during it).
_pause = time.sleep


def check_options(
    schema: Schema, max_details: int | None, min_age: float | None, recheck_delay: float
) -> None:
    """A `UsageError` for an option `validate` (and `check`, in every phase) cannot take."""
    if max_details is not None and max_details < 0:
        raise UsageError(
            f"max_details must be 0 or more, got {max_details}", parameters=["max_details"]
        )
    if min_age is not None and min_age < 0:
        raise UsageError(
            f"min_age must be 0 or more seconds, got {min_age:g}", parameters=["min_age"]
        )
    if min_age is not None and schema.version_key is None:
        raise UsageError(
            f"min_age: schema {schema.name!r} declares no version key "
            "(Schema.version_key) to tell how old a document is",
            parameters=["min_age"],
        )
    if recheck_delay < 0:
        raise UsageError(
            f"recheck_delay must be 0 or more seconds, got {recheck_delay:g}",
            parameters=["recheck_delay"],
        )


def validate(
    json_store: JsonStore,
    sql_store: SqlStore,
    *,
    ignore_paths: Sequence[str] | None = None,
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
        raise UsageError(f"sample must be at least 1, got {sample}", parameters=["sample"])
    check_options(sql_store.schema, max_details, min_age, recheck_delay)
    schema = sql_store.schema
    findings = Findings(max_details)
    live = InFlightFilter(min_age, schema.version_key, schema.id_key)
    ignore_paths = tuple(ignore_paths or ())
    ignore = compile_ignore_paths(ignore_paths)
    run = Comparison(json_store, sql_store, findings, ignore=ignore, live=live, deferring=recheck)
    names = _partitions_in_scope(json_store, sql_store, partitions)
    for path in json_store.unsafe_files() if partitions is None else ():
        findings.add_invalid(path.stem, -1, f"{path.name}: not a safe partition name, not compared")
    drawn: tuple[int, int] | None = None  # (seed, population) of a sample
    if sample is None:
        for done, name in enumerate(names, 1):
            records, checked = run.read_json_checked(name)
            run.compare_partition(name, records, run.read_rows(name, checked))
            if progress is not None:
                progress(done, len(names))
    else:
        chosen_seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        drawn = chosen_seed, sample_partitions(run, names, sample, chosen_seed)
    run.finish()
    if recheck:
        run.recheck(recheck_delay)
    report = findings.report(schema.name, ignore_paths, live.future)
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
        raise UsageError(
            f"partitions {', '.join(map(repr, unknown))}: in neither store",
            parameters=["partitions"],
        )
    return sorted(set(wanted))


def _same_bytes(schema: Schema, json_doc: Any, sql_doc: Any) -> bool:
    try:
        return canonical_bytes(json_doc) == canonical_bytes(sql_doc)
    except JsonEncodeError as exc:  # a JSON document always encodes: SQL's holds a BLOB
        raise unencodable(schema, [sql_doc], exc) from exc


class Comparison:
    """One validation's comparing: pairs by id, one-sided ids until `finish` pairs moved ones,
    and the suspects a recheck re-reads."""

    def __init__(
        self,
        json_store: JsonStore,
        sql_store: SqlStore,
        findings: Findings,
        *,
        ignore: tuple[re.Pattern[str], ...],
        live: InFlightFilter,
        deferring: bool,
    ) -> None:
        self.json_store, self.sql_store = json_store, sql_store
        self.id_key = sql_store.schema.id_key
        self.findings = findings
        self.ignore = ignore
        self.in_flight = live
        #: `recheck`: each difference waits in `suspects` (id -> partition) for a second read.
        self.deferring = deferring
        self.suspects: dict[str, str] = {}
        self.json_partitions = set(json_store.partitions())
        # id -> partition of documents seen on one side only, until `finish` pairs moved ones.
        self.json_only: dict[str, str] = {}
        self.sql_only: dict[str, str] = {}
        self.recent: set[str] = set()  # one-sided ids whose document was in flight
        self.json_rows = JsonRows(sql_store.schema)

    # ------------------------------------------------------------------ reading

    def read_json(self, name: str) -> list[Any]:
        # A partition only SQL has may not even be a safe file name: then JSON has nothing.
        return self.json_store.read_partition(name) if name in self.json_partitions else []

    def read_json_checked(self, name: str) -> tuple[list[Any], bool]:
        """`read_json`, and whether the records are vouched for as JSON (`JsonStore`)."""
        if name not in self.json_partitions:
            return [], True
        return self.json_store.read_partition_checked(name)

    def read_rows(self, name: str, json_checked: bool) -> SqlSide:
        """The partition's SQL rows, compared with JSON's as rows (`migrator.validate_rows`)."""
        rows = read_partition_rows(self.sql_store, name)
        return RowsRead(rows, self.json_rows, json_checked=json_checked)

    def read_sql(self, name: str, ids: set[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        if len(ids) <= _MAX_IDS_PER_READ:
            return self.sql_store.read_partition(name, ids)
        return [d for d in self.sql_store.read_partition(name) if d[self.id_key] in ids]

    # ------------------------------------------------------------------ comparing

    def compare_partition(
        self, name: str, records: list[Any], sql: SqlSide | list[Any], *, again: bool = False
    ) -> None:
        """Compare one partition's JSON records with its SQL documents (`again`: a recheck's
        re-read of some of them, whose sides and invalid records were counted already)."""
        self.in_flight.restart()
        json_docs: dict[str, Any] = {}
        for index, record in enumerate(records):
            doc_id = record.get(self.id_key) if isinstance(record, dict) else None
            if isinstance(doc_id, str) and doc_id in json_docs:
                if not again:
                    self.findings.add_invalid(name, index, f"repeats id {doc_id!r}")
            elif isinstance(doc_id, str) and doc_id:
                json_docs[doc_id] = record
            elif again:
                continue
            elif isinstance(record, dict):
                self.findings.add_invalid(name, index, f"has no string {self.id_key!r}")
            else:
                self.findings.add_invalid(name, index, "is not a JSON object")
        side = sql if not isinstance(sql, list) else DocsRead(sql, self.id_key)
        remaining = dict.fromkeys(side.ids())
        same = side.same_ids(json_docs)
        if not again:
            self.findings.count(name, "json", len(json_docs))
            self.findings.count(name, "sqlite", len(remaining))
        for doc_id, json_doc in json_docs.items():
            if doc_id not in remaining:
                if doc_id in self.json_only:  # the same id in two JSON files: one may pair
                    self.findings.add_missing("missing_in_sqlite", doc_id, self.json_only[doc_id])
                self.json_only[doc_id] = name
                if self.in_flight(json_doc):
                    self.recent.add(doc_id)
                continue
            del remaining[doc_id]
            if doc_id in same:  # the same document: in flight on both sides or none
                if self.in_flight(json_doc):
                    self.leave_out(doc_id, name)
                else:
                    self.findings.count(name, "matched")
                continue
            sql_doc = side.doc(doc_id)
            if self.in_flight(json_doc) or self.in_flight(sql_doc):
                self.leave_out(doc_id, name)
            elif _same_bytes(self.sql_store.schema, json_doc, sql_doc):
                self.findings.count(name, "matched")
            else:
                self.compare_pair(doc_id, name, json_doc, sql_doc, [])
        for doc_id in remaining:
            self.sql_only[doc_id] = name
            if self.in_flight.min_age is not None and self.in_flight(side.doc(doc_id)):
                self.recent.add(doc_id)
        logger.debug("partition %s: %d json, %d sql", name, len(json_docs), len(remaining))

    def compare_pair(
        self, doc_id: str, name: str, json_doc: Any, sql_doc: Any, found: list[Difference]
    ) -> None:
        """A pair whose bytes differ, or whose partitions do (then `found` says so)."""
        listed = self.findings.room(self.findings.mismatched) and not self.deferring
        if listed or self.ignore:  # past the cap, differing bytes are a mismatch unless ignored
            found = found + deep_differences(json_doc, sql_doc, self.ignore)
            if not found:
                self.findings.count(name, "matched")
                self.findings.count(name, "ignored")
                return
        if self.deferring:
            self.suspects[doc_id] = name
            return
        self.findings.add_mismatch(doc_id, name, found, listed)

    def finish(self) -> None:
        """Pair the ids seen on one side only: a moved document, or missing for real."""
        moved = sorted(self.json_only.keys() & self.sql_only.keys())
        json_docs = self._fetch_json({doc_id: self.json_only[doc_id] for doc_id in moved})
        sql_docs = self._fetch_sql({doc_id: self.sql_only[doc_id] for doc_id in moved})
        self.in_flight.restart()
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
                    self.findings.add_missing(key, doc_id, name)
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
        self.findings.unsettled = set()
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
            if doc_id not in self.findings.unsettled:
                self.findings.count(name, "settled")
        self.findings.unsettled = None

    def leave_out(self, doc_id: str, name: str) -> None:
        self.findings.mark(doc_id)
        self.findings.count(name, "in_flight")

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
