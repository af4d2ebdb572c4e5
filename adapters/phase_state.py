"""The durable migration phase, kept beside the JSON store so it is readable before any
database exists: `<json_dir>/.migrator/phase.json`.

Every process that opens the stores reads the same file. It is replaced atomically (readers
see the old state or the new, never half) and changed only under a file lock, so two commands
that change it at once cannot lose each other's change. A process notices another process's
change cheaply: `PhaseState.current()` compares the file's inode, mtime and size with what it
last read (one `stat` per call) and re-reads only when they changed.

The file holds the phase, the history of moves (each with its time, whether it was forced and
the warning that went with it), the shadow-read settings (sampling rate, paths allowed to
differ) and the outcome of the last validation, which the guard of `sqlite-primary` checks.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from adapters.json_store import LOCK_TIMEOUT_SECONDS, STATE_DIR, write_atomically
from migrator.errors import PhaseError, StoreError
from schemas.jsontext import JsonDecodeError, dumps_pretty, loads

PHASE_FILE = "phase.json"
_FORMAT_VERSION = 1


class Phase(StrEnum):
    """The four phases, in the order a migration walks through them."""

    JSON_ONLY = "json-only"
    DUAL_WRITE = "dual-write"
    SQLITE_PRIMARY = "sqlite-primary"
    SQLITE_ONLY = "sqlite-only"

    @property
    def rank(self) -> int:
        return list(Phase).index(self)

    @property
    def writes_json(self) -> bool:
        return self is not Phase.SQLITE_ONLY

    @property
    def writes_sql(self) -> bool:
        return self is not Phase.JSON_ONLY

    @property
    def sql_is_primary(self) -> bool:
        return self in (Phase.SQLITE_PRIMARY, Phase.SQLITE_ONLY)

    @classmethod
    def parse(cls, name: str) -> Phase:
        """The phase called `name`; a `PhaseError` listing the phases otherwise."""
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(p.value for p in cls)
            raise PhaseError(f"unknown phase {name!r} (phases: {known})") from None


def now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with microseconds: sortable, and what every state file records."""
    return (moment or now()).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class PhaseMove:
    """One recorded change of phase."""

    time: str
    from_phase: Phase
    to_phase: Phase
    forced: bool = False
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "from": self.from_phase.value,
            "to": self.to_phase.value,
            "forced": self.forced,
            "warning": self.warning,
        }


@dataclass(frozen=True)
class ValidationRecord:
    """The outcome of a validation, as the phase guards need it."""

    time: str
    ok: bool
    sampled: bool
    counts: dict[str, int]
    #: When the validation began reading: a write failure after this may not be in it.
    started: str | None = None

    @property
    def as_of(self) -> datetime:
        return parse_time(self.started or self.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "started": self.started,
            "ok": self.ok,
            "sampled": self.sampled,
            "counts": dict(self.counts),
        }


@dataclass(frozen=True)
class PhaseRecord:
    """Everything `phase.json` holds. A store without the file is in `json-only`."""

    phase: Phase = Phase.JSON_ONLY
    history: tuple[PhaseMove, ...] = ()
    shadow_rate: float = 0.0
    ignore_paths: tuple[str, ...] = ()
    last_validation: ValidationRecord | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def entered_at(self) -> datetime | None:
        """When the current phase was entered (None: never moved, the starting phase)."""
        for move in reversed(self.history):
            if move.to_phase is self.phase:
                return parse_time(move.time)
        return None

    def moved(
        self, target: Phase, *, forced: bool = False, warning: str | None = None
    ) -> PhaseRecord:
        move = PhaseMove(timestamp(), self.phase, target, forced, warning)
        return replace(self, phase=target, history=(*self.history, move))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": _FORMAT_VERSION,
            "phase": self.phase.value,
            "shadow": {"rate": self.shadow_rate, "ignore_paths": list(self.ignore_paths)},
            "last_validation": None
            if self.last_validation is None
            else self.last_validation.to_dict(),
            "history": [move.to_dict() for move in self.history],
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhaseRecord:
        shadow = data.get("shadow") or {}
        validation = data.get("last_validation")
        known = {"version", "phase", "shadow", "last_validation", "history"}
        return cls(
            phase=Phase.parse(str(data.get("phase", Phase.JSON_ONLY.value))),
            history=tuple(
                PhaseMove(
                    time=str(m["time"]),
                    from_phase=Phase.parse(m["from"]),
                    to_phase=Phase.parse(m["to"]),
                    forced=bool(m.get("forced", False)),
                    warning=m.get("warning"),
                )
                for m in data.get("history", [])
            ),
            shadow_rate=float(shadow.get("rate", 0.0)),
            ignore_paths=tuple(str(p) for p in shadow.get("ignore_paths", [])),
            last_validation=None
            if not validation
            else ValidationRecord(
                time=str(validation["time"]),
                started=validation.get("started"),
                ok=bool(validation["ok"]),
                sampled=bool(validation.get("sampled", False)),
                counts={str(k): int(v) for k, v in validation.get("counts", {}).items()},
            ),
            extra={k: v for k, v in data.items() if k not in known},
        )


class PhaseState:
    """The phase file of one JSON store, read cheaply and changed under a lock."""

    def __init__(self, json_dir: Path | str) -> None:
        self.state_dir = Path(json_dir) / STATE_DIR
        self.path = self.state_dir / PHASE_FILE
        self._seen: tuple[int, int, int] | None = None
        self._cached = PhaseRecord()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serializes changes of the phase (and phase moves as a whole) across processes;
        reentrant within a thread."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.state_dir}: cannot create the state directory: {exc}") from exc
        lock = FileLock(
            str(self.state_dir / "phase.lock"), timeout=LOCK_TIMEOUT_SECONDS, is_singleton=True
        )
        try:
            lock.acquire()
        except Timeout:
            raise PhaseError(
                f"{self.path}: another migrator command has held the phase lock for "
                f"{LOCK_TIMEOUT_SECONDS:.0f} s (a phase move, or an import, which holds it to the "
                "end); try again when it has finished"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def current(self) -> PhaseRecord:
        """The state as of now: one `stat`, and a read only when the file changed."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._seen, self._cached = None, PhaseRecord()
            return self._cached
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        signature = (info.st_ino, info.st_mtime_ns, info.st_size)
        if signature != self._seen:
            self._cached = self.read()
            self._seen = signature
        return self._cached

    def read(self) -> PhaseRecord:
        """The state in the file (the default state when there is none)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return PhaseRecord()
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        try:
            value = loads(data)
            if not isinstance(value, dict):
                raise TypeError("not a JSON object")
            return PhaseRecord.from_dict(value)
        except (JsonDecodeError, TypeError, KeyError, ValueError) as exc:
            raise StoreError(
                f"{self.path}: the phase state is damaged ({exc}); fix or remove the file "
                "(then `migrator phase set` records the phase again)"
            ) from exc

    def write(self, record: PhaseRecord) -> None:
        """Replace the state (callers hold `lock()`)."""
        write_atomically(self.path, dumps_pretty(record.to_dict()))

    def update(self, change: Callable[[PhaseRecord], PhaseRecord]) -> PhaseRecord:
        """Read, change and write the state under the lock; the new state."""
        with self.lock():
            record = change(self.read())
            self.write(record)
            return record
