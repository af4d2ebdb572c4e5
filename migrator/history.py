"""The run history: one line per command that read or changed data, kept beside the JSON store.

`<json_dir>/.migrator/history.jsonl` is append-only: each run is one JSON object on one line,
written whole under a lock and fsynced, so concurrent commands never interleave and a crash
loses at most the run it interrupted. Readers skip a line they cannot parse instead of failing.

The run protocol (`migrator.run_protocol`) wraps each verb in `record_run`, which notes the
phase before and after, the time, the outcome (from how the block ended) and the counts the
verb fills in. Dry runs pass `enabled=False` and leave no trace.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from migrator import __version__
from migrator.adapters.fs import append, read_nofollow
from migrator.adapters.phase_state import current_phase
from migrator.adapters.redact import redact_text
from migrator.adapters.state_dir import HISTORY, HISTORY_LOCK, StateDir
from migrator.adapters.state_models import HistoryLine
from migrator.errors import MigratorError

logger = logging.getLogger(__name__)

HISTORY_FILE = HISTORY

Outcome = Literal["ok", "differences", "rejected", "error", "declined", "interrupted"]


@dataclass
class Run:
    """One command's run: what it was, when, how it ended, and what it counted."""

    command: str
    started_at: str
    ended_at: str | None = None
    outcome: Outcome | None = None
    message: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    phase_before: str | None = None
    phase_after: str | None = None
    pid: int = field(default_factory=os.getpid)
    tool_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_line(cls, line: bytes) -> Run:
        """The run a history line records; `ValueError` for a line of the wrong shape."""
        value = HistoryLine.model_validate_json(line)
        return cls(**value.model_dump())


def history_path(json_dir: Path) -> Path:
    return StateDir(json_dir).file(HISTORY)


def append_run(json_dir: Path, run: Run) -> None:
    """Append `run` as one line, under the history lock, fsynced, never through a symlink."""
    state_dir = StateDir(json_dir)
    line = json.dumps(run.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
    line = redact_text(line)  # an error message may quote a database URL with its password
    with state_dir.lock(HISTORY_LOCK, purpose="the history lock"):
        append(state_dir.file(HISTORY), line.encode("utf-8"), sync=True, mode=0o600)


def read_runs(json_dir: Path, *, limit: int | None = None) -> list[Run]:
    """The recorded runs, newest first (at most `limit`); lines of the wrong shape are skipped
    with a warning (a history line is a record of the past, never an input to a decision)."""
    try:
        lines = (read_nofollow(history_path(json_dir)) or b"").splitlines()
    except OSError as exc:
        raise MigratorError(f"{history_path(json_dir)}: cannot read: {exc}") from exc
    runs: list[Run] = []
    for number, line in enumerate(reversed(lines)):
        if limit is not None and len(runs) >= limit:
            break
        if not line.strip():
            continue
        try:
            runs.append(Run.from_line(line))
        except ValueError as exc:
            reason = str(exc).splitlines()[0]
            logger.warning("history line %d from the end skipped: %s", number + 1, reason)
    return runs


@contextlib.contextmanager
def record_run(
    json_dir: Path | None,
    command: str,
    *,
    phase_reader: Callable[[Path], str] = current_phase,
    enabled: bool = True,
) -> Iterator[Run]:
    """Record the enclosed command as one run; the block may set `outcome`, `message`, `counts`.

    How the block ends decides an outcome it did not set: normally `ok`; an exception carrying
    `exit_code` 0 `ok`, 1 `differences`, else `error` with its message; Ctrl-C `interrupted`.
    The exception propagates. Failing to write the history is logged, never raised: it must
    not turn a successful command into a failed one.
    """
    active = enabled and json_dir is not None and Path(json_dir).is_dir()
    run = Run(command=command, started_at=_now())
    if active and json_dir is not None:
        run.phase_before = phase_reader(json_dir)
    try:
        yield run
    except BaseException as exc:
        if run.outcome is None or run.outcome == "ok":
            run.outcome, run.message = _outcome_of(exc, run.message)
        raise
    else:
        run.outcome = run.outcome or "ok"
    finally:
        if active and json_dir is not None:
            run.ended_at = _now()
            run.phase_after = phase_reader(json_dir)
            try:
                append_run(json_dir, run)
            except (OSError, MigratorError) as exc:
                logger.warning("could not record %s in the history: %s", command, exc)


def _outcome_of(exc: BaseException, message: str | None) -> tuple[Outcome, str | None]:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", message
    code = getattr(exc, "exit_code", None)
    if code == 0 and not isinstance(exc, MigratorError):
        return "ok", message
    if code == 1 and not isinstance(exc, MigratorError):
        return "differences", message
    if isinstance(exc, MigratorError):
        return "error", str(exc)
    return "error", message or f"{type(exc).__name__}: {exc}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
