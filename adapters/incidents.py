"""What the dual-write store saw on the side: shadow-read outcomes and fallback reads.

Two capped JSON Lines logs in the state directory, `shadow.jsonl` (one line per mismatching
document: id, paths, both values, time) and `fallbacks.jsonl` (one line per read served from
JSON because SQL failed), plus `incidents.json`, the counters `migrator status` summarizes.

Recording must never slow the application noticeably nor fail its call: a mismatch or a
fallback is written at once (they are rare and worth keeping), while the common outcomes
(`matched`, `ignored`) are counted in memory and merged into the counters file at most once a
second and on `close()`. Each log keeps its newest `cap` lines: past `cap` plus a quarter it is
trimmed back to `cap`, oldest first, so trimming is rare and appends stay cheap. Values longer
than `VALUE_LIMIT` bytes of JSON are cut to a preview.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.adapters.fs import append, read_nofollow, write_atomically
from migrator.adapters.phase_state import timestamp
from migrator.adapters.state_dir import (
    FALLBACK_LOG,
    INCIDENTS,
    INCIDENTS_LOCK,
    SHADOW_LOG,
    StateDir,
)
from migrator.adapters.state_lock import StateLock
from migrator.adapters.state_models import COUNTERS as COUNTERS_MODEL
from migrator.adapters.state_models import parse
from migrator.schemas.jsontext import JsonEncodeError, dumps_compact, dumps_pretty, loads

logger = logging.getLogger(__name__)

COUNTERS_FILE = INCIDENTS
DEFAULT_CAP = 1000
VALUE_LIMIT = 2048
_FLUSH_SECONDS = 1.0
#: The counters, in the order status shows them.
COUNTERS = (
    "shadow_compared",
    "shadow_matched",
    "shadow_ignored",
    "shadow_mismatched",
    "shadow_errors",
    "fallbacks",
)


@dataclass(frozen=True)
class IncidentSummary:
    """The counters and the newest lines of each log."""

    counters: dict[str, int]
    recent_mismatches: list[dict[str, Any]]
    recent_fallbacks: list[dict[str, Any]]


class IncidentLog:
    """The incident files of one JSON store's state directory."""

    def __init__(self, json_dir: Path | str, *, cap: int = DEFAULT_CAP) -> None:
        self.dir = StateDir(json_dir)
        self.state_dir = self.dir.path
        self.cap = cap
        self._unsaved: Counter[str] = Counter()
        self._last_flush = time.monotonic()

    def count(self, counter: str, n: int = 1) -> None:
        """Count an outcome; saved within a second or at `flush()`."""
        self._unsaved[counter] += n
        if time.monotonic() - self._last_flush >= _FLUSH_SECONDS:
            self.flush()

    def record(self, log: str, counter: str, entries: list[dict[str, Any]]) -> None:
        """Append `entries` to a capped log now and count one `counter` incident."""
        self._unsaved[counter] += 1
        lines = [_line({"time": timestamp(), **e}) for e in entries]
        with self._lock():
            counters = self._read_counters()
            path = self.state_dir / log
            append(path, b"".join(lines), sync=False)
            key = f"{log}:lines"
            counters[key] = counters.get(key, 0) + len(lines)
            if counters[key] > self.cap + self.cap // 4:
                kept = path.read_bytes().splitlines(keepends=True)[-self.cap :]
                write_atomically(path, b"".join(kept))
                counters[key] = len(kept)
            self._save(counters)

    def flush(self) -> None:
        """Merge the in-memory counts into the counters file. Never raises: counting must not
        fail the application's read."""
        if not self._unsaved:
            return
        try:
            with self._lock():
                self._save(self._read_counters())
        except Exception:  # a counter is not worth failing a read over
            logger.warning("cannot save incident counters in %s", self.state_dir, exc_info=True)

    def summary(self, recent: int = 20) -> IncidentSummary:
        counters = self._read_counters()
        for name, n in self._unsaved.items():
            counters[name] = counters.get(name, 0) + n
        return IncidentSummary(
            counters={name: counters.get(name, 0) for name in COUNTERS},
            recent_mismatches=self._tail(SHADOW_LOG, recent),
            recent_fallbacks=self._tail(FALLBACK_LOG, recent),
        )

    # ------------------------------------------------------------------ plumbing

    def _lock(self) -> StateLock:
        return self.dir.lock(INCIDENTS_LOCK, purpose="the incidents lock", reentrant=True)

    def _read_counters(self) -> dict[str, int]:
        path = self.state_dir / COUNTERS_FILE
        try:
            data = read_nofollow(path)
        except OSError:
            return {}
        return {} if data is None else parse(COUNTERS_MODEL, data, path)

    def _save(self, counters: dict[str, int]) -> None:
        for name, n in self._unsaved.items():
            counters[name] = counters.get(name, 0) + n
        write_atomically(self.state_dir / COUNTERS_FILE, dumps_pretty(counters))
        self._unsaved.clear()
        self._last_flush = time.monotonic()

    def _tail(self, log: str, n: int) -> list[dict[str, Any]]:
        try:
            lines = (read_nofollow(self.state_dir / log) or b"").splitlines()
        except OSError:
            return []
        result = []
        for line in lines[-n:]:
            with contextlib.suppress(ValueError):
                result.append(loads(line))
        return result


def _line(entry: dict[str, Any]) -> bytes:
    return _encode(_shorten(entry)).encode() + b"\n"


def _encode(value: Any) -> str:
    try:
        return dumps_compact(value)
    except JsonEncodeError:
        return dumps_compact(repr(value))


def _shorten(value: Any) -> Any:
    """`value` with every part longer than `VALUE_LIMIT` bytes of JSON cut to a preview."""
    encoded = _encode(value)
    if len(encoded) <= VALUE_LIMIT:
        return value
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list) and len(value) <= 64:
        return [_shorten(v) for v in value]
    return f"{encoded[: VALUE_LIMIT // 2]}… ({len(encoded)} characters)"
