"""The durable migration phase, kept beside the JSON store so it is readable before any
database exists: `<json_dir>/.migrator/phase.json`.

Every process that opens the stores reads the same file. It is replaced atomically (readers
see the old state or the new, never half) and changed only under a file lock, so two commands
that change it at once cannot lose each other's change. A process notices another process's
change cheaply: `PhaseState.current()` compares the file's inode, mtime and size with what it
last read (one `stat` per call) and re-reads only when they changed.

A store whose phase file is missing although it has left `json-only` (its history records
another phase, or it has a dual-write journal or an archive), or whose file is damaged, is in
an UNKNOWN phase: `PhaseUnknownError` for every reader that needs the phase (a write, a read
whose store depends on it, a move), pointing to `migrator phase recover`. Never `json-only` by
default: in `sqlite-only` that would serve an archived, empty JSON store. A store that never
had a phase (no state directory, or nothing in it saying it moved) is in `json-only`.

The file holds the phase, the history of moves (each with its time, whether it was forced and
the warning that went with it), the shadow-read settings (sampling rate, paths allowed to
differ) and the outcome of the last validation, which the guard of `sqlite-primary` checks.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from migrator.adapters.fs import read_nofollow, write_atomically
from migrator.adapters.state_dir import HISTORY, JOURNAL, PHASE, PHASE_LOCK, StateDir
from migrator.adapters.state_models import (
    HistoryLine,
    MoveLine,
    PhaseFile,
    parse_model,
    record_of,
)
from migrator.errors import MigratorError, PhaseError, PhaseUnknownError, StoreError
from migrator.schemas.jsontext import dumps_pretty

logger = logging.getLogger(__name__)
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
        return asdict(self)


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
    def from_file(cls, data: PhaseFile) -> PhaseRecord:
        """The record a validated `phase.json` holds."""
        validation = data.last_validation
        return cls(
            phase=Phase(data.phase),
            history=tuple(_move(m) for m in data.history),
            shadow_rate=data.shadow.rate,
            ignore_paths=tuple(data.shadow.ignore_paths),
            last_validation=None
            if validation is None
            else record_of(ValidationRecord, validation, counts=dict(validation.counts)),
            extra=dict(data.model_extra or {}),
        )


def _move(line: MoveLine) -> PhaseMove:
    return PhaseMove(
        line.time, Phase(line.from_phase), Phase(line.to_phase), line.forced, line.warning
    )


class PhaseState:
    """The phase file of one JSON store, read cheaply and changed under a lock."""

    def __init__(self, json_dir: Path | str, *, db_hint: str = "DB") -> None:
        self.dir = StateDir(json_dir)
        self.state_dir = self.dir.path
        self.path = self.dir.file(PHASE)
        self._db_hint = db_hint
        self._seen: tuple[int, int, int] | None = None
        self._cached: PhaseRecord | None = PhaseRecord()
        self._evidence: tuple[tuple[int, int, int] | None, str | None] = (None, None)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serializes changes of the phase (and phase moves as a whole) across processes;
        reentrant within a thread."""
        purpose = "the phase lock (a phase move, or an import, which holds it to the end)"
        with self.dir.lock(PHASE_LOCK, purpose=purpose, reentrant=True):
            yield

    def current(self) -> PhaseRecord:
        """The state as of now: one `stat`, and a read only when the file changed."""
        try:
            info = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            self._seen = None
            return self._missing()
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        signature = (info.st_ino, info.st_mtime_ns, info.st_size)
        if signature != self._seen or self._cached is None:
            self._cached = None
            self._cached = self.read()
            self._seen = signature
        return self._cached

    def read(self) -> PhaseRecord:
        """The state in the file; the starting state (`json-only`) for a store that never
        moved; `PhaseUnknownError` when the phase cannot be known."""
        try:
            data = read_nofollow(self.path)
        except StoreError as exc:
            raise self._unknown(f"unusable ({str(exc).removeprefix(f'{self.path}: ')})") from None
        except OSError as exc:
            raise self._unknown(f"unreadable ({exc.strerror or exc})") from exc
        if data is None:
            return self._missing()
        try:
            return PhaseRecord.from_file(parse_model(PhaseFile, data, self.path))
        except MigratorError as exc:
            raise self._unknown(f"damaged ({str(exc).removeprefix(f'{self.path}: ')})") from None

    def write(self, record: PhaseRecord) -> None:
        """Replace the state (callers hold `lock()`)."""
        write_atomically(self.path, dumps_pretty(record.to_dict()))

    def update(self, change: Callable[[PhaseRecord], PhaseRecord]) -> PhaseRecord:
        """Read, change and write the state under the lock; the new state."""
        with self.lock():
            record = change(self.read())
            self.write(record)
            return record

    # ------------------------------------------------------------------ unknown phase

    def _missing(self) -> PhaseRecord:
        left = self.left_json_only()
        if left is not None:
            raise self._unknown(f"missing, although {left}")
        return PhaseRecord()

    def left_json_only(self) -> str | None:
        """Why the store must have left `json-only` (None: nothing says it did), judged from
        the other state files: the history's recorded phases, a journal, an archive. Cached by
        the history file's signature."""
        history = self.dir.file(HISTORY)
        try:
            info = os.stat(history, follow_symlinks=False)
            signature: tuple[int, int, int] | None = (info.st_ino, info.st_mtime_ns, info.st_size)
        except OSError:
            signature = None
        if signature is None or signature != self._evidence[0]:
            self._evidence = (signature, _phase_in_history(history))
        if self._evidence[1] is not None:
            return f"the history records phase {self._evidence[1]}"
        if os.path.lexists(self.dir.file(JOURNAL)):
            return "a dual-write journal exists"
        if self.dir.archive().is_dir():
            return "the JSON store was archived"
        return None

    def _unknown(self, reason: str) -> PhaseUnknownError:
        return PhaseUnknownError(self.path, reason, self.dir.json_dir, self._db_hint)


def _phase_in_history(path: Path) -> str | None:
    """A phase other than `json-only` that a history line recorded, if any."""
    try:
        data = read_nofollow(path)
    except (OSError, MigratorError):
        return None
    for line in reversed((data or b"").splitlines()):
        if b"phase_" not in line:
            continue
        try:
            run = HistoryLine.model_validate_json(line)
        except ValueError:
            continue
        for phase in (run.phase_after, run.phase_before):
            if phase is not None and phase in _PHASES and phase != Phase.JSON_ONLY:
                return phase
    return None


_PHASES = frozenset(p.value for p in Phase)


def current_phase(json_dir: Path) -> str:
    """The phase recorded beside the JSON store (`json-only` when none is), or `unknown` when
    the phase file cannot be read: reading it never stops a backup, doctor or history record."""
    try:
        return PhaseState(json_dir).read().phase.value
    except PhaseUnknownError:
        return "unknown"  # every command that needs the phase says so itself
    except MigratorError as exc:
        logger.warning("cannot read the phase of %s: %s", json_dir, exc)
        return "unknown"
