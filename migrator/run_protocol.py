"""The run protocol: what every library verb that changes or checks data does around its work,
so a Python caller gets the same safety as the command line.

A run is, in this order: the verb's exclusive lock (the import lock; the phase and partition
locks are taken by the work itself), one line in `history.jsonl` however the run ends, and an
automatic snapshot (`before-<step>`) of a database that exists, taken at once or deferred to
the work's first write. Then the work, which may fill in the history line's outcome, message
and counts through `VerbRun.record`.

Notices (a warning a person should see, never a reason to fail) go to `notice`, by default
this module's logger; the CLI passes a function that prints them on stderr.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from migrator.history import Run, record_run
from migrator.schemas.declaration import Schema

logger = logging.getLogger(__name__)

#: Where a verb's notices go: one line each, for a person.
Notice = Callable[[str], None]


def log_notice(line: str) -> None:
    """The notice sink for Python callers: a warning in the log."""
    logger.warning("%s", line)


@dataclass(frozen=True)
class Snapshot:
    """The automatic backup a run takes before its step: `before-<step>`, of the database and
    (unless `include_json` is False) the JSON store; `deferred` puts it off until the work's
    first write, through `VerbRun.before_write`."""

    step: str
    db: str | Path
    schema: Schema | str
    include_json: bool = True
    deferred: bool = False


@dataclass
class VerbRun:
    """A run in progress: the history line the work fills in, and the deferred snapshot."""

    record: Run
    json_dir: Path | None
    before_write: Callable[[], object] | None = None
    snapshot: Path | None = None

    def take(self, snapshot: Snapshot) -> Path | None:
        """Take `snapshot` now, for a verb that must first refuse what it can without one
        (an unknown phase); None when there is no database yet."""
        if self.json_dir is None:
            return None
        hook = _snapshot_hook(snapshot, self.json_dir)
        self.snapshot = _take(hook) if hook is not None else None
        return self.snapshot


@contextlib.contextmanager
def verb_run(
    command: str,
    json_dir: Path | None,
    *,
    lock: AbstractContextManager[object] | None = None,
    snapshot: Snapshot | None = None,
    record: bool = True,
) -> Iterator[VerbRun]:
    """Run `command` under the protocol: `lock` held throughout (a refusal to take it records
    nothing), the history line written however the block ends (unless `record` is False: a
    dry run leaves no trace), then `snapshot` taken (or handed over as `before_write`)."""
    with (
        lock if lock is not None else contextlib.nullcontext(),
        record_run(json_dir, command, enabled=record) as run,
    ):
        verb = VerbRun(run, json_dir)
        if snapshot is not None and snapshot.deferred and json_dir is not None:
            verb.before_write = _snapshot_hook(snapshot, json_dir)
        elif snapshot is not None:
            verb.take(snapshot)
        yield verb


def _snapshot_hook(snapshot: Snapshot, json_dir: Path) -> Callable[[], object] | None:
    from migrator.backup import snapshot_hook

    return snapshot_hook(
        snapshot.step,
        json_dir,
        snapshot.db,
        snapshot.schema,
        include_json=snapshot.include_json,
    )


def _take(hook: Callable[[], object]) -> Path | None:
    taken = hook()
    return taken if isinstance(taken, Path) else None
