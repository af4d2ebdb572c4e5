"""What `validate` found: the report and its findings, and the bookkeeping that gathers them
(counts per partition, lists capped by `max_details`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from migrator.schemas.comparison import Difference

_T = TypeVar("_T")


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


def tally() -> dict[str, int]:
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


class Findings:
    """Counts and listed findings of one validation. During a recheck, `unsettled` collects
    the re-read ids reported again or left out (the rest settled)."""

    def __init__(self, max_details: int | None) -> None:
        self.cap = max_details
        self.truncated = False
        self.counts = tally()
        self.by_partition: dict[str, dict[str, int]] = {}
        self.mismatched: list[Mismatch] = []
        self.invalid: list[InvalidRecord] = []
        self.missing: dict[str, list[DocRef]] = {"missing_in_sqlite": [], "missing_in_json": []}
        self.unsettled: set[str] | None = None

    def count(self, partition: str, key: str, n: int = 1) -> None:
        self.counts[key] += n
        self.by_partition.setdefault(partition, tally())[key] += n

    def room(self, listed: Sequence[object]) -> bool:
        return self.cap is None or len(listed) < self.cap

    def cut(self, items: list[_T]) -> list[_T]:
        if self.cap is None or len(items) <= self.cap:
            return items
        self.truncated = True
        return items[: self.cap]

    def mark(self, doc_id: str) -> None:
        if self.unsettled is not None:
            self.unsettled.add(doc_id)

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

    def add_mismatch(self, doc_id: str, name: str, found: list[Difference], listed: bool) -> None:
        """A pair that differs; `listed` when there is room to name it (else only counted)."""
        self.mark(doc_id)
        self.count(name, "mismatched")
        if not listed:
            self.truncated = True
            return
        shown = self.cut(found)
        total = len(found) if len(shown) < len(found) else None
        self.mismatched.append(Mismatch(doc_id, name, shown, total))

    def report(
        self, schema: str, ignore_paths: Iterable[str], future: Iterable[str]
    ) -> ValidationReport:
        def by_place(refs: list[DocRef]) -> list[DocRef]:
            return self.cut(sorted(refs, key=lambda ref: (ref.partition, ref.id)))

        missing_in_sqlite = by_place(self.missing["missing_in_sqlite"])
        missing_in_json = by_place(self.missing["missing_in_json"])
        return ValidationReport(
            ok=not any(self.counts[key] for key in FINDINGS),
            schema=schema,
            sampled=False,
            counts=self.counts,
            missing_in_sqlite=missing_in_sqlite,
            missing_in_json=missing_in_json,
            mismatched=sorted(self.mismatched, key=lambda m: (m.partition, m.id)),
            invalid_in_json=self.invalid,
            by_partition=self.by_partition,
            ignore_paths=tuple(ignore_paths),
            details_truncated=self.truncated,
            future_versions=tuple(sorted(future)),
        )
