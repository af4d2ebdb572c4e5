"""What an import did: per partition file and in total, as values the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from migrator.rejects import Reject

#: The counts an import reports first, per partition and in total, in this order.
_COUNTS = ("documents", "imported", "unchanged", "rejected")
#: The run's lists of ids, which its JSON object gives whole.
_LISTS = ("gone", "pruned", "held", "kept_newer")


@dataclass
class PartitionResult:
    """One partition file's part of an import. `status`: imported, unchanged, rejected (the
    whole file), missing (the file is gone; its documents are still in the database), or
    partial (the run stopped midway through the file: some of it written, no import mark)."""

    name: str
    file: str
    status: str = "imported"
    documents: int = 0
    imported: int = 0
    unchanged: int = 0
    rejected: int = 0
    gone: list[str] = field(default_factory=list)
    pruned: int = 0
    #: Gone documents `--prune` kept: the JSON store may never have had them (`--prune-all`).
    held: list[str] = field(default_factory=list)
    #: Documents whose SQL version (version key) is newer than the file's: not overwritten.
    kept_newer: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            **{name: getattr(self, name) for name in _COUNTS},
            "gone": len(self.gone),
            "gone_ids": self.gone,
            "pruned": self.pruned,
            "held": len(self.held),
            "held_ids": self.held,
            "kept_newer": self.kept_newer,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }


class _Total:
    """An `ImportSummary` total: the sum over its partitions of the `PartitionResult` field
    of the same name, stated once for every count."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, summary: None, owner: type) -> _Total: ...
    @overload
    def __get__(self, summary: ImportSummary, owner: type) -> int: ...
    def __get__(self, summary: ImportSummary | None, owner: type) -> _Total | int:
        if summary is None:
            return self
        values = (getattr(p, self._name) for p in summary.partitions)
        return sum(v if isinstance(v, int) else len(v) for v in values)


@dataclass
class ImportSummary:
    """What an import did, per partition and in total."""

    partitions: list[PartitionResult]
    rejects: list[Reject]
    seconds: float
    rejects_file: Path | None
    dry_run: bool = False
    prune: bool = False
    #: Why the run stopped before the end (its rejects exceeded the error budget), or None.
    stopped: str | None = None

    #: Totals over the partitions (a list of ids counts its length).
    documents = _Total()
    imported = _Total()
    unchanged = _Total()
    rejected = _Total()
    gone = _Total()
    pruned = _Total()
    held = _Total()
    kept_newer = _Total()
    bytes = _Total()

    @property
    def files(self) -> int:
        return sum(1 for p in self.partitions if p.status != "missing")

    @property
    def ok(self) -> bool:
        """True when every record was imported (or was already)."""
        return self.rejected == 0 and self.stopped is None

    @property
    def docs_per_second(self) -> float:
        done = self.imported + self.unchanged
        return done / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The `--format json` object."""
        return {
            "files": self.files,
            **{name: getattr(self, name) for name in (*_COUNTS, *_LISTS)},
            "seconds": round(self.seconds, 3),
            "bytes": self.bytes,
            "docs_per_second": round(self.docs_per_second, 1),
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
            "dry_run": self.dry_run,
            "stopped": self.stopped,
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
