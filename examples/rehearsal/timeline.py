"""The rehearsal's clock: the phase window every request is counted in, and the operator's
events (steps begun and ended, the worker killed) that the chart and the report mark."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    """One operator event, at seconds since the start."""

    at: float
    kind: str  # "step" (ended), "move" (a new phase window), "kill", "restart"
    label: str
    started: float | None = None
    exit_code: int | None = None
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": round(self.at, 3),
            "started": None if self.started is None else round(self.started, 3),
            "kind": self.kind,
            "label": self.label,
            "exit_code": self.exit_code,
            "ok": self.ok,
        }


@dataclass
class Timeline:
    """Shared by the operator (writes) and the load (reads the current window)."""

    start: float = field(default_factory=time.monotonic)
    #: The same instant on the wall clock, to place times that files record.
    wall_start: float = field(default_factory=time.time)
    #: Phase windows in order: (label, seconds at which it began).
    windows: list[tuple[str, float]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    #: When the load was stopped (the last window ends there).
    stopped: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.start

    def at(self, moment: datetime) -> float:
        """A recorded wall-clock moment on the rehearsal's clock."""
        return moment.timestamp() - self.wall_start

    @property
    def window(self) -> int:
        """The index of the current phase window."""
        return len(self.windows) - 1

    def enter(self, phase: str) -> None:
        with self._lock:
            self.windows.append((phase, self.now()))
            if len(self.windows) > 1:
                self.events.append(Event(self.now(), "move", phase))

    def record(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def stop(self) -> None:
        self.stopped = self.now()

    @property
    def end(self) -> float:
        return self.now() if self.stopped is None else self.stopped

    def kills(self) -> list[float]:
        return [e.at for e in self.events if e.kind == "kill"]
